"""Paths into response documents, compiled once: JSONPath, XPath-style JSON paths and real XPath for XML.

Owns: parsing the path forms of docs/reference/rsd-format.md §8.1/§10 (`$.records`, `$.data[*]`, `$.`,
`/json/records/id`, `/records`, `content/properties/ID`, `value[0]`, `*` steps; XPath for XML), compiling them into
closures (`JsonPath.getter`, `XmlPath.getter`, ...), `compile_value_path` and `validate_path`. Must not: know about
columns, data models or HTTP.

The JSON model follows CData's "JSON as XML" view: the document root is the virtual element `/json`, an
object's keys are child steps and arrays are transparent (a key step applied to an array applies to each of
its elements). A path that fans out through an array or a `*` step is multi-valued: its value is the JSON
array text of everything it matched (None when it matched nothing). Simple key paths — the common case —
compile into plain dict look-ups; jsonpath-ng is used, compiled once, only for filters, slices, unions
and recursive descent.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Final, Literal, Optional, Sequence, TypeAlias

import orjson
from lxml import etree

from ..errors import RunError
from .documents import Document, JsonValue, Node

if TYPE_CHECKING:
    from jsonpath_ng import JSONPath as GeneralPath  # imported lazily at run time: only general paths need it

KEY: Final = "key"
INDEX: Final = "index"
ANY: Final = "any"
#: one step of a simple JSON path: (KEY, name) | (INDEX, n) | (ANY, None); `step[0] == KEY` narrows it
Step: TypeAlias = tuple[Literal["key"], str] | tuple[Literal["index"], int] | tuple[Literal["any"], None]
#: the steps of a simple JSON path; an XML path's steps are `XmlSteps`, its step texts (`Item[@a='b']`)
JsonSteps: TypeAlias = tuple[Step, ...]
XmlSteps: TypeAlias = tuple[str, ...]
#: a closure reading one raw value (a JSON scalar, JSON or XML text, an XPath number) below a node
Getter: TypeAlias = Callable[[Node], JsonValue]
#: a closure listing the repeating elements below a node
ElementsGetter: TypeAlias = Callable[[Node], list[Node]]

_json_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode
_DIFFERS = re.compile(rb"[0-9]e-|\.0000")


def orjson_differs(text: bytes) -> bool:
    """Whether orjson's text may hold a number json writes otherwise: below 1e-4, orjson writes `1e-7` or
    `0.00001` where Python writes `1e-07` and `1e-05` (a string that merely looks like one counts too)."""
    return (b"e-" in text or b".0000" in text) and _DIFFERS.search(text) is not None


def _dumps(value: JsonValue) -> str:
    """Compact JSON text of an object or array (key order kept, non-ASCII kept), as `json` writes it; orjson
    writes it when its bytes are the same (NaN/Infinity, which no JSON document holds, become null)."""
    try:
        out = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits, lone surrogates
        return _json_dumps(value)
    if (b"e-" in out or b".0000" in out) and _DIFFERS.search(out) is not None:  # orjson_differs, inline
        return _json_dumps(value)
    return out.decode("utf-8")


class PathError(ValueError):
    """A path that cannot be compiled; the message says why (the caller adds where it was written).
    `offset` is the 0-based position in the path where it goes wrong, when that is known."""

    def __init__(self, message: str, offset: Optional[int] = None):
        super().__init__(message)
        self.offset = offset


_CLOSERS = {")": "(", "]": "["}


def check_balanced(text: str) -> None:
    """Raise `PathError` at the first bracket or parenthesis that is not closed, or closes nothing (`$.results)`);
    quoted names and strings (`['a)']`, `[?(@.b == ')')]`) are skipped."""
    opened: list[tuple[str, int]] = []
    quote = None
    what = f"invalid {'JSONPath' if text.startswith('$') else 'path'} {text!r}"
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "([":
            opened.append((c, i))
        elif c in ")]":
            if not opened or opened[-1][0] != _CLOSERS[c]:
                raise PathError(f"{what}: {c!r} at offset {i} closes nothing", offset=i)
            opened.pop()
    if opened:
        c, i = opened[-1]
        raise PathError(f"{what}: {c!r} at offset {i} is never closed", offset=i)


def aggregate_text(value: JsonValue) -> JsonValue:
    """JSON objects and arrays become compact JSON text (key order kept, non-ASCII kept); scalars pass."""
    cls = value.__class__
    if cls is dict or cls is list:
        return _dumps(value)
    return value


def split_paths(paths: str | Sequence[str | None] | None) -> list[str]:
    """`"$.a;$.a.b"` or `["$.a", "$.a.b"]` -> `["$.a", "$.a.b"]` (blank entries dropped)."""
    if paths is None:
        return []
    if isinstance(paths, str):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        if p is None:
            continue
        out.extend(s.strip() for s in str(p).split(";") if s.strip())
    return out


# --------------------------------------------------------------------------------------------------- JSON

@dataclass(frozen=True)
class JsonPath:
    """A parsed JSON path. `steps` is None for a general path (jsonpath-ng `general`, always evaluated from
    the document root); `prefix` is then its leading simple steps (used to rebase column paths)."""

    text: str
    absolute: bool
    steps: JsonSteps | None
    general: GeneralPath | None = None
    prefix: JsonSteps = ()

    @property
    def is_simple(self) -> bool:
        return self.steps is not None

    @property
    def anchor(self) -> JsonSteps:
        """The simple steps every match lies under (all the steps for a simple path)."""
        return self.steps if self.steps is not None else self.prefix


_INT = re.compile(r"-?\d+\Z")


def _jsonpath_general(text: str) -> GeneralPath:
    from jsonpath_ng.ext.parser import parse as jp_parse  # imported lazily: only general paths need it
    try:
        return jp_parse(text)
    except Exception as err:  # jsonpath-ng raises its own and ply's exception types
        raise PathError(f"invalid JSONPath {text!r}: {err}") from None


def _quote_key(name: str) -> str:
    return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def _steps_to_jsonpath(steps: JsonSteps) -> str:
    out = "$"
    for step in steps:
        out += _quote_key(step[1]) if step[0] == KEY else f"[{step[1]}]" if step[0] == INDEX else "[*]"
    return out


def _parse_dollar(text: str) -> JsonPath:
    """`$`, `$.`, `$.a.b[0]`, `$['a b'][*]`; anything beyond that (filters, `..`, slices) is general."""
    steps: list[Step] = []
    i, n = 1, len(text)
    while i < n:
        c = text[i]
        if text.startswith("..", i):
            return JsonPath(text, True, None, _jsonpath_general(text), tuple(steps))
        if c == ".":
            i += 1
            if i >= n:
                break  # `$.` and `$.a.` mean the same as `$` and `$.a`
            if text[i] == "*":
                steps.append((ANY, None))
                i += 1
                continue
            j = i
            while j < n and text[j] not in ".[":
                j += 1
            name = text[i:j].strip()
            if not name:
                raise PathError(f"invalid JSONPath {text!r}: empty name at offset {i}")
            steps.append((KEY, name))
            i = j
        elif c == "[":
            if i + 1 < n and text[i + 1] in "'\"":
                quote = text[i + 1]
                end = text.find(quote + "]", i + 2)
                if end < 0:
                    raise PathError(f"invalid JSONPath {text!r}: unterminated [{quote}...{quote}] at offset {i}")
                steps.append((KEY, text[i + 2:end]))
                i = end + 2
                continue
            end = text.find("]", i)
            if end < 0:
                raise PathError(f"invalid JSONPath {text!r}: missing ']' after offset {i}")
            inner = text[i + 1:end].strip()
            if inner == "*":
                pass  # arrays are transparent: `$.data[*]` is `$.data`
            elif _INT.match(inner):
                steps.append((INDEX, int(inner)))
            else:
                return JsonPath(text, True, None, _jsonpath_general(text), tuple(steps))
            i = end + 1
        elif c.isspace():
            i += 1
        else:
            raise PathError(f"invalid JSONPath {text!r}: unexpected {c!r} at offset {i}")
    return JsonPath(text, True, tuple(steps))


_SLASH_STEP = re.compile(r"^(?P<name>[^\[\]]+?)\s*(?:\[\s*(?P<pred>[^\]]*)\s*\])?$")


def _parse_slash(text: str, absolute: bool) -> JsonPath:
    """`/json/a/b`, `/a/*/b`, `value[0]`, `content/properties/ID`; `//` becomes recursive descent."""
    body = text.strip()
    if "//" in body:
        return _descent_path(text, absolute)
    if absolute:
        body = body[1:]
    steps: list[Step] = []
    segments = [s for s in body.split("/") if s.strip() != ""] if body else []
    for pos, seg in enumerate(segments):
        seg = seg.strip()
        if absolute and pos == 0 and seg == "json":
            continue  # the virtual root element
        if seg == ".":
            continue
        if seg == "..":
            raise PathError(f"unsupported path {text!r}: '..' (parent) steps are not supported in JSON paths")
        if seg.startswith("@"):
            raise PathError(f"unsupported path {text!r}: attributes ({seg}) exist only in XML documents")
        if seg.endswith("()"):
            raise PathError(f"unsupported path {text!r}: XPath functions ({seg}) are not supported in JSON paths")
        m = _SLASH_STEP.match(seg)
        if not m:
            raise PathError(f"invalid path {text!r}: cannot read step {seg!r}")
        name, pred = m.group("name").strip(), m.group("pred")
        steps.append((ANY, None) if name == "*" else (KEY, name))
        if pred is not None:
            pred = pred.strip()
            if pred == "*":
                pass
            elif _INT.match(pred):
                steps.append((INDEX, int(pred)))
            else:
                raise PathError(f"unsupported path {text!r}: only zero-based indexes like [0] are supported in "
                                f"JSON paths, not [{pred}]; use a JSONPath filter such as $.a[?(@.b == 1)]")
    return JsonPath(text, absolute, tuple(steps))


def _descent_path(text: str, absolute: bool) -> JsonPath:
    """A slash path with `//` (any depth): translated to JSONPath recursive descent for jsonpath-ng."""
    segments = text.strip().split("/")
    if absolute:
        segments = segments[1:]
    if not segments[-1].strip():
        raise PathError(f"invalid path {text!r}: it ends with '/'")
    head: list[Step] = []
    jp, descend, before_descent = "$", False, True
    for pos, seg in enumerate(segments):
        seg = seg.strip()
        if not seg:
            descend, before_descent = True, False
            continue
        if absolute and pos == 0 and seg == "json":
            continue
        steps = _parse_slash(seg, False).steps or ()
        if before_descent:
            head.extend(steps)
        jp += (".." if descend else "") + _steps_to_jsonpath(steps)[1:]
        descend = False
    return JsonPath(text, absolute, None, _jsonpath_general(jp), tuple(head) if absolute else ())


def parse_json_path(text: str) -> JsonPath:
    """Parse one JSON path in any of the written forms. Relative paths (no `$`, no leading `/`) are
    relative to the repeating element."""
    t = (text or "").strip()
    if not t:
        raise PathError("empty path")
    check_balanced(t)
    if t[0] == "$":
        return _parse_dollar(t)
    if t[0] == "/":
        return _parse_slash(t, True)
    return _parse_slash(t, False)


def _collect_key(items: list[JsonValue], key: str, out: list[JsonValue]) -> None:
    for item in items:
        cls = item.__class__
        if cls is dict:
            if key in item:
                out.append(item[key])
        elif cls is list:
            _collect_key(item, key, out)


def walk_json(node: JsonValue, steps: JsonSteps) -> tuple[list[JsonValue], bool]:
    """All nodes `steps` reach from `node`, and whether the walk fanned out (multi-valued)."""
    nodes = [node]
    multi = False
    for step in steps:
        out: list[JsonValue] = []
        if step[0] == KEY:
            arg = step[1]
            for n in nodes:
                cls = n.__class__
                if cls is dict:
                    if arg in n:
                        out.append(n[arg])
                elif cls is list:
                    multi = True
                    _collect_key(n, arg, out)
        elif step[0] == INDEX:
            index = step[1]
            for n in nodes:
                cls = n.__class__
                if cls is list:
                    if -len(n) <= index < len(n):
                        out.append(n[index])
                elif cls is dict and index == 0:
                    out.append(n)  # a single object is element [0] of its name
        else:  # ANY
            for n in nodes:
                cls = n.__class__
                if cls is dict:
                    multi = True
                    out.extend(n.values())
                elif cls is list:
                    multi = True
                    out.extend(n)
        nodes = out
        if not nodes:
            break
    return nodes, multi


def _nodes_value(nodes: list[JsonValue], multi: bool) -> JsonValue:
    if not nodes:
        return None
    if multi:
        return _dumps(nodes)
    return aggregate_text(nodes[0])


def json_elements(nodes: list[JsonValue]) -> list[JsonValue]:
    """Repeat elements from the nodes a repeat path reached: arrays contribute their items, nulls nothing."""
    out: list[JsonValue] = []
    for n in nodes:
        cls = n.__class__
        if cls is list:
            out.extend(n)
        elif n is not None:
            out.append(n)
    return out


def json_slow_getter(steps: JsonSteps) -> Getter:
    def get(node: JsonValue) -> JsonValue:
        nodes, multi = walk_json(node, steps)
        return _nodes_value(nodes, multi)
    return get


def json_getter(steps: JsonSteps) -> Getter:
    """A closure returning the raw value at `steps` below a node. Paths of keys only take a fast path of
    dict look-ups and fall back to the general walk when they meet an array (fan-out) or a non-object."""
    slow = json_slow_getter(steps)
    if not steps:
        return aggregate_text
    keys = tuple([step[1] for step in steps if step[0] == KEY])
    if len(keys) < len(steps):
        return slow
    if len(keys) == 1:
        (k,) = keys

        def get1(node: JsonValue) -> JsonValue:
            try:
                v = node.get(k)
            except AttributeError:
                return slow(node)
            cls = v.__class__
            if cls is dict or cls is list:
                return _dumps(v)
            return v
        return get1
    if len(keys) == 2:
        k1, k2 = keys

        def get2(node: JsonValue) -> JsonValue:
            try:
                v = node.get(k1)
            except AttributeError:
                return slow(node)
            if v.__class__ is dict:
                v = v.get(k2)
            elif v is None:
                return None
            else:
                return slow(node)
            cls = v.__class__
            if cls is dict or cls is list:
                return _dumps(v)
            return v
        return get2

    def getn(node: JsonValue) -> JsonValue:
        v = node
        for k in keys:
            if v.__class__ is dict:
                v = v.get(k)
            elif v is None:
                return None
            else:
                return slow(node)
        cls = v.__class__
        if cls is dict or cls is list:
            return _dumps(v)
        return v
    return getn


def json_general_getter(path: JsonPath) -> Getter:
    expr = path.general
    assert expr is not None, "a simple path has its own getters"

    def get(node: JsonValue) -> JsonValue:
        values = [m.value for m in expr.find(node)]
        return _nodes_value(values, len(values) > 1)
    return get


def json_elements_getter(path: JsonPath) -> ElementsGetter:
    """A closure returning the repeat elements `path` selects below a node (from the root for general)."""
    if path.general is not None:
        expr = path.general
        return lambda node: json_elements([m.value for m in expr.find(node)])
    steps = path.steps
    if not steps:
        return lambda node: json_elements([node])
    return lambda node: json_elements(walk_json(node, steps)[0])


def find_top_array(root: JsonValue) -> tuple[JsonSteps, list[JsonValue]]:
    """DOCUMENT without a path (docs/reference/rsd-format.md §10): the shallowest array of objects, breadth first, keys
    in document order. Returns its steps and elements; a document without one is a single row (root)."""
    level: list[tuple[JsonSteps, JsonValue]] = [((), root)]
    while level:
        nxt: list[tuple[JsonSteps, JsonValue]] = []
        for steps, node in level:
            if node.__class__ is list:
                if any(item.__class__ is dict for item in node):
                    return steps, [item for item in node if item is not None]
                continue  # arrays of scalars are values, not rows
            if node.__class__ is dict:
                for key, value in node.items():
                    if value.__class__ in (dict, list):
                        nxt.append((steps + ((KEY, key),), value))
        level = nxt
    return (), json_elements([root])


# ---------------------------------------------------------------------------------------------------- XML

_XML_SIMPLE_STEP = re.compile(r"^(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*|\*)$")


def split_xpath(text: str) -> XmlSteps | None:
    """Top-level `/` steps of an absolute or relative location path, or None when it is not a plain chain
    of child steps (`//`, axes, `..`, unions, functions). Predicates stay inside their step."""
    steps: list[str] = []
    depth, quote, start = 0, "", 0
    t = text.strip()
    if t.startswith("/"):
        t = t[1:]
    if not t:
        return ()
    for i, c in enumerate(t):
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "/" and depth == 0:
            steps.append(t[start:i])
            start = i + 1
        elif c == "|" and depth == 0:
            return None
    steps.append(t[start:])
    out: list[str] = []
    for s in steps:
        s = s.strip()
        if not s or "::" in s or s in (".", "..") or s.endswith(")") and "[" not in s:
            return None
        m = _XML_SIMPLE_STEP.match(s)
        out.append(m.group(1) if m else s)  # drop a namespace prefix: namespaces are stripped at parse
    return tuple(out)


def compile_xpath(text: str) -> etree.XPath:
    check_balanced(text)
    try:
        return etree.XPath(text)
    except etree.XPathSyntaxError as err:
        raise PathError(f"invalid XPath {text!r}: {err}") from None


def _has_child_element(node: etree._Element) -> bool:
    return any(isinstance(child.tag, str) for child in node)  # not entity references or comments


def xml_node_value(node: Node, aggregate: bool = False) -> JsonValue:
    """Element text (an empty element is None), or the element's XML text when it has child elements or
    `aggregate` is set; attribute and text() results as plain str; numbers and booleans of XPath functions."""
    if isinstance(node, etree._Element):
        if aggregate or (len(node) and _has_child_element(node)):
            return etree.tostring(node, encoding="unicode", with_tail=False)
        return node.text or None
    if isinstance(node, str):
        return str(node) or None
    return node


def _xml_nodes_value(nodes: Node, aggregate: bool) -> JsonValue:
    if not isinstance(nodes, list):
        return xml_node_value(nodes, aggregate)  # a string, number or boolean XPath result
    if not nodes:
        return None
    if len(nodes) == 1:
        return xml_node_value(nodes[0], aggregate)
    return _dumps([xml_node_value(n, aggregate) for n in nodes])


def _xpath_eval(xp: etree.XPath, node: etree._Element, text: str) -> Node:
    try:
        return xp(node)
    except etree.XPathEvalError as err:
        raise RunError(f"cannot evaluate XPath {text!r}: {err}") from None


def xml_getter(rel: XmlSteps | str, aggregate: bool = False) -> Getter:
    """A closure returning the value of a relative path below an element. A single child name reads the
    element's children directly; anything longer is an XPath compiled once (faster than `findall`)."""
    if isinstance(rel, tuple):
        if not rel:
            return lambda el: xml_node_value(el, aggregate)
        if len(rel) == 1 and rel[0] != "*" and _XML_SIMPLE_STEP.match(rel[0]):
            tag = rel[0]

            def child(el: etree._Element) -> JsonValue:
                found = list(el.iterchildren(tag))
                if not found:
                    return None
                if len(found) == 1:
                    return xml_node_value(found[0], aggregate)
                return _dumps([xml_node_value(n, aggregate) for n in found])
            return child
        rel = "/".join(rel)
    xp = compile_xpath(rel)
    return lambda el: _xml_nodes_value(_xpath_eval(xp, el, rel), aggregate)


