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

from functools import partial
from itertools import product
from typing import Any, Callable, Generic, Iterator, Literal, Optional, Protocol, Sequence, TypeAlias, TypeVar, Union

import orjson
from lxml import etree

from ..errors import ProfileError
from ..reader.ast import Column
from .documents import Document, JsonValue, Node
from .types import Coercer, Row, TypedRows
from .paths import _dumps as dumps_json
from .paths import (ANY, KEY, ElementsGetter, Getter, JsonSteps, PathError, Step, XmlSteps, aggregate_text,
                    compile_xpath, element_steps, find_repeating_element, find_top_array, json_elements,
                    json_elements_getter, json_general_getter, json_getter, json_path_to_xpath, parse_json_path,
                    split_paths, split_xpath, walk_json, xml_absolute_elements_getter, xml_elements_getter, xml_getter,
                    _xml_nodes_value, _xpath_eval)

SUPPORTED_DATA_MODELS: tuple[str, ...] = ("DOCUMENT", "FLATTENEDDOCUMENTS", "RELATIONAL")
KNOWN_DATA_MODELS: tuple[str, ...] = ("DOCUMENT", "FLATTENEDDOCUMENTS", "RELATIONAL")

#: a path step of a family: a JSON `Step` (for JSON and CSV documents) or an XML step text (`Item[@a='b']`)
S = TypeVar("S", bound=Union[Step, str])
#: a generated row function: the rows of a page of JSON objects (`_compile_rows`)
RowsFn: TypeAlias = Callable[[list[JsonValue]], list[Row]]


def normalize_data_model(data_model: Optional[str]) -> str:
    """`None`/"" -> DOCUMENT; case-insensitive; raises `ProfileError` for unknown names."""
    name = (data_model or "DOCUMENT").strip().upper() or "DOCUMENT"
    if name not in SUPPORTED_DATA_MODELS:
        raise ProfileError(f"unknown DataModel {data_model!r}; expected DOCUMENT, FLATTENEDDOCUMENTS or RELATIONAL")
    return name


def _family(kind: str) -> str:
    return "xml" if (kind or "").lower() == "xml" else "json"


def _step_base(step: str) -> str:
    """An XML step without its predicate (`Item[@a='b']` -> `Item`)."""
    i = step.find("[")
    return step if i < 0 else step[:i].strip()


def _step_covers(anchor_step: Step | str, step: Step | str) -> bool:
    """Whether a column step lies inside a repeat step: equal, or the repeat step is a wildcard or a
    predicate on the same name (`*`, `Item[@type='x']` cover `Item`)."""
    if anchor_step == step:
        return True
    if isinstance(anchor_step, str):
        base = _step_base(anchor_step)
        return isinstance(step, str) and "[" not in step and (base == "*" or base == step)
    return anchor_step[0] == ANY and step[0] == KEY


def _is_prefix(prefix: tuple[S, ...], steps: tuple[S, ...]) -> bool:
    if len(prefix) > len(steps):
        return False
    return all(_step_covers(a, b) for a, b in zip(prefix, steps))


class _ColumnPath(Generic[S]):
    """A column's path, parsed once. `steps` are simple steps (None when the path needs a general
    evaluator, then `general`); `absolute` says whether they start at the document root."""

    __slots__ = ("column", "absolute", "steps", "general", "alt_key", "aggregate")

    def __init__(self, column: Column, absolute: bool, steps: Optional[tuple[S, ...]], general: Optional[Getter],
                 alt_key: Optional[str] = None):
        self.column = column
        self.absolute = absolute
        self.steps = steps
        self.general = general
        self.alt_key = alt_key
        self.aggregate = (column.value_format or "").strip().lower() == "aggregate"


class _Repeat(Generic[S]):
    """A repeating path: `elements(root)` lists its elements; `anchor` is the steps every element lies at
    (None when unknown: column paths are then not rebased)."""

    __slots__ = ("text", "anchor", "elements")

    def __init__(self, text: str, anchor: Optional[tuple[S, ...]], elements: ElementsGetter):
        self.text = text
        self.anchor = anchor
        self.elements = elements


# ------------------------------------------------------------------------------------------- families

