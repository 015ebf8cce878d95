"""The HTTP client of one run: one `requests.Session`, timeouts, retries with backoff, `Retry-After`.

Owns: sending a request and returning a complete `requests.Response` or raising `HttpError` with one
redacted paragraph naming the request (method, URL, page) and what went wrong; retrying 429, 502,
503, 504, connection errors, timeouts and truncated bodies with jittered exponential backoff bounded
by `max_backoff` (a `Retry-After` header, in seconds or as an HTTP date, is honoured, also bounded);
asking the `auth` object for its header before each request and letting it refresh once on a 401;
following redirects hop by hop, each through the trust policy (`policy.py`: a request to an origin that
is not trusted carries no credential, a token endpoint's redirects are never followed);
the counters (`requests`, `retries`, `bytes`) and the `--verbose` trace. Thread-safe: the workers of a run
share one client (one session, its connection pool sized to the run's concurrency, counters under a lock), and
every request that goes on the wire (each redirect hop, retries and token requests included) passes the run's
`Budget` (`ratelimit.py`: concurrency, rate, the shared pause on 429 and on 503 with `Retry-After`); a budget slot
is held only while bytes move, never while a token is obtained. Must not: know the profile,
let a `requests` exception escape, or put an unredacted URL or `requests`' own messages (which
contain the URL) into an error or a trace line.

Retries apply to every method: rsd's requests read data (a POST is how some APIs take a query). Write-back
turns that off per request for methods that are not idempotent (`retry_after_send=False`).
"""
from __future__ import annotations

import email.utils
import random
import re
import socket
import ssl
import threading
import time
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, MutableMapping, Optional, Protocol, Union
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests
from requests.adapters import DEFAULT_POOLSIZE
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from requests.structures import CaseInsensitiveDict

from ..errors import AuthError, HttpError
from ..secrets import header_credential, is_secret_header_name, is_secret_query_name
from .body import ACCEPT_ENCODING, DEFAULT_MAX_RESPONSE_BYTES, BadEncoding, BodyCut, BodyTooLarge, read_body
from .methods import UNPROCESSED_STATUSES
from .policy import ALLOW_ORIGIN, TrustPolicy, origin_of, show_origin
from .ratelimit import Budget
from .redact import Redactor
from .transport import Deadline, TransportAdapter, attach

#: query parameter names that carry a paging position (a cursor), whatever else they say ("token")
_PAGING_WORD = re.compile(r"page|cursor|next|continu|marker|scroll", re.I)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: failures of a request that never reached the server (`_root_reason` texts)
_NEVER_CONNECTED = frozenset({"connection refused", "cannot resolve the host name"})
#: what a token endpoint is retried on: server errors and the network only (no storms of credential attempts)
TOKEN_RETRY_STATUSES = frozenset({500, 502, 503, 504})
USER_AGENT = "rsd/0.1"
#: redirects rsd follows (itself, hop by hop through the trust policy) before giving up
MAX_REDIRECTS = 30
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

HeadersArg = Union[Mapping[str, str], Iterable[tuple[str, str]], None]
ParamsArg = Union[Mapping[str, str], Iterable[tuple[str, str]], None]
#: a request body: text (sent as UTF-8) or bytes
Body = Union[str, bytes, None]


class Auth(Protocol):
    """What authenticates a run's requests (`rsd.http.auth`: `OAuth2Auth`, `BasicAuth`, `BearerAuth`)."""

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Add the credential to a request's headers."""

    def on_unauthorized(self, sent_headers: Optional[Mapping[str, str]]) -> bool:
        """After a 401: whether a new credential was obtained (then the request is sent again)."""


