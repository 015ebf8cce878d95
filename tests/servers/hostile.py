"""Hostile servers on 127.0.0.1 for the security tests (issue #12): an API that sends its client elsewhere, and a
capture server that records everything it is sent.

`Capture` answers every request with a page of two items and no next page, and keeps the raw request (request line,
headers, body) of each, so a test can search them for credentials. `Elsewhere` is an API (the trusted origin) whose
`/items` sends the client to another origin by one of `WAYS`: an HTTP redirect (301, 302, 303, 307, 308), a next URL
in the body (`$.next`), a `Link: <...>; rel="next"` header, or a value (`$.cursor`) that a script turns into the next
request's URI. `Redirector` answers every request with a redirect (a token endpoint gone hostile).
"""
from __future__ import annotations

import json
import threading

from werkzeug.wrappers import Request, Response

REDIRECTS = ("301", "302", "303", "307", "308")
WAYS = REDIRECTS + ("next", "link", "value")

ITEMS = [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}]


def _page(items, **extra) -> bytes:
    return json.dumps({"items": items, **extra}).encode()


class Recorder:
    """Keeps the raw text of every request a WSGI app receives."""

    def __init__(self):
        self.requests: list[str] = []
        self._lock = threading.Lock()

    def record(self, request: Request) -> None:
        line = f"{request.method} {request.full_path if request.query_string else request.path} HTTP/1.1"
        head = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        body = request.get_data().decode("utf-8", errors="replace")
        with self._lock:
            self.requests.append(f"{line}\n{head}\n\n{body}")

    def text(self) -> str:
        with self._lock:
            return "\n\n".join(self.requests)


class Capture(Recorder):
    """Records every request; answers a page of `ITEMS` (ids 101, 102) with no next page."""

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.record(request)
        items = [{"id": 100 + i["id"], "name": "captured " + i["name"]} for i in ITEMS]
        return Response(_page(items), content_type="application/json")(environ, start_response)


class Elsewhere(Recorder):
    """The trusted API. `GET /items` (page 1) leads to `target` (a base URL) by `way`; `GET /token` is an OAuth
    token endpoint that issues `token`."""

    def __init__(self, way: str, target: str = "", token: str = "at-elsewhere-Hk38dPq"):
        super().__init__()
        if way not in WAYS:
            raise ValueError(way)
        self.way, self.target, self.token = way, target, token

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.record(request)
        if request.path == "/token":
            body = json.dumps({"access_token": self.token, "token_type": "Bearer", "expires_in": 3600})
            return Response(body, content_type="application/json")(environ, start_response)
        elsewhere = f"{self.target}/items?page=2"
        way = self.way
        if way in REDIRECTS:
            response = Response(b"", status=int(way), headers={"Location": elsewhere})
        elif way == "next":
            response = Response(_page(ITEMS, next=elsewhere), content_type="application/json")
        elif way == "link":
            response = Response(_page(ITEMS), content_type="application/json",
                                headers={"Link": f'<{elsewhere}>; rel="next"'})
        else:  # value: a field the script turns into the next URI
            response = Response(_page(ITEMS, cursor=elsewhere), content_type="application/json")
        return response(environ, start_response)


class Redirector(Recorder):
    """Answers every request with `status` and `Location: target`."""

    def __init__(self, status: int, target: str):
        super().__init__()
        self.status, self.target = status, target

    def __call__(self, environ, start_response):
        self.record(Request(environ))
        return Response(b"", status=self.status, headers={"Location": self.target})(environ, start_response)