class _Family(Protocol[S]):
    """What the data models ask of a document family (`_JsonFamily`, `_XmlFamily`): parsing its paths, finding its
    repeating elements and reading values below them."""

    name: str

    def repeat(self, text: str) -> _Repeat[S]: ...

    def auto_repeat(self, root: Node) -> tuple[Optional[tuple[S, ...]], list[Node]]: ...

    def anchor_of(self, elements: list[Node]) -> Optional[tuple[S, ...]]: ...

    def child_elements(self, rel: tuple[S, ...]) -> ElementsGetter: ...

    def column_path(self, column: Column) -> _ColumnPath[S]: ...

    def relative_getter(self, cp: _ColumnPath[S], rel: tuple[S, ...]) -> Getter: ...

    def document_getter(self, cp: _ColumnPath[S]) -> Getter: ...

    def simple_key(self, cp: _ColumnPath[S], rel: tuple[S, ...]) -> Optional[str]:
        """The key when the column is one key of the row object (rows are then `tuple(map(row.get, keys))`)."""
        ...

    def row_compiler(self, paths: Sequence[_ColumnPath[S]], routes: Sequence[tuple[bool, Optional[tuple[S, ...]]]],
                     getters: Sequence[Getter]) -> Optional[Callable[[Optional[Coercer], bool], RowsFn]]:
        """`_compile_rows` for these columns, given a coercer and `subscript`; None when the family has none."""
        ...


class _JsonFamily:
    """JSON (and CSV, which parses to a JSON-like list of dicts)."""

    name = "json"

    def repeat(self, text: str) -> _Repeat[Step]:
        p = parse_json_path(text)
        if p.is_simple:
            anchor: Optional[JsonSteps] = p.steps
        else:
            anchor = None if (".." in text or "//" in text) else p.prefix
        return _Repeat(text, anchor, json_elements_getter(p))

    def auto_repeat(self, root: JsonValue) -> tuple[Optional[JsonSteps], list[JsonValue]]:
        return find_top_array(root)

    def anchor_of(self, elements: list[JsonValue]) -> Optional[JsonSteps]:
        return None  # JSON values have no parent pointers: `$..items` cannot be located

    def child_elements(self, rel: JsonSteps) -> ElementsGetter:
        if not rel:
            return lambda el: [el]
        return lambda el: json_elements(walk_json(el, rel)[0])

    def column_path(self, column: Column) -> _ColumnPath[Step]:
        if column.xpath is None or not column.xpath.strip():
            name = column.name
            steps: JsonSteps = tuple((KEY, part) for part in name.split(".")) if "." in name else ((KEY, name),)
            return _ColumnPath(column, False, steps, None, name if "." in name else None)
        p = parse_json_path(column.xpath)
        if p.is_simple:
            return _ColumnPath(column, p.absolute, p.steps, None)
        return _ColumnPath(column, p.absolute, None, json_general_getter(p))

    def simple_key(self, cp: _ColumnPath[Step], rel: JsonSteps) -> Optional[str]:
        if cp.alt_key is None and len(rel) == 1 and rel[0][0] == KEY:
            return rel[0][1]
        return None

    def row_compiler(self, paths: Sequence[_ColumnPath[Step]], routes: Sequence[tuple[bool, Optional[JsonSteps]]],
                     getters: Sequence[Getter]) -> Optional[Callable[[Optional[Coercer], bool], RowsFn]]:
        return partial(_compile_rows, paths, routes, getters)

    def relative_getter(self, cp: _ColumnPath[Step], rel: JsonSteps) -> Getter:
        get = json_getter(rel)
        if cp.alt_key is None:
            return get
        literal = cp.alt_key

        def get_or_literal(el: JsonValue) -> JsonValue:
            v = get(el)
            if v is None and el.__class__ is dict and literal in el:
                return aggregate_text(el[literal])
            return v
        return get_or_literal

    def document_getter(self, cp: _ColumnPath[Step]) -> Getter:
        if cp.general is not None:
            return cp.general
        return json_getter(cp.steps or ())