def xml_elements_getter(text_or_steps: XmlSteps | str) -> ElementsGetter:
    """Repeat elements of an XPath below a node (absolute XPath evaluates from the document)."""
    if isinstance(text_or_steps, tuple):
        if not text_or_steps:
            return lambda el: [el]
        text = "/".join(text_or_steps)
    else:
        text = text_or_steps
    xp = compile_xpath(text)

    def get(el: etree._Element) -> list[Node]:
        found = _xpath_eval(xp, el, text)
        return [n for n in found if isinstance(n, etree._Element)] if isinstance(found, list) else []
    return get


def xml_absolute_elements_getter(text: str) -> ElementsGetter:
    """Repeat elements of an absolute XPath; `/` is the root element (the whole document is one row)."""
    t = text.strip()
    if t in ("/", ""):
        return lambda root: [root]
    xp = compile_xpath(t)

    def get(root: etree._Element) -> list[Node]:
        found = _xpath_eval(xp, root, t)
        return [n for n in found if isinstance(n, etree._Element)] if isinstance(found, list) else []
    return get


def element_steps(el: etree._Element | None) -> XmlSteps:
    """The absolute child steps from the document root to `el` (its tags), e.g. ("feed", "entry")."""
    tags = []
    while el is not None:
        tags.append(el.tag)
        el = el.getparent()
    return tuple(reversed(tags))


