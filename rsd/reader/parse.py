"""lxml tree → immutable AST (`rsd.reader.ast`), and the reader's diagnostic codes.

Owns: recognising keywords (by prefix `api:`/`rsb:`/`arc:` or a known namespace URI, then by local name,
case-insensitively), building `Profile`/`Info`/`Column`/`Input`/`Output`/`Method` and statement nodes with
their `Loc`s, and the diagnostics only the reader can give. Must not: evaluate templates, judge whether
a profile makes sense (that is `rsd.check`), or raise for a bad file: a broken file is a `Profile` with
diagnostics.

Diagnostic codes (stable; `rsd.check` reuses them, docs/diagnostics.md describes them):

- `RSD001` error — the XML is broken beyond the lenient repairs; the message carries lxml's reason and the
  location is where lxml stopped. The profile has no info and no statements.
- `RSD002` error — unknown keyword (`api:sett`); the statement becomes an `Unknown` node; the hint suggests
  the closest keyword (`did you mean 'api:set'?`).
- `RSD003` error — no `api:script` (or `rsb:`/`arc:`) root element.
- `RSD004` error — `api:info` somewhere else than directly under the root script, or more than once.
- `RSD005` error — a raw `<` inside an attribute value (XML forbids it; read as `&lt;` so the rest is checked).
- `RSD006` error — statements nested deeper than `MAX_NESTING`: the deeper ones are not read, so that no later
  stage (check, compile, plan, run) recurses without bound.
- `RSD011` error — the file or archive cannot be read (missing, unreadable, not a ZIP, bad encoding).
"""
from __future__ import annotations

import dataclasses
import difflib
import re
from types import MappingProxyType
from typing import Mapping, Optional

from lxml import etree

from ..errors import Diagnostic, Loc
from ..truth import is_true
from .ast import (
    EMPTY,
    KEYWORDS,
    Column,
    Info,
    Input,
    Method,
    Node,
    Output,
    Param,
    Profile,
    Unknown,
)
from .lenient import API_NS, ARC_NS, RSB_NS, Pos, TagPos, parse_lenient

RSD001 = "RSD001"  # XML broken beyond repair
RSD002 = "RSD002"  # unknown keyword
RSD003 = "RSD003"  # no api:script root
RSD004 = "RSD004"  # misplaced or duplicate api:info
RSD005 = "RSD005"  # raw `<` in an attribute value
RSD006 = "RSD006"  # statements nested too deep
RSD011 = "RSD011"  # file or archive cannot be read

#: how deep statements may nest (the public profiles nest 6 deep at most); deeper ones are not read (RSD006)
MAX_NESTING = 100

READER_CODES: Mapping[str, str] = MappingProxyType({
    RSD001: "XML is broken beyond the lenient repairs",
    RSD002: "unknown keyword",
    RSD003: "no api:script root element",
    RSD004: "api:info is misplaced or duplicated",
    RSD005: "raw '<' in an attribute value",
    RSD006: "statements nested too deep",
    RSD011: "the file or archive cannot be read",
})

KEYWORD_PREFIXES = frozenset({"api", "rsb", "arc"})
KEYWORD_NAMESPACES = frozenset({API_NS, RSB_NS, ARC_NS, "http://www.rssbus.com/ns/rsbscript/2/"})
# Bound to the API Script namespace in real files, but never keywords (they prefix attributes).
_NON_KEYWORD_PREFIXES = frozenset({"other", "xs"})
# Names the did-you-mean hint may suggest: the keywords plus the structural `info`.
_SUGGESTIONS = tuple(sorted(set(KEYWORDS) | {"info"}))


def _split(tag: str) -> tuple[Optional[str], str]:
    if tag[:1] == "{":
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return None, tag


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def diagnostic(path: str, pos: Pos, code: str, message: str, hint: Optional[str] = None) -> Diagnostic:
    return Diagnostic(Loc(path, pos.line, pos.column), "error", code, message, hint)


def error_profile(path: str, text: str, diag: Diagnostic) -> Profile:
    return Profile(path=path, loc=Loc(path, 1, 1), diagnostics=(diag,), source=text)


