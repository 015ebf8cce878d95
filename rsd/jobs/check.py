"""`rsd job check`: offline validation of a job file and of every profile it runs (codes JOBxxx,
documented in docs/jobs.md).

Owns: the job rules and where in the TOML text each finding is. Must not: run anything.
"""
from __future__ import annotations

import re
import symtable
from typing import Any, Callable, Optional

from ..errors import Diagnostic, Loc
from ..http.auth import GRANT_TYPES
from ..refs import KINDS as REF_KINDS
from ..sinks.registry import FORMATS, MODES
from .spec import (
    _REF,
    _UPDATE_CALL,
    DEFAULT_SET,
    INCREMENTAL_KEYS,
    KNOWN,
    LIST_FIELDS,
    COUNT_FIELDS,
    NUMBER_FIELDS,
    REQUIRED,
    STEP_TYPES,
    TABLE_FIELDS,
    Step,
    _strings,
    load_job,
)


class _Lines:
    """Where things are in the job file's text, for diagnostics: the line of a step's table, of a field in it."""

    def __init__(self, source: str):
        self.lines = source.splitlines()
        self.step_lines = [n for n, line in enumerate(self.lines, 1) if line.strip().startswith("[[steps]]")]

    def find(self, needle: str, start: int = 1, stop: Optional[int] = None) -> Optional[int]:
        for n in range(max(start, 1), (stop or len(self.lines)) + 1):
            if n - 1 < len(self.lines) and needle in self.lines[n - 1]:
                return n
        return None

    def step(self, index: int) -> tuple[int, Optional[int]]:
        """First and last line of the index-th [[steps]] table (1-based)."""
        if index - 1 < len(self.step_lines):
            first = self.step_lines[index - 1]
            last = self.step_lines[index] - 1 if index < len(self.step_lines) else len(self.lines)
            return first, last
        return 1, None

    def field(self, index: int, name: str) -> int:
        first, last = self.step(index)
        pattern = re.compile(rf"^\s*{re.escape(name)}\s*=")
        for n in range(first, (last or len(self.lines)) + 1):
            if n - 1 < len(self.lines) and pattern.match(self.lines[n - 1]):
                return n
        return first

    def variable(self, name: str) -> int:
        pattern = re.compile(rf"^\s*{re.escape(name)}\s*=")
        section = self.find("[variables]") or 1
        for n in range(section, len(self.lines) + 1):
            if pattern.match(self.lines[n - 1]):
                return n
        return section


