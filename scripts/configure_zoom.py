"""Point a zoom_booking database at a Zoom app (or the sandbox) and a base URL.

Used by scripts/run.sh and the benchmark: reads ZB_CLIENT_ID, ZB_CLIENT_SECRET,
ZB_WEBHOOK_SECRET, ZB_OAUTH_URL, ZB_API_URL and ZB_BASE_URL from the environment.
"""

import os
import sys

import odoo
from odoo import api


def main(conf, dbname):
    odoo.tools.config.parse_config(["-c", conf, "-d", dbname])
    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        params = env["ir.config_parameter"]
        values = {
            "zoom_booking.client_id": os.environ.get("ZB_CLIENT_ID"),
            "zoom_booking.client_secret": os.environ.get("ZB_CLIENT_SECRET"),
            "zoom_booking.webhook_secret_token": os.environ.get("ZB_WEBHOOK_SECRET"),
            "zoom_booking.oauth_base_url": os.environ.get("ZB_OAUTH_URL"),
            "zoom_booking.api_base_url": os.environ.get("ZB_API_URL"),
            "web.base.url": os.environ.get("ZB_BASE_URL"),
        }
        for key, value in values.items():
            if value:
                params.set_param(key, value)
        # Keep the base URL as configured, even after an admin logs in elsewhere.
        params.set_param("web.base.url.freeze", "True")


if __name__ == "__main__":
    main(*sys.argv[1:3])
