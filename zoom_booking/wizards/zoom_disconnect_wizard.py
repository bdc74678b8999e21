"""zoom.disconnect.wizard: what disconnecting Zoom will do, before it is done."""

from odoo import _, api, fields, models


class ZoomDisconnectWizard(models.TransientModel):
    """Says what disconnecting will do before it is done."""

    _name = "zoom.disconnect.wizard"
    _description = "Disconnect Zoom"

    user_id = fields.Many2one("res.users", required=True, readonly=True)
    upcoming_count = fields.Integer(compute="_compute_preview")
    preview = fields.Char(compute="_compute_preview")

    @api.depends("user_id")
    def _compute_preview(self):
        for wizard in self:
            wizard.user_id._check_zoom_self()
            count = len(wizard.user_id._zoom_upcoming_bookings())
            wizard.upcoming_count = count
            wizard.preview = _(
                "%(count)s upcoming bookings will lose their Zoom link in Odoo; "
                "the meetings stay in your Zoom account.",
                count=count,
            )

    def action_disconnect(self):
        """Disconnect for real."""
        self.ensure_one()
        self.user_id._check_zoom_self()
        self.user_id._zoom_connection()._disconnect()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Zoom disconnected"),
                "message": _(
                    "Your Zoom account is no longer connected, and its links "
                    "were removed from Odoo."
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