def _script_names(code: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """Global names a script reads, and names it binds itself (assignments, imports, defs, loop variables)."""
    reads: set[str] = set()
    binds: set[str] = set()

    def walk(table: symtable.SymbolTable, top: bool) -> None:
        for sym in table.get_symbols():
            name = sym.get_name()
            if top:
                if sym.is_assigned() or sym.is_imported() or sym.is_namespace():
                    binds.add(name)
                elif sym.is_referenced():
                    reads.add(name)
            elif sym.is_global() and sym.is_referenced() and not sym.is_assigned():
                reads.add(name)
            elif sym.is_declared_global() and sym.is_assigned():
                binds.add(name)
        for child in table.get_children():
            walk(child, False)

    walk(code, True)
    return reads, binds


def _defined(name: str, defined: set[Any]) -> bool:
    return name in defined or name.lower() in {d.lower() for d in defined}


def check_job(path: str) -> list[Diagnostic]:
    """Offline checks: step types, required fields, field values, variables used but never set, python
    scripts (syntax, globals no variable sets), every profile's `rsd check` diagnostics. Sends nothing,
    reads no environment variable, file or command a reference names. Codes JOBxxx: docs/jobs.md."""
    import builtins
    import difflib
    import symtable

    from ..check import check_paths

    job = load_job(path)
    source = job.path.read_text(encoding="utf-8")
    where = _Lines(source)
    out: list[Diagnostic] = []

    def diag(code: str, sev: str, msg: str, line: int, hint: Optional[str] = None) -> None:
        out.append(Diagnostic(Loc(str(job.path), line, 1), sev, code, msg, hint))

    def check_refs(text: str, defined: set[Any], what: str, line: int) -> None:
        for body in _REF.findall(text):
            ref = body.strip()
            kind, sep, _ = ref.partition(":")
            if sep:
                if kind.strip().lower() not in REF_KINDS:
                    diag("JOB008", "error", f"{what}: unknown reference kind in ${{{body}}}", line,
                         "use ${name}, ${env:NAME}, ${file:PATH}, ${keyring:SERVICE/USER} or ${cmd:COMMAND}")
            elif not _defined(ref, defined) and what.startswith("variable ") and _defined(ref, set(job.variables)):
                diag("JOB005", "error", f"{what} uses ${{{ref}}}, which is defined after it", line,
                     "[variables] are resolved in order: move " + ref + " above it")
            elif not _defined(ref, defined):
                diag("JOB005", "error", f"{what} uses ${{{ref}}}, which no variable or earlier step sets", line,
                     "add it to [variables], set it in an earlier step, or pass --var " + ref + "=VALUE")

    # [variables]: in order, each may use the ones before it
    defined: set[Any] = set()
    for name, value in job.variables.items():
        check_refs(value, defined, f"variable {name!r}", where.variable(name))
        defined.add(name)
    if not job.steps:
        diag("JOB001", "error", "the job has no steps", where.find("[variables]") or 1,
             "add [[steps]] tables: type = \"oauth2\", \"python\" or \"query\"")
    seen_names: dict[str, int] = {}
    oauth2_steps: list[str] = []
    for step in job.steps:
        line, _ = where.step(step.index)
        label = f"step {step.name!r}"
        if step.name in seen_names:
            diag("JOB011", "warning", f"{label}: step {seen_names[step.name]} has the same name", line,
                 "name steps uniquely: the name identifies the step in _rsd_runs")
        seen_names.setdefault(step.name, step.index)
        if "type" not in step.fields:
            diag("JOB003", "error", f"{label} is missing 'type'", line, "type = \"oauth2\", \"python\" or \"query\"")
            continue
        if step.type not in STEP_TYPES:
            near = difflib.get_close_matches(step.type, STEP_TYPES, 1)
            diag("JOB002", "error", f"{label}: unknown type {step.type!r}", where.field(step.index, "type"),
                 f"did you mean {near[0]!r}?" if near else "use \"oauth2\", \"python\" or \"query\"")
            continue
        for f in REQUIRED[step.type]:
            if f not in step.fields:
                diag("JOB003", "error", f"{label} ({step.type}) is missing {f!r}", line)
        for f in step.fields:
            if f not in KNOWN[step.type]:
                near = difflib.get_close_matches(f, KNOWN[step.type], 1)
                diag("JOB004", "warning", f"{label}: unknown field {f!r} (ignored)", where.field(step.index, f),
                     f"did you mean {near[0]!r}?" if near else None)
        _check_values(step, where, diag)
        for f, value in step.fields.items():
            for text in _strings(value):
                check_refs(text, defined, label, where.field(step.index, f))
        if step.type == "oauth2":
            given = step.fields.get("set")
            sets = given if isinstance(given, dict) else DEFAULT_SET
            defined.update(sets.keys())
            oauth2_steps.append(step.name)
        elif step.type == "python" and isinstance(step.fields.get("script"), str):
            script = job.base_dir / step.fields["script"]
            sline = where.field(step.index, "script")
            if not script.is_file():
                diag("JOB006", "error", f"{label}: script {str(script)!r} does not exist", sline,
                     "paths in a job are relative to the job file's folder")
                continue
            text = script.read_text(encoding="utf-8", errors="replace")
            try:
                table = symtable.symtable(text, str(script), "exec")
            except SyntaxError as e:
                diag("JOB009", "error", f"{label}: {script}:{e.lineno}:{e.offset or 1}: Python syntax error: "
                     f"{e.msg}", sline)
                continue
            reads, binds = _script_names(table)
            known = defined | binds | set(dir(builtins)) | {"context", "__file__", "__name__"}
            for name in sorted(reads):
                if not _defined(name, known):
                    diag("JOB010", "warning", f"{label}: the script reads {name!r}, which no variable or earlier "
                         f"step sets", sline, f"add {name} to [variables] (a python step sees variables as "
                         f"globals), or pass --var {name}=VALUE")
            defined.update(_UPDATE_CALL.findall(text))
        if step.type == "query" and "auth" in step.fields and step.fields["auth"] not in oauth2_steps:
            diag("JOB008", "error", f"{label}: auth = {step.fields['auth']!r} names no oauth2 step before it",
                 where.field(step.index, "auth"), "auth names an earlier step of type oauth2"
                 + (f": {', '.join(repr(n) for n in oauth2_steps)}" if oauth2_steps else ""))
        if step.type == "query" and isinstance(step.fields.get("profile"), str):
            prof = job.base_dir / step.fields["profile"]
            if not prof.exists():
                diag("JOB007", "error", f"{label}: profile {str(prof)!r} does not exist",
                     where.field(step.index, "profile"), "paths in a job are relative to the job file's folder")
            else:
                out.extend(check_paths([str(prof)]))
            if isinstance(step.fields.get("options_file"), str):
                opts = job.base_dir / step.fields["options_file"]
                if not opts.is_file():
                    diag("JOB007", "error", f"{label}: options file {str(opts)!r} does not exist",
                         where.field(step.index, "options_file"))
    return out


def _check_values(step: Step, where: _Lines, diag: Callable[..., None]) -> None:
    """JOB008: a field of the wrong kind or with a value rsd does not know."""
    label = f"step {step.name!r}"
    for f, value in step.fields.items():
        line = where.field(step.index, f)
        if f in TABLE_FIELDS:
            if not isinstance(value, dict):
                diag("JOB008", "error", f"{label}: {f!r} must be a table of name = value, e.g. "
                     f"{f} = {{ Name = \"value\" }}", line)
            elif any(isinstance(v, (dict, list)) for v in value.values()):
                diag("JOB008", "error", f"{label}: the values of {f!r} must be strings, numbers or booleans", line)
        elif f in LIST_FIELDS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                diag("JOB008", "error", f"{label}: {f!r} must be a list of strings, e.g. "
                     f"{f} = [\"https://api.example.com\"]", line)
        elif f in COUNT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                diag("JOB008", "error", f"{label}: {f!r} must be a whole number (0 or more), not {value!r}", line)
        elif f in NUMBER_FIELDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                diag("JOB008", "error", f"{label}: {f!r} must be a positive number, not {value!r}", line)
        elif f not in ("name",) and f in KNOWN.get(step.type, ()) and isinstance(value, (dict, list)):
            diag("JOB008", "error", f"{label}: {f!r} must be a string", line)
    mode = step.fields.get("mode")
    if isinstance(mode, str) and "${" not in mode and mode.lower() not in MODES:
        diag("JOB008", "error", f"{label}: unknown mode {mode!r}", where.field(step.index, "mode"),
             "use truncate, append, replace or upsert")
    fmt = step.fields.get("format")
    if isinstance(fmt, str) and "${" not in fmt and fmt.lower() not in FORMATS:
        diag("JOB008", "error", f"{label}: unknown format {fmt!r}", where.field(step.index, "format"),
             "use " + ", ".join(FORMATS))
    inc = step.fields.get("incremental")
    if step.type == "query" and isinstance(inc, dict):
        line = where.field(step.index, "incremental")
        for key in INCREMENTAL_KEYS:
            if not isinstance(inc.get(key), str) or not inc[key].strip():
                diag("JOB008", "error", f"{label}: incremental needs {key} = \"...\"", line,
                     'incremental = { cursor = "updated_at", input = "updated_since" }: the cursor column, and the '
                     "input that receives its mark")
        for key in inc:
            if key not in INCREMENTAL_KEYS:
                diag("JOB008", "error", f"{label}: incremental has no field {key!r}", line,
                     "use cursor and input")
        if isinstance(mode, str) and mode.lower() in ("truncate", "replace") and step.fields.get("full_refresh") \
                is not True:
            diag("JOB008", "error", f"{label}: mode {mode!r} would drop every row an incremental load does not "
                 f"reload", where.field(step.index, "mode"), "use mode = \"upsert\" (the default with incremental) "
                 "or \"append\", or full_refresh = true")
    if "full_refresh" in step.fields and not isinstance(step.fields["full_refresh"], bool):
        diag("JOB008", "error", f"{label}: 'full_refresh' must be true or false",
             where.field(step.index, "full_refresh"))
    elif step.fields.get("full_refresh") is True and not isinstance(inc, dict):
        diag("JOB008", "error", f"{label}: full_refresh needs incremental = {{ cursor = ..., input = ... }}",
             where.field(step.index, "full_refresh"))
    grant = step.fields.get("grant_type")
    if (step.type == "oauth2" and isinstance(grant, str) and "${" not in grant
            and grant.lower() not in set(GRANT_TYPES.values())):
        diag("JOB008", "error", f"{label}: unknown grant_type {grant!r}", where.field(step.index, "grant_type"),
             "use refresh_token, client_credentials or password")
    if step.type == "oauth2" and isinstance(step.fields.get("set"), dict):
        for name, path in step.fields["set"].items():
            if not isinstance(path, str) or not path.strip():
                diag("JOB008", "error", f"{label}: set.{name} must be a JSON path such as \"$.access_token\"",
                     where.field(step.index, "set"))
