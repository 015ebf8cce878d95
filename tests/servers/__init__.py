"""Real HTTP servers on 127.0.0.1 for the tests: never a mocked `requests`.

`serve(wsgi_app)` runs a WSGI app (werkzeug's threaded dev server) on a free port and yields its base
URL; `serve_raw(handler)` runs a raw socket server for what WSGI cannot express (a body shorter than
its Content-Length); `Scripted` is a WSGI app that answers from a script of responses and records
the time of every request; `free_port()` is a port nothing listens on.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Callable, Iterator, Optional

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class _QuietHandler(WSGIRequestHandler):
    def log(self, *args, **kwargs):  # keep pytest output clean
        pass


@contextlib.contextmanager
def serve(app, ssl_context: Optional[tuple[str, str]] = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1:<free port> in a thread; yields `http://127.0.0.1:PORT` (`https://` with an
    `ssl_context` of (certificate file, key file))."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def serve_raw(handle: Callable[[socket.socket, bytes], None]) -> Iterator[str]:
    """Accept connections; read one request's head; call `handle(conn, head)`; close. Yields the base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                try:
                    handle(conn, head)
                except OSError:
                    pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Scripted:
    """A WSGI app answering each request with the next scripted response; the last one repeats.

    A response is `(status, headers_dict, body_bytes_or_str)`. `requests` records (monotonic time,
    method, full URL, headers dict, body bytes) of every request.
    """

    def __init__(self, *responses):
        self.script = list(responses) or [(200, {}, b"{}")]
        self.requests: list[tuple[float, str, str, dict, bytes]] = []
        self._lock = threading.Lock()

    @property
    def times(self) -> list[float]:
        return [r[0] for r in self.requests]

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self.requests.append((time.monotonic(), request.method, request.url, dict(request.headers),
                                  request.get_data()))
            index = min(len(self.requests) - 1, len(self.script) - 1)
            status, headers, body = self.script[index]
        if callable(body):
            body = body(request)
        response = Response(body, status=status, headers=headers)
        return response(environ, start_response)


def raw_response(status_line: bytes, headers: dict, body: bytes, *, content_length: Optional[int] = None) -> bytes:
    """An HTTP/1.1 response as bytes; `content_length` may lie (a truncated body)."""
    lines = [b"HTTP/1.1 " + status_line]
    length = len(body) if content_length is None else content_length
    for k, v in {**headers, "Content-Length": str(length), "Connection": "close"}.items():
        lines.append(f"{k}: {v}".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
