"""Zoom refresh tokens rotate: workers racing for a fresh token refresh once."""

import threading
from datetime import datetime, timedelta

import requests

from odoo import api
from odoo.tests import TransactionCase, tagged

from .common import CLIENT_ID, CLIENT_SECRET, get_zoom_double


@tagged("post_install", "-at_install")
class TestConcurrentRefresh(TransactionCase):
    """Real transactions in real threads, on committed data."""

    def setUp(self):
        super().setUp()
        self.zoom = get_zoom_double()
        self.zoom.reset()
        self.addCleanup(self.zoom.reset)
        email = "racing.host@example.com"
        self.zoom.add_user(email)
        self.zoom.set_authorizing_user(email)
        tokens = self._tokens_from_zoom()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            params = env["ir.config_parameter"]
            self.saved_params = {
                key: params.get_param(key)
                for key in (
                    "zoom_booking.client_id",
                    "zoom_booking.client_secret",
                    "zoom_booking.oauth_base_url",
                    "zoom_booking.api_base_url",
                )
            }
            params.set_param("zoom_booking.client_id", CLIENT_ID)
            params.set_param("zoom_booking.client_secret", CLIENT_SECRET)
            params.set_param("zoom_booking.oauth_base_url", self.zoom.url)
            params.set_param("zoom_booking.api_base_url", self.zoom.url + "/v2")
            user = env["res.users"].create(
                {"name": "Racing Host", "login": "zb_racing_host", "email": email}
            )
            connection = env["zoom.connection"].create(
                {
                    "user_id": user.id,
                    "zoom_email": email,
                    "access_token": tokens["access_token"],
                    "refresh_token": tokens["refresh_token"],
                    "token_expires_at": datetime.now() + timedelta(seconds=10),
                }
            )
            self.user_id, self.connection_id = user.id, connection.id
        self.addCleanup(self._remove_committed_data)

    def _tokens_from_zoom(self):
        redirect = self.zoom.approve(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": "http://127.0.0.1/cb",
                "state": "s",
            }
        )
        code = redirect.split("code=")[1].split("&")[0]
        response = requests.post(
            self.zoom.url + "/oauth/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://127.0.0.1/cb",
            },
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def _remove_committed_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["zoom.connection"].browse(self.connection_id).unlink()
            env["res.users"].browse(self.user_id).unlink()
            params = env["ir.config_parameter"]
            for key, value in self.saved_params.items():
                params.set_param(key, value or False)

    def test_twenty_workers_one_refresh(self):
        self.zoom.clear_requests()
        tokens, errors = [], []
        barrier = threading.Barrier(20)

        def worker():
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, self.user_id, {})
                    connection = env["zoom.connection"].browse(self.connection_id)
                    barrier.wait(timeout=10)
                    tokens.append(connection._get_access_token())
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))

        threads = [threading.Thread(target=worker) for _i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(tokens), 20)
        self.assertEqual(len(set(tokens)), 1, "every worker got the same new token")
        refreshes = self.zoom.requests(method="POST", path="/oauth/token")
        self.assertEqual(len(refreshes), 1)
        self.assertEqual(refreshes[0]["status"], 200)
        # The connection still works: its stored refresh token is the live one.
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            connection = env["zoom.connection"].browse(self.connection_id)
            self.assertEqual(connection.state, "connected")
            token = connection._get_access_token(force_refresh=True)
            self.assertNotEqual(token, tokens[0])
