"""Authentication of a run's requests: OAuth 2 token grants, a given bearer token, HTTP Basic
(docs/reference/contract.md §4).

Owns: talking to the token endpoint (RFC 6749 form POST, or the
Salesforce style with the parameters in the token URL's query), keeping the access token fresh
(shortly before `expires_in` runs out, and once on a 401), rotated refresh tokens (used for the rest of
the run; written back atomically to the file a `${file:PATH}` reference read them from), and turning
token-endpoint refusals into `AuthError` (exit 2). Every credential and token goes to the redactor.
Must not: know the profile, send API requests itself, or show a credential.

An auth object has `apply(headers)` (sets the Authorization header, obtaining a token first if
needed), `on_unauthorized(sent_headers) -> bool` (a 401 came back: may the request be sent again?)
and `refreshes` (tokens obtained in this run).
"""
from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, MutableMapping, Optional
from urllib.parse import parse_qsl, quote_plus, urlencode

from ..atomic import write_atomically
from ..errors import AuthError, HttpError, OptionError
from .redact import Redactor

if TYPE_CHECKING:
    import requests

    from .client import HttpClient

#: OAuthGrantType (CData spelling, and the RFC 6749 names) -> grant_type
GRANT_TYPES = {
    "refresh": "refresh_token", "refresh_token": "refresh_token",
    "client": "client_credentials", "client_credentials": "client_credentials",
    "password": "password",
}
#: refresh this long before expiry at most; for short-lived tokens, half their lifetime
REFRESH_MARGIN = 30.0


def _margin(lifetime: float) -> float:
    return min(REFRESH_MARGIN, lifetime / 2.0)


# -- the token endpoint ------------------------------------------------------------------------------
@dataclass
class TokenEndpoint:
    """Where and how to ask for tokens: URL, client credentials and where they go."""

    url: str
    client_id: Optional[str] = None
    client_secret: Optional[str] = None
    client_auth: str = "body"  # body | basic
    params_in: str = "body"  # body | query
    scope: Optional[str] = None
    extra: list[tuple[str, str]] = field(default_factory=list)  # OAuthParams
    headers: list[tuple[str, str]] = field(default_factory=list)  # OAuthTokenHeaders

    def __post_init__(self) -> None:
        self.client_auth = (self.client_auth or "body").strip().lower()
        self.params_in = (self.params_in or "body").strip().lower()
        if self.client_auth not in ("body", "basic"):
            raise OptionError(f"option OAuthClientAuth must be body or basic, not {self.client_auth!r}")
        if self.params_in not in ("body", "query"):
            raise OptionError(f"option OAuthParamsIn must be body or query, not {self.params_in!r}")
        if not self.url or not self.url.strip():
            raise OptionError("OAuth needs the token endpoint: set the option OAuthAccessTokenURL")

    def request(self, client: HttpClient, grant_type: str, fields: Iterable[tuple[str, Optional[str]]],
                redactor: Redactor) -> dict[str, Any]:
        """One token request; returns the token response (a dict with `access_token`) or raises."""
        form: list[tuple[str, str]] = [("grant_type", grant_type)]
        form += [(k, v) for k, v in fields if v is not None]
        if self.scope:
            form.append(("scope", self.scope))
        form += list(self.extra)
        headers = [("Accept", "application/json")]
        if self.client_auth == "basic":
            pair = f"{quote_plus(self.client_id or '')}:{quote_plus(self.client_secret or '')}"
            encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
            redactor.add(encoded)
            headers.append(("Authorization", f"Basic {encoded}"))
        else:
            if self.client_id:
                form.append(("client_id", self.client_id))
            if self.client_secret:
                form.append(("client_secret", self.client_secret))
        headers += list(self.headers)
        if self.params_in == "query":
            data, params = None, form
        else:
            data, params = urlencode(form), None
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        from .client import TOKEN_RETRY_STATUSES, html_page
        resp = client.request("POST", self.url, headers=headers, data=data, params=params, use_auth=False,
                              retry_on=TOKEN_RETRY_STATUSES, raise_for_status=False, token_endpoint=True)
        payload = _parse_token_body(resp)
        for key in ("access_token", "refresh_token", "id_token"):
            if payload.get(key):
                redactor.add(str(payload[key]))
        shown = redactor.redact_url(self.url)
        what = f"OAuth token request ({grant_type} grant) to {shown}"
        status = resp.status_code
        if status >= 400 or payload.get("error"):
            error = redactor.redact(str(payload.get("error") or "")).strip()
            desc = redactor.redact(str(payload.get("error_description") or "")).strip()
            detail = ": ".join(x for x in (error, desc) if x)
            page = html_page(resp)
            if not detail and page is not None:
                detail = redactor.redact(page)
            elif not detail:
                raw = resp.content[:2000].decode("utf-8", errors="replace")
                detail = " ".join(redactor.redact(raw).split())[:300] or "(empty body)"
            message = f"{what} failed: HTTP {status}: {detail}"
            hint = _hint(error, grant_type) or _endpoint_hint(status, page)
            if status in (429,) or status >= 500:
                raise HttpError(message, status=status, url=shown, hint=hint)
            raise AuthError(message, hint=hint)
        if not payload.get("access_token"):
            page = html_page(resp)
            raise AuthError(f"{what}: HTTP {status} without an access_token in the response"
                            + (f" (the response is {redactor.redact(page)})" if page is not None else ""),
                            hint=_endpoint_hint(status, page))
        return payload


