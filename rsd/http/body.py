"""Reading a response body: decompressed while it streams, bounded by `MaxResponseBytes`, and checked complete.

Owns: the content codings rsd asks for and decodes (`ACCEPT_ENCODING`: gzip and deflate, each with its own
decoder here, not `urllib3`'s, so that no step inflates more than `STEP` bytes at once and the end of the stream is
known), the cap on one decompressed body (`DEFAULT_MAX_RESPONSE_BYTES`, 256 MiB), and what an incomplete body is: a
gzip or deflate stream that stops before its end. A body shorter than its Content-Length and a chunked body
without its last chunk are reported by `urllib3` while reading (the client turns both into the same truncation).
Must not: retry, name the request (the client does), or keep more than the cap in memory.

A body whose encoding is none of these (`br`, `zstd`: never asked for) is an error rather than bytes passed on
undecoded.
"""
from __future__ import annotations

import zlib
from typing import Any, Iterator, Optional

#: what rsd asks for (`Accept-Encoding`) and can decode
ACCEPT_ENCODING = "gzip, deflate"
#: default `MaxResponseBytes`: the decompressed size of one response (docs/reference/contract.md §11)
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
#: bytes read from the socket at a time, and the most one decompression step may produce
CHUNK = 64 * 1024
STEP = 1024 * 1024


class BodyTooLarge(Exception):
    """The decompressed body passed the cap (`cap` bytes) while it was read."""

    def __init__(self, cap: int) -> None:
        super().__init__(cap)
        self.cap = cap


class BodyCut(Exception):
    """The body ended before its end; `reason` says how, safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadEncoding(Exception):
    """The body cannot be decoded as its Content-Encoding says; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Identity:
    name = "identity"

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data

    def finish(self) -> None:
        pass


class _Inflate:
    """gzip (RFC 1952, members one after another) or deflate (RFC 9110 says zlib, RFC 1950; some servers send it
    raw, RFC 1951: tried when the zlib header is not there)."""

    def __init__(self, gzip: bool) -> None:
        self.name = "gzip" if gzip else "deflate"
        self.gzip = gzip
        self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)
        self.fed = False
        self.produced = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                out = self.obj.decompress(data, STEP)
            except zlib.error as e:
                if not self.gzip and not self.fed:  # deflate without the zlib wrapper
                    self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    self.fed = True
                    continue
                raise BadEncoding(f"the {self.name} data is corrupt ({e})") from None
            self.fed = True
            if out:
                self.produced = True
                yield out
            data = self.obj.unconsumed_tail
            if self.obj.eof:
                rest = self.obj.unused_data
                if self.gzip and rest.strip(b"\0"):  # the next gzip member
                    self.obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    data = rest
                else:
                    return  # padding after the stream: ignored

    def finish(self) -> None:
        if self.fed and not self.obj.eof:
            raise BodyCut(f"the {self.name} stream ends before its end")


def decoder_for(encoding: Optional[str]) -> Any:
    """The decoder of a Content-Encoding header value (one coding; `identity` or none: as is)."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return _Identity()
    if len(codings) > 1:
        raise BadEncoding(f"the body has several content codings ({', '.join(codings)}), which rsd does not decode")
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return _Inflate(gzip=True)
    if coding == "deflate":
        return _Inflate(gzip=False)
    raise BadEncoding(f"the body's Content-Encoding is {coding!r}, which rsd does not decode (it asks for "
                      f"{ACCEPT_ENCODING})")


def read_body(raw: Any, encoding: Optional[str], cap: int) -> bytes:
    """The decoded body of a streamed response (`urllib3` `HTTPResponse`), at most `cap` bytes once decoded.
    Raises `BodyTooLarge`, `BodyCut`, `BadEncoding`; `urllib3` errors (a cut connection) pass through."""
    decoder = decoder_for(encoding)
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.stream(CHUNK, decode_content=False):
        for piece in decoder.feed(chunk):
            size += len(piece)
            if size > cap:
                raise BodyTooLarge(cap)
            chunks.append(piece)
    decoder.finish()
    return b"".join(chunks)
