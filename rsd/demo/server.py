"""The bundled demo API: a small OAuth 2 protected REST API on 127.0.0.1, standard library only.

It owns the demo server that `rsd demo`, the samples in ``samples/demo/`` and the tests run against: the HTTP server,
request dispatch, the request history and the command line. The rest lives beside it, one concern a module: the data
(``data.py``), the token endpoint and bearer check (``oauth.py``), the data endpoints, paging and fault injection
(``api.py``) and the writable resource (``tasks.py``); the names tests and samples use are re-exported here. It must
not import anything outside the standard library (it ships inside the package) and must not know about profiles.

    with DemoServer() as srv:                 # port 0: a free port is picked
        srv.url, srv.token_url, srv.stats

Run by hand: ``python -m rsd.demo.server --port 8765`` (prints its URL and the demo credentials' variables).

Token endpoint
--------------
``POST /services/oauth2/token`` (RFC 6749, ``application/x-www-form-urlencoded``). Parameters may come in the form body
*or* as query parameters of the token URL (Salesforce accepts both). Client authentication in the body
(``client_id``/``client_secret``) or with HTTP Basic, not both. Grants:

- ``grant_type=refresh_token`` with ``refresh_token`` = :data:`DEMO_REFRESH_TOKEN`
- ``grant_type=client_credentials``
- ``grant_type=password`` with ``username`` = :data:`DEMO_USER`, ``password`` = :data:`DEMO_PASSWORD`

Success (200): ``access_token``, ``token_type: "Bearer"``, ``expires_in`` (RFC 6749) and, Salesforce-like,
``instance_url`` (this server's URL), ``id``, ``issued_at`` (epoch milliseconds as text) and ``signature``.
Tokens expire ``token_lifetime`` seconds after issue. Errors follow RFC 6749 §5.2: ``invalid_request``,
``unsupported_grant_type``, ``invalid_grant`` (400) and ``invalid_client`` (401).

Data endpoints
--------------
Everything under ``/api/`` needs ``Authorization: Bearer <token>`` when ``require_auth`` is true (the default);
otherwise 401 ``{"error": "invalid_token", ...}`` with ``WWW-Authenticate: Bearer error="invalid_token"``.
Totals are deliberately not multiples of the default page sizes. A page past the end is an empty page, not an error.

=============================================  =======================================================================
``GET /api/accounts?page=N&per_page=M``        page number (M default 50): ``{"records", "page", "per_page",
                                               "total_pages", "totalSize", "done"}``; 237 accounts
                                               (``&industry=X``: only those of industry X)
``GET /api/contacts?offset=O&limit=L``          offset (L default 25): ``{"data", "total", "offset", "limit"}``; 123
``  &updated_since=ISO8601``                      only contacts whose ``updated_at`` is at or after it (inclusive,
                                               so a record changed in the same second as the last mark is not lost);
                                               ``srv.touch("contacts", [i...])``/``srv.add("contacts", n)`` change
                                               records as a live API would between two incremental loads
``GET /api/events?cursor=X&limit=L``            cursor (L default 10): ``{"items", "next_cursor": "opaque" | null}``; 53
``GET /api/orders?page=N&per_page=M``           absolute next URL (M default 20): ``{"totalSize", "done", "records",
                                               "nextRecordsUrl"}`` (absent on the last page); 95 orders, each with
                                               1-4 ``lines``
``GET /api/products?page=N&per_page=M``         relative next URL (M default 25): ``{"products", "count",
                                               "next": "/api/products?page=N+1" | null}``; 64
``GET /api/invoices?page=N&per_page=M``         Link header (M default 15): a JSON array body, ``Link: <...>;
                                               rel="next"`` (absent on the last page), ``X-Total-Count``; 41
``GET /api/inventory.xml?page=N&per_page=M``    XML (M default 10): ``<inventory page="N" pages="T" total="C">
                                               <item><sku/><name/><qty/><price/><updated/><warehouse/></item>...``;
                                               34 items (some ``<warehouse/>`` empty)
``/api/tasks``, ``/api/tasks/ID``                the writable resource: POST creates (201 with the record, 400 with a
                                               field error), GET reads, PATCH/PUT update, DELETE deletes (204); see
                                               ``rsd/demo/tasks.py``
``GET /health``                                 ``{"status": "ok"}``, no authentication
=============================================  =======================================================================

Next links (``nextRecordsUrl``, ``next``, ``Link``) keep the request's other query parameters, ``per_page`` and the
fault parameters included, so a fault asked for on page 1 follows the client through the pages.
Page sizes above 200 are capped at 200. A bad ``page``/``offset``/``limit``/``cursor`` is a 400 ``bad_request``.

Fault injection (query parameters on any ``/api/`` endpoint, checked after authentication)
-----------------------------------------------------------------------------------------
- ``fail=429`` (or ``503``, any 4xx/5xx) with ``fail_times=K`` (default 1; ``all`` = every time): the first K requests
  for the same path and query *without the fault parameters* get that status, ``{"error": ...}`` and, for 429 and
  503, ``Retry-After: 1`` (``retry_after=S`` sends S verbatim, so an HTTP date works too).
- ``truncate=1`` (also limited by ``fail_times``, default 1): the response announces a ``Content-Length`` larger than
  the half body it sends, then closes the connection.
- ``status=404`` (any 4xx/5xx): that status every time, ``{"error": "not_found", "message": ...}``.
- ``fail_page=N``: a 500 ``{"error": "server_error", ...}`` every time page N is requested (for the offset and cursor
  endpoints the page is ``position // limit + 1``).

``DemoServer(latency=S)`` delays every response but ``/health`` by S seconds.
Test helpers: ``srv.stats`` (requests per path, tokens issued, auth failures, faults), ``srv.history`` (recent
requests), ``srv.data`` (the datasets), ``srv.issue_token()``, ``srv.revoke_tokens()``, ``srv.reset()``.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, Callable, Iterable, Mapping, Optional
from urllib.parse import parse_qsl, urlsplit

from .api import (DEFAULT_PAGE_SIZES, MAX_PAGE_SIZE, DataEndpoints, DemoStats, HttpResponse, Page, error_response,
                  fault_key, json_bytes)
from .data import DEFAULT_RECORDS, build_datasets, contact
from .oauth import (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_ENV_VARS, DEMO_PASSWORD, DEMO_REFRESH_TOKEN, DEMO_USER,
                    TokenEndpoint)
from .tasks import TaskError, TaskStore

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_REFRESH_TOKEN",
    "DEMO_USER",
    "DEMO_PASSWORD",
    "DEMO_ENV_VARS",
    "DEFAULT_RECORDS",
    "DEFAULT_PAGE_SIZES",
    "MAX_PAGE_SIZE",
    "DemoServer",
    "DemoStats",
    "RecordedRequest",
    "build_datasets",
    "serve_forever",
]

#: tasks the writable resource (/api/tasks) starts with
DEFAULT_TASKS = 5


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    status: int = 0

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)


class DemoServer(TokenEndpoint, DataEndpoints):
    """The demo API in a daemon thread. ``DemoServer()`` starts it; use it as a context manager or call ``close()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, token_lifetime: float = 3.0,
                 records: Mapping[str, int] | None = None, require_auth: bool = True, verbose: bool = False,
                 latency: float = 0.0, history_size: int = 1000, tasks: int = DEFAULT_TASKS) -> None:
        self.token_lifetime = float(token_lifetime)
        self.latency = float(latency)  # seconds added to every response but /health (slow APIs, token expiry)
        self.require_auth = require_auth
        self.verbose = verbose
        self.data = build_datasets(records)
        self.stats = DemoStats()
        self.history: collections.deque[RecordedRequest] = collections.deque(maxlen=history_size)
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> expiry (time.monotonic())
        self._fault_counts: collections.Counter[Any] = collections.Counter()
        self._signing_key = hashlib.sha256(b"rsd-demo-signing-key").digest()
        self.tasks = TaskStore(seed=tasks)  # the writable resource, /api/tasks (tasks.py): `tasks` to start with
        self._routes: dict[str, Callable[[dict[str, str], str], Page]] = {
            "/api/accounts": self._accounts,
            "/api/contacts": self._contacts,
            "/api/events": self._events,
            "/api/orders": self._orders,
            "/api/products": self._products,
            "/api/invoices": self._invoices,
            "/api/inventory.xml": self._inventory,
        }
        self._httpd = _HttpServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        # A short poll interval makes close() quick (shutdown waits for the serving loop to notice).
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="rsd-demo-server", daemon=True)
        self._thread.start()
        self._closed = False

    # -- public surface -------------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/services/oauth2/token"

    def touch(self, dataset: str, indexes: Iterable[int], **fields: Any) -> str:
        """Change records as a live API would: set ``fields`` on the records at ``indexes`` and move their
        ``updated_at`` past every other record's. Returns the new ``updated_at``."""
        with self._lock:
            stamp = self._next_update(dataset)
            for i in indexes:
                self.data[dataset][i].update(fields, updated_at=stamp)
        return stamp

    def add(self, dataset: str, count: int) -> str:
        """Add ``count`` new contacts (ids after the last one), updated now. Returns their ``updated_at``."""
        if dataset != "contacts":
            raise ValueError("only contacts can be added")
        with self._lock:
            stamp = self._next_update(dataset)
            records = self.data[dataset]
            account_ids = [a["Id"] for a in self.data["accounts"]]
            for _ in range(count):
                record = contact(len(records), account_ids)
                record["id"] = max((r["id"] for r in records), default=0) + 1
                record["updated_at"] = stamp
                records.append(record)
        return stamp

    def _next_update(self, dataset: str) -> str:
        stamps = [r["updated_at"] for r in self.data[dataset] if "updated_at" in r]
        if not stamps:
            raise ValueError(f"the {dataset} records have no updated_at")
        latest = datetime.strptime(max(stamps), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return (latest + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def reset(self) -> None:
        """Forget counters, history and fault state (tokens stay valid)."""
        with self._lock:
            self.stats = DemoStats()
            self.history.clear()
            self._fault_counts.clear()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DemoServer({self.url!r}, require_auth={self.require_auth}, token_lifetime={self.token_lifetime})"

    # -- request dispatch -----------------------------------------------------------------------------------------

    def _record(self, handler: _Handler, path: str, query: list[tuple[str, str]], body: bytes, status: int) -> None:
        with self._lock:
            self.stats.requests[path] += 1
            self.stats.statuses[status] += 1
            self.history.append(RecordedRequest(handler.command, path, tuple(query),
                                                tuple(handler.headers.items()), body, status))


class _HttpServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away (a killed run) is no error of the server's: say nothing
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def _make_handler(server: DemoServer) -> type[_Handler]:
    return type("DemoHandler", (_Handler,), {"demo": server})


class _Handler(BaseHTTPRequestHandler):
    demo: DemoServer
    protocol_version = "HTTP/1.1"
    server_version = "rsd-demo/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out as separate writes; keep-alive must not wait on Nagle
    #: (path, query, body) of the request being answered, until recorded
    _pending: tuple[str, list[tuple[str, str]], bytes] | None = None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        if self.demo.verbose:
            sys.stderr.write(f"rsd-demo: {self.address_string()} {format % args}\n")

    def base_url(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.demo.url

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            return b""
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None,
              *, truncate: bool = False) -> None:
        # record before answering, so that a client (a test) that got the answer also sees it counted
        if self._pending is not None:
            self.demo._record(self, *self._pending, status)
            self._pending = None
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if truncate:
            # Announce the whole body, send half of it, hang up: the client sees an incomplete read.
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, doc: object, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json_bytes(doc), "application/json; charset=utf-8", headers)

    def _handle(self) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        params = dict(query)
        body = self._read_body()
        status = 500
        self._pending = (path, query, body)
        if self.demo.latency > 0 and path != "/health":
            time.sleep(self.demo.latency)
        try:
            if path == "/services/oauth2/token":
                if self.command != "POST":
                    raise HttpResponse(405, {"error": "invalid_request", "error_description": "use POST"},
                                        {"Allow": "POST"})
                status, doc, headers = self.demo._token(self.headers.get("Authorization"),
                                                        self.headers.get("Content-Type"), self.base_url(), params, body)
                self._send_json(status, doc, headers)
                return
            if path == "/health":
                status = 200
                self._send_json(200, {"status": "ok", "time": datetime.now(timezone.utc).isoformat()})
                return
            if path == "/api/tasks" or path.startswith("/api/tasks/"):  # the writable resource (tasks.py)
                if self.demo.require_auth:
                    self.demo._check_bearer(self.headers.get("Authorization"))
                self.demo._injected_failure(path, query, params)
                try:
                    status, task_doc, headers = self.demo.tasks.handle(self.command, path, params, body,
                                                                       self.base_url())
                except TaskError as exc:
                    raise HttpResponse(exc.status, exc.body) from None
                if task_doc is None:
                    self._send(status, b"", "application/json; charset=utf-8", headers)
                else:
                    self._send_json(status, task_doc, headers)
                return
            route = self.demo._routes.get(path)
            if route is None:
                raise error_response(404, f"no such endpoint: {path}")
            if self.command not in ("GET", "HEAD"):
                raise error_response(405, f"{self.command} is not supported on {path}; the demo API is read-only",
                             Allow="GET, HEAD")
            if self.demo.require_auth:
                self.demo._check_bearer(self.headers.get("Authorization"))
            self.demo._injected_failure(path, query, params)
            page = route(params, self.base_url())
            truncate = params.get("truncate", "0") not in ("", "0", "false") and \
                self.demo._fault_due("truncate", fault_key(path, query), params)
            status = 200
            self._send(200, page.body, page.content_type, page.headers, truncate=truncate)
        except HttpResponse as exc:
            status = exc.status
            self._send_json(exc.status, exc.body, exc.headers)
        except (BrokenPipeError, ConnectionResetError):  # the client went away (a killed run): nobody to answer
            self.close_connection = True
        except Exception as exc:  # a bug in the demo: answer like a server would, keep serving
            status = 500
            if self.demo.verbose:
                traceback.print_exc()
            self._send_json(500, {"error": "server_error", "message": f"{type(exc).__name__}: {exc}"})
            self.close_connection = True
        finally:
            if self._pending is not None:  # nothing was sent
                self.demo._record(self, path, query, body, status)
                self._pending = None

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


# ---------------------------------------------------------------------------------------------------------------------
# Command line


def serve_forever(port: int = 8765, host: str = "127.0.0.1", *, token_lifetime: float = 300.0,
                  require_auth: bool = True, verbose: bool = False, out: Optional[IO[str]] = None) -> None:
    """Run the demo API in the foreground until Ctrl-C, printing how to reach it."""
    out = out or sys.stdout
    with DemoServer(host, port, token_lifetime=token_lifetime, require_auth=require_auth, verbose=verbose) as srv:
        print(f"rsd demo API listening on {srv.url}", file=out)
        print(f"  token URL:  {srv.token_url}  (client_id {DEMO_CLIENT_ID}, tokens last {token_lifetime:g}s)",
              file=out)
        print(f"  auth:       {'Bearer token required on /api/' if require_auth else 'off'}", file=out)
        print("  the samples read the demo secrets from these environment variables:", file=out)
        for name, value in DEMO_ENV_VARS.items():
            print(f"    export {name}={value}", file=out)
        other_port = "" if srv.url == "http://127.0.0.1:8765" else \
            f" -o BaseURL={srv.url} -o OAuthAccessTokenURL={srv.token_url}"
        print(f"  try: rsd run samples/demo/Accounts.rsd --options-file samples/demo/options.txt{other_port}",
              file=out)
        print("Ctrl-C stops it.", file=out, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nstopped", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rsd.demo.server", description="Run the rsd demo API.")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--token-lifetime", type=float, default=300.0, help="access token lifetime in seconds")
    parser.add_argument("--no-auth", action="store_true", help="serve /api/ without requiring a bearer token")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    serve_forever(args.port, args.host, token_lifetime=args.token_lifetime, require_auth=not args.no_auth,
                  verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