def _parse_token_body(resp: requests.Response) -> dict[str, Any]:
    body = resp.content or b""
    try:
        value = json.loads(body.decode("utf-8"))
        return value if isinstance(value, dict) else {}
    except (UnicodeDecodeError, ValueError):
        pass
    ctype = resp.headers.get("Content-Type", "")
    if "x-www-form-urlencoded" in ctype or b"access_token=" in body or b"error=" in body:
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            return {}
    return {}


def _endpoint_hint(status: int, page: Optional[str]) -> Optional[str]:
    """A token URL that is not a token endpoint: nothing there (404), or a web page."""
    if status == 404:
        return ("check OAuthAccessTokenURL (a job's token_url): nothing at that address takes token requests; it is "
                "the provider's token endpoint, such as https://login.salesforce.com/services/oauth2/token")
    if page is not None:
        return ("OAuthAccessTokenURL (a job's token_url) points at a web page, not at a token endpoint: use the "
                "provider's token endpoint, such as https://login.salesforce.com/services/oauth2/token")
    return None


def _hint(error: str, grant_type: str) -> Optional[str]:
    e = error.lower()
    if e == "invalid_client":
        return "check OAuthClientId and OAuthClientSecret, and whether the endpoint wants them in the body or " \
               "as Basic credentials (OAuthClientAuth=body|basic)"
    if e == "invalid_grant" and grant_type == "refresh_token":
        return "the refresh token is expired, revoked or was already used (rotated); obtain a new one"
    if e == "invalid_grant" and grant_type == "password":
        return "check User and Password"
    if e == "unsupported_grant_type":
        return "the endpoint does not offer this grant: check OAuthGrantType"
    if e == "invalid_scope":
        return "check Scope"
    return None


# -- auth objects ------------------------------------------------------------------------------------
class BearerAuth:
    """A given token (`OAuthAccessToken`) sent as `Authorization: Bearer <token>`; never refreshed."""

    refreshes = 0

    def __init__(self, token: str, redactor: Optional[Redactor] = None):
        self.token = token
        if redactor is not None:
            redactor.add(token)

    def apply(self, headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self.token}"

    def on_unauthorized(self, sent_headers: Optional[Mapping[str, str]]) -> bool:
        return False

    def describe(self) -> str:
        return "Bearer token (OAuthAccessToken)"


