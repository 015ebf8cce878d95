"""Paging: declarative strategies (docs/reference/contract.md §5), stop rules and the reason paging stopped.

Owns: reading the paging attributes of a call (`EnablePaging`, `pagenumberparam`, `pageoffsetparam`,
`pagesize`, `pagesizeparam`, `nextpagetokenpath`, `nextpagetokenparam`, `nextpageurlpath`,
`pagingtype`, `totalcountpath`, `totalpagespath`, `hasmorepath`, `maxpages`), deciding the next
request of a page, and the stop rules shared with script-driven `rows@next` paging (`StopRules`).
Must not: send requests or parse bodies (it gets a parsed document and a value-path compiler).

A page shorter than the page size is never a stop rule: APIs that cap page sizes would lose data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, TypeVar
from urllib.parse import parse_qsl, urljoin, urlsplit

from ..errors import ProfileError
from ..truth import is_true

# The attributes every strategy shares, as a profile spells them (names are case-insensitive; `rsd init` writes these).
ENABLE_PAGING = "EnablePaging"
PAGE_SIZE, PAGE_SIZE_PARAM, PAGING_TYPE = "pagesize", "pagesizeparam", "pagingtype"
TOTAL_COUNT_PATH, TOTAL_PAGES_PATH, HAS_MORE_PATH, MAX_PAGES = "totalcountpath", "totalpagespath", "hasmorepath", \
    "maxpages"

#: attributes every strategy shares: the switch, the page size and `pagingtype`, and the stop hints (lower case)
COMMON_ATTRS = (ENABLE_PAGING.lower(), PAGE_SIZE, PAGE_SIZE_PARAM, PAGING_TYPE, TOTAL_COUNT_PATH, TOTAL_PAGES_PATH,
                HAS_MORE_PATH, MAX_PAGES)

#: reads one attribute of the call (lower-case name) -> its value, None when unset
Getter = Callable[[str], Optional[str]]
#: a compiled value path: parsed document -> the value it points at (None when absent)
PathFn = Callable[[object], object]
#: JSONPath/XPath text -> its compiled `PathFn`
PathCompiler = Callable[[str], PathFn]
P = TypeVar("P", bound="Pager")

#: the stop hints that read a value from the response
HINT_PATHS = (TOTAL_COUNT_PATH, TOTAL_PAGES_PATH, HAS_MORE_PATH)

#: the registered strategies, in the order messages list them (see `strategy`)
STRATEGIES: list[type[Pager]] = []


def strategy(cls: type[P]) -> type[P]:
    """Register a `Pager` subclass as a declarative paging strategy. The runner (`build_pager`) and `rsd check`
    (`rsd.check` paging rules) both read the registry, so a new strategy touches its class, a test and a sample."""
    if not cls.selector:
        raise TypeError(f"{cls.__name__}: a paging strategy needs a selector attribute")
    STRATEGIES[:] = [c for c in STRATEGIES if c.choice().lower() != cls.choice().lower()] + [cls]
    return cls


# Stop reasons, as the summary prints them.
STOP_SINGLE = "single request (no paging configured)"
STOP_EMPTY = "a page had no rows"
STOP_NO_NEXT = "the next page state was missing"
STOP_LOOP = "the next page state repeated (loop detected)"
STOP_TOTAL_COUNT = "rows received reached the total count"
STOP_TOTAL_PAGES = "pages fetched reached the total pages"
STOP_HAS_MORE = "the response said there are no more pages"
STOP_MAXPAGES = "maxpages reached"
STOP_CLI_MAX_PAGES = "--max-pages reached"
STOP_LIMIT = "--limit reached"
STOP_NOT_ADVANCING = "EnablePaging is set but nothing advances the page (fetched one page)"
STOP_PAGE_RANGE = "the partition's page range ended"


def _split_param(spec: str, default_start: int) -> tuple[str, int]:
    name, _, start = spec.partition(";")
    start = start.strip()
    try:
        first = int(start) if start else default_start
    except ValueError:
        raise ProfileError(f"paging parameter {spec!r}: the start value {start!r} is not a whole number")
    return name.strip(), first


@dataclass
class PageRequest:
    """What a page changes in the request: query parameters to set, or a whole next URL."""

    params: dict[str, str] = field(default_factory=dict)
    url: Optional[str] = None


@dataclass
class PageResult:
    """What a page told the pager."""

    url: str  # the URL that was requested (with query)
    rows: int  # rows (repeat elements) on this page
    doc: object  # parsed document
    headers: Mapping[str, str]  # response headers
    links: Mapping[str, Mapping[str, str]]  # requests' parsed Link header


class Pager:
    """One paged call: `first()` gives the first page's request; `next(result)` the next one or None.

    After `next` returns None, `stop_reason` says why.

    A strategy registered with `@strategy` also describes itself to `rsd check` (class attributes):
    `selector` the attribute that chooses it (and `selector_value` when the attribute is a shared switch such as
    `pagingtype`); `requires` the attributes it needs, each with what goes wrong without it; `counter` when the
    selector is written `name;start` (a whole-number start); `sized` when `pagesize`/`pagesizeparam` apply;
    `addressable` when page k's request is known without fetching page k-1 (`request_at`, `start_at`).

    For the fetch scheduler (`rsd.engine.fetch`), which sends requests ahead and uses them only when `next` asks
    for exactly that request: `request_at(index)` is page `index`'s request when it is known before the pages
    in between arrive (None otherwise), and `last_index(first_page)` the index of the last page when the first
    page tells the total (`totalpagespath`, `totalcountpath`, an `X-Total-Count` header, a `Link` `rel="last"`).
    """

    strategy = "none"
    selector: Optional[str] = None
    selector_value: Optional[str] = None
    requires: Mapping[str, str] = {}
    counter = False
    sized = False
    addressable = False
    #: a page range can begin at page k without reading the pages before it (`start_at`, `range_problem`): the page
    #: ranges of Spark partitions (rsd.spark)
    rangeable = False
    #: what is said when an attribute of `requires` is set without the selector
    orphan_reason = ""
    #: attributes whose value is a path into the response (JSONPath or XPath), checked offline
    paths: tuple[str, ...] = ()

    @classmethod
    def build(cls, get: Getter, hints: StopHints,
              compile_path: PathCompiler) -> Pager:  # pragma: no cover - abstract
        """The pager for a call whose attributes `get(name)` reads (lower-case names, None when unset)."""
        raise NotImplementedError

    @classmethod
    def chosen_by(cls, get: Callable[[str], Optional[str]]) -> bool:
        value = get(cls.selector) if cls.selector else None
        if not value:
            return False
        return cls.selector_value is None or value.strip().lower() == cls.selector_value.lower()

    @classmethod
    def choice(cls) -> str:
        """How a profile chooses it, as messages show it: `pagenumberparam` or `pagingtype=LinkHeader`."""
        return f"{cls.selector}={cls.selector_value}" if cls.selector_value else str(cls.selector)

    def __init__(self, hints: StopHints) -> None:
        self.hints = hints
        self.stop_reason: Optional[str] = None
        self.pages = 0
        self.rows = 0
        self._seen: set[tuple[Optional[str], tuple[tuple[str, str], ...]]] = set()

    def first(self) -> PageRequest:
        return PageRequest()

    def next(self, page: PageResult) -> Optional[PageRequest]:
        self.pages += 1
        self.rows += page.rows
        if page.rows == 0:
            return self._stop(STOP_EMPTY)
        reason = self.hints.check(page.doc, self.pages, self.rows)
        if reason:
            return self._stop(reason)
        nxt = self._advance(page)
        if nxt is None:
            return None
        key = (nxt.url, tuple(sorted(nxt.params.items())))
        if key in self._seen:
            return self._stop(STOP_LOOP)
        self._seen.add(key)
        return nxt

    def _advance(self, page: PageResult) -> Optional[PageRequest]:
        return self._stop(STOP_SINGLE)

    def request_at(self, index: int) -> Optional[PageRequest]:
        """Page `index`'s request (0 = the first page) when it is known without the pages before it."""
        return None

    def last_index(self, first: PageResult) -> Optional[int]:
        """The index of the last page as the first page tells it, or None when it does not."""
        return None

    def start_at(self, index: int, rows_before: int) -> PageRequest:  # pragma: no cover - abstract
        """A `rangeable` strategy: begin at page `index` as if `index` pages holding `rows_before` rows had been
        read (the first request of a Spark partition's page range, rsd.spark)."""
        raise NotImplementedError

    def range_problem(self, rows_before: int, pages: int) -> Optional[str]:
        """Once a page range that began `rows_before` rows in has read its `pages` pages: why it may not end where
        the next range begins (rows skipped or read twice), or None."""
        return None

    def totals(self, first: PageResult) -> tuple[Optional[int], Optional[int]]:
        """(pages, rows) of the whole call as its first page tells them (a progress bar's total): pages from
        `totalpagespath` or what `last_index` reads, rows from `totalcountpath` or an `X-Total-Count` header."""
        hints = self.hints
        rows = _as_int(hints.total_count(first.doc)) if hints.total_count is not None else None
        if rows is None:
            rows = _as_int(_header(first.headers, "X-Total-Count"))
        pages = _as_int(hints.total_pages(first.doc)) if hints.total_pages is not None else None
        if pages is None:
            last = self.last_index(first)
            pages = last + 1 if last is not None else None
        return pages, rows

    def _stop(self, reason: str) -> Optional[PageRequest]:
        self.stop_reason = reason
        return None

    def describe(self) -> str:
        return self.strategy


