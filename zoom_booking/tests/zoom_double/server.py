"""A faithful local fake of Zoom's OAuth + Meetings API, served over HTTP:
the HTTP server and its request handler, whose routes live in ``oauth``,
``meetings`` and ``control``; the state and Python API in ``state``."""

import html
import json
import re
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .common import (
    RATE_LIMIT_MESSAGE,
    _Headers,
    _json_response,
    _Response,
    _zoom_error,
)
from .control import ControlRoutes
from .meetings import MeetingRoutes
from .oauth import OAuthRoutes


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, handler, double):
        self.double = double
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self):
        """Cut kept-alive and in-flight connections (so a stop is a real outage)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(OAuthRoutes, MeetingRoutes, ControlRoutes, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZoomDouble/1.0"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    @property
    def double(self):
        return self.server.double

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    # ------------------------------------------------------------- plumbing
    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _write(self, resp):
        try:
            self.send_response(resp.status)
            for key, value in resp.headers.items():
                self.send_header(key, value)
            if resp.status not in (204, 304):
                self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if resp.status not in (204, 304) and resp.body:
                self.wfile.write(resp.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (timeout, stop)

    def _serve(self, method):
        parts = urlsplit(self.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = self._read_body()
        if path == "/_double" or path.startswith("/_double/"):
            self._write(self._safe(self._control, method, path, query, body))
            return
        double = self.double
        ctype = self.headers.get("Content-Type", "").lower()
        entry = {
            "method": method,
            "path": path,
            "query": query,
            "headers": _Headers(self.headers.items()),
            "json": None,
            "form": None,
            "body": body.decode("utf-8", "replace"),
            "status": None,
            "time": time.time(),
        }
        if "json" in ctype and body:
            try:
                entry["json"] = json.loads(body)
            except ValueError:
                pass
        if "application/x-www-form-urlencoded" in ctype:
            entry["form"] = dict(
                parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            )
        entry["zoom_user"] = double._bearer_email(self.headers.get("Authorization"))
        double._record(entry)

        fault = double._take_fault(method, path)
        action = fault["action"] if fault else None
        delay = fault["delay_ms"] / 1000.0 if fault else 0.0
        if action in ("status", "rate_limit", "drop", "delay") and delay:
            time.sleep(delay)
        if action == "drop":
            entry["status"] = 0
            time.sleep(double.latency_ms / 1000.0)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if action == "status":
            resp = self._fault_response(fault)
        elif action == "rate_limit":
            headers = {"Retry-After": "1"}
            headers.update(fault["headers"])
            resp = _json_response(
                429, {"code": 429, "message": RATE_LIMIT_MESSAGE}, headers
            )
        else:
            resp = self._safe(self._dispatch, method, path, query, body)
        if resp.status in (double.xml_error_statuses or ()):
            resp = _as_xml(resp)
        entry["status"] = resp.status
        if action == "timeout_after_success":
            time.sleep(delay)
        time.sleep(double.latency_ms / 1000.0)
        self._write(resp)

    def _fault_response(self, fault):
        body = fault["body"]
        headers = dict(fault["headers"])
        if body is None:
            body = {
                "code": fault["status"],
                "message": self.responses.get(fault["status"], ("Error",))[0],
            }
        if isinstance(body, (dict, list)):
            return _json_response(fault["status"], body, headers)
        if isinstance(body, str):
            body = body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return _Response(fault["status"], body, headers)

    def _safe(self, func, *args):
        try:
            return func(*args)
        except Exception as exc:  # noqa: BLE001 - surfaced to the client
            traceback.print_exc(file=sys.stderr)
            return _json_response(
                500, {"code": 500, "message": f"Zoom double error: {exc!r}"}
            )

    # ------------------------------------------------------------- dispatch
    def _dispatch(self, method, path, query, body):
        if path == "/oauth/authorize":
            if method == "GET":
                return self._authorize_page(query)
            if method == "POST":
                return self._authorize_post(body)
        if path == "/oauth/token" and method == "POST":
            return self._token(body)
        if path == "/oauth/revoke" and method == "POST":
            return self._revoke(body, query)
        match = re.fullmatch(r"/([js])/(\d+)", path)
        if match and method == "GET":
            return self._join_page(match.group(1), int(match.group(2)), query)
        if path.startswith("/v2/"):
            return self._api(method, path[3:], query, body)
        return _zoom_error(404, 404, "Not found")


def _as_xml(resp):
    """A JSON error answer as the XML some of Zoom's gateways send instead."""
    try:
        data = json.loads(resp.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return resp
    if not isinstance(data, dict):
        return resp
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<result><code>{html.escape(str(data.get('code', '')))}</code>"
        f"<message>{html.escape(str(data.get('message', '')))}</message></result>"
    )
    headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-type"}
    headers["Content-Type"] = "application/xml;charset=UTF-8"
    return _Response(resp.status, body.encode("utf-8"), headers)
