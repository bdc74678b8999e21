"""booking.answer: a guest's answer to a question of the booking form."""

from odoo import fields, models


class BookingAnswer(models.Model):
    _name = "booking.answer"
    _description = "Answer to a booking question"
    _order = "sequence, id"

    event_id = fields.Many2one(
        "calendar.event", "Booking", required=True, ondelete="cascade", index=True
    )
    question_id = fields.Many2one(
        "booking.question", "Calendar question", ondelete="set null"
    )
    sequence = fields.Integer()
    # The question as the guest read it: the host may reword it later.
    question = fields.Char(required=True, readonly=True)
    value = fields.Text("Answer", readonly=True)