class BasicAuth:
    """HTTP Basic credentials (`AuthScheme=Basic`, `User`, `Password`)."""

    refreshes = 0

    def __init__(self, user: str, password: str, redactor: Optional[Redactor] = None):
        self._value = "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
        if redactor is not None:
            redactor.add_basic(user, password)

    def apply(self, headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = self._value

    def on_unauthorized(self, sent_headers: Optional[Mapping[str, str]]) -> bool:
        return False

    def describe(self) -> str:
        return "HTTP Basic (User/Password)"


class OAuth2Auth:
    """OAuth 2 access tokens from a token endpoint, kept fresh for the whole run. Thread-safe.

    Without `expires_in` (Salesforce) the token is used until a 401. A refresh token the endpoint
    rotates replaces the old one; when the old one came from a file, the file is rewritten.
    """

    def __init__(self, endpoint: TokenEndpoint, grant_type: str, *, client: Optional[HttpClient] = None,
                 redactor: Optional[Redactor] = None,
                 refresh_token: Optional[str] = None, username: Optional[str] = None,
                 password: Optional[str] = None, refresh_token_file: Optional[Path] = None,
                 access_token: Optional[str] = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoint = endpoint
        self.grant_type = GRANT_TYPES.get(grant_type.lower(), grant_type)
        self.client = client
        self.redactor = redactor if redactor is not None else Redactor()
        self.refresh_token = refresh_token
        self.username = username
        self.password = password
        self.refresh_token_file = Path(refresh_token_file) if refresh_token_file else None
        self.clock = clock
        self._lock = threading.Lock()
        self._token: Optional[str] = access_token or None
        self._refresh_at: Optional[float] = None
        self.expires_at: Optional[float] = None
        self.refreshes = 0  # tokens obtained in this run
        self.rotations = 0  # refresh tokens the endpoint replaced
        self.instance_url: Optional[str] = None  # Salesforce
        #: the latest token response (a job's oauth2 step sets variables from it)
        self.last_response: dict[str, Any] = {}
        self.obtained_at: Optional[float] = None  # clock() when the latest token was obtained
        self.warnings: list[str] = []
        for secret in (endpoint.client_secret, refresh_token, password, access_token):
            self.redactor.add(secret)
        if self.grant_type == "refresh_token" and not refresh_token:
            raise OptionError("OAuthGrantType=REFRESH needs the option OAuthRefreshToken")
        if self.grant_type == "password" and not username:
            raise OptionError("OAuthGrantType=PASSWORD needs the options User and Password")

    # -- the auth interface ---------------------------------------------------------------------
    def apply(self, headers: MutableMapping[str, str]) -> None:
        headers["Authorization"] = f"Bearer {self.access_token()}"

    def on_unauthorized(self, sent_headers: Optional[Mapping[str, str]]) -> bool:
        """The API answered 401: refresh (unless another thread already did) and send once more."""
        sent = sent_headers.get("Authorization") if sent_headers is not None else None
        with self._lock:
            if self._token is not None and sent != f"Bearer {self._token}":
                return True
            self._obtain()
            return True

    def access_token(self) -> str:
        """A token that is not about to expire, obtained now if needed."""
        token = self._token
        if token is not None and not self._due():
            return token
        with self._lock:
            if self._token is None or self._due():
                self._obtain()
            assert self._token is not None  # _obtain sets it or raises
            return self._token

    def describe(self) -> str:
        return f"OAuth 2 {self.grant_type} grant"

    # -- internals ------------------------------------------------------------------------------
    def _due(self) -> bool:
        return self._refresh_at is not None and self.clock() >= self._refresh_at

    def _obtain(self) -> None:
        if self.client is None:
            from .client import HttpClient
            self.client = HttpClient(redactor=self.redactor)
        fields: list[tuple[str, Optional[str]]]
        if self.grant_type == "client_credentials":
            grant, fields = "client_credentials", []
        elif self.refresh_token:
            # also after a password grant that issued a refresh token (RFC 6749 §6)
            grant, fields = "refresh_token", [("refresh_token", self.refresh_token)]
        elif self.grant_type == "password":
            grant, fields = "password", [("username", self.username), ("password", self.password or "")]
        else:
            grant, fields = self.grant_type, []
        started = self.clock()
        payload = self.endpoint.request(self.client, grant, fields, self.redactor)
        self._token = str(payload["access_token"])
        self.last_response = payload
        self.obtained_at = started
        self.refreshes += 1
        lifetime = _seconds(payload.get("expires_in"))
        if lifetime is not None and lifetime > 0:
            self.expires_at = started + lifetime
            self._refresh_at = self.expires_at - _margin(lifetime)
        else:
            self.expires_at = self._refresh_at = None  # until a 401 says otherwise
        if payload.get("instance_url"):
            self.instance_url = str(payload["instance_url"])
        new_refresh = payload.get("refresh_token")
        if new_refresh and str(new_refresh) != self.refresh_token:
            self._rotate(str(new_refresh))

    def _rotate(self, new_refresh: str) -> None:
        had_one = self.refresh_token is not None
        self.refresh_token = new_refresh
        if not had_one:
            return  # first refresh token of a password grant: nothing to keep
        self.rotations += 1
        if self.refresh_token_file is None:
            self._warn("the token endpoint rotated the refresh token; the new one is used for this run only "
                       "(give OAuthRefreshToken as ${file:PATH} to have rsd write it back)")
            return
        try:
            write_secret_file(self.refresh_token_file, new_refresh)
        except OSError as e:
            self._warn(f"the token endpoint rotated the refresh token but {self.refresh_token_file} could not be "
                       f"rewritten ({e.strerror or type(e).__name__}); the next run will need a new refresh token")

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
            trace = getattr(self.client, "trace", None)
            if trace is not None:
                trace("warning: " + text)


def _seconds(value: object) -> Optional[float]:
    if value is None or value == "":
        return None
    try:
        return float(value)  # type: ignore[arg-type]  # expires_in as the endpoint sent it: failures are caught
    except (TypeError, ValueError):
        return None


def write_secret_file(path: Path, value: str) -> None:
    """Replace the file's content with `value` (rsd/atomic.py: whole or nothing, its mode kept, a new file 0600,
    a symlink's target replaced), keeping its trailing-newline style."""
    target = Path(os.path.realpath(path))
    try:
        old = target.read_bytes()
    except FileNotFoundError:
        old = b""
    newline = b"\r\n" if old.endswith(b"\r\n") else (b"\n" if old.endswith(b"\n") else b"")
    write_atomically(target, value.encode("utf-8") + newline)


def job_oauth2(*, token_url: str, grant_type: str = "refresh_token", client_id: Optional[str] = None,
               client_secret: Optional[str] = None, refresh_token: Optional[str] = None,
               username: Optional[str] = None, password: Optional[str] = None, scope: Optional[str] = None,
               client_auth: str = "body", params_in: str = "body",
               extra: Optional[Iterable[tuple[str, str]]] = None, headers: Optional[Iterable[tuple[str, str]]] = None,
               redactor: Optional[Redactor] = None, client: Optional[HttpClient] = None) -> OAuth2Auth:
    """The auth of a job's `oauth2` step (its fields as keywords): call `access_token()` to obtain the token, read
    `last_response`; query steps that name the step (`auth = "token"`) share it, so it is refreshed for them."""
    redactor = redactor if redactor is not None else Redactor()
    for secret in (client_secret, refresh_token, password):
        redactor.add(secret)
    grant = GRANT_TYPES.get(str(grant_type).strip().lower())
    if grant is None:
        raise OptionError(f"grant_type must be refresh_token, client_credentials or password, not {grant_type!r}")
    if grant == "refresh_token" and not refresh_token:
        raise OptionError("the refresh_token grant needs refresh_token")
    if grant == "password" and not username:
        raise OptionError("the password grant needs username and password")
    extra_pairs = list(extra.items()) if isinstance(extra, Mapping) else list(extra or [])
    header_pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    endpoint = TokenEndpoint(url=token_url, client_id=client_id, client_secret=client_secret,
                             client_auth=client_auth, params_in=params_in, scope=scope,
                             extra=[(str(k), str(v)) for k, v in extra_pairs],
                             headers=[(str(k), str(v)) for k, v in header_pairs])
    return OAuth2Auth(endpoint, grant, client=client, redactor=redactor, refresh_token=refresh_token,
                      username=username, password=password)


def request_token(*, client: Optional[HttpClient] = None, redactor: Optional[Redactor] = None,
                  **fields: Any) -> dict[str, Any]:
    """One token request outside a run: returns the token response as a dict (`fields` as for `job_oauth2`)."""
    redactor = redactor if redactor is not None else Redactor()
    own_client = client is None
    if own_client:
        from .client import HttpClient
        client = HttpClient(redactor=redactor)
    try:
        auth = job_oauth2(client=client, redactor=redactor, **fields)
        auth.access_token()
        return auth.last_response
    finally:
        if own_client and client is not None:
            client.close()
