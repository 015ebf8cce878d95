"""Data models: a parsed response -> rows of raw values, one tuple per row, values in column order.

Owns: `compile_mapper` and `Mapper` (DOCUMENT, FLATTENEDDOCUMENTS and RELATIONAL of docs/reference/rsd-format.md
§10), binding each column's `other:xPath` to the repeating element (or to the document, for document-level values)
once per profile, and the row loops. A RELATIONAL mapper counts the elements it has seen (their keys), so it
belongs to one run: `compile_mapper` is called once per run. Must not: know about HTTP, coerce types (that is
`types.py`) or evaluate templates (repeat paths arrive already rendered).

Binding rules (docs/decisions.md, "Mapping and types"):
- an absolute column path written through the repeating element (`/json/records/id` with `$.records`,
  `/Job/Item/Job.P_Id` with `/Job/Item`) is rebased onto the element (`id`, `Job.P_Id`);
- an absolute path outside it (`/json/meta/page`) is document-level: evaluated once per page, the same
  value on every row of that page;
- a relative path (`id`, `content/properties/ID`) is relative to the repeating element;
- no `other:xPath`: the column name, dots splitting nested objects (`personal.name.first`), falling back
  to the literal key when the nested walk finds nothing.
"""
from __future__ import annotations

from itertools import product
from typing import Any, Callable, Iterator, Optional, Sequence

import orjson
from lxml import etree

from ..errors import ProfileError
from ..reader.ast import Column
from .documents import Document
from .types import TypedRows
from .paths import _dumps as dumps_json
from .paths import (ANY, KEY, PathError, aggregate_text, compile_xpath, element_steps, find_repeating_element,
                    find_top_array, json_elements, json_elements_getter, json_general_getter, json_getter,
                    json_path_to_xpath, parse_json_path, split_paths, split_xpath, walk_json,
                    xml_absolute_elements_getter, xml_elements_getter, xml_getter, _xml_nodes_value, _xpath_eval)

SUPPORTED_DATA_MODELS: tuple[str, ...] = ("DOCUMENT", "FLATTENEDDOCUMENTS", "RELATIONAL")
KNOWN_DATA_MODELS: tuple[str, ...] = ("DOCUMENT", "FLATTENEDDOCUMENTS", "RELATIONAL")

Getter = Callable[[Any], Any]


def normalize_data_model(data_model: Optional[str]) -> str:
    """`None`/"" -> DOCUMENT; case-insensitive; raises `ProfileError` for unknown names."""
    name = (data_model or "DOCUMENT").strip().upper() or "DOCUMENT"
    if name not in SUPPORTED_DATA_MODELS:
        raise ProfileError(f"unknown DataModel {data_model!r}; expected DOCUMENT, FLATTENEDDOCUMENTS or RELATIONAL")
    return name


def _family(kind: str) -> str:
    return "xml" if (kind or "").lower() == "xml" else "json"


def _step_base(step: Any) -> Any:
    """An XML step without its predicate (`Item[@a='b']` -> `Item`); JSON steps are returned unchanged."""
    if isinstance(step, str):
        i = step.find("[")
        return step if i < 0 else step[:i].strip()
    return step


def _step_covers(anchor_step: Any, step: Any) -> bool:
    """Whether a column step lies inside a repeat step: equal, or the repeat step is a wildcard or a
    predicate on the same name (`*`, `Item[@type='x']` cover `Item`)."""
    if anchor_step == step:
        return True
    if isinstance(anchor_step, str):
        base = _step_base(anchor_step)
        return isinstance(step, str) and "[" not in step and (base == "*" or base == step)
    return anchor_step[0] == ANY and step[0] == KEY


def _is_prefix(prefix: tuple, steps: tuple) -> bool:
    if len(prefix) > len(steps):
        return False
    return all(_step_covers(a, b) for a, b in zip(prefix, steps))


class _ColumnPath:
    """A column's path, parsed once. `steps` are simple steps (None when the path needs a general
    evaluator); `absolute` says whether they start at the document root."""

    __slots__ = ("column", "absolute", "steps", "general", "alt_key", "aggregate")

    def __init__(self, column: Column, absolute: bool, steps: Optional[tuple], general: Optional[Getter],
                 alt_key: Optional[str] = None):
        self.column = column
        self.absolute = absolute
        self.steps = steps
        self.general = general
        self.alt_key = alt_key
        self.aggregate = (column.value_format or "").strip().lower() == "aggregate"


