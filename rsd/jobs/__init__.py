"""Jobs: `rsd job run JOB.toml` and `rsd job check JOB.toml` (contract.md §6).

Owns: reading a job file (`[variables]`, `[[steps]]`), checking it offline, and running its steps in
order with shared variables: `oauth2` (a token request whose response values become variables),
`python` (a script run with the variables as globals and a Matillion-style `context`), and `query`
(a profile into a target, through `rsd.api.run`). Must not: print (progress and summaries go through
the `report` callback the CLI passes), or resolve references itself (that is `rsd.refs`).

Paths in a job (profiles, scripts, SQLite files) are relative to the job file's folder.
"""
from __future__ import annotations

import re
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..errors import Diagnostic, InvalidInputError, Loc, RsdError, RunError

STEP_TYPES = ("oauth2", "python", "query")
REQUIRED = {
    "oauth2": ("token_url",),
    "python": ("script",),
    "query": ("profile",),
}
KNOWN = {
    "oauth2": ("name", "type", "token_url", "grant_type", "client_id", "client_secret", "refresh_token",
               "username", "password", "scope", "client_auth", "params_in", "params", "headers", "set"),
    "python": ("name", "type", "script", "timeout"),
    "query": ("name", "type", "profile", "options", "inputs", "output", "table", "mode", "format", "limit",
              "max_pages", "connection", "options_file"),
}
# Fields that must be TOML tables (name = value pairs), and fields that must be positive numbers.
TABLE_FIELDS = ("set", "params", "headers", "options", "inputs")
NUMBER_FIELDS = ("timeout", "limit", "max_pages")
MODES = ("truncate", "append", "replace", "upsert")
FORMATS = ("table", "csv", "jsonl", "json")
GRANTS = ("refresh_token", "client_credentials", "password")
REF_KINDS = ("env", "file", "keyring", "cmd")
_REF = re.compile(r"(?<!\$)\$\{([^}]*)\}")
_SECRETISH = re.compile(r"token|secret|password|passwd|key|credential|auth", re.I)
_UPDATE_CALL = re.compile(r"""update_?[vV]ariable\(\s*['"]([^'"]+)['"]""")
DEFAULT_SET = {"access_token": "$.access_token"}


@dataclass
class Step:
    index: int
    name: str
    type: str
    fields: dict


@dataclass
class Job:
    path: Path
    variables: dict
    steps: list[Step]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class StepResult:
    step: str
    type: str
    status: str = "ok"
    rows: int = 0
    pages: int = 0
    requests: int = 0
    elapsed: float = 0.0
    detail: str = ""
    target: str = ""


def _toml_text(value) -> str:
    """A TOML scalar as the text a variable holds: booleans as true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_job(path: str) -> Job:
    """Read and shape-check a job file; raises `InvalidInputError` naming the file on TOML errors."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such job file")
    except IsADirectoryError:
        raise InvalidInputError(f"{path}: is a folder, not a job file")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text")
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"{path}: not valid TOML: {e}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise InvalidInputError(f"{path}: [variables] must be a table of name = value")
    for name, value in variables.items():
        if isinstance(value, (dict, list)):
            raise InvalidInputError(f"{path}: variable {name!r} must be a string, number or boolean")
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list):
        raise InvalidInputError(f"{path}: steps must be an array of tables: write [[steps]]")
    steps = []
    for i, raw in enumerate(raw_steps, 1):
        if not isinstance(raw, dict):
            raise InvalidInputError(f"{path}: step {i} must be a table ([[steps]])")
        steps.append(Step(i, str(raw.get("name") or f"step{i}"), str(raw.get("type", "")), raw))
    return Job(p, {str(k): _toml_text(v) for k, v in variables.items()}, steps)


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


def _script_names(code) -> tuple[set, set]:
    """Global names a script reads, and names it binds itself (assignments, imports, defs, loop variables)."""
    reads, binds = set(), set()

    def walk(table, top):
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


