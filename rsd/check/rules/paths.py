"""`rsd check` rules, 4xx paths, data models and types.

Owns: JSONPath/XPath syntax, path indexes evaluated as templates, xs:type names, DataModel. Must not: run anything.
"""
from __future__ import annotations

import difflib
import re
from typing import Iterator

from ... import paging
from ...errors import Diagnostic
from ...reader import ast
from .. import deps
from ..codes import diag
from ..facts import Facts, Source, is_literal
from .common import did_you_mean
from .common import op_spec as _op

# --- 4xx: paths, data model, types --------------------------------------------------------------

# attribute → the code a bad value gets (JSONPath, or the XPath family)
_PATH_ATTRS = {"jsonpath": "RSD401", "xpath": "RSD402", "repeatelement": "RSD402", "elementmappath": "RSD402"}
# `[0]`, `[*]`, `[-1]`, `[?(...)]`, `[@id]`, `[last()]`: path syntax, not an attribute reference
_PATH_INDEX = re.compile(r"(?<!\\)\[\s*(?:-?\d+|\*|\?|@|last\(\)|position\(\))[^\]]*\]")


def _doc_kind(f: Facts) -> str:
    """"xml" when every request operation of the profile reads XML, else "json" (JSON paths also
    accept the `/a/b` form)."""
    specs = [spec for spec in (_op(op) for _, op in f.ops) if spec is not None and spec.request]
    kinds = {"xml" if spec.kind == "xml" else "json" for spec in specs}
    return "xml" if kinds == {"xml"} else "json"


def _bad_paths(value: str, kind: str) -> Iterator[tuple[int, str, str]]:
    """(offset in `value`, message, entry) for each `;`-separated entry that does not parse: the offset of the character
    where it goes wrong when the parser says (`$.results)`: the `)`), else of the entry."""
    pos = 0
    for part in value.split(";"):
        entry = part.strip()
        if entry:
            problem = deps.validate_path(entry, kind)
            if problem:
                err, at = problem
                yield pos + part.index(entry) + (at or 0), err, entry
        pos += len(part) + 1


def _path_code(code: str, entry: str) -> str:
    return "RSD401" if code == "RSD401" or entry.startswith("$") else "RSD402"


def rule_paths(f: Facts, src: Source) -> Iterator[Diagnostic]:
    kind = _doc_kind(f)
    paging_paths = paging.path_attrs()
    for a in f.assignments:
        code = _PATH_ATTRS.get(a.base) or ("RSD402" if a.base in paging_paths else None)
        if code is None or not a.value:
            continue
        value = a.value
        if not a.raw:
            m = _PATH_INDEX.search(value)
            if m:
                loc = src.at(a.param, m.start()) if a.param is not None else a.node.loc
                yield diag("RSD407", loc, f"'{m.group(0)}' in {a.target.value.strip()} is evaluated as a template, "
                           "not kept as a path index", "use api:setc for paths, or escape the brackets: \\[0\\]")
                continue
        if not a.raw and (not is_literal(value) or "\\" in value):
            continue  # a template (or escapes): checked once it has a value, at run time
        for off, err, entry in _bad_paths(value, kind):
            loc = src.at(a.param, off) if a.param is not None else a.node.loc
            c = _path_code(code, entry)
            yield diag(c, loc, f"invalid {'JSONPath' if c == 'RSD401' else 'XPath'} in {a.target.value.strip()}: {err}")
    info = f.profile.info
    if info is None:
        return
    for column in info.columns:
        p = next((p for k, p in column.params.items() if k.split(":")[-1] == "xpath"), None)
        if p is None or not p.value.strip():
            continue
        for off, err, entry in _bad_paths(p.value, kind):
            yield diag(_path_code("RSD402", entry), src.at(p, off),
                       f"invalid path in {p.name} of column '{column.name}': {err}")


def rule_types(f: Facts, src: Source) -> Iterator[Diagnostic]:
    info = f.profile.info
    if info is None:
        return
    known = deps.known_types()
    declared: tuple[ast.Column | ast.Input, ...] = (*info.columns, *info.inputs)
    for el in declared:
        p = next((p for k, p in el.params.items() if k.split(":")[-1] == "type"), None)
        if p is None or not p.value.strip():
            continue
        t = p.value.strip()
        if deps.maps_type(t):
            continue
        close = difflib.get_close_matches(t.lower(), sorted(known), n=1, cutoff=0.6)
        if close:
            yield diag("RSD403", src.at(p), f"{p.name}=\"{t}\" is not a known type; it is read as a string",
                       f"did you mean '{close[0]}'?")
        else:
            yield diag("RSD404", src.at(p), f"{p.name}=\"{t}\" is not a known type; it is read as a string",
                       "use string, integer, number, boolean, date or datetime (aliases such as int, long, "
                       "double, bool are accepted)")


def rule_data_model(f: Facts, src: Source) -> Iterator[Diagnostic]:
    kind = _doc_kind(f)
    for a in f.assignments:
        if a.base != "datamodel" or not a.value or not is_literal(a.value):
            continue
        value = a.value.strip()
        loc = src.at(a.param) if a.param is not None else a.node.loc
        if value.upper() not in deps.KNOWN_DATA_MODELS:
            yield diag("RSD405", loc, f"unknown DataModel \"{value}\" (DOCUMENT, FLATTENEDDOCUMENTS, RELATIONAL)",
                       did_you_mean(value.upper(), deps.SUPPORTED_DATA_MODELS))
        elif value.upper() == "RELATIONAL":
            yield from _relational_paths(f, src, a.item, kind)


def _relational_paths(f: Facts, src: Source, item: str, kind: str) -> Iterator[Diagnostic]:
    """RSD406: the repeating paths written beside a RELATIONAL DataModel (same item) must be one table's chain."""
    for a in f.assignments:
        if a.item != item or a.base not in ("jsonpath", "xpath", "repeatelement") or not a.value:
            continue
        if (not a.raw and not is_literal(a.value)) or list(_bad_paths(a.value, kind)):
            continue  # a template is checked at run time; a path that does not parse is RSD401/RSD402
        problem = deps.relational_problem(a.value, kind)
        if problem:
            loc = src.at(a.param) if a.param is not None else a.node.loc
            yield diag("RSD406", loc, problem.replace("DataModel=RELATIONAL: ", "DataModel RELATIONAL: "),
                       "list the table's ancestor paths first and the table's own path last, e.g. "
                       "$.people;$.people.vehicles")