class _Repeat:
    """A repeating path: `elements(root)` lists its elements; `anchor` is the steps every element lies at
    (None when unknown: column paths are then not rebased)."""

    __slots__ = ("text", "anchor", "elements")

    def __init__(self, text: str, anchor: Optional[tuple], elements: Callable[[Any], list]):
        self.text = text
        self.anchor = anchor
        self.elements = elements


# ------------------------------------------------------------------------------------------- families

class _JsonFamily:
    """JSON (and CSV, which parses to a JSON-like list of dicts)."""

    name = "json"

    def repeat(self, text: str) -> _Repeat:
        p = parse_json_path(text)
        if p.is_simple:
            anchor: Optional[tuple] = p.steps
        else:
            anchor = None if (".." in text or "//" in text) else p.prefix
        return _Repeat(text, anchor, json_elements_getter(p))

    def auto_repeat(self, root: Any) -> tuple[Optional[tuple], list]:
        return find_top_array(root)

    @staticmethod
    def anchor_of(elements: list) -> Optional[tuple]:
        return None  # JSON values have no parent pointers: `$..items` cannot be located

    def child_elements(self, rel: tuple) -> Callable[[Any], list]:
        if not rel:
            return lambda el: [el]
        return lambda el: json_elements(walk_json(el, rel)[0])

    def column_path(self, column: Column) -> _ColumnPath:
        if column.xpath is None or not column.xpath.strip():
            name = column.name
            steps = tuple((KEY, part) for part in name.split(".")) if "." in name else ((KEY, name),)
            return _ColumnPath(column, False, steps, None, name if "." in name else None)
        p = parse_json_path(column.xpath)
        if p.is_simple:
            return _ColumnPath(column, p.absolute, p.steps, None)
        return _ColumnPath(column, p.absolute, None, json_general_getter(p))

    def relative_getter(self, cp: _ColumnPath, rel: tuple) -> Getter:
        get = json_getter(rel)
        if cp.alt_key is None:
            return get
        literal = cp.alt_key

        def get_or_literal(el: Any) -> Any:
            v = get(el)
            if v is None and el.__class__ is dict and literal in el:
                return aggregate_text(el[literal])
            return v
        return get_or_literal

    def document_getter(self, cp: _ColumnPath) -> Getter:
        if cp.general is not None:
            return cp.general
        return json_getter(cp.steps)


class _XmlFamily:
    name = "xml"

    def repeat(self, text: str) -> _Repeat:
        t = text.strip()
        if t.startswith("$"):
            t = json_path_to_xpath(parse_json_path(t))
        if t in ("/", ""):
            return _Repeat(text, None, lambda root: [root])
        if not t.startswith("/"):
            return _Repeat(text, None, xml_elements_getter(t))  # relative to the root element
        return _Repeat(text, split_xpath(t), xml_absolute_elements_getter(t))

    def auto_repeat(self, root: Any) -> tuple[Optional[tuple], list]:
        elements = find_repeating_element(root)
        return element_steps(elements[0]), elements

    def child_elements(self, rel: tuple) -> Callable[[Any], list]:
        return xml_elements_getter(rel)

    @staticmethod
    def anchor_of(elements: list) -> Optional[tuple]:
        """XML elements know their ancestors: the anchor of a `//Item` or `/` repeat path is read from
        the first element found, so absolute column paths through it are rebased as usual."""
        return element_steps(elements[0]) if elements else None

    def column_path(self, column: Column) -> _ColumnPath:
        aggregate = (column.value_format or "").strip().lower() == "aggregate"
        if column.xpath is None or not column.xpath.strip():
            return _ColumnPath(column, False, self._name_steps(column.name), None)
        text = column.xpath.strip()
        if text.startswith("$"):
            text = json_path_to_xpath(parse_json_path(text))
        absolute = text.startswith("/")
        steps = split_xpath(text)
        if steps is not None:
            return _ColumnPath(column, absolute, steps, None)
        if absolute:
            xp = compile_xpath(text)
            return _ColumnPath(column, True, None,
                               lambda root: _xml_nodes_value(_xpath_eval(xp, root, text), aggregate))
        return _ColumnPath(column, False, None, xml_getter(text, aggregate))

    @staticmethod
    def _name_steps(name: str) -> Optional[tuple]:
        steps = split_xpath(name)
        if steps is not None and len(steps) == 1 and steps[0] == name.split(":")[-1]:
            return steps
        return None

    def relative_getter(self, cp: _ColumnPath, rel: tuple) -> Getter:
        if cp.steps is None:
            return lambda el: None  # a column name that is no XML name and has no xPath: never present
        get = xml_getter(rel, cp.aggregate)
        name = cp.column.name
        if cp.column.xpath or "." not in name:
            return get
        dotted = split_xpath(name.replace(".", "/"))
        if not dotted:
            return get
        get_nested = xml_getter(dotted, cp.aggregate)

        def get_or_nested(el: Any) -> Any:
            v = get(el)
            return get_nested(el) if v is None else v
        return get_or_nested

    def document_getter(self, cp: _ColumnPath) -> Getter:
        if cp.general is not None:
            return cp.general
        text = "/" + "/".join(cp.steps)
        xp = compile_xpath(text)
        aggregate = cp.aggregate
        return lambda root: _xml_nodes_value(_xpath_eval(xp, root, text), aggregate)


