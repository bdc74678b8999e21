"""A host connects their own Zoom account, and nothing goes wrong quietly."""

import base64
import hashlib
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlparse

import requests

from odoo.tests import freeze_time, tagged

from .common import CLIENT_ID, CLIENT_SECRET, ZoomBookingCase


@tagged("post_install", "-at_install")
class TestZoomConnect(ZoomBookingCase):
    def start_connect(self, user):
        self.zoom.add_user(user.email)
        self.zoom.set_authorizing_user(user.email)
        self.authenticate(user.login, user.login)
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        return response.headers["Location"]

    def callback(self, query):
        if isinstance(query, dict):
            query = urlencode(query)
        return self.url_open(
            "/zoom_booking/oauth/callback?" + query, allow_redirects=False
        )

    def connection_of(self, user):
        return self.env["zoom.connection"].sudo().search([("user_id", "=", user.id)])

    def assert_refused(self, response, text):
        self.assertEqual(response.status_code, 400, response.text[:300])
        self.assertIn(text, response.text)
        self.assertNotIn("Traceback", response.text)

    # ------------------------------------------------------------ happy path
    def test_connect_through_zoom_authorize_screen(self):
        authorize_url = self.start_connect(self.host)
        parsed = urlparse(authorize_url)
        self.assertEqual(parsed.path, "/oauth/authorize")
        query = self.query_of(authorize_url)
        self.assertEqual(query["client_id"], CLIENT_ID)
        self.assertEqual(query["code_challenge_method"], "S256")
        self.assertTrue(
            query["redirect_uri"].endswith("/zoom_booking/oauth/callback"),
            query["redirect_uri"],
        )

        page = self.zoom.approve(authorize_url)
        response = self.callback(urlparse(page).query)
        self.assertEqual(response.status_code, 303, response.text[:500])
        self.assertIn("action_my_zoom_connection", response.headers["Location"])

        connection = self.connection_of(self.host)
        self.assertEqual(connection.state, "connected")
        self.assertEqual(connection.zoom_email, self.host.email)
        self.assertTrue(connection.zoom_user_id)
        self.assertTrue(connection.zoom_account_id)
        self.assertIn("meeting:write:meeting", connection.scopes)
        self.assertGreater(connection.token_expires_at, datetime.now())
        self.assertEqual(self.host.zoom_connection_state, "connected")
        self.assertEqual(self.host.zoom_email, self.host.email)

        # The token request: Basic auth, a form body, and the PKCE verifier that
        # matches the challenge sent to the authorize screen.
        (token_call,) = self.zoom.requests(method="POST", path="/oauth/token")
        expected_basic = base64.b64encode(
            f"{CLIENT_ID}:{CLIENT_SECRET}".encode()
        ).decode()
        self.assertEqual(
            token_call["headers"]["Authorization"], f"Basic {expected_basic}"
        )
        form = token_call["form"]
        self.assertEqual(form["grant_type"], "authorization_code")
        self.assertEqual(form["redirect_uri"], query["redirect_uri"])
        challenge = (
            base64.urlsafe_b64encode(
                hashlib.sha256(form["code_verifier"].encode()).digest()
            )
            .rstrip(b"=")
            .decode()
        )
        self.assertEqual(challenge, query["code_challenge"])
        (me_call,) = self.zoom.requests(method="GET", path="/v2/users/me")
        self.assertTrue(me_call["headers"]["Authorization"].startswith("Bearer "))

    def test_connect_in_a_real_browser(self):
        """Click Connect in Odoo, Authorize on Zoom's screen, see "Connected as"."""
        self.zoom.add_user("hana.zoom@example.com")
        self.zoom.set_authorizing_user("hana.zoom@example.com")
        with self.chromium(self.host.login, "/odoo/my-zoom") as page:
            page.click("button.o_zoom_connect")
            page.wait_for(
                f"location.href.startsWith({self.zoom.url!r})", what="Zoom's screen"
            )
            page.click("#zoom-authorize")
            page.wait_for(
                "!!document.querySelector('.o_zoom_connected')", what="Connected as"
            )
            self.assertIn("Connected as hana.zoom@example.com", page.text())
        self.assertEqual(self.host.zoom_connection_state, "connected")

    def test_two_hosts_sign_in_to_their_own_zoom_on_the_sandbox_screen(self):
        """As on Zoom's screen, whoever signs in there is the Zoom account
        connected: two hosts try the sandbox side by side, each their own."""
        for user, zoom_email in (
            (self.host, "hana.sato@zoom.example"),
            (self.other_host, "oscar.weber@zoom.example"),
        ):
            with self.chromium(user.login, "/odoo/my-zoom") as page:
                page.click("button.o_zoom_connect")
                page.wait_for(
                    f"location.href.startsWith({self.zoom.url!r})", what="Zoom's screen"
                )
                screen = page.text()
                self.assertIn("would like to access your Zoom account", screen)
                self.assertIn("Create meetings for you", screen)
                page.evaluate(
                    f"document.querySelector('#zoom-email').value = {zoom_email!r}"
                )
                page.click("#zoom-authorize")
                page.wait_for(
                    "!!document.querySelector('.o_zoom_connected')", what="Connected as"
                )
                self.assertIn(f"Connected as {zoom_email}", page.text())
        self.assertEqual(
            [self.connection_of(u).zoom_email for u in (self.host, self.other_host)],
            ["hana.sato@zoom.example", "oscar.weber@zoom.example"],
        )
        names = {u["email"]: u["display_name"] for u in self.zoom.users()}
        self.assertEqual(names["oscar.weber@zoom.example"], "Oscar Weber")

    def test_my_zoom_page_says_connected_as(self):
        self.connect_zoom(self.host)
        self.authenticate(self.host.login, self.host.login)
        action = self.host.with_user(self.host).action_open_my_zoom_connection()
        self.assertEqual(action["res_id"], self.host.id)
        view = self.env.ref("zoom_booking.res_users_view_form_zoom")
        self.assertEqual(action["views"], [(view.id, "form")])
        self.assertIn("Connected as", view.arch)

    # ------------------------------------------------------------- bad paths
    def test_guest_declines_at_zoom(self):
        authorize_url = self.start_connect(self.host)
        response = self.callback(urlparse(self.zoom.deny(authorize_url)).query)
        self.assert_refused(response, "You declined access")
        self.assertFalse(self.connection_of(self.host))
        self.assertFalse(self.zoom.requests(path="/oauth/token"))

    def test_tampered_state_is_refused(self):
        authorize_url = self.start_connect(self.host)
        query = self.query_of(self.zoom.approve(authorize_url))
        uid, issued, nonce, signature = query["state"].split(".")
        query["state"] = ".".join([uid, str(int(issued) + 1), nonce, signature])
        self.assert_refused(self.callback(query), "not valid")
        self.assertFalse(self.connection_of(self.host))
        self.assertFalse(self.zoom.requests(path="/oauth/token"))

    def test_state_of_another_user_is_refused(self):
        authorize_url = self.start_connect(self.host)
        query = self.query_of(self.zoom.approve(authorize_url))
        self.authenticate(self.other_host.login, self.other_host.login)
        self.assert_refused(self.callback(query), "not valid")
        self.assertFalse(self.connection_of(self.other_host))
        self.assertFalse(self.connection_of(self.host))

    def test_replayed_state_is_refused(self):
        authorize_url = self.start_connect(self.host)
        query = self.query_of(self.zoom.approve(authorize_url))
        self.assertEqual(self.callback(query).status_code, 303)
        connection = self.connection_of(self.host)
        token_before = connection.access_token
        self.assert_refused(self.callback(query), "already used")
        connection.invalidate_recordset()
        self.assertEqual(connection.access_token, token_before)
        self.assertEqual(len(self.zoom.requests(path="/oauth/token")), 1)

    def test_expired_state_is_refused(self):
        authorize_url = self.start_connect(self.host)
        query = self.query_of(self.zoom.approve(authorize_url))
        with freeze_time(datetime.now() + timedelta(minutes=11)):
            response = self.callback(query)
        self.assert_refused(response, "expired")
        self.assertFalse(self.connection_of(self.host))

    def test_missing_settings(self):
        self.env["ir.config_parameter"].sudo().set_param("zoom_booking.client_id", "")
        self.authenticate(self.host.login, self.host.login)
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        self.assert_refused(response, "Zoom is not configured yet")

    def test_zoom_token_endpoint_erroring(self):
        for status, message in [
            (500, "could not be reached"),
            (400, "refused to connect"),
        ]:
            with self.subTest(status=status):
                authorize_url = self.start_connect(self.host)
                query = self.query_of(self.zoom.approve(authorize_url))
                self.zoom.add_fault(
                    method="POST",
                    path="/oauth/token",
                    action="status",
                    status=status,
                    body={"reason": "Invalid Token!", "error": "invalid_grant"},
                )
                self.assert_refused(self.callback(query), message)
                self.assertFalse(self.connection_of(self.host))

    def test_zoom_unreachable_or_slow(self):
        # Odoo's test harness raises every HTTP timeout to 10 s.
        for action, delay in [("drop", 0), ("delay", 11000)]:
            with self.subTest(action=action):
                authorize_url = self.start_connect(self.host)
                query = self.query_of(self.zoom.approve(authorize_url))
                self.zoom.add_fault(
                    method="POST", path="/oauth/token", action=action, delay_ms=delay
                )
                self.assert_refused(self.callback(query), "could not be reached")
                self.assertFalse(self.connection_of(self.host))

    def test_zoom_identity_failing_stores_nothing(self):
        authorize_url = self.start_connect(self.host)
        query = self.query_of(self.zoom.approve(authorize_url))
        self.zoom.add_fault(method="GET", path="/v2/users/me", status=503)
        self.assert_refused(self.callback(query), "could not be reached")
        self.assertFalse(self.connection_of(self.host))

    def test_connect_requires_login(self):
        self.authenticate(None, None)
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertIn("/web/login", response.headers["Location"])

    def test_portal_user_cannot_connect(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 403)


