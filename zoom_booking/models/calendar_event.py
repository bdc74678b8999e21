"""Calendar events booked by guests through a booking calendar."""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_datetime

from .booking_calendar import BookingError


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    booking_calendar_id = fields.Many2one(
        "booking.calendar",
        "Booking calendar",
        index="btree_not_null",
        ondelete="restrict",
        copy=False,
        readonly=True,
    )
    booking_state = fields.Selection(
        [("confirmed", "Confirmed"), ("cancelled", "Cancelled")],
        "Booking status",
        copy=False,
        readonly=True,
    )
    booking_access_token = fields.Char(
        "Booking access token",
        copy=False,
        readonly=True,
        index="btree_not_null",
        groups="base.group_user",
        help="Secret part of the guest's link to this booking.",
    )
    booking_guest_name = fields.Char("Guest name", readonly=True, copy=False)
    booking_guest_email = fields.Char("Guest email", readonly=True, copy=False)
    booking_guest_phone = fields.Char("Guest phone", readonly=True, copy=False)
    booking_guest_notes = fields.Text("Guest notes", readonly=True, copy=False)
    booking_guest_tz = fields.Char("Guest timezone", readonly=True, copy=False)
    booking_guest_partner_id = fields.Many2one(
        "res.partner", "Guest", readonly=True, copy=False, index="btree_not_null"
    )
    booking_url = fields.Char("Guest's booking link", compute="_compute_booking_url",
                              groups="base.group_user")

    _sql_constraints = [
        (
            "booking_access_token_unique",
            "unique(booking_access_token)",
            "A booking access token must be unique.",
        ),
    ]

    @api.depends("booking_access_token")
    def _compute_booking_url(self):
        base_url = self.get_base_url()
        for event in self:
            token = event.booking_access_token
            event.booking_url = token and f"{base_url}/book/booking/{token}"

    # ------------------------------------------------------------ hooks
    def _zoom_booking_confirmed(self):
        """Hook: create the Zoom meeting of this booking (filled by the Zoom part).

        Called (sudo, as the host) right after the booking is created, inside the
        confirming transaction.
        """

    def _zoom_booking_cancelled(self):
        """Hook: delete the Zoom meeting of this booking (filled by the Zoom part).

        Called (sudo) after the booking is cancelled and archived.
        """

    def _zoom_booking_rescheduled(self):
        """Hook: move the Zoom meeting of this booking (filled by the Zoom part).

        Called (sudo) after the booking's new ``start``/``stop`` are written.
        """

    # ------------------------------------------------------------ public API
    @api.model
    def _get_booking_by_token(self, token):
        """The booking with this guest access token (sudo), or an empty recordset.

        Archived (cancelled) bookings are found too, so the guest can see that
        their booking was cancelled.
        """
        if not isinstance(token, str) or not 20 <= len(token) <= 128:
            return self.sudo().browse()
        return self.sudo().with_context(active_test=False).search(
            [("booking_access_token", "=", token), ("booking_calendar_id", "!=", False)],
            limit=1,
        )

    def _booking_public_values(self, error=None):
        """Values of the guest's booking page: times in the guest's timezone."""
        self.ensure_one()
        event = self.sudo()
        tz = event.booking_guest_tz or event.booking_calendar_id.tz or "UTC"
        fmt = "EEEE d MMMM y, HH:mm"
        return {
            "booking": event,
            "calendar": event.booking_calendar_id,
            "host_name": event.user_id.name,
            "when": format_datetime(self.env, event.start, tz=tz, dt_format=fmt),
            "until": format_datetime(self.env, event.stop, tz=tz, dt_format="HH:mm"),
            "tz": tz,
            "can_change": event._booking_can_change(),
            "error": error,
        }

    def _booking_can_change(self):
        """Whether the guest may still cancel or reschedule this booking."""
        self.ensure_one()
        return self.booking_state == "confirmed" and self.start > fields.Datetime.now()

    def _booking_cancel(self):
        """Cancel the booking: archive the event and tell the Zoom part."""
        for event in self.sudo():
            if event.booking_state != "confirmed":
                raise BookingError(_("This booking is already cancelled."))
            event.write({"booking_state": "cancelled", "active": False})
            event._zoom_booking_cancelled()
        return True

    def _booking_guest_cancel(self):
        """Cancel from the guest's link: only a confirmed booking not started yet."""
        self.ensure_one()
        if self.booking_state == "confirmed" and not self._booking_can_change():
            raise BookingError(_("This booking has already started and can't be cancelled."))
        return self._booking_cancel()

    def _booking_reschedule(self, start, tz_name=None):
        """Move the booking to another free slot of its calendar.

        :param start: ISO-8601 UTC start chosen by the guest
        :raise BookingError: with a message for the guest; nothing is changed then
        """
        self.ensure_one()
        event = self.sudo()
        if not event._booking_can_change():
            raise BookingError(_("This booking can no longer be rescheduled."))
        calendar = event.booking_calendar_id
        if not calendar.active:
            raise BookingError(_("This booking calendar is no longer available."))
        if tz_name:
            tz_name = calendar._check_timezone(tz_name)
        with self.env.cr.savepoint():
            calendar._lock_host()
            new_start = calendar._check_start(start, exclude_event=event)
            vals = {
                "start": new_start,
                "stop": new_start + timedelta(minutes=calendar.duration),
            }
            if tz_name:
                vals["booking_guest_tz"] = tz_name
            event.write(vals)
            event._zoom_booking_rescheduled()
        return event

    def action_booking_cancel(self):
        """Back-end button: the host (or a booking administrator) cancels."""
        self.booking_calendar_id._check_host_access()
        if any(event.booking_state != "confirmed" for event in self):
            raise UserError(_("Only confirmed bookings can be cancelled."))
        self._booking_cancel()
        return True