def _defined(name: str, defined: set) -> bool:
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

    def diag(code, sev, msg, line, hint=None):
        out.append(Diagnostic(Loc(str(job.path), line, 1), sev, code, msg, hint))

    def check_refs(text: str, defined: set, what: str, line: int) -> None:
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
    defined: set = set()
    for name, value in job.variables.items():
        check_refs(value, defined, f"variable {name!r}", where.variable(name))
        defined.add(name)
    if not job.steps:
        diag("JOB001", "error", "the job has no steps", where.find("[variables]") or 1,
             "add [[steps]] tables: type = \"oauth2\", \"python\" or \"query\"")
    seen_names: dict[str, int] = {}
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
            sets = step.fields.get("set") if isinstance(step.fields.get("set"), dict) else DEFAULT_SET
            defined.update(sets.keys())
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
        elif step.type == "query" and isinstance(step.fields.get("profile"), str):
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


def _check_values(step: Step, where: _Lines, diag) -> None:
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
             "use table, csv, jsonl or json")
    grant = step.fields.get("grant_type")
    if step.type == "oauth2" and isinstance(grant, str) and "${" not in grant and grant.lower() not in GRANTS:
        diag("JOB008", "error", f"{label}: unknown grant_type {grant!r}", where.field(step.index, "grant_type"),
             "use refresh_token, client_credentials or password")
    if step.type == "oauth2" and isinstance(step.fields.get("set"), dict):
        for name, path in step.fields["set"].items():
            if not isinstance(path, str) or not path.strip():
                diag("JOB008", "error", f"{label}: set.{name} must be a JSON path such as \"$.access_token\"",
                     where.field(step.index, "set"))


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


class Context:
    """The `context` a python step sees: Matillion's Python Script component API."""

    def __init__(self, variables: dict, on_set: Callable[[str, str], None]):
        self._variables = variables
        self._on_set = on_set

    def updateVariable(self, name: str, value) -> None:  # noqa: N802 - Matillion's spelling
        self._on_set(str(name), "" if value is None else str(value))

    update_variable = updateVariable

    def getVariable(self, name: str):  # noqa: N802
        return self._variables.get(name)

    get_variable = getVariable


class StepTimeout(BaseException):
    """Raised inside a python step when its `timeout` runs out (a BaseException: scripts' `except Exception`
    must not swallow it)."""


