"""Which paging a sample page shows: the declarative strategy, its attributes, and the evidence for a comment.

Owns: reading the page's own paging facts (scalar fields outside the records, the `Link` header, the request's
query) and choosing, in this order: the `Link` header; a next URL in the body (absolute or relative: Salesforce's
`nextRecordsUrl`, OData's `@odata.nextLink`, `next`, `links.next`); a token or cursor field; a Stripe-style list
(`has_more` and object ids: the next page starts after the last id); a page number (with a total of pages or of
records); an offset (with a total or a limit); a page number or offset in the URL alone. Attribute names come from
the paging registry (`rsd.paging`: each strategy's `selector` and `requires`, the shared `ENABLE_PAGING`,
`TOTAL_*_PATH`, `HAS_MORE_PATH`), never spelled here. Must not: send requests or write XML.

A parameter name this module cannot read from the request (a cursor's, say) is a guess from the field's name and
the evidence says so: the API's documentation has the last word.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from ..paging import (
    ENABLE_PAGING,
    HAS_MORE_PATH,
    TOTAL_COUNT_PATH,
    TOTAL_PAGES_PATH,
    LinkHeaderPager,
    NextUrlPager,
    OffsetPager,
    PageNumberPager,
    Pager,
    TokenPager,
)
from .sample import Sample
from .shape import Candidate, Steps, json_path_text

#: how deep below the document root paging facts are looked for (`_links.next.href` is 3)
FACT_DEPTH = 3

_PAGE = {"page", "pagenumber", "currentpage", "pageindex", "pageno", "pagenum"}
_TOTAL_PAGES = {"totalpages", "pages", "pagecount", "lastpage", "numpages", "totalpagecount", "pagestotal"}
_TOTAL_COUNT = {"total", "totalsize", "totalcount", "totalresults", "totalitems", "totalrecords", "totalrows",
                "count", "odatacount", "recordcount", "numfound"}
_OFFSET = {"offset", "skip", "start", "startindex", "startat", "from"}
_LIMIT = {"limit", "perpage", "pagesize", "size", "maxresults", "top", "take", "rows"}
_HAS_MORE = {"hasmore", "hasnext", "hasnextpage", "hasmoreitems", "morerecords", "moreresults", "more"}
_NOT_A_CURSOR = {"accesstoken", "idtoken", "refreshtoken", "token", "csrftoken"}


@dataclass
class Fact:
    """A scalar on the page outside the records: its steps from the root, value, and value path as written."""

    steps: Steps
    value: Any
    path: str

    @property
    def name(self) -> str:
        return str(self.steps[-1]).lstrip("@")

    @property
    def norm(self) -> str:
        return _norm(self.name)

    def shown(self) -> str:
        v = self.value
        text = "null" if v is None else ("true" if v is True else "false" if v is False else str(v))
        if isinstance(v, str):
            text = '"' + (text if len(text) <= 60 else text[:57] + "...") + '"'
        return f"{self.path} = {text}"


@dataclass
class PagingPlan:
    """A strategy of the registry, the attributes to set (name as written, value) and why (comment lines)."""

    strategy: type[Pager]
    attrs: list[tuple[str, str]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return self.strategy.strategy


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
        return int(value)
    return None


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and (value.lower().startswith(("http://", "https://"))
                                       or value.startswith("/") or value.startswith("?"))


# ------------------------------------------------------------------------------------------------ facts

def facts(sample: Sample, cand: Candidate) -> list[Fact]:
    """The page's scalars outside the records (JSON values; XML attributes and leaf elements)."""
    root = sample.doc.root
    out: list[Fact] = []
    if sample.kind == "json":
        def visit(obj: dict[str, Any], prefix: Steps, depth: int) -> None:
            for key, value in obj.items():
                path = prefix + (key,)
                if path == cand.steps[:len(path)] and len(path) == len(cand.steps):
                    continue  # the records
                if value.__class__ is dict:
                    if depth < FACT_DEPTH:
                        visit(value, path, depth + 1)
                elif value.__class__ is not list:
                    out.append(Fact(path, value, json_path_text(path)))
        if root.__class__ is dict:
            visit(root, (), 1)
        return out

    def visit_xml(el: Any, steps: Steps, depth: int) -> None:
        for name, value in el.attrib.items():
            out.append(Fact(steps + ("@" + name,), value, "/" + "/".join(steps + ("@" + name,))))
        for child in el:
            if not isinstance(child.tag, str):
                continue
            path = steps + (child.tag,)
            if path == cand.steps:
                continue
            if any(isinstance(c.tag, str) for c in child):
                if depth < FACT_DEPTH:
                    visit_xml(child, path, depth + 1)
            else:
                out.append(Fact(path, child.text, "/" + "/".join(path)))
    visit_xml(root, (root.tag,), 1)
    return out


