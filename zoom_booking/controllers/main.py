"""HTTP routes: the Zoom connection's OAuth flow, Zoom's webhook, and the
public booking pages; each parses, checks, calls one model method, renders."""

import logging
from urllib.parse import urlencode

from werkzeug.exceptions import Forbidden

from odoo import _, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..exceptions import BookingCaptchaError, ZoomConnectError
from ..tools.urls import booking_path

_logger = logging.getLogger(__name__)

OAUTH_SESSION_KEY = "zoom_booking_oauth"

# The public booking pages: Odoo frontend pages (their language from the
# switcher's cookie or the browser), each at one URL, none in a sitemap.
PUBLIC_PAGE = {
    "type": "http",
    "auth": "public",
    "sitemap": False,
    "website": True,
    "multilang": False,
}


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
        "/zoom_booking/oauth/callback",
        type="http",
        auth="user",
        methods=["GET"],
        # Its page is a frontend page: with the Website app, a website's.
        website=True,
        multilang=False,
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

    @http.route(
        "/zoom_booking/webhook",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def zoom_webhook(self, **kwargs):
        """Zoom's event notifications: checked, then handled by one model call."""
        status, body = (
            request.env["zoom.webhook.event"]
            .sudo()
            ._receive(request.httprequest.headers, request.httprequest.get_data())
        )
        return request.make_json_response(body, status=status)

    def _render_result(self, message, status=200):
        return request.render(
            "zoom_booking.zoom_connection_result",
            {"message": message},
            status=status,
        )


class BookingController(http.Controller):
    """Public booking pages: guests book, see, cancel and reschedule."""

    # ---------------------------------------------------------- helpers
    def _page(self, template, values, status=200):
        """A public booking page, with its language switcher, in the
        company's colours: the website's layout when the Website app is
        installed, else a header with the company's name and logo."""
        company = values.get("booking_company") or request.env.company
        values = dict(
            values,
            booking_languages=self._languages(),
            booking_company=company.sudo(),
            booking_on_website=bool(getattr(request, "website", None)),
        )
        return request.render(template, values, status=status)

    def _languages(self):
        """The pages' languages (the installed ones, or the website's), each
        with the link that switches to it."""
        installed = [
            (code, lang.name)
            for code, lang in request.env["res.lang"]._get_frontend().items()
        ]
        if len(installed) < 2:
            return []
        here = request.httprequest.full_path.rstrip("?")
        return [
            {
                "tag": code.replace("_", "-"),
                # "Japanese / 日本語": each language in its own words.
                "name": name.split(" / ")[-1],
                "current": code == request.env.lang,
                "url": f"/book/lang/{code}?{urlencode({'next': here})}",
            }
            for code, name in installed
        ]

    def _not_found(self):
        return self._page("zoom_booking.booking_not_found", {}, status=404)

    def _csrf_error(self, post):
        """None when the form's CSRF token is valid, else the guest's message.

        Public forms check it here rather than in the route, so that a guest
        whose session expired gets the page back with a clear message."""
        if request.validate_csrf(post.get("csrf_token") or ""):
            return None
        return UserError(_("Your session has expired: please try again."))

    def _captcha_error(self):
        """None when Odoo's captcha hook lets the booking through, else the
        guest's message. The hook exists once Odoo's reCAPTCHA addon (or
        Turnstile, which builds on it) is installed; it lets everything
        through until its keys are set in Settings."""
        verify = getattr(
            request.env["ir.http"], "_verify_request_recaptcha_token", None
        )
        if verify is None:
            return None
        try:
            if verify("zoom_booking_book"):
                return None
        except UserError as exc:  # its own message: timeout, invalid token...
            return BookingCaptchaError(exc.args[0])
        return BookingCaptchaError(
            _("We could not confirm that you are not a robot: please try again.")
        )

    def _render_calendar(self, calendar, error=None, form=None, booking=None):
        status = 200
        if error:
            status = getattr(error, "http_status", 400)
            error = error.args[0]
        return self._page(
            "zoom_booking.booking_page",
            calendar._public_page_values(error=error, form=form, booking=booking),
            status=status,
        )

    def _render_booking(self, booking, error=None, status=200, notice=None):
        return self._page(
            "zoom_booking.booking_confirmation",
            booking._booking_public_values(error=error, notice=notice),
            status=status,
        )

    def _slots_response(self, calendar, start, end, tz, booking=None):
        try:
            result = calendar._public_free_slots(start, end, tz, exclude_event=booking)
        except UserError as exc:
            return request.make_json_response({"error": exc.args[0]}, status=400)
        return request.make_json_response(result)

    @http.route("/book/lang/<string:code>", methods=["GET"], **PUBLIC_PAGE)
    def booking_language(self, code, **kw):
        """The public pages' language switcher: Odoo's ``frontend_lang``
        cookie remembers the choice, then back to the page (``next``)."""
        back = kw.get("next") or ""
        target = back if back.startswith("/book/") else "/"
        if code in request.env["res.lang"]._get_frontend():
            # On the future response: Odoo sets the page's language there too.
            request.future_response.set_cookie(
                "frontend_lang", code, max_age=365 * 24 * 3600
            )
        return request.redirect(target)

    # ---------------------------------------------------------- booking calendar
    @http.route(
        "/book/<string:slug>",
        methods=["GET", "POST"],
        csrf=False,  # checked below, to show the guest a clear page
        **PUBLIC_PAGE,
    )
    def booking_calendar_page(self, slug, **post):
        """The public page of a booking calendar; POST confirms a booking."""
        calendar = request.env["booking.calendar"]._get_public_calendar(slug)
        if not calendar:
            return self._not_found()
        if request.httprequest.method != "POST":
            return self._render_calendar(calendar)
        try:
            if error := self._csrf_error(post) or self._captcha_error():
                raise error
            token = calendar._book_slot_committed(
                post.get("start"), post, request.httprequest.remote_addr
            )
        except UserError as exc:
            return self._render_calendar(calendar, error=exc, form=post)
        return request.redirect(booking_path(token=token) + "?notice=booked")

    @http.route("/book/<string:slug>/slots", methods=["GET"], **PUBLIC_PAGE)
    def booking_calendar_slots(self, slug, start=None, end=None, tz=None, **kw):
        """Free slots of a booking calendar, as JSON (ISO-8601 UTC starts)."""
        calendar = request.env["booking.calendar"]._get_public_calendar(slug)
        if not calendar:
            return request.make_json_response({"error": _("Not found.")}, status=404)
        return self._slots_response(calendar, start, end, tz)

    # ---------------------------------------------------------- one booking
    @http.route("/book/booking/<string:token>", methods=["GET"], **PUBLIC_PAGE)
    def booking_page(self, token, notice=None, **kw):
        """The guest's page of their booking, reached by its secret link."""
        booking = request.env["calendar.event"]._get_booking_by_token(token)
        if not booking:
            return self._not_found()
        return self._render_booking(booking, notice=notice)

    @http.route(
        "/book/booking/<string:token>/invitation.ics", methods=["GET"], **PUBLIC_PAGE
    )
    def booking_invitation(self, token, **kw):
        """The booking as an .ics file, for the guest's own calendar."""
        booking = request.env["calendar.event"]._get_booking_by_token(token)
        if not booking or booking.booking_state != "confirmed":
            return self._not_found()
        return request.make_response(
            booking._booking_ics(),
            headers=[
                ("Content-Type", "text/calendar; charset=utf-8"),
                ("Content-Disposition", 'attachment; filename="booking.ics"'),
            ],
        )

    @http.route(
        "/book/booking/<string:token>/cancel",
        methods=["POST"],
        csrf=False,  # checked below
        **PUBLIC_PAGE,
    )
    def booking_cancel(self, token, **post):
        """The guest cancels their booking."""
        booking = request.env["calendar.event"]._get_booking_by_token(token)
        if not booking:
            return self._not_found()
        try:
            if error := self._csrf_error(post):
                raise error
            booking._booking_guest_cancel(post.get("reason"))
        except UserError as exc:
            return self._render_booking(booking, error=exc.args[0], status=400)
        return request.redirect(booking_path(token=token))

    @http.route("/book/booking/<string:token>/slots", methods=["GET"], **PUBLIC_PAGE)
    def booking_reschedule_slots(self, token, start=None, end=None, tz=None, **kw):
        """Free slots to move a booking to (its own time counts as free)."""
        booking = request.env["calendar.event"]._get_booking_by_token(token)
        if not booking or not booking.booking_calendar_id.active:
            return request.make_json_response({"error": _("Not found.")}, status=404)
        return self._slots_response(
            booking.booking_calendar_id, start, end, tz, booking=booking
        )

    @http.route(
        "/book/booking/<string:token>/reschedule",
        methods=["GET", "POST"],
        csrf=False,  # checked below
        **PUBLIC_PAGE,
    )
    def booking_reschedule(self, token, **post):
        """Choose another slot for a booking; POST moves it."""
        booking = request.env["calendar.event"]._get_booking_by_token(token)
        if not booking:
            return self._not_found()
        if not booking._booking_can_change():
            return self._render_booking(
                booking,
                error=_("This booking can no longer be rescheduled."),
                status=400,
            )
        calendar = booking.booking_calendar_id
        if request.httprequest.method != "POST":
            return self._render_calendar(calendar, booking=booking)
        try:
            if error := self._csrf_error(post):
                raise error
            booking._booking_reschedule_committed(post.get("start"), post.get("tz"))
        except UserError as exc:
            return self._render_calendar(
                calendar, error=exc, form=post, booking=booking
            )
        return request.redirect(booking_path(token=token) + "?notice=moved")
