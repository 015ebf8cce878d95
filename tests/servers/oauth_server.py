"""An OAuth 2 authorization server (RFC 6749 token endpoint) with a protected, paged API, for tests.

Token endpoint `POST /oauth2/token` (also `/services/oauth2/token`): grants `refresh_token`,
`client_credentials` and `password`; client authentication by HTTP Basic (RFC 6749 §2.3.1, form-encoded
id and secret) or by `client_id`/`client_secret` in the body, never both; parameters in the form body
only, unless `accept_query=True` (Salesforce takes them in the token URL's query). Errors are the
RFC's JSON `{"error", "error_description"}` with 400, or 401 + `WWW-Authenticate` for a failed Basic
client authentication. Access tokens live `lifetime` seconds; `rotate=True` issues a new refresh token
on every refresh and invalidates the old one; `salesforce=True` answers like Salesforce (no
`expires_in`; `instance_url`, `id`, `issued_at`, `signature`; the token still expires server-side).
`POST /revoke` (RFC 7009) and `revoke()` / `revoke_access_tokens()` revoke tokens.

`GET /api/items?page=N` needs `Authorization: Bearer <valid, unexpired token>` (else 401 with
`WWW-Authenticate: Bearer error="invalid_token"`) and answers
`{"page": N, "items": [...], "next_page": N+1 | null}`.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from typing import Iterable, Mapping, Optional
from urllib.parse import unquote_plus

from werkzeug.wrappers import Request, Response

CLIENT_ID = "rsd-test-client"
CLIENT_SECRET = "client-secret-Zq8vK2pXw"
REFRESH_TOKEN = "refresh-token-initial-7hG3kLm"
USER = "alice@example.com"
PASSWORD = "alice-password-Wd4r"


class OAuthServer:
    def __init__(self, *, clients: Optional[Mapping[str, str]] = None, users: Optional[Mapping[str, str]] = None,
                 refresh_tokens: Iterable[str] = (REFRESH_TOKEN,), lifetime: float = 2.0, rotate: bool = False,
                 salesforce: bool = False, accept_query: bool = False, pages: int = 3, page_size: int = 2,
                 api_key_header: Optional[tuple[str, str]] = None):
        self.clients = dict(clients if clients is not None else {CLIENT_ID: CLIENT_SECRET})
        self.users = dict(users if users is not None else {USER: PASSWORD})
        self.lifetime = lifetime
        self.rotate = rotate
        self.salesforce = salesforce
        self.accept_query = accept_query
        self.pages = pages
        self.page_size = page_size
        self.api_key_header = api_key_header  # a header the token endpoint alone requires (OAuthTokenHeaders)
        self._lock = threading.Lock()
        self.refresh_tokens: dict[str, str] = {t: CLIENT_ID for t in refresh_tokens}
        self.access_tokens: dict[str, float] = {}  # token -> expiry (time.monotonic)
        self.token_log: list[dict] = []  # one entry per token request: grant, client auth, outcome
        self.api_log: list[tuple[int, int]] = []  # (page, status)
        self.issued: list[str] = []

    # -- test controls ----------------------------------------------------------------------------
    def revoke(self, token: str) -> None:
        with self._lock:
            self.refresh_tokens.pop(token, None)
            self.access_tokens.pop(token, None)

    def revoke_access_tokens(self) -> None:
        """Every access token stops working (a session reset by an administrator)."""
        with self._lock:
            self.access_tokens.clear()

    @property
    def token_requests(self) -> int:
        return len(self.token_log)

    @property
    def current_refresh_tokens(self) -> list[str]:
        with self._lock:
            return list(self.refresh_tokens)

    # -- WSGI -------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path in ("/oauth2/token", "/services/oauth2/token"):
            response = self._token(request)
        elif request.path == "/revoke":
            response = self._revoke(request)
        elif request.path == "/api/items":
            response = self._items(request)
        else:
            response = _json({"error": "not_found"}, 404)
        return response(environ, start_response)

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return _json({"error": "invalid_request", "error_description": "use POST"}, 405, {"Allow": "POST"})
        if self.api_key_header is not None:
            name, value = self.api_key_header
            if request.headers.get(name) != value:
                return _json({"error": "invalid_request", "error_description": f"missing {name}"}, 400)
        form = dict(request.form)
        if request.args:
            if not self.accept_query:
                return self._error(None, "invalid_request", "parameters must be sent in the request body")
            for k, v in request.args.items():
                form.setdefault(k, v)
        entry: dict = {"grant_type": form.get("grant_type"), "query": bool(request.args)}
        self.token_log.append(entry)

        # client authentication: exactly one method
        basic = request.headers.get("Authorization", "")
        body_id, body_secret = form.get("client_id"), form.get("client_secret")
        if basic.lower().startswith("basic "):
            if body_secret is not None:
                return self._error(entry, "invalid_request", "more than one client authentication method")
            try:
                pair = base64.b64decode(basic[6:].strip()).decode("utf-8")
                cid, _, csecret = pair.partition(":")
                cid, csecret = unquote_plus(cid), unquote_plus(csecret)
            except ValueError:
                return self._error(entry, "invalid_client", "malformed Basic credentials", 401, basic=True)
            entry["client_auth"] = "basic"
            if self.clients.get(cid) != csecret:
                return self._error(entry, "invalid_client", "client authentication failed", 401, basic=True)
        else:
            entry["client_auth"] = "body"
            cid, csecret = body_id, body_secret
            if cid is None or self.clients.get(cid) != csecret:
                return self._error(entry, "invalid_client", "client authentication failed", 401)
        entry["client_id"] = cid

        grant = form.get("grant_type")
        if not grant:
            return self._error(entry, "invalid_request", "grant_type is missing")
        issue_refresh: Optional[str] = None
        with self._lock:
            if grant == "refresh_token":
                old = form.get("refresh_token")
                if not old or self.refresh_tokens.get(old) != cid:
                    return self._error(entry, "invalid_grant", "expired access/refresh token")
                if self.rotate:
                    del self.refresh_tokens[old]
                    issue_refresh = "rt-" + secrets.token_urlsafe(16)
                    self.refresh_tokens[issue_refresh] = cid
            elif grant == "client_credentials":
                pass
            elif grant == "password":
                user, pw = form.get("username"), form.get("password")
                if user is None or self.users.get(user) != pw:
                    return self._error(entry, "invalid_grant", "authentication failure")
                issue_refresh = "rt-" + secrets.token_urlsafe(16)
                self.refresh_tokens[issue_refresh] = cid
            else:
                return self._error(entry, "unsupported_grant_type", f"{grant} is not supported")
            token = "at-" + secrets.token_urlsafe(24)
            self.access_tokens[token] = time.monotonic() + self.lifetime
            self.issued.append(token)
        entry["outcome"] = "ok"
        entry["scope"] = form.get("scope")
        entry["extra"] = {k: v for k, v in form.items()
                          if k not in ("grant_type", "client_id", "client_secret", "refresh_token", "username",
                                       "password", "scope")}
        if self.salesforce:
            body = {"access_token": token, "instance_url": "https://example.my.salesforce.com",
                    "id": "https://login.salesforce.com/id/00D/005", "token_type": "Bearer",
                    "issued_at": str(int(time.time() * 1000)), "signature": secrets.token_urlsafe(12)}
        else:
            body = {"access_token": token, "token_type": "Bearer",
                    "expires_in": int(self.lifetime) if float(self.lifetime).is_integer() else self.lifetime}
            if form.get("scope"):
                body["scope"] = form["scope"]
        if issue_refresh:
            body["refresh_token"] = issue_refresh
        return _json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _error(self, entry, error: str, description: str, status: int = 400, basic: bool = False) -> Response:
        if entry is not None:
            entry["outcome"] = error
        headers = {"Cache-Control": "no-store"}
        if basic:
            headers["WWW-Authenticate"] = 'Basic realm="token"'
        return _json({"error": error, "error_description": description}, status, headers)

    def _revoke(self, request: Request) -> Response:
        token = request.form.get("token")
        if token:
            self.revoke(token)
        return Response(b"", 200)

    def _items(self, request: Request) -> Response:
        try:
            page = int(request.args.get("page", "1"))
        except ValueError:
            return _json({"error": "bad page"}, 400)
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        with self._lock:
            expiry = self.access_tokens.get(token) if token else None
        if expiry is None or time.monotonic() >= expiry:
            self.api_log.append((page, 401))
            return _json({"error": "invalid_token"}, 401,
                         {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired or unknown"'})
        self.api_log.append((page, 200))
        if page < 1 or page > self.pages:
            return _json({"page": page, "items": [], "next_page": None}, 200)
        first = (page - 1) * self.page_size
        items = [{"id": first + i + 1, "name": f"item {first + i + 1}"} for i in range(self.page_size)]
        return _json({"page": page, "items": items, "next_page": page + 1 if page < self.pages else None}, 200)


def _json(body: dict, status: int, headers: Optional[dict] = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")
