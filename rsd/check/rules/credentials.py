"""`rsd check` rules, 6xx credentials and local files.

Owns: credentials written literally in a profile (rsd.secrets decides what is one), and `file://` URIs with an
absolute path written in a profile (a run reads them only inside the profile's folder or `--allow-files`:
rsd.http.policy). Must not: run anything.
"""
from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import unquote

from ...errors import Diagnostic
from ...http.policy import inside, profile_folder
from ...reader import ast
from ...secrets import AUTH_HEADER, AUTH_HEADER_NAME, BARE_SCHEME, URL_SECRET, is_secret_name
from ..codes import diag
from ..facts import Facts, Source, is_literal, literal_text, split_name

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
            pairs = [(p.name, p, p.value) for k, p in n.params.items()
                     if k not in ("op", "in", "out", "input", "output")]
        for pname, p, value in pairs:
            for code, off, msg in secret_findings(pname, value):
                loc = src.at(p, off) if p is not None else n.loc
                yield diag(code, loc, msg, _secret_hint(code, pname))


def _secret_hint(code: str, attr: str) -> str:
    """The fix for a literal secret; for a secret attribute, named after that attribute."""
    if code != "RSD604":
        return _HINT[code]
    base = re.sub(r"[^A-Za-z0-9]", "", attr.split(".")[-1].split(":")[-1].split("#")[0]) or "Secret"
    option = base[:1].upper() + base[1:]
    env = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", option).upper()
    return f"read it from the connection, e.g. [_connection.{option}], and pass -o '{option}=${{env:{env}}}'"


#: `file://` followed by an absolute path (`file:///x`, `file://localhost/x`) in a value's literal text
_ABSOLUTE_FILE_URI = re.compile(r"(?i)\bfile://(?:localhost)?/")


def rule_local_files(f: Facts, src: Source) -> Iterator[Diagnostic]:
    """RSD606: a `file://` URI whose absolute path is written in the profile and lies outside the profile's own
    folder (where a run reads without `--allow-files`)."""
    folder = profile_folder(f.profile.path)
    for v in f.visits:
        n = v.node
        if not isinstance(n, (ast.Set, ast.SetC, ast.Call, ast.Push)):
            continue
        for key, p in n.params.items():
            if key in ("attr", "item", "op", "in", "out", "input", "output"):
                continue
            literal = literal_text(p.value)
            m = _ABSOLUTE_FILE_URI.search(literal)
            if m is None:
                continue
            written = literal[m.end() - 1:].split(" ")[0]  # the path up to the first template or blank
            if folder is not None and inside(unquote(written), folder):
                continue
            uri = p.value[m.start():].split()[0] if p.value[m.start():].split() else p.value[m.start():]
            yield diag("RSD606", src.at(p, m.start()), f"{uri!r} reads a file by its absolute path",
                       "a run reads file:// URIs only in the profile's folder and --allow-files folders")
