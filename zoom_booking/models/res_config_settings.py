"""res.config.settings: the Zoom app's credentials and the URLs to give Zoom."""

from odoo import api, fields, models

from .zoom_connection import CALLBACK_PATH, WEBHOOK_PATH


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    zoom_client_id = fields.Char(
        "Zoom Client ID", config_parameter="zoom_booking.client_id"
    )
    zoom_client_secret = fields.Char(
        config_parameter="zoom_booking.client_secret",
        groups="base.group_system",
    )
    zoom_webhook_secret_token = fields.Char(
        config_parameter="zoom_booking.webhook_secret_token",
        groups="base.group_system",
    )
    zoom_oauth_base_url = fields.Char(
        "Zoom OAuth URL",
        config_parameter="zoom_booking.oauth_base_url",
        default="https://zoom.us",
    )
    zoom_api_base_url = fields.Char(
        "Zoom API URL",
        config_parameter="zoom_booking.api_base_url",
        default="https://api.zoom.us/v2",
    )
    booking_limit_per_address = fields.Integer(
        "Bookings per client address per hour",
        config_parameter="zoom_booking.bookings_per_address_hour",
        default=20,
        help="Confirmed bookings one IP address may make in an hour, all "
        "calendars together; 0: no limit.",
    )
    booking_limit_per_email = fields.Integer(
        "Bookings per email address per calendar per day",
        config_parameter="zoom_booking.bookings_per_email_day",
        default=3,
        help="0: no limit.",
    )
    zoom_redirect_url = fields.Char("Redirect URL", compute="_compute_zoom_urls")
    zoom_webhook_url = fields.Char("Webhook URL", compute="_compute_zoom_urls")

    @api.depends("zoom_client_id")
    def _compute_zoom_urls(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        base_url = (base_url or "").rstrip("/")
        for settings in self:
            settings.zoom_redirect_url = base_url + CALLBACK_PATH
            settings.zoom_webhook_url = base_url + WEBHOOK_PATH

    @api.model
    def default_get(self, fields_list):
        # Settings defaults are read from system parameters with sudo: without
        # this, anyone calling default_get over RPC would read the secrets.
        values = super().default_get(fields_list)
        if not self.env.is_system():
            for name in ("zoom_client_secret", "zoom_webhook_secret_token"):
                values.pop(name, None)
        return values
