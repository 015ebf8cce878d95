"""Trust: where a run's credentials may go (origins) and what a run may read from disk (`file://`).

Owns: the one rule for credentials (docs/reference/contract.md §11). The trusted origins (scheme, host,
port) are the origin of the run's first API request plus the `--allow-origin` URLs. A request to any other
origin, however it was reached (a redirect, a next URL, a `Link` header, a URI a script built from response
values), carries no credential rsd added: `HttpClient` applies no authentication to it and sends it through
`strip`, which removes every credential-like header (`rsd.secrets.is_secret_header_name`), every header or
query parameter whose value holds a known secret (the run's `Redactor` knows them), and the session's cookies;
a body that holds a secret is refused (`refuse_body`). An `http://` hop reached from an `https://` one (a
redirect, or a URL taken from a response) never carries one, even to an allowed origin. A token endpoint's own
request is the exception the user configured: its URL receives the client credentials, and its redirects are
never followed.

Local files: a `file://` URI reads only inside the profile's own folder and the `--allow-files` folders, after
resolving symbolic links and `..`; a URI taken from a response (a next URL, a `Link` header, a URI whose scheme
a response value supplied) is never read from disk. Anything else is `InvalidInputError` (exit 2) naming the
URI, before anything is read.

Must not: send requests, know the profile's statements, or show a secret (messages name origins and header
names, never values).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, MutableMapping, Optional, Union
from urllib.parse import unquote, unquote_plus, urlsplit, urlunsplit

from ..errors import InvalidInputError, OptionError, RunError
from ..secrets import is_secret_header_name

if TYPE_CHECKING:
    from .redact import Redactor

Origin = tuple[str, str, int]

DEFAULT_PORTS = {"http": 80, "https": 443}
#: `--allow-origin` / `--allow-files` as they are named in messages
ALLOW_ORIGIN = "--allow-origin"
ALLOW_FILES = "--allow-files"


def origin_of(url: str) -> Optional[Origin]:
    """(scheme, host, port) of an http(s) URL, lower-case, with the scheme's default port; None for anything else
    (another scheme, no host, a port that is not a number)."""
    try:
        parts = urlsplit(str(url).strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def show_origin(origin: Optional[Origin]) -> str:
    if origin is None:
        return "(no origin)"
    scheme, host, port = origin
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + ("" if DEFAULT_PORTS.get(scheme) == port else f":{port}")


def profile_folder(profile_path: str) -> Optional[str]:
    """The folder a profile's `file://` URIs may read without `--allow-files`: the folder of its file (of the
    `.apip` archive for a member); None for a profile that is not a file (read from text)."""
    norm = str(profile_path).replace("\\", "/")
    head, sep, _member = norm.partition(".apip/")
    path = Path(head + ".apip") if sep else Path(norm)
    return os.path.realpath(path.parent) if path.exists() else None


def inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or below it, after resolving `..` and symbolic links."""
    real, root = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return real == root or root in real.parents