# ------------------------------------------------------------------------------------------------ rules

def detect_paging(sample: Sample, cand: Candidate, records: list[Any]) -> Optional[PagingPlan]:
    """The paging the page shows, or None."""
    found = facts(sample, cand)
    query = parse_qsl(urlsplit(sample.url).query, keep_blank_values=True) if sample.url else []
    plan = (_link_header(sample) or _next_url(found) or _token(found) or _stripe(found, cand, records, sample)
            or _page_number(found, query, len(records)) or _offset(found, query, len(records))
            or _from_query(query))
    if plan is None:
        return None
    has_more = _first(found, _HAS_MORE, lambda v: isinstance(v, bool) or str(v).lower() in ("true", "false"))
    if has_more is not None and not any(name == HAS_MORE_PATH for name, _ in plan.attrs) \
            and plan.strategy is not LinkHeaderPager:
        plan.attrs.append((HAS_MORE_PATH, has_more.path))
        plan.evidence.append(f"{has_more.shown()}: paging also stops when it says false")
    plan.attrs.insert(0, (ENABLE_PAGING, "true"))
    return plan


def _first(found: list[Fact], names: set[str], test: Callable[[Any], bool] = lambda v: True) -> Optional[Fact]:
    return next((f for f in found if f.norm in names and test(f.value)), None)


def _int_at_least(minimum: int) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        number = _as_int(value)
        return number is not None and number >= minimum
    return test


def _link_header(sample: Sample) -> Optional[PagingPlan]:
    nxt = (sample.links or {}).get("next", {}).get("url")
    if not nxt:
        return None
    cls = LinkHeaderPager
    return PagingPlan(cls, [(cls.selector, cls.selector_value)],
                      [f'the response has a Link header with rel="next" ({nxt})'])


def _next_url(found: list[Fact]) -> Optional[PagingPlan]:
    for f in found:
        if any("next" in _norm(s) for s in f.steps) and _is_url(f.value):
            relative = not f.value.lower().startswith(("http://", "https://"))
            cls = NextUrlPager
            return PagingPlan(cls, [(cls.selector, f.path)], [
                f"{f.shown()}: the next page's URL"
                + (", relative: resolved against the request URL" if relative else ", absolute")])
    return None


def _is_cursor_name(norm: str) -> bool:
    if norm in _NOT_A_CURSOR:
        return False
    if "cursor" in norm:
        return True
    return "token" in norm and any(w in norm for w in ("next", "page", "continuation", "pagination", "skip"))


def _token(found: list[Fact]) -> Optional[PagingPlan]:
    for f in found:
        cursor_named = _is_cursor_name(f.norm) or (f.norm == "after" and any("cursor" in _norm(s) for s in f.steps))
        plain_next = f.norm.startswith("next") and isinstance(f.value, str) and f.value
        if not (cursor_named or plain_next) or _is_url(f.value) or not (f.value is None or isinstance(f.value, str)):
            continue
        param = _param_for(f.name)
        cls = TokenPager
        (param_attr,) = tuple(cls.requires)
        evidence = [f"{f.shown()}: a token for the next page"
                    + (" (null here: this page is the last)" if f.value is None else ""),
                    f"sent back as ?{param}=: that parameter name is a guess from the field's name; check it in the "
                    f"API's documentation"]
        return PagingPlan(cls, [(cls.selector, f.path), (param_attr, param)], evidence)
    return None


def _param_for(name: str) -> str:
    """`next_cursor` -> `cursor`, `nextPageToken` -> `pageToken`, `cursor` -> `cursor`."""
    for prefix in ("next_", "next-"):
        if name.lower().startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    if name.lower().startswith("next") and len(name) > 4 and name[4].isupper():
        return name[4].lower() + name[5:]
    return name


