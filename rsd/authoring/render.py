"""Writing the generated profile: the XML text, with the comments a person would want.

Owns: the profile's layout (the samples' dialect: `api:info` with aligned `attr`s, global `api:set`s, a GET script
with one provider call), escaping (XML attributes, template brackets in `api:set` values, `{` in a URI), the URI
(`[_connection.BaseURL]` when the URL starts with the `BaseURL` option; a credential in the query read from an option
instead of written down), and the comments that say where each value came from. Must not: infer or fetch.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Sequence

from ..http.redact import Redactor
from ..mapping.types import WRITTEN_TYPES
from ..secrets import is_secret_query_name
from .detect import PagingPlan
from .sample import BASE_URL_OPTION, Sample
from .shape import Candidate, Field

API_NS = "http://apiscript.com/ns?v1"
XS_NS = "http://www.w3.org/2001/XMLSchema"
#: comment lines are wrapped at this width (the profile stays readable at 120 columns)
WIDTH = 112


def xml_attr(text: str) -> str:
    """Text safe inside a double-quoted XML attribute."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;"))


def template_literal(text: str) -> str:
    """Text an `api:set` value renders as itself: brackets escaped as rsd's templates read them (a run of
    backslashes before a bracket is halved, an odd one out escapes it)."""
    return re.sub(r"(\\*)([\[\]])", lambda m: m.group(1) * 2 + "\\" + m.group(2), str(text))


def _comment_text(text: str) -> str:
    while "--" in text:
        text = text.replace("--", "- -")
    return text.rstrip("-")


def comment(paragraphs: Sequence[str], indent: str = "  ") -> list[str]:
    """`<!-- ... -->` wrapped at WIDTH, one blank-free block."""
    words_lines: list[str] = []
    for para in paragraphs:
        line = ""
        for word in _comment_text(para).split():
            if line and len(indent) + 5 + len(line) + 1 + len(word) > WIDTH:
                words_lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            words_lines.append(line)
    if not words_lines:
        return []
    out = [f"{indent}<!-- {words_lines[0]}"]
    out += [f"{indent}     {w}" for w in words_lines[1:]]
    out[-1] += " -->"
    return out


def uri_value(sample: Sample) -> tuple[str, list[str]]:
    """The URI as an `api:set` value, and notes for the user (credentials found in the URL)."""
    notes: list[str] = []
    if sample.url is None:
        return template_literal(Path(str(sample.file)).as_uri()), notes
    url = sample.url
    prefix = ""
    base = (sample.base_url or "").rstrip("/")
    if base and url.startswith(base) and (len(url) == len(base) or url[len(base)] in "/?#"):
        prefix, url = f"[_connection.{BASE_URL_OPTION}]", url[len(base):]
    head, sep, query = url.partition("?")
    parts = []
    for part in query.split("&") if sep else []:
        name, eq, value = part.partition("=")
        if eq and value and is_secret_query_name(name):
            option = re.sub(r"[^A-Za-z0-9_]", "_", name) or "ApiKey"
            parts.append(template_literal(name) + "=[_connection." + option + "]")
            notes.append(f"the URL's {name} is a credential: the profile reads it from the option {option} "
                         f"(rsd run ... -o '{option}=${{env:...}}')")
        else:
            parts.append(template_literal(part))
    text = prefix + template_literal(head).replace("{", "%7B").replace("}", "%7D")
    if sep:
        text += "?" + "&".join(parts)
    return text, notes


def render_profile(*, title: str, sample: Sample, chosen: Candidate, others: Sequence[Candidate],
                   fields: Sequence[Field], paging: Optional[PagingPlan], uri: str, redactor: Redactor) -> str:
    """The profile's text."""
    xml = sample.kind == "xml"
    source = sample.describe(redactor)
    out = [f'<api:script xmlns:api="{API_NS}" xmlns:xs="{XS_NS}">', ""]
    header = [f"Written by rsd init from {source}."]
    if sample.option_names:
        header.append(f"Run it with the options given to rsd init ({', '.join(sample.option_names)}); their values "
                      f"are not written here.")
    if sample.url is None:
        header.append("The URI below reads the saved response; put the API's URL in its place (or pass --url to "
                      "rsd init).")
    records = f"{chosen.count:,} record{'s' if chosen.count != 1 else ''}"
    header.append(f"Repeating element: {chosen.path}, {records} on that page."
                  + (" Other candidates: " + ", ".join(f"{c.path} ({c.count:,})" for c in others)
                     + " (rsd init's repeat option picks one)." if others else ""))
    header.append("Columns: every field of those records, in the order they first appear; nested objects are dotted "
                  "names, arrays are kept whole as JSON text. An xs:type is set only where every non-null value on "
                  "the page fits it, and key only on a field that is unique there and named like an id: check both "
                  "against the API's documentation.")
    out += comment(header)
    out.append(f'  <api:info title="{xml_attr(title)}" desc="{xml_attr("Generated by rsd init from " + source)}" '
               f'xmlns:other="{API_NS}">')
    out += _attr_lines(fields)
    out.append("  </api:info>")
    out.append("")
    if uri.startswith(f"[_connection.{BASE_URL_OPTION}]"):
        out.append(f'  <api:validate attr="_connection.{BASE_URL_OPTION}" desc="Set the {BASE_URL_OPTION} connection '
                   f'option, e.g. -o {BASE_URL_OPTION}={xml_attr(redactor.redact(sample.base_url or ""))}" />')
        out.append("")
    out.append(f'  <api:set attr="URI" value="{xml_attr(uri)}" />')
    repeat_attr = "XPath" if xml else "JSONPath"
    out.append(f'  <api:set attr="{repeat_attr}" value="{xml_attr(template_literal(chosen.path))}" />')
    out.append("")
    if paging is None:
        out += comment(["Paging: none detected on the sampled page, so a run fetches one page. If the API pages, "
                        "docs/authoring.md (paging cookbook) shows the api:set lines for each style."])
    else:
        out += comment([f"Paging: {paging.describe()}, detected from the sampled page."]
                       + [_sentence(redactor.redact(e)) for e in paging.evidence])
        for name, value in paging.attrs:
            out.append(f'  <api:set attr="{name}" value="{xml_attr(template_literal(value))}" />')
    out.append("")
    op = "xmlproviderGet" if xml else "jsonproviderGet"
    out += ['  <api:script method="GET">', f'    <api:call op="{op}">', "      <api:push />", "    </api:call>",
            "  </api:script>", "", "</api:script>", ""]
    return "\n".join(out)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _attr_lines(fields: Sequence[Field]) -> list[str]:
    names = [f'name="{xml_attr(f.name)}"' for f in fields]
    types = [f'xs:type="{WRITTEN_TYPES[f.type]}"' for f in fields]
    keys = [' key="true"' if f.key else "" for f in fields]
    wn, wt, wk = (max((len(x) for x in col), default=0) for col in (names, types, keys))
    out = []
    for f, n, t, k in zip(fields, names, types, keys):
        line = f"    <attr {n:<{wn}} {t:<{wt}}{k:<{wk}} other:xPath=\"{xml_attr(f.path)}\""
        if f.aggregate:
            line += ' other:valueFormat="aggregate"'
        line += " />"
        if f.note:
            line += f"  <!-- {_comment_text(f.note)} -->"
        out.append(line)
    return out
