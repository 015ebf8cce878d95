"""`rsd check` rules, 1xx: keywords and structure.

Owns: unknown keywords and parameters, misplaced api:else/api:case/api:first, loops, methods, operations (unknown
and misspelt), columns and inputs. Must not: run anything.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from ...engine.operations import OPERATIONS
from ...errors import Diagnostic
from ...options import field_value, header_problem
from ...reader import ast
from ..codes import diag
from ..facts import Facts, Source, is_literal
from .common import did_you_mean, edit_distance
from .common import op_spec as _op

# --- 1xx: keywords and structure ----------------------------------------------------------------

_LOOPS = (ast.Call, ast.Enum)
_IF_OPERATORS = ("null", "notnull", "hasvalue", "equals", "equalsignorecase", "notequals", "lessthan",
                 "greaterthan", "contains")
_ACTIONS = ("break", "continue")
_METHODS = ("GET", "POST", "PUT", "MERGE", "PATCH", "DELETE")


def _is_loop(n: ast.Node) -> bool:
    return isinstance(n, _LOOPS) or (isinstance(n, ast.Push) and n.param("op") is not None)


def rule_keywords(f: Facts, src: Source) -> Iterator[Diagnostic]:
    for v in f.visits:
        n = v.node
        if isinstance(n, ast.Unknown):
            continue
        spec = ast.KEYWORDS.get(n.keyword)
        if spec is None:
            continue
        tag = n.tag
        # RSD101: required parameters
        for req in spec.required:
            if n.param(req) is None and not (req == "attr" and n.param("copyfrom") is not None):
                yield diag("RSD101", n.loc, f"{tag} is missing its required parameter '{req}'",
                           f"add {req}=\"...\"")
        if spec.one_of and not any(n.param(p) is not None for p in spec.one_of):
            names = " or ".join(f"'{p}'" for p in spec.one_of)
            yield diag("RSD101", n.loc, f"{tag} needs one of the parameters {names}")
        # RSD102: unknown parameters on keywords with a fixed list
        known = set(spec.required) | set(spec.optional) | set(spec.one_of)
        if "*" not in known:
            for key, p in n.params.items():
                if key in known or key.startswith("xmlns") or ":" in key:
                    continue
                yield diag("RSD102", p.loc, f"{tag} has no parameter '{p.name}'; it is ignored",
                           did_you_mean(key, known))
        # RSD110: parameters with a fixed set of values
        yield from _enum_value(n, "action", _ACTIONS, src, only=(ast.If, *ast.CONDITIONALS))
        yield from _enum_value(n, "operator", _IF_OPERATORS, src, only=(ast.If,))
        yield from _enum_value(n, "match", ast.PATTERN_KINDS, src, only=(ast.Case,))
        yield from _enum_value(n, "type", ast.PATTERN_KINDS, src, only=(ast.Match,))


def _enum_value(n: ast.Node, name: str, allowed: tuple[str, ...], src: Source,
                only: tuple[type[ast.Node], ...]) -> Iterator[Diagnostic]:
    if not isinstance(n, only):
        return
    p = n.param(name)
    if p is None or not is_literal(p.value):
        return
    if p.value.strip().lower() not in allowed:
        yield diag("RSD110", src.at(p), f"{n.tag} {name}=\"{p.value}\" is not one of: {', '.join(allowed)}",
                   did_you_mean(p.value.strip(), allowed))


def _unknown_op(op: ast.Param, src: Source) -> Diagnostic:
    """RSD113 for an op one or two edits from one rsd runs (a typo), RSD108 for any other unknown op."""
    name = op.value.strip()
    canonical: dict[object, str] = {}  # one name per operation (the first registered; the others are aliases)
    for spec in OPERATIONS.values():
        if spec.run is not None:
            canonical.setdefault(spec.run, spec.name)
    runs = list(canonical.values())
    close = sorted((edit_distance(name.lower(), spec.name.lower()), spec.name)
                   for spec in OPERATIONS.values() if spec.run is not None)
    if close and close[0][0] <= 2:
        return diag("RSD113", src.at(op), f"unknown operation op=\"{op.value}\", {close[0][0]} "
                    f"edit{'s' if close[0][0] > 1 else ''} from one rsd runs", f"did you mean '{close[0][1]}'?")
    hint = did_you_mean(name, [spec.name for spec in OPERATIONS.values()])
    return diag("RSD108", src.at(op), f"unknown operation op=\"{op.value}\"",
                hint or "known operations: " + ", ".join(runs))


def rule_structure(f: Facts, src: Source) -> Iterator[Diagnostic]:
    for v in f.visits:
        n, parent = v.node, v.parent
        if isinstance(n, ast.Else):
            if not isinstance(parent, ast.ELSE_PARENTS):
                where = f"inside {parent.tag}" if parent is not None else "at the top of a script"
                yield diag("RSD103", n.loc, f"{n.tag} {where}: it must be a direct child of a conditional "
                           "(api:if, api:check, api:equals, api:notequals, api:exists, api:null, api:match) "
                           "or of an api:call",
                           "move it inside the conditional it is the alternative of, as its last child")
        elif isinstance(n, (ast.Case, ast.Default)):
            if not isinstance(parent, ast.Select):
                yield diag("RSD104", n.loc, f"{n.tag} outside api:select",
                           "wrap the branches in <api:select value=\"[x]\">...</api:select>")
        elif isinstance(n, ast.Select):
            defaults = [c for c in n.body if isinstance(c, ast.Default)]
            for extra in defaults[1:]:
                yield diag("RSD105", extra.loc, f"second {extra.tag} in {n.tag} (the first is at line "
                           f"{defaults[0].loc.line})", "merge the api:default bodies into one")
        elif isinstance(n, (ast.First, ast.Last)):
            if not any(_is_loop(a) for a in v.ancestors):
                yield diag("RSD106", n.loc, f"{n.tag} outside api:call or api:enum: its body runs once, "
                           "unconditionally")
        elif isinstance(n, (ast.Break, ast.Continue)):
            if not any(_is_loop(a) for a in v.ancestors):
                yield diag("RSD107", n.loc, f"{n.tag} outside a loop (api:call or api:enum)",
                           "use api:throw to stop the script")
        if isinstance(n, (ast.If, *ast.CONDITIONALS)):
            action = n.param("action")
            if (action is not None and action.value.strip().lower() in _ACTIONS
                    and not any(_is_loop(a) for a in v.ancestors)):
                yield diag("RSD107", action.loc, f"{n.tag} action=\"{action.value}\" outside a loop "
                           "(api:call or api:enum)", "use api:throw to stop the script")
        if isinstance(n, (ast.Call, ast.Push)):
            op = n.param("op")
            if op is not None and is_literal(op.value) and _op(op.value) is None:
                yield _unknown_op(op, src)
    p = f.profile
    for m in p.methods:
        if m.name not in _METHODS:
            close = did_you_mean(m.name, _METHODS)
            yield diag("RSD110", m.loc, f"api:script method=\"{m.name}\" is not one of: {', '.join(_METHODS)}",
                       close.replace("'", "\"") if close else None)
    if p.methods and p.method("GET") is None:
        yield diag("RSD109", p.loc, "no <api:script method=\"GET\">: `rsd run` has nothing to run",
                   "add <api:script method=\"GET\"> with an api:call and api:push")
    if p.info is not None:
        declared: tuple[ast.Column | ast.Input, ...] = (*p.info.columns, *p.info.inputs)
        for el in declared:
            if not el.name.strip():
                what = "attr" if isinstance(el, ast.Column) else "input"
                yield diag("RSD114", el.loc, f"<{what}> in api:info has no name",
                           f"add name=\"...\" to the <{what}>, or remove it")
    if p.info is None:
        if not any(d.is_error for d in p.diagnostics):
            yield diag("RSD112", p.loc, "no api:info: the profile declares no columns",
                       "add <api:info title=\"...\"> with <attr name=\"...\"/> columns")
    else:
        seen: dict[str, ast.Column] = {}
        for c in p.info.columns:
            key = c.name.lower()
            if key in seen:
                yield diag("RSD111", c.loc, f"column '{c.name}' is declared twice (first at line "
                           f"{seen[key].loc.line})")
            elif key:
                seen[key] = c


def rule_headers(f: Facts, src: Source) -> Iterator[Diagnostic]:
    """RSD115: literal `Header:Name#N`/`Header:Value#N` and `CustomHeaders` lines HTTP cannot carry. Blanks around
    a value are not reported: they are not part of it (RFC 9110 §5.5) and are not sent."""
    for a in f.assignments:
        if not a.value or (not a.raw and not is_literal(a.value)):
            continue
        loc = src.at(a.param) if a.param is not None else a.node.loc
        if a.base == "header:name":
            name = a.value.strip()
            problem = header_problem(name, "") if name else None
        elif a.base == "header:value":
            problem = header_problem("X", field_value(a.value))
        elif a.base == "customheaders":
            problem = None
            for line in re.split(r"\r\n|\n|\r|\\n", a.value):
                hname, sep, hvalue = line.partition(":")
                if sep and hname.strip():
                    problem = problem or header_problem(hname.strip(), field_value(hvalue))
        else:
            continue
        if problem:
            yield diag("RSD115", loc, f"{a.target.value.strip()}: {problem.replace('header X', 'header')}",
                       "a header value is one line without control characters; a name is letters, digits and -")
