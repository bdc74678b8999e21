"""booking.guest.mixin: how a booking calendar confirms a guest's booking:
the checks, the abuse limits, the guest's contact, the event and its online
meeting, in a transaction of its own."""

import secrets
from datetime import timedelta

from odoo import _, fields, models
from odoo.tools import email_normalize, html2plaintext

from ..exceptions import BookingError, BookingLimitError
from ..tools.guest_input import clean_guest_values
from ..tools.transaction import run_in_own_transaction

LIMIT_PER_ADDRESS_PARAM = "zoom_booking.bookings_per_address_hour"
LIMIT_PER_EMAIL_PARAM = "zoom_booking.bookings_per_email_day"


class BookingGuestMixin(models.AbstractModel):
    """A guest's booking of a booking calendar, from the public form to the
    confirmed event. The inheriting model (``booking.calendar``) supplies the
    calendar's fields and ``booking.slot.mixin``'s slot check and host lock.
    """

    _name = "booking.guest.mixin"
    _description = "Guest booking of a booking calendar"

    def _find_or_create_guest_partner(self, name, email, phone, tz, lang=None):
        """The guest's partner: their own when the guest is logged in as the
        Odoo user with this email; else a contact with this email that is no
        user's (an anonymous guest typing a colleague's email must not fill
        that colleague's calendar); else a new contact. A contact takes the
        language the booking page showed, so the mails speak it too."""
        self.ensure_one()
        user = self.env.user
        if not user._is_public() and email_normalize(user.email or user.login) == email:
            return user.partner_id
        partner = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [("email_normalized", "=", email), ("user_ids", "=", False)],
                order="active desc, id",
                limit=1,
            )
        )
        if partner:
            if lang and partner.lang != lang:
                partner.lang = lang
            return partner
        return (
            self.env["res.partner"]
            .sudo()
            .create(
                {
                    "name": name,
                    "email": email,
                    "phone": phone or False,
                    "tz": tz,
                    "lang": lang or False,
                }
            )
        )

    def _book_slot_committed(self, start, values, client_address=None):
        """Confirm a guest's booking in a transaction of its own, and commit it.

        The booking is made first and its slot held last (see
        :meth:`_hold_slot`), in a READ COMMITTED transaction: guests booking
        the same host at once do their work side by side and only wait on
        each other for the final check. A guest who loses the slot is retried
        here at once, instead of through the whole HTTP request, and then
        told it is taken. The Zoom meeting is made right after this commit,
        before the guest is answered.

        :return: the booking's guest access token
        :raise BookingError: with a message for the guest; nothing is stored then
        """
        self.ensure_one()

        def book(env):
            booking = self.with_env(env)._book_slot(start, values, client_address)
            return booking.sudo().booking_access_token

        return run_in_own_transaction(self.env, book, read_committed=True)

    def _book_slot(self, start, values, client_address=None):
        """Confirm a guest's booking; the one entry point of the public form.

        :param start: ISO-8601 UTC start chosen by the guest
        :param values: the guest's ``name``, ``email``, ``phone``, ``notes``, ``tz``
        :param client_address: the guest's IP address (behind a proxy, the one
            Odoo's ``proxy_mode`` reads), for the abuse limits
        :return: the booking (``calendar.event``, sudo)
        :raise BookingError: with a message for the guest; nothing is stored then
        """
        self.ensure_one()
        calendar = self.sudo()
        if not calendar.is_published or not calendar.active:
            raise BookingError(_("This booking calendar is not available."))
        guest = clean_guest_values(self.env, values)
        guest["answers"] = calendar._clean_answers(values)
        guest["client_address"] = (client_address or "")[:64] or False
        calendar._check_booking_limits(guest)
        with self.env.cr.savepoint():
            # Checked without a lock, so a taken slot is refused at once; the
            # check that counts is _hold_slot's, under the lock.
            start, free_hosts = calendar._check_start_hosts(start)
            hosts = calendar._booking_hosts_for(start, free_hosts)
            partner = calendar._find_or_create_guest_partner(
                guest["name"],
                guest["email"],
                guest["phone"],
                guest["tz"],
                # The language of the page the guest booked on.
                self.env.lang,
            )
            event = calendar._create_booking_event(start, guest, partner, hosts)
            calendar._hold_slot(event, hosts)
        return event

    def _booking_hosts_for(self, start, free_hosts):
        """Who takes a booking at ``start``, the organizer first: the owner; on
        a round-robin calendar one free host (:meth:`_round_robin_host`); on a
        collective one, every host."""
        self.ensure_one()
        if self.assignment == "round_robin":
            return self._round_robin_host(start, free_hosts)
        return free_hosts

    def _round_robin_host(self, start, free_hosts):
        """The free host with the fewest upcoming bookings of this calendar
        (from now to the booking horizon), ties broken by the team's order. On
        a Zoom calendar, hosts who can have the Zoom meeting come first: one
        whose Zoom is not connected gets the booking only when no connected
        host is free."""
        self.ensure_one()
        candidates = free_hosts
        if self.online_meeting_provider == "zoom":
            zoom_ready = free_hosts.filtered(
                lambda h: h.sudo().zoom_connection_state != "not_connected"
            )
            candidates = zoom_ready or free_hosts
        now = fields.Datetime.now()
        groups = (
            self.env["calendar.event"]
            .sudo()
            ._read_group(
                [
                    ("booking_calendar_id", "=", self.id),
                    ("booking_state", "=", "confirmed"),
                    ("user_id", "in", candidates.ids),
                    ("start", ">=", now),
                    ("start", "<", now + timedelta(days=self.max_days_ahead)),
                ],
                ["user_id"],
                ["__count"],
            )
        )
        count_of = {user.id: count for user, count in groups}
        order = {host.id: index for index, host in enumerate(candidates)}
        return min(candidates, key=lambda h: (count_of.get(h.id, 0), order[h.id]))

    def _check_booking_limits(self, guest):
        """Refuse a booking beyond the limits set in Settings: confirmed
        bookings per client address per hour (all calendars), and per email
        address per calendar per day. Stops one client from filling every
        slot or mailing anyone through the booking form."""
        self.ensure_one()
        params = self.env["ir.config_parameter"].sudo()
        per_address = int(params.get_param(LIMIT_PER_ADDRESS_PARAM, 20) or 0)
        per_email = int(params.get_param(LIMIT_PER_EMAIL_PARAM, 3) or 0)
        if per_address and guest["client_address"]:
            domain = [("booking_guest_address", "=", guest["client_address"])]
            if self._recent_bookings(domain, timedelta(hours=1), per_address):
                raise BookingLimitError(
                    _(
                        "Too many bookings were made from your connection in the "
                        "last hour. Please try again later."
                    )
                )
        if per_email:
            domain = [
                ("booking_calendar_id", "=", self.id),
                ("booking_guest_email", "=", guest["email"]),
            ]
            if self._recent_bookings(domain, timedelta(days=1), per_email):
                raise BookingLimitError(
                    _(
                        "This email address already has %(count)s bookings with "
                        "this calendar today. Please try again tomorrow.",
                        count=per_email,
                    )
                )

    def _recent_bookings(self, domain, period, limit):
        """Whether ``limit`` bookings matching ``domain`` were made in ``period``."""
        since = fields.Datetime.now() - period
        events = self.env["calendar.event"].sudo().with_context(active_test=False)
        return (
            events.search_count(domain + [("create_date", ">", since)], limit=limit)
            >= limit
        )

    def _create_booking_event(self, start, guest, partner, hosts=None):
        """The booking's event: organized by the first of ``hosts`` (the owner
        by default), every one of them attending with the guest."""
        self.ensure_one()
        hosts = hosts or self.host_id
        host = hosts[0]
        vals = {
            "name": _(
                "%(calendar)s with %(guest)s", calendar=self.name, guest=guest["name"]
            ),
            "start": start,
            "stop": start + timedelta(minutes=self.duration),
            # What calendar computes for an event that is not all day, given
            # here so that it is inserted with the event, not updated after.
            "start_date": False,
            "stop_date": False,
            "user_id": host.id,
            "partner_ids": [fields.Command.set((hosts.partner_id | partner).ids)],
            "show_as": "busy",
            "privacy": self.booking_privacy,
            "description": html2plaintext(self.description or "") and self.description,
            "booking_calendar_id": self.id,
            "booking_state": "confirmed",
            "booking_access_token": secrets.token_urlsafe(32),
            "booking_guest_name": guest["name"],
            "booking_guest_email": guest["email"],
            "booking_guest_phone": guest["phone"] or False,
            "booking_guest_notes": guest["notes"] or False,
            "booking_guest_tz": guest["tz"],
            "booking_guest_partner_id": partner.id,
            "booking_guest_address": guest["client_address"],
            "booking_answer_ids": [
                fields.Command.create(
                    {
                        "question_id": question.id,
                        "sequence": index,
                        "question": question.name,
                        "value": answer,
                    }
                )
                for index, (question, answer) in enumerate(guest.get("answers", []))
            ],
        }
        # Created as the host, so the organizer's defaults are the host's, not the
        # public user's; sudo because the guest has no rights on calendar.event.
        event = self.env["calendar.event"].with_user(host).sudo().create(vals)
        self._give_online_meeting(event, self.online_meeting_provider)
        return event

    # ------------------------------------------------ online meeting providers
    def _give_online_meeting(self, event, provider):
        """Give a new booking the online meeting of ``provider`` and tell host and
        guest: ``_online_meeting_<provider>(event)`` does it. The one place where
        providers are told apart, and the seam where another one (Teams, Meet)
        plugs in: a selection value and its method."""
        self.ensure_one()
        getattr(self, f"_online_meeting_{provider}")(event)

    def _online_meeting_none(self, event):
        event._booking_send_mail("confirmed")

    def _online_meeting_custom(self, event):
        event.videocall_location = self.custom_url
        event._booking_send_mail("confirmed")

    def _online_meeting_discuss(self, event):
        event._set_discuss_videocall_location()
        event._booking_send_mail("confirmed")

    def _online_meeting_zoom(self, event):
        # The organizer's own Zoom account: the assigned host's on a round-robin
        # calendar, the owner's on a collective one.
        host = event.user_id
        if host.sudo().zoom_connection_state == "not_connected":
            # Host not connected: the fallback, as the public page promised.
            return self._give_online_meeting(event, self.zoom_fallback)
        # Its confirmation mail waits for Zoom's first answer.
        event._zoom_plan_create(host)
