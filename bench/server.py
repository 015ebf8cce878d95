"""Benchmark API: pre-rendered JSON pages, so that the server is not what a benchmark measures.

Standard library only. Every response (status line, headers and body) is rendered once at start-up; a request costs
one parse of the request line and headers and one socket write. HTTP/1.1 keep-alive with Content-Length, so a
``requests.Session`` reuses one connection for every page.

    GET /bench/records?page=N    {"records": [...1000 records of 8 fields...], "page": N, "total_pages": 200}
                                 (pages past the end: "records": [], which also stops script-driven paging)
    GET /health                  {"status": "ok"}

Run it: ``python bench/server.py --port 8766`` (``--pages``, ``--per-page`` change the shape), or from Python:

    from bench.server import BenchServer   # or load the file by path
    with BenchServer() as srv:
        srv.url, srv.requests, srv.total_records

`PageServer` is the machinery (pre-rendered pages at one path, a request counter, an optional latency); bench/
workload.py serves the issue #8 people pages with it.

The profile for it is ``bench/Records.rsd`` (``-o BaseURL=<srv.url>``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, TypeVar
from urllib.parse import parse_qsl, urlsplit

__all__ = ["PageServer", "BenchServer", "render_page", "main"]

DEFAULT_PAGES = 200
DEFAULT_PER_PAGE = 1000
_CATEGORIES = ("alpha", "beta", "gamma", "delta", "epsilon")
_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _record(n: int) -> dict:
    h = ((n + 1) * 2654435761) % 4294967296
    return {
        "id": n + 1,
        "key": f"rec-{h:08x}-{n:07d}",
        "name": f"Record {n + 1}",
        "email": f"user{n + 1}@example.com",
        "amount": round((h % 1_000_000) / 100, 2),
        "active": h % 3 != 0,
        "created_at": (_EPOCH + timedelta(seconds=n * 37)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "category": _CATEGORIES[h % len(_CATEGORIES)],
    }


def render_page(page: int, pages: int = DEFAULT_PAGES, per_page: int = DEFAULT_PER_PAGE) -> bytes:
    """The JSON body of one page (deterministic)."""
    start = (page - 1) * per_page
    records = [_record(n) for n in range(start, start + per_page)] if 1 <= page <= pages else []
    return json.dumps({"records": records, "page": page, "total_pages": pages}, separators=(",", ":")).encode()


def _response(status: str, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nServer: rsd-bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


_S = TypeVar("_S", bound="PageServer")


class PageServer:
    """Pre-rendered JSON pages at `path?page=N` in a daemon thread; a context manager. ``requests`` counts the
    requests served; ``latency`` delays every answer by that many seconds (the server answers concurrently).
    `render(page, pages, per_page)` gives a page's body; pages 1 to `pages + extra_pages` are rendered at start-up."""

    def __init__(self, path: str, render: Callable[[int, int, int], bytes], *, pages: int, per_page: int,
                 latency: float = 0.0, extra_pages: int = 0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.path, self._render = path, render
        self.pages, self.per_page, self.latency = pages, per_page, latency
        started = time.perf_counter()
        self._responses = {page: _response("200 OK", render(page, pages, per_page))
                           for page in range(1, pages + 1 + extra_pages)}
        self.render_seconds = time.perf_counter() - started
        self.body_bytes = sum(len(r) for r in self._responses.values())
        self._requests = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), type("PageHandler", (_Handler,), {"pages": self}))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="rsd-bench-server", daemon=True)
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def total_records(self) -> int:
        return self.pages * self.per_page

    @property
    def requests(self) -> int:
        return self._requests

    def response_for(self, target: str) -> bytes:
        split = urlsplit(target)
        if split.path == "/health":
            return _response("200 OK", b'{"status":"ok"}')
        if split.path != self.path:
            return _response("404 Not Found", b'{"error":"not_found"}')
        try:
            page = int(dict(parse_qsl(split.query)).get("page", "1"))
        except ValueError:
            return _response("400 Bad Request", b'{"error":"bad_request","message":"page must be an integer"}')
        cached = self._responses.get(page)
        return cached if cached is not None else _response("200 OK", self._render(page, self.pages, self.per_page))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BenchServer(PageServer):
    """The benchmark API (`/bench/records`, bench/Records.rsd)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, pages: int = DEFAULT_PAGES,
                 per_page: int = DEFAULT_PER_PAGE, latency: float = 0.0) -> None:
        super().__init__("/bench/records", render_page, pages=pages, per_page=per_page, latency=latency, host=host,
                         port=port)


class _Handler(BaseHTTPRequestHandler):
    pages: PageServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        # A request body on a GET would desynchronise keep-alive: drain it.
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        srv = self.pages
        with srv._lock:
            srv._requests += 1
        if srv.latency:
            time.sleep(srv.latency)
        self.wfile.write(srv.response_for(self.path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="rsd benchmark API (pre-rendered pages)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--pages", type=int, default=DEFAULT_PAGES)
    parser.add_argument("--per-page", type=int, default=DEFAULT_PER_PAGE)
    args = parser.parse_args(argv)
    with BenchServer(args.host, args.port, pages=args.pages, per_page=args.per_page) as srv:
        print(f"rsd bench API on {srv.url}/bench/records?page=1..{srv.pages} "
              f"({srv.total_records:,} records, {srv.body_bytes / 1e6:.1f} MB, rendered in {srv.render_seconds:.2f}s)")
        print(f"profile: rsd run bench/Records.rsd -o BaseURL={srv.url} -f jsonl --output /dev/null", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