class _Builder:
    def __init__(self, path: str, root: etree._Element, tags: tuple[TagPos, ...]):
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self.too_deep = False  # RSD006 said once
        # Element → its scanned start tag. Start tags and elements are both in document order.
        self.positions: dict[etree._Element, TagPos] = {}
        elements = list(root.iter(etree.Element))
        if len(elements) == len(tags):
            self.positions = dict(zip(elements, tags))
        else:  # should not happen; fall back to lxml's line numbers
            for el in elements:
                self.positions[el] = TagPos(el.tag, Pos(el.sourceline or 1, 1), ())

    # -- locations and parameters -------------------------------------------------------------
    def loc(self, el: etree._Element) -> Loc:
        p = self.positions[el].pos
        return Loc(self.path, p.line, p.column)

    def params(self, el: etree._Element) -> Mapping[str, Param]:
        if not len(el.attrib):
            return EMPTY
        tag = self.positions[el]
        written = tag.attrs
        items = el.attrib.items()
        out: dict[str, Param] = {}
        aligned = len(written) == len(items)
        for i, (key, value) in enumerate(items):
            local = _split(key)[1]
            if aligned and _local(written[i][0]) == local:
                name, p = written[i]
            else:
                match = next((w for w in written if _local(w[0]) == local), None)
                name, p = match if match else (local, tag.pos)
            out[name.lower()] = Param(name, value, Loc(self.path, p.line, p.column))
        return MappingProxyType(out)

    def prefix(self, el: etree._Element) -> str:
        written = self.positions[el].tag
        return written.split(":", 1)[0] if ":" in written else (el.prefix or "api")

    @staticmethod
    def text(el: etree._Element) -> Optional[str]:
        parts = [el.text or ""]
        for child in el:
            if child.tail:
                parts.append(child.tail)
        text = "".join(parts)
        return text if text.strip() else None

    # -- classification -----------------------------------------------------------------------
    def keyword(self, el: etree._Element) -> Optional[str]:
        """The lower-case local name when `el` is a keyword element (any keyword, known or not)."""
        uri, local = _split(el.tag)
        prefix = (el.prefix or "").lower()
        if prefix in KEYWORD_PREFIXES:
            return local.lower()
        if uri in KEYWORD_NAMESPACES and prefix not in _NON_KEYWORD_PREFIXES:
            return local.lower()
        return None

    # -- building -----------------------------------------------------------------------------
    def statements(self, parent: etree._Element, depth: int = 1) -> tuple[Node, ...]:
        out = []
        for child in parent.iterchildren(etree.Element):
            node = self.statement(child, depth)
            if node is not None:
                out.append(node)
        return tuple(out)

    def statement(self, el: etree._Element, depth: int = 1) -> Optional[Node]:
        kw = self.keyword(el)
        if kw is None:
            return None  # foreign element: ignored with its content
        if depth > MAX_NESTING:
            if not self.too_deep:
                self.too_deep = True
                self.diagnostics.append(diagnostic(
                    self.path, self.positions[el].pos, RSD006,
                    f"statements nested more than {MAX_NESTING} deep: this one and those inside it are not read",
                    "flatten the nesting (an api:if with several conditions, or an api:select)"))
            return None
        if kw == "info":
            self.diagnostics.append(diagnostic(
                self.path, self.positions[el].pos, RSD004,
                f"'{self.prefix(el)}:info' must be a direct child of the root script, and appear once",
            ))
            cls: type[Node] = Unknown
        else:
            spec = KEYWORDS.get(kw)
            if spec is None:
                cls = Unknown
                written = f"{self.prefix(el)}:{_split(el.tag)[1]}"
                close = difflib.get_close_matches(kw, _SUGGESTIONS, n=1, cutoff=0.6)
                hint = f"did you mean '{self.prefix(el)}:{close[0]}'?" if close else None
                self.diagnostics.append(diagnostic(
                    self.path, self.positions[el].pos, RSD002, f"unknown keyword '{written}'", hint
                ))
            else:
                cls = spec.cls
        return cls(
            keyword=kw,
            loc=self.loc(el),
            prefix=self.prefix(el),
            params=self.params(el),
            body=self.statements(el, depth + 1),
            text=self.text(el),
        )

    def info(self, el: etree._Element) -> Info:
        columns: list[Column] = []
        inputs: list[Input] = []
        outputs: list[Output] = []
        for child in el.iterchildren(etree.Element):
            local = _split(child.tag)[1].lower()
            if local == "attr":
                columns.append(self.column(child))
            elif local == "input":
                inputs.append(self.input(child))
            elif local == "output":
                ps = self.params(child)
                outputs.append(Output(name=_value(ps, "name") or "", loc=self.loc(child), params=ps))
        ps = self.params(el)
        return Info(
            loc=self.loc(el),
            title=_value(ps, "title"),
            desc=_value(ps, "desc", "description"),
            columns=tuple(columns),
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            params=ps,
        )

    def column(self, el: etree._Element) -> Column:
        ps = self.params(el)
        return Column(
            name=_value(ps, "name") or "",
            loc=self.loc(el),
            type=_value(ps, "xs:type", "type") or _by_local(ps, "type"),
            key=_flag(ps, "key"),
            readonly=_flag(ps, "readonly"),
            columnsize=_value(ps, "columnsize"),
            desc=_value(ps, "desc", "description"),
            xpath=_value(ps, "other:xpath", "xpath") or _by_local(ps, "xpath"),
            value_format=_value(ps, "other:valueformat", "valueformat") or _by_local(ps, "valueformat"),
            params=ps,
        )

    def input(self, el: etree._Element) -> Input:
        ps = self.params(el)
        values = _value(ps, "values")
        return Input(
            name=_value(ps, "name") or "",
            loc=self.loc(el),
            type=_value(ps, "xs:type", "type") or _by_local(ps, "type"),
            default=_value(ps, "def", "default"),
            required=_flag(ps, "req") or _flag(ps, "required"),
            values=tuple(v.strip() for v in values.split(",")) if values is not None else None,
            desc=_value(ps, "desc", "description"),
            params=ps,
        )

    def profile(self, root: etree._Element, text: str) -> Profile:
        root_loc = self.loc(root)
        if self.keyword(root) != "script":
            d = diagnostic(
                self.path, self.positions[root].pos, RSD003,
                f"no api:script root element (found <{self.positions[root].tag}>)",
                "an API profile starts with <api:script> (or <rsb:script>)",
            )
            return Profile(path=self.path, loc=root_loc, diagnostics=(d,), source=text)
        info: Optional[Info] = None
        statements: list[Node] = []
        methods: list[Method] = []
        for child in root.iterchildren(etree.Element):
            kw = self.keyword(child)
            if kw == "info" and info is None:
                info = self.info(child)
            elif kw == "script" and "method" in {_split(k)[1].lower() for k in child.attrib}:
                name = next(v for k, v in child.attrib.items() if _split(k)[1].lower() == "method")
                methods.append(Method(name=name.strip().upper(), loc=self.loc(child),
                                      body=self.statements(child)))
            else:
                node = self.statement(child)
                if node is not None:
                    statements.append(node)
        return Profile(
            path=self.path,
            loc=root_loc,
            info=info,
            statements=tuple(statements),
            methods=tuple(methods),
            diagnostics=tuple(self.diagnostics),
            source=text,
        )


