"""`rsd job run`: the steps of a job in order, sharing variables.

Owns: `oauth2` steps (a token request whose response values become variables), `python` steps (a script
with the variables as globals and Matillion's `context`), `query` steps (a profile into a target through
`rsd.api.run`), `_rsd_runs` rows for steps that are not queries, and time limits. Must not: print
(progress and summaries go through the `report` callback the CLI passes), or resolve references itself.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

from ..errors import HttpError, InvalidInputError, RsdError, RunError
from ..secrets import is_secret_variable
from .spec import DEFAULT_SET, Job, Step, StepResult, _toml_text

if TYPE_CHECKING:
    from ..api import CommitGate, Incremental, PageCallback, TotalCallback, TraceCallback
    from ..engine.runner import Summary
    from ..http.client import HttpClient
    from ..http.redact import Redactor


class Context:
    """The `context` a python step sees: Matillion's Python Script component API."""

    def __init__(self, variables: dict[str, Any], on_set: Callable[[str, str], None]) -> None:
        self._variables = variables
        self._on_set = on_set

    def updateVariable(self, name: str, value: object) -> None:  # noqa: N802 - Matillion's spelling
        self._on_set(str(name), "" if value is None else str(value))

    update_variable = updateVariable

    def getVariable(self, name: str) -> Any:  # noqa: N802
        return self._variables.get(name)

    get_variable = getVariable


class StepTimeout(BaseException):
    """Raised inside a python step when its `timeout` runs out (a BaseException: scripts' `except Exception`
    must not swallow it)."""


