"""Cassettes: every HTTP exchange of a run kept in a folder (`--record DIR`), and a run answered from it
(`--replay DIR`) with no network (docs/reference/contract.md §10, docs/testing.md).

Owns: the two transport adapters mounted on the run's `requests.Session` (`RecordingAdapter`, `ReplayAdapter`,
made by `open_transport`), the cassette's format (`DIR/cassette.json`, the index, and one JSON file per exchange:
request line, headers and body; status, headers and body), scrubbing (every secret the run's `Redactor` knows
replaced by value, as in the logs; credential headers masked; form fields and query parameters named like
credentials masked), and matching a replayed request to a recording (method, URL and body, compared scrubbed). Must
not: know the profile or the trust policy (they act before a request reaches the transport), or leave a secret on
disk: an exchange is written once the next one starts or the run ends, when the secrets its response carried (a
token) are known, and files written before a later secret was learned are scrubbed again when the run ends.

Replay serves the recordings of one request in the order they were made and repeats the last when the run asks
more often (a token refreshed more often, a page asked again after a 401). Bodies are kept decoded: a recorded
`Content-Encoding` is dropped and `Content-Length` follows the scrubbed body.
"""
from __future__ import annotations

import base64
import io
import json
import re
import threading
from collections import deque
from pathlib import Path
from typing import Any, Iterable, Optional, Union
from urllib.parse import parse_qsl, quote_plus, urlsplit

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from ..atomic import write_atomically
from ..errors import HttpError, InvalidInputError
from ..secrets import is_secret_query_name
from .body import DEFAULT_MAX_RESPONSE_BYTES, read_body
from .redact import MASK, Redactor
from .transport import TransportAdapter

INDEX = "cassette.json"
FORMAT = 1
#: names in request bodies shown in a miss message, at most
SHOWN_BODY = 200


# ------------------------------------------------------------------------------------------------ scrubbing

def _text_or_base64(data: Optional[bytes]) -> tuple[Optional[str], Optional[str]]:
    if not data:
        return None, None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, base64.b64encode(data).decode("ascii")


def scrub_request_body(body: Union[bytes, str, None], content_type: str, redactor: Redactor) -> Optional[str]:
    """A request body as a cassette keeps and compares it: form fields named like credentials masked, then every
    known secret; a body that is no UTF-8 text as base64 (`b64:` prefix)."""
    if body is None or body == b"" or body == "":
        return None
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    text, b64 = _text_or_base64(data)
    if text is None:
        return "b64:" + (b64 or "")
    if "x-www-form-urlencoded" in (content_type or "").lower():
        pairs = parse_qsl(text, keep_blank_values=True)
        text = "&".join(f"{quote_plus(k)}=" + (MASK if v and is_secret_query_name(k) else quote_plus(v))
                        for k, v in pairs)
    return redactor.redact(text)


def _pairs(headers: Any) -> list[tuple[str, str]]:
    items = headers.items() if hasattr(headers, "items") else headers
    return [(str(k), str(v)) for k, v in items]


