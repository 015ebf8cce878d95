"""`rsd check` rules, 2xx templates and formatters, 3xx references.

Owns: template syntax, formatter names and arity, references nothing sets, unused inputs, URI placeholders.
Must not: run anything.
"""
from __future__ import annotations

import re
from typing import Iterator, Optional

from ...errors import Diagnostic, Loc
from ...reader import ast
from .. import deps
from ..codes import diag
from ..facts import CONTROL_ATTRS, DEFAULT_ITEMS, RUNTIME_ITEMS, Facts, Name, Source, Visit, placeholders, split_name
from .common import did_you_mean
from .common import op_spec as _op

# --- 2xx: templates and formatters, 3xx: references --------------------------------------------

def _template_params(n: ast.Node) -> Iterator[tuple[Optional[ast.Param], str]]:
    """(param or None, text) of every evaluated value of node `n`: parameters and body text."""
    if isinstance(n, ast.Unknown):
        return
    raw_pattern = None
    if isinstance(n, (ast.Case, ast.Match)):
        pattern, kind = ast.pattern_of(n)
        if pattern is not None and not ast.pattern_is_template(pattern.value, kind):
            raw_pattern = pattern  # a regex or glob with [...] classes is a pattern as written, not a template
    for key, p in n.params.items():
        if key.startswith("xmlns"):
            continue
        if isinstance(n, ast.SetC) and key == "value":
            continue
        if p is raw_pattern:
            continue
        if key == "exp" and isinstance(n, ast.If):
            yield p, p.value
            continue
        yield p, p.value
    if isinstance(n, ast.Set) and n.param("value") is None and n.text:
        yield None, n.text


def _offset_of_name(text: str, name: str) -> int:
    i = text.find("[" + name)
    if i >= 0:
        return i + 1
    i = text.find(name)
    return max(i, 0)


def rule_templates(f: Facts, src: Source) -> Iterator[Diagnostic]:
    registry = deps.formatters()
    declared = f.declared
    dynamic_input_read = False
    used: set[str] = set()
    unknown_refs: list[tuple[Loc, str, str]] = []
    for v in f.visits:
        n = v.node
        # attr= of keywords reads or writes a name: that counts as a use of an input of that name
        for key in ("attr", "list", "item"):
            p = n.param(key)
            if p is not None:
                nm = split_name(p.value)
                used.add(nm.attr)
                if nm.dynamic and nm.item in DEFAULT_ITEMS:
                    dynamic_input_read = True
        for p, text in _template_params(n):
            for ph in placeholders(text):
                used.add(split_name(ph).attr)
            if "[" not in text:
                continue
            loc_param = p
            try:
                tpl = deps.compile_template(text, p.loc if p is not None else n.loc)
            except deps.TemplateSyntaxError as e:
                offset = getattr(e, "offset", None) or 0
                loc = src.at(loc_param, offset) if loc_param is not None else n.loc
                msg = getattr(e, "message", None) or str(e)
                yield diag("RSD201", loc, f"template syntax error: {_strip_loc(msg)}",
                           "escape literal brackets as \\[ \\], or use api:setc for values that must not "
                           "be evaluated")
                continue
            for call in getattr(tpl, "formatter_calls", ()):
                name, argc, offset = call[0], call[1], call[2]
                loc = src.at(loc_param, offset) if loc_param is not None else n.loc
                fmt = registry.get(name.lower()) if registry is not None else None
                if registry is not None and fmt is None:
                    yield diag("RSD202", loc, f"unknown formatter '{name}'", did_you_mean(name, registry))
                elif fmt is not None:
                    lo, hi = fmt.min_args, fmt.max_args
                    if argc < lo or (hi is not None and argc > hi):
                        want = (f"{lo}" if lo == hi else f"{lo} to {hi}" if hi is not None else f"at least {lo}")
                        yield diag("RSD203", loc, f"formatter '{name}' takes {want} argument"
                                   f"{'' if want == '1' else 's'}, not {argc}")
            for ref in getattr(tpl, "references", ()):
                nm = split_name(ref)
                if nm.dynamic:
                    if nm.item in DEFAULT_ITEMS:
                        dynamic_input_read = True
                    continue
                used.add(nm.attr)
                if _reference_known(f, nm, declared, n, v) or _has_default(text, ref.strip()):
                    continue
                off = _offset_of_name(text, ref.strip())
                loc = src.at(loc_param, off) if loc_param is not None else n.loc
                unknown_refs.append((loc, ref.strip(), nm.item))
    seen = set()
    for loc, ref, item in unknown_refs:
        if (loc, ref) in seen:
            continue
        seen.add((loc, ref))
        if item and not f.item_known(item):
            msg = f"[{ref}] reads item '{item}', which nothing sets"
        else:
            msg = f"[{ref}] reads an attribute that nothing declares or sets"
        base = split_name(ref).attr
        hint = did_you_mean(base, f.declared - CONTROL_ATTRS)
        yield diag("RSD301", loc, msg, hint or f"declare it as <input name=\"{base}\"/> or give a default: "
                   f"[{ref} | def('...')]")
    yield from _unused_inputs(f, used, dynamic_input_read)
    yield from _placeholder_rule(f, src)