@tagged("post_install", "-at_install")
class TestZoomTokens(ZoomBookingCase):
    def test_refresh_when_expiring_within_a_minute(self):
        connection = self.connect_zoom(self.host)
        old = connection._token_values()
        connection.sudo().token_expires_at = datetime.now() + timedelta(seconds=30)
        connection.flush_recordset()
        token = connection._get_access_token()
        self.assertNotEqual(token, old["access_token"])
        (refresh,) = self.zoom.requests(method="POST", path="/oauth/token")[1:]
        self.assertEqual(refresh["form"]["grant_type"], "refresh_token")
        self.assertEqual(refresh["form"]["refresh_token"], old["refresh_token"])
        new = connection._token_values()
        self.assertNotEqual(new["refresh_token"], old["refresh_token"])
        # The valid token is reused, without asking Zoom again.
        self.assertEqual(connection._get_access_token(), token)
        self.assertEqual(len(self.zoom.requests(path="/oauth/token")), 2)

    def test_expired_access_token_is_refreshed_and_call_retried(self):
        connection = self.connect_zoom(self.host)
        self.zoom.expire_access_tokens(self.host.email)
        me = connection._zoom_api().get_me()
        self.assertEqual(me["email"], self.host.email)
        statuses = [r["status"] for r in self.zoom.requests(path="/v2/users/me")]
        self.assertEqual(statuses, [200, 401, 200])

    def test_invalid_grant_marks_needs_reconnect_and_tells_the_user(self):
        connection = self.connect_zoom(self.host)
        self.zoom.deauthorize(self.host.email)
        connection.sudo().token_expires_at = datetime.now() - timedelta(minutes=1)
        connection.flush_recordset()
        from ..exceptions import ZoomNeedsReconnect

        # Not assertRaises: Odoo's rolls back what the block wrote.
        raised = None
        try:
            connection._get_access_token()
        except ZoomNeedsReconnect as exc:
            raised = exc
        self.assertTrue(raised)
        connection.invalidate_recordset()
        self.assertEqual(connection.state, "needs_reconnect")
        self.assertEqual(self.host.zoom_connection_state, "needs_reconnect")
        # Nothing else is deleted: the user sees which account to reconnect.
        self.assertEqual(connection.zoom_email, self.host.email)
        self.assertTrue(connection.refresh_token)
        message = self.env["mail.message"].search(
            [("partner_ids", "in", self.host.partner_id.ids)], order="id desc", limit=1
        )
        self.assertIn("Zoom connection needs to be renewed", message.subject)
        # Reconnecting makes it work again.
        self.connect_zoom(self.host)
        self.assertEqual(self.host.zoom_connection_state, "connected")


