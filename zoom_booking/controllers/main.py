import logging

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.exceptions import AccessError
from odoo.http import request

from ..models.zoom_connection import ZoomConnectError

_logger = logging.getLogger(__name__)

OAUTH_SESSION_KEY = "zoom_booking_oauth"


class ZoomConnectionController(http.Controller):
    @http.route(
        "/zoom_booking/oauth/connect", type="http", auth="user", methods=["GET"]
    )
    def zoom_oauth_connect(self, **kwargs):
        """Send the current user to Zoom's authorization screen."""
        try:
            start = request.env["zoom.connection"]._oauth_authorization_start()
        except AccessError:
            raise Forbidden() from None
        except ZoomConnectError as exc:
            return self._render_result(exc.args[0], status=400)
        # PKCE verifier and state nonce stay server-side, in this browser's session.
        request.session[OAUTH_SESSION_KEY] = start["pending"]
        return request.redirect(start["authorize_url"], local=False)

    @http.route(
        "/zoom_booking/oauth/callback", type="http", auth="user", methods=["GET"]
    )
    def zoom_oauth_callback(self, code=None, state=None, error=None, **kwargs):
        """Zoom sends the browser back here after its authorization screen."""
        pending = request.session.pop(OAUTH_SESSION_KEY, None)
        try:
            request.env["zoom.connection"]._oauth_authorization_finish(
                code=code, state=state, error=error, pending=pending
            )
        except ZoomConnectError as exc:
            return self._render_result(exc.args[0], status=400)
        return request.redirect("/odoo/action-zoom_booking.action_my_zoom_connection")

    def _render_result(self, message, status=200):
        return request.render(
            "zoom_booking.zoom_connection_result",
            {"message": message},
            status=status,
        )
