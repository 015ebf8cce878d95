"""What a sample page holds: the candidates for the repeating element, and the columns of its records.

Owns: finding every array of objects (JSON) or repeated element with fields (XML) and counting its records
(`candidates`, shallowest first), reading `--repeat` (`candidate_for`), and inferring the columns of the chosen
records (`infer_fields`): nested objects as dotted names, arrays as aggregate JSON text, an `xs:type` only where
every non-null value fits it (decided by `rsd.mapping.types`, the one type table and its coercion), and
`key="true"` on the one field that is unique in the sample and named like an id. Must not: fetch, detect paging or
write XML (`sample`, `detect`, `render`).

Type rules (docs/decisions.md, "rsd init"): JSON booleans, integers and numbers keep their JSON kind; JSON text is
a string unless every value is an ISO 8601 date or date-time (text that happens to be digits stays text: ids with
leading zeros, postal codes). XML is all text: whole numbers without a leading zero are integers, decimals numbers,
`true`/`false` booleans, ISO 8601 dates and date-times; the coercion of `types.py` must accept every value too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from lxml import etree

from ..errors import InvalidInputError
from ..mapping import CoercionError, coerce_value
from ..mapping.paths import KEY, INDEX, parse_json_path, split_xpath, walk_json

#: nesting below a record that becomes dotted names; deeper objects are kept whole as JSON (or XML) text
MAX_NESTING = 4

#: a path from the document root or a record: JSON keys (or `(KEY, name)` steps) or XML tags and `@attributes`
Steps = tuple[Any, ...]


@dataclass(frozen=True)
class Candidate:
    """A repeating element: `path` as a profile writes it (`$.records`, `$`, `/inventory/item`), its `steps` from
    the document root (JSON keys; XML tags, the root's own first) and the records the sample holds there."""

    path: str
    steps: Steps
    count: int


@dataclass
class Field:
    """One inferred column."""

    name: str
    path: str  # other:xPath, absolute
    type: str = "string"  # canonical type (rsd.mapping.types)
    key: bool = False
    aggregate: bool = False
    note: str = ""  # why, for the profile's comment ("" when there is nothing to say)


@dataclass
class _Stat:
    kinds: set[str] = field(default_factory=set)  # object, array, scalar, deep; XML: leaf, complex, repeated
    values: list[Any] = field(default_factory=list)  # the non-null scalar values
    present: int = 0
    nulls: int = 0
    rich: bool = False  # XML: repeated elements that have fields of their own


# ------------------------------------------------------------------------------------------ candidates

def candidates(doc: Any) -> list[Candidate]:
    """Every repeating element of the sample, shallowest first (then in document order)."""
    return _xml_candidates(doc.root) if doc.kind == "xml" else _json_candidates(doc.root)


def json_path_text(steps: Steps) -> str:
    """`$`, `$.records`, `$['@odata.x']` (JSONPath, as `JSONPath` and value paths are written)."""
    out = "$"
    for step in steps:
        kind, arg = step if isinstance(step, tuple) else (KEY, step)
        if kind == INDEX:
            out += f"[{arg}]"
        elif _PLAIN_KEY.match(str(arg)):
            out += f".{arg}"
        else:
            out += "['" + str(arg).replace("\\", "\\\\").replace("'", "\\'") + "']"
    return out


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SLASH_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def _json_candidates(root: Any) -> list[Candidate]:
    found: list[Candidate] = []
    level: list[tuple[Steps, list[Any]]] = [((), [root])]
    depth = 0
    while level and depth <= MAX_NESTING + 2:
        nxt: list[tuple[Steps, list[Any]]] = []
        for steps, nodes in level:
            objects = [item for n in nodes if n.__class__ is list for item in n if item.__class__ is dict]
            if objects:
                found.append(Candidate(json_path_text(steps), steps, len(objects)))
            children: dict[str, list[Any]] = {}
            for obj in [n for n in nodes if n.__class__ is dict] + objects:
                for key, value in obj.items():
                    if value.__class__ in (dict, list):
                        children.setdefault(key, []).append(value)
            nxt.extend((steps + (key,), values) for key, values in children.items())
        level = nxt
        depth += 1
    return found


def _is_record(el: Any) -> bool:
    return bool(el.attrib) or any(isinstance(c.tag, str) for c in el)


def _xml_candidates(root: Any) -> list[Candidate]:
    counts: dict[Steps, int] = {}
    repeated: set[Steps] = set()
    level: list[tuple[Any, Steps]] = [(root, (root.tag,))]
    while level:
        nxt: list[tuple[Any, Steps]] = []
        for el, steps in level:
            groups: dict[str, list[Any]] = {}
            for child in el:
                if isinstance(child.tag, str):
                    groups.setdefault(child.tag, []).append(child)
            for tag, kids in groups.items():
                path = steps + (tag,)
                records = [k for k in kids if _is_record(k)]
                if records:
                    counts[path] = counts.get(path, 0) + len(records)
                    if len(records) > 1:
                        repeated.add(path)
                nxt.extend((k, path) for k in kids if len(path) <= MAX_NESTING + 3)
        level = nxt
    chosen = [p for p in counts if p in repeated]
    if not chosen:  # a page of one record: its element is the shallowest with fields below the root
        chosen = [p for p in counts][:1]
    return [Candidate("/" + "/".join(p), p, counts[p]) for p in chosen]


def candidate_for(doc: Any, repeat: str) -> Candidate:
    """`--repeat PATH` as a candidate (any JSONPath / slash path for JSON, an absolute XPath chain for XML)."""
    text = repeat.strip()
    if doc.kind == "xml":
        steps = split_xpath(text) if text.startswith("/") else None
        if not steps:
            raise InvalidInputError(f"--repeat {repeat!r}: write an absolute path of element names, "
                                    f"such as /feed/entry")
        found = [el for el in doc.root.xpath(text) if isinstance(el, etree._Element)]
        records = [el for el in found if _is_record(el)]
        if not records:
            raise InvalidInputError(f"--repeat {repeat!r} matches no element with fields in the sample")
        return Candidate(text, tuple(steps), len(records))
    try:
        path = parse_json_path(text)
    except ValueError as e:
        raise InvalidInputError(f"--repeat {repeat!r}: {e}") from None
    key_steps = path.steps or ()
    if not path.is_simple or any(kind != KEY for kind, _ in key_steps):
        raise InvalidInputError(f"--repeat {repeat!r}: write a path of keys, such as $.data or $.result.items")
    nodes, _ = walk_json(doc.root, key_steps)
    objects = [item for n in nodes for item in (n if n.__class__ is list else [n]) if item.__class__ is dict]
    if not objects:
        raise InvalidInputError(f"--repeat {repeat!r} matches no object in the sample")
    keys = tuple(arg for _, arg in key_steps)
    return Candidate(json_path_text(keys), keys, len(objects))


def records_of(doc: Any, cand: Candidate) -> list[Any]:
    """The sample's records at `cand` (objects for JSON, elements for XML)."""
    if doc.kind == "xml":
        return [el for el in doc.root.xpath("/" + "/".join(cand.steps)) if _is_record(el)]
    nodes, _ = walk_json(doc.root, tuple((KEY, k) for k in cand.steps))
    return [item for n in nodes for item in (n if n.__class__ is list else [n]) if item.__class__ is dict]


# ------------------------------------------------------------------------------------------------ fields

def infer_fields(doc: Any, cand: Candidate, records: list[Any], title: str) -> list[Field]:
    """The columns of `records`, in the order their fields first appear."""
    if doc.kind == "xml":
        stats = _xml_stats(records)
        fields = _resolve(stats, lambda rel: "/" + "/".join(cand.steps + rel), textual=True)
    else:
        stats = _json_stats(records)
        fields = _resolve(stats, lambda rel: _json_column_path(cand.steps, rel), textual=False)
    _mark_key(fields, stats, len(records), (title, cand.steps[-1] if cand.steps else ""))
    return fields


def _json_column_path(base: Steps, rel: Steps) -> str:
    """`/json/records/BillingAddress/City` (the samples' form), or JSONPath where a key is no plain name."""
    steps = base + rel
    if all(_SLASH_KEY.match(str(k)) for k in steps):
        return "/json/" + "/".join(steps) if steps else "/json"
    return json_path_text(steps)


def _json_stats(records: list[Any]) -> dict[Steps, _Stat]:
    stats: dict[Steps, _Stat] = {}

    def visit(obj: dict[str, Any], prefix: Steps, depth: int) -> None:
        for key, value in obj.items():
            path = prefix + (key,)
            st = stats.setdefault(path, _Stat())
            st.present += 1
            cls = value.__class__
            if cls is dict:
                st.kinds.add("object")
                if depth < MAX_NESTING:
                    visit(value, path, depth + 1)
                else:
                    st.kinds.add("deep")
            elif cls is list:
                st.kinds.add("array")
            elif value is None:
                st.nulls += 1
            else:
                st.kinds.add("scalar")
                st.values.append(value)

    for record in records:
        visit(record, (), 0)
    return stats


def _xml_stats(records: list[Any]) -> dict[Steps, _Stat]:
    stats: dict[Steps, _Stat] = {}

    def attributes(el: Any, prefix: Steps) -> None:
        for name, value in el.attrib.items():
            st = stats.setdefault(prefix + ("@" + name,), _Stat())
            st.present += 1
            st.kinds.add("leaf")
            st.values.append(value)

    def visit(el: Any, prefix: Steps, depth: int) -> None:
        attributes(el, prefix)
        groups: dict[str, list[Any]] = {}
        for child in el:
            if isinstance(child.tag, str):
                groups.setdefault(child.tag, []).append(child)
        for tag, kids in groups.items():
            path = prefix + (tag,)
            st = stats.setdefault(path, _Stat())
            st.present += 1
            if len(kids) > 1:
                st.kinds.add("repeated")
                st.rich = st.rich or any(_is_record(k) for k in kids)
                continue
            kid = kids[0]
            if any(isinstance(c.tag, str) for c in kid):
                st.kinds.add("complex" if depth < MAX_NESTING else "deep")
                if depth < MAX_NESTING:
                    visit(kid, path, depth + 1)
                continue
            st.kinds.add("leaf")
            if kid.text:
                st.values.append(kid.text)
            else:
                st.nulls += 1
            attributes(kid, path)

    for record in records:
        visit(record, (), 0)
    return stats


def _resolve(stats: dict[Steps, _Stat], path_of: Callable[[Steps], str], *, textual: bool) -> list[Field]:
    """Columns from the field statistics: containers become their children, mixed or deep things one aggregate."""
    children = {p[:-1] for p in stats if len(p) > 1}
    whole: dict[Steps, str] = {}  # path -> why it is kept whole
    for path, st in stats.items():
        if "array" in st.kinds or "repeated" in st.kinds:
            whole[path] = ("repeated elements: a JSON array of their " + ("XML texts" if st.rich else "values")) \
                if textual else "an array: kept whole as JSON text"
        elif "deep" in st.kinds:
            whole[path] = f"nested deeper than {MAX_NESTING} levels: kept whole as JSON text"
        elif ("object" in st.kinds or "complex" in st.kinds) and ("scalar" in st.kinds or "leaf" in st.kinds):
            whole[path] = "objects in some records, values in others: kept whole as text"
        elif ("object" in st.kinds or "complex" in st.kinds) and path not in children:
            whole[path] = "always an empty object: kept whole as text"
    fields: list[Field] = []
    names: set[str] = set()
    for path, st in stats.items():
        if any(path[:i] in whole for i in range(1, len(path))):
            continue  # inside something kept whole
        name = _unique(".".join(_name_part(p) for p in path), names)
        if path in whole:
            fields.append(Field(name, path_of(path), "string", aggregate=not textual or stats[path].rich,
                                note=whole[path]))
            continue
        if "object" in st.kinds or "complex" in st.kinds:
            continue  # a container: its fields are columns
        kind = infer_type(st.values, textual=textual)
        note = ""
        if not st.values:
            note = "null in every sampled record: typed string"
        elif kind == "string" and len({v.__class__ for v in st.values}) > 1:
            note = "values of several kinds: string"
        fields.append(Field(name, path_of(path), kind, note=note))
    return fields


def _name_part(step: str) -> str:
    part = re.sub(r"[^A-Za-z0-9_]+", "_", str(step).lstrip("@")).strip("_")
    return part or "field"


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate.lower())
    return candidate


