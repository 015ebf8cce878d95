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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..errors import Diagnostic, InvalidInputError, Loc, OptionError, RsdError, RunError

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
_REF = re.compile(r"\$\{([^}]*)\}")
_SECRETISH = re.compile(r"token|secret|password|passwd|key|credential|auth", re.I)


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


def load_job(path: str) -> Job:
    """Read and shape-check a job file; raises `InvalidInputError` naming the file on TOML errors."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such job file")
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"{path}: not valid TOML: {e}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise InvalidInputError(f"{path}: [variables] must be a table of name = value")
    steps = []
    for i, raw in enumerate(data.get("steps", []), 1):
        if not isinstance(raw, dict):
            raise InvalidInputError(f"{path}: step {i} must be a table ([[steps]])")
        steps.append(Step(i, str(raw.get("name") or f"step{i}"), str(raw.get("type", "")), raw))
    return Job(p, {str(k): str(v) for k, v in variables.items()}, steps)


def _line_of(source: str, needle: str) -> int:
    for n, line in enumerate(source.splitlines(), 1):
        if needle in line:
            return n
    return 1


def check_job(path: str) -> list[Diagnostic]:
    """Offline checks: step types, required fields, variables used but never set, every profile's
    `rsd check` diagnostics. Codes JOBxxx are documented in docs/jobs.md."""
    from ..check import check_paths

    job = load_job(path)
    source = job.path.read_text(encoding="utf-8")
    out: list[Diagnostic] = []

    def diag(code, sev, msg, needle, hint=None):
        out.append(Diagnostic(Loc(str(job.path), _line_of(source, needle), 1), sev, code, msg, hint))

    defined = set(job.variables)
    if not job.steps:
        diag("JOB001", "error", "the job has no steps", "[variables]" if job.variables else "",
             "add [[steps]] tables: type = \"oauth2\", \"python\" or \"query\"")
    for step in job.steps:
        needle = f'name = "{step.name}"' if f'name = "{step.name}"' in source else "[[steps]]"
        if step.type not in STEP_TYPES:
            import difflib
            near = difflib.get_close_matches(step.type, STEP_TYPES, 1)
            diag("JOB002", "error", f"step {step.name!r}: unknown type {step.type!r}", needle,
                 f"did you mean {near[0]!r}?" if near else "use \"oauth2\", \"python\" or \"query\"")
            continue
        for f in REQUIRED[step.type]:
            if f not in step.fields:
                diag("JOB003", "error", f"step {step.name!r} ({step.type}) is missing {f!r}", needle)
        for f in step.fields:
            if f not in KNOWN[step.type]:
                diag("JOB004", "warning", f"step {step.name!r}: unknown field {f!r}", needle)
        for value in _strings(step.fields):
            for ref in _REF.findall(value):
                if ":" not in ref and ref not in defined:
                    diag("JOB005", "error", f"step {step.name!r} uses ${{{ref}}}, which no variable or earlier "
                         f"step sets", needle, f"add it to [variables] or set it in an earlier step")
        if step.type == "oauth2":
            defined.update((step.fields.get("set") or {"access_token": "$.access_token"}).keys())
        elif step.type == "python":
            script = job.base_dir / str(step.fields.get("script", ""))
            if not script.is_file():
                diag("JOB006", "error", f"step {step.name!r}: script {str(script)!r} does not exist", needle)
            else:
                text = script.read_text(encoding="utf-8", errors="replace")
                defined.update(re.findall(r"""update_?[vV]ariable\(\s*['"]([^'"]+)['"]""", text))
        elif step.type == "query" and "profile" in step.fields:
            prof = job.base_dir / str(step.fields["profile"])
            if not prof.exists():
                diag("JOB007", "error", f"step {step.name!r}: profile {str(prof)!r} does not exist", needle)
            else:
                out.extend(check_paths([str(prof)]))
    for name, value in job.variables.items():
        for ref in _REF.findall(value):
            if ":" not in ref and ref not in job.variables:
                diag("JOB005", "error", f"variable {name!r} uses ${{{ref}}}, which is not defined",
                     f"{name} =")
    return out


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


class JobRunner:
    """Runs a job's steps in order. Variables flow from `[variables]` and from each step to the next."""

    def __init__(self, job: Job, *, redactor, variables: Optional[dict] = None,
                 report: Optional[Callable[[StepResult], None]] = None, verbose: bool = False,
                 quiet: bool = False, trace=None, on_page=None):
        self.job = job
        self.redactor = redactor
        self.cli_variables = dict(variables or {})
        self.report = report or (lambda r: None)
        self.trace = trace
        self.on_page = on_page
        self.variables: dict[str, str] = {}
        self.results: list[StepResult] = []

    def resolve(self, text: str) -> str:
        from ..refs import resolve_refs
        return resolve_refs(text, self.variables, base_dir=str(self.job.base_dir), secrets=self.redactor)

    def _resolve_all(self, obj):
        if isinstance(obj, str):
            return self.resolve(obj)
        if isinstance(obj, dict):
            return {k: self._resolve_all(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._resolve_all(v) for v in obj]
        return obj

    def set_variable(self, name: str, value: str, *, secret: bool) -> None:
        self.variables[name] = value
        if secret or _SECRETISH.search(name):
            self.redactor.add(value)

    def run(self) -> list[StepResult]:
        # [variables] first (in order, so later ones may reference earlier ones), then --var overrides
        for name, value in self.job.variables.items():
            self.variables[name] = self.resolve(value)
        for name, value in self.cli_variables.items():
            self.variables[name] = value
        for step in self.job.steps:
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
            except RsdError as e:
                result.status = "failed"
                result.detail = self.redactor.redact(str(e))
                result.elapsed = time.monotonic() - started
                self.results.append(result)
                self.report(result)
                e.message = f"job {self.job.path.name}, step {step.name!r}: {e.message}"
                e.args = (e.message,)
                raise
            result.elapsed = time.monotonic() - started
            self.results.append(result)
            self.report(result)
        return self.results

    # -- steps -----------------------------------------------------------------------------------
    def _oauth2(self, step: Step, result: StepResult) -> None:
        from ..http.auth import request_token

        f = self._resolve_all({k: v for k, v in step.fields.items() if k not in ("name", "type", "set")})
        grant = str(f.get("grant_type", "refresh_token"))
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
        for name, path in (step.fields.get("set") or {"access_token": "$.access_token"}).items():
            value = compile_value_path(str(path), "json")(doc)
            if value is None:
                raise RunError(f"the token response has no value at {path!r} for variable {name!r}")
            self.set_variable(name, str(value), secret=True)
        result.requests = 1
        result.detail = "set " + ", ".join((step.fields.get("set") or {"access_token": ""}).keys())

    def _python(self, step: Step, result: StepResult) -> None:
        script = self.job.base_dir / str(step.fields["script"])
        try:
            code = compile(script.read_text(encoding="utf-8"), str(script), "exec")
        except OSError as e:
            raise InvalidInputError(f"{script}: cannot read the script: {e.strerror}")
        except SyntaxError as e:
            raise InvalidInputError(f"{script}:{e.lineno}:{e.offset or 1}: Python syntax error: {e.msg}")
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
            exec(code, g)  # noqa: S102 - running the user's own step script is the point
        except SystemExit as e:
            if e.code not in (None, 0):
                raise RunError(f"{script}: the script exited with status {e.code}")
        except Exception as e:
            raise RunError(f"{script}: the script failed: {type(e).__name__}: {self.redactor.redact(str(e))}")
        result.detail = ("set " + ", ".join(dict.fromkeys(changed))) if changed else "set no variables"

    def _query(self, step: Step, result: StepResult) -> None:
        from .. import api

        f = step.fields
        options = [(k, self.resolve(str(v))) for k, v in (f.get("options") or {}).items()]
        inputs = {k: self.resolve(str(v)) for k, v in (f.get("inputs") or {}).items()}
        output = self.resolve(str(f["output"])) if f.get("output") else None
        summary = api.run(
            str(self.job.base_dir / str(f["profile"])),
            options=options, inputs=inputs, variables=self.variables,
            connection=self.resolve(str(f["connection"])) if f.get("connection") else None,
            options_file=str(self.job.base_dir / str(f["options_file"])) if f.get("options_file") else None,
            output=output, fmt=f.get("format"), table=f.get("table"), mode=f.get("mode", "truncate"),
            limit=f.get("limit"), max_pages=f.get("max_pages"), redactor=self.redactor,
            base_dir=str(self.job.base_dir), job=self.job.path.name, step=step.name,
            trace=self.trace, on_page=self.on_page, resolved=True,
        )
        result.rows, result.pages, result.requests = summary.rows, summary.pages, summary.requests
        result.detail = f"paging stopped: {summary.stop_reason}"
        result.target = summary.target if hasattr(summary, "target") else (output or "stdout")
