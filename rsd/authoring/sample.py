"""The sample `rsd init` learns from: one page fetched with a run's options and credentials, or a saved response.

Owns: fetching one page (`fetch_sample`) with the same option resolution, HTTP client and authentication as
`rsd run` (through `rsd.api`, with `CustomHeaders` and `CustomUrlParams` applied as a run applies them), reading a
saved JSON or XML response (`read_sample`), and telling JSON from XML. Must not: infer anything about the profile
(`shape` and `detect` do), or keep a secret: what it shows is redacted with the run's `Redactor`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ..errors import InvalidInputError
from ..http.redact import Redactor
from ..mapping import Document, parse_document

#: the option a profile reads its base URL from (the samples' convention, `[_connection.BaseURL]`)
BASE_URL_OPTION = "BaseURL"


@dataclass
class Sample:
    """One response: its body, parsed, and where it came from."""

    body: bytes
    kind: str  # "json" | "xml"
    doc: Document
    url: Optional[str] = None  # the URL the page came from (or --url for a file)
    file: Optional[str] = None  # a saved response's path
    status: Optional[int] = None
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    links: Mapping[str, Any] = field(default_factory=dict)  # requests' parsed Link header
    option_names: tuple[str, ...] = ()  # the options given (names only: the profile's comment lists them)
    base_url: Optional[str] = None  # the BaseURL option, when given

    def describe(self, redactor: Redactor) -> str:
        """`GET https://... (HTTP 200, application/json, 12,345 bytes)` or `the file page.json (1,234 bytes)`."""
        size = f"{len(self.body):,} bytes"
        if self.file is not None:
            return f"the file {Path(self.file).name} ({size})"
        ctype = self.content_type.split(";")[0].strip()
        return f"GET {redactor.redact_url(self.url)} (HTTP {self.status}, {ctype + ', ' if ctype else ''}{size})"


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def sniff_kind(body: bytes, content_type: str = "", name: str = "") -> Optional[str]:
    """"json" or "xml" from the Content-Type, the file name, or the first character of the body; None if neither."""
    ctype = content_type.lower()
    if "json" in ctype:
        return "json"
    if "xml" in ctype:
        return "xml"
    low = name.lower()
    if low.endswith(".json"):
        return "json"
    if low.endswith(".xml"):
        return "xml"
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"["):
        return "json"
    if head == b"<":
        return "xml"
    return None


def read_sample(path: str, *, url: Optional[str] = None) -> Sample:
    """A saved response (JSON or XML). `url`: where it came from, written as the profile's URI."""
    p = Path(path)
    try:
        body = p.read_bytes()
    except OSError as e:
        raise InvalidInputError(f"{path}: cannot read the sample ({e.strerror or type(e).__name__})") from None
    kind = sniff_kind(body, name=p.name)
    if kind is None:
        raise InvalidInputError(f"{path}: the sample is neither JSON nor XML (rsd init reads a JSON or XML response)")
    doc = parse_document(body, kind, source=str(path))
    return Sample(body, kind, doc, url=url, file=str(p.resolve()))


def fetch_sample(url: str, *, options: Sequence[tuple[str, str]] = (), options_file: Optional[str] = None,
                 connection: Optional[str] = None, variables: Optional[Mapping[str, str]] = None,
                 redactor: Redactor, trace: Optional[Callable[[str], None]] = None,
                 base_dir: str = ".") -> Sample:
    """One page from `url`, sent as `rsd run` sends a request: options resolved (secrets from `${...}`),
    authentication (OAuth, Basic, a given token), `CustomHeaders` and `CustomUrlParams`."""
    from ..api import make_client, resolve_options
    from ..options import custom_headers, custom_url_params

    opts = resolve_options(options=options, options_file=options_file, connection=connection, variables=variables,
                           redactor=redactor, base_dir=base_dir)
    client = make_client(opts, redactor, trace)
    try:
        resp = client.request("GET", url, headers=custom_headers(opts), params=custom_url_params(opts) or None,
                              page=1)
    finally:
        client.close()
    ctype = resp.headers.get("Content-Type", "")
    kind = sniff_kind(resp.content, ctype)
    shown = redactor.redact_url(url)
    if kind is None:
        raise InvalidInputError(f"GET {shown}: the response is neither JSON nor XML (Content-Type "
                                f"{ctype or 'none'!r}); rsd init reads a JSON or XML response")
    doc = parse_document(resp.content, kind, source=f"GET {shown}")
    base = opts.get(BASE_URL_OPTION)
    return Sample(resp.content, kind, doc, url=url, status=resp.status_code, content_type=ctype,
                  headers=dict(resp.headers), links=dict(resp.links or {}), option_names=tuple(opts.keys()),
                  base_url=base)