def find_repeating_element(root: etree._Element) -> list[etree._Element]:
    """DOCUMENT without a path, XML: the shallowest element with a repeated child tag, breadth first;
    its children of that (most frequent) tag are the rows. Otherwise the root element is one row."""
    level = [root]
    while level:
        nxt: list[etree._Element] = []
        for el in level:
            counts: dict[str, int] = {}
            for child in el:
                counts[child.tag] = counts.get(child.tag, 0) + 1
            if counts:
                tag, count = max(counts.items(), key=lambda kv: kv[1])
                if count > 1:
                    return [c for c in el if c.tag == tag]
            nxt.extend(el)
        level = nxt
    return [root]


def json_path_to_xpath(path: JsonPath) -> str:
    """`$.a.b[0]` written for an XML document -> `/a/b[1]` (XPath counts from 1)."""
    if path.steps is None:
        raise PathError(f"JSONPath {path.text!r} cannot be used on an XML document; write an XPath")
    out = ""
    for step in path.steps:
        if step[0] == KEY:
            out += "/" + step[1]
        elif step[0] == ANY:
            out += "/*"
        else:
            out += f"[{step[1] + 1}]"
    return out or "/"


# ------------------------------------------------------------------------------------------ value paths

def compile_value_path(path: str, kind: str = "json") -> Callable[[Document | Node], JsonValue]:
    """One value from a document: paging paths (`$.meta.next`, `/json/next_token`), `ElementMapPath#N`
    (`/Authentication/AccessToken`). Returns None when absent; a path selecting many values returns the
    first; objects and arrays come back as JSON text, XML elements with children as XML text.

    Accepts a `Document` or a bare root (a JSON value or an lxml element). `kind` says how to read the
    path; a document of the other family is handled too (the path is compiled for it on first use)."""
    text = (path or "").strip()
    if not text:
        raise PathError("empty path")
    compiled: dict[str, Getter] = {}

    def for_family(family: str) -> Getter:
        fn = compiled.get(family)
        if fn is None:
            fn = compiled[family] = _compile_value(text, family)
        return fn

    default_family = "xml" if kind == "xml" else "json"
    for_family(default_family)  # compile now so that a bad path fails at compile time

    def value(doc: Document | Node) -> JsonValue:
        kind_of_doc = getattr(doc, "kind", None)
        if kind_of_doc is None:
            root = doc
            family = "xml" if isinstance(doc, etree._Element) else "json"
        else:
            root = doc.root
            family = "xml" if kind_of_doc == "xml" else "json"
        return for_family(family)(root)
    return value


