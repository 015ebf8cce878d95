"""Request building: what one `api:call` of a provider operation asks the API for.

Owns: reading the request attributes of docs/reference/rsd-format.md §8.1 from a call's input (`Attrs`: the
`in=` item or the item stack, connection options beneath them, a profile's `api:set` overriding an option of the
same name) and turning them into a `Request`: the method (a body without a method is a POST, as the CData drivers
send it), the URI with its `{name}` placeholders filled and URL-encoded, `CustomUrlParams`, `CustomHeaders`,
`Header:Name#N`/`Header:Value#N` (values trimmed as HTTP defines field values), `ContentType`, the body and a
per-call `Timeout`. Must not: send anything, page, or map responses (that is `operations`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence
from urllib.parse import quote, unquote_plus, urlencode, urlsplit, urlunsplit

from ..errors import InvalidInputError, OptionError
from ..options import custom_headers, custom_url_params, field_value, header_problem
from ..provenance import data_spans, mark
from ..reader import ast
from ..template import substitute_placeholders
from .interpreter import Exec, text_of
from .items import Item, Multi


def mark_all(value: object) -> object:
    """A value of a response's item, marked as data (each value of a multi-valued one)."""
    return Multi(mark(v) for v in value) if type(value) is Multi else mark(value)


class Attrs:
    """Read-only view of a call's input: the `in=` item (else the item stack), then connection options."""

    __slots__ = ("scope", "item", "connection")

    def __init__(self, x: Exec, in_item: Optional[Item]):
        self.scope = x.scope
        self.item = in_item
        self.connection = x.scope.connection

    def raw(self, lname: str) -> object:
        # with `in="item"` the op reads that item only (op_rsbCall: "inputs are the attributes of the
        # input item"), so a token call does not inherit the paging set-up of the main request
        if self.item is not None:
            v = self.item.values.get(lname)
            if v is not None:
                return mark_all(v) if self.item.data else v
        else:
            for it in reversed(self.scope.stack):
                v = it.values.get(lname)
                if v is not None:
                    return mark_all(v) if it.data else v  # a row's field read as a request attribute: data
        return self.connection.values.get(lname)

    def get(self, lname: str, default: Optional[str] = None) -> Optional[str]:
        v = self.raw(lname)
        if type(v) is Multi:
            v = v[0] if v else None
        return default if v is None else text_of(v)

    def multi(self, lname: str) -> list[object]:
        v = self.raw(lname)
        if v is None:
            return []
        return list(v) if type(v) is Multi else [v]


@dataclass
class Request:
    """One request as a call describes it, before paging adds its parameters."""

    method: str
    url: str  # with CustomUrlParams
    headers: list[tuple[str, str]] = field(default_factory=list)  # [(name, value)]
    data: Optional[str] = None
    timeout: Optional[float] = None
    url_params: list[tuple[str, str]] = field(default_factory=list)  # CustomUrlParams, for every page's URL
    from_response: bool = False  # a response value supplied the URI's scheme (never read from disk)


def build_request(x: Exec, a: Attrs, op: str, node: ast.Node, missing: Optional[list[str]] = None) -> Request:
    """The request of a provider call. `missing` (a dry run) collects URI placeholders without a value instead of
    failing on them."""
    uri = a.get("uri")
    if not uri:
        raise OptionError(f"{node.loc}: api:call op={op!r} has no URI: set it with "
                          f"<api:set attr=\"URI\" value=\"...\"/> or the URI connection option")
    uri = fill_placeholders(uri, x, node, missing)
    from_response = any(start == 0 for start, _ in data_spans(uri))
    data = a.get("data")
    method = (a.get("method") or ("POST" if data else "GET")).upper()
    headers = request_headers(a, node)
    ctype = a.get("contenttype")
    if ctype:
        headers.append(("Content-Type", ctype))
    url_params = custom_url_params({"CustomUrlParams": a.get("customurlparams") or ""})
    timeout = a.get("timeout")
    return Request(method, with_query(uri, url_params), headers, data, float(timeout) if timeout else None,
                   url_params, from_response)


def request_headers(a: Attrs, node: Optional[ast.Node] = None) -> list[tuple[str, str]]:
    """`CustomHeaders` lines, then the `Header:Name#N`/`Header:Value#N` pairs of the call. Blanks around a name or
    value are not part of it (RFC 9110 §5.5); what HTTP cannot carry is invalid input naming the header."""
    headers = []
    custom = a.get("customheaders")
    if custom:
        headers.extend(custom_headers({"CustomHeaders": custom}))
    names, values = a.multi("header:name"), a.multi("header:value")
    for i, name in enumerate(names):
        if name is None or text_of(name).strip() == "":
            continue
        hname = text_of(name).strip()
        value = field_value(text_of(values[i] if i < len(values) else ""))
        problem = header_problem(hname, value)
        if problem:
            where = f"{node.loc}: " if node is not None else ""
            raise InvalidInputError(f"{where}Header:Name#{i + 1}/Header:Value#{i + 1}: {problem}")
        headers.append((hname, value))
    return headers


def fill_placeholders(uri: str, x: Exec, node: ast.Node, missing: Optional[list[str]] = None) -> str:
    """`{name}` in a URI: an attribute of the scope, else an input; URL-encoded, one path segment or query value.
    Only the profile's text has placeholders: a `{name}` inside a response value (a cursor in `rows@next`, a next
    URL, an item's field) is data and goes as it is (`rsd.provenance`, `substitute_placeholders`)."""
    def lookup(name: str) -> Optional[str]:
        v = x.scope.resolve(name)
        if v is None:
            v = x.scope.resolve("_input." + name)
        if v is None and missing is not None:
            missing.append("{" + name + "}")
            return None  # left as written
        if v is None:
            raise InvalidInputError(f"{node.loc}: the URI placeholder {{{name}}} has no value; "
                                    f"pass it with -i {name}=VALUE")
        return text_of(v)
    return substitute_placeholders(uri, lookup, encode=lambda v: quote(v, safe="-._~"))


def with_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """`url` with `params` (pairs) set in its query string. Keys given replace the same keys already
    there; every other part of the query is kept byte for byte (no re-encoding of what the author wrote)."""
    if not params:
        return url
    parts = urlsplit(url)
    new_keys = {k for k, _ in params}
    kept = [seg for seg in parts.query.split("&") if seg and unquote_plus(seg.split("=", 1)[0]) not in new_keys]
    query = "&".join(kept + [urlencode(list(params))])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