class _XmlFamily:
    name = "xml"

    def repeat(self, text: str) -> _Repeat[str]:
        t = text.strip()
        if t.startswith("$"):
            t = json_path_to_xpath(parse_json_path(t))
        if t in ("/", ""):
            return _Repeat(text, None, lambda root: [root])
        if not t.startswith("/"):
            return _Repeat(text, None, xml_elements_getter(t))  # relative to the root element
        return _Repeat(text, split_xpath(t), xml_absolute_elements_getter(t))

    def auto_repeat(self, root: etree._Element) -> tuple[Optional[XmlSteps], list[Node]]:
        elements = find_repeating_element(root)
        return element_steps(elements[0]), elements

    def child_elements(self, rel: XmlSteps) -> ElementsGetter:
        return xml_elements_getter(rel)

    def anchor_of(self, elements: list[Node]) -> Optional[XmlSteps]:
        """XML elements know their ancestors: the anchor of a `//Item` or `/` repeat path is read from
        the first element found, so absolute column paths through it are rebased as usual."""
        return element_steps(elements[0]) if elements else None

    def column_path(self, column: Column) -> _ColumnPath[str]:
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
    def _name_steps(name: str) -> Optional[XmlSteps]:
        steps = split_xpath(name)
        if steps is not None and len(steps) == 1 and steps[0] == name.split(":")[-1]:
            return steps
        return None

    def simple_key(self, cp: _ColumnPath[str], rel: XmlSteps) -> Optional[str]:
        return None  # an element is no mapping of keys

    def row_compiler(self, paths: Sequence[_ColumnPath[str]], routes: Sequence[tuple[bool, Optional[XmlSteps]]],
                     getters: Sequence[Getter]) -> Optional[Callable[[Optional[Coercer], bool], RowsFn]]:
        return None  # the rows of XML elements are read by the getters

    def relative_getter(self, cp: _ColumnPath[str], rel: XmlSteps) -> Getter:
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

        def get_or_nested(el: etree._Element) -> JsonValue:
            v = get(el)
            return get_nested(el) if v is None else v
        return get_or_nested

    def document_getter(self, cp: _ColumnPath[str]) -> Getter:
        if cp.general is not None:
            return cp.general
        text = "/" + "/".join(cp.steps or ())
        xp = compile_xpath(text)
        aggregate = cp.aggregate
        return lambda root: _xml_nodes_value(_xpath_eval(xp, root, text), aggregate)


_JSON = _JsonFamily()
_XML = _XmlFamily()


def _const(value: JsonValue) -> Getter:
    return lambda el: value


# --------------------------------------------------------------------------------------------- DOCUMENT

class _Layout(Generic[S]):
    """Columns bound to one repeat anchor: a getter per column on the row element, or a document-level
    getter evaluated once per page."""

    __slots__ = ("getters", "document", "keys", "routes", "compiled", "_compile", "_typed")

    def __init__(self, family: _Family[S], paths: Sequence[_ColumnPath[S]], anchor: Optional[tuple[S, ...]]):
        getters: list[Getter] = []
        document: list[tuple[int, Getter]] = []
        keys: list[Optional[str]] = []
        # per column: (read from the document root?, its steps below the row element or the root; None: general)
        routes: list[tuple[bool, Optional[tuple[S, ...]]]] = []
        for i, cp in enumerate(paths):
            if cp.steps is None:
                general = _general(cp)
                if cp.absolute:
                    document.append((i, general))
                    getters.append(_const(None))
                else:
                    getters.append(general)
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
            keys.append(family.simple_key(cp, rel))
        self.getters = tuple(getters)
        self.document = tuple(document)
        self.routes = tuple(routes)
        # every column a single key of the row object: rows are `tuple(map(row.get, keys))`
        present = [k for k in keys if k is not None]
        self.keys = tuple(present) if keys and len(present) == len(keys) else None
        # JSON rows with no document-level column: one generated list comprehension per page (see `_compile_rows`)
        self._compile = family.row_compiler(paths, routes, getters) if not document else None
        self.compiled = self._compile(None, False) if self._compile is not None else None
        # (coercer, its fused row function, reading keys by subscript?): subscripts until a page misses a key
        self._typed: Optional[tuple[Coercer, RowsFn, bool]] = None

    def typed_rows(self, root: Node, elements: list[Node], coercer: Coercer) -> list[Row]:
        """The page's rows converted by `coercer` in the same pass (`TypedRows`) when the layout has a generated row
        function; else, or when a value needs the slow path (an element that is not an object, a value that does
        not convert, a date-time `fromisoformat` refuses, an aggregate orjson cannot write), the raw rows of
        `rows()`, which the runner converts as before: its errors and messages are unchanged."""
        compile_rows = self._compile
        if compile_rows is None:
            return list(self.rows(root, elements))
        typed = self._typed
        if typed is None or typed[0] is not coercer:
            typed = self._typed = (coercer, compile_rows(coercer, True), True)
        try:
            return TypedRows(typed[1](elements))
        except KeyError:
            if typed[2]:  # records without some key: `.get` from now on (one exception a run, not one a page)
                self._typed = (coercer, compile_rows(coercer, False), False)
                return self.typed_rows(root, elements, coercer)
        except Exception:  # redone the exact way, which raises what a one-pass run would (or maps the page)
            pass
        return list(self.rows(root, elements))

    def rows(self, root: Node, elements: list[Node]) -> Iterator[Row]:
        if self.compiled is not None:
            try:
                return iter(self.compiled(elements))
            except AttributeError:  # an element that is not an object: the general getters handle the page
                return self._getter_rows(elements, self.getters)
        keys = self.keys
        if keys is not None:
            return self._key_rows(elements, keys)
        getters: Sequence[Getter] = self.getters
        if self.document:
            page_getters = list(getters)
            for i, get in self.document:
                page_getters[i] = _const(get(root))
            getters = page_getters
        return self._getter_rows(elements, getters)

    @staticmethod
    def _getter_rows(elements: list[Node], getters: Sequence[Getter]) -> Iterator[Row]:
        for el in elements:
            yield tuple([get(el) for get in getters])

    def _key_rows(self, elements: list[JsonValue], keys: tuple[str, ...]) -> Iterator[Row]:
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


