"""The issue #8 workload: people pages with nested values, pre-rendered, served with next-URL paging or a total.

Standard library only. Every response (status line, headers, body) is rendered once at start-up, so a request costs
the server one parse of its request line and one socket write, and what a benchmark measures is the client.

    GET /people?page=N    {"people": [...per_page records...], "page": N, "total_pages": P,
                           "next": "/people?page=N+1" (null on the last page)}

A record: id (integer), name, email, address {street, city, zip}, created_at (ISO 8601 date-time), active
(boolean), score (double), tags (an array of 1-3 strings). `People.rsd` maps 8 columns through `other:xPath`:
`address/city` nested, the date-time, the boolean, the double and the array kept whole as aggregate JSON text.
`latency=S` delays every answer by S seconds (the server answers requests concurrently).

    from workload import PeopleServer
    with PeopleServer(pages=200, per_page=1000) as srv:
        srv.url, srv.requests
"""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

_CITIES = ("Lisbon", "Porto", "Zürich", "Kraków", "Oslo", "Málaga", "Gent", "Turku")
_TAGS = ("new", "vip", "trial", "partner", "churn-risk", "beta")
_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def person(n: int) -> dict:
    h = ((n + 1) * 2654435761) % 4294967296
    return {
        "id": n + 1,
        "name": f"Person {n + 1}",
        "email": f"person{n + 1}@example.com",
        "address": {"street": f"{h % 997} Main Street", "city": _CITIES[h % len(_CITIES)], "zip": f"{h % 99999:05d}"},
        "created_at": (_EPOCH + timedelta(seconds=n * 37)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "active": h % 3 != 0,
        "score": round((h % 1_000_000) / 1000, 3),
        "tags": [_TAGS[(h >> k) % len(_TAGS)] for k in range(1 + h % 3)],
    }


def render_page(page: int, pages: int, per_page: int) -> bytes:
    start = (page - 1) * per_page
    people = [person(n) for n in range(start, start + per_page)] if 1 <= page <= pages else []
    body = {"people": people, "page": page, "total_pages": pages,
            "next": f"/people?page={page + 1}" if page < pages else None}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _response(status: str, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nServer: rsd-bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


class PeopleServer:
    """The workload's API in a daemon thread; a context manager. `requests` counts the requests served."""

    def __init__(self, *, pages: int = 200, per_page: int = 1000, latency: float = 0.0) -> None:
        self.pages, self.per_page, self.latency = pages, per_page, latency
        self._responses = {p: _response("200 OK", render_page(p, pages, per_page)) for p in range(1, pages + 2)}
        self.requests = 0
        self._lock = threading.Lock()
        handler = type("PeopleHandler", (_Handler,), {"server_of": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, target: str) -> bytes:
        split = urlsplit(target)
        if split.path != "/people":
            return _response("404 Not Found", b'{"error":"not_found"}')
        page = int(dict(parse_qsl(split.query)).get("page", "1"))
        return self._responses.get(page) or _response("200 OK", render_page(page, self.pages, self.per_page))

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "PeopleServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    server_of: PeopleServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server_of
        with srv._lock:
            srv.requests += 1
        if srv.latency:
            time.sleep(srv.latency)
        self.wfile.write(srv.answer(self.path))
