"""`rsd check`: offline validation of profiles and options files, with stable diagnostic codes.

Owns: running the rules of rules.py over profiles read by `rsd.reader`, checking options files for
hard-coded secrets, `--strict` (warnings become errors), and the order diagnostics come out in.
Must not: run a profile, send a request, or resolve `${...}` references.

    check_paths(paths, *, strict=False) -> list[Diagnostic]
    check_report(paths, *, strict=False) -> CheckReport   (diagnostics and the files checked)
    check_profile(profile) -> list[Diagnostic]
    check_options_file(path, *, strict=False) -> list[Diagnostic]
    count_files(paths) -> int   (profiles and options files `check_paths` would check)

Every code is in codes.py and documented in docs/diagnostics.md (`python -m rsd.check.docgen`).
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import types
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..errors import Diagnostic, Loc
from ..reader import ast, read_paths
from ..secrets import AUTH_HEADER, AUTH_HEADER_NAME, URL_SECRET, is_secret_name
from .codes import CODES, ERROR, WARNING, diag
from .facts import Source, gather
from .format import format_json, format_text, sort_key, summary, to_json
from .rules import RULES

__all__ = [
    "CODES",
    "CheckReport",
    "check_options_file",
    "check_paths",
    "check_profile",
    "check_report",
    "count_files",
    "format_json",
    "format_text",
    "summary",
    "to_json",
]

# Files named on the command line with these endings are options files, not profiles.
OPTIONS_SUFFIXES = (".options", ".opts", ".env", ".conf", ".cfg", ".ini", ".properties", ".txt")


@dataclass(frozen=True)
class CheckReport:
    diagnostics: list[Diagnostic]
    files: int

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors

    def summary(self) -> str:
        return summary(self.diagnostics, self.files)


def check_profile(profile: ast.Profile) -> list[Diagnostic]:
    """The reader's diagnostics of `profile` and every rule's, sorted by position."""
    out = list(profile.diagnostics)
    if not any(d.code in ("RSD001", "RSD003", "RSD011") for d in profile.diagnostics):
        facts = gather(profile)
        src = Source(profile.source)
        for rule in RULES:
            out.extend(rule(facts, src))
    return _dedupe(sorted(out, key=sort_key))


def _dedupe(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        key = (d.loc, d.code, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def strictly(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """`--strict`: every warning becomes an error (code and message unchanged)."""
    return [dataclasses.replace(d, severity=ERROR) if d.severity == WARNING else d for d in diags]


def _is_options_file(path: str) -> bool:
    return os.path.isfile(path) and path.lower().endswith(OPTIONS_SUFFIXES)


def check_report(paths: Sequence[str | os.PathLike[str]], *, strict: bool = False) -> CheckReport:
    """Check files, folders (recursively: `.rsd`, `.apip`) and `.apip` archives (each member as
    `X.apip/member.rsd`); a file named with an options-file ending (`.options`, `.env`...) is
    checked as an options file."""
    diags: list[Diagnostic] = []
    files = 0
    seen: set[str] = set()
    for raw in paths:  # in the order given, so output follows the command line
        path = os.fspath(raw)
        if _is_options_file(path):
            diags.extend(_check_options_file(path))
            files += 1
            continue
        for profile in read_paths([path]):
            if profile.path in seen:
                continue
            seen.add(profile.path)
            diags.extend(check_profile(profile))
            files += 1
    if strict:
        diags = strictly(diags)
    return CheckReport(diags, files)


def check_paths(paths: Sequence[str | os.PathLike[str]], *, strict: bool = False) -> list[Diagnostic]:
    """The diagnostics of every profile (and options file) under `paths`; see `check_report`."""
    return check_report(paths, strict=strict).diagnostics


# --- options files ------------------------------------------------------------------------------

_HEADER_OPTIONS = ("customheaders", "oauthtokenheaders")
_URL_OPTIONS = ("customurlparams", "uri", "url", "oauthaccesstokenurl", "oauthparams", "other")
_ENV_NAME = re.compile(r"[^A-Za-z0-9]+")


def _env_hint(name: str) -> str:
    if name.lower() in _HEADER_OPTIONS:
        return f"write {name}=Authorization: Bearer ${{env:TOKEN}} and export TOKEN"
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    env = _ENV_NAME.sub("_", words).strip("_").upper() or "SECRET"
    return f"write {name}=${{env:{env}}} and export {env} (or use ${{file:...}}, ${{keyring:...}}, ${{cmd:...}})"


def _option_findings(name: str, value: str) -> Iterable[tuple[int, str]]:
    """(offset in value, message) for each literal secret in one option."""
    low = name.strip().lower()
    if low in _HEADER_OPTIONS:
        pos = 0
        for line in re.split(r"(\\n|\\r\\n|\r?\n)", value):
            m = AUTH_HEADER.search(line)
            if m and "${" not in m.group(2):
                yield pos + m.start(2), f"{name} has a literal '{m.group(1)}' credential"
            else:
                hname, sep, hval = line.partition(":")
                if sep and AUTH_HEADER_NAME.match(hname.strip()) and hval.strip() and "${" not in hval:
                    yield pos + len(hname) + 1 + (len(hval) - len(hval.lstrip())), \
                        f"{name} sends the {hname.strip()} header with a literal value"
            pos += len(line)
        return
    if low == "profilesettings":
        body = value.strip("'\"")
        start = value.index(body) if body else 0
        pos = 0
        for part in body.split(";"):
            k, sep, v = part.partition("=")
            if sep and is_secret_name(k.strip()) and v.strip() and "${" not in v:
                yield start + pos + len(k) + 1, f"ProfileSettings key {k.strip()} has a literal value"
            pos += len(part) + 1
        return
    if low in _URL_OPTIONS:
        for m in URL_SECRET.finditer(value):
            if len(m.group(2)) >= 4 and "${" not in m.group(2):
                yield m.start(2), f"{name} has a literal {m.group(1)}= credential"
        return
    if is_secret_name(low) and value.strip() and "${" not in value:
        yield len(value) - len(value.lstrip()), f"{name} is a secret written in the file"


def count_files(paths: Sequence[str | os.PathLike[str]]) -> int:
    """How many files `check_paths(paths)` checks (`.apip` members count one each)."""
    names = [os.fspath(p) for p in paths]
    options = [p for p in names if _is_options_file(p)]
    return len(options) + len(read_paths([p for p in names if p not in options]))


def check_options_file(path: str | os.PathLike[str], *, strict: bool = False) -> list[Diagnostic]:
    """An options file (`NAME=VALUE` a line, `#` comments): RSD010 for a line that is not an option,
    RSD605 for a secret written literally instead of a `${...}` reference."""
    diags = _check_options_file(path)
    return strictly(diags) if strict else diags


def _check_options_file(path: str | os.PathLike[str]) -> list[Diagnostic]:
    spath = os.fspath(path)
    try:
        with open(spath, encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return [diag("RSD011", Loc(spath, 1, 1), f"cannot read options file: {reason}")]
    out: list[Diagnostic] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            indent = len(line) - len(line.lstrip())
            out.append(diag("RSD010", Loc(spath, number, indent + 1),
                            "options file line is not NAME=VALUE",
                            "write NAME=VALUE, or start the line with # to comment it out"))
            continue
        lead = len(value) - len(value.lstrip())
        vstart = len(name) + 1 + lead
        body = value.strip()
        for offset, message in _option_findings(name.strip(), body):
            out.append(diag("RSD605", Loc(spath, number, vstart + offset + 1), message, _env_hint(name.strip())))
    return out



class _CallableModule(types.ModuleType):
    """`rsd.check` is this package and also the library's `rsd.check(paths)`: importing the package (which any
    run does) makes it the attribute `check` of `rsd`, so the package itself answers the call."""

    def __call__(self, paths: Sequence[str | os.PathLike[str]], *, strict: bool = False) -> list[Diagnostic]:
        return check_paths(paths, strict=strict)


sys.modules[__name__].__class__ = _CallableModule
