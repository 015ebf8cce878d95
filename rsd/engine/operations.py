"""Operations: what `api:call op="..."` does (rsd-format.md §8).

Owns: `jsonproviderGet`, `apisadoExecuteJSONGet`, `xmlproviderGet`, `csvproviderGet`: reading the
request attributes of §8.1 from the input item (connection options beneath them, a profile's
`api:set` overriding an option of the same name), building the request (URI `{name}` placeholders,
`Header:Name#N`/`Header:Value#N`, `CustomHeaders`, `CustomUrlParams`, body), running declarative
paging, handing bodies to the mapper and yielding rows. Must not: interpret statements, write output.

Response headers and status are readable from the script as the `_response` item
(`[_response.status]`, `[_response.url]`, `[_response.header:Content-Type]`), refreshed on each page.
Document-level values (outside the repeating element) are reachable through absolute `other:xPath`
paths or `ElementMapPath#N`/`ElementMapName#N`, which add their values to every output item.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from ..errors import InvalidInputError, OptionError, RunError
from ..options import custom_headers, custom_url_params
from ..secrets import is_secret_name
from ..mapping import compile_mapper, compile_value_path, parse_document
from ..paging import PAGING_ATTRS, PageRequest, PageResult, STOP_CLI_MAX_PAGES, STOP_SINGLE, build_pager
from ..reader import ast
from ..template import substitute_placeholders
from .interpreter import Exec, StopRun, text_of
from .items import Item, Multi

JSON_OPS = {"jsonproviderget", "apisadoexecutejsonget", "jsonget", "restproviderget"}
XML_OPS = {"xmlproviderget", "xmlget"}
CSV_OPS = {"csvproviderget", "csvget"}
KNOWN_OPS = JSON_OPS | XML_OPS | CSV_OPS


def kind_of(op: str) -> Optional[str]:
    o = op.lower()
    if o in JSON_OPS:
        return "json"
    if o in XML_OPS:
        return "xml"
    if o in CSV_OPS:
        return "csv"
    return None


def with_query(url: str, params) -> str:
    """`url` with `params` (pairs) set in its query string. Keys given replace the same keys already
    there; every other part of the query is kept byte for byte (no re-encoding of what the author wrote)."""
    if not params:
        return url
    parts = urlsplit(url)
    new_keys = {k for k, _ in params}
    kept = [seg for seg in parts.query.split("&") if seg and unquote_plus(seg.split("=", 1)[0]) not in new_keys]
    query = "&".join(kept + [urlencode(list(params))])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _filled(row: tuple, fill) -> tuple:
    out = list(row)
    for i, v in fill:
        out[i] = v
    return tuple(out)


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
                return v
        else:
            for it in reversed(self.scope.stack):
                v = it.values.get(lname)
                if v is not None:
                    return v
        return self.connection.values.get(lname)

    def get(self, lname: str, default: Optional[str] = None) -> Optional[str]:
        v = self.raw(lname)
        if type(v) is Multi:
            v = v[0] if v else None
        return default if v is None else text_of(v)

    def multi(self, lname: str) -> list:
        v = self.raw(lname)
        if v is None:
            return []
        return list(v) if type(v) is Multi else [v]


class Operations:
    """The operations of one run. Mappers are compiled once per distinct set-up and reused."""

    def __init__(self, columns, http, run, redactor, options):
        self.columns = columns  # ast.Column tuple
        self.colnames = tuple(c.name.lower() for c in columns)
        self.http = http
        self.run = run
        self.redactor = redactor
        self.options = options
        self._mappers: dict = {}
        self._paths: dict = {}
        self.plan_hook = None  # `rsd plan`: called with the first request instead of sending it
        self.missing = None  # `rsd plan`: a list that collects placeholders without a value

    # -- the two ways a call consumes a feed -------------------------------------------------------
    def pages(self, x: Exec, op: str, in_item: Optional[Item], node: ast.Node) -> Iterator[list]:
        """Lists of row tuples in column order, a page at a time (for calls whose body only pushes).
        `ElementMapName#N` values fill the columns of that name, as they would on an item."""
        position = {name: i for i, name in enumerate(self.colnames)}
        for rows, extra in self._feed(x, op, in_item, node):
            fill = [(position[k.lower()], v) for k, v in extra if k.lower() in position]
            if fill:
                rows = [_filled(row, fill) for row in rows]
            yield rows

    def items(self, x: Exec, op: str, in_item: Optional[Item], node: ast.Node, name: str) -> Iterator[Item]:
        """One item per row, for call bodies that do more than push."""
        names = {c.name.lower(): c.name for c in self.columns}
        colnames = self.colnames
        for rows, extra in self._feed(x, op, in_item, node):
            for row in rows:
                item = Item(name, dict(zip(colnames, row)), dict(names))
                for k, v in extra:
                    item.set(k, v)
                yield item

    # -- the feed --------------------------------------------------------------------------------
    def _feed(self, x: Exec, op: str, in_item: Optional[Item], node: ast.Node):
        kind = kind_of(op)
        if kind is None:
            raise RunError(f"{node.loc}: api:call op={op!r} is not an operation rsd can run; "
                           f"known: jsonproviderGet, apisadoExecuteJSONGet, xmlproviderGet, csvproviderGet")
        a = Attrs(x, in_item)
        uri = a.get("uri")
        if not uri:
            raise OptionError(f"{node.loc}: api:call op={op!r} has no URI: set it with "
                              f"<api:set attr=\"URI\" value=\"...\"/> or the URI connection option")
        uri = self._placeholders(uri, x, node)
        data = a.get("data")
        # a body without a method is a POST, as the CData drivers send it
        method = (a.get("method") or ("POST" if data else "GET")).upper()
        headers = self._headers(a, node)
        ctype = a.get("contenttype")
        if ctype:
            headers.append(("Content-Type", ctype))
        url_params = custom_url_params({"CustomUrlParams": a.get("customurlparams") or ""})
        mapper = self._mapper(a, kind)
        emaps = self._element_maps(a, kind)
        paging_attrs = {n: a.get(n) for n in PAGING_ATTRS}
        pager = build_pager(paging_attrs, lambda p: self._path(p, kind))
        req = pager.first() if pager is not None else PageRequest()
        url = with_query(uri, url_params)
        run = self.run
        page_no = 0
        timeout = a.get("timeout")
        if self.plan_hook is not None:
            first = url if req.url is None else req.url
            self.plan_hook(dict(op=op, node=node, method=method, kind=kind,
                                url=with_query(first, list(req.params.items())), headers=headers, data=data,
                                pager=pager, repeat=self._repeat(a, kind), model=(a.get("datamodel") or "DOCUMENT")))
        while True:
            if run.max_pages is not None and run.pages >= run.max_pages:
                raise StopRun(STOP_CLI_MAX_PAGES)
            page_no += 1
            req_url = url if req.url is None else req.url
            req_url = with_query(req_url, list(req.params.items()))
            body, status, resp_headers, final_url, links = self._fetch(method, req_url, headers, data, timeout,
                                                                       page_no, node)
            source = f"{method} {self.redactor.redact_url(final_url)} (page {page_no})"
            doc = parse_document(body, kind, source=source)
            self._response_item(x, status, final_url, resp_headers)
            extra = tuple((name, fn(doc)) for name, fn in emaps)
            for name, value in extra:
                # a token a profile obtains itself is a secret from the moment it is read
                if value and isinstance(value, str) and is_secret_name(name):
                    self.redactor.add(value)
            rows = list(mapper.rows(doc))
            n = len(rows)
            # a token response (element maps and no column value: no repeating element, or the whole
            # document as one item with RepeatElement="/", HRBC's idiom) is not a page of data
            mapped = n if not emaps or any(v is not None for row in rows for v in row) else 0
            if mapped or not emaps:
                run.pages += 1
            if n == 0 and emaps:
                # a document with no repeating element (a token response): one item of mapped values
                yield [(None,) * len(self.colnames)], extra
            elif n:
                yield rows, extra
            del rows
            run.page_rows(mapped)
            if pager is None:
                run.note_stop(STOP_SINGLE, declarative=False)
                return
            req = pager.next(PageResult(url=final_url, rows=n, doc=doc, headers=resp_headers, links=links))
            if req is None:
                run.note_stop(pager.stop_reason, declarative=True)
                return

    def _fetch(self, method, url, headers, data, timeout, page_no, node):
        if url.lower().startswith("file://"):
            path = Path(unquote(urlsplit(url).path))
            try:
                return path.read_bytes(), 200, {}, url, {}
            except OSError as e:
                raise RunError(f"{node.loc}: cannot read {url}: {e.strerror}")
        resp = self.http.request(method, url, headers=headers, data=data, page=page_no,
                                 timeout=float(timeout) if timeout else None)
        return resp.content, resp.status_code, resp.headers, resp.url, resp.links

    def _headers(self, a: Attrs, node) -> list:
        headers = []
        custom = a.get("customheaders")
        if custom:
            headers.extend(custom_headers({"CustomHeaders": custom}))
        names, values = a.multi("header:name"), a.multi("header:value")
        for i, name in enumerate(names):
            if name is None or text_of(name) == "":
                continue
            value = values[i] if i < len(values) else ""
            headers.append((text_of(name), text_of(value)))
        return headers

    def _placeholders(self, uri: str, x: Exec, node) -> str:
        def lookup(name):
            v = x.scope.resolve(name)
            if v is None:
                v = x.scope.resolve("_input." + name)
            if v is None and self.missing is not None:
                self.missing.append("{" + name + "}")
                return None  # left as written
            if v is None:
                raise InvalidInputError(f"{node.loc}: the URI placeholder {{{name}}} has no value; "
                                        f"pass it with -i {name}=VALUE")
            return text_of(v)
        # values are URL-encoded: a placeholder stands for one path segment or query value
        return substitute_placeholders(uri, lookup, encode=lambda v: quote(v, safe="-._~"))

    @staticmethod
    def _repeat(a: Attrs, kind: str) -> Optional[str]:
        if kind == "xml":
            return a.get("xpath") or a.get("repeatelement")
        return a.get("jsonpath") or a.get("xpath") or a.get("repeatelement")

    def _mapper(self, a: Attrs, kind: str):
        repeat = self._repeat(a, kind)
        model = (a.get("datamodel") or "DOCUMENT").upper()
        key = (kind, repeat, model)
        m = self._mappers.get(key)
        if m is None:
            m = self._mappers[key] = compile_mapper(self.columns, repeat_paths=repeat, data_model=model, kind=kind)
        return m

    def _path(self, path: str, kind: str):
        key = (path, kind)
        fn = self._paths.get(key)
        if fn is None:
            fn = self._paths[key] = compile_value_path(path, kind)
        return fn

    def _element_maps(self, a: Attrs, kind: str):
        paths, names = a.multi("elementmappath"), a.multi("elementmapname")
        out = []
        for i, p in enumerate(paths):
            if p is None or i >= len(names) or names[i] is None:
                continue
            out.append((text_of(names[i]), self._path(text_of(p), kind)))
        return tuple(out)

    @staticmethod
    def _response_item(x: Exec, status, url, headers) -> None:
        item = Item("_response")
        item.set("status", status)
        item.set("url", url)
        for k, v in headers.items():
            item.set("header:" + k, v)
        x.scope.response = item
