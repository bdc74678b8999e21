"""res.users: a user's Zoom connection as they see it, and its buttons."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError


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
    zoom_reissue_count = fields.Integer(
        "Upcoming bookings without Zoom meeting",
        compute="_compute_zoom_reissue_count",
    )

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + [
            "zoom_connection_state",
            "zoom_email",
            "zoom_reissue_count",
        ]

    def _zoom_connection(self, to_call=False):
        """The user's Zoom connection (sudo), or an empty recordset.

        :param to_call: Odoo is about to call Zoom with it: its tokens are read
            in the same query (a Zoom job's transaction starts cold).
        """
        self.ensure_one()
        Connection = self.env["zoom.connection"].sudo()
        # Searched and read in one query: every Zoom call starts here.
        return Connection.search_fetch(
            [("user_id", "=", self.id)],
            Connection._zoom_public_fields()
            + (Connection._zoom_token_fields() if to_call else []),
        )

    @api.depends_context("uid")
    def _compute_zoom_connection(self):
        connections = (
            self.env["zoom.connection"]
            .sudo()
            .search_fetch(
                [("user_id", "in", self.ids)], ["user_id", "state", "zoom_email"]
            )
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
        """Show what disconnecting does, and do it on confirmation."""
        self._check_zoom_self()
        wizard = self.env["zoom.disconnect.wizard"].create({"user_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "name": _("Disconnect Zoom"),
            "res_model": "zoom.disconnect.wizard",
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def _zoom_upcoming_bookings(self):
        """The user's upcoming events that carry (or await) a Zoom meeting."""
        self.ensure_one()
        return (
            self.env["calendar.event"]
            .sudo()
            .search(
                [
                    ("zoom_host_id", "=", self.id),
                    ("start", ">", fields.Datetime.now()),
                    ("zoom_status", "in", ("created", "pending")),
                ]
            )
        )

    def _zoom_bookings_without_meeting(self):
        """Upcoming bookings on the user's Zoom calendars that have no Zoom
        meeting (e.g. their links were removed on disconnect)."""
        self.ensure_one()
        return (
            self.env["calendar.event"]
            .sudo()
            .search(
                [
                    ("booking_calendar_id.host_id", "=", self.id),
                    ("booking_calendar_id.online_meeting_provider", "=", "zoom"),
                    ("booking_state", "=", "confirmed"),
                    ("start", ">", fields.Datetime.now()),
                    ("zoom_meeting_id", "=", False),
                    ("zoom_pending", "=", False),
                ]
            )
        )

    @api.depends_context("uid")
    def _compute_zoom_reissue_count(self):
        for user in self:
            allowed = user == self.env.user or self.env.user._is_system()
            user.zoom_reissue_count = (
                len(user._zoom_bookings_without_meeting()) if allowed else 0
            )

    def action_zoom_issue_new_meetings(self):
        """New Zoom meetings for the upcoming bookings that have none; each guest
        gets their new link by email."""
        self._check_zoom_self()
        if self.zoom_connection_state != "connected":
            raise UserError(_("Connect your Zoom account first."))
        events = self._zoom_bookings_without_meeting()
        # They were confirmed long ago: this mail is the new link.
        events._zoom_plan_create(
            self, booking_confirmation_mailed=True, zoom_link_mailed=False
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("New Zoom meetings"),
                "message": _(
                    "%s upcoming bookings get a new Zoom meeting; their guests "
                    "receive the new link by email.",
                    len(events),
                ),
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
