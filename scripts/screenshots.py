#!/usr/bin/env python3
"""Take the README's screenshots of a running zoom_booking instance.

Start the app with ``scripts/run.sh`` (demo data, Zoom sandbox), then::

    python3 scripts/screenshots.py [--url http://localhost:8069] \\
        [--out docs/screenshots]

The script drives headless Chromium through the Chrome DevTools Protocol
(``websocket-client``). As the demo user it connects Zoom (through the sandbox's
authorization screen) when needed, then writes, 1400x900 PNGs:

- ``zoom-connection.png``: the user's Zoom page, "Connected as ...";
- ``dashboard.png``: the kanban of booking calendars;
- ``booking-page.png``: the public page ``/book/product-demo``, a slot chosen;
- ``booking-confirmation.png``: the guest's confirmation with the Zoom meeting;
- ``booking-mail.png``: the guest's confirmation mail as the SMTP server
  received it (with ``--start`` only: it runs that SMTP server);
- ``booking-page-ja.png``: the booking page in Japanese (when Japanese is
  installed; ``--start`` installs it).

Each run books one more slot of ``product-demo`` as a guest.

Use the same host name as the instance's ``web.base.url`` (``scripts/run.sh``
sets ``http://localhost:<port>``): the Zoom callback comes back to that address
and the session cookie must be valid for it.

With ``--start`` it needs no running instance: it starts a throw-away one with
the benchmark's start-up (``bench/stack.py``: a fresh database with demo data,
the Zoom double, a multi-worker Odoo on 127.0.0.1) and stops it at the end.
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1400, 900
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


# Page-side helpers, called with JSON arguments by Chromium.call().
JS_EXISTS = """(selector, text) => [...document.querySelectorAll(selector)]
    .some((el) => el.textContent.includes(text))"""
JS_VISIBLE = """(selector, text) => [...document.querySelectorAll(selector)]
    .some((el) => el.getClientRects().length > 0 && el.textContent.includes(text))"""
JS_CLICK = """(selector) => {
    const el = document.querySelector(selector);
    if (!el) return false;
    el.click();
    return true;
}"""
JS_CLICK_TEXT = """(selector, text) => {
    const el = [...document.querySelectorAll(selector)]
        .find((candidate) => candidate.textContent.includes(text));
    if (!el) return false;
    el.click();
    return true;
}"""
JS_FILL = """(selector, value) => {
    const el = document.querySelector(selector);
    if (!el) return false;
    el.value = value;
    el.dispatchEvent(new Event("input", {bubbles: true}));
    el.dispatchEvent(new Event("change", {bubbles: true}));
    return true;
}"""


class ScreenshotError(Exception):
    """A step failed: the message says which and why."""


def fail(message):
    print(f"screenshots: {message}", file=sys.stderr)
    sys.exit(2)


def log(message):
    print(f"screenshots: {message}", file=sys.stderr)


# ---------------------------------------------------------------- Odoo session
@contextmanager
def throwaway_instance():
    """A fresh zoom_booking with demo data, as the benchmark starts one; yields
    its base URL, then stops it and drops its database."""
    sys.path.insert(0, str(ROOT))
    from bench import stack

    db = "zoom_booking_screenshots"
    tmp = Path(tempfile.mkdtemp(prefix="zoom_booking_screenshots_"))
    conf = tmp / "odoo.conf"
    from bench.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    stack.write_conf(conf, db, tmp / "data", sink.port)
    double = server = None
    try:
        log(f"installing zoom_booking with demo data in {db} (logs in {tmp})")
        stack.install_database(conf, db, tmp / "install.log", demo=True)
        double = stack.ZoomDoubleProcess(stack.free_port(), tmp / "zoom_double.log")
        double.start()
        port = stack.free_port()
        base_url = f"http://{stack.LOCAL}:{port}"
        database = stack.Db(conf, db)
        cr, env = database.env_cursor()
        with cr:
            stack.point_at_zoom(env, double.url, base_url)
            # Guests in Japanese too: the language and every module's texts.
            log("installing Japanese")
            lang = env["res.lang"]._activate_lang("ja_JP")
            env["base.language.install"].create(
                {"lang_ids": [(6, 0, lang.ids)], "overwrite": True}
            ).lang_install()
        database.close()
        server = stack.OdooServer(
            conf, db, port, stack.free_port(), 2, tmp / "odoo.log"
        )
        server.start()
        yield base_url, sink
    except stack.SetupError as exc:
        raise ScreenshotError(str(exc)) from None
    finally:
        if server:
            server.stop()
        if double:
            double.stop()
        sink.stop()
        stack.drop_database(db)
        shutil.rmtree(tmp, ignore_errors=True)


def odoo_login(base_url, login, password, timeout):
    """Log in with requests; return the session_id cookie's value."""
    session = requests.Session()
    try:
        page = session.get(f"{base_url}/web/login", timeout=timeout)
    except requests.RequestException as exc:
        raise ScreenshotError(
            f"Odoo is not reachable at {base_url} ({exc.__class__.__name__}). "
            "Start it with scripts/run.sh, or pass --url."
        ) from None
    if page.status_code != 200:
        raise ScreenshotError(
            f"{base_url}/web/login answered HTTP {page.status_code}: "
            "is this a zoom_booking instance with a single database?"
        )
    match = re.search(r'name="csrf_token"\s+value="([^"]+)"', page.text)
    if not match:
        raise ScreenshotError(f"no csrf_token on {base_url}/web/login")
    session.post(
        f"{base_url}/web/login",
        data={
            "login": login,
            "password": password,
            "csrf_token": match.group(1),
            "redirect": "/odoo",
        },
        timeout=timeout,
    )
    info = session.post(
        f"{base_url}/web/session/get_session_info",
        json={"jsonrpc": "2.0", "method": "call", "params": {}},
        timeout=timeout,
    ).json()
    if not (info.get("result") or {}).get("uid"):
        raise ScreenshotError(f"logging in as {login!r} failed on {base_url}")
    session_id = session.cookies.get("session_id")
    if not session_id:
        raise ScreenshotError("Odoo set no session_id cookie after logging in")
    return session_id


