"""booking.reassign.wizard: a booking manager gives a booking to another host
of its team calendar."""

from odoo import api, fields, models


class BookingReassignWizard(models.TransientModel):
    _name = "booking.reassign.wizard"
    _description = "Give a booking to another host"

    event_id = fields.Many2one("calendar.event", required=True, readonly=True)
    current_host_id = fields.Many2one(related="event_id.user_id", string="Now with")
    host_choice_ids = fields.Many2many(
        "res.users", compute="_compute_host_choice_ids", string="Other hosts"
    )
    new_host_id = fields.Many2one(
        "res.users",
        "New host",
        required=True,
        domain="[('id', 'in', host_choice_ids)]",
    )

    @api.depends("event_id")
    def _compute_host_choice_ids(self):
        for wizard in self:
            event = wizard.event_id.sudo()
            wizard.host_choice_ids = (
                event.booking_calendar_id._team_hosts() - event.user_id
            )

    def action_reassign(self):
        """Give the booking to the chosen host (see calendar.event)."""
        self.ensure_one()
        self.event_id._booking_reassign(self.new_host_id)
        return {"type": "ir.actions.act_window_close"}
