"""booking.calendar.availability: the weekly hours a booking calendar offers."""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .booking_calendar import WEEKDAYS


class BookingCalendarAvailability(models.Model):
    _name = "booking.calendar.availability"
    _description = "Booking calendar: weekly availability"
    _order = "weekday, hour_from"

    calendar_id = fields.Many2one(
        "booking.calendar", required=True, ondelete="cascade", index=True
    )
    weekday = fields.Selection(WEEKDAYS, required=True, default="0")
    hour_from = fields.Float("From", required=True, default=9.0)
    hour_to = fields.Float("To", required=True, default=17.0)

    @api.constrains("hour_from", "hour_to")
    def _check_hours(self):
        for line in self:
            if not 0 <= line.hour_from < line.hour_to <= 24:
                raise ValidationError(
                    _(
                        "Availability hours must be between 00:00 and 24:00, the start "
                        "before the end."
                    )
                )
