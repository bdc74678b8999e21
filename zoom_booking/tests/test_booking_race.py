"""Guests race for one slot: as many bookings as free hosts, "just taken" for the rest.

Each guest runs in its own thread with its own real database cursor, on
committed data, retried on concurrency errors as the HTTP layer does.
"""

import secrets
import threading
import time
from datetime import timedelta

import psycopg2

from odoo import SUPERUSER_ID, api
from odoo.fields import Command
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..exceptions import SlotTakenError
from .common import BookingCalendarMixin

DEADLOCKS = []


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
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as exc:
            if isinstance(exc, psycopg2.errors.DeadlockDetected):
                DEADLOCKS.append(exc)
            env.cr.rollback()
            env.transaction.clear()
            if attempt == tries - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


class GuestRaceMixin:
    """Guests racing for slots, each in its own thread with its own cursor.
    The set-up commits ``calendar_ids``, ``host_ids`` and the guests'
    ``emails``; ``cleanup`` removes them and what the guests booked."""

    host_ids = ()

    def cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
            events = env["calendar.event"].search(
                [("booking_calendar_id", "in", self.calendar_ids)]
            )
            partners = events.booking_guest_partner_id | env["res.partner"].search(
                [("email", "in", self.emails)]
            )
            events.unlink()
            env["booking.calendar"].browse(self.calendar_ids).unlink()
            env["mail.mail"].search([("recipient_ids", "in", partners.ids)]).unlink()
            partners.unlink()
            env["res.users"].browse(self.host_ids).unlink()

    def race(self, plan, tries=40, committed=False):
        """Run the guests of ``plan`` (``[(calendar id, start)]``) at once, the
        i-th guest with the address ``self.emails[i]``: their results, in
        order, each ``("booked", event id)`` or ``("taken", message)``.

        ``committed``: each guest books as the public form does, through
        ``_book_slot_committed`` (its own READ COMMITTED transaction, the slot
        held last), and ``"booked"`` comes with the booking's token; else in
        the guest's REPEATABLE READ transaction, retried as Odoo retries a
        request."""
        barrier = threading.Barrier(len(plan), timeout=60)
        results = [None] * len(plan)
        # Environments are made here: Environment() takes the registry lock,
        # which the test runner holds in the main thread.
        cursors = [self.registry.cursor() for _item in plan]
        envs = [api.Environment(cr, SUPERUSER_ID, {}) for cr in cursors]

        def guest(index):
            env = envs[index]
            calendar_id, start = plan[index]
            calendar = env["booking.calendar"].browse(calendar_id)
            first_try = [True]

            values = {
                "name": f"Racer {index}",
                "email": self.emails[index],
                "tz": "UTC",
            }

            def book():
                # Every transaction takes its snapshot before any books.
                calendar.slug  # noqa: B018 pylint: disable=pointless-statement
                if first_try[0]:
                    first_try[0] = False
                    barrier.wait()
                return calendar._book_slot(start, values).id

            try:
                if committed:
                    calendar.slug  # noqa: B018 pylint: disable=pointless-statement
                    barrier.wait()
                    booked = calendar._book_slot_committed(start, values)
                else:
                    booked = retrying(book, env, tries=tries)
                results[index] = ("booked", booked)
            except SlotTakenError as exc:
                results[index] = ("taken", exc.args[0])
            except Exception as exc:  # noqa: BLE001 - reported by the test
                results[index] = ("error", repr(exc))
            finally:
                env.cr.commit()
                env.cr.close()

        threads = [threading.Thread(target=guest, args=(i,)) for i in range(len(plan))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertFalse([r for r in results if r is None or r[0] == "error"], results)
        for kind, message in results:
            if kind == "taken":
                self.assertIn("just taken", message)
        return results


@tagged("post_install", "-at_install")
class TestBookingRace(GuestRaceMixin, BookingCalendarMixin, TransactionCase):
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
            self.calendar_ids = calendar.ids
        self.addCleanup(self.cleanup)

    @mute_logger("odoo.sql_db")  # the loser's serialization failure, retried
    def test_two_guests_one_slot(self):
        start = self.iso(self.next_slot(days=2))
        results = self.race([(self.calendar_id, start)] * 2, tries=5)
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

    def test_two_guests_one_slot_as_the_booking_form_does(self):
        start = self.iso(self.next_slot(days=3))
        results = self.race([(self.calendar_id, start)] * 2, committed=True)
        self.assertEqual(sorted(r[0] for r in results), ["booked", "taken"], results)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            events = env["calendar.event"].search(
                [("booking_calendar_id", "=", self.calendar_id)]
            )
            self.assertEqual(len(events), 1)
            (token,) = [r[1] for r in results if r[0] == "booked"]
            self.assertEqual(events.booking_access_token, token)


@tagged("post_install", "-at_install")
class TestTeamRace(GuestRaceMixin, BookingCalendarMixin, TransactionCase):
    """Twenty guests race for one slot of a three-host round-robin calendar,
    while others book a second team sharing two of its hosts, listed in the
    other order: each host gets one booking, everyone else a clear refusal,
    and no transaction waits on another in a cycle."""

    GUESTS = 24  # 20 for the round-robin slot, 4 for the other team

    def setUp(self):
        super().setUp()
        tag = secrets.token_hex(4)
        self.emails = [f"team.racer{i}.{tag}@example.com" for i in range(self.GUESTS)]
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            users = env["res.users"].with_context(no_reset_password=True)
            hosts = users.create(
                [
                    {"name": f"Racing host {i}", "login": f"zb_racer_{i}_{tag}"}
                    for i in range(3)
                ]
            )
            self.host_ids = hosts.ids
            team = self.create_booking_calendar(
                hosts[0],
                env=env,
                all_week=True,
                slug=f"zb-team-race-{tag}",
                assignment="round_robin",
                host_ids=[Command.set(hosts.ids)],
            )
            # The same two hosts, owner and team listed the other way round.
            other = self.create_booking_calendar(
                hosts[2],
                env=env,
                all_week=True,
                slug=f"zb-team-race-b-{tag}",
                assignment="collective",
                host_ids=[Command.set(hosts[1:].ids)],
            )
            self.calendar_ids = [team.id, other.id]
        self.addCleanup(self.cleanup)

    def events_at(self, start):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return [
                (event.booking_calendar_id.id, event.partner_ids.user_ids.ids)
                for event in env["calendar.event"].search(
                    [
                        ("booking_calendar_id", "in", self.calendar_ids),
                        ("start", "=", start),
                    ]
                )
            ]

    @mute_logger("odoo.sql_db")  # the losers' serialization failures, retried
    def test_twenty_guests_one_slot_three_hosts(self):
        start = self.next_slot(days=2)
        results = self.race([(self.calendar_ids[0], self.iso(start))] * 20)
        kinds = [r[0] for r in results]
        self.assertEqual((kinds.count("booked"), kinds.count("taken")), (3, 17))
        hosts = [users for _calendar, users in self.events_at(start)]
        self.assertEqual(sorted(u for users in hosts for u in users), self.host_ids)

    def test_nine_guests_one_slot_three_hosts_as_the_booking_form_does(self):
        # Each books in a READ COMMITTED transaction of its own and holds the
        # slot last: the losers are told, or given another free host. (Nine,
        # not twenty: here every guest is a thread of one Python process, and
        # each lost round is a whole booking's work; Odoo's workers are
        # processes.)
        start = self.next_slot(days=4)
        results = self.race(
            [(self.calendar_ids[0], self.iso(start))] * 9, committed=True
        )
        kinds = [r[0] for r in results]
        self.assertEqual((kinds.count("booked"), kinds.count("taken")), (3, 6))
        hosts = [users for _calendar, users in self.events_at(start)]
        self.assertEqual(sorted(u for users in hosts for u in users), self.host_ids)

    @mute_logger("odoo.sql_db")
    def test_two_teams_sharing_hosts_never_double_book_nor_deadlock(self):
        start = self.next_slot(days=3)
        DEADLOCKS.clear()
        plan = [(self.calendar_ids[index % 2], self.iso(start)) for index in range(20)]
        results = self.race(plan)
        busy = [u for _calendar, users in self.events_at(start) for u in users]
        # No host in two bookings at once, and no host left free while a
        # guest was refused: either the collective booking holds two hosts
        # and the round robin the third, or the round robin all three.
        self.assertEqual(len(busy), len(set(busy)), busy)
        self.assertEqual(sorted(busy), self.host_ids)
        self.assertEqual(
            sum(r[0] == "booked" for r in results),
            len(self.events_at(start)),
        )
        self.assertEqual(DEADLOCKS, [])