@contextmanager
def _time_limit(seconds: Optional[float]) -> Iterator[None]:
    """SIGALRM-based limit for in-process scripts; a no-op off the main thread or where SIGALRM is missing."""
    import signal
    import threading

    if not seconds or not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
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

    def __init__(self, job: Job, *, redactor: Redactor, variables: Optional[dict[str, Any]] = None,
                 report: Optional[Callable[[StepResult], None]] = None, verbose: bool = False,
                 quiet: bool = False, trace: Optional[TraceCallback] = None, on_page: Optional[PageCallback] = None,
                 on_start: Optional[Callable[[Step], None]] = None, record: bool = True,
                 on_retry: Optional[Callable[[str], None]] = None, interrupts: Optional[CommitGate] = None,
                 on_total: Optional[TotalCallback] = None) -> None:
        self.job = job
        self.redactor = redactor
        self.cli_variables = dict(variables or {})
        self.report = report or (lambda r: None)
        self.trace = trace
        self.on_page = on_page
        self.on_start = on_start or (lambda s: None)
        self.record = record
        self.on_retry = on_retry
        self.on_total = on_total
        self.interrupts = interrupts  # an rsd.api.CommitGate: signals wait while a step commits
        self.variables: dict[str, str] = {}
        self.results: list[StepResult] = []
        #: the live auth of each oauth2 step (by step name): query steps with `auth = "NAME"` share it
        self.auths: dict[str, Any] = {}
        self._set_by: dict[str, str] = {}  # variable -> the oauth2 step that set it
        #: the HTTP client of the oauth2 steps' token requests, for the whole job
        self._token_client: Optional[HttpClient] = None

    def resolve(self, text: str, what: Optional[str] = None) -> str:
        from ..refs import resolve_refs
        return resolve_refs(text, self.variables, base_dir=str(self.job.base_dir), secrets=self.redactor, what=what)

    def _resolve_all(self, obj: object, what: Optional[str] = None) -> Any:
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
        if secret or is_secret_variable(name):
            self.redactor.add(value)

    def run(self) -> list[StepResult]:
        # --var first, so that [variables] built from others see the overrides; then [variables] in order
        # (each may use the ones before it), skipping the names --var overrides.
        self.variables.update(self.cli_variables)
        for name, value in self.job.variables.items():
            if name not in self.cli_variables:
                self.variables[name] = self.resolve(value, f"{self.job.name}: variable {name}")
        try:
            return self._steps()
        finally:
            if self._token_client is not None:
                self._token_client.close()

    def _steps(self) -> list[StepResult]:
        for step in self.job.steps:
            if self.interrupts is not None:
                self.interrupts.begin()
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
                if getattr(e, "rsd_committed", False):  # the step's load is in and recorded; the job stops here
                    result.status, result.detail = "ok", f"committed, then {result.detail}"
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
        seen: set[Any] = set()
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
        from ..http.auth import job_oauth2
        from ..http.client import HttpClient

        f = self._resolve_all({k: v for k, v in step.fields.items() if k not in ("name", "type", "set")},
                              f"step {step.name}")
        grant = str(f.get("grant_type", "refresh_token"))
        sets = step.fields.get("set") or DEFAULT_SET
        if not isinstance(sets, dict):
            raise InvalidInputError(f"step {step.name!r}: set must be a table, e.g. set = {{ access_token = "
                                    f"\"$.access_token\" }}")
        result.requests = 1
        if self._token_client is None:
            self._token_client = HttpClient(redactor=self.redactor, trace=self.trace)
            self._token_client.on_retry = self.on_retry
        auth = job_oauth2(
            token_url=f["token_url"], grant_type=grant, client_id=f.get("client_id"),
            client_secret=f.get("client_secret"), refresh_token=f.get("refresh_token"),
            username=f.get("username"), password=f.get("password"), scope=f.get("scope"),
            client_auth=f.get("client_auth", "body"), params_in=f.get("params_in", "body"),
            extra=f.get("params") or {}, headers=f.get("headers") or {}, redactor=self.redactor,
            client=self._token_client,
        )
        auth.access_token()
        response = auth.last_response
        self.auths[step.name] = auth
        import json as _json

        from ..mapping import compile_value_path, parse_document
        doc = parse_document(_json.dumps(response).encode(), "json", source=f"token response of {step.name}")
        for name, path in sets.items():
            value = compile_value_path(str(path), "json")(doc)
            if value is None:
                raise RunError(f"the token response has no value at {path!r} for variable {name!r}")
            self.set_variable(name, str(value), secret=True)
            self._set_by[name.lower()] = step.name
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

        def on_set(name: str, value: str) -> None:
            self.set_variable(name, value, secret=False)
            g[name] = value
            changed.append(name)

        g: dict[str, Any] = dict(self.variables)
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
        mode = self.resolve(str(f["mode"]), f"{what}: mode") if f.get("mode") else None
        inc = f.get("incremental")
        incremental = api.Incremental(self.resolve(str(inc.get("cursor") or ""), f"{what}: incremental.cursor"),
                                      self.resolve(str(inc.get("input") or ""), f"{what}: incremental.input"),
                                      f.get("full_refresh") is True) if isinstance(inc, dict) else None
        auth = None
        if f.get("auth"):
            auth = self.auths.get(str(f["auth"]))
            if auth is None:
                raise InvalidInputError(f"{what}: auth = {str(f['auth'])!r} names no oauth2 step that ran before it",
                                        hint="auth names an earlier step of type oauth2, whose token the step "
                                             "then uses and refreshes")
        try:
            summary = self._run_query(step, f, options, inputs, output, table, mode, incremental, auth)
        except BaseException as e:
            # a failed step committed no rows, but its requests and pages were sent: the table and _rsd_runs say so
            so_far = getattr(e, "rsd_summary", None)
            if so_far is not None:
                result.pages, result.requests = so_far.pages, so_far.requests
            if isinstance(e, HttpError) and e.status == 401 and auth is None:
                self._hint_expired_token(step, e)
            raise
        result.rows, result.pages, result.requests = summary.rows, summary.pages, summary.requests
        result.detail = f"paging stopped: {summary.stop_reason}"
        if summary.incremental:
            since = summary.incremental.get("since")
            result.detail += f"; since {since}" if since is not None else "; no mark: everything"
        result.target = getattr(summary, "target", None) or (output or "stdout")
        if "://" in result.target:
            result.target += f" table {summary.table}"

    def _hint_expired_token(self, step: Step, error: HttpError) -> None:
        """A 401 in a step that sends a token an earlier oauth2 step obtained: it may have expired."""
        from .spec import _REF, _strings

        used = {m.strip().lower() for text in _strings({k: step.fields.get(k) for k in ("options", "connection")})
                for m in _REF.findall(text)}
        sources = sorted({self._set_by[v] for v in used if v in self._set_by})
        if not sources:
            return
        name = sources[0]
        auth = self.auths.get(name)
        age = ""
        if auth is not None and auth.obtained_at is not None:
            age = f" {time.monotonic() - auth.obtained_at:.0f} s ago"
            lifetime = auth.last_response.get("expires_in")
            if lifetime:
                age += f", valid for {lifetime} s"
        error.hint = (f"the access token from step {name!r} (obtained{age}) may have expired: add auth = "
                      f"\"{name}\" to step {step.name!r} so it uses that step's credentials and refreshes the token "
                      f"before it expires and on a 401 (docs/jobs.md)")

    def _run_query(self, step: Step, f: dict[str, Any], options: list[tuple[str, str]], inputs: dict[str, str],
                   output: Optional[str], table: Optional[str], mode: Optional[str],
                   incremental: Optional[Incremental], auth: Any) -> Summary:
        from .. import api

        return api.run(
            str(self.job.base_dir / str(f["profile"])),
            options=options, inputs=inputs, variables=self.variables,
            connection=str(f["connection"]) if f.get("connection") else None,
            options_file=str(self.job.base_dir / str(f["options_file"])) if f.get("options_file") else None,
            output=output, fmt=f.get("format"), table=table, mode=mode,
            limit=f.get("limit"), max_pages=f.get("max_pages"), redactor=self.redactor,
            base_dir=str(self.job.base_dir), job=self.job.name, step=step.name,
            trace=self.trace, on_page=self.on_page, incremental=incremental, auth=auth, on_retry=self.on_retry,
            retries=f.get("retries"), retry_max_wait=f.get("retry_max_wait"), concurrency=f.get("concurrency"),
            rate=f.get("rate"),
            interrupts=self.interrupts, on_total=self.on_total,
            allow_origins=[self.resolve(str(u), f"step {step.name}: allow_origins")
                           for u in f.get("allow_origins") or ()],
            allow_files=[self.resolve(str(d), f"step {step.name}: allow_files") for d in f.get("allow_files") or ()],
        )


def _script_line(exc: BaseException, filename: str) -> str:
    """`:LINE` of the deepest frame of the script in a traceback, or ''."""
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f":{line}" if line else ""
