"""The demo API's data endpoints: seven paging styles over the datasets, and fault injection.

Owns: the endpoint functions (`DataEndpoints`, mixed into `DemoServer`: page number, offset, cursor, absolute and
relative next URLs, the `Link` header, XML), page sizes and their cap, the fault parameters (`fail`, `fail_times`,
`retry_after`, `truncate`, `status`, `fail_page`), the error documents of the API and the server's counters
(`DemoStats`). Must not: issue or check tokens (that is `oauth.py`), build the data (`data.py`), or import anything
outside the standard library.
"""
from __future__ import annotations

import base64
import binascii
import collections
import json
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlencode
from xml.sax.saxutils import escape as xml_escape

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


class HttpResponse(Exception):
    """Raised inside a handler to answer with an error document right away."""

    def __init__(self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def error_response(status: int, message: str, error: str | None = None, **headers: str) -> HttpResponse:
    return HttpResponse(status, {"error": error or _ERROR_NAMES.get(status, "error"), "message": message},
                         {k.replace("_", "-"): v for k, v in headers.items()})


def _int_param(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise error_response(400, f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise error_response(400, f"{name} must be >= {minimum}, got {value}")
    return value


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _datetime_param(params: Mapping[str, str], name: str) -> datetime:
    raw = params[name]
    try:
        return _parse_datetime(raw)
    except ValueError:
        raise error_response(400, f"{name} must be an ISO 8601 date and time, got {raw!r}") from None


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
        raise error_response(400, f"invalid cursor {cursor!r}", "invalid_cursor") from None


@dataclass
class Page:
    """What a data endpoint produced before it is serialised."""

    body: bytes
    content_type: str
    page: int
    headers: dict[str, str] = field(default_factory=dict)


class DataEndpoints:
    """The data endpoints and the fault injection of `DemoServer` (a mixin: the server holds the state below)."""

    data: dict[str, list[dict[str, Any]]]
    stats: DemoStats
    _lock: threading.Lock
    _fault_counts: collections.Counter[Any]

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
                    raise error_response(400, f"fail_times must be an integer or 'all', got {raw!r}") from None
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
            raise error_response(status, f"injected status {status} (status={status})")
        if "fail" in params:
            status = _status_param(params["fail"], "fail")
            key = fault_key(path, query)
            if self._fault_due(f"fail:{status}", key, params):
                headers = {}
                if status in (429, 503):
                    headers["Retry-After"] = params.get("retry_after", "1")
                raise HttpResponse(status, {"error": _ERROR_NAMES.get(status, "error"),
                                             "message": f"injected failure {status} (fail={status})"}, headers)

    # -- data endpoints -------------------------------------------------------------------------------------------
    # Each returns a Page; `base` is this server's URL as the client addressed it.

    def _check_fail_page(self, params: Mapping[str, str], page: int) -> None:
        if "fail_page" in params:
            target = _int_param(params, "fail_page", 0, 0)
            if page == target:
                with self._lock:
                    self.stats.faults["fail_page"] += 1
                raise error_response(500, f"injected failure on page {page} (fail_page={target})")

    def _slice_by_page(self, name: str, params: Mapping[str, str], rows: list[Any] | None = None
                       ) -> tuple[list[Any], int, int, int]:
        rows = self.data[name] if rows is None else rows
        page = _int_param(params, "page", 1, 1)
        per_page = _page_size(params, "per_page", DEFAULT_PAGE_SIZES[name])
        self._check_fail_page(params, page)
        total_pages = math.ceil(len(rows) / per_page)
        return rows[(page - 1) * per_page: page * per_page], page, per_page, total_pages

    def _accounts(self, params: dict[str, str], base: str) -> Page:
        everything = self.data["accounts"]
        if "industry" in params:  # a filter, for the query slicers and Spark's partitionBy
            everything = [a for a in everything if a["Industry"] == params["industry"]]
        rows, page, per_page, total_pages = self._slice_by_page("accounts", params, everything)
        doc = {"totalSize": len(everything), "page": page, "per_page": per_page,
               "total_pages": total_pages, "done": page >= total_pages, "records": rows}
        return Page(json_bytes(doc), "application/json; charset=utf-8", page)

    def _contacts(self, params: dict[str, str], base: str) -> Page:
        everything = self.data["contacts"]
        if params.get("updated_since"):
            since = _datetime_param(params, "updated_since")
            everything = [c for c in everything if _parse_datetime(c["updated_at"]) >= since]
        offset = _int_param(params, "offset", 0, 0)
        limit = _page_size(params, "limit", DEFAULT_PAGE_SIZES["contacts"])
        page = offset // limit + 1
        self._check_fail_page(params, page)
        doc = {"total": len(everything), "offset": offset, "limit": limit, "data": everything[offset: offset + limit]}
        return Page(json_bytes(doc), "application/json; charset=utf-8", page)

    def _events(self, params: dict[str, str], base: str) -> Page:
        everything = self.data["events"]
        limit = _page_size(params, "limit", DEFAULT_PAGE_SIZES["events"])
        position = _decode_cursor(params["cursor"]) if params.get("cursor") else 0
        page = position // limit + 1
        self._check_fail_page(params, page)
        end = position + limit
        doc = {"items": everything[position:end], "next_cursor": _encode_cursor(end) if end < len(everything) else None}
        return Page(json_bytes(doc), "application/json; charset=utf-8", page)

    def _orders(self, params: dict[str, str], base: str) -> Page:
        rows, page, per_page, total_pages = self._slice_by_page("orders", params)
        doc: dict[str, Any] = {"totalSize": len(self.data["orders"]), "done": page >= total_pages, "records": rows}
        if page < total_pages:
            doc["nextRecordsUrl"] = base + _with_page("/api/orders", params, page + 1)
        return Page(json_bytes(doc), "application/json; charset=utf-8", page)

    def _products(self, params: dict[str, str], base: str) -> Page:
        rows, page, per_page, total_pages = self._slice_by_page("products", params)
        doc = {"count": len(self.data["products"]), "products": rows,
               "next": _with_page("/api/products", params, page + 1) if page < total_pages else None}
        return Page(json_bytes(doc), "application/json; charset=utf-8", page)

    def _invoices(self, params: dict[str, str], base: str) -> Page:
        rows, page, per_page, total_pages = self._slice_by_page("invoices", params)
        links = []
        if page < total_pages:
            links.append(f'<{base}{_with_page("/api/invoices", params, page + 1)}>; rel="next"')
        if 1 < page <= total_pages + 1:
            links.append(f'<{base}{_with_page("/api/invoices", params, page - 1)}>; rel="prev"')
        links.append(f'<{base}{_with_page("/api/invoices", params, 1)}>; rel="first"')
        links.append(f'<{base}{_with_page("/api/invoices", params, max(total_pages, 1))}>; rel="last"')
        headers = {"Link": ", ".join(links), "X-Total-Count": str(len(self.data["invoices"]))}
        return Page(json_bytes(rows), "application/json; charset=utf-8", page, headers)

    def _inventory(self, params: dict[str, str], base: str) -> Page:
        rows, page, per_page, total_pages = self._slice_by_page("inventory", params)
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<inventory page="{page}" pages="{total_pages}" '
                 f'total="{len(self.data["inventory"])}">']
        for item in rows:
            parts.append("<item>" + "".join(
                f"<{k}/>" if v == "" else f"<{k}>{xml_escape(str(v))}</{k}>"
                for k, v in item.items()) + "</item>")
        parts.append("</inventory>\n")
        return Page("\n".join(parts).encode("utf-8"), "application/xml; charset=utf-8", page)


def _status_param(raw: str, name: str) -> int:
    try:
        status = int(raw)
    except ValueError:
        raise error_response(400, f"{name} must be an HTTP status code, got {raw!r}") from None
    if not 400 <= status <= 599:
        raise error_response(400, f"{name} must be a 4xx or 5xx status, got {status}")
    return status


def fault_key(path: str, query: list[tuple[str, str]]) -> str:
    return path + "?" + urlencode(sorted((k, v) for k, v in query if k not in FAULT_PARAMS))


def _with_page(path: str, params: Mapping[str, str], page: int) -> str:
    """path?page=N plus the request's other parameters (page first, then the rest in their order)."""
    rest = [(k, v) for k, v in params.items() if k != "page"]
    return f"{path}?{urlencode([('page', str(page)), *rest])}"


def json_bytes(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