def _compile_value(text: str, family: str) -> Getter:
    if family == "xml":
        t = text
        if t.startswith("$"):
            t = json_path_to_xpath(parse_json_path(t))
        if t.strip() == "/":
            return lambda root: xml_node_value(root)
        xp = compile_xpath(t)  # a relative path is read from the root element, like a JSON key of the root

        def get_xml(root: etree._Element) -> JsonValue:
            found = _xpath_eval(xp, root, t)
            if isinstance(found, list):
                return xml_node_value(found[0]) if found else None
            return xml_node_value(found)
        return get_xml
    p = parse_json_path(text)
    if p.general is not None:
        expr = p.general

        def get_general(root: JsonValue) -> JsonValue:
            for m in expr.find(root):
                return aggregate_text(m.value)
            return None
        return get_general
    steps = p.steps or ()

    def get_json(root: JsonValue) -> JsonValue:
        nodes, _ = walk_json(root, steps)
        return aggregate_text(nodes[0]) if nodes else None
    return get_json


def validate_path(path: str, kind: str = "json") -> Optional[str]:
    """An error message for a path that cannot be compiled (JSONPath via jsonpath-ng, XPath via lxml), or
    None when it is fine. `;`-separated lists are checked entry by entry. Pass the path after template
    evaluation: `[_input.x]` in a path is a template, not a JSONPath predicate."""
    err = path_problem(path, kind)
    return None if err is None else str(err)


def path_problem(path: str, kind: str = "json") -> Optional[PathError]:
    """The `PathError` of the first entry of `path` that cannot be compiled (its `offset` is within that entry,
    when known), or None."""
    entries = split_paths(path)
    if not entries:
        return PathError("empty path")
    for entry in entries:
        try:
            if kind == "xml":
                if entry.startswith("$"):
                    json_path_to_xpath(parse_json_path(entry))
                elif entry != "/":
                    compile_xpath(entry)
            else:
                parse_json_path(entry)
        except PathError as err:
            return err
    return None