class _Transient(Exception):
    """A failed attempt worth retrying; `reason` is already safe to show. `sent`: the request may have reached
    the server (False only when no connection was made)."""

    def __init__(self, reason: str, sent: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


class _Sent:
    """What an attempt sent: the first hop's headers (for a 401 refresh), and whether the last hop was trusted and
    had credentials withheld."""

    __slots__ = ("first_headers", "trusted", "withheld")

    def __init__(self) -> None:
        self.first_headers: Optional[CaseInsensitiveDict[str]] = None
        self.trusted = False
        self.withheld = False


class HttpClient:
    """One per run. `request()` returns a response with its whole body read, or raises `HttpError`."""

    def __init__(self, *, timeout: Optional[float] = 60, max_retries: int = 5, backoff: float = 0.5,
                 max_backoff: float = 30, redactor: Optional[Redactor] = None, auth: Optional[Auth] = None,
                 proxies: Optional[Mapping[str, str]] = None, trace: Optional[Callable[[str], None]] = None,
                 headers: HeadersArg = (), verify: Union[bool, str] = True,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 policy: Optional[TrustPolicy] = None, transport: Optional[requests.adapters.BaseAdapter] = None,
                 budget: Optional[Budget] = None, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.timeout = timeout if timeout else None  # 0 / None: wait for ever (CData's Timeout=0)
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.redactor = redactor if redactor is not None else Redactor()
        self.auth = auth
        self.proxies = dict(proxies) if proxies else None
        self.trace = trace
        self.verify = verify
        self.default_headers = _header_pairs(headers)
        self.policy = policy if policy is not None else TrustPolicy()
        self.sleep = sleep
        self.clock = clock
        self.max_response_bytes = int(max_response_bytes)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept-Encoding"] = ACCEPT_ENCODING  # what body.py decodes
        self.budget = budget
        # connections a deadline can reach (`Timeout` bounds a whole response), one per worker, kept alive
        pool = max(DEFAULT_POOLSIZE, budget.max_concurrency if budget is not None else 0)
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, TransportAdapter(pool_maxsize=pool))
        if transport is not None:  # a `requests` adapter for every URL: the cassettes of `--record`/`--replay`
            if hasattr(transport, "max_response_bytes"):  # a recording reads bodies itself, within the same cap
                setattr(transport, "max_response_bytes", self.max_response_bytes)
            self.session.mount("http://", transport)
            self.session.mount("https://", transport)
        if self.proxies:
            for url in self.proxies.values():
                self.redactor.add(_proxy_password(url))
        self._lock = threading.Lock()
        self._environments: dict[tuple[str, str], dict[str, Any]] = {}  # `_environment`, per origin
        self.requests = 0
        self.retries = 0
        self.bytes = 0
        #: called with one redacted line per retry (what failed, attempt, wait): `rsd run` shows every wait
        self.on_retry: Optional[Callable[[str], None]] = None

    # -- public ---------------------------------------------------------------------------------
    def request(self, method: str, url: str, *, headers: HeadersArg = None, data: Body = None,
                params: ParamsArg = None,
                page: Optional[int] = None, timeout: Optional[float] = None, use_auth: bool = True,
                retry_on: Optional[Collection[int]] = None, raise_for_status: bool = True,
                from_response: bool = False, token_endpoint: bool = False,
                retry_after_send: bool = True) -> requests.Response:
        """Send a request; retry what is transient; return the response with its body read.

        `page` only names the request in messages. `use_auth=False` sends without the auth header. `retry_on`
        replaces the statuses retried. `raise_for_status=False` returns a final 4xx/5xx response instead of
        raising (network errors still raise). `from_response`: the URL came from a response (a next URL, a `Link`
        header). `token_endpoint`: the request is a token request to the URL the user configured, which receives
        its credentials whatever the trusted origins are and whose redirects are never followed. Every other
        request goes through the trust policy (`policy.py`): the first pins the trusted origin, and a request to an
        untrusted origin carries no credential. `retry_after_send=False` (a write that is not idempotent: a POST or
        PATCH of write-back) sends the request again only when it cannot have reached the server: no connection
        was made, a 429 (the server refused it unprocessed, RFC 6585 §4) or a 401 that a token refresh answers.
        """
        method = method.upper()
        if url[:7].lower() == "file://":
            return self._read_file(method, url, from_response)
        retry_statuses = RETRY_STATUSES if retry_on is None else frozenset(retry_on)
        if not retry_after_send:
            retry_statuses = retry_statuses & UNPROCESSED_STATUSES
        req_timeout = self.timeout if timeout is None else (timeout or None)
        body = data.encode("utf-8") if isinstance(data, str) else data
        base_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        for k, v in self.default_headers:
            base_headers[k] = v
        for k, v in _header_pairs(headers):
            base_headers[k] = v
        if not token_endpoint and not from_response:
            self.policy.pin(url)
        shown_url: Optional[str] = None  # the URL as messages show it, worked out when one needs it
        attempt = 0
        unauthorized_retried = False
        while True:
            attempt += 1
            auth = self.auth if use_auth else None
            started = self.clock()
            with self._lock:
                self.requests += 1
            try:
                resp, sent = self._send(method, url, base_headers, body, _param_pairs(params), req_timeout, auth,
                                        from_response=from_response, token_endpoint=token_endpoint, page=page)
                shown_url = self.redactor.redact_url(resp.request.url) if resp.request is not None else \
                    shown_url or self._show_url(method, url, params)
                self._check_complete(resp, method)
            except _Transient as t:
                elapsed = self.clock() - started
                if shown_url is None:
                    shown_url = self._show_url(method, url, params)
                if t.sent and not retry_after_send:
                    self._trace(f"{method} {shown_url} -> {t.reason} ({_ms(elapsed)}); not sent again: it may "
                                f"have reached the server")
                    raise HttpError(self._describe(method, shown_url, page) + f": {t.reason}; not sent again, as "
                                    f"{method} is not idempotent and the request may have reached the server"
                                    + _attempts(attempt), url=shown_url) from None
                if attempt <= self.max_retries:
                    delay = self._delay(attempt, None)
                    self._trace(f"{method} {shown_url} -> {t.reason} ({_ms(elapsed)}); "
                                f"retry {attempt} of {self.max_retries} in {delay:.2f} s")
                    self._retrying(f"{self._describe(method, shown_url, page)}: {t.reason}; "
                                   f"retry {attempt} of {self.max_retries} in {delay:.1f} s")
                    self._wait(delay)
                    continue
                self._trace(f"{method} {shown_url} -> {t.reason} ({_ms(elapsed)})")
                raise HttpError(self._describe(method, shown_url, page) + f": {t.reason}"
                                + _attempts(attempt), url=shown_url) from None
            elapsed = self.clock() - started
            size = len(resp.content)
            with self._lock:
                self.bytes += size
            status = resp.status_code
            line = f"{method} {shown_url} -> {status} ({size} bytes, {_ms(elapsed)})"
            if status == 401 and auth is not None and sent.trusted and not unauthorized_retried:
                if auth.on_unauthorized(sent.first_headers):
                    unauthorized_retried = True
                    self._count_retry()
                    self._trace(line + "; token refreshed, sending again")
                    self._retrying(f"{self._describe(method, shown_url, page)}: HTTP 401; the access token was "
                                   f"refreshed, sending again")
                    continue
            if status in retry_statuses and attempt <= self.max_retries:
                paused = self.budget is not None and _sheds_load(resp)
                delay = self._delay(attempt, resp.headers.get("Retry-After"))
                self._trace(line + f"; retry {attempt} of {self.max_retries} in {delay:.2f} s"
                            + (" (every request of the run paused)" if paused else ""))
                waited = " (Retry-After)" if resp.headers.get("Retry-After") else ""
                self._retrying(f"{self._describe(method, shown_url, page)}: HTTP {status}"
                               f"{(' ' + resp.reason) if resp.reason else ''}; retry {attempt} of {self.max_retries} "
                               f"in {delay:.1f} s{waited}")
                if paused:
                    self._count_retry()  # the budget holds this request back with all the others
                else:
                    self._wait(delay)
                continue
            self._trace(line)
            if status >= 400 and raise_for_status:
                hint = _status_hint(status, resp, sent, auth)
                if sent.withheld and status in (401, 403, 407):
                    origin = show_origin(origin_of(resp.url))
                    hint = (f"rsd sent no credentials to {origin}: it is not a trusted origin (trusted: "
                            f"{self.policy.describe()}); if it is meant to receive them, run with "
                            f"{ALLOW_ORIGIN} {origin}")
                raise HttpError(self._describe(method, shown_url, page)
                                + f": HTTP {status}{(' ' + resp.reason) if resp.reason else ''}"
                                + (_attempts(attempt) if status in retry_statuses else "")
                                + self._error_text(resp), status=status, url=shown_url, hint=hint)
            return resp

    @property
    def concurrency(self) -> int:
        """Requests of the run allowed in flight at once (1 without a budget)."""
        return self.budget.max_concurrency if self.budget is not None else 1

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _learn_secrets(self, headers: Mapping[str, str], url: str, params: ParamsArg, body: Optional[bytes]) -> None:
        """Whatever this request sends as a credential is a secret from now on, wherever it came from:
        a token a profile obtained itself (`Header:Value#N`), a literal `X-API-Key`, a literal
        `?access_token=` or `client_secret=` form field. An API that echoes the request back in an error
        body then cannot show it, not even as the value of a JSON field."""
        add = self.redactor.add
        for name, value in headers.items():
            if value and is_secret_header_name(name):
                # `Bearer xyz`: the credential is xyz (messages keep the scheme word: `Bearer ***`)
                add(header_credential(value))
        pairs = list(_param_pairs(params) or ())
        if "?" in url:
            pairs += parse_qsl(urlsplit(url).query, keep_blank_values=True)
        ctype = str(headers.get("Content-Type") or "").lower()
        if body and "x-www-form-urlencoded" in ctype:
            try:
                text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else str(body)
                pairs += parse_qsl(text, keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                pass
        for name, value in pairs:
            # a paging cursor (`page_token`, `nextPageToken`) names a position, not a credential: learnt as one it
            # would be masked in the rows of an API that echoes it, and withheld from a next page on another host
            if value and is_secret_query_name(str(name)) and not _PAGING_WORD.search(str(name)):
                add(value)

    def _read_file(self, method: str, url: str, from_response: bool) -> requests.Response:
        """A `file://` URI, read through the trust policy (inside the allowed folders, never from a response), as a
        200 response."""
        started = self.clock()
        data = self.policy.read_file(url, from_response=from_response, cap=self.max_response_bytes)
        resp = requests.Response()
        resp._content = data
        resp.status_code, resp.url, resp.reason = 200, url, "OK"
        self._trace(f"{method} {self.redactor.redact_url(url)} -> read {len(data)} bytes from disk "
                    f"({_ms(self.clock() - started)})")
        return resp

    # -- sending ----------------------------------------------------------------------------------
    def _send(self, method: str, url: str, base_headers: CaseInsensitiveDict[str], body: Optional[bytes],
              params: Optional[list[tuple[str, str]]], req_timeout: Optional[float], auth: Optional[Auth], *,
              from_response: bool, token_endpoint: bool,
              page: Optional[int] = None) -> tuple[requests.Response, "_Sent"]:
        """One attempt: the request and the redirects it leads to, each hop through the trust policy (rsd follows
        redirects itself so that no credential is carried to another origin, whatever `requests` would do)."""
        policy = self.policy
        pinned = policy.pinned
        downgraded = bool(from_response and pinned is not None and pinned[0] == "https"
                          and urlsplit(url).scheme.lower() == "http")
        sent = _Sent()
        hop_method, hop_url, hop_body, hop_params = method, url, body, params
        hop_headers = base_headers
        for hop in range(MAX_REDIRECTS + 1):
            headers = CaseInsensitiveDict(hop_headers)
            trusted = (token_endpoint and hop == 0) or policy.trusts(hop_url, downgraded=downgraded)
            send_url, send_params = hop_url, hop_params
            if trusted:
                if auth is not None:
                    auth.apply(headers)
                withheld: list[str] = []
            else:
                send_url, send_params, withheld = policy.strip(hop_url, headers, hop_params, self.redactor)
                policy.refuse_body(hop_url, hop_body, self.redactor)
                if withheld:
                    self._trace(f"{hop_method} {self._show_url(hop_method, send_url, send_params)}: credentials "
                                f"withheld ({', '.join(withheld)}): {show_origin(origin_of(hop_url))} is not a "
                                f"trusted origin")
            self._learn_secrets(headers, send_url, send_params, hop_body)
            if hop == 0:
                sent.first_headers = headers
            sent.trusted, sent.withheld = trusted, bool(withheld)
            resp = self._send_within_budget(hop_method, send_url, headers, hop_body, send_params, req_timeout,
                                            keep_cookies=trusted, page=page)
            location = resp.headers.get("Location") if resp.status_code in REDIRECT_STATUSES else None
            if not location:
                return resp, sent
            target = urljoin(resp.url, self.session.get_redirect_target(resp) or location)
            shown_target = self.redactor.redact_url(target)
            if token_endpoint:
                raise AuthError(f"the token endpoint {self.redactor.redact_url(url)} answered HTTP "
                                f"{resp.status_code}, a redirect to {shown_target}: rsd does not follow a token "
                                f"endpoint's redirects (the request holds the client credentials)",
                                hint="set OAuthAccessTokenURL (or token_url) to the URL it redirects to")
            if urlsplit(hop_url).scheme.lower() == "https" and urlsplit(target).scheme.lower() == "http":
                downgraded = True
            status = resp.status_code
            self._trace(f"{hop_method} {self.redactor.redact_url(resp.url)} -> {status}, redirected to {shown_target}")
            if status == 303 and hop_method != "HEAD" or status in (301, 302) and hop_method == "POST":
                hop_method, hop_body = "GET", None
                hop_headers = CaseInsensitiveDict(hop_headers)
                for name in ("Content-Type", "Content-Length", "Transfer-Encoding"):
                    hop_headers.pop(name, None)
            hop_url, hop_params = target, None
            resp.close()
        raise HttpError(f"{method} {self.redactor.redact_url(url)}: more than {MAX_REDIRECTS} redirects",
                        url=self.redactor.redact_url(url))

    def _send_within_budget(self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes],
                            params: Optional[list[tuple[str, str]]], req_timeout: Optional[float], *,
                            keep_cookies: bool, page: Optional[int] = None) -> requests.Response:
        """`_send_once` inside the run's budget: it waits for a slot (concurrency, rate, a pause in force) and
        gives it back when the response is read; a 429, or a 503 with `Retry-After`, pauses every request."""
        budget = self.budget
        if budget is None:
            return self._send_once(method, url, headers, body, params, req_timeout, keep_cookies=keep_cookies,
                                   page=page)
        pause = None
        budget.acquire()
        try:
            resp = self._send_once(method, url, headers, body, params, req_timeout, keep_cookies=keep_cookies,
                                   page=page)
            if _sheds_load(resp):
                pause = self._delay(1, resp.headers.get("Retry-After"))
            return resp
        finally:
            budget.release(pause)

    def _send_once(self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes],
                   params: Optional[list[tuple[str, str]]], req_timeout: Optional[float], *,
                   keep_cookies: bool, page: Optional[int] = None) -> requests.Response:
        """One exchange, its body read. `Timeout` bounds all of it (connect, headers and body: a `Deadline` shuts the
        connection down when it passes, however slowly the bytes come), and `MaxResponseBytes` the decoded body."""
        deadline = Deadline(req_timeout, self.clock) if req_timeout else None
        with attach(deadline):
            try:
                resp = self._exchange(method, url, headers, body, params, req_timeout, keep_cookies=keep_cookies,
                                      page=page)
            except (_Transient, HttpError):
                if deadline is not None and deadline.finish():
                    raise self._timed_out(method, url, req_timeout, page) from None
                raise
            if deadline is not None and deadline.finish():  # a body without a length ends when the socket does
                raise self._timed_out(method, url, req_timeout, page)
            return resp

    def _timed_out(self, method: str, url: str, req_timeout: Optional[float], page: Optional[int]) -> HttpError:
        shown = self.redactor.redact_url(url)
        return HttpError(f"{self._describe(method, shown, page)}: no complete response within {req_timeout:g} s "
                         f"(Timeout)", url=shown)

    def _exchange(self, method: str, url: str, headers: Mapping[str, str], body: Optional[bytes],
                  params: Optional[list[tuple[str, str]]], req_timeout: Optional[float], *,
                  keep_cookies: bool, page: Optional[int] = None) -> requests.Response:
        shown = self.redactor.redact_url(url)
        what = self._describe(method, shown, page)
        try:
            prepared = self.session.prepare_request(
                requests.Request(method, url, headers=headers, data=body, params=params))
            if not keep_cookies:  # the session's cookies are credentials of the trusted origins
                prepared.headers.pop("Cookie", None)
            settings = self._environment(prepared.url or url)
            settings["stream"] = True  # the body is read below: decoded, bounded, checked complete
            resp = self.session.send(prepared, timeout=req_timeout, allow_redirects=False, **settings)
            try:
                self._read(resp)
            except BaseException:
                resp.close()
                raise
            return resp
        except BodyTooLarge as e:
            raise HttpError(f"{what}: the response is larger than MaxResponseBytes ({_size(e.cap)}); "
                            f"stopped reading it", url=shown,
                            hint="if the API really sends responses this large, raise the cap with "
                                 "-o MaxResponseBytes=N (bytes), or ask for smaller pages") from None
        except BodyCut as e:
            raise _Transient(f"body truncated: {e.reason}")
        except BadEncoding as e:
            raise HttpError(f"{what}: the response body cannot be decoded ({e.reason})", url=shown) from None
        except (ReadTimeoutError, requests.exceptions.ReadTimeout):
            raise HttpError(f"{what}: no complete response within {req_timeout:g} s (Timeout)"
                            if req_timeout else f"{what}: read timed out", url=shown) from None
        except ProtocolError as e:
            raise _Transient(_truncation_reason(e))
        except requests.exceptions.ConnectTimeout:
            raise _Transient(f"no connection within {req_timeout:g} s" if req_timeout else "connection timed out",
                             sent=False)
        except requests.exceptions.ProxyError as e:
            raise _Transient(f"the proxy failed ({_root_reason(e)})")
        except requests.exceptions.SSLError as e:
            reason = self.redactor.redact(_root_reason(e))
            raise HttpError(f"{method} {shown}: TLS error ({reason})", url=shown) from None
        except requests.exceptions.ChunkedEncodingError as e:
            raise _Transient(_truncation_reason(e))
        except requests.exceptions.ContentDecodingError:
            raise HttpError(f"{method} {shown}: the response body cannot be decoded (bad compression)",
                            url=shown) from None
        except requests.exceptions.ConnectionError as e:
            reason = _root_reason(e)
            raise _Transient(reason, sent=reason not in _NEVER_CONNECTED)
        except requests.exceptions.InvalidHeader:
            raise HttpError(f"{method} {shown}: a request header has an invalid name or value "
                            f"(check CustomHeaders for stray newlines or blanks)", url=shown) from None
        except UnicodeError:
            raise HttpError(f"{method} {shown}: a request header or the URL has characters HTTP cannot carry "
                            f"(non-Latin-1 text in a header value?)", url=shown) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, ValueError) as e:
            raise HttpError(f"{method} {shown}: invalid URL ({type(e).__name__})", url=shown) from None
        except requests.exceptions.RequestException as e:
            raise HttpError(f"{method} {shown}: request failed ({type(e).__name__})", url=shown) from None
        except (Urllib3Error, OSError) as e:  # the connection failed while the body was read
            raise _Transient(_root_reason(e))

    def _environment(self, url: str) -> dict[str, Any]:
        """`requests`' settings of a request to `url` from the environment (proxies, `no_proxy`, a CA bundle), read once
        per origin (scheme and host) of the client: `requests` walks every environment variable twice a request
        (about 80 us a page here, 16 ms over the 200 pages of bench/bench_throughput.py)."""
        split = urlsplit(url)
        key = (split.scheme.lower(), split.netloc.lower())
        settings = self._environments.get(key)
        if settings is None:
            settings = self._environments[key] = dict(self.session.merge_environment_settings(
                url, self.proxies or {}, None, self.verify, None))
        return dict(settings)

    def _read(self, resp: requests.Response) -> None:
        """Read the body of a streamed response into it, decoded and within the cap."""
        if getattr(resp, "_content", False) is not False:  # a transport read it already (a cassette)
            if len(resp.content or b"") > self.max_response_bytes:
                raise BodyTooLarge(self.max_response_bytes)
            return
        data = read_body(resp.raw, resp.headers.get("Content-Encoding"), self.max_response_bytes)
        resp._content = data
        resp._content_consumed = True  # type: ignore[attr-defined]
        release = getattr(resp.raw, "release_conn", None)
        if release is not None:
            release()  # the connection goes back to the pool for the next page

    @staticmethod
    def _check_complete(resp: requests.Response, method: str) -> None:
        declared = resp.headers.get("Content-Length")
        if not declared or method == "HEAD" or resp.status_code in (204, 304):
            return
        if resp.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
            return  # Content-Length counts the compressed bytes
        try:
            expected = int(declared)
        except ValueError:
            return
        got = len(resp.content)
        if got < expected:
            raise _Transient(f"body truncated: got {got} of {expected} bytes")

    # -- retry timing -----------------------------------------------------------------------------
    def _delay(self, attempt: int, retry_after: Optional[str]) -> float:
        wait = _parse_retry_after(retry_after)
        if wait is not None:
            return min(max(wait, 0.0), self.max_backoff)
        base = min(self.max_backoff, self.backoff * float(2 ** (attempt - 1)))
        return base * random.uniform(0.5, 1.0)

    def _wait(self, delay: float) -> None:
        self._count_retry()
        if delay > 0:
            self.sleep(delay)

    def _count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    # -- messages ---------------------------------------------------------------------------------
    def _show_url(self, method: str, url: str, params: ParamsArg) -> str:
        try:
            full = requests.Request(method, url, params=_param_pairs(params)).prepare().url
        except Exception:  # an invalid URL is reported by _send
            full = url
        return self.redactor.redact_url(full)

    @staticmethod
    def _describe(method: str, shown_url: str, page: Optional[int]) -> str:
        return f"{method} {shown_url}" + (f" (page {page})" if page is not None else "")

    def _error_text(self, resp: requests.Response) -> str:
        page = html_page(resp)
        if page is not None:
            return ": " + self.redactor.redact(page)
        raw = resp.content[:4000].decode(resp.encoding or "utf-8", errors="replace")
        text = " ".join(self.redactor.redact(raw).split())
        if not text:
            return " (empty body)"
        if len(text) > 300:
            text = text[:300].rstrip() + "..."
        return f": {text}"

    def _trace(self, line: str) -> None:
        if self.trace is not None:
            self.trace(self.redactor.redact(line))

    def _retrying(self, line: str) -> None:
        if self.on_retry is not None:
            self.on_retry(self.redactor.redact(line))


