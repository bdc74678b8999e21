"""Two guests race for one slot: one booking, one "just taken" message.

Each guest runs in its own thread with its own real database cursor, on
committed data, retried on concurrency errors as the HTTP layer does.
"""

import secrets
import threading
import time
from datetime import timedelta

from odoo import SUPERUSER_ID, api
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..exceptions import SlotTakenError
from .common import BookingCalendarMixin


def retrying(func, env, tries=5):
    """Odoo's ``odoo.service.model.retrying``, as the HTTP layer runs a request:
    on a concurrency error, roll back and run again with a fresh snapshot.

    Odoo's own helper reloads the registry (``Environment.reset``), which waits
    for the registry lock the test runner holds in the main thread; clearing
    the transaction's caches is what matters here.
    """
    for attempt in range(tries):
        try:
            result = func()
            env.cr.flush()
            # Post-commit hooks (sending the invitation emails) open a registry,
            # which would wait for the test runner's lock: emails aren't the point.
            env.cr.postcommit.clear()
            env.cr.commit()
            return result
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            env.cr.rollback()
            env.transaction.clear()
            if attempt == tries - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


@tagged("post_install", "-at_install")
class TestBookingRace(BookingCalendarMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.slug = f"zb-race-{secrets.token_hex(4)}"
        self.emails = [f"racer{i}.{self.slug}@example.com" for i in range(2)]
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            calendar = self.create_booking_calendar(
                env.ref("base.user_admin"),
                env=env,
                all_week=True,
                slug=self.slug,
                name="Race",
            )
            self.calendar_id = calendar.id
        self.addCleanup(self.cleanup)

    def cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
            events = env["calendar.event"].search(
                [("booking_calendar_id", "=", self.calendar_id)]
            )
            partners = events.booking_guest_partner_id | env["res.partner"].search(
                [("email", "in", self.emails)]
            )
            events.unlink()
            env["booking.calendar"].browse(self.calendar_id).unlink()
            env["mail.mail"].search([("recipient_ids", "in", partners.ids)]).unlink()
            partners.unlink()

    @mute_logger("odoo.sql_db")  # the loser's serialization failure, retried
    def test_two_guests_one_slot(self):
        start = self.iso(self.next_slot(days=2))
        barrier = threading.Barrier(2, timeout=30)
        results = [None, None]

        # Environments are made here: Environment() takes the registry lock, which
        # the test runner holds in the main thread.
        cursors = [self.registry.cursor() for _index in range(2)]
        envs = [api.Environment(cr, SUPERUSER_ID, {}) for cr in cursors]

        def guest(index):
            env = envs[index]
            calendar = env["booking.calendar"].browse(self.calendar_id)
            first_try = [True]

            def book():
                # Both transactions take their snapshot before either books.
                calendar.slug  # noqa: B018 pylint: disable=pointless-statement
                if first_try[0]:
                    first_try[0] = False
                    barrier.wait()
                return calendar._book_slot(
                    start,
                    {
                        "name": f"Racer {index}",
                        "email": self.emails[index],
                        "tz": "UTC",
                    },
                ).id

            try:
                results[index] = ("booked", retrying(book, env))
            except SlotTakenError as exc:
                results[index] = ("taken", exc.args[0])
            except Exception as exc:  # noqa: BLE001 - reported by the test
                results[index] = ("error", repr(exc))
            finally:
                env.cr.commit()
                env.cr.close()

        threads = [threading.Thread(target=guest, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(sorted(r[0] for r in results), ["booked", "taken"], results)
        self.assertIn("just taken", next(r[1] for r in results if r[0] == "taken"))
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["calendar.event"].search(
                [("booking_calendar_id", "=", self.calendar_id)]
            )
            self.assertEqual(len(events), 1)
            self.assertEqual(events.stop - events.start, timedelta(minutes=30))
            # The loser's guest contact was not kept either.
            loser = 0 if results[0][0] == "taken" else 1
            self.assertFalse(
                env["res.partner"].search([("email", "=", self.emails[loser])])
            )