@contextmanager
def _time_limit(seconds: Optional[float]):
    """SIGALRM-based limit for in-process scripts; a no-op off the main thread or where SIGALRM is missing."""
    import signal
    import threading

    if not seconds or not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise StepTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class JobRunner:
    """Runs a job's steps in order. Variables flow from `[variables]` and from each step to the next.

    The first failing step stops the job (later steps do not run) and its error is raised, prefixed with the
    job and step. Every step, ok or failed, is recorded in `_rsd_runs`: a query step in its own target
    database (by `rsd.api.run`), an oauth2 or python step in every database the job's query steps load.
    """

    def __init__(self, job: Job, *, redactor, variables: Optional[dict] = None,
                 report: Optional[Callable[[StepResult], None]] = None, verbose: bool = False,
                 quiet: bool = False, trace=None, on_page=None,
                 on_start: Optional[Callable[[Step], None]] = None, record: bool = True):
        self.job = job
        self.redactor = redactor
        self.cli_variables = dict(variables or {})
        self.report = report or (lambda r: None)
        self.trace = trace
        self.on_page = on_page
        self.on_start = on_start or (lambda s: None)
        self.record = record
        self.variables: dict[str, str] = {}
        self.results: list[StepResult] = []

    def resolve(self, text: str, what: Optional[str] = None) -> str:
        from ..refs import resolve_refs
        return resolve_refs(text, self.variables, base_dir=str(self.job.base_dir), secrets=self.redactor, what=what)

    def _resolve_all(self, obj, what: Optional[str] = None):
        if isinstance(obj, str):
            return self.resolve(obj, what)
        if isinstance(obj, bool):
            return _toml_text(obj)
        if isinstance(obj, dict):
            return {k: self._resolve_all(v, f"{what}.{k}" if what else k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._resolve_all(v, what) for v in obj]
        return obj

    def set_variable(self, name: str, value: str, *, secret: bool) -> None:
        self.variables[name] = value
        if secret or _SECRETISH.search(name):
            self.redactor.add(value)

    def run(self) -> list[StepResult]:
        # --var first, so that [variables] built from others see the overrides; then [variables] in order
        # (each may use the ones before it), skipping the names --var overrides.
        self.variables.update(self.cli_variables)
        for name, value in self.job.variables.items():
            if name not in self.cli_variables:
                self.variables[name] = self.resolve(value, f"{self.job.name}: variable {name}")
        for step in self.job.steps:
            self.on_start(step)
            started_wall = time.time()
            started = time.monotonic()
            result = StepResult(step.name, step.type)
            try:
                if step.type == "oauth2":
                    self._oauth2(step, result)
                elif step.type == "python":
                    self._python(step, result)
                elif step.type == "query":
                    self._query(step, result)
                else:
                    raise InvalidInputError(f"{self.job.path}: step {step.name!r}: unknown type {step.type!r} "
                                            f"(use oauth2, python or query)")
            except BaseException as e:
                result.status = "failed" if isinstance(e, Exception) else "interrupted"
                result.detail = self.redactor.redact(str(e)) if isinstance(e, Exception) else \
                    f"interrupted ({type(e).__name__})"
                result.elapsed = time.monotonic() - started
                self.results.append(result)
                if not getattr(e, "rsd_recorded", False):
                    self._record(step, result, started_wall)
                self.report(result)
                if isinstance(e, RsdError):
                    e.message = f"job {self.job.name}, step {step.name!r}: {e.message}"
                    e.args = (e.message,)
                raise
            result.elapsed = time.monotonic() - started
            self.results.append(result)
            if step.type != "query":  # a query step was recorded by rsd.api.run in its own database
                self._record(step, result, started_wall)
            self.report(result)
        return self.results

    # -- run history -----------------------------------------------------------------------------
    def databases(self) -> list[str]:
        """The database URLs the job's query steps load (as far as they resolve now), each once."""
        from ..sinks.targets import parse_target

        urls: list[str] = []
        seen: set = set()
        for step in self.job.steps:
            output = step.fields.get("output")
            if step.type != "query" or not isinstance(output, str):
                continue
            try:
                url = self.resolve(output)
                target = parse_target(url, str(self.job.base_dir))
            except RsdError:
                continue
            if target.is_database and target.location not in seen:
                seen.add(target.location)
                urls.append(url)
        return urls

    def _record(self, step: Step, result: StepResult, started: float) -> None:
        """One `_rsd_runs` row for a step that `rsd.api.run` did not record. Never raises: history is
        best effort for these steps, and must not hide the step's own outcome."""
        if not self.record:
            return
        from ..sinks import record_run

        if step.type == "query":
            output = step.fields.get("output")
            try:
                urls = [self.resolve(output)] if isinstance(output, str) else []
            except RsdError:
                urls = []
            table = str(step.fields.get("table") or "") or None
        else:
            urls, table = self.databases(), None
        for url in urls:
            try:
                record_run(url, base_dir=str(self.job.base_dir), job=self.job.name, step=step.name, table=table,
                           started=started, finished=time.time(), rows=result.rows, pages=result.pages,
                           requests=result.requests, status=result.status,
                           error=self.redactor.redact(result.detail) if result.status != "ok" else None)
            except Exception:  # noqa: BLE001 - a file target, a missing folder, a database that is down
                pass

    # -- steps -----------------------------------------------------------------------------------
    def _oauth2(self, step: Step, result: StepResult) -> None:
        from ..http.auth import request_token

        f = self._resolve_all({k: v for k, v in step.fields.items() if k not in ("name", "type", "set")},
                              f"step {step.name}")
        grant = str(f.get("grant_type", "refresh_token"))
        sets = step.fields.get("set") or DEFAULT_SET
        if not isinstance(sets, dict):
            raise InvalidInputError(f"step {step.name!r}: set must be a table, e.g. set = {{ access_token = "
                                    f"\"$.access_token\" }}")
        result.requests = 1
        response = request_token(
            token_url=f["token_url"], grant_type=grant, client_id=f.get("client_id"),
            client_secret=f.get("client_secret"), refresh_token=f.get("refresh_token"),
            username=f.get("username"), password=f.get("password"), scope=f.get("scope"),
            client_auth=f.get("client_auth", "body"), params_in=f.get("params_in", "body"),
            extra=f.get("params") or {}, headers=f.get("headers") or {}, redactor=self.redactor,
        )
        from ..mapping import compile_value_path, parse_document
        import json as _json
        doc = parse_document(_json.dumps(response).encode(), "json", source=f"token response of {step.name}")
        for name, path in sets.items():
            value = compile_value_path(str(path), "json")(doc)
            if value is None:
                raise RunError(f"the token response has no value at {path!r} for variable {name!r}")
            self.set_variable(name, str(value), secret=True)
        result.detail = "set " + ", ".join(sets.keys())

    def _python(self, step: Step, result: StepResult) -> None:
        script = self.job.base_dir / str(step.fields["script"])
        try:
            code = compile(script.read_text(encoding="utf-8"), str(script), "exec")
        except OSError as e:
            raise InvalidInputError(f"{script}: cannot read the script: {e.strerror}")
        except SyntaxError as e:
            raise InvalidInputError(f"{script}:{e.lineno}:{e.offset or 1}: Python syntax error: {e.msg}")
        timeout = step.fields.get("timeout")
        changed: list[str] = []

        def on_set(name, value):
            self.set_variable(name, value, secret=False)
            g[name] = value
            changed.append(name)

        g = dict(self.variables)
        g["context"] = Context(self.variables, on_set)
        g["__name__"] = "__rsd_job_step__"
        g["__file__"] = str(script)
        try:
            with _time_limit(float(timeout) if timeout else None):
                exec(code, g)  # noqa: S102 - running the user's own step script is the point
        except StepTimeout:
            raise RunError(f"{script}: the script did not finish within its timeout of {timeout} s")
        except SystemExit as e:
            if e.code not in (None, 0):
                raise RunError(f"{script}: the script exited with status {e.code}")
        except Exception as e:
            line = _script_line(e, str(script))
            raise RunError(f"{script}{line}: the script failed: {type(e).__name__}: "
                           f"{self.redactor.redact(str(e))}")
        result.detail = ("set " + ", ".join(dict.fromkeys(changed))) if changed else "set no variables"

    def _query(self, step: Step, result: StepResult) -> None:
        from .. import api

        f = step.fields
        what = f"step {step.name}"
        # options and the connection string are resolved once, by api.run (with the job's variables)
        options = [(str(k), _toml_text(v)) for k, v in (f.get("options") or {}).items()]
        inputs = {k: self.resolve(_toml_text(v), f"{what}: input {k}") for k, v in (f.get("inputs") or {}).items()}
        output = self.resolve(str(f["output"]), f"{what}: output") if f.get("output") else None
        table = self.resolve(str(f["table"]), f"{what}: table") if f.get("table") else None
        mode = self.resolve(str(f.get("mode", "truncate")), f"{what}: mode")
        summary = api.run(
            str(self.job.base_dir / str(f["profile"])),
            options=options, inputs=inputs, variables=self.variables,
            connection=str(f["connection"]) if f.get("connection") else None,
            options_file=str(self.job.base_dir / str(f["options_file"])) if f.get("options_file") else None,
            output=output, fmt=f.get("format"), table=table, mode=mode,
            limit=f.get("limit"), max_pages=f.get("max_pages"), redactor=self.redactor,
            base_dir=str(self.job.base_dir), job=self.job.name, step=step.name,
            trace=self.trace, on_page=self.on_page,
        )
        result.rows, result.pages, result.requests = summary.rows, summary.pages, summary.requests
        result.detail = f"paging stopped: {summary.stop_reason}"
        result.target = getattr(summary, "target", None) or (output or "stdout")
        if "://" in result.target:
            result.target += f" table {summary.table}"


def _script_line(exc: BaseException, filename: str) -> str:
    """`:LINE` of the deepest frame of the script in a traceback, or ''."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f":{line}" if line else ""
