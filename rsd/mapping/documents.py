"""Response documents: parse a body (JSON, XML, CSV) once into a `Document` the mappers walk.

Owns: `Document`, `parse_document` and the wording of "this body cannot be parsed" errors (`RunError`,
one line naming the request and the parser's reason and position). Must not: know about HTTP, paths
or columns.

JSON goes through `orjson.loads` (several times faster), and through `json.loads` when orjson refuses a body:
json accepts a few things orjson does not (`NaN`, a byte-order mark, UTF-16) and words the errors; XML through
lxml with entity resolution, DTD loading, network access and huge trees off. XML namespaces are stripped at parse
time (tags and attributes keep their local names) because profiles write namespace-free paths
(`content/properties/ID` for an Atom/OData feed). CSV becomes a list of dicts keyed by the header row, so it maps
exactly like a JSON array of objects.
"""
from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, TypeAlias, Union

import orjson
from lxml import etree

from ..errors import RunError

KINDS = ("json", "xml", "csv")

#: A value of a parsed JSON (or CSV) document: dict, list, str, int, float, bool or None, nested, as `orjson.loads`
#: returns it. Typed `Any` because it is: the mappers walk it by class tests (`v.__class__ is dict`), which a type
#: checker cannot narrow, and the hot paths must not pay for `isinstance` calls made only for the checker.
JsonValue: TypeAlias = Any
#: What a path is evaluated on: a JSON value or an lxml element (lxml is untyped, so this is `JsonValue` too).
Node: TypeAlias = Union[JsonValue, "etree._Element"]


class Document:
    """One parsed response. `root` is the JSON value (dict, list or scalar; for CSV a list of dicts) or
    the lxml root element for XML. `size` is the body length in bytes; `source` names where it came from."""

    __slots__ = ("kind", "root", "source", "size")

    def __init__(self, kind: str, root: Node, *, source: str = "", size: int = 0):
        self.kind = kind
        self.root = root
        self.source = source
        self.size = size

    def __repr__(self) -> str:
        return f"Document(kind={self.kind!r}, source={self.source!r}, size={self.size})"


def _origin(source: str) -> str:
    return f"response of {source}" if source else "response"


def _size(n: int) -> str:
    return f"{n:,} byte" + ("" if n == 1 else "s")


_JSON_LITERALS = ("true", "false", "null")
_NUMBER_PREFIX = re.compile(r"-?\d*(\.\d*)?([eE][+-]?\d*)?\Z")


def _json_ends_early(err: json.JSONDecodeError) -> bool:
    """True when the parser stopped because the text ran out (a truncated body), not at a bad character."""
    if err.msg.startswith("Unterminated string"):
        return True
    rest = err.doc[err.pos:].strip()
    if not rest:
        return True
    if err.msg == "Expecting value":
        return any(lit.startswith(rest) for lit in _JSON_LITERALS) or bool(_NUMBER_PREFIX.match(rest))
    return False


# digits made `0` and every other byte a blank: a run of 19 digits is an integer orjson may read as a float
_DIGITS_ONLY = bytes(0x30 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_LONG_NUMBER = b"0" * 19


def _parse_json(body: bytes, source: str) -> JsonValue:
    # orjson reads integers beyond 64 bits as floats (data lost without a word): a body with a run of 19 digits
    # anywhere (a number, or digits inside a string: json then reads it, a little slower) goes to json
    if _LONG_NUMBER not in body.translate(_DIGITS_ONLY):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # what orjson refuses (NaN, a BOM, UTF-16, lone surrogates) or real errors: json decides
    try:
        return json.loads(body)
    except json.JSONDecodeError as err:
        reason = err.msg[:-3] if err.msg.endswith(" at") else err.msg  # "Unterminated string starting at"
        where = f"at line {err.lineno} column {err.colno}"
        tail = f" ({'body of ' + _size(len(body)) + ' ends early'})" if _json_ends_early(err) else \
            f" (body of {_size(len(body))})"
        raise RunError(f"{_origin(source)} is not valid JSON: {reason} {where}{tail}") from None
    except UnicodeDecodeError as err:
        raise RunError(f"{_origin(source)} is not valid JSON: undecodable byte 0x{body[err.start]:02x} at byte "
                       f"offset {err.start} ({err.encoding}; body of {_size(len(body))})") from None
    except RecursionError:
        raise RunError(f"{_origin(source)} is not valid JSON: nested too deeply "
                       f"(body of {_size(len(body))})") from None


_XML_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           remove_comments=True, remove_pis=True)
_LXML_POSITION = re.compile(r",? line (\d+), column (\d+)\s*$")


