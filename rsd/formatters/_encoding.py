"""Encoding formatters: URL, Base64, XML/HTML, JSON, hex and hashes. One table, one line each.

`urlencode` percent-encodes everything but RFC 3986 unreserved characters (space -> `%20`), so its
output is safe in a path segment as well as in a query string; `urldecode` also reads `+` as a space.
"""
from __future__ import annotations

from typing import Any, Callable

import base64
import binascii
import json
from urllib.parse import quote, unquote_plus

from ._registry import FormatterContext, FormatterFunc, register
from ._values import FormatterError, to_text


def _b64decode(text: str) -> str:
    data = text.strip().replace("-", "+").replace("_", "/")
    data += "=" * (-len(data) % 4)
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise FormatterError(f"base64decode: {text[:40]!r} is not Base64 of UTF-8 text") from None


def _hexdecode(text: str) -> str:
    try:
        return bytes.fromhex(text.strip()).decode("utf-8")
    except ValueError:
        raise FormatterError(f"hexdecode: {text[:40]!r} is not hex of UTF-8 text") from None


_XML_QUOTES = {'"': "&quot;", "'": "&apos;"}


def _html() -> Any:
    """The `html` module, imported on first use (with its table of entities it costs start-up)."""
    import html

    return html


def _xml_escape(s: str, entities: dict[str, str]) -> str:
    """`xml.sax.saxutils.escape`, imported on first use (it pulls in urllib.request, http.client and ssl)."""
    from xml.sax.saxutils import escape

    return escape(s, entities)

_TABLE: list[tuple[str, Callable[[str], str], str]] = [
    ("urlencode", lambda s: quote(s, safe="-._~"), "Percent-encodes the input for a URL (space as %20)."),
    ("urldecode", unquote_plus, "Decodes %XX escapes and + as space."),
    ("base64encode", lambda s: base64.b64encode(s.encode("utf-8")).decode("ascii"),
     "Base64 of the input's UTF-8 bytes."),
    ("base64decode", _b64decode, "Text from Base64 (standard or URL-safe, padding optional)."),
    ("xmlencode", lambda s: _xml_escape(s, _XML_QUOTES), "Escapes & < > \" ' as XML entities."),
    ("xmldecode", lambda s: _html().unescape(s), "Replaces XML/HTML entities with their characters."),
    ("htmlencode", lambda s: _html().escape(s, quote=True), "Escapes & < > \" ' as HTML entities."),
    ("htmldecode", lambda s: _html().unescape(s), "Replaces HTML entities with their characters."),
    ("jsonencode", lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
     "Escapes the input for use inside a JSON string (no quotes added)."),
    ("hexencode", lambda s: s.encode("utf-8").hex(), "Lower-case hex of the input's UTF-8 bytes."),
    ("hexdecode", _hexdecode, "Text from hex of UTF-8 bytes."),
]



def _on_text(func: Callable[[str], str]) -> FormatterFunc:
    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        return func(to_text(value))
    return apply


for _name, _func, _doc in _TABLE:
    register(_name, category="encoding", doc=_doc, signature=f"{_name}()")(_on_text(_func))


def _hash(names: str, algorithm: str) -> None:
    first = names.split()[0]

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        import hashlib  # on use: start-up imports only what every run needs

        digest = hashlib.new(algorithm, to_text(value).encode("utf-8")).digest()
        form = args[0].strip().lower() if args else "hex"
        if form == "hex":
            return digest.hex()
        if form == "base64":
            return base64.b64encode(digest).decode("ascii")
        raise FormatterError(f"{first}: the output form must be hex or base64, not {args[0]!r}")

    register(names, args=(0, 1), category="encoding", signature=f"{first}([hex|base64])",
             doc=f"{algorithm.upper()} digest of the input's UTF-8 bytes, as hex (default) or base64.")(apply)


_hash("md5hash md5", "md5")
_hash("sha1hash sha1", "sha1")
_hash("sha256hash sha256", "sha256")
