"""The benchmark's harness: the Zoom double and a multi-worker Odoo as
processes on one PostgreSQL, guests over HTTP, and the table of figures.
The sections live in ``bench/scenarios``, one module each; the drills
(``bench/deployment.py``, ``two_nodes.py``, ``soak.py``) share its set-up
through ``drill_parser`` and ``run_drill``."""

import argparse
import re
import secrets
import shutil
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import requests

from .smtp_sink import SmtpSink
from .stack import (  # noqa: F401 - the scenarios import them from here
    CLIENT_ID,
    CLIENT_SECRET,
    DB_HOST,
    DB_PORT,
    DB_USER,
    DOUBLE_DIR,
    LOCAL,
    ROOT,
    WEBHOOK_SECRET,
    Db,
    OdooServer,
    SetupError,
    ZoomDoubleProcess,
    drop_database,
    free_port,
    install_database,
    log,
    odoo_addons_path,
    odoo_command,
    pg_admin,
    pg_exec,
    point_at_zoom,
    stop_process,
    write_conf,
)

HOST_LOGIN = "bench_host"
HOST_PASSWORD = "bench-host-password"
HOST_EMAIL = "hana.host@example.com"
SLOTS_HOST_LOGIN = "bench_slots_host"
TAKEN_RE = re.compile(r"just taken", re.I)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

FULL = {
    "latency_n": 50,
    "warmup": 8,
    "sql_warmup": 2,
    "sql_samples": 5,
    "slot_levels": (100, 1000, 10000),
    "slot_best_of": 7,
    "race": 20,
    "tput_n": 60,
    "tput_clients": 8,
    "refresh_n": 20,
    "outage_n": 50,
    "outage_clients": 8,
    "deauth_events": 2000,
}
QUICK = dict(
    FULL,
    latency_n=8,
    warmup=4,
    sql_samples=2,
    slot_best_of=3,
    race=8,
    tput_n=12,
    tput_clients=4,
    refresh_n=6,
    outage_n=8,
    outage_clients=4,
)
HTTP_TIMEOUT = 120  # seconds, any single HTTP request of the benchmark


def pct(values, p):
    """Percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


# ---------------------------------------------------------------- guests
def book_all_at_once(guests, slots):
    """Every guest books its slot at the same instant (one thread each, behind
    a barrier): (results, wall seconds); a result is None if it never came."""
    count = len(guests)
    barrier = threading.Barrier(count)
    results = [None] * count

    def book(index):
        try:
            barrier.wait(30)
        except threading.BrokenBarrierError:
            pass
        results[index] = guests[index].book(slots[index])

    threads = [threading.Thread(target=book, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HTTP_TIMEOUT + 30)
    return results, time.perf_counter() - started


def book_concurrently(guests, slots, clients):
    """Each guest books its slot, ``clients`` at a time: (results, wall seconds)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        results = list(
            ex.map(lambda gs: gs[0].book(gs[1]), zip(guests, slots, strict=True))
        )
    return results, time.perf_counter() - started


