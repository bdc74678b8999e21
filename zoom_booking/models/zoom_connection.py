"""zoom.connection: a user's OAuth link to their Zoom account and its tokens."""

import logging
import secrets
import time
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import consteq
from odoo.tools.misc import hmac as odoo_hmac

from ..exceptions import ZoomConnectError, ZoomNeedsReconnect
from ..tools import zoom_client
from ..tools.transaction import after_commit
from ..tools.zoom_api import ZoomApi
from ..tools.zoom_client import (
    ZoomClient,
    ZoomError,
    ZoomInvalidGrant,
)
from ..tools.zoom_scopes import missing_scopes

_logger = logging.getLogger(__name__)

OAUTH_STATE_SCOPE = "zoom_booking.oauth_state"
OAUTH_STATE_MAX_AGE = 600  # seconds: Zoom's screen must be answered within 10 minutes
REFRESH_MARGIN = timedelta(seconds=60)
CALLBACK_PATH = "/zoom_booking/oauth/callback"
WEBHOOK_PATH = "/zoom_booking/webhook"


class ZoomConnection(models.Model):
    """zoom.connection: one user's link to their Zoom account, and its tokens."""

    _name = "zoom.connection"
    _description = "Zoom connection"
    _rec_name = "user_id"
    _order = "user_id"

    user_id = fields.Many2one(
        "res.users",
        string="Odoo user",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    zoom_user_id = fields.Char("Zoom user ID", readonly=True, index=True, copy=False)
    zoom_email = fields.Char("Zoom email", readonly=True, copy=False)
    zoom_account_id = fields.Char("Zoom account ID", readonly=True, copy=False)
    zoom_display_name = fields.Char("Zoom name", readonly=True, copy=False)
    state = fields.Selection(
        [("connected", "Connected"), ("needs_reconnect", "Needs reconnect")],
        default="connected",
        required=True,
        readonly=True,
    )
    scopes = fields.Char(readonly=True, copy=False)
    daily_limit_until = fields.Datetime(
        "Zoom's daily limit reached until",
        readonly=True,
        copy=False,
        help="Zoom refuses more meeting creations and changes for this account "
        "until its daily reset (00:00 UTC).",
    )
    passcode_policy = fields.Json(
        readonly=True,
        copy=False,
        help="The Zoom account's passcode policy (meeting_password_requirement), "
        "read when connecting.",
    )
    connected_on = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Char(readonly=True, copy=False)
    # Secrets: administrators only, never copied, read and written by _token helpers.
    access_token = fields.Char(groups="base.group_system", copy=False)
    refresh_token = fields.Char(groups="base.group_system", copy=False)
    token_expires_at = fields.Datetime(groups="base.group_system", copy=False)

    _sql_constraints = [
        (
            "user_unique",
            "UNIQUE(user_id)",
            "A user has at most one Zoom connection.",
        ),
    ]

    # ----------------------------------------------------------- settings
    @api.model
    def _zoom_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        return {
            "client_id": params.get_param("zoom_booking.client_id") or "",
            "client_secret": params.get_param("zoom_booking.client_secret") or "",
            "oauth_base_url": params.get_param(
                "zoom_booking.oauth_base_url", "https://zoom.us"
            ),
            "api_base_url": params.get_param(
                "zoom_booking.api_base_url", "https://api.zoom.us/v2"
            ),
        }

    @api.model
    def _zoom_client(self, call_logger=None):
        """A :class:`ZoomClient` configured from the system parameters."""
        settings = self._zoom_settings()
        if not settings["client_id"] or not settings["client_secret"]:
            raise ZoomConnectError(
                _(
                    "Zoom is not configured yet: an administrator must enter the "
                    "Client ID and Client Secret in Settings > Zoom Booking."
                )
            )
        return ZoomClient(
            settings["oauth_base_url"],
            settings["api_base_url"],
            settings["client_id"],
            settings["client_secret"],
            call_logger=call_logger,
            deadline=self.env.context.get("zoom_booking_deadline"),
        )

    @api.model
    def _oauth_redirect_uri(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        return base_url.rstrip("/") + CALLBACK_PATH

    # ------------------------------------------------------------- tokens
    def _token_values(self):
        """The stored secrets of this connection, as a dict (sudo helper)."""
        self.ensure_one()
        conn = self.sudo()
        return {
            "access_token": conn.access_token,
            "refresh_token": conn.refresh_token,
            "token_expires_at": conn.token_expires_at,
        }

    @api.model
    def _token_write_values(self, token_json):
        expires_in = int(token_json.get("expires_in") or 3600)
        return {
            "access_token": token_json["access_token"],
            "refresh_token": token_json["refresh_token"],
            "token_expires_at": fields.Datetime.now() + timedelta(seconds=expires_in),
            "scopes": token_json.get("scope") or "",
        }

    def _get_access_token(self, force_refresh=False):
        """A valid access token for this connection, refreshed when needed.

        :param force_refresh: the current token was refused by Zoom (code 124).
        :raises ZoomNeedsReconnect: the owner must connect again.
        """
        self.ensure_one()
        conn = self.sudo()
        if conn.state != "connected" or not conn.refresh_token:
            raise ZoomNeedsReconnect(
                _("The Zoom connection of %s must be renewed.", conn.user_id.name)
            )
        if (
            not force_refresh
            and conn.access_token
            and conn.token_expires_at
            and conn.token_expires_at > fields.Datetime.now() + REFRESH_MARGIN
        ):
            return conn.access_token
        return self._refresh_access_token(stale_token=conn.access_token)

    def _refresh_access_token(self, stale_token=None):
        """Refresh the tokens: the only place that does it.

        Zoom rotates refresh tokens (the old one dies at first use), so refreshes
        of one connection are serialised by a row lock, and done in a transaction
        of their own so that the new refresh token is kept even when the caller's
        transaction is rolled back.
        """
        self.ensure_one()
        client = self._zoom_client()
        for attempt in range(1, 6):
            try:
                with self.env.registry.cursor() as cr:
                    token, refused = self._refresh_locked(cr, client, stale_token)
                break
            except psycopg2.errors.SerializationFailure:
                # Another worker committed new tokens after this transaction's
                # snapshot: a new transaction sees them.
                if attempt == 5:
                    raise
        # What the token transaction wrote wins over anything cached here.
        self.invalidate_recordset(
            [
                "access_token",
                "refresh_token",
                "token_expires_at",
                "scopes",
                "state",
                "last_error",
            ],
            flush=False,
        )
        if refused:
            # self.env._, not _: a closed cursor is among this frame's locals.
            raise ZoomNeedsReconnect(
                self.env._("Zoom refused the connection: it must be renewed.")
            ) from refused
        return token

    def _refresh_locked(self, cr, client, stale_token):
        cr.execute("SET LOCAL lock_timeout = '15s'")
        cr.execute(
            """SELECT access_token, refresh_token, token_expires_at, state
                 FROM zoom_connection WHERE id = %s FOR NO KEY UPDATE""",
            [self.id],
        )
        row = cr.fetchone()
        if not row or row[3] != "connected" or not row[1]:
            raise ZoomNeedsReconnect(_("The Zoom connection must be renewed."))
        access_token, refresh_token, expires_at, _state = row
        if (
            access_token
            and access_token != stale_token
            and expires_at
            and expires_at > fields.Datetime.now() + REFRESH_MARGIN
        ):
            # Another worker refreshed while we waited for the lock.
            return access_token, None
        try:
            token_json = client.refresh(refresh_token)
        except ZoomInvalidGrant as exc:
            env = self.env(cr=cr, su=True)
            env["zoom.connection"].browse(self.id)._mark_needs_reconnect(exc.message)
            return None, exc
        values = self._token_write_values(token_json)
        cr.execute(
            """UPDATE zoom_connection
                  SET access_token = %s, refresh_token = %s,
                      token_expires_at = %s, scopes = %s, last_error = NULL,
                      write_date = now() at time zone 'UTC'
                WHERE id = %s""",
            [
                values["access_token"],
                values["refresh_token"],
                values["token_expires_at"],
                values["scopes"],
                self.id,
            ],
        )
        return values["access_token"], None

    def _mark_needs_reconnect(self, reason=""):
        """Zoom no longer accepts this connection: keep everything, tell the user."""
        for conn in self.sudo():
            if conn.state == "needs_reconnect":
                continue
            conn.write(
                {
                    "state": "needs_reconnect",
                    "access_token": False,
                    "token_expires_at": False,
                    "last_error": (reason or "")[:250],
                }
            )
            conn._notify_needs_reconnect()

    def _tell_daily_limit(self, until):
        """Tell the user, once per reset, that Zoom's daily limit holds their
        meetings until ``until`` (UTC)."""
        self.ensure_one()
        conn = self.sudo()
        if conn.daily_limit_until and conn.daily_limit_until >= until:
            return
        conn.daily_limit_until = until
        conn._tell_user(
            _("Zoom's daily limit is reached for your account"),
            _(
                "Zoom accepts at most 100 meeting creations and changes a day for "
                "one user, and your account (%(email)s) has reached that limit. "
                "Bookings keep being confirmed; their Zoom meetings are made or moved "
                "after %(until)s UTC, when Zoom resets the limit, and each guest then "
                "gets the link by email.",
                email=conn.zoom_email or "",
                until=until.strftime("%Y-%m-%d %H:%M"),
            ),
        )

    def _tell_user(self, subject, body):
        """A notification to the connection's user, in Odoo and by mail."""
        partner = self.user_id.partner_id.sudo()
        # From OdooBot: this may run for a guest's request, as the public user.
        odoobot = self.env.ref("base.partner_root")
        partner.message_notify(
            author_id=odoobot.id,
            email_from=odoobot.email_formatted,
            partner_ids=partner.ids,
            subject=subject,
            body=body,
            email_layout_xmlid="zoom_booking.mail_notification_booking",
            # The mail queue's cron sends it (no race with it after commit).
            force_send=False,
        )
        self.env["calendar.event"]._booking_wake_mail_queue()

    def _notify_needs_reconnect(self):
        self.ensure_one()
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        page_url = base_url + "/odoo/my-zoom"
        self._tell_user(
            _("Your Zoom connection needs to be renewed"),
            _(
                "Zoom no longer accepts Odoo's connection to your Zoom account "
                "(%(email)s). Bookings keep being confirmed, but their Zoom meetings "
                "wait until you connect again from %(url)s.",
                email=self.zoom_email or "",
                url=page_url,
            ),
        )

    # ---------------------------------------------------------- calling Zoom
    @api.model
    def _zoom_public_fields(self):
        """The stored fields an ordinary read brings (not the tokens)."""
        return [
            name
            for name, field in self._fields.items()
            if field.store and field.column_type and not field.groups
        ]

    @api.model
    def _zoom_token_fields(self):
        """What calling Zoom reads of the tokens (sudo only)."""
        return ["access_token", "refresh_token", "token_expires_at"]

    def _zoom_api(self, call_logger=None):
        """This connection's Zoom API: :class:`ZoomApi`, whose calls carry a
        valid access token."""
        self.ensure_one()
        return ZoomApi(self, self._zoom_client(call_logger=call_logger))

    def _call_with_token(self, func, *args, meanwhile=None):
        """``func(token, *args)`` with this connection's access token. A token
        Zoom refuses (401, code 124) is refreshed and the call retried once.

        :param meanwhile: work done here while Zoom answers the first try
            (``zoom_client.call_beside``)
        """
        self.ensure_one()
        try:
            token = self._get_access_token()
            if meanwhile is None:
                return func(token, *args)
            return zoom_client.call_beside(lambda: func(token, *args), meanwhile)
        except zoom_client.ZoomAuthError:
            token = self._get_access_token(force_refresh=True)
            try:
                return func(token, *args)
            except zoom_client.ZoomAuthError as exc:
                with self.env.registry.cursor() as token_cr:
                    self.with_env(self.env(cr=token_cr, su=True))._mark_needs_reconnect(
                        exc.message
                    )
                raise ZoomNeedsReconnect(
                    self.env._("Zoom refused the access token: connect again.")
                ) from exc

    # ------------------------------------------------------------- OAuth
    @api.model
    def _oauth_sign(self, payload):
        return odoo_hmac(self.env(su=True), OAUTH_STATE_SCOPE, payload)

    @api.model
    def _oauth_authorization_start(self):
        """Start connecting the current user: Zoom's authorization URL, with the
        one-time values the browser session must keep until the callback."""
        if self.env.user._is_public() or not self.env.user._is_internal():
            raise AccessError(_("Only internal users can connect a Zoom account."))
        client = self._zoom_client()
        verifier, challenge = zoom_client.pkce_pair()
        nonce = secrets.token_urlsafe(16)
        payload = f"{self.env.uid}.{int(time.time())}.{nonce}"
        state = f"{payload}.{self._oauth_sign(payload)}"
        return {
            "authorize_url": client.authorize_url(
                self._oauth_redirect_uri(), state, challenge
            ),
            "pending": {"nonce": nonce, "verifier": verifier},
        }

    @api.model
    def _oauth_check_state(self, state, pending):
        """Check that ``state`` is ours, for this user, fresh and not used yet."""
        try:
            uid, issued, nonce, signature = (state or "").split(".")
            uid, issued = int(uid), int(issued)
        except ValueError:
            raise ZoomConnectError(
                _("This Zoom sign-in link is not valid. Please click Connect again.")
            ) from None
        payload = f"{uid}.{issued}.{nonce}"
        signed = self._oauth_sign(payload)
        # Bytes: consteq refuses non-ASCII text, and a state is anyone's input.
        if not consteq(signature.encode(), signed.encode()) or uid != self.env.uid:
            raise ZoomConnectError(
                _("This Zoom sign-in link is not valid. Please click Connect again.")
            )
        if not 0 <= time.time() - issued <= OAUTH_STATE_MAX_AGE:
            raise ZoomConnectError(
                _("This Zoom sign-in link has expired. Please click Connect again.")
            )
        if not pending or not consteq(
            str(pending.get("nonce") or "").encode(), nonce.encode()
        ):
            raise ZoomConnectError(
                _(
                    "This Zoom sign-in link was already used. "
                    "Please click Connect again."
                )
            )
        return pending["verifier"]

    @api.model
    def _oauth_authorization_finish(
        self, code=None, state=None, error=None, pending=None
    ):
        """Finish connecting the current user after Zoom's authorization screen.

        :param pending: what :meth:`_oauth_authorization_start` asked to keep.
        :return: the user's connection
        :raises ZoomConnectError: with a message for the user; nothing is stored.
        """
        verifier = self._oauth_check_state(state, pending)
        if error:
            if error == "access_denied":
                raise ZoomConnectError(
                    _("You declined access on Zoom's screen, so nothing was connected.")
                )
            raise ZoomConnectError(
                _("Zoom did not authorize the connection (%s).", error[:100])
            )
        if not code:
            raise ZoomConnectError(_("Zoom sent no authorization code. Try again."))
        client = self._zoom_client()
        try:
            token_json = client.exchange_code(
                code, self._oauth_redirect_uri(), verifier
            )
            if not token_json or not token_json.get("access_token"):
                raise zoom_client.ZoomRequestError("no token in Zoom's answer")
            self._check_granted_scopes(client, token_json)
            me = client.get_me(token_json["access_token"])
            settings = client.get_settings(token_json["access_token"]) or {}
        except zoom_client.ZoomUnavailable:
            raise ZoomConnectError(
                _("Zoom could not be reached or did not answer in time. Try again.")
            ) from None
        except ZoomError as exc:
            _logger.warning("Zoom connection of user %s failed: %s", self.env.uid, exc)
            raise ZoomConnectError(
                _("Zoom refused to connect the account. Please try again.")
            ) from None
        policy = (settings.get("meeting_security") or {}).get(
            "meeting_password_requirement"
        )
        return self._save_connection(
            token_json, me or {}, policy if isinstance(policy, dict) else {}
        )

    @api.model
    def _check_granted_scopes(self, client, token_json):
        """Refuse, in plain words, a Zoom app that lacks a scope the module
        uses, rather than failing later on a guest's booking. The token is
        revoked: nothing of that authorization stays."""
        missing = missing_scopes(token_json.get("scope"))
        if not missing:
            return
        try:
            client.revoke(token_json["access_token"])
        except ZoomError as exc:
            _logger.info("Zoom token revocation failed: %s", exc)
        raise ZoomConnectError(
            _(
                "The Zoom app lacks these scopes: %(scopes)s. An administrator must "
                "add them to the app in Zoom's App Marketplace (the app's Scopes "
                "page), then you can click Connect again.",
                scopes=", ".join(missing),
            )
        )

    @api.model
    def _save_connection(self, token_json, me, passcode_policy=None):
        values = dict(
            self._token_write_values(token_json),
            zoom_user_id=me.get("id"),
            zoom_email=me.get("email"),
            zoom_account_id=me.get("account_id"),
            zoom_display_name=me.get("display_name")
            or " ".join(filter(None, [me.get("first_name"), me.get("last_name")])),
            state="connected",
            connected_on=fields.Datetime.now(),
            last_error=False,
            passcode_policy=passcode_policy,
        )
        connection = self.sudo().search([("user_id", "=", self.env.uid)])
        if connection:
            connection.write(values)
        else:
            connection = self.sudo().create(dict(values, user_id=self.env.uid))
        connection._on_connected()
        return connection.sudo(False)

    def _on_connected(self):
        """The connection works (again): Zoom work waiting for it is done now."""
        jobs = (
            self.env["zoom.meeting.job"]
            .sudo()
            .search([("host_id", "in", self.user_id.ids)])
        )
        if jobs:
            jobs._due_now()

    # --------------------------------------------------------- disconnect
    def _disconnect(self, revoke=True):
        """Forget these connections and every Zoom link, meeting ID and passcode
        stored for their users' events, as Zoom's data policy requires. The
        meetings stay in the users' Zoom accounts. The token is revoked at Zoom
        after commit (best effort).

        :param revoke: False when Zoom told us the app was removed.
        """
        tokens = [conn._token_values()["access_token"] for conn in self]
        settings = self._zoom_settings()
        reason = "disconnect" if revoke else "deauthorized"
        users = self.user_id
        self.sudo().unlink()
        for user in users:
            self.env["zoom.data.purge"]._purge_user(user, reason)
        if revoke and settings["client_id"]:
            for token in filter(None, tokens):
                self._revoke_after_commit(settings, token)
        return True

    @api.model
    def _revoke_after_commit(self, settings, token):
        def revoke(_env):
            client = ZoomClient(
                settings["oauth_base_url"],
                settings["api_base_url"],
                settings["client_id"],
                settings["client_secret"],
            )
            try:
                client.revoke(token)
            except ZoomError as exc:
                # Best effort: the tokens are already gone from Odoo.
                _logger.info("Zoom token revocation failed: %s", exc)

        after_commit(self.env, revoke)
