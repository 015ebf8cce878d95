"""The rules of `rsd check`: one function per concern, each yielding diagnostics for one profile.

Owns: when each code of codes.py applies, its message and its did-you-mean hint. Must not: run a
profile, send a request, resolve `${...}` references, or read anything but the profile given.

Every rule gets the `Facts` of the profile (facts.py): the walk with ancestors, every assignment,
every name declared or set. Rules are independent; `RULES` lists them in the order they run.
"""
from __future__ import annotations

import difflib
import re
from typing import Callable, Iterable, Iterator, Optional

from .. import paging
from ..engine.operations import OPERATIONS
from ..errors import Diagnostic, Loc
from ..reader import ast
from ..secrets import (
    AUTH_HEADER,
    AUTH_HEADER_NAME,
    BARE_SCHEME,
    URL_SECRET,
    is_secret_name,
)
from ..truth import is_true
from . import deps
from .codes import diag
from .facts import (
    CONTROL_ATTRS,
    DEFAULT_ITEMS,
    RUNTIME_ITEMS,
    Facts,
    Source,
    is_literal,
    literal_text,
    placeholders,
    split_name,
)

Rule = Callable[[Facts, Source], Iterable[Diagnostic]]


def did_you_mean(word: str, choices: Iterable[str], fmt: str = "'{}'", cutoff: float = 0.6) -> Optional[str]:
    """`did you mean 'x'?` for the choice closest to `word` (case-insensitive), or None."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), sorted(by_lower), n=1, cutoff=cutoff)
    return f"did you mean {fmt.format(by_lower[close[0]])}?" if close else None


# --- 1xx: keywords and structure ----------------------------------------------------------------

_LOOPS = (ast.Call, ast.Enum)
_IF_OPERATORS = ("null", "notnull", "hasvalue", "equals", "equalsignorecase", "notequals", "lessthan",
                 "greaterthan", "contains")
_CASE_MATCH = ("exact", "regex", "glob")
_ACTIONS = ("break", "continue")
_METHODS = ("GET", "POST", "PUT", "MERGE", "PATCH", "DELETE")


def _op(name: str):
    """The registered operation `name` (any case), or None."""
    return OPERATIONS.get(name.strip().lower())


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
        yield from _enum_value(n, "match", _CASE_MATCH, src, only=(ast.Case,))


def _enum_value(n: ast.Node, name: str, allowed: tuple[str, ...], src: Source, only) -> Iterator[Diagnostic]:
    if not isinstance(n, only):
        return
    p = n.param(name)
    if p is None or not is_literal(p.value):
        return
    if p.value.strip().lower() not in allowed:
        yield diag("RSD110", src.at(p), f"{n.tag} {name}=\"{p.value}\" is not one of: {', '.join(allowed)}",
                   did_you_mean(p.value.strip(), allowed))


def rule_structure(f: Facts, src: Source) -> Iterator[Diagnostic]:
    for v in f.visits:
        n, parent = v.node, v.parent
        if isinstance(n, ast.Else):
            if not isinstance(parent, ast.CONDITIONALS):
                where = f"inside {parent.tag}" if parent is not None else "at the top of a script"
                yield diag("RSD103", n.loc, f"{n.tag} {where}: it must be a direct child of a conditional "
                           "(api:if, api:check, api:equals, api:notequals, api:exists, api:null)",
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
                hint = did_you_mean(op.value.strip(), [s.name for s in OPERATIONS.values()])
                if not hint:
                    hint = "known operations: jsonproviderGet, apisadoExecuteJSONGet, xmlproviderGet, csvproviderGet"
                yield diag("RSD108", src.at(op), f"unknown operation op=\"{op.value}\"", hint)
    p = f.profile
    for m in p.methods:
        if m.name not in _METHODS:
            yield diag("RSD110", m.loc, f"api:script method=\"{m.name}\" is not one of: {', '.join(_METHODS)}",
                       did_you_mean(m.name, _METHODS).replace("'", "\"") if did_you_mean(m.name, _METHODS) else None)
    if p.methods and p.method("GET") is None:
        yield diag("RSD109", p.loc, "no <api:script method=\"GET\">: `rsd run` has nothing to run",
                   "add <api:script method=\"GET\"> with an api:call and api:push")
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


# --- 2xx: templates and formatters, 3xx: references --------------------------------------------

def _template_params(n: ast.Node):
    """(param or None, text) of every evaluated value of node `n`: parameters and body text."""
    if isinstance(n, ast.Unknown):
        return
    raw_case = isinstance(n, ast.Case) and (n.value("match") or "exact").strip().lower() in ("regex", "glob")
    for key, p in n.params.items():
        if key.startswith("xmlns"):
            continue
        if isinstance(n, ast.SetC) and key == "value":
            continue
        if raw_case and key == "value":
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


def _reference_known(f: Facts, nm, declared: set[str], node: ast.Node, v) -> bool:
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
    if any(not (_op(op) and _op(op).request) for _, op in f.ops):
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


# --- 4xx: paths, data model, types --------------------------------------------------------------

# attribute → the code a bad value gets (JSONPath, or the XPath family)
_PATH_ATTRS = {"jsonpath": "RSD401", "xpath": "RSD402", "repeatelement": "RSD402", "elementmappath": "RSD402"}
# `[0]`, `[*]`, `[-1]`, `[?(...)]`, `[@id]`, `[last()]`: path syntax, not an attribute reference
_PATH_INDEX = re.compile(r"(?<!\\)\[\s*(?:-?\d+|\*|\?|@|last\(\)|position\(\))[^\]]*\]")


def _doc_kind(f: Facts) -> str:
    """"xml" when every request operation of the profile reads XML, else "json" (JSON paths also
    accept the `/a/b` form)."""
    kinds = {"xml" if _op(op).kind == "xml" else "json" for _, op in f.ops if _op(op) and _op(op).request}
    return "xml" if kinds == {"xml"} else "json"


def _bad_paths(value: str, kind: str) -> Iterator[tuple[int, str]]:
    """(offset of the entry in `value`, message) for each `;`-separated entry that does not parse."""
    pos = 0
    for part in value.split(";"):
        entry = part.strip()
        if entry:
            err = deps.validate_path(entry, kind)
            if err:
                yield pos + part.index(entry), err
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
                yield diag("RSD407", loc, f"'{m.group(0)}' in {a.target.value.strip()} is evaluated as a template, not kept "
                           "as a path index", "use api:setc for paths, or escape the brackets: \\[0\\]")
                continue
        if not a.raw and (not is_literal(value) or "\\" in value):
            continue  # a template (or escapes): checked once it has a value, at run time
        for off, err in _bad_paths(value, kind):
            loc = src.at(a.param, off) if a.param is not None else a.node.loc
            c = _path_code(code, value[off:].lstrip())
            yield diag(c, loc, f"invalid {'JSONPath' if c == 'RSD401' else 'XPath'} in {a.target.value.strip()}: {err}")
    info = f.profile.info
    if info is None:
        return
    for c in info.columns:
        p = next((p for k, p in c.params.items() if k.split(":")[-1] == "xpath"), None)
        if p is None or not p.value.strip():
            continue
        for off, err in _bad_paths(p.value, kind):
            yield diag(_path_code("RSD402", p.value[off:]), src.at(p, off),
                       f"invalid path in {p.name} of column '{c.name}': {err}")


def rule_types(f: Facts, src: Source) -> Iterator[Diagnostic]:
    info = f.profile.info
    if info is None:
        return
    known = deps.known_types()
    for el in (*info.columns, *info.inputs):
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
    for a in f.assignments:
        if a.base != "datamodel" or not a.value or not is_literal(a.value):
            continue
        value = a.value.strip()
        loc = src.at(a.param) if a.param is not None else a.node.loc
        if value.upper() in deps.KNOWN_DATA_MODELS and value.upper() not in deps.SUPPORTED_DATA_MODELS:
            yield diag("RSD406", loc, "DataModel RELATIONAL is not supported by rsd yet",
                       "use DOCUMENT (nested arrays as JSON text) or FLATTENEDDOCUMENTS")
        elif value.upper() not in deps.KNOWN_DATA_MODELS:
            yield diag("RSD405", loc, f"unknown DataModel \"{value}\" (DOCUMENT, FLATTENEDDOCUMENTS, RELATIONAL)",
                       did_you_mean(value.upper(), deps.SUPPORTED_DATA_MODELS))


# --- 5xx: paging --------------------------------------------------------------------------------

def rule_paging(f: Facts, src: Source) -> Iterator[Diagnostic]:
    groups: dict[str, dict[str, list]] = {}
    paging_attrs = paging.paging_attrs()
    for a in f.assignments:
        if a.base in paging_attrs:
            item = "" if a.item in DEFAULT_ITEMS else a.item
            groups.setdefault(item, {}).setdefault(a.base, []).append(a)
    rows_next = [a for a in f.assignments if a.base == "rows@next"]
    script_paging = bool(rows_next)

    def at(a, off=0):
        return src.at(a.param, off) if a.param is not None else a.node.loc

    for item, attrs in groups.items():
        def literal(name):
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
        chosen = sorted((attrs[s.selector][-1] for s in strategies),
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
                    if literal(s.selector) and literal(needed) is None:
                        a = attrs[s.selector][-1]
                        yield diag("RSD503", a.target.loc, f"{a.attr} is set but {needed} is not: {why}",
                                   f"add <api:set attr=\"{needed}\" value=\"...\"/>")
                    elif literal(needed) and literal(s.selector) is None:
                        a = attrs[needed][-1]
                        yield diag("RSD503", a.target.loc, f"{a.attr} is set but {s.selector} is not: "
                                   f"{s.orphan_reason}", f"add <api:set attr=\"{s.selector}\" value=\"...\"/>")
        for s in paging.STRATEGIES:
            v = literal(s.selector) if s.counter else None
            if v and ";" in v:
                start = v.split(";", 1)[1].strip()
                if start and not re.fullmatch(r"[+-]?\d+", start):
                    a = attrs[s.selector][-1]
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


# --- 6xx: credentials ---------------------------------------------------------------------------



def _literal_secret(value: str) -> bool:
    """A value that is written out (no template, no `{placeholder}`, no `${reference}`)."""
    v = value.strip()
    return bool(v) and v[0] not in "[{$" and is_literal(v) and "${" not in v


def secret_findings(name: str, value: str) -> Iterator[tuple[str, int, str]]:
    """(code, offset in value, message) for credentials written literally in `value` of attribute
    `name`. Template parts are blanked first, so `Bearer [_connection.Token]` never matches."""
    lit = literal_text(value)
    m = AUTH_HEADER.search(lit)
    if m:
        yield "RSD601", m.start(2), f"a literal '{m.group(1)}' credential in an Authorization header"
        return
    low = name.lower()
    if low.split(":")[-1].split("#")[0] in ("authorization", "customheaders") or low.startswith("header:authorization"):
        m = BARE_SCHEME.search(lit)
        if m:
            yield "RSD601", m.start(2), f"a literal '{m.group(1)}' credential in {name}"
            return
    for m in URL_SECRET.finditer(lit):
        val = m.group(2)
        if len(val.strip()) >= 4 and _literal_secret(val) and value[m.start(2):m.end(2)] == val:
            yield "RSD602", m.start(2), f"a literal {m.group(1)}= credential"
            return
    if is_secret_name(name) and len(value.strip()) >= 8 and _literal_secret(value) and "://" not in value:
        yield "RSD604", len(value) - len(value.lstrip()), f"attribute '{name}' is set to a literal secret"


_HINT = {
    "RSD601": "pass it at run time: -o 'CustomHeaders=Authorization: Bearer ${env:TOKEN}'",
    "RSD602": "read it from the connection, e.g. access_token=[_connection.AccessToken], and pass "
              "-o 'AccessToken=${env:ACCESS_TOKEN}'",
    "RSD603": "use [_connection.ApiKey] as the value and pass -o 'ApiKey=${env:API_KEY}'",
    "RSD604": "read it from the connection, e.g. [_connection.Password], and pass -o 'Password=${env:PASSWORD}'",
}


def rule_credentials(f: Facts, src: Source) -> Iterator[Diagnostic]:
    header_names: dict[tuple[str, str], str] = {}
    for a in f.assignments:
        m = re.fullmatch(r"header:name(#\d*)?", a.attr)
        if m and a.value and is_literal(a.value):
            header_names[(a.item, m.group(1) or "")] = a.value.strip()
    for v in f.visits:
        n = v.node
        if not isinstance(n, (ast.Set, ast.SetC, ast.Call, ast.Push)):
            continue
        if isinstance(n, (ast.Set, ast.SetC)):
            target = n.param("attr")
            if target is None:
                continue
            name = split_name(target.value)
            vp = n.param("value")
            pairs = [(target.value.strip(), vp, vp.value if vp is not None else (n.text or ""))]
            m = re.fullmatch(r"header:value(#\d*)?", name.full)
            if m:
                hname = header_names.get((name.item, m.group(1) or ""))
                value = pairs[0][2]
                if (hname and AUTH_HEADER_NAME.match(hname) and _literal_secret(value)
                        and len(value.strip()) >= 4):
                    loc = src.at(vp) if vp is not None else n.loc
                    hint = (f"pass it at run time: -o 'CustomHeaders={hname}: ${{env:TOKEN}}' and drop this header"
                            if hname.lower() in ("authorization", "proxy-authorization") else _HINT["RSD603"])
                    yield diag("RSD603", loc, f"the {hname} header is set to a literal value", hint)
                    continue
        else:
            pairs = [(p.name, p, p.value) for k, p in n.params.items() if k not in ("op", "in", "out", "input", "output")]
        for name, p, value in pairs:
            for code, off, msg in secret_findings(name, value):
                loc = src.at(p, off) if p is not None else n.loc
                yield diag(code, loc, msg, _secret_hint(code, name))


def _secret_hint(code: str, attr: str) -> str:
    """The fix for a literal secret; for a secret attribute, named after that attribute."""
    if code != "RSD604":
        return _HINT[code]
    base = re.sub(r"[^A-Za-z0-9]", "", attr.split(".")[-1].split(":")[-1].split("#")[0]) or "Secret"
    option = base[:1].upper() + base[1:]
    env = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", option).upper()
    return f"read it from the connection, e.g. [_connection.{option}], and pass -o '{option}=${{env:{env}}}'"


RULES: tuple[Rule, ...] = (
    rule_keywords,
    rule_structure,
    rule_templates,
    rule_paths,
    rule_types,
    rule_data_model,
    rule_paging,
    rule_credentials,
)
