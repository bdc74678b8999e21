from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class ResUsers(models.Model):
    _inherit = "res.users"

    zoom_connection_state = fields.Selection(
        [
            ("not_connected", "Not connected"),
            ("connected", "Connected"),
            ("needs_reconnect", "Needs reconnect"),
        ],
        string="Zoom connection",
        compute="_compute_zoom_connection",
    )
    zoom_email = fields.Char("Zoom account", compute="_compute_zoom_connection")

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["zoom_connection_state", "zoom_email"]

    def _zoom_connection(self):
        """The user's Zoom connection (sudo), or an empty recordset."""
        self.ensure_one()
        return self.env["zoom.connection"].sudo().search([("user_id", "=", self.id)])

    @api.depends_context("uid")
    def _compute_zoom_connection(self):
        connections = (
            self.env["zoom.connection"].sudo().search([("user_id", "in", self.ids)])
        )
        by_user = {conn.user_id.id: conn for conn in connections}
        for user in self:
            conn = by_user.get(user.id)
            user.zoom_connection_state = conn.state if conn else "not_connected"
            user.zoom_email = conn.zoom_email if conn else False

    def _check_zoom_self(self):
        self.ensure_one()
        if self != self.env.user and not self.env.user.has_group("base.group_system"):
            raise AccessError(_("You can only manage your own Zoom connection."))

    def action_zoom_connect(self):
        """Send the user to Zoom's authorization screen."""
        self._check_zoom_self()
        if self != self.env.user:
            raise AccessError(_("Each user connects their own Zoom account."))
        return {
            "type": "ir.actions.act_url",
            "url": "/zoom_booking/oauth/connect",
            "target": "self",
        }

    def action_zoom_disconnect(self):
        """Disconnect the user's Zoom account."""
        self._check_zoom_self()
        self._zoom_connection()._disconnect()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Zoom disconnected"),
                "message": _("Your Zoom account is no longer connected to Odoo."),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def action_open_my_zoom_connection(self):
        """The current user's Zoom page."""
        return {
            "type": "ir.actions.act_window",
            "name": _("My Zoom Connection"),
            "res_model": "res.users",
            "res_id": self.env.uid,
            "view_mode": "form",
            "views": [
                (self.env.ref("zoom_booking.res_users_view_form_zoom").id, "form")
            ],
            "target": "current",
        }