def _stripe(found: list[Fact], cand: Candidate, records: list[Any], sample: Sample) -> Optional[PagingPlan]:
    has_more = _first(found, {"hasmore"}, lambda v: isinstance(v, bool))
    if has_more is None or sample.kind != "json" or not records:
        return None
    if not all(isinstance(r.get("id"), str) and r.get("id") for r in records):
        return None
    cls = TokenPager
    (param_attr,) = tuple(cls.requires)
    last_id = json_path_text(cand.steps) + "[-1].id"
    return PagingPlan(cls, [(cls.selector, last_id), (param_attr, "starting_after"), (HAS_MORE_PATH, has_more.path)],
                      [f"{has_more.shown()} and every record has an id: a Stripe-style list, whose next page starts "
                       f"after the last record's id ({last_id}, sent as ?starting_after=)"])


def _param_in_query(query: list[tuple[str, str]], names: set[str], value: Optional[int]) -> Optional[str]:
    for k, v in query:
        if _norm(k) in names and (value is None or v == str(value)):
            return k
    return None


def _total(found: list[Fact], records: int) -> Optional[tuple[str, Fact]]:
    """The stop hint a page's total gives: a total of pages, else a total of records (never fewer than the page's)."""
    pages = _first(found, _TOTAL_PAGES, _int_at_least(1))
    if pages is not None:
        return TOTAL_PAGES_PATH, pages
    count = _first(found, _TOTAL_COUNT, _int_at_least(records))
    if count is not None:
        return TOTAL_COUNT_PATH, count
    return None


def _page_number(found: list[Fact], query: list[tuple[str, str]], records: int) -> Optional[PagingPlan]:
    page = _first(found, _PAGE, _int_at_least(0))
    if page is None:
        return None
    number = _as_int(page.value)
    total = _total(found, records)
    in_query = _param_in_query(query, _PAGE, number) or _param_in_query(query, {page.norm}, None)
    sized = _first(found, _LIMIT)
    if not (total or in_query or sized):
        return None  # a lone "page" field is too little to go on
    param = in_query or (page.name if page.norm == "page" else "page")
    cls = PageNumberPager
    plan = PagingPlan(cls, [(cls.selector, f"{param};{number}")],
                      [f"{page.shown()}: pages are numbered from {number}, sent as ?{param}="
                       + ("" if in_query else " (the parameter name is a guess: check the API's documentation)")])
    if total is not None:
        hint, fact = total
        plan.attrs.append((hint, fact.path))
        plan.evidence.append(f"{fact.shown()}: paging stops when the "
                             + ("pages fetched reach it" if hint == TOTAL_PAGES_PATH else "rows received reach it"))
    return plan


def _offset(found: list[Fact], query: list[tuple[str, str]], records: int) -> Optional[PagingPlan]:
    offset = _first(found, _OFFSET, _int_at_least(0))
    if offset is None:
        return None
    start = _as_int(offset.value)
    # an offset counts records: only a total of records stops it
    count = _first(found, _TOTAL_COUNT, _int_at_least(records))
    in_query = _param_in_query(query, _OFFSET, start) or _param_in_query(query, {offset.norm}, None)
    limit = _first(found, _LIMIT)
    if not (count or in_query or limit):
        return None
    param = in_query or offset.name
    cls = OffsetPager
    plan = PagingPlan(cls, [(cls.selector, f"{param};{start}")],
                      [f"{offset.shown()}"
                       + (f" and {limit.shown()}" if limit is not None else "")
                       + f": an offset from {start}, sent as ?{param}= and advanced by the rows each page holds"])
    if count is not None:
        plan.attrs.append((TOTAL_COUNT_PATH, count.path))
        plan.evidence.append(f"{count.shown()}: paging stops when the rows received reach it")
    return plan


def _from_query(query: list[tuple[str, str]]) -> Optional[PagingPlan]:
    cls: type[Pager]
    for k, v in query:
        n = _as_int(v)
        if n is None:
            continue
        if _norm(k) in _PAGE:
            cls = PageNumberPager
            return PagingPlan(cls, [(cls.selector, f"{k};{n}")],
                              [f"the URL asks for ?{k}={v}: page numbers from {n}; paging stops on an empty page"])
        if _norm(k) in _OFFSET:
            cls = OffsetPager
            return PagingPlan(cls, [(cls.selector, f"{k};{n}")],
                              [f"the URL asks for ?{k}={v}: an offset from {n}, advanced by the rows each page "
                               f"holds; paging stops on an empty page"])
    return None