def _general(cp: _ColumnPath[S]) -> Getter:
    """The general evaluator of a column path without simple steps (`_ColumnPath.steps` None)."""
    if cp.general is None:
        raise AssertionError(f"column {cp.column.name!r}: a path without steps has a general evaluator")
    return cp.general


def _compile_rows(paths: Sequence[_ColumnPath[Step]], routes: Sequence[tuple[bool, Optional[JsonSteps]]],
                  getters: Sequence[Getter], coercer: Optional[Coercer] = None, subscript: bool = False) -> RowsFn:
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
        keys = [step[1] for step in rel if step[0] == KEY] if rel and cp.alt_key is None else None
        if keys is None or len(keys) < len(rel or ()):
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
    rows: RowsFn = env["rows"]  # generated above
    return rows


def _aggregating(convert: Callable[[JsonValue], Any]) -> Callable[[JsonValue], Any]:
    """`convert`, after an object or array has become its JSON text (as the row mapping does before converting)."""
    def aggregate_then_convert(value: JsonValue) -> Any:
        return convert(dumps_json(value) if value.__class__ in _AGGREGATES else value)
    return aggregate_then_convert


class _DocumentPlan(Generic[S]):
    def __init__(self, family: _Family[S], paths: Sequence[_ColumnPath[S]], repeat: Optional[_Repeat[S]]):
        self.family = family
        self.paths = paths
        self.repeat = repeat
        self._layouts: dict[Optional[tuple[S, ...]], _Layout[S]] = {}
        self.dynamic = repeat is not None and repeat.anchor is None and family.name == "xml"
        if repeat is not None:
            self.layout = _Layout(family, paths, repeat.anchor)

    def _layout_for(self, anchor: Optional[tuple[S, ...]]) -> _Layout[S]:
        layout = self._layouts.get(anchor)
        if layout is None:
            layout = self._layouts[anchor] = _Layout(self.family, self.paths, anchor)
        return layout

    def elements(self, root: Node) -> list[Node]:
        if self.repeat is None:
            return self.family.auto_repeat(root)[1]
        return self.repeat.elements(root)

    def rows(self, root: Node) -> Iterator[Row]:
        if self.repeat is None:
            anchor, elements = self.family.auto_repeat(root)
            return self._layout_for(anchor).rows(root, elements)
        elements = self.repeat.elements(root)
        if self.dynamic:
            return self._layout_for(self.family.anchor_of(elements)).rows(root, elements)
        return self.layout.rows(root, elements)

    def typed_rows(self, root: Node, coercer: Coercer) -> list[Row]:
        if self.repeat is None or self.dynamic:
            return list(self.rows(root))
        return self.layout.typed_rows(root, self.repeat.elements(root), coercer)

    def top_repeat(self) -> Optional[_Repeat[S]]:
        return self.repeat

    def route(self, root: Node, index: int) -> tuple[bool, list[Node], Optional[tuple[S, ...]]]:
        """Where column `index` is read on this page: (from the root?, the nodes, the steps below them)."""
        if self.repeat is None:
            anchor, elements = self.family.auto_repeat(root)
            layout = self._layout_for(anchor)
        else:
            elements = self.repeat.elements(root)
            layout = self._layout_for(self.family.anchor_of(elements)) if self.dynamic else self.layout
        at_root, steps = layout.routes[index]
        return at_root, [root] if at_root else elements, steps


