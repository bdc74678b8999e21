"""zoom.call.log: every call made to Zoom for an event, without secrets."""

from odoo import api, fields, models


class ZoomCallLog(models.Model):
    _name = "zoom.call.log"
    _description = "Zoom call made for a calendar event"
    _order = "id desc"

    event_id = fields.Many2one(
        "calendar.event", required=True, index=True, ondelete="cascade"
    )
    host_id = fields.Many2one("res.users", index=True, ondelete="cascade")
    method = fields.Char(required=True)
    path = fields.Char(required=True, help="API path, without query or secrets.")
    status = fields.Integer(help="HTTP status; 0 when Zoom could not be reached.")
    duration_ms = fields.Integer("Duration (ms)")
    error = fields.Char()

    @api.autovacuum
    def _gc_old_calls(self):
        limit = fields.Datetime.subtract(fields.Datetime.now(), days=180)
        self.search([("create_date", "<", limit)], limit=10000).unlink()