# -- hints -------------------------------------------------------------------------------------------
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_SCRIPT = re.compile(rb"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(rb"<[^>]*>")


def html_page(resp: requests.Response) -> Optional[str]:
    """`an HTML page ("title")` when the body is a web page rather than an API's data, else None."""
    body = resp.content[:20000]
    ctype = resp.headers.get("Content-Type", "").lower()
    head = body.lstrip()[:100].lower()
    if "html" not in ctype and not head.startswith((b"<!doctype html", b"<html")):
        return None
    m = _TITLE.search(body)
    text = m.group(1) if m else _TAG.sub(b" ", _SCRIPT.sub(b" ", body))
    words = " ".join(text.decode(resp.encoding or "utf-8", errors="replace").split())
    if len(words) > 100:
        words = words[:100].rstrip() + "..."
    return f"an HTML page ({words!r})" if words else "an HTML page"


def _status_hint(status: int, resp: requests.Response, sent: "_Sent", auth: object) -> Optional[str]:
    """What to do about a final error status, where the status alone does not say it."""
    if status == 401 and auth is None and not sent.withheld and not _carried_credentials(sent, resp):
        return ("the API wants credentials and this request carried none: give them as options, e.g. "
                "-o 'CustomHeaders=Authorization: Bearer ${env:API_TOKEN}', -o AuthScheme=OAuth with the OAuth "
                "options, or -o AuthScheme=Basic -o User=... -o 'Password=${env:API_PASSWORD}' (docs/credentials.md)")
    if html_page(resp) is not None:
        return ("the server answered with a web page, not the API's data: check BaseURL and the URI (a web site, a "
                "sign-in page or a proxy's error page answers there)")
    return None


def _carried_credentials(sent: "_Sent", resp: requests.Response) -> bool:
    headers = sent.first_headers
    if headers is not None and any(value and is_secret_header_name(name) for name, value in headers.items()):
        return True
    request_url = resp.request.url if resp.request is not None else resp.url
    return any(value and is_secret_query_name(name)
               for name, value in parse_qsl(urlsplit(request_url or "").query, keep_blank_values=True))


# -- helpers -----------------------------------------------------------------------------------------
def _header_pairs(headers: HeadersArg) -> list[tuple[str, str]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(k), "" if v is None else str(v)) for k, v in items]