# --------------------------------------------------------------------------------- FLATTENEDDOCUMENTS

class _FlattenedPlan(Generic[S]):
    """The listed paths joined parent to child: a path's parent is the deepest other path that is a
    prefix of it. Children of one element are LEFT-joined (an element without children still yields a
    row, child columns null); siblings are CROSS-joined; several top-level paths are CROSS-joined."""

    def __init__(self, family: _Family[S], paths: Sequence[_ColumnPath[S]], repeats: Sequence[_Repeat[S]]):
        self.family = family
        unique: list[_Repeat[S]] = []
        seen: set[tuple[S, ...] | tuple[str, str]] = set()
        for r in repeats:
            key = r.anchor if r.anchor is not None else ("text", r.text)
            if key not in seen:
                seen.add(key)
                unique.append(r)
        self.repeats = unique
        n = len(unique)
        parent: list[Optional[int]] = [None] * n
        # per path: how its elements are found below an element of its parent (None for a top-level path)
        child_elements: list[Optional[ElementsGetter]] = [None] * n
        for i, r in enumerate(unique):
            if r.anchor is None:
                continue
            best, best_anchor = None, None
            for j, other in enumerate(unique):
                if j == i or other.anchor is None:
                    continue
                if len(other.anchor) < len(r.anchor) and _is_prefix(other.anchor, r.anchor):
                    if best_anchor is None or len(other.anchor) > len(best_anchor):
                        best, best_anchor = j, other.anchor
            parent[i] = best
            if best_anchor is not None:
                child_elements[i] = family.child_elements(r.anchor[len(best_anchor):])
        self.parent = parent
        # per path: its child paths, each with how its elements are found below this path's element
        self.children: list[list[tuple[int, ElementsGetter]]] = [
            [(j, get) for j, get in enumerate(child_elements) if parent[j] == i and get is not None] for i in range(n)]
        self.roots = [i for i in range(n) if parent[i] is None]
        # bind every column to the deepest path that is a prefix of its absolute path
        self.bound: list[tuple[Optional[int], Getter]] = []
        self.routes: list[tuple[Optional[int], Optional[tuple[S, ...]]]] = []  # (path index or None: the root, steps)
        for cp in paths:
            if cp.steps is None:
                general = _general(cp)
                self.bound.append((None, general) if cp.absolute else (0, general))
                self.routes.append((None if cp.absolute else 0, None))
                continue
            if not cp.absolute:
                self.bound.append((0, family.relative_getter(cp, cp.steps)))
                self.routes.append((0, cp.steps))
                continue
            best, best_anchor = None, None
            for i, r in enumerate(unique):
                if r.anchor is not None and _is_prefix(r.anchor, cp.steps):
                    if best_anchor is None or len(r.anchor) > len(best_anchor):
                        best, best_anchor = i, r.anchor
            if best is None or best_anchor is None:
                self.bound.append((None, family.document_getter(cp)))
                self.routes.append((None, cp.steps))
            else:
                rel = cp.steps[len(best_anchor):]
                self.bound.append((best, family.relative_getter(cp, rel)))
                self.routes.append((best, rel))

    def elements(self, root: Node) -> list[Node]:
        return self.repeats[self.roots[0]].elements(root)

    def top_repeat(self) -> Optional[_Repeat[S]]:
        return self.repeats[self.roots[0]]

    def route(self, root: Node, index: int) -> tuple[bool, list[Node], Optional[tuple[S, ...]]]:
        """Where column `index` is read on this page: (from the root?, the nodes, the steps below them)."""
        bound, steps = self.routes[index]
        if bound is None:
            return True, [root], steps
        return False, self.repeats[bound].elements(root), steps

    def _expand(self, i: int, elements: list[Node]) -> list[dict[int, Node]]:
        """Bindings (path index -> element) for path `i` and its descendants over `elements`."""
        if not elements:
            elements = [None]  # LEFT join: no children is one row of nulls
        out: list[dict[int, Node]] = []
        child_paths = self.children[i]
        for el in elements:
            if child_paths:
                subs = [self._expand(c, get(el) if el is not None else []) for c, get in child_paths]
                for combo in product(*subs):
                    binding = {i: el}
                    for part in combo:
                        binding.update(part)
                    out.append(binding)
            else:
                out.append({i: el})
        return out

    def rows(self, root: Node) -> Iterator[Row]:
        per_root = []
        for r in self.roots:
            elements = self.repeats[r].elements(root)
            if not elements:
                return iter(())  # a top-level path with no elements: the page has no rows
            per_root.append(self._expand(r, elements))
        getters: list[tuple[int, Getter]] = []
        for index, get in self.bound:
            getters.append((-1, _const(get(root))) if index is None else (index, get))
        return self._rows(per_root, getters)

    @staticmethod
    def _rows(per_root: list[list[dict[int, Node]]], getters: list[tuple[int, Getter]]) -> Iterator[Row]:
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