class NotAdvancingPager(Pager):
    strategy = "EnablePaging without a strategy"

    def _advance(self, page: PageResult) -> Optional[PageRequest]:
        return self._stop(STOP_NOT_ADVANCING)


class _CounterPager(Pager):
    """A counter sent as a query parameter (with the page size, when given); subclasses say how it steps."""

    counter = True
    sized = True
    default_start = 0

    @classmethod
    def build(cls, get: Getter, hints: StopHints, compile_path: PathCompiler) -> Pager:
        name, first = _split_param(get(cls.selector or "") or "", cls.default_start)
        return cls(hints, name, first, get("pagesizeparam"), get("pagesize"))

    def __init__(self, hints: StopHints, param: str, first: int, size_param: Optional[str],
                 size: Optional[str]) -> None:
        super().__init__(hints)
        self.param, self.current, self.first_value = param, first, first
        self.size_params: dict[str, str] = {size_param: size} if size_param and size else {}

    def first(self) -> PageRequest:
        return PageRequest({self.param: str(self.current), **self.size_params})

    def _advance(self, page: PageResult) -> Optional[PageRequest]:
        self.current += self._step(page)
        return PageRequest({self.param: str(self.current), **self.size_params})

    def _step(self, page: PageResult) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.strategy}: ?{self.param}=N" + "".join(f"&{k}={v}" for k, v in self.size_params.items())

    def _page_rows(self, first: PageResult) -> Optional[int]:
        """Rows of a full page: the page size asked for, else what the first page held."""
        size = _as_int(next(iter(self.size_params.values()), None))
        return size if size and size > 0 else (first.rows or None)

    def last_index(self, first: PageResult) -> Optional[int]:
        hints = self.hints
        pages = _as_int(hints.total_pages(first.doc)) if hints.total_pages is not None else None
        if pages is not None:
            return pages - 1
        count = _as_int(hints.total_count(first.doc)) if hints.total_count is not None else None
        if count is None:
            count = _as_int(_header(first.headers, "X-Total-Count"))
        per_page = self._page_rows(first)
        if count is not None and per_page:
            return -(-count // per_page) - 1
        last = (first.links or {}).get("last", {}).get("url")
        if last:
            value = _as_int(dict(parse_qsl(urlsplit(last).query)).get(self.param))
            if value is not None:
                return self._index_of(value, per_page)
        return None

    def _index_of(self, value: int, per_page: Optional[int]) -> Optional[int]:  # pragma: no cover - abstract
        raise NotImplementedError


@strategy
class PageNumberPager(_CounterPager):
    strategy = "page number"
    selector = "pagenumberparam"
    default_start = 1
    addressable = True
    rangeable = True

    def request_at(self, index: int) -> PageRequest:
        """The request of page `index` (0 = the first page)."""
        return PageRequest({self.param: str(self.first_value + index), **self.size_params})

    def start_at(self, index: int, rows_before: int) -> PageRequest:
        """Begin at page `index` as if `index` pages holding `rows_before` rows had been read (the stop hints count
        from there): the first request of a Spark partition's page range (rsd.spark)."""
        self.pages, self.rows, self.current = index, rows_before, self.first_value + index
        return self.request_at(index)

    def _step(self, page: PageResult) -> int:
        return 1

    def _index_of(self, value: int, per_page: Optional[int]) -> Optional[int]:
        return value - self.first_value


@strategy
class OffsetPager(_CounterPager):
    strategy = "offset"
    selector = "pageoffsetparam"

    def _step(self, page: PageResult) -> int:
        # the rows received, not the page size asked for: a server that caps the page size lower than
        # asked would otherwise make us skip records
        if self.rows_per_page is None:
            self.rows_per_page = page.rows
        return page.rows

    rows_per_page: Optional[int] = None  # what the first page held: the guess for the offsets of later pages

    def request_at(self, index: int) -> Optional[PageRequest]:
        """Page `index`'s request if every page before it is full (the first page's rows, or `pagesize`); the
        scheduler checks the guess against the offset `next` really gives before using the response."""
        step = self.rows_per_page or _as_int(next(iter(self.size_params.values()), None))
        if not step or step <= 0:
            return None
        return PageRequest({self.param: str(self.first_value + index * step), **self.size_params})

    def _index_of(self, value: int, per_page: Optional[int]) -> Optional[int]:
        return (value - self.first_value) // per_page if per_page else None

    rangeable = True

    def start_at(self, index: int, rows_before: int) -> PageRequest:
        """Begin `rows_before` rows in (the offset `first + rows_before`), as if `index` full pages had been read."""
        self.pages, self.rows, self.current = index, rows_before, self.first_value + rows_before
        if index:
            self.rows_per_page = rows_before // index
        return PageRequest({self.param: str(self.current), **self.size_params})

    def range_problem(self, rows_before: int, pages: int) -> Optional[str]:
        # the next range begins `pages` full pages further: an offset counts rows, so a short page inside this range
        # would leave rows between the two ranges unread (and a longer one read some twice)
        full, read = self.rows_per_page, self.rows - rows_before
        if full is not None and read == pages * full:
            return None
        return (f"the {pages} pages from offset {self.first_value + rows_before} held {read} rows, not {pages} x "
                f"{full}: pages of this API are not all full, so ranges of offsets would skip or repeat rows")


@strategy
class TokenPager(Pager):
    strategy = "token"
    selector = "nextpagetokenpath"
    requires = {"nextpagetokenparam": "the token has no query parameter to go in"}
    orphan_reason = "nothing says where the token is in the response"
    sized = True
    paths = ("nextpagetokenpath",)

    @classmethod
    def build(cls, get: Getter, hints: StopHints, compile_path: PathCompiler) -> Pager:
        selector = get(TokenPager.selector) or ""
        return cls(hints, compile_path(selector), selector, get("nextpagetokenparam") or "",
                   get("pagesizeparam"), get("pagesize"))

    def __init__(self, hints: StopHints, token_path: PathFn, token_path_text: str, param: str,
                 size_param: Optional[str], size: Optional[str]) -> None:
        super().__init__(hints)
        self.token_path, self.token_path_text, self.param = token_path, token_path_text, param
        self.size_params: dict[str, str] = {size_param: size} if size_param and size else {}

    def first(self) -> PageRequest:
        return PageRequest(dict(self.size_params))

    def _advance(self, page: PageResult) -> Optional[PageRequest]:
        token = self.token_path(page.doc)
        if token is None or token == "" or token is False:
            return self._stop(STOP_NO_NEXT)
        return PageRequest({self.param: str(token), **self.size_params})

    def describe(self) -> str:
        return f"token: {self.token_path_text} sent as ?{self.param}="


@strategy
class NextUrlPager(Pager):
    strategy = "next URL"
    selector = "nextpageurlpath"
    paths = ("nextpageurlpath",)

    @classmethod
    def build(cls, get: Getter, hints: StopHints, compile_path: PathCompiler) -> Pager:
        selector = get(NextUrlPager.selector) or ""
        return cls(hints, compile_path(selector), selector)

    def __init__(self, hints: StopHints, url_path: PathFn, url_path_text: str) -> None:
        super().__init__(hints)
        self.url_path, self.url_path_text = url_path, url_path_text

    def _advance(self, page: PageResult) -> Optional[PageRequest]:
        nxt = self.url_path(page.doc)
        if not nxt or not isinstance(nxt, str):
            return self._stop(STOP_NO_NEXT)
        return PageRequest(url=urljoin(page.url, nxt.strip()))

    def describe(self) -> str:
        return f"next URL from {self.url_path_text} (absolute, or relative to the request URL)"


@strategy
class LinkHeaderPager(Pager):
    strategy = "Link header"
    selector = "pagingtype"
    selector_value = "LinkHeader"

    @classmethod
    def build(cls, get: Getter, hints: StopHints, compile_path: PathCompiler) -> Pager:
        return cls(hints)

    def _advance(self, page: PageResult) -> Optional[PageRequest]:
        nxt = (page.links or {}).get("next", {}).get("url")
        if not nxt:
            return self._stop(STOP_NO_NEXT)
        return PageRequest(url=urljoin(page.url, nxt))

    def describe(self) -> str:
        return 'Link: <...>; rel="next" response header'


@dataclass
class StopHints:
    """Optional stop hints: total count, total pages, has-more flag, and a hard cap (`maxpages`)."""

    total_count: Optional[PathFn] = None
    total_pages: Optional[PathFn] = None
    has_more: Optional[PathFn] = None
    maxpages: Optional[int] = None
    #: the totals the last page announced (None: no such hint, or the page did not say); rsd.spark plans with them
    seen_total_count: Optional[int] = None
    seen_total_pages: Optional[int] = None

    def check(self, doc: object, pages: int, rows: int) -> Optional[str]:
        if self.maxpages is not None and pages >= self.maxpages:
            return STOP_MAXPAGES
        if self.has_more is not None:
            v = self.has_more(doc)
            if v is not None and not is_true(v):
                return STOP_HAS_MORE
        if self.total_pages is not None:
            v = self.seen_total_pages = _as_int(self.total_pages(doc))
            if v is not None and pages >= v:
                return STOP_TOTAL_PAGES
        if self.total_count is not None:
            v = self.seen_total_count = _as_int(self.total_count(doc))
            if v is not None and rows >= v:
                return STOP_TOTAL_COUNT
        return None


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None and not hasattr(headers, "lower_items"):  # a plain dict: look case-insensitively
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return None if value is None else str(value)


def _as_int(v: object) -> Optional[int]:
    if v is None or isinstance(v, bool):
        return None
    try:
        return int(float(v))  # type: ignore[arg-type]  # whatever the document holds: failures are caught
    except (TypeError, ValueError):
        return None


def build_pager(attrs: Mapping[str, object], compile_path: PathCompiler) -> Optional[Pager]:
    """The pager for a call whose (lower-case) attributes are `attrs`, or None when paging is off.

    `compile_path(path)` turns a JSONPath/XPath into a function of the parsed document. Contradictory
    set-ups (two strategies, a strategy without an attribute it requires) raise `ProfileError`; `rsd check`
    reports the same offline, from the same registry.
    """

    def get(name: str) -> Optional[str]:
        v = attrs.get(name)
        return None if v is None or v == "" else str(v)

    if not is_true(get("enablepaging") or "false"):
        return None
    def hint(name: str) -> Optional[PathFn]:
        path = get(name)
        return compile_path(path) if path else None

    hints = StopHints(
        total_count=hint("totalcountpath"),
        total_pages=hint("totalpagespath"),
        has_more=hint("hasmorepath"),
        maxpages=_as_int(get("maxpages")),
    )
    chosen = chosen_strategies(get)
    if len(chosen) > 1:
        raise ProfileError("contradictory paging: " + " and ".join(c.choice() for c in chosen)
                           + " are both set; keep one strategy")
    for cls in STRATEGIES:
        for attr in cls.requires:
            if get(attr) and not cls.chosen_by(get):
                raise ProfileError(f"{attr} is set but {cls.selector} is not: {cls.orphan_reason}")
    if not chosen:
        return NotAdvancingPager(hints)
    cls = chosen[0]
    for attr, why in cls.requires.items():
        if not get(attr):
            raise ProfileError(f"{cls.selector} is set but {attr} is not: {why}")
    return cls.build(get, hints, compile_path)


def chosen_strategies(get: Callable[[str], Optional[str]]) -> list[type[Pager]]:
    """The registered strategies whose selector `get(name)` sets, in registry order."""
    return [cls for cls in STRATEGIES if cls.chosen_by(get)]


def paging_attrs() -> tuple[str, ...]:
    """Every attribute that configures paging: the switches, the stop hints and each strategy's own."""
    names = list(COMMON_ATTRS)
    for cls in STRATEGIES:
        for n in (cls.selector, *cls.requires):
            if n and n not in names:
                names.append(n)
    return tuple(names)


def path_attrs() -> tuple[str, ...]:
    """Every paging attribute whose value is a path into the response: the stop hints' and the strategies'."""
    return HINT_PATHS + tuple(p for cls in STRATEGIES for p in cls.paths if p not in HINT_PATHS)


def paging_types() -> tuple[str, ...]:
    """The values `pagingtype` may take (each chooses a strategy)."""
    return tuple(c.selector_value for c in STRATEGIES if c.selector == "pagingtype" and c.selector_value)
