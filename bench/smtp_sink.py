"""A real SMTP server on 127.0.0.1 that keeps every mail it is given, with the
time it arrived: what "delivered" means in the benchmark and the deployment
test (a mail still in Odoo's queue is not delivered)."""

import email
import email.policy
import logging
import re
import threading
import time

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)

OBJECTS_RE = re.compile(r"calendar\.event-(\d+)")


class Delivered:
    """One mail as the SMTP server received it."""

    def __init__(self, envelope):
        self.at = time.time()
        self.recipients = [r.lower() for r in envelope.rcpt_tos]
        self.message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        self.subject = str(self.message["Subject"] or "")
        objects = OBJECTS_RE.search(str(self.message["X-Odoo-Objects"] or ""))
        self.event_id = int(objects.group(1)) if objects else None

    def html(self):
        part = self.message.get_body(("html",))
        return part.get_content() if part else ""

    def attachments(self):
        return list(self.message.iter_attachments())


class SmtpSink:
    """``start()``, then Odoo's ``smtp_port = sink.port``."""

    def __init__(self, host="127.0.0.1", port=0):
        self.host, self.port = host, port
        self._mails, self._lock = [], threading.Lock()
        self._controller = None

    def start(self):
        from .stack import free_port

        self.port = self.port or free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        mail = Delivered(envelope)
        with self._lock:
            self._mails.append(mail)
        return "250 Message accepted for delivery"

    def mails(self, subject_like=""):
        """The mails delivered so far whose subject holds ``subject_like``."""
        with self._lock:
            return [m for m in self._mails if subject_like in m.subject]

    def clear(self):
        with self._lock:
            self._mails = []

    def wait_for(self, predicate, timeout):
        """Wait until ``predicate(mails)`` holds; whether it did in time."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self.mails()):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
