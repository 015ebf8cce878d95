"""Lenient XML: repair what real `.rsd` files get wrong, parse with lxml, and keep exact source positions.

Owns: turning the text of a profile into an lxml element tree plus the line and column of every element
(its `<`) and of every attribute (its name), measured in the ORIGINAL text. Must not: know keywords or
build AST nodes (that is `parse.py`), evaluate templates, or report repairs as problems.

Repairs (docs/reference/rsd-format.md §1, "Parser consequence"), each a span edit of the original text that never
adds or removes a line break, so line numbers survive; columns are mapped back through the edit list:

- a BOM is dropped; `\\r\\n` and lone `\\r` become `\\n` (XML end-of-line handling; lines do not move);
- the XML declaration is blanked (lxml refuses a `str` that declares an encoding);
- a raw `&` that does not start `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#NN;` `&#xHH;` is a literal `&`
  (outside CDATA sections and comments, where `&` is already literal);
- a Unicode space (no-break space...) between attributes of a start tag becomes a space;
- `--` inside a comment (which XML forbids) is blanked; comments are ignored anyway;
- a `<` that cannot start markup (followed by a space, `=` or a digit) is a literal `<`; any other raw `<`
  inside an attribute value becomes `&lt;` (only when lxml complains about one: a second try). XML forbids a
  `<` in an attribute value, so those are not silent: `lt_in_values` lists where they are (the reader
  reports RSD005);
- a doubled attribute such as `xmlns:other="xmlns:other="URI"` becomes `xmlns:other="URI"`;
- every prefix used but not declared on the root element (`api`, `rsb`, `arc`, `xs`, `other`, or any other)
  is declared on the root start tag (inserted after the tag name, on the same line).

Positions are found by scanning the repaired text for start tags in document order, which match the
elements lxml returns in document order one for one; each offset maps back to the original text.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Optional

from lxml import etree

API_NS = "http://apiscript.com/ns?v1"
RSB_NS = "http://www.rssbus.com/ns/rsbscript/2"
ARC_NS = "http://www.arcesb.com/ns/arcscript/2"
XS_NS = "http://www.w3.org/2001/XMLSchema"

# Namespace URIs given to prefixes a file uses without declaring them.
DEFAULT_BINDINGS = {
    "api": API_NS,
    "rsb": RSB_NS,
    "arc": ARC_NS,
    "xs": XS_NS,
    "other": API_NS,
}
UNDECLARED_NS = "urn:rsd:undeclared:"  # + prefix, for any other undeclared prefix

_BARE_AMP = re.compile(
    r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)|<(?=[\s=0-9])", re.S
)
_XML_DECL = re.compile(r"\A\s*<\?xml\b.*?\?>", re.S)
# `name="name="value"` (CData's own documentation sample has `xmlns:other="xmlns:other="..."`).
_DOUBLED_ATTR = re.compile(r"""(?<=\s)([A-Za-z_][\w.:-]*)="\1="([^"<>\n]*)\"""")
_NAME = r"[A-Za-z_][\w.-]*"
_USED_PREFIX = re.compile(rf"</?({_NAME}):[A-Za-z_]|\s({_NAME}):[A-Za-z_][\w.-]*\s*=")
_ROOT_TAG = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE(?:[^\[>]|\[.*?\])*>|<([^\s/>!?]+)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>",
    re.S,
)
# Unicode spaces that editors slip between attributes (XML only allows space, tab and line breaks there).
_ODD_SPACES = "\u00a0\u2007\u202f\u3000"
_IN_TAG = re.compile(f"\"[^\"]*\"|'[^']*'|[{_ODD_SPACES}]")
_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_DECLARED = re.compile(rf"\sxmlns:({_NAME})\s*=")

# The scanner over the repaired (well-formed) text: markup that is not a start tag is skipped.
_TOKEN = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<!DOCTYPE(?:[^\[>]|\[.*?\])*>|</[^>]*>"
    r"|<([^\s/>!?]+)((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*/?>",
    re.S,
)
_ATTR = re.compile(r"([^\s=/>]+)\s*=\s*(?:\"[^\"]*\"|'[^']*')")


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class TagPos:
    """Where one start tag is: its `<`, and each attribute name as written (xmlns declarations left out)."""

    tag: str
    pos: Pos
    attrs: tuple[tuple[str, Pos], ...]


@dataclass(frozen=True, slots=True)
class LenientResult:
    """What `parse_lenient` returns: the root element (None when the XML is broken beyond repair), the
    position of every element in document order, and the error when there is one."""

    text: str  # the normalised original text (no BOM, `\n` line ends)
    root: Optional[etree._Element]
    tags: tuple[TagPos, ...]
    error: Optional[str] = None
    error_pos: Optional[Pos] = None
    # raw `<` read as `&lt;` inside attribute values: XML forbids them, so the reader reports each (RSD005)
    lt_in_values: tuple[Pos, ...] = ()


class _Edits:
    """Span replacements of the original text, and the map from repaired offsets back to original ones."""

    def __init__(self, original: str):
        self.original = original
        self._edits: list[tuple[int, int, str]] = []

    def add(self, start: int, end: int, replacement: str) -> None:
        self._edits.append((start, end, replacement))

    def apply(self) -> str:
        self._edits.sort(key=lambda e: (e[0], e[1]))
        parts: list[str] = []
        rep_starts: list[int] = []
        rep_ends: list[int] = []
        orig_starts: list[int] = []
        orig_ends: list[int] = []
        cursor = 0
        out_len = 0
        for start, end, repl in self._edits:
            if start < cursor:  # overlapping edit: the first one wins
                continue
            chunk = self.original[cursor:start]
            parts.append(chunk)
            out_len += len(chunk)
            rep_starts.append(out_len)
            parts.append(repl)
            out_len += len(repl)
            rep_ends.append(out_len)
            orig_starts.append(start)
            orig_ends.append(end)
            cursor = end
        parts.append(self.original[cursor:])
        self._rep_starts, self._rep_ends = rep_starts, rep_ends
        self._orig_starts, self._orig_ends = orig_starts, orig_ends
        return "".join(parts)

    def to_original(self, offset: int) -> int:
        i = bisect_right(self._rep_starts, offset) - 1
        if i < 0:
            return offset
        if offset < self._rep_ends[i]:
            return self._orig_starts[i]
        return offset - self._rep_ends[i] + self._orig_ends[i]


class _Lines:
    def __init__(self, text: str):
        starts = [0]
        find = text.find
        i = find("\n")
        while i >= 0:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self.starts = starts

    def pos(self, offset: int) -> Pos:
        i = bisect_right(self.starts, offset) - 1
        return Pos(i + 1, offset - self.starts[i] + 1)

    def offset(self, line: int, column: int) -> int:
        line = min(max(line, 1), len(self.starts))
        return self.starts[line - 1] + max(column, 1) - 1


def normalise(text: str) -> str:
    """Drop a BOM and normalise line ends as an XML parser does (line numbers are unchanged)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _plan_repairs(text: str, edits: _Edits, lt_in_values: bool = False) -> None:
    decl = _XML_DECL.match(text)
    if decl:
        edits.add(decl.start(), decl.end(), re.sub(r"[^\n]", " ", decl.group(0)))
    for m in _DOUBLED_ATTR.finditer(text):
        edits.add(m.start(), m.end(), f'{m.group(1)}="{m.group(2)}"')
    for m in _BARE_AMP.finditer(text):
        token = m.group(0)
        if token == "&":
            edits.add(m.start(), m.end(), "&amp;")
        elif token == "<":
            edits.add(m.start(), m.end(), "&lt;")

    if "--" in text:
        for m in _COMMENT.finditer(text):
            body = m.group(1)
            if "--" in body or body.endswith("-"):
                fixed = body.replace("--", "- ").replace("--", "- ")
                if fixed.endswith("-"):
                    fixed = fixed[:-1] + " "
                edits.add(m.start(1), m.end(1), fixed)

    root = None
    odd_spaces = any(c in text for c in _ODD_SPACES)
    each_tag = odd_spaces or lt_in_values
    for m in _ROOT_TAG.finditer(text, decl.end() if decl else 0):
        if m.group(1):
            if root is None:
                root = m
                if not each_tag:
                    break
            for sp in _IN_TAG.finditer(m.group(2)):
                token = sp.group(0)
                at = m.start(2) + sp.start()
                if len(token) == 1:
                    if odd_spaces:
                        edits.add(at, at + 1, " ")
                elif lt_in_values and "<" in token:
                    for k, ch in enumerate(token):
                        if ch == "<":
                            edits.add(at + k, at + k + 1, "&lt;")
    if root is None:
        return
    declared = set(_DECLARED.findall(" " + root.group(2)))
    used: set[str] = set()
    for m in _USED_PREFIX.finditer(text):
        used.add(m.group(1) or m.group(2))
    missing = sorted(p for p in used if p not in declared and p.lower() not in ("xml", "xmlns"))
    if missing:
        decls = "".join(
            f' xmlns:{p}="{DEFAULT_BINDINGS.get(p.lower(), UNDECLARED_NS + p)}"' for p in missing
        )
        at = root.start(1) + len(root.group(1))
        edits.add(at, at, decls)


def _lt_in_values(text: str, lines: _Lines) -> tuple[Pos, ...]:
    """Where a raw `<` stands inside a quoted attribute value of a start tag (comments and CDATA skipped)."""
    found: list[Pos] = []
    for m in _ROOT_TAG.finditer(text):
        if not m.group(1) or "<" not in m.group(2):
            continue
        for q in _IN_TAG.finditer(m.group(2)):
            token = q.group(0)
            if len(token) > 1:
                base = m.start(2) + q.start()
                found.extend(lines.pos(base + k) for k, ch in enumerate(token) if ch == "<")
    return tuple(found)


def _scan_tags(repaired: str, edits: _Edits, lines: _Lines) -> tuple[TagPos, ...]:
    tags: list[TagPos] = []
    for m in _TOKEN.finditer(repaired):
        name = m.group(1)
        if name is None:
            continue
        pos = lines.pos(edits.to_original(m.start()))
        attrs = []
        body = m.group(2)
        if body:
            base = m.start(2)
            for a in _ATTR.finditer(body):
                aname = a.group(1)
                if aname == "xmlns" or aname.startswith("xmlns:"):
                    continue
                attrs.append((aname, lines.pos(edits.to_original(base + a.start(1)))))
        tags.append(TagPos(name, pos, tuple(attrs)))
    return tuple(tags)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        remove_comments=True,
        remove_pis=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
    )


def parse_lenient(text: str) -> LenientResult:
    """Repair and parse `text`; never raises for bad XML (the result carries the error instead)."""
    text = normalise(text)
    lines = _Lines(text)
    edits = _Edits(text)
    _plan_repairs(text, edits)
    repaired = edits.apply()
    try:
        try:
            root = etree.fromstring(repaired, _parser())
        except etree.XMLSyntaxError as exc:
            if "'<'" not in (exc.msg or ""):
                raise
            # A raw `<` in an attribute value (`exp="[n] < 5"`): escape those too and try once more.
            edits = _Edits(text)
            _plan_repairs(text, edits, lt_in_values=True)
            repaired = edits.apply()
            root = etree.fromstring(repaired, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (1, 1)
        rep_lines = _Lines(repaired)
        offset = edits.to_original(min(rep_lines.offset(line or 1, column or 1), len(repaired)))
        msg = exc.msg or str(exc)
        msg = re.sub(r", line \d+, column \d+$", "", msg)
        return LenientResult(text, None, (), msg, lines.pos(min(offset, len(text))))
    except ValueError as exc:  # e.g. characters lxml refuses in a str
        return LenientResult(text, None, (), str(exc), Pos(1, 1))
    # only a file where a `<` was repaired can have one in an attribute value (a quick test before the scan)
    lt = _lt_in_values(text, lines) if repaired.count("&lt;") > text.count("&lt;") else ()
    return LenientResult(text, root, _scan_tags(repaired, edits, lines), lt_in_values=lt)