class TrustPolicy:
    """The trusted origins and readable folders of one run. Thread-safe; one per `HttpClient`.

    `profile_dir` is the profile's own folder (None: a profile read from text has none); `allow_files` and
    `allow_origins` are what the user added. The first API request `pin`s its origin."""

    def __init__(self, *, allow_origins: Iterable[str] = (), allow_files: Iterable[str] = (),
                 profile_dir: Optional[str] = None):
        self._lock = threading.Lock()
        self.allowed: list[Origin] = []
        for url in allow_origins or ():
            origin = origin_of(url)
            if origin is None:
                raise OptionError(f"{ALLOW_ORIGIN} {url!r} is not an http:// or https:// URL "
                                  f"(write the origin, e.g. https://api.example.com:8443)")
            self.allowed.append(origin)
        self.pinned: Optional[Origin] = None
        self.file_roots: list[Path] = [Path(os.path.realpath(profile_dir))] if profile_dir else []
        for folder in allow_files or ():
            path = Path(os.path.expanduser(str(folder)))
            if not path.is_dir():
                raise OptionError(f"{ALLOW_FILES} {str(folder)!r} is not a folder")
            self.file_roots.append(Path(os.path.realpath(path)))

    # -- origins --------------------------------------------------------------------------------------------------
    def pin(self, url: str) -> None:
        """The first API request's origin becomes trusted (later calls change nothing)."""
        if self.pinned is not None:
            return
        origin = origin_of(url)
        if origin is None:
            return
        with self._lock:
            if self.pinned is None:
                self.pinned = origin

    def trusts(self, url: str, *, downgraded: bool = False) -> bool:
        """Whether a request to `url` may carry the run's credentials. `downgraded`: the URL was reached from an
        https:// page (a redirect, a next URL) and is http://, which never carries one."""
        origin = origin_of(url)
        if origin is None:
            return False
        if downgraded and origin[0] == "http":
            return False
        return origin == self.pinned or origin in self.allowed

    def describe(self) -> str:
        """The trusted origins, for messages."""
        shown = [show_origin(o) for o in ([self.pinned] if self.pinned else []) + self.allowed]
        return ", ".join(dict.fromkeys(shown)) or "none yet"

    # -- what an untrusted request may carry ----------------------------------------------------------------------
    @staticmethod
    def strip(url: str, headers: MutableMapping[str, str], params: Optional[Iterable[tuple[str, str]]],
              redactor: Redactor) -> tuple[str, list[tuple[str, str]], list[str]]:
        """Remove the credentials from a request to an untrusted origin: credential-like headers and headers whose
        value holds a known secret (removed from `headers` in place), and query parameters (in `url` and in
        `params`) whose value holds one. Returns (url, params, what was withheld: header and parameter names)."""
        withheld: list[str] = []
        for name in list(headers.keys()):
            value = str(headers[name] or "")
            if is_secret_header_name(name) or redactor.finds(value):
                del headers[name]
                withheld.append(name)
        kept_params: list[tuple[str, str]] = []
        for name, value in params or ():
            if redactor.finds(str(value)) or redactor.finds(str(name)):
                withheld.append(f"query {name}")
            else:
                kept_params.append((name, value))
        parts = urlsplit(url)
        if parts.query:
            segments = []
            for seg in parts.query.split("&"):
                name, _, value = seg.partition("=")
                if redactor.finds(seg) or redactor.finds(unquote_plus(value)) or redactor.finds(unquote(value)):
                    withheld.append(f"query {unquote_plus(name)}")
                else:
                    segments.append(seg)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(segments), parts.fragment))
        if parts.username or parts.password:  # user:password@ in a URL is a credential too
            netloc = parts.netloc.rpartition("@")[2]
            url = urlunsplit((parts.scheme, netloc, *urlsplit(url)[2:]))
            withheld.append("URL user info")
        return url, kept_params, withheld

    def refuse_body(self, url: str, body: Union[str, bytes, None], redactor: Redactor) -> None:
        """A body holding a secret is never sent to an untrusted origin (it cannot be stripped: it is the
        request)."""
        if not body:
            return
        text = body.decode("utf-8", errors="replace") if isinstance(body, (bytes, bytearray)) else str(body)
        if redactor.finds(text) or redactor.finds(unquote_plus(text)):
            origin = show_origin(origin_of(url))
            raise InvalidInputError(
                f"refused to send a request body holding a credential to {origin}, which is not a trusted origin "
                f"(trusted: {self.describe()})",
                hint=f"if {origin} is meant to receive it, run with {ALLOW_ORIGIN} {origin}")

    # -- local files ----------------------------------------------------------------------------------------------
    def read_file(self, url: str, *, from_response: bool = False, cap: Optional[int] = None) -> bytes:
        """The bytes of a `file://` URI inside the allowed folders; `InvalidInputError` (exit 2) naming the URI
        for anything else, before anything is read."""
        shown = str(url)
        if from_response:
            raise InvalidInputError(f"refused to read {shown}: a URI that comes from a response is never read from "
                                    f"disk (a next URL, a Link header or a response value gave it)")
        parts = urlsplit(shown)
        if parts.netloc not in ("", "localhost"):
            raise InvalidInputError(f"refused to read {shown}: a file:// URI names a file on this machine "
                                    f"(file:///path), not on host {parts.netloc!r}")
        path = Path(unquote(parts.path))
        if not path.is_absolute():
            raise InvalidInputError(f"refused to read {shown}: a file:// URI needs an absolute path (file:///...)")
        real = Path(os.path.realpath(path))
        if not any(inside(str(real), str(root)) for root in self.file_roots):
            where = ", ".join(str(r) for r in self.file_roots) or "no folder (the profile has none)"
            raise InvalidInputError(f"refused to read {shown}: it is outside the folders a profile may read "
                                    f"({where})",
                                    hint=f"if the profile is meant to read it, run with {ALLOW_FILES} {real.parent}")
        if real.exists() and not real.is_file():
            raise InvalidInputError(f"refused to read {shown}: it is not a regular file")
        try:
            with open(real, "rb") as f:
                data = f.read(cap + 1) if cap is not None else f.read()
            if cap is not None and len(data) > cap:
                raise RunError(f"{shown} is larger than MaxResponseBytes ({cap:,} bytes); stopped reading it")
            return data
        except OSError as e:
            raise RunError(f"cannot read {shown}: {e.strerror or type(e).__name__}") from None
