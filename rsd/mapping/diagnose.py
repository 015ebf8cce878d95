"""Explaining a path that matched nothing: where it stopped, what the document holds there, a did-you-mean.

Owns: walking a repeating path or a column path one step at a time over a sample page (`explain_repeat`,
`explain_column`) and saying where it first found nothing (`Miss`). The run uses it for the warnings of
"no silent wrong loads" (`rsd.engine.watch`). Must not: decide whether something is worth a warning (that is
the engine's), or run on every row: it is called once per suspicious page or column, never per value.

A step that finds nothing counts as a miss only where the document holds something else at that place (an
object with other keys, an element with other children): `{"records": []}` and `<inventory/>` are empty pages,
not wrong paths, and `{"a": null}` with a path `a/b` is a null value.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from lxml import etree

from ..errors import closest
from .documents import Document, JsonValue, Node
from .models import JsonRoute, Mapper, XmlRoute
from .paths import ANY, INDEX, KEY, JsonSteps, Step, element_steps, find_repeating_element, find_top_array, walk_json

#: names shown of what a document holds at a place (the rest are counted)
SHOWN_NAMES = 12


@dataclass(frozen=True)
class Miss:
    """Where a path first matched nothing on a sample page."""

    written: str  # the path as the profile writes it
    at: str  # where the walk stopped, as the subject of a sentence: "$.meta holds", "the records hold"
    missing: str  # the step that matched nothing
    near: tuple[str, ...]  # what the document holds there: keys, child element tags, @attributes
    suggestion: Optional[str] = None  # the written path with the closest name in place of the missing step
    alternative: Optional[str] = None  # a repeating path where this document does hold records

    def holds(self) -> str:
        """`id, name, email` (at most SHOWN_NAMES, then `and N more`)."""
        shown = ", ".join(self.near[:SHOWN_NAMES])
        more = len(self.near) - SHOWN_NAMES
        return shown + (f" and {more} more" if more > 0 else "")

    def describe(self) -> str:
        """One sentence: `$.recods matched nothing: the document holds records, done; did you mean $.records?`"""
        text = f"{self.written} matched nothing: {self.at} {self.holds()}"
        if self.suggestion:
            text += f"; did you mean {self.suggestion}?"
        elif self.alternative:
            text += f"; the records of this document are at {self.alternative}"
        return text


def explain_repeat(mapper: Mapper, doc: Document) -> Optional[Miss]:
    """Why a page mapped no rows, when the repeating path (not an empty array) is the reason; else None."""
    route = mapper.repeat_route(doc)
    if route is None or route.steps is None:
        return None
    miss = _walk(route, elements_only=True)
    if miss is None:
        return None
    step, near = miss
    root = route.nodes[0]
    if route.family == "json":
        if step == 0 and root.__class__ is list:
            at = f"the document is an array of {len(root)} values holding"
        else:
            at = f"{_json_place(route.steps[:step])} holds" if step else "the document holds"
    elif route.from_root and step == 0:
        at = "the document's root element is"
    else:
        at = f"{_xml_place(route, step)} holds"
    name = _step_name(route.steps[step])
    return Miss(route.written, at, name, near, _suggest(route.written, name, near), _alternative(route))


def explain_column(mapper: Mapper, doc: Document, index: int) -> Optional[Miss]:
    """Why column `index` found nothing on this page, when its path (not a null value) is the reason; else None."""
    route = mapper.column_route(doc, index)
    if not route.nodes:
        return None
    if route.alt_key is not None and any(n.__class__ is dict and route.alt_key in n for n in route.nodes):
        return None  # a dotted name read as one literal key
    if route.steps is None:  # a general path (a filter, `//`): say what the rows hold, no step to blame
        near = _names(route.nodes, elements_only=False, family=route.family)
        return Miss(route.written, _column_place(route, 0), route.written, near) if near else None
    miss = _walk(route, elements_only=False)
    if miss is None:
        return None
    step, near = miss
    name = _step_name(route.steps[step])
    return Miss(route.written, _column_place(route, step), name, near, _suggest(route.written, name, near))


# ------------------------------------------------------------------------------------------------- walking

def _walk(route: JsonRoute | XmlRoute, *, elements_only: bool) -> Optional[tuple[int, tuple[str, ...]]]:
    """The first step that matched nothing where the document holds other things: (step, names there)."""
    nodes = route.nodes
    start = 0
    if route.family == "xml" and route.from_root and route.steps:
        root = nodes[0]
        base = _xml_base(route.steps[0])
        if base not in ("*", root.tag):
            return 0, (root.tag,)
        start = 1
    for i in range(start, len(route.steps or ())):
        found = _replay(route, nodes, i)
        if found is None:
            return None  # a step we cannot replay one at a time: nothing to say
        if not found:
            near = _names(nodes, elements_only=elements_only, family=route.family)
            return (i, near) if near else None
        nodes = found
    return None


def _replay(route: JsonRoute | XmlRoute, nodes: list[Node], i: int) -> Optional[list[Node]]:
    """What step `i` of the route finds below `nodes`; None when it cannot be replayed one step at a time."""
    if route.family == "json":
        return _json_step(nodes, (route.steps or ())[i])
    return _xml_step(nodes, (route.steps or ())[i])


def _json_step(nodes: list[JsonValue], step: Step) -> list[JsonValue]:
    out: list[JsonValue] = []
    for n in nodes:
        out.extend(walk_json(n, (step,))[0])
    return out


def _xml_step(nodes: list[Node], step: str) -> Optional[list[Node]]:
    try:
        xp = etree.XPath(step)
    except etree.XPathSyntaxError:
        return None
    out: list[Node] = []
    for n in nodes:
        if not isinstance(n, etree._Element):
            continue
        try:
            found = xp(n)
        except etree.XPathEvalError:
            return None
        out.extend(found if isinstance(found, list) else [found])
    return out


def _names(nodes: Sequence[Node], *, elements_only: bool, family: str) -> tuple[str, ...]:
    """What the document holds at `nodes`: object keys (of objects inside arrays too), or child element tags
    and, unless `elements_only`, `@attributes`; in order of first appearance."""
    seen: dict[str, None] = {}
    if family == "json":
        for n in nodes:
            for obj in (n if n.__class__ is list else (n,)):
                if obj.__class__ is dict:
                    seen.update(dict.fromkeys(obj))
        return tuple(seen)
    for n in nodes:
        if not isinstance(n, etree._Element):
            continue
        seen.update(dict.fromkeys(c.tag for c in n if isinstance(c.tag, str)))
        if not elements_only:
            seen.update(dict.fromkeys("@" + a for a in n.attrib))
    return tuple(seen)


# ---------------------------------------------------------------------------------------------- messages

def _step_name(step: Step | str) -> str:
    if isinstance(step, tuple):
        return str(step[1]) if step[0] == KEY else "*" if step[0] == ANY else f"[{step[1]}]"
    return str(step)


def _xml_base(step: str) -> str:
    i = step.find("[")
    return (step if i < 0 else step[:i]).strip()


def _json_place(steps: JsonSteps) -> str:
    out = "$"
    for step in steps:
        if step[0] == KEY:
            arg = step[1]
            out += f".{arg}" if str(arg).replace("_", "a").isalnum() else f"['{arg}']"
        elif step[0] == INDEX:
            out += f"[{step[1]}]"
        else:
            out += "[*]"
    return out


def _xml_place(route: XmlRoute, step: int) -> str:
    steps = route.steps or ()
    if route.from_root:
        return "/" + "/".join(steps[:step]) if step else "the document's root"
    return "/" + "/".join((route.nodes[0].tag, *steps[:step]))


def _column_place(route: JsonRoute | XmlRoute, step: int) -> str:
    if not (route.steps or ())[:step]:
        return "the document holds" if route.at_root else "the records hold"
    if isinstance(route, JsonRoute):
        place = _json_place((route.steps or ())[:step])  # `$.a.b`; inside a record `a.b`
        inner = place[1:].lstrip(".")
    else:
        place, inner = _xml_place(route, step), "/".join((route.steps or ())[:step])
    return f"{place} holds" if route.at_root else f"the records' {inner} holds"


def _suggest(written: str, missing: str, near: Sequence[str]) -> Optional[str]:
    """The written path with `missing` replaced by the closest name the document holds there."""
    candidates = [n for n in near if n != missing]
    best = closest(missing.lstrip("@"), [n.lstrip("@") for n in candidates])
    if best is None:
        return None
    replacement = next(n for n in candidates if n.lstrip("@") == best)
    at = written.rfind(missing)
    if at < 0:
        return replacement
    return written[:at] + replacement + written[at + len(missing):]


def _alternative(route: JsonRoute | XmlRoute) -> Optional[str]:
    """Where this document does hold records (the shallowest array of objects, or repeated XML elements)."""
    root = route.nodes[0]
    if route.family == "json":
        steps, elements = find_top_array(root)
        if not elements or not any(e.__class__ is dict for e in elements) or (not steps and root.__class__ is dict):
            return None
        return _json_place(steps)
    found = find_repeating_element(root)
    if len(found) < 2:
        return None
    return "/" + "/".join(element_steps(found[0]))