# ------------------------------------------------------------------------------------------------ types

_INT_TEXT = re.compile(r"-?(?:0|[1-9]\d{0,17})\Z")
_DECIMAL_TEXT = re.compile(r"-?(?:0|[1-9]\d*)\.\d+\Z")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}|\Z)")  # a date alone is midnight


def infer_type(values: Iterable[Any], *, textual: bool) -> str:
    """The canonical type every value fits (`textual`: XML text), or string."""
    vals = list(values)
    if not vals:
        return "string"
    for kind in ("boolean", "integer", "number", "date", "datetime"):
        if all(_fits(v, kind, textual) for v in vals):
            return kind
    return "string"


def _fits(v: Any, kind: str, textual: bool) -> bool:
    cls = v.__class__
    if kind == "boolean":
        shaped = cls is bool or (textual and cls is str and v in ("true", "false"))
    elif kind == "integer":
        shaped = cls is int or (textual and cls is str and bool(_INT_TEXT.match(v)))
    elif kind == "number":
        shaped = cls in (int, float) or (textual and cls is str and bool(_INT_TEXT.match(v) or
                                                                         _DECIMAL_TEXT.match(v)))
    elif kind == "date":
        shaped = cls is str and bool(_DATE_TEXT.match(v))
    else:
        shaped = cls is str and bool(_DATETIME_TEXT.match(v))
    if not shaped:
        return False
    try:
        coerce_value(v, kind)
    except CoercionError:
        return False
    return True