def _path_name(anchor: Optional[tuple[Step | str, ...]]) -> Optional[str]:
    """The table name of a listed path: its last named step (`vehicles` of `$.people.vehicles`)."""
    if not anchor:
        return None
    step = anchor[-1]
    if isinstance(step, str):
        base = _step_base(step)
        return None if base == "*" else base.split(":")[-1]
    return step[1] if step[0] == KEY else None


def relational_chain(repeats: Sequence[_Repeat[S]]) -> list[_Repeat[S]]:
    """The listed paths of a RELATIONAL profile as one chain, outermost first: the last path is the table, every
    other one an ancestor of it (a prefix of its steps). Raises `PathError` saying why not."""
    return [r for r, _ in _relational_chain(repeats)]


def _relational_chain(repeats: Sequence[_Repeat[S]]) -> list[tuple[_Repeat[S], tuple[S, ...]]]:
    """`relational_chain`, each path with the steps of its elements below the element of the path before it (the
    first path: its own steps, or () when it has none)."""
    table = repeats[-1]
    if len(repeats) == 1:
        return [(table, table.anchor or ())]
    table_anchor = table.anchor
    if table_anchor is None:
        raise PathError(f"DataModel=RELATIONAL: the table path {table.text!r} must be a plain path (no '..' or "
                        f"filters) when ancestor paths are listed before it")
    chain: list[tuple[_Repeat[S], tuple[S, ...]]] = []
    for r in repeats[:-1]:
        if r.anchor is None or len(r.anchor) >= len(table_anchor) or not _is_prefix(r.anchor, table_anchor):
            raise PathError(f"DataModel=RELATIONAL: {r.text!r} is not an ancestor of the table path {table.text!r} "
                            f"(the last path listed); a profile is one table: list the table's ancestors, then "
                            f"the table")
        if all(c.anchor != r.anchor for c, _ in chain):
            chain.append((r, r.anchor))
    chain.sort(key=lambda pair: len(pair[1]))
    chain.append((table, table_anchor))
    return [(r, anchor[len(chain[i - 1][1]):] if i else anchor) for i, (r, anchor) in enumerate(chain)]


def relational_problem(repeat_paths: Sequence[str] | str, kind: str = "json") -> Optional[str]:
    """Why the repeating paths of a RELATIONAL profile cannot be mapped as one table, or None (for `rsd check`)."""
    texts = split_paths(repeat_paths)
    try:
        if _family(kind) == "xml":
            _check_chain([_XML.repeat(t) for t in texts])
        else:
            _check_chain([_JSON.repeat(t) for t in texts])
    except PathError as err:
        return str(err)
    return None


def _check_chain(repeats: Sequence[_Repeat[S]]) -> None:
    if repeats:
        relational_chain(repeats)


#: how a RELATIONAL column is read: ("key", level) the key of the element of that level; ("element", level, getter)
#: below that element; ("document", getter) once per page; ("const", value) that page's value of a document column
_KeyBinding: TypeAlias = tuple[Literal["key"], int]
_ElementBinding: TypeAlias = tuple[Literal["element"], int, Getter]
_Binding: TypeAlias = Union[_KeyBinding, _ElementBinding, tuple[Literal["document"], Getter]]
_PageBinding: TypeAlias = Union[_KeyBinding, _ElementBinding, tuple[Literal["const"], JsonValue]]