def _lines(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """Headers as a cassette writes them: `Name: value` lines (readable, and a diff shows one header a line)."""
    return [f"{k}: {v}" for k, v in pairs]


def _unlines(lines: Iterable[str]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        name, _, value = line.partition(":")
        out.append((name, value[1:] if value.startswith(" ") else value))
    return out


def _header(pairs: list[tuple[str, str]], name: str) -> Optional[str]:
    low = name.lower()
    return next((v for k, v in pairs if k.lower() == low), None)


def _without(pairs: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    drop = {n.lower() for n in names}
    return [(k, v) for k, v in pairs if k.lower() not in drop]


def scrub_response(status: int, reason: str, headers: Iterable[tuple[str, str]], body: bytes,
                   redactor: Redactor) -> dict[str, Any]:
    """A response as a cassette keeps it: headers redacted as the logs show them, the decoded body with every known
    secret replaced (and nothing else changed), `Content-Length` kept in step with the body."""
    pairs = redactor.redact_headers(list(headers))
    encoding = (_header(pairs, "Content-Encoding") or "identity").strip().lower()
    declared = _header(pairs, "Content-Length")
    if encoding not in ("", "identity"):  # the body is kept decoded: its length is the decoded length
        pairs = _without(pairs, "Content-Encoding")
        declared = str(len(body)) if declared is not None else None
    return _with_body({"status": status, "reason": reason}, pairs, body, declared, redactor)


def _with_body(resp: dict[str, Any], pairs: list[tuple[str, str]], raw: bytes, declared: Optional[str],
               redactor: Redactor) -> dict[str, Any]:
    text, b64 = _text_or_base64(raw)
    if text is not None:
        text = redactor.redact_known(text)
        kept = text.encode("utf-8")
    else:
        kept = raw
    pairs = _without(pairs, "Content-Length")
    if declared is not None and declared.strip().isdigit():
        # a shortfall (a body cut off in transit) stays a shortfall; a scrubbed secret changes no length check
        pairs.append(("Content-Length", str(int(declared) - (len(raw) - len(kept)))))
    resp.update(headers=_lines(pairs), body=text, body_base64=b64)
    return resp


def _body_bytes(part: dict[str, Any]) -> bytes:
    if part.get("body") is not None:
        return str(part["body"]).encode("utf-8")
    if part.get("body_base64"):
        return base64.b64decode(str(part["body_base64"]))
    return b""


def _rescrub(exchange: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """An exchange scrubbed again with secrets learned after it was written."""
    req = exchange["request"]
    req["url"] = redactor.redact_url(req["url"])
    req["headers"] = _lines(redactor.redact_headers(_unlines(req["headers"])))
    if req.get("body") is not None and not req["body"].startswith("b64:"):
        req["body"] = redactor.redact(req["body"])
    resp = exchange["response"]
    pairs = redactor.redact_headers(_unlines(resp["headers"]))
    exchange["response"] = _with_body(resp, pairs, _body_bytes(resp), _header(pairs, "Content-Length"), redactor)
    return exchange


def _slug(method: str, url: str) -> str:
    path = urlsplit(url).path.strip("/") or "root"
    return f"{method.upper()}-" + (re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")[-48:] or "root")


# ------------------------------------------------------------------------------------------------ recording

class RecordingAdapter(TransportAdapter):
    """Sends as usual (through connections a `Timeout` deadline reaches) and keeps every completed exchange in
    `folder`, scrubbed. An exchange whose body could not be read (a connection cut mid-body) raises as it would have
    and is not kept: the retry that follows is."""

    def __init__(self, folder: Union[str, Path], redactor: Redactor):
        super().__init__()
        self.folder = Path(folder)
        self.redactor = redactor
        self._lock = threading.Lock()
        self._pending: Optional[tuple[int, Any, Any, bytes]] = None
        self._written: list[tuple[str, int]] = []  # file name, secrets known when it was written
        self._count = 0
        self._closed = False
        #: the decoded size a response may have (the run's MaxResponseBytes: HttpClient sets it when it mounts this)
        self.max_response_bytes = DEFAULT_MAX_RESPONSE_BYTES
        self._prepare_folder()

    def _prepare_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            index = self.folder / INDEX
            if index.is_file():  # recording again: the previous recording's files go
                for name in json.loads(index.read_text(encoding="utf-8")).get("exchanges", []):
                    (self.folder / Path(name).name).unlink(missing_ok=True)
                index.unlink()
        except (OSError, ValueError) as e:
            raise InvalidInputError(f"--record {self.folder}: cannot prepare the folder ({e})") from None

    def send(self, request: PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: Any = None) -> Response:
        resp = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        try:
            # decoded and bounded as the client reads a body (a hostile API's endless or inflating body stops at
            # MaxResponseBytes, which the client sets here); a cut-off one raises, as it would in the session
            body = read_body(resp.raw, resp.headers.get("Content-Encoding"), self.max_response_bytes)
        except BaseException:
            resp.close()
            raise
        resp._content = body
        resp._content_consumed = True  # type: ignore[attr-defined]
        release = getattr(resp.raw, "release_conn", None)
        if release is not None:
            release()
        with self._lock:
            self._flush()
            self._count += 1
            self._pending = (self._count, request, resp, body)
        return resp

    def _flush(self) -> None:
        """Write the pending exchange: the secrets its response carried (a token) are known by now."""
        if self._pending is None:
            return
        n, request, resp, body = self._pending
        self._pending = None
        redactor = self.redactor
        raw_headers = getattr(getattr(resp, "raw", None), "headers", None) or resp.headers
        exchange = {
            "request": {
                "method": request.method,
                "url": redactor.redact_url(request.url),
                "headers": _lines(redactor.redact_headers(_pairs(request.headers))),
                "body": scrub_request_body(request.body, request.headers.get("Content-Type", ""), redactor),
            },
            "response": scrub_response(resp.status_code, resp.reason or "", _pairs(raw_headers), body, redactor),
        }
        name = f"{n:04d}-{_slug(request.method, exchange['request']['url'])}.json"
        self._write(name, exchange)
        self._written.append((name, len(redactor)))

    def _write(self, name: str, doc: dict[str, Any]) -> None:
        path = self.folder / name
        write_atomically(path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._flush()
                known = len(self.redactor)
                for name, secrets_then in self._written:
                    if secrets_then < known:  # a secret learned since: scrub this file again
                        path = self.folder / name
                        self._write(name, _rescrub(json.loads(path.read_text(encoding="utf-8")), self.redactor))
                self._write(INDEX, {"rsd_cassette": FORMAT, "exchanges": [name for name, _ in self._written]})
        super().close()


# ------------------------------------------------------------------------------------------------ replaying

class CassetteMiss(HttpError):
    """A replayed run asked for something never recorded: the run differs from the recorded one, which no
    `api:catch` of the profile may paper over. Exit 1."""

    catchable = False


class ReplayAdapter(HTTPAdapter):
    """Answers every request from a cassette; sends nothing. A request with no recording raises `HttpError`
    (exit 1) naming it."""

    def __init__(self, folder: Union[str, Path], redactor: Redactor):
        super().__init__()
        self.folder = Path(folder)
        self.redactor = redactor
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str, Optional[str]], deque[dict[str, Any]]] = {}
        self._recorded: list[tuple[str, str]] = []  # (method, url) of every recording, for miss messages
        index = self.folder / INDEX
        try:
            names = json.loads(index.read_text(encoding="utf-8"))["exchanges"]
            for name in names:
                exchange = json.loads((self.folder / Path(name).name).read_text(encoding="utf-8"))
                req = exchange["request"]
                key = (req["method"].upper(), req["url"], req.get("body"))
                self._queues.setdefault(key, deque()).append(exchange["response"])
                self._recorded.append((req["method"].upper(), req["url"]))
        except FileNotFoundError as e:
            raise InvalidInputError(f"--replay {self.folder}: no cassette there ({Path(e.filename).name} is "
                                    f"missing)", hint="record one first: rsd run ... --record DIR") from None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InvalidInputError(f"--replay {self.folder}: the cassette cannot be read ({type(e).__name__}: "
                                    f"{e})") from None

    def send(self, request: PreparedRequest, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: Any = None) -> Response:
        from urllib3._collections import HTTPHeaderDict
        from urllib3.response import HTTPResponse

        method = (request.method or "GET").upper()
        url = self.redactor.redact_url(request.url)
        body = scrub_request_body(request.body, request.headers.get("Content-Type", ""), self.redactor)
        with self._lock:
            queue = self._queues.get((method, url, body))
            if not queue:
                raise self._miss(method, url, body)
            recorded = queue.popleft() if len(queue) > 1 else queue[0]
        headers = HTTPHeaderDict(_unlines(recorded["headers"]))
        raw = HTTPResponse(body=io.BytesIO(_body_bytes(recorded)), headers=headers, status=int(recorded["status"]),
                           reason=recorded.get("reason") or None, preload_content=False, decode_content=False,
                           request_url=request.url)
        return self.build_response(request, raw)

    def _miss(self, method: str, url: str, body: Optional[str]) -> CassetteMiss:
        path = urlsplit(url).path
        near = [u for m, u in self._recorded if m == method and urlsplit(u).path == path]
        said = f" with body {body[:SHOWN_BODY]!r}" if body else ""
        text = (f"--replay {self.folder}: no recorded exchange for {method} {url}{said}; the cassette holds "
                f"{len(self._recorded)} exchange{'s' if len(self._recorded) != 1 else ''}")
        if near:
            text += f" ({len(near)} for {method} {path}, e.g. {near[-1]})"
        return CassetteMiss(text, url=url, hint="the profile, its options or the API changed since the recording: "
                                             "record it again with --record DIR")


def open_transport(*, record: Optional[Union[str, Path]] = None, replay: Optional[Union[str, Path]] = None,
                   redactor: Redactor) -> Optional[HTTPAdapter]:
    """The transport adapter for `--record DIR` or `--replay DIR` (None for neither)."""
    if record is not None and replay is not None:
        raise InvalidInputError("--record and --replay cannot be used together")
    if record is not None:
        return RecordingAdapter(record, redactor)
    if replay is not None:
        return ReplayAdapter(replay, redactor)
    return None
