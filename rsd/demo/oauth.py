"""The demo API's OAuth 2 side: the token endpoint (RFC 6749) and the bearer check of the data endpoints.

Owns: the demo credentials (public constants of a local demo, `DEMO_*`), issuing, expiring and revoking access
tokens, the token endpoint's grants (`refresh_token`, `client_credentials`, `password`), client authentication in
the body or with HTTP Basic, and RFC 6749 errors (`TokenEndpoint`, mixed into `DemoServer`). Must not: serve data
(that is `api.py`), or import anything outside the standard library.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from .api import DemoStats, HttpResponse

# Demo credentials. They are public constants of a local demo, not secrets; the samples still read them through
# ${env:...} references so that they show how real secrets are passed.
DEMO_CLIENT_ID = "rsd-demo"
DEMO_CLIENT_SECRET = "rsd-demo-secret"
DEMO_REFRESH_TOKEN = "rsd-demo-refresh-token"
DEMO_USER = "demo@example.com"
DEMO_PASSWORD = "rsd-demo-password"

#: Environment variable name -> demo value, as the samples' options file and job expect them.
DEMO_ENV_VARS = {
    "RSD_DEMO_CLIENT_ID": DEMO_CLIENT_ID,
    "RSD_DEMO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
    "RSD_DEMO_REFRESH_TOKEN": DEMO_REFRESH_TOKEN,
    "RSD_DEMO_PASSWORD": DEMO_PASSWORD,
}


class TokenEndpoint:
    """Tokens and the token endpoint of `DemoServer` (a mixin: the server holds the state below)."""

    token_lifetime: float
    stats: DemoStats
    _lock: threading.Lock
    _tokens: dict[str, float]  # access token -> expiry (time.monotonic())
    _signing_key: bytes

    def issue_token(self, lifetime: float | None = None) -> str:
        """A valid access token without going through the token endpoint (counted in ``stats.tokens_issued``)."""
        token = "00DDEMO!" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + (self.token_lifetime if lifetime is None else lifetime)
            self.stats.tokens_issued += 1
        return token

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (the next data request gets a 401)."""
        with self._lock:
            self._tokens.clear()

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    # -- the token endpoint --------------------------------------------------------------------------------------------

    def _token(self, authorization: str | None, content_type: str | None, base_url: str, query: dict[str, str],
               body: bytes) -> tuple[int, dict[str, Any], dict[str, Any]]:
        """`POST /services/oauth2/token` -> (status, document, headers); `base_url` is this server as the client
        addressed it (the token's `instance_url`)."""
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            params = dict(query)
            if body:
                ctype = (content_type or "").split(";")[0].strip().lower()
                if ctype != "application/x-www-form-urlencoded":
                    raise _oauth_error(400, "invalid_request",
                                       f"expected an application/x-www-form-urlencoded body, got {ctype or 'none'!r}")
                try:
                    params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
                except UnicodeDecodeError:
                    raise _oauth_error(400, "invalid_request", "the body is not UTF-8") from None
            self._authenticate_client(authorization, params)
            grant = params.get("grant_type")
            if not grant:
                raise _oauth_error(400, "invalid_request", "grant_type is required")
            if grant == "refresh_token":
                if not params.get("refresh_token"):
                    raise _oauth_error(400, "invalid_request", "refresh_token is required")
                if not hmac.compare_digest(params["refresh_token"], DEMO_REFRESH_TOKEN):
                    raise _oauth_error(400, "invalid_grant", "expired access/refresh token")
            elif grant == "password":
                if not params.get("username") or "password" not in params:
                    raise _oauth_error(400, "invalid_request", "username and password are required")
                if params["username"] != DEMO_USER or not hmac.compare_digest(params["password"], DEMO_PASSWORD):
                    raise _oauth_error(400, "invalid_grant", "authentication failure")
            elif grant != "client_credentials":
                raise _oauth_error(400, "unsupported_grant_type", f"grant type {grant!r} is not supported")
        except HttpResponse as exc:
            with self._lock:
                self.stats.token_errors += 1
            if exc.status == 401:
                # RFC 6749 §5.2: a 401 names the scheme the client can authenticate with.
                headers["WWW-Authenticate"] = 'Basic realm="rsd-demo"'
            return exc.status, exc.body, headers
        token = self.issue_token()
        issued_ms = str(int(time.time() * 1000))
        instance_url = base_url
        signature = base64.b64encode(
            hmac.new(self._signing_key, f"{instance_url}{issued_ms}".encode(), hashlib.sha256).digest()).decode()
        doc: dict[str, Any] = {
            "access_token": token,
            "instance_url": instance_url,
            "id": f"{instance_url}/id/00DDEMO/005DEMO",
            "token_type": "Bearer",
            "issued_at": issued_ms,
            "signature": signature,
            "expires_in": max(1, math.ceil(self.token_lifetime)),
        }
        if params.get("scope"):
            doc["scope"] = params["scope"]
        return 200, doc, headers

    @staticmethod
    def _authenticate_client(authorization: str | None, params: dict[str, str]) -> None:
        """Check the client's credentials, sent with HTTP Basic or as client_id/client_secret parameters."""
        basic = None
        if authorization and authorization[:6].lower() == "basic ":
            try:
                user, sep, password = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _oauth_error(401, "invalid_client", "malformed Basic credentials") from None
            if not sep:
                raise _oauth_error(401, "invalid_client", "malformed Basic credentials")
            # RFC 6749 §2.3.1: the Basic user and password are form-urlencoded.
            basic = (unquote_plus(user), unquote_plus(password))
        if basic is not None:
            if "client_secret" in params:
                raise _oauth_error(400, "invalid_request", "use one client authentication method, not Basic and body")
            if params.get("client_id") not in (None, basic[0]):
                raise _oauth_error(400, "invalid_request", "client_id differs from the Basic user")
            client_id: str = basic[0]
            client_secret: str | None = basic[1]
        else:
            client_id, client_secret = params.get("client_id") or "", params.get("client_secret")
        if not client_id:
            raise _oauth_error(401, "invalid_client", "client authentication failed: no client_id")
        if client_id != DEMO_CLIENT_ID or client_secret is None or \
                not hmac.compare_digest(client_secret, DEMO_CLIENT_SECRET):
            raise _oauth_error(401, "invalid_client", "invalid client credentials")

    # -- the bearer check of /api/ -------------------------------------------------------------------------------------

    def _check_bearer(self, authorization: str | None) -> None:
        reason = None
        if not authorization:
            reason = "missing bearer token"
        elif authorization[:7].lower() != "bearer ":
            reason = "the Authorization header is not a bearer token"
        else:
            token = authorization[7:].strip()
            with self._lock:
                expiry = self._tokens.get(token)
            if expiry is None:
                reason = "unknown or revoked token"
            elif time.monotonic() >= expiry:
                reason = "the access token expired"
        if reason:
            with self._lock:
                self.stats.auth_failures += 1
            raise HttpResponse(401, {"error": "invalid_token", "error_description": reason},
                                {"WWW-Authenticate": f'Bearer realm="rsd-demo", error="invalid_token", '
                                                     f'error_description="{reason}"'})


def _oauth_error(status: int, error: str, description: str) -> HttpResponse:
    return HttpResponse(status, {"error": error, "error_description": description})