_XML_EOF_ERRORS = ("Premature end of data", "Document is empty", "EndTag: '</' not found")
_XML_IN_TAG = re.compile(r"in tag (\S+) line (\d+)")


def _xml_ends_early(body: bytes, msg: str, line: int, column: int) -> bool:
    if msg.startswith(_XML_EOF_ERRORS):
        return True
    if msg.startswith("Opening and ending tag mismatch"):
        return False
    stripped = body.rstrip()
    last_line = stripped.rsplit(b"\n", 1)[-1]
    return line >= stripped.count(b"\n") + 1 and column > len(last_line)


def _strip_namespaces(root: etree._Element) -> None:
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue  # comments / processing instructions that survived
        if tag[0] == "{":
            el.tag = tag.rpartition("}")[2]
        if el.attrib:
            for name in [n for n in el.attrib if n[0] == "{"]:
                el.attrib[name.rpartition("}")[2]] = el.attrib.pop(name)
    etree.cleanup_namespaces(root)


def _parse_xml(body: bytes, source: str) -> etree._Element:
    parser = etree.XMLParser(**_XML_PARSER_OPTIONS)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as err:
        msg = err.msg or str(err)
        m = _LXML_POSITION.search(msg)
        if m:
            line, column = int(m.group(1)), int(m.group(2))
            msg = msg[: m.start()]
        else:
            line, column = err.lineno or 1, (err.offset or 0) + 1
        msg = _XML_IN_TAG.sub(r"in tag <\1> (opened on line \2)", msg.rstrip(" ,"))
        early = _xml_ends_early(body, msg, line, column)
        tail = f" (body of {_size(len(body))}{' ends early' if early else ''})"
        raise RunError(f"{_origin(source)} is not valid XML: {msg} at line {line} column {column}{tail}") from None
    if root is None:
        raise RunError(f"{_origin(source)} is not valid XML: no root element (body of {_size(len(body))})")
    _strip_namespaces(root)
    return root


def _parse_csv(body: bytes, source: str) -> list[dict[str, str | None]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RunError(f"{_origin(source)} is not valid CSV: undecodable byte 0x{body[err.start]:02x} at byte "
                       f"offset {err.start} (utf-8)") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return []
        header = [h.strip() for h in header]
        width = len(header)
        rows: list[dict[str, str | None]] = []
        for record in reader:
            if not record:
                continue  # blank line
            # empty fields are missing values: CSV cannot tell "" from null, and docs/reference/contract.md §1
            # writes null as ""
            values = [v if v != "" else None for v in record[:width]]
            if len(values) < width:
                values.extend([None] * (width - len(values)))
            rows.append(dict(zip(header, values)))
        return rows
    except csv.Error as err:
        raise RunError(f"{_origin(source)} is not valid CSV: {err} at line {reader.line_num}") from None


def parse_document(body: bytes | str, kind: str, *, source: str = "") -> Document:
    """Parse a response body. `kind` is "json", "xml" or "csv" (case-insensitive).

    A body that cannot be parsed raises `RunError` whose one-line message names `source` (e.g.
    "GET https://api.example.com/x page 3"), the parser's reason and position, and says when the body
    ends early (a truncated download)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    kind = (kind or "").lower()
    if kind == "json":
        if not body.strip():
            raise RunError(f"{_origin(source)} is empty ({_size(len(body))}); expected JSON")
        root = _parse_json(body, source)
    elif kind == "xml":
        if not body.strip():
            raise RunError(f"{_origin(source)} is empty ({_size(len(body))}); expected XML")
        root = _parse_xml(body, source)
    elif kind == "csv":
        root = _parse_csv(body, source)
    else:
        raise ValueError(f"unknown document kind {kind!r}; expected one of {', '.join(KINDS)}")
    return Document(kind, root, source=source, size=len(body))