_FAMILIES = {"json": _JsonFamily(), "xml": _XmlFamily()}


def _const(value: Any) -> Getter:
    return lambda el: value


# --------------------------------------------------------------------------------------------- DOCUMENT

class _Layout:
    """Columns bound to one repeat anchor: a getter per column on the row element, or a document-level
    getter evaluated once per page."""

    __slots__ = ("getters", "document", "keys", "routes", "compiled", "_paths", "_typed")

    def __init__(self, family, paths: Sequence[_ColumnPath], anchor: Optional[tuple]):
        getters: list[Getter] = []
        document: list[tuple[int, Getter]] = []
        keys: list = []
        # per column: (read from the document root?, its steps below the row element or the root; None: general)
        routes: list[tuple[bool, Optional[tuple]]] = []
        for i, cp in enumerate(paths):
            if cp.steps is None:
                if cp.absolute:
                    document.append((i, cp.general))
                    getters.append(_const(None))
                else:
                    getters.append(cp.general)
                keys.append(None)
                routes.append((cp.absolute, None))
                continue
            if not cp.absolute:
                rel = cp.steps
            elif anchor is not None and _is_prefix(anchor, cp.steps):
                rel = cp.steps[len(anchor):]
            else:
                document.append((i, family.document_getter(cp)))
                getters.append(_const(None))
                keys.append(None)
                routes.append((True, cp.steps))
                continue
            routes.append((False, rel))
            getters.append(family.relative_getter(cp, rel))
            simple_key = family.name == "json" and cp.alt_key is None and len(rel) == 1 and rel[0][0] == KEY
            keys.append(rel[0][1] if simple_key else None)
        self.getters = tuple(getters)
        self.document = tuple(document)
        self.routes = tuple(routes)
        # every column a single key of the row object: rows are `tuple(map(row.get, keys))`
        self.keys = tuple(keys) if keys and all(k is not None for k in keys) else None
        # JSON rows with no document-level column: one generated list comprehension per page (see `_compile_rows`)
        self.compiled = _compile_rows(paths, routes, getters) if family.name == "json" and not document else None
        self._paths = paths
        # (coercer, its fused row function, reading keys by subscript?): subscripts until a page misses a key
        self._typed: Optional[tuple[Any, Callable[[list], list], bool]] = None

    def typed_rows(self, root: Any, elements: list, coercer: Any) -> list:
        """The page's rows converted by `coercer` in the same pass (`TypedRows`) when the layout has a generated row
        function; else, or when a value needs the slow path (an element that is not an object, a value that does
        not convert, a date-time `fromisoformat` refuses, an aggregate orjson cannot write), the raw rows of
        `rows()`, which the runner converts as before: its errors and messages are unchanged."""
        if self.compiled is None:
            return list(self.rows(root, elements))
        typed = self._typed
        if typed is None or typed[0] is not coercer:
            typed = self._typed = (coercer, _compile_rows(self._paths, self.routes, self.getters, coercer, True), True)
        try:
            return TypedRows(typed[1](elements))
        except KeyError:
            if typed[2]:  # records without some key: `.get` from now on (one exception a run, not one a page)
                self._typed = (coercer, _compile_rows(self._paths, self.routes, self.getters, coercer), False)
                return self.typed_rows(root, elements, coercer)
        except Exception:  # redone the exact way, which raises what a one-pass run would (or maps the page)
            pass
        return list(self.rows(root, elements))

    def rows(self, root: Any, elements: list) -> Iterator[tuple]:
        if self.compiled is not None:
            try:
                return iter(self.compiled(elements))
            except AttributeError:  # an element that is not an object: the general getters handle the page
                return self._getter_rows(elements, self.getters)
        if self.keys is not None:
            return self._key_rows(elements)
        getters = self.getters
        if self.document:
            getters = list(getters)
            for i, get in self.document:
                getters[i] = _const(get(root))
        return self._getter_rows(elements, getters)

    @staticmethod
    def _getter_rows(elements: list, getters: Sequence[Getter]) -> Iterator[tuple]:
        for el in elements:
            yield tuple([get(el) for get in getters])

    def _key_rows(self, elements: list) -> Iterator[tuple]:
        keys = self.keys
        getters = self.getters
        scalar_types = _SCALAR_TYPES
        for el in elements:
            try:
                row = tuple(map(el.get, keys))
            except AttributeError:  # a row that is not an object: the general getters handle it
                yield tuple([get(el) for get in getters])
                continue
            if scalar_types.issuperset(map(type, row)):
                yield row
            else:
                yield tuple(map(aggregate_text, row))


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
_AGGREGATES = frozenset({dict, list})


