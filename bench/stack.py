"""The processes behind a benchmark or a screenshot run: a fresh PostgreSQL
database with zoom_booking installed, the Zoom double and a multi-worker Odoo,
all on 127.0.0.1. Shared by ``bench/harness.py`` and ``scripts/screenshots.py``."""

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
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


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCAL, 0))
        return sock.getsockname()[1]


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
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            raise SetupError(f"Odoo did not answer on {self.url} (see {self.logfile})")
        self._wait_for_websocket_worker(deadline)
        return self

    def _wait_for_websocket_worker(self, deadline):
        """Multi-worker mode: Odoo's gevent process serves the websocket; it
        starts after the HTTP workers."""
        if not self.workers:
            return
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex((LOCAL, self.gevent_port)) == 0:
                    return
            time.sleep(0.2)
        raise SetupError(
            f"Odoo's websocket (gevent) worker did not start on port "
            f"{self.gevent_port} (see {self.logfile})"
        )

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


def install_database(conf, db, logfile, demo=False, modules=()):
    """Drop ``db`` and create it anew with zoom_booking (and ``modules``)
    installed."""
    drop_database(db)
    install = subprocess.run(
        [
            *odoo_command(),
            "-c",
            str(conf),
            "-d",
            db,
            "-i",
            ",".join(["zoom_booking", *modules]),
            *([] if demo else ["--without-demo=all"]),
            "--stop-after-init",
            "--log-level=warn",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=str(ROOT),
        timeout=900,
    )
    Path(logfile).write_bytes(install.stdout)
    if install.returncode:
        raise SetupError(
            "installing zoom_booking failed:\n"
            + install.stdout.decode(errors="replace")[-3000:]
        )


def point_at_zoom(env, zoom_url, base_url):
    """Set the addon's Zoom app and base URL in this database."""
    params = env["ir.config_parameter"]
    for key, value in {
        "zoom_booking.client_id": CLIENT_ID,
        "zoom_booking.client_secret": CLIENT_SECRET,
        "zoom_booking.webhook_secret_token": WEBHOOK_SECRET,
        "zoom_booking.oauth_base_url": zoom_url,
        "zoom_booking.api_base_url": zoom_url + "/v2",
        "web.base.url": base_url,
        "web.base.url.freeze": "True",
        # As a mail server's setup has them: the sender of mails whose author
        # has no address (Odoo's own calendar invitations, among others).
        "mail.catchall.domain": "example.com",
        "mail.default.from": "notifications",
        # The benchmark books thousands of times from one address.
        "zoom_booking.bookings_per_address_hour": "0",
        "zoom_booking.bookings_per_email_day": "0",
    }.items():
        params.set_param(key, value)
