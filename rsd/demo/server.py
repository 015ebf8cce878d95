"""The bundled demo API: a small OAuth 2 protected REST API on 127.0.0.1, standard library only.

It owns the demo server that `rsd demo`, the samples in ``samples/demo/`` and the tests run against. It must not
import anything outside the standard library (it ships inside the package) and must not know about profiles.

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
import base64
import binascii
import collections
import hashlib
import hmac
import json
import math
import secrets
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, Callable, Iterable, Mapping, Optional
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit
from xml.sax.saxutils import escape as xml_escape

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

#: Dataset sizes. None is a multiple of its default page size.
DEFAULT_RECORDS = {
    "accounts": 237,
    "contacts": 123,
    "events": 53,
    "orders": 95,
    "products": 64,
    "invoices": 41,
    "inventory": 34,
}

DEFAULT_PAGE_SIZES = {
    "accounts": 50,
    "contacts": 25,
    "events": 10,
    "orders": 20,
    "products": 25,
    "invoices": 15,
    "inventory": 10,
}

MAX_PAGE_SIZE = 200

#: tasks the writable resource (/api/tasks) starts with
DEFAULT_TASKS = 5

FAULT_PARAMS = frozenset({"fail", "fail_times", "retry_after", "truncate", "status", "fail_page"})

_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "rate_limited",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}

# ---------------------------------------------------------------------------------------------------------------------
# Deterministic datasets: plain index arithmetic, no random module, so every run and every Python version agrees.

_EPOCH = datetime(2023, 1, 2, 9, 0, 0, tzinfo=timezone.utc)

_ADJECTIVES = ["Acme", "Blue", "Global", "Northern", "Summit", "Bright", "Pioneer", "Crystal", "Silver", "Quantum",
               "Evergreen", "Atlas", "Harbor"]
_NOUNS = ["Dynamics", "Logistics", "Foods", "Systems", "Energy", "Textiles", "Health", "Robotics", "Media", "Mining",
          "Capital"]
_SUFFIXES = ["Inc.", "Ltd", "GmbH", "LLC", "S.A.", "Corp."]
_INDUSTRIES = ["Technology", "Manufacturing", "Retail", "Finance", "Healthcare", "Energy", "Education"]
_CITIES = [("Zürich", "Switzerland"), ("London", "United Kingdom"), ("Austin", "United States"), ("Lyon", "France"),
           ("São Paulo", "Brazil"), ("Osaka", "Japan"), ("Toronto", "Canada"), ("Kraków", "Poland")]
_TAGS = ["enterprise", "smb", "partner", "priority", "churn-risk", "new"]
_FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Jürgen",
          "Søren"]
_LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Ritchie", "Allen", "Thompson",
         "Perlman", "O'Brien", "Müller"]
_EVENT_TYPES = ["order.created", "order.paid", "order.shipped", "invoice.sent", "account.updated"]
_ORDER_STATUSES = ["Draft", "Activated", "Shipped", "Cancelled"]
_CATEGORIES = ["Hardware", "Software", "Services", "Accessories"]
_CURRENCIES = ["EUR", "USD", "GBP"]
_INVOICE_STATUSES = ["open", "paid", "overdue", "void"]
_WAREHOUSES = ["AMS-1", "FRA-2", "DUB-1"]
_PART_NAMES = ["Nuts & Bolts", "Hex Key <4mm>", "Cable \"Cat6\"", "Bracket", "Hinge", "Washer"]


def _mix(n: int, salt: int = 0) -> int:
    """A fixed, well-spread integer for n (Knuth's multiplicative hash); the datasets' only source of variety."""
    return ((n + 1) * 2654435761 + salt * 40503) % 4294967296


def _ts(offset_minutes: int) -> datetime:
    return _EPOCH + timedelta(minutes=offset_minutes)


def _account(n: int) -> dict[str, Any]:
    h = _mix(n)
    city, country = _CITIES[h % len(_CITIES)]
    tags = [_TAGS[(h >> s) % len(_TAGS)] for s in range((h >> 7) % 4)]
    return {
        "attributes": {"type": "Account", "url": f"/api/accounts/001DM{n:010d}"},
        "Id": f"001DM{n:010d}",
        "Name": f"{_ADJECTIVES[n % len(_ADJECTIVES)]} {_NOUNS[(n // 3) % len(_NOUNS)]} {n} "
                f"{_SUFFIXES[h % len(_SUFFIXES)]}",
        # Every 13th account has no industry: a JSON null the mapping must keep as null.
        "Industry": None if n % 13 == 0 else _INDUSTRIES[(h >> 3) % len(_INDUSTRIES)],
        "AnnualRevenue": round(50_000 + (h % 100_000) * 123.45, 2),
        "NumberOfEmployees": 1 + (h >> 5) % 5000,
        "IsActive": n % 4 != 0,
        # Salesforce's own datetime style (millisecond fraction, +0000 offset).
        "CreatedDate": _ts(n * 97).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "BillingAddress": {"City": city, "Country": country, "PostalCode": f"{10000 + h % 89999}"},
        "Tags": list(dict.fromkeys(tags)),
    }


def _contact(n: int, account_ids: list[str]) -> dict[str, Any]:
    h = _mix(n, 1)
    first, last = _FIRST[h % len(_FIRST)], _LAST[(h >> 4) % len(_LAST)]
    return {
        "id": n + 1,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{n + 1}@example.com",
        "phone": None if n % 7 == 3 else f"+1-555-{h % 10000:04d}",
        "account_id": account_ids[h % len(account_ids)] if account_ids else None,
        "score": round((h % 1000) / 10, 1),
        "created_at": _ts(n * 131).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": _ts(n * 131 + h % 2880).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _event(n: int) -> dict[str, Any]:
    h = _mix(n, 2)
    return {
        "id": f"evt_{n + 1:05d}",
        "type": _EVENT_TYPES[h % len(_EVENT_TYPES)],
        "occurred_at": _ts(n * 17).isoformat(),
        "payload": {"order_id": f"801DM{(h % 95):010d}", "amount": round((h % 50000) / 100, 2)},
    }


def _order(n: int, account_ids: list[str], product_skus: list[str]) -> dict[str, Any]:
    h = _mix(n, 3)
    lines: list[dict[str, Any]] = []
    for i in range(1 + h % 4):  # 1..4 lines: every order has at least one
        lh = _mix(n * 10 + i, 4)
        quantity = 1 + lh % 9
        unit_price = round(5 + (lh % 2000) / 4, 2)
        lines.append({
            "LineNumber": i + 1,
            "ProductCode": product_skus[lh % len(product_skus)] if product_skus else f"SKU-{lh % 100:04d}",
            "Quantity": quantity,
            "UnitPrice": unit_price,
        })
    return {
        "attributes": {"type": "Order", "url": f"/api/orders/801DM{n:010d}"},
        "Id": f"801DM{n:010d}",
        "OrderNumber": f"{100000 + n}",
        "AccountId": account_ids[h % len(account_ids)] if account_ids else None,
        "Status": _ORDER_STATUSES[(h >> 3) % len(_ORDER_STATUSES)],
        "EffectiveDate": (date(2024, 1, 1) + timedelta(days=n * 3)).isoformat(),
        "TotalAmount": round(sum(line["Quantity"] * line["UnitPrice"] for line in lines), 2),
        "lines": lines,
    }


def _product(n: int) -> dict[str, Any]:
    h = _mix(n, 5)
    return {
        "sku": f"SKU-{n + 1:04d}",
        "name": f"{_NOUNS[h % len(_NOUNS)]} Kit {n + 1}",
        "category": _CATEGORIES[(h >> 2) % len(_CATEGORIES)],
        "price": round(9.99 + (h % 5000) / 10, 2),
        "in_stock": h % 5 != 0,
        "dimensions": {"w": 10 + h % 50, "h": 5 + (h >> 6) % 40, "d": 1 + (h >> 12) % 20},
    }


def _invoice(n: int, account_ids: list[str]) -> dict[str, Any]:
    h = _mix(n, 6)
    status = _INVOICE_STATUSES[h % len(_INVOICE_STATUSES)]
    return {
        "invoice_id": 5000 + n,
        "number": f"INV-2024-{n + 1:04d}",
        "account_id": account_ids[h % len(account_ids)] if account_ids else None,
        "amount": round(100 + (h % 90000) / 10, 2),
        "currency": _CURRENCIES[(h >> 4) % len(_CURRENCIES)],
        "status": status,
        "paid": status == "paid",
        "due_date": (date(2024, 2, 1) + timedelta(days=n * 5)).isoformat(),
    }


def _inventory_item(n: int) -> dict[str, Any]:
    h = _mix(n, 7)
    return {
        "sku": f"PART-{n + 1:04d}",
        "name": f"{_PART_NAMES[h % len(_PART_NAMES)]} #{n + 1}",
        "qty": h % 500,
        "price": f"{1 + (h % 10000) / 100:.2f}",
        "updated": _ts(n * 53).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Every 5th item has an empty <warehouse/>: null in a row.
        "warehouse": "" if n % 5 == 2 else _WAREHOUSES[(h >> 3) % len(_WAREHOUSES)],
    }


def build_datasets(records: Mapping[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The demo datasets, sized by ``records`` (missing names take :data:`DEFAULT_RECORDS`). Pure and deterministic."""
    sizes = dict(DEFAULT_RECORDS)
    for name, count in (records or {}).items():
        if name not in sizes:
            raise ValueError(f"unknown demo dataset {name!r}; known: {', '.join(sorted(sizes))}")
        if count < 0:
            raise ValueError(f"dataset size must be >= 0, got {name}={count}")
        sizes[name] = int(count)
    accounts = [_account(n) for n in range(sizes["accounts"])]
    account_ids = [a["Id"] for a in accounts]
    products = [_product(n) for n in range(sizes["products"])]
    skus = [p["sku"] for p in products]
    return {
        "accounts": accounts,
        "contacts": [_contact(n, account_ids) for n in range(sizes["contacts"])],
        "events": [_event(n) for n in range(sizes["events"])],
        "orders": [_order(n, account_ids, skus) for n in range(sizes["orders"])],
        "products": products,
        "invoices": [_invoice(n, account_ids) for n in range(sizes["invoices"])],
        "inventory": [_inventory_item(n) for n in range(sizes["inventory"])],
    }


# ---------------------------------------------------------------------------------------------------------------------
# Run-time state


@dataclass
class DemoStats:
    """Counters, updated under the server's lock. Read them after the requests you are interested in finished."""

    requests: collections.Counter[Any] = field(default_factory=collections.Counter)  # path -> count (all methods)
    statuses: collections.Counter[Any] = field(default_factory=collections.Counter)  # HTTP status -> count
    tokens_issued: int = 0
    token_errors: int = 0
    auth_failures: int = 0
    faults: collections.Counter[Any] = field(default_factory=collections.Counter)  # "fail:429", "truncate", ...

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


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


class _HttpResponse(Exception):
    """Raised inside a handler to answer with an error document right away."""

    def __init__(self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _error(status: int, message: str, error: str | None = None, **headers: str) -> _HttpResponse:
    return _HttpResponse(status, {"error": error or _ERROR_NAMES.get(status, "error"), "message": message},
                         {k.replace("_", "-"): v for k, v in headers.items()})


def _int_param(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _error(400, f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise _error(400, f"{name} must be >= {minimum}, got {value}")
    return value


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _datetime_param(params: Mapping[str, str], name: str) -> datetime:
    raw = params[name]
    try:
        return _parse_datetime(raw)
    except ValueError:
        raise _error(400, f"{name} must be an ISO 8601 date and time, got {raw!r}") from None


def _page_size(params: Mapping[str, str], name: str, default: int) -> int:
    return min(_int_param(params, name, default, 1), MAX_PAGE_SIZE)


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"evt:{position}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, position = text.partition(":")
        if prefix != "evt":
            raise ValueError(text)
        value = int(position)
        if value < 0:
            raise ValueError(text)
        return value
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise _error(400, f"invalid cursor {cursor!r}", "invalid_cursor") from None


@dataclass
class _Page:
    """What a data endpoint produced before it is serialised."""

    body: bytes
    content_type: str
    page: int
    headers: dict[str, str] = field(default_factory=dict)


class DemoServer:
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
        self._routes: dict[str, Callable[[dict[str, str], str], _Page]] = {
            "/api/accounts": self._accounts,
            "/api/contacts": self._contacts,
            "/api/events": self._events,
            "/api/orders": self._orders,
            "/api/products": self._products,
            "/api/invoices": self._invoices,
            "/api/inventory.xml": self._inventory,
        }
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
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

    def issue_token(self, lifetime: float | None = None) -> str:
        """A valid access token without going through the token endpoint (counted in ``stats.tokens_issued``)."""
        token = "00DDEMO!" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + (self.token_lifetime if lifetime is None else lifetime)
            self.stats.tokens_issued += 1
        return token

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
                record = _contact(len(records), account_ids)
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

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (the next data request gets a 401)."""
        with self._lock:
            self._tokens.clear()

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

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

    # -- token endpoint -------------------------------------------------------------------------------------------

    def _token(self, handler: _Handler, query: dict[str, str],
               body: bytes) -> tuple[int, dict[str, Any], dict[str, Any]]:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            params = dict(query)
            if body:
                ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if ctype != "application/x-www-form-urlencoded":
                    raise _oauth_error(400, "invalid_request",
                                       f"expected an application/x-www-form-urlencoded body, got {ctype or 'none'!r}")
                try:
                    params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
                except UnicodeDecodeError:
                    raise _oauth_error(400, "invalid_request", "the body is not UTF-8") from None
            self._authenticate_client(handler.headers.get("Authorization"), params)
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
        except _HttpResponse as exc:
            with self._lock:
                self.stats.token_errors += 1
            if exc.status == 401:
                # RFC 6749 §5.2: a 401 names the scheme the client can authenticate with.
                headers["WWW-Authenticate"] = 'Basic realm="rsd-demo"'
            return exc.status, exc.body, headers
        token = self.issue_token()
        issued_ms = str(int(time.time() * 1000))
        instance_url = handler.base_url()
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

    # -- authentication and faults for /api/ ------------------------------------------------------------------------

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
            raise _HttpResponse(401, {"error": "invalid_token", "error_description": reason},
                                {"WWW-Authenticate": f'Bearer realm="rsd-demo", error="invalid_token", '
                                                     f'error_description="{reason}"'})

    def _fault_due(self, kind: str, key: str, params: Mapping[str, str]) -> bool:
        """Whether a count-limited fault fires for this request (and count it)."""
        raw = params.get("fail_times", "1")
        with self._lock:
            seen = self._fault_counts[(kind, key)]
            if raw.lower() in ("all", "always", "-1"):
                limit = math.inf
            else:
                try:
                    limit = int(raw)
                except ValueError:
                    raise _error(400, f"fail_times must be an integer or 'all', got {raw!r}") from None
            if seen >= limit:
                return False
            self._fault_counts[(kind, key)] = seen + 1
            self.stats.faults[kind] += 1
            return True

    def _injected_failure(self, path: str, query: list[tuple[str, str]], params: Mapping[str, str]) -> None:
        """Raise the status fault asked for by ``status=`` or ``fail=``, if any."""
        if "status" in params:
            status = _status_param(params["status"], "status")
            with self._lock:
                self.stats.faults[f"status:{status}"] += 1
            raise _error(status, f"injected status {status} (status={status})")
        if "fail" in params:
            status = _status_param(params["fail"], "fail")
            key = _fault_key(path, query)
            if self._fault_due(f"fail:{status}", key, params):
                headers = {}
                if status in (429, 503):
                    headers["Retry-After"] = params.get("retry_after", "1")
                raise _HttpResponse(status, {"error": _ERROR_NAMES.get(status, "error"),
                                             "message": f"injected failure {status} (fail={status})"}, headers)

    # -- data endpoints -------------------------------------------------------------------------------------------
    # Each returns a _Page; `base` is this server's URL as the client addressed it.

    def _check_fail_page(self, params: Mapping[str, str], page: int) -> None:
        if "fail_page" in params:
            target = _int_param(params, "fail_page", 0, 0)
            if page == target:
                with self._lock:
                    self.stats.faults["fail_page"] += 1
                raise _error(500, f"injected failure on page {page} (fail_page={target})")

    def _slice_by_page(self, name: str, params: Mapping[str, str]) -> tuple[list[Any], int, int, int]:
        rows = self.data[name]
        page = _int_param(params, "page", 1, 1)
        per_page = _page_size(params, "per_page", DEFAULT_PAGE_SIZES[name])
        self._check_fail_page(params, page)
        total_pages = math.ceil(len(rows) / per_page)
        return rows[(page - 1) * per_page: page * per_page], page, per_page, total_pages

    def _accounts(self, params: dict[str, str], base: str) -> _Page:
        rows, page, per_page, total_pages = self._slice_by_page("accounts", params)
        doc = {"totalSize": len(self.data["accounts"]), "page": page, "per_page": per_page,
               "total_pages": total_pages, "done": page >= total_pages, "records": rows}
        return _Page(_json_bytes(doc), "application/json; charset=utf-8", page)

    def _contacts(self, params: dict[str, str], base: str) -> _Page:
        everything = self.data["contacts"]
        if params.get("updated_since"):
            since = _datetime_param(params, "updated_since")
            everything = [c for c in everything if _parse_datetime(c["updated_at"]) >= since]
        offset = _int_param(params, "offset", 0, 0)
        limit = _page_size(params, "limit", DEFAULT_PAGE_SIZES["contacts"])
        page = offset // limit + 1
        self._check_fail_page(params, page)
        doc = {"total": len(everything), "offset": offset, "limit": limit, "data": everything[offset: offset + limit]}
        return _Page(_json_bytes(doc), "application/json; charset=utf-8", page)

    def _events(self, params: dict[str, str], base: str) -> _Page:
        everything = self.data["events"]
        limit = _page_size(params, "limit", DEFAULT_PAGE_SIZES["events"])
        position = _decode_cursor(params["cursor"]) if params.get("cursor") else 0
        page = position // limit + 1
        self._check_fail_page(params, page)
        end = position + limit
        doc = {"items": everything[position:end], "next_cursor": _encode_cursor(end) if end < len(everything) else None}
        return _Page(_json_bytes(doc), "application/json; charset=utf-8", page)

    def _orders(self, params: dict[str, str], base: str) -> _Page:
        rows, page, per_page, total_pages = self._slice_by_page("orders", params)
        doc: dict[str, Any] = {"totalSize": len(self.data["orders"]), "done": page >= total_pages, "records": rows}
        if page < total_pages:
            doc["nextRecordsUrl"] = base + _with_page("/api/orders", params, page + 1)
        return _Page(_json_bytes(doc), "application/json; charset=utf-8", page)

    def _products(self, params: dict[str, str], base: str) -> _Page:
        rows, page, per_page, total_pages = self._slice_by_page("products", params)
        doc = {"count": len(self.data["products"]), "products": rows,
               "next": _with_page("/api/products", params, page + 1) if page < total_pages else None}
        return _Page(_json_bytes(doc), "application/json; charset=utf-8", page)

    def _invoices(self, params: dict[str, str], base: str) -> _Page:
        rows, page, per_page, total_pages = self._slice_by_page("invoices", params)
        links = []
        if page < total_pages:
            links.append(f'<{base}{_with_page("/api/invoices", params, page + 1)}>; rel="next"')
        if 1 < page <= total_pages + 1:
            links.append(f'<{base}{_with_page("/api/invoices", params, page - 1)}>; rel="prev"')
        links.append(f'<{base}{_with_page("/api/invoices", params, 1)}>; rel="first"')
        links.append(f'<{base}{_with_page("/api/invoices", params, max(total_pages, 1))}>; rel="last"')
        headers = {"Link": ", ".join(links), "X-Total-Count": str(len(self.data["invoices"]))}
        return _Page(_json_bytes(rows), "application/json; charset=utf-8", page, headers)

    def _inventory(self, params: dict[str, str], base: str) -> _Page:
        rows, page, per_page, total_pages = self._slice_by_page("inventory", params)
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<inventory page="{page}" pages="{total_pages}" '
                 f'total="{len(self.data["inventory"])}">']
        for item in rows:
            parts.append("<item>" + "".join(
                f"<{k}/>" if v == "" else f"<{k}>{xml_escape(str(v))}</{k}>"
                for k, v in item.items()) + "</item>")
        parts.append("</inventory>\n")
        return _Page("\n".join(parts).encode("utf-8"), "application/xml; charset=utf-8", page)

    # -- request dispatch -----------------------------------------------------------------------------------------

    def _record(self, handler: _Handler, path: str, query: list[tuple[str, str]], body: bytes, status: int) -> None:
        with self._lock:
            self.stats.requests[path] += 1
            self.stats.statuses[status] += 1
            self.history.append(RecordedRequest(handler.command, path, tuple(query),
                                                tuple(handler.headers.items()), body, status))


def _oauth_error(status: int, error: str, description: str) -> _HttpResponse:
    return _HttpResponse(status, {"error": error, "error_description": description})


def _status_param(raw: str, name: str) -> int:
    try:
        status = int(raw)
    except ValueError:
        raise _error(400, f"{name} must be an HTTP status code, got {raw!r}") from None
    if not 400 <= status <= 599:
        raise _error(400, f"{name} must be a 4xx or 5xx status, got {status}")
    return status


def _fault_key(path: str, query: list[tuple[str, str]]) -> str:
    return path + "?" + urlencode(sorted((k, v) for k, v in query if k not in FAULT_PARAMS))


def _with_page(path: str, params: Mapping[str, str], page: int) -> str:
    """path?page=N plus the request's other parameters (page first, then the rest in their order)."""
    rest = [(k, v) for k, v in params.items() if k != "page"]
    return f"{path}?{urlencode([('page', str(page)), *rest])}"


def _json_bytes(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
        self._send(status, _json_bytes(doc), "application/json; charset=utf-8", headers)

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
                    raise _HttpResponse(405, {"error": "invalid_request", "error_description": "use POST"},
                                        {"Allow": "POST"})
                status, doc, headers = self.demo._token(self, params, body)
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
                    raise _HttpResponse(exc.status, exc.body) from None
                if task_doc is None:
                    self._send(status, b"", "application/json; charset=utf-8", headers)
                else:
                    self._send_json(status, task_doc, headers)
                return
            route = self.demo._routes.get(path)
            if route is None:
                raise _error(404, f"no such endpoint: {path}")
            if self.command not in ("GET", "HEAD"):
                raise _error(405, f"{self.command} is not supported on {path}; the demo API is read-only",
                             Allow="GET, HEAD")
            if self.demo.require_auth:
                self.demo._check_bearer(self.headers.get("Authorization"))
            self.demo._injected_failure(path, query, params)
            page = route(params, self.base_url())
            truncate = params.get("truncate", "0") not in ("", "0", "false") and \
                self.demo._fault_due("truncate", _fault_key(path, query), params)
            status = 200
            self._send(200, page.body, page.content_type, page.headers, truncate=truncate)
        except _HttpResponse as exc:
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