def _compile_rows(paths: Sequence[_ColumnPath], routes: Sequence[tuple], getters: Sequence[Getter],
                  coercer: Any = None, subscript: bool = False) -> Callable[[list], list]:
    """The rows of a page of JSON objects as one list comprehension, generated and compiled once per layout: a
    column of object keys is inline `dict.get` calls (`el.get("address").get("city")` when each step is an object;
    the general walk of `json_getter` when a step meets an array or a scalar); any other column calls its getter;
    an object or array value becomes its JSON text. An element that is not an object raises AttributeError (the
    caller then maps the page with the getters). No dispatch per value beyond one class test.

    With a `coercer` each value is also converted to its column's type in the same expression (`Coercer.inline`:
    a value already of its type passes after one class test; nulls, objects and arrays (as JSON text) and other
    values go through the column's converter), and with `subscript` keys are read as `el["id"]`, which raises
    KeyError for a missing key: the caller then redoes the page the exact way."""
    env: dict[str, Any] = {"_dumps": dumps_json, "_AGG": _AGGREGATES}
    values = []
    for i, (cp, (_, rel), get) in enumerate(zip(paths, routes, getters)):
        keys = [arg for kind, arg in rel] if rel and cp.alt_key is None and all(k == KEY for k, _ in rel) else None
        if keys is None:
            env[f"_g{i}"] = get
            value = f"_g{i}(el)"
            values.append(value if coercer is None else coercer.inline(i, value, env))
            continue
        env[f"_s{i}"] = get  # the general walk, for a step that meets an array (fan-out) or a scalar

        def read(node: str, key: str) -> str:
            return f"{node}[{key!r}]" if subscript else f"{node}.get({key!r})"
        expr = read(f"n{i}_{len(keys) - 2}", keys[-1]) if len(keys) > 1 else read("el", keys[0])
        for depth in range(len(keys) - 2, -1, -1):
            source = read(f"n{i}_{depth - 1}", keys[depth]) if depth else read("el", keys[0])
            expr = (f"({expr} if (n{i}_{depth} := {source}).__class__ is dict "
                    f"else (None if n{i}_{depth} is None else _s{i}(el)))")
        if coercer is None:
            values.append(f"(_dumps(v{i}) if (v{i} := {expr}).__class__ in _AGG else v{i})")
        elif coercer.types[i] == "string":  # text: an object or array becomes JSON text (`_dumps` inline)
            env["_od"] = orjson.dumps
            text = (f"(j{i} if 'e-' not in (j{i} := _od(w{i}).decode()) and '.0000' not in j{i} "
                    f"else _dumps(w{i}))")  # text, not bytes: `in` on short text is several times faster
            values.append(coercer.inline(i, expr, env, _aggregating(coercer._convert[i]),
                                         otherwise=f"{text} if w{i}.__class__ in _AGG else "))
        else:  # an object or array is rare here: the converter turns it into JSON text first
            values.append(coercer.inline(i, expr, env, _aggregating(coercer._convert[i])))
    source = "def rows(elements):\n    return [(" + ", ".join(values) + ",) for el in elements]\n"
    exec(compile(source, "<rsd row mapping>", "exec"), env)
    return env["rows"]  # type: ignore[no-any-return]


