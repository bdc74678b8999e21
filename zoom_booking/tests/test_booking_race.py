"""Two guests race for one slot: one booking, one "just taken" message.

Each guest runs in its own thread with its own real database cursor, on
committed data, through Odoo's ``retrying`` as the HTTP layer does.
"""

import secrets
import threading
from datetime import timedelta

from odoo import SUPERUSER_ID, api
from odoo.service.model import retrying
from odoo.tests import TransactionCase, tagged

from ..models.booking_calendar import SlotTakenError
from .common import BookingCalendarMixin


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

    def test_two_guests_one_slot(self):
        start = self.iso(self.next_slot(days=2))
        barrier = threading.Barrier(2, timeout=30)
        results = [None, None]

        def guest(index):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                calendar = env["booking.calendar"].browse(self.calendar_id)
                first_try = [True]

                def book():
                    # Both transactions take their snapshot before either books.
                    calendar.slug  # noqa: B018
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
            loser = results[0][0] == "taken" and 0 or 1
            self.assertFalse(
                env["res.partner"].search([("email", "=", self.emails[loser])])
            )