# ------------------------------------------------------------------------------------------------- keys

_ID_NAMES = ("id", "uuid", "guid")
_CODE_NAMES = ("sku", "key")


def _mark_key(fields: list[Field], stats: dict[Steps, _Stat], records: int,
              collection_names: tuple[str, ...]) -> None:
    """`key="true"` on the best field that is unique in the sample, never null, and named like an id: `id`
    itself, then `<record>_id`/`<record>Id` (the record named after the collection), then `sku`/`key`."""
    singulars = {_singular(n) for n in collection_names if n}
    best: Optional[tuple[int, Field]] = None
    by_name = {f.name: f for f in fields}
    for path, st in stats.items():
        if len(path) != 1 or st.nulls or st.present != records or len(st.values) != records:
            continue
        if len({str(v) for v in st.values}) != records or any(v.__class__ not in (str, int) for v in st.values):
            continue
        name = _name_part(path[0])
        low = name.lower()
        if low in _ID_NAMES:
            rank = 0
        elif any(low in (f"{s}id", f"{s}_id") for s in singulars):
            rank = 1
        elif low in _CODE_NAMES:
            rank = 2
        else:
            continue
        f = by_name.get(name)
        if f is not None and (best is None or rank < best[0]):
            best = (rank, f)
    if best is not None:
        f = best[1]
        f.key = True
        f.note = "unique in the sample and named like an id"


def _singular(name: str) -> str:
    low = re.sub(r"[^a-z0-9]", "", str(name).lower())
    if low.endswith("ies"):
        return low[:-3] + "y"
    if low.endswith("s") and not low.endswith("ss"):
        return low[:-1]
    return low