class Guest:
    """One guest: a browser session holding its own CSRF token."""

    counter = 0
    lock = threading.Lock()

    def __init__(self, base_url, slug, tag):
        with Guest.lock:
            Guest.counter += 1
            number = Guest.counter
        self.base_url, self.slug = base_url, slug
        self.session = requests.Session()
        response = self.session.get(f"{base_url}/book/{slug}", timeout=HTTP_TIMEOUT)
        match = CSRF_RE.search(response.text)
        if response.status_code != 200 or not match:
            raise SetupError(
                f"GET /book/{slug} answered {response.status_code} without csrf_token"
            )
        self.csrf = match.group(1)
        self.values = {
            "tz": "UTC",
            "name": f"Guest {tag} {number}",
            "email": f"guest.{tag}.{number}.{secrets.token_hex(3)}@example.com",
            "phone": "+1 555 0100",
            "notes": f"Benchmark booking {tag} {number}",
            "csrf_token": self.csrf,
        }

    def book(self, start):
        """POST the booking; ``(status, seconds, location, text)``."""
        data = dict(self.values, start=start)
        started = time.perf_counter()
        try:
            response = self.session.post(
                f"{self.base_url}/book/{self.slug}",
                data=data,
                allow_redirects=False,
                timeout=HTTP_TIMEOUT,
            )
        except requests.RequestException as exc:
            return 0, time.perf_counter() - started, None, repr(exc)
        elapsed = time.perf_counter() - started
        return (
            response.status_code,
            elapsed,
            response.headers.get("Location"),
            response.text if response.status_code != 303 else "",
        )

    def post_form(self, page_path, data, post_path=None):
        """GET ``page_path`` for its form's CSRF token, then POST ``data`` to
        ``post_path`` (the same page by default): the answer, not followed;
        the page's own answer when it has no form."""
        url = f"{self.base_url}{page_path}"
        page = self.session.get(url, timeout=HTTP_TIMEOUT)
        match = CSRF_RE.search(page.text)
        if not match:
            return page
        return self.session.post(
            f"{self.base_url}{post_path or page_path}",
            data=dict(data, csrf_token=match.group(1)),
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )


def token_of(location):
    return (location or "").split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def last_line(text):
    lines = (text or "").strip().splitlines()
    return lines[-1].strip() if lines else ""


def meetings_by_reference(double):
    """The double's meetings, grouped by the booking reference that ends each
    one's agenda: {reference: [meeting, ...]}."""
    grouped = {}
    for meeting in double.get("/_double/meetings"):
        grouped.setdefault(last_line(meeting.get("agenda")), []).append(meeting)
    return grouped


def meetings_per_event(double, reference_of_event):
    """{event id: how many meetings at the double carry its reference}."""
    grouped = meetings_by_reference(double)
    return {
        event_id: len(grouped.get(reference, [])) if reference else 0
        for event_id, reference in reference_of_event.items()
    }


def host_session(bench):
    """A ``requests`` session logged in as the benchmark's host (JSON-RPC)."""
    session = requests.Session()
    response = session.post(
        f"{bench.base_url}/web/session/authenticate",
        json={
            "params": {
                "db": bench.db_name,
                "login": HOST_LOGIN,
                "password": HOST_PASSWORD,
            }
        },
        timeout=HTTP_TIMEOUT,
    )
    if response.status_code != 200 or "error" in response.json():
        raise SetupError(f"the host's login answered {response.text[:300]}")
    return session


class SlotPool:
    """Distinct free slots of the host, handed out once each."""

    def __init__(self, base_url, slug):
        first = date.today() + timedelta(days=1)
        last = first + timedelta(days=40)
        response = requests.get(
            f"{base_url}/book/{slug}/slots",
            params={"start": str(first), "end": str(last), "tz": "UTC"},
            timeout=HTTP_TIMEOUT,
        )
        response.raise_for_status()
        self.slots = list(response.json()["slots"])
        self.lock = threading.Lock()
        if not self.slots:
            raise SetupError("the booking calendar has no free slot")

    def take(self, count=1):
        with self.lock:
            if len(self.slots) < count:
                raise SetupError("out of free slots")
            taken, self.slots = self.slots[:count], self.slots[count:]
        return taken

    def give_back(self, slot):
        """A slot free again (its booking moved or cancelled), taken last."""
        with self.lock:
            self.slots.append(slot)