def _aggregating(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, after an object or array has become its JSON text (as the row mapping does before converting)."""
    def aggregate_then_convert(value: Any) -> Any:
        return convert(dumps_json(value) if value.__class__ in _AGGREGATES else value)
    return aggregate_then_convert


class _DocumentPlan:
    def __init__(self, family, paths: Sequence[_ColumnPath], repeat: Optional[_Repeat]):
        self.family = family
        self.paths = paths
        self.repeat = repeat
        self._layouts: dict[Any, _Layout] = {}
        self.dynamic = repeat is not None and repeat.anchor is None and family.name == "xml"
        if repeat is not None:
            self.layout = _Layout(family, paths, repeat.anchor)

    def _layout_for(self, anchor: Optional[tuple]) -> _Layout:
        layout = self._layouts.get(anchor)
        if layout is None:
            layout = self._layouts[anchor] = _Layout(self.family, self.paths, anchor)
        return layout

    def elements(self, root: Any) -> list:
        if self.repeat is None:
            return self.family.auto_repeat(root)[1]
        return self.repeat.elements(root)

    def rows(self, root: Any) -> Iterator[tuple]:
        if self.repeat is None:
            anchor, elements = self.family.auto_repeat(root)
            return self._layout_for(anchor).rows(root, elements)
        elements = self.repeat.elements(root)
        if self.dynamic:
            return self._layout_for(self.family.anchor_of(elements)).rows(root, elements)
        return self.layout.rows(root, elements)

    def typed_rows(self, root: Any, coercer: Any) -> list:
        if self.repeat is None or self.dynamic:
            return list(self.rows(root))
        return self.layout.typed_rows(root, self.repeat.elements(root), coercer)


# --------------------------------------------------------------------------------- FLATTENEDDOCUMENTS

class _FlattenedPlan:
    """The listed paths joined parent to child: a path's parent is the deepest other path that is a
    prefix of it. Children of one element are LEFT-joined (an element without children still yields a
    row, child columns null); siblings are CROSS-joined; several top-level paths are CROSS-joined."""

    def __init__(self, family, paths: Sequence[_ColumnPath], repeats: Sequence[_Repeat]):
        self.family = family
        unique: list[_Repeat] = []
        seen: set = set()
        for r in repeats:
            key = r.anchor if r.anchor is not None else ("text", r.text)
            if key not in seen:
                seen.add(key)
                unique.append(r)
        self.repeats = unique
        n = len(unique)
        parent: list[Optional[int]] = [None] * n
        for i, r in enumerate(unique):
            if r.anchor is None:
                continue
            best = None
            for j, other in enumerate(unique):
                if j == i or other.anchor is None:
                    continue
                if len(other.anchor) < len(r.anchor) and _is_prefix(other.anchor, r.anchor):
                    if best is None or len(other.anchor) > len(unique[best].anchor):
                        best = j
            parent[i] = best
        self.parent = parent
        self.children = [[j for j in range(n) if parent[j] == i] for i in range(n)]
        self.roots = [i for i in range(n) if parent[i] is None]
        self.child_elements: list[Optional[Callable[[Any], list]]] = [
            None if parent[i] is None else family.child_elements(unique[i].anchor[len(unique[parent[i]].anchor):])
            for i in range(n)]
        # bind every column to the deepest path that is a prefix of its absolute path
        self.bound: list[tuple[Optional[int], Getter]] = []
        self.routes: list[tuple[Optional[int], Optional[tuple]]] = []  # (path index or None: the root, steps)
        for cp in paths:
            if cp.steps is None:
                self.bound.append((None, cp.general) if cp.absolute else (0, cp.general))
                self.routes.append((None if cp.absolute else 0, None))
                continue
            if not cp.absolute:
                self.bound.append((0, family.relative_getter(cp, cp.steps)))
                self.routes.append((0, cp.steps))
                continue
            best = None
            for i, r in enumerate(unique):
                if r.anchor is not None and _is_prefix(r.anchor, cp.steps):
                    if best is None or len(r.anchor) > len(unique[best].anchor):
                        best = i
            if best is None:
                self.bound.append((None, family.document_getter(cp)))
                self.routes.append((None, cp.steps))
            else:
                rel = cp.steps[len(unique[best].anchor):]
                self.bound.append((best, family.relative_getter(cp, rel)))
                self.routes.append((best, rel))

    def elements(self, root: Any) -> list:
        return self.repeats[self.roots[0]].elements(root)

    def _expand(self, i: int, elements: list) -> list[dict]:
        """Bindings (path index -> element) for path `i` and its descendants over `elements`."""
        if not elements:
            elements = [None]  # LEFT join: no children is one row of nulls
        out: list[dict] = []
        child_paths = self.children[i]
        for el in elements:
            if child_paths:
                subs = [self._expand(c, self.child_elements[c](el) if el is not None else [])
                        for c in child_paths]
                for combo in product(*subs):
                    binding = {i: el}
                    for part in combo:
                        binding.update(part)
                    out.append(binding)
            else:
                out.append({i: el})
        return out

    def rows(self, root: Any) -> Iterator[tuple]:
        per_root = []
        for r in self.roots:
            elements = self.repeats[r].elements(root)
            if not elements:
                return iter(())  # a top-level path with no elements: the page has no rows
            per_root.append(self._expand(r, elements))
        getters: list[tuple[Optional[int], Getter]] = []
        for index, get in self.bound:
            getters.append((-1, _const(get(root))) if index is None else (index, get))
        return self._rows(per_root, getters)

    @staticmethod
    def _rows(per_root: list, getters: list) -> Iterator[tuple]:
        for combo in product(*per_root):
            if len(combo) == 1:
                binding = combo[0]
            else:
                binding = {}
                for part in combo:
                    binding.update(part)
            row = []
            for index, get in getters:
                if index < 0:
                    row.append(get(None))
                else:
                    el = binding.get(index)
                    row.append(None if el is None else get(el))
            yield tuple(row)


# ------------------------------------------------------------------------------------------------ RELATIONAL

def _path_name(anchor: Optional[tuple]) -> Optional[str]:
    """The table name of a listed path: its last named step (`vehicles` of `$.people.vehicles`)."""
    if not anchor:
        return None
    step = anchor[-1]
    if isinstance(step, str):
        base = _step_base(step)
        return None if base == "*" else base.split(":")[-1]
    return step[1] if step[0] == KEY else None


def relational_chain(repeats: Sequence[_Repeat]) -> list[_Repeat]:
    """The listed paths of a RELATIONAL profile as one chain, outermost first: the last path is the table, every
    other one an ancestor of it (a prefix of its steps). Raises `PathError` saying why not."""
    table = repeats[-1]
    if len(repeats) == 1:
        return [table]
    if table.anchor is None:
        raise PathError(f"DataModel=RELATIONAL: the table path {table.text!r} must be a plain path (no '..' or "
                        f"filters) when ancestor paths are listed before it")
    chain = []
    for r in repeats[:-1]:
        if r.anchor is None or len(r.anchor) >= len(table.anchor) or not _is_prefix(r.anchor, table.anchor):
            raise PathError(f"DataModel=RELATIONAL: {r.text!r} is not an ancestor of the table path {table.text!r} "
                            f"(the last path listed); a profile is one table: list the table's ancestors, then "
                            f"the table")
        if all(c.anchor != r.anchor for c in chain):
            chain.append(r)
    chain.sort(key=lambda r: len(r.anchor))
    return chain + [table]


def relational_problem(repeat_paths: Sequence[str] | str, kind: str = "json") -> Optional[str]:
    """Why the repeating paths of a RELATIONAL profile cannot be mapped as one table, or None (for `rsd check`)."""
    family = _FAMILIES[_family(kind)]
    try:
        repeats = [family.repeat(t) for t in split_paths(repeat_paths)]
        if repeats:
            relational_chain(repeats)
    except PathError as err:
        return str(err)
    return None


class _RelationalPlan:
    """DataModel=RELATIONAL as one table (docs/decisions.md): the table is the last listed path, the paths listed
    before it are its ancestors. One row per element of the table path; the column `_id` is that element's
    key and `<name>_id` the key of the element of the ancestor path named `name` (its parent: `people_id`),
    as CData's relational model joins `[people].[_id] = [vehicles].[people_id]`. A key is the element's
    position among all elements of its path in this run (1, 2, ...), in document order across pages, so
    the profile of the parent table, run over the same pages, gives its rows the same keys. Other columns
    bind as in FLATTENEDDOCUMENTS: to the deepest listed path their absolute path runs through (the table
    element, or an ancestor's), relative ones to the table element, the rest document-level."""

    def __init__(self, family, paths: Sequence[_ColumnPath], repeats: Sequence[_Repeat]):
        self.chain = relational_chain(repeats)
        chain = self.chain
        last = len(chain) - 1
        self.child_elements: list[Optional[Callable[[Any], list]]] = [None] + [
            family.child_elements(chain[i].anchor[len(chain[i - 1].anchor):]) for i in range(1, len(chain))]
        keys = {"_id": last}
        for i, r in enumerate(chain[:-1]):
            name = _path_name(r.anchor)
            if name:
                keys.setdefault(f"{name}_id".lower(), i)
        # ("key", level) | ("element", level, getter) | ("document", getter)
        self.bound: list[tuple] = []
        for cp in paths:
            column = cp.column
            own_path = (column.xpath or "").strip()
            if (not own_path or own_path == column.name) and column.name.lower() in keys:
                self.bound.append(("key", keys[column.name.lower()]))
            elif cp.steps is None:
                self.bound.append(("document", cp.general) if cp.absolute else ("element", last, cp.general))
            elif not cp.absolute:
                self.bound.append(("element", last, family.relative_getter(cp, cp.steps)))
            else:
                level = max((i for i, r in enumerate(chain) if r.anchor is not None and _is_prefix(r.anchor, cp.steps)),
                            default=None)
                if level is None:
                    self.bound.append(("document", family.document_getter(cp)))
                else:
                    rel = cp.steps[len(chain[level].anchor):]
                    self.bound.append(("element", level, family.relative_getter(cp, rel)))
        self.seen = [0] * len(chain)  # elements of each path met so far in this run: the last key given

    def elements(self, root: Any) -> list:
        return self.chain[0].elements(root)

    def rows(self, root: Any) -> Iterator[tuple]:
        getters = []
        for b in self.bound:
            getters.append(("const", b[1](root)) if b[0] == "document" else b)
        out: list[tuple] = []
        last = len(self.chain) - 1
        seen = self.seen

        def visit(level: int, elements: list, keys: tuple, path: tuple) -> None:
            for el in elements:
                seen[level] += 1
                k, e = keys + (seen[level],), path + (el,)
                if level < last:
                    visit(level + 1, self.child_elements[level + 1](el), k, e)
                    continue
                row = []
                for g in getters:
                    kind = g[0]
                    row.append(k[g[1]] if kind == "key" else g[2](e[g[1]]) if kind == "element" else g[1])
                out.append(tuple(row))

        visit(0, self.chain[0].elements(root), (), ())
        return iter(out)


# ------------------------------------------------------------------------------------------------ Mapper

class Route:
    """Where a path is read from on one page: `nodes` (the document root, or the row elements) and `steps`
    below them (JSON `(KEY, name)` steps or XML step strings; None when only a general evaluator reads the
    path). `at_root`: `nodes` is the document root (else the row elements). `from_root`: XML steps that start
    with the root element's own tag. `alt_key`: a JSON column name also read as one literal key."""

    __slots__ = ("family", "nodes", "steps", "written", "at_root", "from_root", "alt_key")

    def __init__(self, family: str, nodes: list, steps: Optional[tuple], written: str, *, at_root: bool,
                 from_root: bool = False, alt_key: Optional[str] = None):
        self.family, self.nodes, self.steps, self.written = family, nodes, steps, written
        self.at_root, self.from_root, self.alt_key = at_root, from_root, alt_key


class Mapper:
    """Maps documents to rows for one profile's columns. Compiled once; `rows(doc)` per page.

    The mapper is compiled for `kind`; a document of the other family (XML vs JSON/CSV) gets a plan
    compiled on first use, so a response whose format differs from the profile's operation still maps."""

    def __init__(self, columns: Sequence[Column], repeat_paths: list[str], data_model: str, kind: str):
        self.columns = tuple(columns)
        self.names = tuple(c.name for c in self.columns)
        self.repeat_paths = tuple(repeat_paths)
        self.data_model = data_model
        self.kind = kind
        self._plans: dict[str, Any] = {}
        self._plan(_family(kind))

    def _plan(self, family_name: str):
        plan = self._plans.get(family_name)
        if plan is None:
            plan = self._plans[family_name] = self._compile(_FAMILIES[family_name])
        return plan

    def _compile(self, family):
        paths = []
        for column in self.columns:
            try:
                paths.append(family.column_path(column))
            except PathError as err:
                raise ProfileError(f"column {column.name!r}: {err}", loc=column.loc) from None
        repeats = []
        for text in self.repeat_paths:
            try:
                repeats.append(family.repeat(text))
            except PathError as err:
                raise ProfileError(f"repeating element path: {err}") from None
        try:
            if self.data_model == "FLATTENEDDOCUMENTS" and len(repeats) > 1:
                return _FlattenedPlan(family, paths, repeats)
            if self.data_model == "RELATIONAL" and repeats:
                return _RelationalPlan(family, paths, repeats)
            # DOCUMENT uses the first path of a list (the others only matter to the flattened model)
            return _DocumentPlan(family, paths, repeats[0] if repeats else None)
        except PathError as err:
            raise ProfileError(f"cannot compile the column paths: {err}") from None

    def _root(self, doc: Any) -> tuple[str, Any]:
        if isinstance(doc, Document):
            return _family(doc.kind), doc.root
        return ("xml" if isinstance(doc, etree._Element) else "json"), doc

    def rows(self, doc: Document) -> Iterator[tuple]:
        """The rows of one page: tuples of raw values in column order."""
        family, root = self._root(doc)
        return self._plan(family).rows(root)

    def typed_rows(self, doc: Document, coercer: Any) -> list:
        """The rows of one page converted by `coercer` as they are mapped (`TypedRows`) where the plan can fuse the
        two (JSON rows of the DOCUMENT model); otherwise, or for a page that needs the slow path, the raw rows of
        `rows()` as a plain list, for the caller to convert."""
        family, root = self._root(doc)
        plan = self._plan(family)
        if isinstance(plan, _DocumentPlan):
            return plan.typed_rows(root, coercer)
        return list(plan.rows(root))

    def repeat_route(self, doc: Document) -> Optional[Route]:
        """Where the (first) repeating path starts: the document root and the path's steps, for explaining a
        page without rows (`rsd.mapping.diagnose`). None when the mapper finds the repeating element itself."""
        family, root = self._root(doc)
        plan = self._plan(family)
        repeat = plan.repeat if isinstance(plan, _DocumentPlan) else plan.repeats[plan.roots[0]]
        if repeat is None:
            return None
        text = repeat.text.strip()
        if family == "xml":
            if text.startswith("$"):
                text = json_path_to_xpath(parse_json_path(text))
            if text in ("/", ""):
                return None  # the whole document is the row
            return Route(family, [root], split_xpath(text), repeat.text, at_root=True,
                         from_root=text.startswith("/"))
        p = parse_json_path(text)
        # a general path (a filter, `..`): only its simple prefix can be walked step by step
        return Route(family, [root], p.steps if p.is_simple else p.prefix, repeat.text, at_root=True)

    def column_route(self, doc: Document, index: int) -> Route:
        """Where column `index` is read from on this page: the row elements (or the document root, for a
        document-level path) and its steps below them, for explaining a column that found nothing."""
        family, root = self._root(doc)
        plan = self._plan(family)
        column = self.columns[index]
        written = column.xpath or column.name
        alt_key = column.name if family == "json" and not column.xpath and "." in column.name else None
        if isinstance(plan, _DocumentPlan):
            if plan.repeat is None:
                anchor, elements = plan.family.auto_repeat(root)
            else:
                elements = plan.repeat.elements(root)
                anchor = plan.family.anchor_of(elements) if plan.dynamic else plan.repeat.anchor
            layout = plan.layout if plan.repeat is not None and not plan.dynamic else plan._layout_for(anchor)
            at_root, steps = layout.routes[index]
            nodes = [root] if at_root else elements
        else:
            bound, steps = plan.routes[index]
            at_root = bound is None
            nodes = [root] if at_root else plan.repeats[bound].elements(root)
        return Route(family, nodes, steps, written, at_root=at_root, from_root=at_root and family == "xml",
                     alt_key=alt_key)

    def repeat_count(self, doc: Document) -> int:
        """How many repeating elements the page holds (for FLATTENEDDOCUMENTS: of the top-level path)."""
        family, root = self._root(doc)
        return len(self._plan(family).elements(root))

    def __repr__(self) -> str:
        return (f"Mapper({len(self.columns)} columns, repeat_paths={list(self.repeat_paths)!r}, "
                f"data_model={self.data_model!r}, kind={self.kind!r})")


def compile_mapper(columns: Sequence[Column], *, repeat_paths: Sequence[str] | str | None = None,
                   data_model: Optional[str] = "DOCUMENT", kind: str = "json") -> Mapper:
    """Compile the columns and repeating paths of one profile into a `Mapper`.

    `repeat_paths`: a `JSONPath`, `XPath` or `RepeatElement` value, a `;`-separated list, or a sequence of
    them; None or empty: the top-most array of objects (DOCUMENT rule). Bad paths and unsupported data
    models raise `ProfileError`."""
    model = normalize_data_model(data_model)
    family = _family(kind)
    if (kind or "").lower() not in ("json", "xml", "csv"):
        raise ValueError(f"unknown document kind {kind!r}; expected json, xml or csv")
    return Mapper(columns, split_paths(repeat_paths), model, family if kind.lower() != "csv" else "csv")
