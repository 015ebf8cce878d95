"""Operations: what `api:call op="..."` does (docs/reference/rsd-format.md §8), and the page loop of the provider
operations.

Owns: the registry of operations (`OPERATIONS`, filled with `@operation`; `rsd check` reads the same table), the
per-run `Operations` context (HTTP client, run state, compiled mappers and paths), and the provider operations
`jsonproviderGet`, `apisadoExecuteJSONGet`, `xmlproviderGet`, `csvproviderGet`: send the request `request.py`
builds, run declarative paging, hand bodies to the mapper and yield rows. The driver built-ins rsd runs
(`oauthGetAccessToken`, `coreListIndexes`) are in `builtins.py`, registered here with `@operation`. Must not:
interpret statements, build requests from attributes itself, or write output.

An operation is a function `op(ops, x, a, node, *, op, kind, typed) -> Iterator[(rows, extra)]` (`Operation`):
`rows` a list of row tuples in column order, `extra` `(name, value)` pairs every item of that page also carries
(`ElementMapName#N`); `typed` asks for rows converted to their columns' types as they are mapped (an operation that
maps nothing ignores it). A page with no rows but extra values is one item of those values (a token response).

Response headers and status are readable from the script as the `_response` item
(`[_response.status]`, `[_response.url]`, `[_response.header:Content-Type]`), refreshed on each page.
Document-level values (outside the repeating element) are reachable through absolute `other:xPath`
paths or `ElementMapPath#N`/`ElementMapName#N`, which add their values to every output item.

With a `Fetcher` of more than one worker (`--concurrency`), the page loop announces its next requests to a
`Lookahead` (`fetch.py`) before it hands the current page on: the next page of any strategy, so the request
overlaps the mapping and writing of this one, and for strategies whose page k is known ahead (`request_at`) the
following pages up to the window, or up to the last page when the first page tells the total. Pages are still
taken one by one in order and each goes through the pager's stop rules as before, so rows, order and stop
reasons do not depend on the concurrency.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Mapping, NotRequired, Optional, Protocol, Sequence, TypedDict

from ..errors import ProfileError, RunError
from ..http.methods import IDEMPOTENT_METHODS
from ..mapping import PathError, compile_mapper, compile_value_path, parse_document
from ..paging import (
    STOP_CLI_MAX_PAGES,
    STOP_PAGE_RANGE,
    STOP_SINGLE,
    PageRequest,
    PageResult,
    Pager,
    PathFn,
    build_pager,
    paging_attrs,
)
from ..reader import ast
from ..secrets import is_secret_name
from .fetch import Fetcher, Lookahead
from .interpreter import Exec, StopRun, text_of
from .items import Item
from .request import Attrs, Request, build_request, with_query

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..http.client import HttpClient
    from ..http.redact import Redactor
    from ..mapping import Coercer, Mapper
    from ..mapping.documents import JsonValue
    from ..mapping.types import Row
    from .runner import RunState

#: one page of an operation's feed: row tuples in column order, and the (name, value) pairs every item of it carries
Page = tuple[list["Row"], tuple[tuple[str, "JsonValue"], ...]]
#: a response as the page loop reads it: body, status, headers, final URL, parsed `Link` header
Fetched = tuple[bytes, int, Mapping[str, str], str, Mapping[str, Mapping[str, str]]]
#: what identifies a request sent ahead: method, URL, headers, body
RequestKey = tuple[str, str, tuple[tuple[str, ...], ...], Optional[str]]


class Operation(Protocol):
    """What `@operation` registers: the pages of one `api:call` (see the module's docstring)."""

    def __call__(self, ops: Operations, x: Exec, a: Attrs, node: ast.Node, *, op: str, kind: Optional[str],
                 typed: bool = False) -> Iterator[Page]: ...


class PlannedRequest(TypedDict):
    """A call's first request as `Operations.plan_hook` sees it (instead of it being sent): `rsd plan` describes it,
    `Operations.prefetch` sends it ahead."""

    op: str
    node: ast.Node
    method: str
    kind: str  # what the response is read as: json, xml, csv
    url: str
    headers: list[tuple[str, str]]
    data: Optional[str]
    pager: Optional[Pager]
    repeat: Optional[str]  # the repeating path
    model: str  # the data model as written (DOCUMENT when none is)
    timeout: NotRequired[Optional[float]]
    from_response: NotRequired[bool]


@dataclass(frozen=True)
class OpSpec:
    """One operation: its canonical spelling, what it reads (`kind`: json, xml, csv, or None), whether it sends an
    API request (`request`), and the function that runs it (None: a driver built-in that `rsd check` accepts and
    a run refuses, naming it)."""

    name: str
    kind: Optional[str] = None
    request: bool = False
    run: Optional[Operation] = None


#: lower-case name -> OpSpec
OPERATIONS: dict[str, OpSpec] = {}


def operation(*names: str, kind: Optional[str] = None, request: bool = False) -> Callable[[Operation], Operation]:
    """Register a function as the operation(s) `names` (the first is the canonical spelling)."""
    def register(fn: Operation) -> Operation:
        for name in names:
            OPERATIONS[name.lower()] = OpSpec(name, kind, request, fn)
        return fn
    return register


def accept(*names: str) -> None:
    """Driver built-ins that real profiles call and rsd does not run: `rsd check` knows them, a run says so."""
    for name in names:
        OPERATIONS.setdefault(name.lower(), OpSpec(name))


def runnable() -> list[str]:
    return [spec.name for spec in OPERATIONS.values() if spec.run is not None]


class Captured(BaseException):
    """Stops a speculative execution at its first request (`Operations.speculate`; not catchable by `api:catch`)."""

    def __init__(self, request: Optional[PlannedRequest]):
        super().__init__("captured")
        self.request = request


def _request_key(method: str, url: str, headers: Optional[Sequence[Sequence[str]]], data: Optional[str]) -> RequestKey:
    return method, url, tuple(tuple(h) for h in headers or ()), data


def _page_url(req: Request, page_req: PageRequest) -> str:
    # a next URL from the response still gets CustomUrlParams (docs/reference/contract.md §2: every request)
    url = req.url if page_req.url is None else with_query(page_req.url, req.url_params)
    return with_query(url, list(page_req.params.items()))


def _filled(row: Row, fill: list[tuple[int, JsonValue]]) -> Row:
    out = list(row)
    for i, v in fill:
        out[i] = v
    return tuple(out)


class PageItems:
    """The items of a feed, a page at a time: iterating gives them one by one; `upcoming(n)` lists up to `n` of those
    after the last one given that are on the same page (never a later page: it is not read before its turn)."""

    __slots__ = ("_pages", "_page", "_pos")

    def __init__(self, pages: Iterator[list[Item]]):
        self._pages = pages
        self._page: list[Item] = []
        self._pos = 0

    def __iter__(self) -> "PageItems":
        return self

    def __next__(self) -> Item:
        while self._pos >= len(self._page):
            self._page, self._pos = next(self._pages), 0
        self._pos += 1
        return self._page[self._pos - 1]

    def upcoming(self, n: int) -> list[Item]:
        return self._page[self._pos:self._pos + n]


class Operations:
    """The operations of one run. Mappers are compiled once per distinct set-up and reused."""

    def __init__(self, columns: Sequence[ast.Column], http: Optional[HttpClient], run: RunState, redactor: Redactor,
                 options: Sequence[tuple[str, str]], fetcher: Optional[Fetcher] = None):
        self.columns = columns
        self.fetcher = fetcher if fetcher is not None else Fetcher(1)
        self.colnames = tuple(c.name.lower() for c in columns)
        self.http = http  # None: a dry run (`rsd plan`), which sends nothing
        self.run = run
        self.redactor = redactor
        self.options = options
        self._mappers: dict[tuple[str, Optional[str], str], Mapper] = {}
        self._paths: dict[tuple[str, str], PathFn] = {}
        # `rsd plan`: called with the first request instead of sending it
        self.plan_hook: Optional[Callable[[PlannedRequest], None]] = None
        # request key -> future: first requests sent ahead (`prefetch`)
        self._prefetched: dict[RequestKey, Future[Fetched]] = {}
        self.missing: Optional[list[str]] = None  # `rsd plan`: a list that collects placeholders without a value
        # a write script (`writer.py`): one request per call, no declarative paging, an empty answer (204) is no
        # rows, and a request that is not idempotent is not sent again once it may have reached the server
        self.writing = False
        # the run's coercer (`Runner` sets it): rows fed to `pages()` are converted as they are mapped (TypedRows)
        self.coercer: Optional[Coercer] = None
        self.speculating = False  # inside `speculate`: an operation that sends no API request stops it too

    # -- the two ways a call consumes a feed -------------------------------------------------------
    def pages(self, x: Exec, op: str, in_item: Optional[Item], node: ast.Node) -> Iterator[list[Row]]:
        """Lists of row tuples in column order, a page at a time (for calls whose body only pushes).
        `ElementMapName#N` values fill the columns of that name, as they would on an item."""
        position = {name: i for i, name in enumerate(self.colnames)}
        for rows, extra in self._feed(x, op, in_item, node, typed=True):
            fill = [(position[k.lower()], v) for k, v in extra if k.lower() in position]
            if fill:
                rows = [_filled(row, fill) for row in rows]
            yield rows

    def items(self, x: Exec, op: str, in_item: Optional[Item], node: ast.Node, name: str) -> "PageItems":
        """One item per row, for call bodies that do more than push (`PageItems`: the body may look at the items
        still to come on the same page, to send their child calls ahead)."""
        names = {c.name.lower(): c.name for c in self.columns}
        colnames = self.colnames

        def pages() -> Iterator[list[Item]]:
            for rows, extra in self._feed(x, op, in_item, node):
                page: list[Item] = []
                for row in rows:
                    # an item of a response is data (rsd.provenance): never placeholders, templates or names
                    item = Item(name, dict(zip(colnames, row)), dict(names), data=True)
                    for k, v in extra:
                        item.set(k, v)
                    page.append(item)
                yield page
        return PageItems(pages())

    # -- the feed --------------------------------------------------------------------------------
    def _feed(self, x: Exec, op: str, in_item: Optional[Item], node: ast.Node, typed: bool = False) -> Iterator[Page]:
        spec = OPERATIONS.get(op.strip().lower())
        if spec is None or spec.run is None:
            what = "is a driver built-in rsd does not run" if spec is not None else "is not an operation rsd can run"
            raise RunError(f"{node.loc}: api:call op={op!r} {what}; rsd runs: {', '.join(runnable())}")
        if self.speculating and not spec.request:  # a built-in (a token, files): nothing to send ahead
            raise Captured(None)
        if typed and spec.kind is not None:  # a provider operation: its pages may come converted (TypedRows)
            return spec.run(self, x, Attrs(x, in_item), node, op=op, kind=spec.kind, typed=True)
        return spec.run(self, x, Attrs(x, in_item), node, op=op, kind=spec.kind)

    def provider(self, x: Exec, a: Attrs, node: ast.Node, *, op: str, kind: str,
                 typed: bool = False) -> Iterator[Page]:
        """The provider operations: send the request, page, map each body to rows; with `typed` (rows that go
        straight to the output) rows are converted to their columns' types as they are mapped."""
        req = build_request(x, a, op, node, self.missing)
        mapper = self._mapper(a, kind)
        emaps = self._element_maps(a, kind)
        pager = None if self.writing else build_pager({n: a.get(n) for n in paging_attrs()},
                                                      lambda p: self._path(p, kind))
        page_req = pager.first() if pager is not None else PageRequest()
        # a Spark partition reads a page range (rsd.spark): start at its first page
        window = self.run.page_window
        if pager is not None:
            self.run.pager = pager
            if window is not None:
                if not pager.rangeable:
                    raise RunError(f"{node.loc}: a page range needs page-number or offset paging, not "
                                   f"{pager.describe()}")
                page_req = pager.start_at(window[0], window[1])
        if self.plan_hook is not None:
            first = req.url if page_req.url is None else page_req.url
            self.plan_hook(PlannedRequest(op=op, node=node, method=req.method, kind=kind,
                                url=with_query(first, list(page_req.params.items())), headers=req.headers,
                                data=req.data, pager=pager, repeat=self._repeat(a, kind),
                                model=(a.get("datamodel") or "DOCUMENT"), timeout=req.timeout,
                                from_response=req.from_response))
        # the first page may have been sent ahead already (a later query-slicer value, `prefetch`)
        first_page = self._prefetched.pop(_request_key(req.method, _page_url(req, page_req), req.headers, req.data),
                                          None) if self._prefetched and window is None else None
        ahead: Optional[Lookahead] = None
        if self.fetcher.concurrent and pager is not None:
            base = self.run.pages  # messages name the run's page number (rows@next runs one page an execution)
            ahead = self.fetcher.lookahead(
                lambda url, page, from_response: self._fetch(req.method, url, req.headers, req.data, req.timeout,
                                                             base + page, node, from_response=from_response))
        try:
            if ahead is not None and pager is not None and pager.addressable and first_page is None:
                # page k's request is known before page 1 arrives (page numbers): the first pages go out together
                ahead.announce(self._ahead(req, pager, page_req, 0, None))
            coercer = self.coercer if typed and not emaps else None
            yield from self._page_loop(x, req, page_req, pager, mapper, emaps, kind, node, ahead, first_page,
                                       coercer)
        finally:
            if ahead is not None:
                ahead.close()

    def _page_loop(self, x: Exec, req: Request, page_req: PageRequest, pager: Optional[Pager], mapper: Mapper,
                   emaps: tuple[tuple[str, PathFn], ...], kind: str, node: ast.Node, ahead: Optional[Lookahead],
                   first_page: Optional[Future[Fetched]] = None, coercer: Optional[Coercer] = None) -> Iterator[Page]:
        run = self.run
        page_no = 0
        base = run.pages  # the run's pages before this execution: a message names page `base + page_no`
        last = None  # index of the last page, when the first page tells the total
        while True:
            if run.max_pages is not None and run.pages >= run.max_pages:
                raise StopRun(STOP_CLI_MAX_PAGES)
            page_no += 1
            req_url = _page_url(req, page_req)
            from_response = page_req.url is not None or req.from_response  # a URL a response gave
            fetched: Fetched
            if first_page is not None and page_no == 1:
                fetched = first_page.result()
            elif ahead is not None:
                fetched = ahead.take(page_no, req_url, from_response)
            else:
                fetched = self._fetch(req.method, req_url, req.headers, req.data, req.timeout, base + page_no, node,
                                      from_response=from_response)
            body, status, resp_headers, final_url, links = fetched
            if not run.secret_seen and self.redactor.finds_in(body, resp_headers):
                run.secret_seen = True  # the API echoes a secret: every output row is redacted from now on
            source = f"{req.method} {self.redactor.redact_url(final_url)} (page {base + page_no})"
            if self.writing and not body.strip():  # 204 No Content (a delete): nothing to push
                self._response_item(x, status, final_url, resp_headers)
                return
            doc = parse_document(body, kind, source=source)
            self._response_item(x, status, final_url, resp_headers)
            extra = tuple((name, fn(doc)) for name, fn in emaps)
            for name, value in extra:
                # a token a profile obtains itself is a secret from the moment it is read
                if value and isinstance(value, str) and is_secret_name(name):
                    self.redactor.add(value)
            rows = mapper.typed_rows(doc, coercer) if coercer is not None else list(mapper.rows(doc))
            n = len(rows)
            if not emaps:
                run.watch.page(mapper, doc, n, source, len(body))
            next_req: Optional[PageRequest] = None
            if pager is not None:
                # the next request is decided (and sent ahead) before this page is handed on
                result = PageResult(url=final_url, rows=n, doc=doc, headers=resp_headers, links=links)
                if page_no == 1 and run.on_total is not None:
                    total_pages, total_rows = pager.totals(result)
                    # a total count counts records: no count of rows when a row joins a child to its parent
                    run.learn_totals(total_pages, total_rows if mapper.row_per_record else None)
                next_req = pager.next(result)
                if next_req is not None and ahead is not None and not run.limit_reached_by(n):
                    if page_no == 1:
                        last = pager.last_index(result)
                    ahead.announce(self._ahead(req, pager, next_req, page_no, last))
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
            window = run.page_window
            if window is not None and window[2] is not None and page_no >= window[2]:
                problem = pager.range_problem(window[1], window[2]) if pager is not None else None
                if problem:
                    raise RunError(f"{node.loc}: {problem}",
                                   hint="read it in one partition (pagePartitions=1), or by partitionBy")
                run.note_stop(STOP_PAGE_RANGE, declarative=True)  # the rest of the pages are other partitions'
                return
            if pager is None:
                run.note_stop(STOP_SINGLE, declarative=False)
                return
            if next_req is None:
                run.note_stop(pager.stop_reason, declarative=True)
                return
            page_req = next_req

    def speculate(self, execute: Callable[[], object]) -> Optional[RequestKey]:
        """Run `execute` (a script or call body on copies of the items, rows dropped, a state of its own) up to its
        first request, and send that request ahead (`prefetch`): the key it was sent under, or None. Nothing of the
        run changes; anything that goes wrong just means nothing is sent ahead (the real execution meets it)."""
        if self.plan_hook is not None or self.speculating:
            return None

        def capture(request: PlannedRequest) -> None:
            raise Captured(request)

        pager = self.run.pager
        self.plan_hook, self.speculating = capture, True
        try:
            execute()
        except Captured as captured:
            return self.prefetch(captured.request) if captured.request else None
        except (Exception, StopRun):
            pass
        finally:
            self.plan_hook, self.speculating = None, False
            self.run.pager = pager  # a speculative call's pager is not the run's
        return None

    def prefetch(self, request: PlannedRequest) -> Optional[RequestKey]:
        """Send ahead a call's first request, as `plan_hook` saw it, for a later execution to use: only a GET (a
        request that may be sent for nothing must change nothing), and only if it is used exactly as it is. Returns
        the request's key (None: not sent)."""
        if request.get("method") != "GET" or not self.fetcher.concurrent:
            return None
        key = _request_key(request["method"], request["url"], request["headers"], request["data"])
        if key not in self._prefetched:
            self._prefetched[key] = self.fetcher.submit(
                self._fetch, request["method"], request["url"], request["headers"], request["data"],
                request.get("timeout"), None, request["node"], request.get("from_response", False))  # no page
                # number: which of the run's pages it will be is known only when it is used (the URL names it)
        return key

    def drop_prefetched(self, key: Optional[RequestKey] = None) -> None:
        """Requests sent ahead and never asked for (all of them when the run ended, or the one of `key`) are
        counted, and dropped."""
        futures = list(self._prefetched.values()) if key is None else [self._prefetched.pop(key, None)]
        for future in futures:
            if future is not None and not future.cancel():
                self.fetcher.extra += 1
        if key is None:
            self._prefetched.clear()

    def _ahead(self, req: Request, pager: Pager, page_req: PageRequest, page_no: int,
               last: Optional[int]) -> Iterator[tuple[int, str, bool]]:
        """The pages to send ahead after page `page_no`: the next one (`page_req`), then, when the strategy
        knows page k's request in advance, those after it, up to the window, the last page and `--max-pages`."""
        limit = page_no + self.fetcher.concurrency
        if self.run.max_pages is not None:  # page `page_no` (if any) is not counted yet
            limit = min(limit, page_no + self.run.max_pages - self.run.pages - (1 if page_no else 0))
        # a Spark partition's page range (rsd.spark): its pages count from its first page, and end with it
        window = self.run.page_window
        first = window[0] if window is not None else 0
        if window is not None and window[2] is not None:
            limit = min(limit, window[2])
        if limit <= page_no:
            return
        yield page_no + 1, _page_url(req, page_req), page_req.url is not None or req.from_response
        if last is not None:
            limit = min(limit, last + 1 - first)
        hints_cap = pager.hints.maxpages
        if hints_cap is not None:
            limit = min(limit, hints_cap - first)
        for number in range(page_no + 2, limit + 1):
            nxt = pager.request_at(first + number - 1)
            if nxt is None:
                return
            yield number, _page_url(req, nxt), nxt.url is not None or req.from_response

    def _fetch(self, method: str, url: str, headers: list[tuple[str, str]], data: Optional[str],
               timeout: Optional[float], page_no: int, node: ast.Node, from_response: bool = False) -> Fetched:
        """One page: the HTTP client sends it (or reads a `file://` URI through the run's trust policy);
        `from_response` says the URL came from the previous page (a next URL, a `Link` header). A write's request
        names no page, and is not sent again once it may have reached the server unless its method is idempotent."""
        self.run.fetches += 1  # progress, for the step budget (RunState.tick)
        http = self.client(node)
        resp = http.request(method, url, headers=headers, data=data, page=None if self.writing else page_no,
                            timeout=float(timeout) if timeout else None, from_response=from_response,
                            retry_after_send=not self.writing or method.upper() in IDEMPOTENT_METHODS)
        return resp.content, resp.status_code, resp.headers, resp.url, resp.links

    def client(self, node: ast.Node) -> HttpClient:
        """The run's HTTP client. A run made without one (a dry run, `rsd plan`, whose plan hook stops every call
        before its first request) sends nothing."""
        if self.http is None:
            raise RunError(f"{node.loc}: the run was made without an HTTP client, so it cannot send this call's "
                           f"request")
        return self.http

    @staticmethod
    def _repeat(a: Attrs, kind: str) -> Optional[str]:
        if kind == "xml":
            return a.get("xpath") or a.get("repeatelement")
        return a.get("jsonpath") or a.get("xpath") or a.get("repeatelement")

    def _mapper(self, a: Attrs, kind: str) -> Mapper:
        repeat = self._repeat(a, kind)
        model = (a.get("datamodel") or "DOCUMENT").upper()
        key = (kind, repeat, model)
        m = self._mappers.get(key)
        if m is None:
            try:
                m = self._mappers[key] = compile_mapper(self.columns, repeat_paths=repeat, data_model=model,
                                                        kind=kind)
            except PathError as e:
                raise ProfileError(f"the repeating path {repeat!r} cannot be used: {e}") from None
        return m

    def _path(self, path: str, kind: str) -> PathFn:
        key = (path, kind)
        fn = self._paths.get(key)
        if fn is None:
            try:
                fn = self._paths[key] = compile_value_path(path, kind)
            except PathError as e:  # a path the script built or left empty at run time: invalid input, not a crash
                raise ProfileError(f"the {kind.upper()} path {path!r} cannot be used: {e}") from None
        return fn

    def _element_maps(self, a: Attrs, kind: str) -> tuple[tuple[str, PathFn], ...]:
        paths, names = a.multi("elementmappath"), a.multi("elementmapname")
        out: list[tuple[str, PathFn]] = []
        for i, p in enumerate(paths):
            if p is None or i >= len(names) or names[i] is None:
                continue
            out.append((text_of(names[i]), self._path(text_of(p), kind)))
        return tuple(out)

    @staticmethod
    def _response_item(x: Exec, status: int, url: str, headers: Mapping[str, str]) -> None:
        item = Item("_response", data=True)
        item.set("status", status)
        item.set("url", url)
        for k, v in headers.items():
            item.set("header:" + k, v)
        x.scope.response = item


@operation("jsonproviderGet", "apisadoExecuteJSONGet", "jsonGet", "restproviderGet", kind="json", request=True)
def _json_provider(ops: Operations, x: Exec, a: Attrs, node: ast.Node, *, op: str, kind: Optional[str],
                   typed: bool = False) -> Iterator[Page]:
    return ops.provider(x, a, node, op=op, kind=kind or "json", typed=typed)


@operation("xmlproviderGet", "xmlGet", kind="xml", request=True)
def _xml_provider(ops: Operations, x: Exec, a: Attrs, node: ast.Node, *, op: str, kind: Optional[str],
                  typed: bool = False) -> Iterator[Page]:
    return ops.provider(x, a, node, op=op, kind=kind or "xml", typed=typed)


@operation("csvproviderGet", "csvGet", kind="csv", request=True)
def _csv_provider(ops: Operations, x: Exec, a: Attrs, node: ast.Node, *, op: str, kind: Optional[str],
                  typed: bool = False) -> Iterator[Page]:
    return ops.provider(x, a, node, op=op, kind=kind or "csv", typed=typed)


# driver built-ins real profiles call (docs/reference/rsd-format.md §8): these two run (builtins.py), the others
# are known
from . import builtins  # noqa: F401  (registers oauthGetAccessToken and coreListIndexes)

accept("oauthGetUserInfo", "utiladoCloudOAuth")