# ---------------------------------------------------------------- the run
class Benchmark:
    def __init__(self, args):
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.db_name = args.db
        self.rows = []  # (section, figure, value, goal, status)
        self.failures = []
        self.notes = []
        self.tmp = Path(tempfile.mkdtemp(prefix="zoom_booking_bench_"))
        self.double = None
        self.server = None
        self.db = None
        self.smtp = None

    # -------------------------------------------------------- table
    def row(self, section, figure, value, goal="", ok=None):
        status = "info" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((section, figure, str(value), goal, status))
        if ok is False:
            self.failures.append(f"{section} {figure}: {value} (goal {goal})")
        log(f"{section} {figure}: {value} {goal} {status}")

    def print_table(self):
        headers = ("#", "figure", "value", "goal", "status")
        widths = [max(len(str(r[i])) for r in [*self.rows, headers]) for i in range(5)]
        line = "+".join("-" * (w + 2) for w in widths)
        print()
        print(
            f"zoom_booking benchmark ({'quick' if self.args.quick else 'full'}, "
            f"{self.args.workers} workers)"
        )
        print(line)
        print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        print(line)
        for r in self.rows:
            print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
        print(line)
        for note in self.notes:
            print(f"note: {note}")

    # -------------------------------------------------------- setup
    def setup(self):
        cfg_db = self.db_name
        data_dir = self.tmp / "data"
        data_dir.mkdir()
        self.conf = self.tmp / "odoo.conf"
        self.smtp = SmtpSink().start()
        log(f"SMTP server on {LOCAL}:{self.smtp.port}")
        write_conf(self.conf, cfg_db, data_dir, self.smtp.port)
        log(f"work dir {self.tmp}")
        modules = getattr(self.args, "modules", ())
        log(
            f"dropping and creating database {cfg_db}, installing "
            + ", ".join(["zoom_booking", *modules])
        )
        started = time.monotonic()
        install_database(self.conf, cfg_db, self.tmp / "install.log", modules=modules)
        log(f"installed in {time.monotonic() - started:.0f} s")

        self.double = ZoomDoubleProcess(free_port(), self.tmp / "zoom_double.log")
        self.double.start()
        # The benchmark makes far more meetings than Zoom's daily quota per user.
        self.double.post("/_double/config", {"daily_meeting_limit": None})
        log(f"Zoom double on {self.double.url}")

        self.http_port = free_port()
        self.base_url = f"http://{LOCAL}:{self.http_port}"
        self.db = Db(self.conf, cfg_db)
        self.configure()

        OdooServer.log_level = self.args.odoo_log_level
        self.server = OdooServer(
            self.conf,
            cfg_db,
            self.http_port,
            free_port(),
            self.args.workers,
            self.tmp / "odoo.log",
        )
        log(f"starting Odoo with {self.args.workers} workers on {self.base_url}")
        self.server.start()
        self.connect_zoom()
        self.pool = SlotPool(self.base_url, "bench-none")
        log(f"{len(self.pool.slots)} free slots in the pool")

    def configure(self):
        from odoo.fields import Command

        cr, env = self.db.env_cursor()
        with cr:
            point_at_zoom(env, self.double.url, self.base_url)
            if getattr(self.args, "japanese", False):
                # Guests in Japanese: the language, its texts, on the website.
                lang = env["res.lang"]._activate_lang("ja_JP")
                env["ir.module.module"]._load_module_terms(
                    ["web", "zoom_booking"], ["ja_JP"]
                )
                if "website" in env:
                    env["website"].search([]).language_ids |= lang
            group_user = env.ref("base.group_user")
            users = env["res.users"].with_context(no_reset_password=True)
            host = users.create(
                {
                    "name": "Hana Host",
                    "login": HOST_LOGIN,
                    "password": HOST_PASSWORD,
                    "email": HOST_EMAIL,
                    "tz": "UTC",
                    "groups_id": [Command.set(group_user.ids)],
                }
            )
            slots_host = users.create(
                {
                    "name": "Sam Slots",
                    "login": SLOTS_HOST_LOGIN,
                    "email": "sam.slots@example.com",
                    "tz": "UTC",
                    "groups_id": [Command.set(group_user.ids)],
                }
            )
            all_week = [Command.clear()] + [
                Command.create({"weekday": str(day), "hour_from": 0, "hour_to": 24})
                for day in range(7)
            ]
            calendars = {}
            for slug, provider, owner, days in (
                ("bench-none", "none", host, 60),
                ("bench-zoom", "zoom", host, 60),
                ("bench-slots", "none", slots_host, 90),
            ):
                calendars[slug] = (
                    env["booking.calendar"]
                    .create(
                        {
                            "name": f"Bench {slug}",
                            "slug": slug,
                            "host_id": owner.id,
                            "duration": 30,
                            "is_published": True,
                            "online_meeting_provider": provider,
                            "tz": "UTC",
                            "min_notice_hours": 0,
                            "max_days_ahead": days,
                            "availability_ids": all_week,
                        }
                    )
                    .id
                )
            self.host_id, self.host_partner_id = host.id, host.partner_id.id
            self.slots_host_partner_id = slots_host.partner_id.id
            self.slots_host_id = slots_host.id
            self.calendar_ids = calendars

    def connect_zoom(self):
        """The host connects Zoom through the real OAuth flow, over HTTP."""
        self.double.post("/_double/users", {"email": HOST_EMAIL, "first_name": "Hana"})
        self.double.post("/_double/authorizing_user", {"email": HOST_EMAIL})
        browser = requests.Session()
        page = browser.get(f"{self.base_url}/web/login", timeout=HTTP_TIMEOUT)
        csrf = CSRF_RE.search(page.text)
        if not csrf:
            raise SetupError("no csrf_token on /web/login")
        response = browser.post(
            f"{self.base_url}/web/login",
            data={
                "login": HOST_LOGIN,
                "password": HOST_PASSWORD,
                "csrf_token": csrf.group(1),
                "redirect": "/odoo",
            },
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        if response.status_code not in (302, 303):
            raise SetupError(f"login answered {response.status_code}")
        response = browser.get(
            f"{self.base_url}/zoom_booking/oauth/connect",
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
        authorize_url = response.headers.get("Location", "")
        if response.status_code != 303 or not authorize_url.startswith(self.double.url):
            raise SetupError(
                f"/zoom_booking/oauth/connect answered {response.status_code} "
                f"to {authorize_url!r}"
            )
        callback = self.double.post(
            "/_double/approve", {"authorize_url": authorize_url}
        )["redirect"]
        if not callback.startswith(self.base_url):
            raise SetupError(f"unexpected OAuth callback {callback!r}")
        response = browser.get(callback, allow_redirects=False, timeout=HTTP_TIMEOUT)
        if response.status_code != 303:
            raise SetupError(
                f"OAuth callback answered {response.status_code}: {response.text[:500]}"
            )
        state = self.db.sql(
            "SELECT state FROM zoom_connection WHERE user_id = %s", [self.host_id]
        )
        if not state or state[0][0] != "connected":
            raise SetupError(f"Zoom connection not made: {state}")
        log("host's Zoom connected through OAuth (connect, approve, callback)")

    # -------------------------------------------------------- helpers
    def server_errors(self, logname="odoo.log"):
        """The ERROR and CRITICAL lines of the Odoo server's log."""
        logfile = self.tmp / logname
        if not logfile.exists():
            return []
        pattern = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ \d+ (ERROR|CRITICAL) ")
        lines = logfile.read_text(errors="replace").splitlines()
        return [line[:300] for line in lines if pattern.match(line)]

    def new_guests(self, slug, count, tag):
        with ThreadPoolExecutor(4) as ex:
            return list(
                ex.map(lambda _i: Guest(self.base_url, slug, tag), range(count))
            )

    def events_by_tokens(self, tokens):
        if not tokens:
            return []
        return self.db.sql(
            """SELECT e.id, e.zoom_status, e.zoom_meeting_id, j.work, e.zoom_last_error,
                      e.zoom_reference
                 FROM calendar_event e
                 LEFT JOIN zoom_meeting_job j ON j.event_id = e.id
                WHERE e.booking_access_token = ANY(%s)
                ORDER BY e.id""",
            [list(tokens)],
        )

    def delivered_per_event(self, event_ids, subject, per_event=2, timeout=90):
        """Mails whose subject starts with ``subject`` that the SMTP server
        received, per event: waits until each event has ``per_event`` (or the
        timeout). Returns ``({event id: count}, {event id: last arrival})``."""
        wanted = set(event_ids)

        def counted(mails):
            counts = dict.fromkeys(wanted, 0)
            last = {}
            for mail in mails:
                if mail.event_id in wanted and mail.subject.startswith(subject):
                    counts[mail.event_id] += 1
                    last[mail.event_id] = max(last.get(mail.event_id, 0), mail.at)
            return counts, last

        self.smtp.wait_for(
            lambda mails: all(c >= per_event for c in counted(mails)[0].values()),
            timeout,
        )
        time.sleep(1)  # a duplicate would arrive about now
        return counted(self.smtp.mails())

    def row_delivered_once(self, section, figure, event_ids, subject, count):
        """A row: mails whose subject starts with ``subject`` delivered by
        SMTP exactly once per attendee (2 per booking) for ``count`` bookings.
        How many bookings had exactly that."""
        counts, _last = self.delivered_per_event(event_ids, subject)
        once = sum(1 for c in counts.values() if c == 2)
        self.row(
            section,
            figure,
            f"{once}/{count} (total {sum(counts.values())})",
            f"{count}",
            once == count,
        )
        return once

    # -------------------------------------------------------- 1. latency
    def run(self):
        from .scenarios import (
            deauthorization,
            latency,
            outage,
            race,
            refresh,
            slots,
            sql,
        )

        sections = (
            ("1 latency", latency.run),
            ("4 race and throughput", race.run),
            ("5 token refresh", refresh.run),
            ("6 outage drill", outage.run),
            ("2 SQL queries", sql.run),
            ("3 slots", slots.run),
            # Last: it disconnects the host.
            ("7 Zoom app removed", deauthorization.run),
        )
        wanted = set((self.args.sections or "1234567").replace(",", ""))
        sections = [(n, f) for n, f in sections if n[0] in wanted]
        deadline = time.monotonic() + 20 * 60
        for name, func in sections:
            if time.monotonic() > deadline:
                self.row(name.split()[0], name, "skipped: out of time", "", False)
                continue
            log(f"section {name}")
            started = time.monotonic()
            try:
                func(self)
            except Exception as exc:  # noqa: BLE001 - reported in the table
                traceback.print_exc()
                self.row(
                    name.split()[0], f"{name}: crashed", repr(exc)[:200], "", False
                )
            log(f"section {name} took {time.monotonic() - started:.0f} s")

    def cleanup(self):
        if self.server:
            self.server.stop()
        if self.double:
            self.double.stop()
        if self.db:
            self.db.close()
        if self.smtp:
            self.smtp.stop()
        if not self.args.keep:
            try:
                drop_database(self.db_name)
            except psycopg2.Error as exc:
                log(f"could not drop {self.db_name}: {exc}")
        if self.args.keep or self.failures:
            log(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- drills
def drill_parser(doc, db, workers=2):
    """The options every drill takes; ``doc`` is the script's docstring."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=workers, help="Odoo workers")
    parser.add_argument("--db", default=db, help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database and the logs"
    )
    parser.add_argument("--odoo-log-level", default="warn")
    return parser


def run_drill(args, work, modules=(), japanese=False, logs=("odoo.log",)):
    """Set up a benchmark stack for one drill and run ``work(bench)``; the
    servers stop and the database goes whatever happens, as a server left
    running would take the next run's cron jobs on the same database.

    Returns ``(bench, what work returned, the ERROR lines of the servers'
    logs)``, or None when the set-up failed."""
    bench = Benchmark(
        argparse.Namespace(
            quick=True,
            keep=args.keep,
            workers=args.workers,
            db=args.db,
            sections="",
            odoo_log_level=args.odoo_log_level,
            modules=modules,
            japanese=japanese,
        )
    )
    try:
        bench.setup()
        result = work(bench)
    except SetupError as exc:
        log(f"setup failed: {exc}")
        return None
    finally:
        errors = [line for name in logs for line in bench.server_errors(name)]
        if errors:
            bench.failures.append(f"{len(errors)} ERROR line(s) in the servers' logs")
        bench.cleanup()
    return bench, result, errors