# ------------------------------------------------------------------ Chromium


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium(explicit):
    candidates = [explicit] if explicit else []
    candidates += [os.environ.get("CHROMIUM", "")] + list(CHROMIUM_NAMES)
    for name in candidates:
        path = name and shutil.which(name)
        if path:
            return path
    raise ScreenshotError(
        "Chromium was not found: install it (Debian: apt-get install chromium) "
        "or pass --chromium."
    )


class Chromium:
    """A headless Chromium process and a DevTools connection to its page."""

    def __init__(self, binary, timeout):
        self.timeout = timeout
        self.tmpdir = tempfile.mkdtemp(prefix="zb-screenshots-")
        self.port = free_port()
        self.stderr = open(os.path.join(self.tmpdir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={self.tmpdir}/profile",
                f"--window-size={WIDTH},{HEIGHT}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            start_new_session=True,
        )
        self.ws = None
        self.next_id = 0
        try:
            self.ws = websocket.create_connection(
                self._page_ws_url(), timeout=timeout, suppress_origin=True
            )
        except Exception:
            self.close()
            raise

    def _page_ws_url(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ScreenshotError(
                    f"Chromium exited with code {self.proc.returncode}: "
                    f"{self._stderr_tail()}"
                )
            try:
                targets = requests.get(
                    f"http://127.0.0.1:{self.port}/json", timeout=2
                ).json()
            except (requests.RequestException, ValueError):
                time.sleep(0.2)
                continue
            for target in targets:
                if target.get("type") == "page" and target.get("webSocketDebuggerUrl"):
                    return target["webSocketDebuggerUrl"]
            time.sleep(0.2)
        raise ScreenshotError(
            f"Chromium's DevTools did not answer within {self.timeout:.0f} s: "
            f"{self._stderr_tail()}"
        )

    def _stderr_tail(self):
        self.stderr.flush()
        with open(self.stderr.name, "rb") as log_file:
            return log_file.read()[-500:].decode(errors="replace").strip()

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.stderr.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    # -- DevTools protocol

    def send(self, method, **params):
        """Call a DevTools method and return its result (events are skipped)."""
        self.next_id += 1
        call_id = self.next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                raise ScreenshotError(
                    f"Chromium did not answer {method} within {self.timeout:.0f} s"
                ) from None
            if message.get("id") != call_id:
                continue
            if "error" in message:
                raise ScreenshotError(f"{method} failed: {message['error']}")
            return message.get("result", {})

    def evaluate(self, expression, await_promise=False):
        """The value of a JavaScript expression in the page (None on error)."""
        try:
            result = self.send(
                "Runtime.evaluate",
                expression=expression,
                returnByValue=True,
                awaitPromise=await_promise,
            )
        except ScreenshotError:
            return None  # e.g. the page navigated meanwhile
        if "exceptionDetails" in result:
            return None
        return result.get("result", {}).get("value")

    # -- page helpers

    def setup(self):
        self.send("Page.enable")
        self.send("Network.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def navigate(self, url):
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise ScreenshotError(f"opening {url} failed: {result['errorText']}")

    def call(self, function, *args):
        """Call a JavaScript function (source text) on JSON arguments."""
        return self.evaluate(f"({function})(...{json.dumps(list(args))})")

    def wait_for(self, selector, what, text=None, timeout=None):
        """Wait until a visible element matches selector (and contains text)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            if self.call(JS_VISIBLE, selector, text or ""):
                return
            if self.exists(".o_error_dialog"):
                break  # Odoo's "Oops!" dialog: nothing more will come
            time.sleep(0.25)
        location = self.evaluate("location.href")
        problem = self.page_problem()
        raise ScreenshotError(
            f"{what} did not show ({selector}) on {location}"
            + (f": the page says {problem!r}" if problem else "")
        )

    def page_problem(self):
        """The error the page shows, in one line: Odoo's dialog or an alert."""
        if self.exists(".o_error_dialog"):
            # Odoo's "Oops!" dialog: open its technical details for the cause.
            self.call(JS_CLICK_TEXT, ".o_error_dialog button", "technical details")
            time.sleep(0.5)
            text = self.evaluate(
                "(document.querySelector('.o_error_dialog') || {}).innerText || ''"
            )
            server = (text or "").split("The above server error caused")[0]
            lines = [line.strip() for line in server.splitlines() if line.strip()]
            causes = [
                line for line in lines if re.match(r"^[\w.]+(Error|Exception)", line)
            ]
            return (causes or lines or [""])[-1]
        text = self.evaluate(
            "(document.querySelector('.o_booking_error, .o_zoom_connection_result,"
            " .o_notification, .alert-danger') || {}).innerText || ''"
        )
        return " ".join((text or "").split())

    def exists(self, selector, text=None):
        return bool(self.call(JS_EXISTS, selector, text or ""))

    def click(self, selector):
        if not self.call(JS_CLICK, selector):
            raise ScreenshotError(f"nothing to click: {selector}")

    def fill(self, selector, value):
        if not self.call(JS_FILL, selector, value):
            raise ScreenshotError(f"no field to fill: {selector}")

    def settle(self):
        """Let fonts, images and transitions finish before a screenshot."""
        self.evaluate(
            "document.fonts.ready.then(() => Promise.all([...document.images]"
            ".filter((img) => !img.complete).map((img) => new Promise((done) =>"
            " { img.onload = img.onerror = done; })))).then(() => true)",
            await_promise=True,
        )
        self.evaluate("document.activeElement && document.activeElement.blur()")
        time.sleep(0.6)

    def screenshot(self, path):
        self.settle()
        result = self.send(
            "Page.captureScreenshot",
            format="png",
            clip={"x": 0, "y": 0, "width": WIDTH, "height": HEIGHT, "scale": 1},
        )
        Path(path).write_bytes(base64.b64decode(result["data"]))
        log(f"wrote {path}")


# ------------------------------------------------------------------ scenario


def take_screenshots(browser, base_url, session_id, out, args, sink=None):
    """Take the screenshots; return the errors of the ones that failed."""
    browser.setup()

    def as_user():
        browser.send("Network.clearBrowserCookies")
        browser.send(
            "Network.setCookie",
            name="session_id",
            value=session_id,
            url=base_url,
            path="/",
            httpOnly=True,
        )

    def connect_zoom():
        as_user()
        browser.navigate(f"{base_url}/odoo/my-zoom")
        browser.wait_for(".o_zoom_connection_page", "the Zoom page")
        browser.wait_for(
            ".o_zoom_connected, button.o_zoom_connect", "the Zoom connection state"
        )
        if not browser.exists(".o_zoom_connected", "Connected as"):
            log(f"connecting {args.login}'s Zoom account (Zoom's authorize screen)")
            browser.click("button.o_zoom_connect")
            browser.wait_for("#zoom-authorize", "Zoom's authorization screen")
            browser.click("#zoom-authorize")
            browser.wait_for(".o_zoom_connected", "the Zoom connection", "Connected as")

    def zoom_connection():
        as_user()
        browser.navigate(f"{base_url}/odoo/my-zoom")
        browser.wait_for(".o_zoom_connected", "the Zoom connection", "Connected as")
        browser.screenshot(out / "zoom-connection.png")

    def dashboard():
        as_user()
        browser.navigate(
            f"{base_url}/odoo/action-zoom_booking.action_booking_calendar_dashboard"
        )
        browser.wait_for(".o_kanban_record", "the booking calendars' kanban")
        browser.wait_for(".o_booking_zoom_badge", "the Zoom badge")
        browser.screenshot(out / "dashboard.png")

    def booking():
        # The public page, as a guest, with a slot chosen and the form filled.
        browser.send("Network.clearBrowserCookies")
        browser.navigate(f"{base_url}/book/{args.calendar}")
        browser.wait_for(".o_booking_page", f"the booking page /book/{args.calendar}")
        browser.wait_for(".o_booking_slot", "the free slots")
        browser.click(".o_booking_day_slots .o_booking_slot")
        browser.wait_for(".o_booking_form input[name=name]", "the booking form")
        browser.fill("input[name=name]", args.guest_name)
        browser.fill("input[name=email]", args.guest_email)
        browser.evaluate("window.scrollTo(0, 0)")
        browser.screenshot(out / "booking-page.png")
        # Book it: the guest's page with the Zoom meeting.
        browser.click(".o_booking_confirm")
        browser.wait_for(".o_booking_confirmation", "the booking confirmation")
        browser.wait_for(".o_booking_zoom_join", "the Zoom join button")
        browser.screenshot(out / "booking-confirmation.png")

    def booking_mail():
        # The guest's mail as the SMTP server received it, shown as a mail
        # client shows its HTML.
        if sink is None:
            log(
                "booking-mail.png: skipped"
                " (only with --start, which runs the SMTP server)"
            )
            return
        if not sink.wait_for(
            lambda mails: any(args.guest_email in m.recipients for m in mails),
            args.timeout,
        ):
            raise ScreenshotError("the guest's confirmation mail was not delivered")
        mail = next(
            m
            for m in sink.mails("Booking confirmed")
            if args.guest_email in m.recipients
        )
        with tempfile.TemporaryDirectory() as folder:
            page = Path(folder) / "mail.html"
            page.write_text(mail.html(), encoding="utf-8")
            browser.navigate(page.as_uri())
            browser.wait_for("a", "the mail's Zoom link", "Join Zoom meeting")
            browser.screenshot(out / "booking-mail.png")

    def booking_japanese():
        browser.send("Network.clearBrowserCookies")
        browser.navigate(f"{base_url}/book/{args.calendar}")
        browser.wait_for(".o_booking_page", f"the booking page /book/{args.calendar}")
        if not browser.exists(".o_booking_languages [hreflang=ja-JP]"):
            log("booking-page-ja.png: skipped (Japanese is not installed)")
            return
        # The pages' language switcher, as a guest would use it.
        browser.click(".o_booking_languages a[hreflang=ja-JP]")
        browser.wait_for("html[lang=ja-JP] .o_booking_page", "the page in Japanese")
        browser.wait_for(".o_booking_slot", "the free slots")
        browser.click(".o_booking_day_slots .o_booking_slot")
        browser.wait_for(".o_booking_form input[name=name]", "the booking form")
        browser.fill("input[name=name]", "山田 花子")
        browser.fill("input[name=email]", "hanako.yamada@example.jp")
        browser.evaluate("window.scrollTo(0, 0)")
        browser.screenshot(out / "booking-page-ja.png")

    # Without Zoom connected nothing else shows what the README describes.
    connect_zoom()
    errors = []
    steps = (zoom_connection, dashboard, booking, booking_mail, booking_japanese)
    for step in steps:
        try:
            step()
        except ScreenshotError as exc:
            log(f"{step.__name__}: {exc}")
            errors.append(f"{step.__name__}: {exc}")
    return errors


def main():
    parser = argparse.ArgumentParser(
        description="Take the README's screenshots of a running zoom_booking "
        "instance (started by scripts/run.sh) in headless Chromium."
    )
    parser.add_argument(
        "--url",
        default="http://localhost:8069",
        help="the instance's address, as in its web.base.url (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "docs" / "screenshots"),
        help="folder for the PNGs (default: docs/screenshots of the repository)",
    )
    parser.add_argument("--login", default="demo")
    parser.add_argument("--password", default="demo")
    parser.add_argument(
        "--calendar", default="product-demo", help="slug of the Zoom booking calendar"
    )
    parser.add_argument("--guest-name", default="Ada Lovelace")
    parser.add_argument("--guest-email", default="ada.lovelace@example.com")
    parser.add_argument("--chromium", help="Chromium binary (default: from PATH)")
    parser.add_argument(
        "--start",
        action="store_true",
        help="start a throw-away instance as the benchmark does (ignores --url)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30,
        help="seconds to wait for each step (default: %(default)s)",
    )
    args = parser.parse_args()
    out = Path(args.out)
    try:
        instance = throwaway_instance() if args.start else nullcontext((args.url, None))
        with instance as (base_url, sink):
            errors = shoot(base_url.rstrip("/"), out, args, sink)
        if errors:
            fail(f"{len(errors)} of 5 steps failed (see above)")
    except ScreenshotError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted")


def shoot(base_url, out, args, sink=None):
    """Log in, then take the screenshots; returns the steps that failed."""
    session_id = odoo_login(base_url, args.login, args.password, args.timeout)
    binary = find_chromium(args.chromium)
    out.mkdir(parents=True, exist_ok=True)
    browser = Chromium(binary, args.timeout)
    try:
        return take_screenshots(browser, base_url, session_id, out, args, sink)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