class _RelationalPlan(Generic[S]):
    """DataModel=RELATIONAL as one table (docs/decisions.md): the table is the last listed path, the paths listed
    before it are its ancestors. One row per element of the table path; the column `_id` is that element's
    key and `<name>_id` the key of the element of the ancestor path named `name` (its parent: `people_id`),
    as CData's relational model joins `[people].[_id] = [vehicles].[people_id]`. A key is the element's
    position among all elements of its path in this run (1, 2, ...), in document order across pages, so
    the profile of the parent table, run over the same pages, gives its rows the same keys. Other columns
    bind as in FLATTENEDDOCUMENTS: to the deepest listed path their absolute path runs through (the table
    element, or an ancestor's), relative ones to the table element, the rest document-level."""

    def __init__(self, family: _Family[S], paths: Sequence[_ColumnPath[S]], repeats: Sequence[_Repeat[S]]):
        pairs = _relational_chain(repeats)
        self.chain = [r for r, _ in pairs]
        chain = self.chain
        last = len(chain) - 1
        # child_elements[level]: the elements of level + 1 below an element of `level`
        self.child_elements: list[ElementsGetter] = [family.child_elements(rel) for _, rel in pairs[1:]]
        keys = {"_id": last}
        for i, r in enumerate(chain[:-1]):
            name = _path_name(r.anchor)
            if name:
                keys.setdefault(f"{name}_id".lower(), i)
        self.bound: list[_Binding] = []
        # per column: (the level whose elements it is read below, None: the document root; the steps below them)
        self.routes: list[tuple[Optional[int], Optional[tuple[S, ...]]]] = []
        for cp in paths:
            column = cp.column
            own_path = (column.xpath or "").strip()
            if (not own_path or own_path == column.name) and column.name.lower() in keys:
                self.bound.append(("key", keys[column.name.lower()]))
                self.routes.append((keys[column.name.lower()], ()))  # the element itself: always there
            elif cp.steps is None:
                general = _general(cp)
                self.bound.append(("document", general) if cp.absolute else ("element", last, general))
                self.routes.append((None if cp.absolute else last, None))
            elif not cp.absolute:
                self.bound.append(("element", last, family.relative_getter(cp, cp.steps)))
                self.routes.append((last, cp.steps))
            else:
                levels = [(i, r.anchor) for i, r in enumerate(chain)
                          if r.anchor is not None and _is_prefix(r.anchor, cp.steps)]
                if not levels:
                    self.bound.append(("document", family.document_getter(cp)))
                    self.routes.append((None, cp.steps))
                else:
                    level, anchor = levels[-1]
                    rel = cp.steps[len(anchor):]
                    self.bound.append(("element", level, family.relative_getter(cp, rel)))
                    self.routes.append((level, rel))
        self.seen = [0] * len(chain)  # elements of each path met so far in this run: the last key given

    def elements(self, root: Node) -> list[Node]:
        return self.chain[0].elements(root)

    def top_repeat(self) -> Optional[_Repeat[S]]:
        return self.chain[0]

    def route(self, root: Node, index: int) -> tuple[bool, list[Node], Optional[tuple[S, ...]]]:
        """Where column `index` is read on this page: (from the root?, the nodes, the steps below them)."""
        level, steps = self.routes[index]
        if level is None:
            return True, [root], steps
        elements = self.chain[0].elements(root)
        for get in self.child_elements[:level]:
            elements = [child for el in elements for child in get(el)]
        return False, elements, steps

    def rows(self, root: Node) -> Iterator[Row]:
        getters: list[_PageBinding] = []
        for b in self.bound:
            getters.append(("const", b[1](root)) if b[0] == "document" else b)
        out: list[Row] = []
        last = len(self.chain) - 1
        seen = self.seen

        def visit(level: int, elements: list[Node], keys: tuple[int, ...], path: tuple[Node, ...]) -> None:
            for el in elements:
                seen[level] += 1
                k, e = keys + (seen[level],), path + (el,)
                if level < last:
                    visit(level + 1, self.child_elements[level](el), k, e)
                    continue
                row = []
                for g in getters:
                    row.append(k[g[1]] if g[0] == "key" else g[2](e[g[1]]) if g[0] == "element" else g[1])
                out.append(tuple(row))

        visit(0, self.chain[0].elements(root), (), ())
        return iter(out)


# ------------------------------------------------------------------------------------------------ Mapper

#: a compiled plan of one family's paths
_Plan: TypeAlias = Union[_DocumentPlan[S], _FlattenedPlan[S], _RelationalPlan[S]]