def _value(params: Mapping[str, Param], *names: str) -> Optional[str]:
    for n in names:
        p = params.get(n)
        if p is not None:
            return p.value
    return None


def _by_local(params: Mapping[str, Param], local: str) -> Optional[str]:
    for key, p in params.items():
        if _local(key) == local:
            return p.value
    return None


def _flag(params: Mapping[str, Param], name: str) -> bool:
    v = _value(params, name)
    return is_true(v)


def build_profile(text: str, path: str) -> Profile:
    """Read the text of one `.rsd` file into a `Profile` (never raises for bad content)."""
    result = parse_lenient(text)
    if result.root is None:
        pos = result.error_pos or Pos(1, 1)
        d = diagnostic(path, pos, RSD001, f"XML is not well-formed: {result.error}")
        return error_profile(path, result.text, d)
    profile = _Builder(path, result.root, result.tags).profile(result.root, result.text)
    if result.lt_in_values:
        lt = tuple(diagnostic(path, pos, RSD005, "raw '<' in an attribute value: XML does not allow it there",
                              "write it as &lt;") for pos in result.lt_in_values)
        profile = dataclasses.replace(profile, diagnostics=profile.diagnostics + lt)
    return profile


def decode(data: bytes) -> str:
    """Bytes of a profile → text: BOM, then the XML declaration's encoding, then UTF-8, then cp1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    head = data[:200]
    if head.startswith(b"<?xml"):
        m = re.search(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", head)
        if m:
            try:
                return data.decode(m.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
