"""The benchmark's harness: the Zoom double and a multi-worker Odoo as
processes on one PostgreSQL, guests over HTTP, and the table of figures.
The sections live in ``bench/scenarios``, one module each."""

import getpass
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
DOUBLE_DIR = ROOT / "zoom_booking" / "tests" / "zoom_double"
DB_HOST = os.environ.get("ZOOM_BOOKING_DB_HOST", "127.0.0.1")
DB_PORT = os.environ.get("ZOOM_BOOKING_DB_PORT", "5432")
DB_USER = os.environ.get("ZOOM_BOOKING_DB_USER") or getpass.getuser()
LOCAL = "127.0.0.1"

CLIENT_ID = "bench-client-id"
CLIENT_SECRET = "bench-client-secret"
WEBHOOK_SECRET = "bench-webhook-secret"
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


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCAL, 0))
        return sock.getsockname()[1]


def pct(values, p):
    """Percentile (nearest rank) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def ms(seconds):
    return f"{seconds * 1000:.0f} ms"


class SetupError(Exception):
    pass


# ---------------------------------------------------------------- processes
def stop_process(proc, out, grace):
    """Stop a child process (SIGTERM, then SIGKILL after ``grace`` s)."""
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc:
        out.close()


class ZoomDoubleProcess:
    def __init__(self, port, logfile):
        self.port = port
        self.url = f"http://{LOCAL}:{port}"
        self.logfile = logfile
        self.proc = None

    def start(self):
        out = open(self.logfile, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(DOUBLE_DIR),
                "--host",
                LOCAL,
                "--port",
                str(self.port),
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                CLIENT_SECRET,
                "--webhook-secret",
                WEBHOOK_SECRET,
                "--latency-ms",
                "0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self._out = out
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"the Zoom double exited (see {self.logfile})")
            try:
                if self.get("/_double/health").get("ok"):
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise SetupError(f"the Zoom double did not start (see {self.logfile})")

    def stop(self):
        stop_process(self.proc, self._out, grace=10)
        self.proc = None

    def _call(self, method, path, body=None, params=None):
        response = requests.request(
            method,
            self.url + path,
            json=body,
            params=params,
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def get(self, route, **params):
        return self._call("GET", route, params=params)

    def post(self, path, body=None):
        return self._call("POST", path, body or {})

    def delete(self, path):
        return self._call("DELETE", path)

    def set_latency(self, latency_ms):
        self.post("/_double/config", {"latency_ms": latency_ms})


class OdooServer:
    log_level = "warn"

    def __init__(self, conf, db, port, gevent_port, workers, logfile):
        self.conf, self.db, self.port = conf, db, port
        self.gevent_port, self.workers, self.logfile = gevent_port, workers, logfile
        self.url = f"http://{LOCAL}:{port}"
        self.proc = None

    def start(self):
        self._out = open(self.logfile, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve().parent / "odoo_server.py"),
                "-c",
                str(self.conf),
                "-d",
                self.db,
                f"--workers={self.workers}",
                "--max-cron-threads=1",
                f"--http-port={self.port}",
                f"--gevent-port={self.gevent_port}",
                "--limit-time-real=900",
                "--limit-time-cpu=600",
                f"--log-level={self.log_level}",
            ],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"Odoo exited at start (see {self.logfile})")
            try:
                if requests.get(self.url + "/web/login", timeout=10).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise SetupError(f"Odoo did not answer on {self.url} (see {self.logfile})")

    def stop(self):
        stop_process(self.proc, self._out, grace=30)
        self.proc = None


# ---------------------------------------------------------------- database
def pg_admin(sql):
    conn = psycopg2.connect(host=DB_HOST, port=DB_PORT, user=DB_USER, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cr:
            cr.execute(sql)
    finally:
        conn.close()


def pg_exec(db, sql, params=None):
    """One statement in its own READ COMMITTED transaction."""
    conn = psycopg2.connect(host=DB_HOST, port=DB_PORT, user=DB_USER, dbname=db)
    try:
        with conn, conn.cursor() as cr:
            cr.execute(sql, params)
    finally:
        conn.close()


def drop_database(db):
    pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def odoo_command():
    """How to run Odoo (install). Not ``python -m odoo`` for a multi-worker
    server: Odoo re-runs ``sys.argv[0]`` to spawn its gevent process, and
    odoo/__main__.py cannot be run as a script (it respawns forever); the
    server itself is started with bench/odoo_server.py."""
    import odoo

    odoo_bin = Path(odoo.__file__).resolve().parent.parent / "odoo-bin"
    if odoo_bin.is_file():
        return [sys.executable, str(odoo_bin)]
    script = shutil.which("odoo")
    if script:
        return [script]
    return [sys.executable, "-m", "odoo"]


def odoo_addons_path():
    import odoo

    odoo_root = Path(odoo.__file__).resolve().parent
    paths = [ROOT, odoo_root / "addons"]
    extra = odoo_root.parent / "addons"
    if (extra / "calendar").is_dir():
        paths.append(extra)
    return ",".join(str(p) for p in paths)


def write_conf(path, db, data_dir, smtp_port):
    path.write_text(
        "\n".join(
            [
                "[options]",
                f"db_host = {DB_HOST}",
                f"db_port = {DB_PORT}",
                f"db_user = {DB_USER}",
                f"db_name = {db}",
                f"dbfilter = ^{db}$",
                f"addons_path = {odoo_addons_path()}",
                f"data_dir = {data_dir}",
                f"http_interface = {LOCAL}",
                "list_db = False",
                # Mails stay queued or fail against a closed local port.
                f"smtp_server = {LOCAL}",
                f"smtp_port = {smtp_port}",
                "",
            ]
        )
    )


class Db:
    """In-process access to the benchmark database through Odoo's ORM."""

    def __init__(self, conf, db):
        import odoo
        from odoo import SUPERUSER_ID, api

        odoo.tools.config.parse_config(["-c", str(conf), "-d", db, "--log-level=warn"])
        self.odoo, self.api, self.su = odoo, api, SUPERUSER_ID
        self.dbname = db
        self.registry = odoo.modules.registry.Registry(db)

    def env_cursor(self, uid=None, context=None):
        cr = self.registry.cursor()
        return cr, self.api.Environment(cr, uid or self.su, context or {})

    def sql(self, query, params=None, fetch=True):
        with self.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall() if fetch and cr.description else None

    def close(self):
        from odoo.modules.registry import Registry

        Registry.delete(self.dbname)
        self.odoo.sql_db.close_db(self.dbname)