_DEFAULTING = re.compile(r"\|\s*(def|allownull|empty)\b", re.IGNORECASE)


def _has_default(text: str, ref: str) -> bool:
    """Whether every `[ref ...]` expression in `text` pipes the value through def/allownull/empty: a
    missing attribute is then expected, not a mistake."""
    found = False
    start = text.find("[" + ref)
    while start >= 0:
        depth, i = 0, start
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if not _DEFAULTING.search(text[start:i]):
            return False
        found = True
        start = text.find("[" + ref, i)
    return found


def _strip_loc(msg: str) -> str:
    # TemplateSyntaxError's str() may start with its location; the diagnostic carries its own
    return re.sub(r"^\S+:\d+:\d+:\s*", "", msg)


def _reference_known(f: Facts, nm: Name, declared: set[str], node: ast.Node, v: Visit) -> bool:
    item, attr = nm.item, nm.attr
    if not attr or attr == "*" or attr.endswith("*") or attr.isdigit():
        return True
    if item in RUNTIME_ITEMS or item.startswith("_out") or item in f.open_items or f.all_open:
        return True
    if item and item not in DEFAULT_ITEMS and not f.item_known(item):
        return False
    return attr in declared


def _unused_inputs(f: Facts, used: set[str], dynamic: bool) -> Iterator[Diagnostic]:
    info = f.profile.info
    if info is None or dynamic:
        return
    # an operation rsd does not run itself may consume inputs implicitly (coreListIndexes: TableName)
    if any(not ((spec := _op(op)) is not None and spec.request) for _, op in f.ops):
        return
    for p in info.params.values():
        if p.name.lower().endswith("queryslicercolumn"):
            used.add(p.value.strip().lower())
    for i in info.inputs:
        name = i.name.lower().rstrip("#")
        if not name or "*" in name or name == "rows@next" or name in used:
            continue
        if any(k.endswith(":filter") or k == "filter" for k in i.params):
            continue  # the API driver sends it as a filter parameter itself
        yield diag("RSD302", i.loc, f"input '{i.name}' is never used",
                   f"read it as [_input.{i.name}] or remove the <input>")


def _placeholder_rule(f: Facts, src: Source) -> Iterator[Diagnostic]:
    names = f.declared
    for a in f.assignments:
        if a.base != "uri" or not a.value:
            continue
        for ph in placeholders(a.value):
            nm = split_name(ph)
            if nm.attr in names or nm.item in RUNTIME_ITEMS:
                continue
            off = a.value.find("{" + ph + "}")
            loc = src.at(a.param, off) if a.param is not None else a.node.loc
            yield diag("RSD303", loc, f"URI placeholder {{{ph}}} matches no input, column or attribute",
                       did_you_mean(nm.attr, names - CONTROL_ATTRS) or f"declare <input name=\"{ph}\"/> "
                       f"and pass it with -i {ph}=VALUE")