@tagged("post_install", "-at_install")
class TestZoomDisconnect(ZoomBookingCase):
    def disconnect_over_rpc(self, user):
        """Disconnect, then confirm in the dialog that says what will happen."""
        self.authenticate(user.login, user.login)
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "res.users",
                "method": "action_zoom_disconnect",
                "args": [[user.id]],
                "kwargs": {},
            },
        )
        self.assertEqual(action["res_model"], "zoom.disconnect.wizard")
        self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "zoom.disconnect.wizard",
                "method": "action_disconnect",
                "args": [[action["res_id"]]],
                "kwargs": {},
            },
        )

    def test_disconnect_revokes_and_forgets_tokens(self):
        connection = self.connect_zoom(self.host)
        access_token = connection.access_token
        self.disconnect_over_rpc(self.host)
        self.assertFalse(connection.exists())
        self.assertEqual(self.host.zoom_connection_state, "not_connected")
        (revoke,) = self.zoom.requests(method="POST", path="/oauth/revoke")
        # As Zoom documents it: the token in the query, and Zoom took it.
        self.assertEqual(revoke["query"]["token"], access_token)
        self.assertEqual(revoke["status"], 200)
        me = requests.get(
            self.zoom.url + "/v2/users/me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=10,
        )
        self.assertEqual(me.status_code, 401)

    def test_disconnect_works_when_zoom_is_down(self):
        connection = self.connect_zoom(self.host)
        self.zoom.add_fault(method="POST", path="/oauth/revoke", action="drop")
        self.disconnect_over_rpc(self.host)
        self.assertFalse(connection.exists())

    def test_cannot_disconnect_someone_else(self):
        self.connect_zoom(self.host)
        self.authenticate(self.other_host.login, self.other_host.login)
        with self.assertRaisesRegex(Exception, "AccessError"):
            self.make_jsonrpc_request(
                "/web/dataset/call_button",
                {
                    "model": "res.users",
                    "method": "action_zoom_disconnect",
                    "args": [[self.host.id]],
                    "kwargs": {},
                },
            )
        self.assertEqual(self.host.zoom_connection_state, "connected")