# ---------------------------------------------------------------- guests
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


def token_of(location):
    return (location or "").rstrip("/").rsplit("/", 1)[-1]


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
        write_conf(self.conf, cfg_db, data_dir, free_port())
        log(f"work dir {self.tmp}")
        log(f"dropping and creating database {cfg_db}, installing zoom_booking")
        drop_database(cfg_db)
        started = time.monotonic()
        install = subprocess.run(
            [
                *odoo_command(),
                "-c",
                str(self.conf),
                "-d",
                cfg_db,
                "-i",
                "zoom_booking",
                "--without-demo=all",
                "--stop-after-init",
                "--log-level=warn",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            timeout=900,
        )
        (self.tmp / "install.log").write_bytes(install.stdout)
        if install.returncode:
            raise SetupError(
                "installing zoom_booking failed:\n"
                + install.stdout.decode(errors="replace")[-3000:]
            )
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
            params = env["ir.config_parameter"]
            for key, value in {
                "zoom_booking.client_id": CLIENT_ID,
                "zoom_booking.client_secret": CLIENT_SECRET,
                "zoom_booking.webhook_secret_token": WEBHOOK_SECRET,
                "zoom_booking.oauth_base_url": self.double.url,
                "zoom_booking.api_base_url": self.double.url + "/v2",
                "web.base.url": self.base_url,
                "web.base.url.freeze": "True",
            }.items():
                params.set_param(key, value)
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
    def new_guests(self, slug, count, tag):
        with ThreadPoolExecutor(4) as ex:
            return list(
                ex.map(lambda _i: Guest(self.base_url, slug, tag), range(count))
            )

    def events_by_tokens(self, tokens):
        if not tokens:
            return []
        return self.db.sql(
            """SELECT e.id, e.zoom_status, e.zoom_meeting_id, j.work, e.zoom_last_error
                 FROM calendar_event e
                 LEFT JOIN zoom_meeting_job j ON j.event_id = e.id
                WHERE e.booking_access_token = ANY(%s)
                ORDER BY e.id""",
            [list(tokens)],
        )

    def mails_per_event(self, event_ids, subject_like):
        rows = self.db.sql(
            """SELECT a.event_id, count(*)
                 FROM mail_mail mm
                 JOIN mail_message m ON m.id = mm.mail_message_id
                 JOIN calendar_attendee a
                   ON m.model = 'calendar.attendee' AND m.res_id = a.id
                WHERE m.subject LIKE %s AND a.event_id = ANY(%s)
                GROUP BY a.event_id""",
            [subject_like, list(event_ids)],
        )
        counts = dict.fromkeys(event_ids, 0)
        counts.update(dict(rows))
        return counts

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
        if not self.args.keep:
            try:
                drop_database(self.db_name)
            except psycopg2.Error as exc:
                log(f"could not drop {self.db_name}: {exc}")
        if self.args.keep or self.failures:
            log(f"logs kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
