"""`rsd check` rules, 5xx paging.

Owns: contradictory or non-advancing paging, read from the paging registry (rsd.paging). Must not: run anything.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from ... import paging
from ...errors import Diagnostic, Loc
from ...truth import is_true
from ..codes import diag
from ..facts import DEFAULT_ITEMS, Assignment, Facts, Source, is_literal

# --- 5xx: paging --------------------------------------------------------------------------------

def rule_paging(f: Facts, src: Source) -> Iterator[Diagnostic]:
    groups: dict[str, dict[str, list[Any]]] = {}
    paging_attrs = paging.paging_attrs()
    for a in f.assignments:
        if a.base in paging_attrs:
            item = "" if a.item in DEFAULT_ITEMS else a.item
            groups.setdefault(item, {}).setdefault(a.base, []).append(a)
    rows_next = [a for a in f.assignments if a.base == "rows@next"]
    script_paging = bool(rows_next)

    def at(a: Assignment, off: int = 0) -> Loc:
        return src.at(a.param, off) if a.param is not None else a.node.loc

    for item, attrs in groups.items():
        def literal(name: str) -> Optional[str]:
            """The last literal value of `name` in this group; '' when it is a template; None unset."""
            vals = attrs.get(name)
            if not vals:
                return None
            v = vals[-1].value or ""
            return v if is_literal(v) else ""

        enable = literal("enablepaging")
        enabled = enable is not None and enable != "" and is_true(enable)
        enable_unknown = enable == ""
        strategies = paging.chosen_strategies(literal)
        chosen = sorted((attrs[s.selector or ""][-1] for s in strategies),
                        key=lambda a: (a.target.loc.line, a.target.loc.column))
        pt = literal("pagingtype")
        if pt and pt.strip().lower() not in {t.lower() for t in paging.paging_types()}:
            a = attrs["pagingtype"][-1]
            types = " or ".join(paging.paging_types())
            yield diag("RSD506", at(a), f"pagingtype=\"{pt}\" is not a paging type rsd knows",
                       f"the paging types are {types}; other strategies have their own attributes")
        if len(chosen) > 1 and (enabled or enable_unknown):
            first = chosen[0]
            for a in chosen[1:]:
                yield diag("RSD502", a.target.loc, f"two paging strategies at once: {first.attr} (line "
                           f"{first.target.loc.line}) and {a.attr}", "keep one strategy")
        if enabled or enable_unknown:
            for s in paging.STRATEGIES:
                for needed, why in s.requires.items():
                    if literal(s.selector or "") and literal(needed) is None:
                        a = attrs[s.selector or ""][-1]
                        yield diag("RSD503", a.target.loc, f"{a.attr} is set but {needed} is not: {why}",
                                   f"add <api:set attr=\"{needed}\" value=\"...\"/>")
                    elif literal(needed) and literal(s.selector or "") is None:
                        a = attrs[needed][-1]
                        yield diag("RSD503", a.target.loc, f"{a.attr} is set but {s.selector} is not: "
                                   f"{s.orphan_reason}", f"add <api:set attr=\"{s.selector}\" value=\"...\"/>")
        for s in paging.STRATEGIES:
            v = literal(s.selector or "") if s.counter else None
            if v and ";" in v:
                start = v.split(";", 1)[1].strip()
                if start and not re.fullmatch(r"[+-]?\d+", start):
                    a = attrs[s.selector or ""][-1]
                    yield diag("RSD506", at(a, v.index(";") + 1), f"{a.attr}=\"{v}\": the start value "
                               f"'{start}' is not a whole number", "write it as name;start, e.g. page;1")
        for name in ("pagesize", "maxpages"):
            v = literal(name)
            if v and not re.fullmatch(r"\s*\d+\s*", v):
                a = attrs[name][-1]
                yield diag("RSD506", at(a), f"{a.attr}=\"{v}\" is not a whole number")
        if enabled and chosen and all(s.sized for s in strategies):
            size, size_param = literal("pagesize"), literal("pagesizeparam")
            if (size is None) != (size_param is None):
                a = attrs["pagesize" if size is not None else "pagesizeparam"][-1]
                other = "pagesizeparam" if size is not None else "pagesize"
                yield diag("RSD504", a.target.loc, f"{a.attr} is set but {other} is not: no page size is sent",
                           f"add <api:set attr=\"{other}\" value=\"...\"/>")
        if enabled and not chosen and not script_paging:
            a = attrs["enablepaging"][-1]
            choices = ", ".join(s.choice() for s in paging.STRATEGIES)
            yield diag("RSD501", a.target.loc, "EnablePaging is true but nothing advances the page: no paging "
                       "strategy and no rows@next; the run fetches one page",
                       f"set one of {choices}, or set rows@next in the api:call body")
        if chosen and not enabled and not enable_unknown:
            a = chosen[0]
            yield diag("RSD507", a.target.loc, f"{a.attr} is set but EnablePaging is not true: only one page "
                       "is fetched", "add <api:set attr=\"EnablePaging\" value=\"true\"/>"
                       + (f" (item '{item}')" if item else ""))
    for a in rows_next:
        if a.in_call and a.value is not None and a.value.strip() and is_literal(a.value):
            yield diag("RSD505", at(a), f"rows@next is set to the constant '{a.value.strip()}': every page "
                       "asks for the same next page (loop detection stops the run)",
                       "compute it from the page, e.g. [page | add(1)]")