def _sheds_load(resp: requests.Response) -> bool:
    """The server asks every client to slow down: a 429, or a 503 that says when to come back."""
    return resp.status_code == 429 or (resp.status_code == 503 and resp.headers.get("Retry-After") is not None)


def _param_pairs(params: ParamsArg) -> Optional[list[tuple[str, str]]]:
    if params is None:
        return None
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def _parse_retry_after(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when.timestamp() - time.time()


def _size(n: int) -> str:
    """`268,435,456 bytes (256 MiB)`."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n:,} bytes, {n // scale} {unit}"
    return f"{n:,} bytes"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _attempts(attempt: int) -> str:
    return f" after {attempt} attempts" if attempt > 1 else ""


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its args that are exceptions, and its causes, depth first."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        for a in getattr(e, "args", ()):
            if isinstance(a, BaseException):
                stack.append(a)
        for attr in ("reason", "__cause__", "__context__"):
            inner = getattr(e, attr, None)
            if isinstance(inner, BaseException):
                stack.append(inner)


def _root_reason(exc: BaseException) -> str:
    """A short, URL-free description of a network failure."""
    text_of_all = " ".join(type(e).__name__ for e in _causes(exc))
    for e in _causes(exc):
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == 111:
            return "connection refused"
        if isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError":
            return "cannot resolve the host name"
        if isinstance(e, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(e, ssl.SSLError):
            return f"TLS: {getattr(e, 'reason', None) or type(e).__name__}"
        if type(e).__name__ == "RemoteDisconnected":
            return "the server closed the connection without a response"
        if type(e).__name__ == "IncompleteRead":
            return _truncation_reason(e)
    if "Timeout" in text_of_all:
        return "timed out"
    return f"connection failed ({type(exc).__name__})"


def _truncation_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        if type(e).__name__ == "IncompleteRead":
            partial, expected = getattr(e, "partial", None), getattr(e, "expected", None)
            if isinstance(partial, (bytes, bytearray)):
                partial = len(partial)
            if isinstance(partial, int) and isinstance(expected, int):
                return f"body truncated: got {partial} of {partial + expected} bytes"
            return "body truncated"
    for e in _causes(exc):
        if type(e).__name__ == "InvalidChunkLength":
            return "body truncated: broken chunked encoding"
    return "body truncated: the connection broke while reading it"


def _proxy_password(url: str) -> Optional[str]:
    from urllib.parse import unquote, urlsplit
    try:
        pw = urlsplit(url).password
    except ValueError:
        return None
    return unquote(pw) if pw else None