class Route(Generic[S]):
    """Where a path is read from on one page: `nodes` (the document root, or the row elements) and `steps`
    below them (JSON `(KEY, name)` steps in a `JsonRoute`, XML step strings in an `XmlRoute`; None when only a
    general evaluator reads the path). `at_root`: `nodes` is the document root (else the row elements).
    `from_root`: XML steps that start with the root element's own tag. `alt_key`: a JSON column name also read as
    one literal key."""

    __slots__ = ("nodes", "steps", "written", "at_root", "from_root", "alt_key")

    family: Literal["json", "xml"]

    def __init__(self, nodes: list[Node], steps: Optional[tuple[S, ...]], written: str, *, at_root: bool,
                 from_root: bool = False, alt_key: Optional[str] = None):
        self.nodes, self.steps, self.written = nodes, steps, written
        self.at_root, self.from_root, self.alt_key = at_root, from_root, alt_key


class JsonRoute(Route[Step]):
    __slots__ = ()
    family: Literal["json"] = "json"


class XmlRoute(Route[str]):
    __slots__ = ()
    family: Literal["xml"] = "xml"


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
        self._json: Optional[_Plan[Step]] = None
        self._xml: Optional[_Plan[str]] = None
        self._plan(_family(kind))

    @property
    def row_per_record(self) -> bool:
        """Whether a row is one repeating element (DOCUMENT), so that an API's count of records counts rows; with
        FLATTENEDDOCUMENTS and RELATIONAL a row is a child joined to its parent."""
        return self.data_model == "DOCUMENT"

    def _json_plan(self) -> _Plan[Step]:
        if self._json is None:
            self._json = self._compile(_JSON)
        return self._json

    def _xml_plan(self) -> _Plan[str]:
        if self._xml is None:
            self._xml = self._compile(_XML)
        return self._xml

    def _plan(self, family_name: str) -> _Plan[Step] | _Plan[str]:
        return self._xml_plan() if family_name == "xml" else self._json_plan()

    def _compile(self, family: _Family[S]) -> _Plan[S]:
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

    def _root(self, doc: Document | Node) -> tuple[str, Node]:
        if isinstance(doc, Document):
            return _family(doc.kind), doc.root
        return ("xml" if isinstance(doc, etree._Element) else "json"), doc

    def rows(self, doc: Document) -> Iterator[Row]:
        """The rows of one page: tuples of raw values in column order."""
        family, root = self._root(doc)
        return self._plan(family).rows(root)

    def typed_rows(self, doc: Document, coercer: Coercer) -> list[Row]:
        """The rows of one page converted by `coercer` as they are mapped (`TypedRows`) where the plan can fuse the
        two (JSON rows of the DOCUMENT model); otherwise, or for a page that needs the slow path, the raw rows of
        `rows()` as a plain list, for the caller to convert."""
        family, root = self._root(doc)
        plan = self._plan(family)
        if isinstance(plan, _DocumentPlan):
            return plan.typed_rows(root, coercer)
        return list(plan.rows(root))

    def repeat_route(self, doc: Document) -> JsonRoute | XmlRoute | None:
        """Where the (first) repeating path starts: the document root and the path's steps, for explaining a
        page without rows (`rsd.mapping.diagnose`). None when the mapper finds the repeating element itself."""
        family, root = self._root(doc)
        if family == "xml":
            repeat: _Repeat[Step] | _Repeat[str] | None = self._xml_plan().top_repeat()
        else:
            repeat = self._json_plan().top_repeat()
        if repeat is None:
            return None
        text = repeat.text.strip()
        if family == "xml":
            if text.startswith("$"):
                text = json_path_to_xpath(parse_json_path(text))
            if text in ("/", ""):
                return None  # the whole document is the row
            return XmlRoute([root], split_xpath(text), repeat.text, at_root=True, from_root=text.startswith("/"))
        p = parse_json_path(text)
        # a general path (a filter, `..`): only its simple prefix can be walked step by step
        return JsonRoute([root], p.steps if p.is_simple else p.prefix, repeat.text, at_root=True)

    def column_route(self, doc: Document, index: int) -> JsonRoute | XmlRoute:
        """Where column `index` is read from on this page: the row elements (or the document root, for a
        document-level path) and its steps below them, for explaining a column that found nothing."""
        family, root = self._root(doc)
        column = self.columns[index]
        written = column.xpath or column.name
        if family == "xml":
            at_root, nodes, xml_steps = self._xml_plan().route(root, index)
            return XmlRoute(nodes, xml_steps, written, at_root=at_root, from_root=at_root)
        alt_key = column.name if not column.xpath and "." in column.name else None
        at_root, nodes, json_steps = self._json_plan().route(root, index)
        return JsonRoute(nodes, json_steps, written, at_root=at_root, alt_key=alt_key)

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
