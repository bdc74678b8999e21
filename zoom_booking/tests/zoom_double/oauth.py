"""Zoom's OAuth routes: the authorization screen, tokens, revocation."""

import base64
import hashlib
import hmac
import html
import secrets
from urllib.parse import parse_qsl

from .common import (
    ALLOW_BUTTON,
    AUTHORIZE_CSS,
    CODE_TTL,
    DENY_BUTTON,
    SCOPE,
    SCOPE_WORDS,
    _html_response,
    _json_response,
    _oauth_error,
    _Response,
)


class OAuthRoutes:
    """The OAuth routes of the double's request handler."""

    # ---------------------------------------------------------------- oauth
    def _authorize_page(self, params):
        double = self.double
        try:
            double._check_authorize_params(params)
        except ValueError as exc:
            return self._oauth_html_error(str(exc))
        with double._lock:
            email = double._users[double._authorizing_email]["email"]
        esc = html.escape
        hidden = "\n".join(
            f'    <input type="hidden" name="{esc(k)}" value="{esc(v)}">'
            for k, v in params.items()
            if k
            in (
                "response_type",
                "client_id",
                "redirect_uri",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
        )
        scopes = "\n".join(
            f'      <li data-scope="{esc(scope)}">'
            f"{esc(SCOPE_WORDS.get(scope, scope))}</li>"
            for scope in SCOPE.split()
        )
        page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8">
<title>Authorize {esc(double.app_name)} - Zoom (sandbox)</title>
<style>{AUTHORIZE_CSS}</style></head>
<body>
  <header><span class="logo">zoom</span> <span class="sandbox">sandbox</span></header>
  <main>
  <form method="post" action="/oauth/authorize" id="zoom-authorize-form">
{hidden}
    <h1 id="zoom-app"><strong>{esc(double.app_name)}</strong> would like to access
    your Zoom account</h1>
    <p class="muted">Client ID <code>{esc(params["client_id"])}</code></p>
    <label for="zoom-email">Zoom account</label>
    <input type="email" id="zoom-email" name="zoom_email" value="{esc(email)}"
           required autocomplete="email">
    <p id="zoom-user" class="muted">Signed in as <strong>{esc(email)}</strong>.
    Type another address to sign in as another Zoom user of this sandbox.</p>
    <p>By authorizing, you allow this app to:</p>
    <ul id="zoom-scopes">
{scopes}
    </ul>
    <div class="buttons">
    {DENY_BUTTON}
    {ALLOW_BUTTON}
    </div>
  </form>
  </main>
</body>
</html>
"""
        return _html_response(200, page)

    def _oauth_html_error(self, message):
        page = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            "<title>Zoom (test double)</title></head><body>"
            "<h1>Zoom (test double)</h1>"
            f'<p id="zoom-error">Invalid authorization request: '
            f"{html.escape(message)}</p></body></html>\n"
        )
        return _html_response(400, page)

    def _authorize_post(self, body):
        text = body.decode("utf-8", "replace")
        params = dict(parse_qsl(text, keep_blank_values=True))
        decision = params.pop("decision", None)
        # Who signs in on the screen (the signed-in user when left as is).
        email = params.pop("zoom_email", "").strip()
        if decision not in ("allow", "deny"):
            return self._oauth_html_error("Missing decision")
        if email and "@" not in email:
            return self._oauth_html_error("Invalid email address")
        try:
            location = self.double._decide(
                params, decision == "allow", email=email or None
            )
        except ValueError as exc:
            return self._oauth_html_error(str(exc))
        return _Response(302, b"", {"Location": location, "Content-Type": "text/html"})

    def _client_ok(self):
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        double = self.double
        return hmac.compare_digest(
            client_id.encode(), double.client_id.encode()
        ) and hmac.compare_digest(secret.encode(), double.client_secret.encode())

    def _form(self, body):
        ctype = self.headers.get("Content-Type", "").lower()
        if "application/x-www-form-urlencoded" not in ctype:
            return {}
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def _token(self, body):
        if not self._client_ok():
            return _oauth_error(
                401, "invalid_client", "Invalid client_id or client_secret"
            )
        form = self._form(body)
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "Missing grant type")
        if grant_type == "authorization_code":
            return self._token_from_code(form)
        if grant_type == "refresh_token":
            return self._token_from_refresh(form)
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type")

    def _token_from_code(self, form):
        double = self.double
        invalid = _oauth_error(400, "invalid_grant", "Invalid authorization code")
        with double._lock:
            code = double._codes.get(form.get("code", ""))
            if code is None:
                return invalid
            if double.now() - code["issued_at"] > CODE_TTL:
                double._codes.pop(form["code"], None)
                return invalid
            if form.get("redirect_uri") != code["redirect_uri"]:
                return invalid
            if code["code_challenge"]:
                verifier = form.get("code_verifier", "")
                computed = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .decode()
                    .rstrip("=")
                )
                if not verifier or not hmac.compare_digest(
                    computed, code["code_challenge"]
                ):
                    return invalid
            del double._codes[form["code"]]  # single use
            double._revoke_user_locked(code["email"])  # re-authorizing
            gid = secrets.token_hex(8)
            double._grants[gid] = {
                "email": code["email"],
                "access_tokens": [],
                "refresh_token": None,
                # What the app is granted in the Marketplace, whatever it asks.
                "scopes": " ".join(str(double.granted_scopes or "").split()),
            }
            data = double._issue_locked(gid)
        return _json_response(200, data, {"Cache-Control": "no-store"})

    def _token_from_refresh(self, form):
        double = self.double
        with double._lock:
            gid = double._refresh.get(form.get("refresh_token", ""))
            grant = double._grants.get(gid) if gid else None
            if grant is None or double.now() >= grant["refresh_expires_at"]:
                return _oauth_error(400, "invalid_grant", "Invalid Token!")
            data = double._issue_locked(gid)  # rotates: the old one dies now
        return _json_response(200, data, {"Cache-Control": "no-store"})

    def _revoke(self, body, query=None):
        """Zoom documents ``POST /oauth/revoke?token=...``; whether it also
        reads a form body is unconfirmed (config ``revoke_accepts_form_body``)."""
        if not self._client_ok():
            return _oauth_error(
                401, "invalid_client", "Invalid client_id or client_secret"
            )
        token = (query or {}).get("token")
        if not token and self.double.revoke_accepts_form_body:
            token = self._form(body).get("token")
        if not token:
            return _oauth_error(400, "invalid_request", "Missing token")
        double = self.double
        with double._lock:
            entry = double._access.get(token)
            gid = entry["grant"] if entry else double._refresh.get(token)
            if gid:
                double._drop_grant_locked(gid)
        return _json_response(200, {"status": "success"})
