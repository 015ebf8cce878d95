"""The library API: what the CLI (and any Python user) calls. Each function is one whole job.

Owns: wiring the pipeline together: read (and refuse a profile with errors) -> resolve options and
secrets -> HTTP client and authentication -> runner -> sink, with the guarantee that a failed run
commits nothing. Must not: print (progress and traces go to callbacks), parse argv.

`run` writes into a target; `collect` returns the rows in memory and `iter_rows` streams them, both with `run`'s
keyword arguments less those that choose an output (`OUTPUT_ARGS`). `write` sends rows back through a profile's
INSERT, UPDATE or DELETE script.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import (IO, TYPE_CHECKING, Any, Callable, Generator, Iterable, Iterator, Mapping, Optional, Protocol,
                    Sequence, Union)

from .errors import InvalidInputError, OptionError, ProfileError, RsdError, RunError
from .reader import read_profile
from .reader.ast import Profile
# a row: one value per column of the profile's `api:info`, in order, typed by `xs:type`; public as rsd.Row
from .rows import Row as Row

if TYPE_CHECKING:
    from .engine.runner import Runner, Summary
    from .engine.writer import WriteSummary
    from .http.client import HttpClient
    from .http.policy import TrustPolicy
    from .http.redact import Redactor
    from .options import ConnectionOptions
    from .sinks.base import Sink

class TraceCallback(Protocol):
    """`trace=`: receives one line per request and response (`rsd run -v`), secrets already redacted."""

    def __call__(self, line: str, /) -> None: ...


class PageCallback(Protocol):
    """`on_page=`: called after every page with the pages and rows received so far (a progress display)."""

    def __call__(self, pages: int, rows: int, /) -> None: ...


class RetryCallback(Protocol):
    """`on_retry=`: receives one line per retried request (what failed, the attempt, the wait), secrets already
    redacted; `rsd run` prints them on stderr."""

    def __call__(self, line: str, /) -> None: ...


class TotalCallback(Protocol):
    """`on_total=`: called when a page tells how many pages or rows the run will have (`totalpagespath`,
    `totalcountpath`, `X-Total-Count`, a `Link` `rel="last"`), None for what it does not tell (a progress bar)."""

    def __call__(self, pages: Optional[int], rows: Optional[int], /) -> None: ...


class FinishCallback(Protocol):
    """`on_finish=`: called once the last page is in, before the output is committed (stop a progress display)."""

    def __call__(self) -> None: ...


#: the keyword arguments of `run` that choose an output: `collect` and `iter_rows` take all the others
OUTPUT_ARGS = ("output", "fmt", "table", "mode", "stream", "job", "step", "on_finish", "incremental", "strict",
               "interrupts")


def load(path: Union[str, Profile]) -> Profile:
    """Read a profile; a profile with errors (those `rsd check` reports as errors) raises `ProfileError`."""
    if isinstance(path, Profile):
        return path
    profile = _read_member(str(path)) if not Path(path).exists() else read_profile(str(path))
    return _refuse_errors(profile, path)


def load_text(text: str, path: str = "<profile>") -> Profile:
    """A profile from its text (a Spark option, say), refused as `load` refuses a file with errors."""
    from .reader import read_text
    return _refuse_errors(read_text(text, path), path)


def _refuse_errors(profile: Profile, path: Union[str, Profile]) -> Profile:
    from .check import check_profile

    # what `rsd check` calls an error cannot run as written (docs/reference/contract.md §1): refuse it before any
    # request
    errors = tuple(d for d in check_profile(profile) if d.is_error)
    if errors:
        first = errors[0]
        raise ProfileError(f"{first.loc}: [{first.code}] {first.message}"
                           + (f" (and {len(errors) - 1} more; run `rsd check {path}`)" if len(errors) > 1 else ""),
                           diagnostics=errors, hint=first.hint)
    return profile


def _read_member(path: str) -> Profile:
    """`X.apip/member.rsd`: one profile of an `.apip` archive."""
    from .reader import read_apip

    norm = path.replace("\\", "/")
    head, sep, member = norm.partition(".apip/")
    if sep and Path(head + ".apip").is_file():
        for prof in read_apip(head + ".apip").profiles:
            if prof.path.replace("\\", "/").lower() == norm.lower():
                return prof
        raise InvalidInputError(f"{path}: the archive {head}.apip has no member {member!r}")
    raise InvalidInputError(f"{path}: no such profile")


def new_redactor() -> Redactor:
    from .http.redact import Redactor
    return Redactor()


def resolve_options(*, options: Sequence[tuple[str, str]] = (), options_file: Optional[str] = None,
                    connection: Optional[str] = None, variables: Optional[Mapping[str, str]] = None,
                    redactor: Optional[Redactor] = None, base_dir: str = ".",
                    resolved: bool = False) -> ConnectionOptions:
    """Connection options from an options file < a connection string < `-o` pairs, with `${...}`
    references resolved and `ProfileSettings` split. Returns a `ConnectionOptions`."""
    from .options import build_options
    return build_options(options=options, options_file=options_file, connection=connection,
                         variables=dict(variables or {}), secrets=redactor, base_dir=base_dir, resolved=resolved)


def make_policy(profile: Optional[Profile] = None, allow_origins: Sequence[str] = (),
                allow_files: Sequence[str] = (), base_dir: str = ".") -> TrustPolicy:
    """The run's trust policy: the first request's origin and the `--allow-origin` URLs receive credentials;
    `file://` URIs read in the profile's folder and the `--allow-files` folders (relative to `base_dir`, a job's
    folder in a job)."""
    from .http.policy import TrustPolicy, profile_folder
    folders = [str(Path(base_dir) / Path(str(f)).expanduser()) for f in allow_files or ()]
    return TrustPolicy(allow_origins=allow_origins or (), allow_files=folders,
                       profile_dir=profile_folder(profile.path) if profile is not None else None)


def make_client(options: ConnectionOptions, redactor: Redactor, trace: Optional[TraceCallback] = None,
                policy: Optional[TrustPolicy] = None, *, auth: Any = None, retries: Optional[int] = None,
                retry_max_wait: Optional[float] = None, on_retry: Optional[RetryCallback] = None,
                record: Optional[str] = None, replay: Optional[str] = None,
                concurrency: Optional[int] = None, rate: Optional[float] = None) -> HttpClient:
    """One HTTP client for the run, with the authentication the options ask for (or `auth`, an object of
    `rsd.http.auth` shared by several runs, whose token requests then go through this client), the run's trust
    policy, its retry budget (`retries`, `retry_max_wait` seconds at most between two attempts) and `on_retry`;
    `record`/`replay` a cassette folder (`rsd.http.cassette`) every exchange goes to or comes from; its request
    budget (`concurrency`/`MaxConcurrency`, default 4; `rate`/`MaxRequestsPerSecond`; docs/reference/contract.md
    §7): `client.concurrency`."""
    from .http.cassette import open_transport
    from .http.client import HttpClient
    from .http.ratelimit import Budget
    from .options import auth_from_options, max_response_bytes, proxies, timeout
    from .options import concurrency as max_concurrency
    from .options import rate as max_rate

    budget: dict[str, Any] = {}
    if retries is not None:
        if int(retries) < 0:
            raise OptionError(f"--retries must be 0 or more, not {retries}")
        budget["max_retries"] = int(retries)
    if retry_max_wait is not None:
        if float(retry_max_wait) < 0:
            raise OptionError(f"--retry-max-wait must be 0 or more seconds, not {retry_max_wait:g}")
        budget["max_backoff"] = float(retry_max_wait)
    transport = open_transport(record=record, replay=replay, redactor=redactor)
    if replay is not None:
        # one request at a time: a concurrent run may ask a page ahead that the recorded run never needed (how far
        # ahead depends on timing), while one at a time asks exactly what the recording's run used
        concurrency = 1
    cap = max_response_bytes(options)
    if cap is not None:
        budget["max_response_bytes"] = cap
    client = HttpClient(timeout=timeout(options) or 60.0, redactor=redactor, proxies=proxies(options), trace=trace,
                        policy=policy, transport=transport,
                        budget=Budget(max_concurrency(options, concurrency), max_rate(options, rate)), **budget)
    client.on_retry = on_retry
    if auth is None:
        client.auth = auth_from_options(options, client=client, redactor=redactor)
    else:
        client.auth = auth
        if hasattr(auth, "client"):
            auth.client = client  # its token requests are this run's (counted, traced, retried)
    return client


class CommitGate:
    """What a signal handler needs to tell the truth about an interrupted load. An interrupt that arrives while a
    load commits and records its run waits until both are done (`committing`), so a run is either not committed (and
    recorded as interrupted) or committed and recorded as ok, never committed and called interrupted; `committed`
    says which, for the message. `rsd run` and `rsd job run` route SIGTERM and Ctrl-C through one (`interrupt`)."""

    def __init__(self) -> None:
        self.committed = False  # the load in progress (the latest to begin) was committed
        self._deferring = False
        self._pending: Optional[BaseException] = None

    def interrupt(self, exc: BaseException) -> None:
        """From a signal handler: raise `exc` now, or when the commit in progress is done."""
        if self._deferring:
            if self._pending is None:
                self._pending = exc
            return
        raise exc

    def begin(self) -> None:
        """A new load (a run, a job step) begins: nothing of it is committed yet."""
        self.committed = False

    @contextmanager
    def committing(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
            pending, self._pending = self._pending, None
            if pending is not None:
                raise pending


@dataclass(frozen=True)
class Incremental:
    """An incremental load (`--incremental CURSOR --since-input NAME`, `--full-refresh`): the target's high-water mark
    of the column `cursor` goes to the profile as `[_input.NAME]`, rows are upserted on the key, and the new mark is
    stored with them (docs/targets.md, "Incremental loads")."""

    cursor: str
    input: str
    full_refresh: bool = False


def load_mode(mode: Optional[str], incremental: Optional[Incremental]) -> str:
    """The load mode of a run: `mode` as given, default truncate; upsert for an incremental load, which refuses the
    modes that would drop the rows it does not reload (unless it reloads everything)."""
    if incremental is None:
        return mode or "truncate"
    if not incremental.cursor or not incremental.input:
        raise OptionError("--incremental COLUMN needs --since-input NAME (the input the profile reads the mark from)"
                          if incremental.cursor else "--since-input needs --incremental COLUMN (the cursor column)")
    chosen = (mode or "upsert").lower()
    if chosen in ("truncate", "replace") and not incremental.full_refresh:
        raise OptionError(f"--incremental loads only the records changed since the mark; --mode {chosen} would drop "
                          f"every other row", hint="use --mode upsert (the default with --incremental) or append, or "
                                                   "add --full-refresh to reload everything")
    return chosen


def _since(sink: Sink, incremental: Incremental,
           inputs: Union[Mapping[str, str], Sequence[tuple[str, str]], None]) -> Optional[str]:
    """The mark to send (None: load everything), read from the target by its sink."""
    pairs = inputs.items() if isinstance(inputs, Mapping) else (inputs or ())
    if any(str(k).lower() == incremental.input.lower() for k, _ in pairs):
        raise OptionError(f"the input {incremental.input} is given with -i and is also --since-input: rsd sends the "
                          f"target's mark there", hint="drop -i, or add --full-refresh to load everything")
    mark = sink.track_cursor(incremental.cursor)
    return None if incremental.full_refresh else mark


@dataclass
class RunResult:
    """What `collect` returns: the run's `Summary`, its rows and the column names (in row order)."""

    summary: Summary
    rows: list[Row] = field(default_factory=list)
    columns: tuple[str, ...] = ()


def run(profile: Union[str, Profile], *, options: Sequence[tuple[str, str]] = (), options_file: Optional[str] = None,
        connection: Optional[str] = None, inputs: Optional[Mapping[str, str]] = None,
        variables: Optional[Mapping[str, str]] = None, output: Optional[str] = None, fmt: Optional[str] = None,
        table: Optional[str] = None, mode: Optional[str] = None, limit: Optional[int] = None,
        max_pages: Optional[int] = None, redactor: Optional[Redactor] = None, trace: Optional[TraceCallback] = None,
        on_page: Optional[PageCallback] = None, stream: Optional[IO[str]] = None, base_dir: str = ".",
        job: Optional[str] = None, step: Optional[str] = None, resolved: bool = False, method: str = "GET",
        on_finish: Optional[FinishCallback] = None, incremental: Optional[Incremental] = None,
        strict: bool = False, allow_origins: Sequence[str] = (), allow_files: Sequence[str] = (), auth: Any = None,
        retries: Optional[int] = None, retry_max_wait: Optional[float] = None,
        on_retry: Optional[RetryCallback] = None, record: Optional[str] = None,
        replay: Optional[str] = None, concurrency: Optional[int] = None,
        rate: Optional[float] = None, interrupts: Optional[CommitGate] = None,
        on_total: Optional[TotalCallback] = None) -> Summary:
    """Run a profile into a target (stdout, a file, a database URL). Returns the `Summary`.

    A failed run raises and leaves the target as it was (files are replaced atomically, database
    tables loaded through a staging table and swapped in one transaction). `mode` defaults to truncate (upsert
    for an `incremental` load). With `strict`, a run whose summary has warnings (a repeating element
    or a column path that matched nothing) fails the same way.
    `auth` (an object of `rsd.http.auth`, e.g. a job's `oauth2` step's, shared by several runs) replaces the
    authentication the options ask for; `retries`, `retry_max_wait` and `on_retry` set the retry budget and report
    each retry (`make_client`).
    `record` keeps every HTTP exchange in a cassette folder (scrubbed of secrets); `replay` answers every
    request from one, with no network.
    `concurrency` and `rate` override the options `MaxConcurrency` (default 4) and `MaxRequestsPerSecond`.
    `interrupts` (a `CommitGate` a signal handler interrupts through) holds an interrupt back while the output is
    committed and the run recorded, and says whether the commit happened.
    """
    from .engine.runner import Runner, group_inputs
    from .sinks import DatabaseSink, open_sink, page_writer, record_run, sink_columns
    from .sinks.targets import parse_target

    redactor = redactor if redactor is not None else new_redactor()
    # A database target records every outcome in `_rsd_runs`, failures before the first request included
    # (a profile with errors, an unresolvable option, a table with other columns): a job's history is complete.
    is_database = parse_target(output, base_dir).is_database
    started = time.time()
    table_name = table
    sink = client = None
    runner: Optional[Runner] = None
    summary = None
    gate = interrupts if interrupts is not None else CommitGate()
    gate.begin()
    try:
        mode = load_mode(mode, incremental)
        prof = load(profile)
        table_name = table or prof.title
        opts = resolve_options(options=options, options_file=options_file, connection=connection,
                               variables=variables, redactor=redactor, base_dir=base_dir, resolved=resolved)
        client = make_client(opts, redactor, trace, make_policy(prof, allow_origins, allow_files, base_dir),
                             auth=auth, retries=retries,
                             retry_max_wait=retry_max_wait, on_retry=on_retry,
                             record=record, replay=replay, concurrency=concurrency, rate=rate)
        runner = Runner(prof, connection=list(opts.items()), inputs=inputs or {}, http=client,
                        redactor=redactor, method=method, limit=int(limit) if limit else None,
                        max_pages=int(max_pages) if max_pages else None, on_page=on_page,
                        concurrency=client.concurrency)
        runner.state.on_total = on_total
        sink = open_sink(output, fmt, sink_columns(runner.columns), table=table_name, mode=mode,
                         stream=stream if stream is not None else sys.stdout, base_dir=base_dir)
        since = None
        if incremental is not None:
            since = _since(sink, incremental, inputs)
            if since is not None:
                runner.inputs.update(group_inputs([(incremental.input, since)]))
        summary = runner.run(page_writer(sink))  # rows, or Arrow batches for a sink that takes them
        if strict and summary.warnings:
            raise RunError(f"--strict: the run has {len(summary.warnings)} warning"
                           f"{'s' if len(summary.warnings) != 1 else ''}, so nothing was written: "
                           + "; ".join(summary.warnings),
                           hint="fix the profile, or run without --strict to load the rows as they are")
        if on_finish is not None:
            on_finish()  # e.g. stop a progress display before a terminal table is printed
        with gate.committing():  # an interrupt waits until the output is committed and the run recorded
            sink.close()
            gate.committed = True
            if incremental is not None:
                summary.incremental = {"cursor": incremental.cursor, "input": incremental.input, "since": since,
                                       "mark": sink.mark, "full_refresh": incremental.full_refresh}
            summary.table = table_name
            summary.target = getattr(sink, "url_redacted", None) or (output or "stdout")
            if isinstance(sink, DatabaseSink):
                _record(record_run, output, base_dir, job, step, table_name, started, summary, "ok", None)
    except BaseException as e:
        # what the run did before it stopped, for `--summary-json` (a scheduler wants the counts of a failure too)
        so_far = summary if summary is not None else _so_far(profile, table_name, runner, client, started)
        _mark(e, rsd_summary=so_far)
        if gate.committed:  # the rows are in and the run recorded as ok: only what came after failed
            _mark(e, rsd_committed=True, rsd_recorded=True)
            raise
        if sink is not None:
            sink.abort()
        if is_database:
            if isinstance(e, Exception):
                status, error = "failed", redactor.redact(str(e))
            else:  # KeyboardInterrupt, SIGTERM turned into an exception, SystemExit
                status, error = "interrupted", f"interrupted ({type(e).__name__}); nothing was committed"
            # no rows were committed; the pages and requests it sent are recorded
            if _record(record_run, output, base_dir, job, step, table_name, started, None, status, error,
                       requests=so_far.requests, pages=so_far.pages, warnings=so_far.warnings):
                _mark(e, rsd_recorded=True)  # a job does not record this step again
        raise
    finally:
        if client is not None:
            client.close()
    return summary


def _so_far(profile: Union[str, Profile], table: Optional[str], runner: Optional[Runner],
            client: Optional[HttpClient], started: float) -> Summary:
    """The summary of a run that did not finish: its counters as they were when it stopped."""
    from .engine.runner import Summary

    path = profile.path if isinstance(profile, Profile) else str(profile)
    summary = Summary(profile=path, table=table or "", elapsed=time.time() - started, status="failed")
    if runner is not None:
        summary.rows, summary.pages = runner.state.rows, runner.state.pages
    if client is not None:
        summary.requests, summary.retries = client.requests, client.retries
    return summary


def _mark(e: BaseException, **flags: object) -> None:
    for name, value in flags.items():
        try:
            setattr(e, name, value)
        except AttributeError:
            pass


def _record(record_run: Callable[..., None], output: Optional[str], base_dir: str, job: Optional[str],
            step: Optional[str], table: Optional[str], started: float, summary: Optional[Summary], status: str,
            error: Optional[str], requests: int = 0, pages: int = 0, warnings: Sequence[str] = ()) -> bool:
    """One row in `_rsd_runs`; a failure to record a failed run must not hide the run's own error.
    Returns whether the row was written."""
    try:
        record_run(output, base_dir=base_dir, job=job or "", step=step or "", table=table, started=started,
                   finished=time.time(),
                   rows=summary.rows if summary else 0, pages=summary.pages if summary else pages,
                   requests=summary.requests if summary else requests, status=status, error=error,
                   warnings=summary.warnings if summary else warnings)
    except RsdError:
        if status == "ok":
            raise
        return False
    return True


def _prepare(profile: Union[str, Profile], options: Sequence[tuple[str, str]], options_file: Optional[str],
             connection: Optional[str], inputs: Optional[Mapping[str, str]], variables: Optional[Mapping[str, str]],
             limit: Optional[int], max_pages: Optional[int], redactor: Optional[Redactor],
             trace: Optional[TraceCallback], on_page: Optional[PageCallback], base_dir: str, resolved: bool,
             method: str, client_settings: Mapping[str, Any], batch: Optional[int] = None,
             allow_origins: Sequence[str] = (), allow_files: Sequence[str] = (),
             on_total: Optional[TotalCallback] = None) -> tuple[Runner, HttpClient]:
    """The runner of a run without an output, and its HTTP client (which the caller closes)."""
    from .engine.runner import BATCH, Runner

    redactor = redactor if redactor is not None else new_redactor()
    prof = load(profile)
    opts = resolve_options(options=options, options_file=options_file, connection=connection,
                           variables=variables, redactor=redactor, base_dir=base_dir, resolved=resolved)
    client = make_client(opts, redactor, trace, make_policy(prof, allow_origins, allow_files, base_dir),
                         **client_settings)
    try:
        runner = Runner(prof, connection=list(opts.items()), inputs=inputs or {}, http=client, redactor=redactor,
                        method=method, limit=int(limit) if limit else None,
                        max_pages=int(max_pages) if max_pages else None, on_page=on_page, batch=batch or BATCH,
                        concurrency=client.concurrency)
        runner.state.on_total = on_total
    except BaseException:
        client.close()
        raise
    return runner, client


def collect(profile: Union[str, Profile], *, options: Sequence[tuple[str, str]] = (),
            options_file: Optional[str] = None, connection: Optional[str] = None,
            inputs: Optional[Mapping[str, str]] = None, variables: Optional[Mapping[str, str]] = None,
            limit: Optional[int] = None, max_pages: Optional[int] = None, redactor: Optional[Redactor] = None,
            trace: Optional[TraceCallback] = None, on_page: Optional[PageCallback] = None, base_dir: str = ".",
            resolved: bool = False, method: str = "GET", allow_origins: Sequence[str] = (),
            allow_files: Sequence[str] = (), auth: Any = None,
            retries: Optional[int] = None, retry_max_wait: Optional[float] = None,
            on_retry: Optional[RetryCallback] = None, record: Optional[str] = None,
            replay: Optional[str] = None, concurrency: Optional[int] = None,
            rate: Optional[float] = None, on_total: Optional[TotalCallback] = None) -> RunResult:
    """Run a profile and return all its rows in memory (`RunResult`: summary, rows, columns); `run`'s arguments
    less the output ones. For results that fit in memory; `iter_rows` streams."""
    runner, client = _prepare(profile, options, options_file, connection, inputs, variables, limit, max_pages,
                              redactor, trace, on_page, base_dir, resolved, method,
                              dict(auth=auth, retries=retries, retry_max_wait=retry_max_wait, on_retry=on_retry,
                                   record=record, replay=replay, concurrency=concurrency, rate=rate),
                              allow_origins=allow_origins, allow_files=allow_files, on_total=on_total)
    rows: list[Row] = []
    try:
        summary = runner.run(rows.extend)
    finally:
        client.close()
    return RunResult(summary, rows, tuple(c.name for c in runner.columns))


class _Stopped(BaseException):
    """The consumer of `iter_rows` stopped: unwinds the run in its thread (not catchable by `api:catch`)."""


_END = object()


def iter_rows(profile: Union[str, Profile], *, options: Sequence[tuple[str, str]] = (),
              options_file: Optional[str] = None, connection: Optional[str] = None,
              inputs: Optional[Mapping[str, str]] = None, variables: Optional[Mapping[str, str]] = None,
              limit: Optional[int] = None, max_pages: Optional[int] = None, redactor: Optional[Redactor] = None,
              trace: Optional[TraceCallback] = None, on_page: Optional[PageCallback] = None, base_dir: str = ".",
              resolved: bool = False, method: str = "GET", allow_origins: Sequence[str] = (),
              allow_files: Sequence[str] = (), auth: Any = None,
              retries: Optional[int] = None, retry_max_wait: Optional[float] = None,
              on_retry: Optional[RetryCallback] = None, record: Optional[str] = None,
              replay: Optional[str] = None, concurrency: Optional[int] = None,
              rate: Optional[float] = None, on_total: Optional[TotalCallback] = None) -> Iterator[Row]:
    """Run a profile and yield its rows (tuples in column order) as pages arrive; `run`'s arguments less the
    output ones. Nothing is written or committed anywhere.

    The run goes on in a worker thread at most a few pages ahead of the consumer (`trace` and `on_page` are called
    from that thread). Errors are raised in the consumer, as from `run`. When the consumer stops early (`break`, an
    exception, `close()`, or the generator being collected), no further request is sent, the worker ends and the
    run's HTTP session is closed.
    """
    runner, client = _prepare(profile, options, options_file, connection, inputs, variables, limit, max_pages,
                              redactor, trace, on_page, base_dir, resolved, method,
                              dict(auth=auth, retries=retries, retry_max_wait=retry_max_wait, on_retry=on_retry,
                                   record=record, replay=replay, concurrency=concurrency, rate=rate),
                              batch=_STREAM_BATCH, allow_origins=allow_origins, allow_files=allow_files,
                              on_total=on_total)
    pages = stream_pages(runner, client)
    try:
        for page in pages:
            yield from page
    finally:
        pages.close()  # the consumer stopped: the worker ends now, not when the generator is collected


def stream_pages(runner: Runner, client: HttpClient, *, ahead: int = 2) -> Generator[list[Row], None, None]:
    """Run `runner` in a worker thread and yield what it writes (lists of row tuples, a page or so each), at most
    `ahead` hand-overs ahead of the consumer. Errors are raised in the consumer. When the consumer stops early
    (`break`, an exception, `close()`), no further request is sent and the worker ends; `client` is closed either
    way. `iter_rows` and each partition of the Spark data source (rsd.spark) run through it."""
    pages: queue.Queue[object] = queue.Queue(maxsize=ahead)
    stopped = threading.Event()

    def hand_over(item: object) -> None:
        while True:
            if stopped.is_set():
                raise _Stopped()
            try:
                pages.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def work() -> None:
        try:
            runner.run(hand_over)
            hand_over(_END)
        except _Stopped:
            pass
        except BaseException as e:  # handed to the consumer, raised there
            try:
                hand_over(_Failure(e))
            except _Stopped:
                pass

    worker = threading.Thread(target=work, name="rsd-stream-pages", daemon=True)
    worker.start()
    try:
        while True:
            item = pages.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]  # a batch: a list of rows
    finally:
        stopped.set()
        worker.join()
        client.close()


@dataclass
class _Failure:
    error: BaseException


#: rows per hand-over of `iter_rows`: small, so that rows reach the consumer about a page at a time
_STREAM_BATCH = 100


def plan(profile: Union[str, Profile], *, options: Sequence[tuple[str, str]] = (), options_file: Optional[str] = None,
         connection: Optional[str] = None, inputs: Optional[Mapping[str, str]] = None,
         variables: Optional[Mapping[str, str]] = None, redactor: Optional[Redactor] = None, base_dir: str = ".",
         method: str = "GET") -> dict[str, Any]:
    """A dry run: the first request the profile would send, and its paging and column plan. Sends nothing."""
    from .engine.plan import make_plan

    redactor = redactor if redactor is not None else new_redactor()
    prof = load(profile)
    opts = resolve_options(options=options, options_file=options_file, connection=connection,
                           variables=variables, redactor=redactor, base_dir=base_dir)
    return make_plan(prof, opts, inputs or {}, redactor, method=method)


class RowCallback(Protocol):
    """`on_row=`: called after every row of a write with the rows sent and failed so far (a progress display)."""

    def __call__(self, sent: int, failed: int, /) -> None: ...


def write(profile: Union[str, Profile], *, method: str, rows: Optional[Iterable[Any]] = None,
          from_file: Optional[str] = None, options: Sequence[tuple[str, str]] = (), options_file: Optional[str] = None,
          connection: Optional[str] = None, variables: Optional[Mapping[str, str]] = None,
          output: Optional[str] = None, fmt: Optional[str] = None, table: Optional[str] = None,
          mode: Optional[str] = None, continue_on_error: bool = False, errors: Optional[str] = None,
          redactor: Optional[Redactor] = None, trace: Optional[TraceCallback] = None,
          on_row: Optional[RowCallback] = None, stream: Optional[IO[str]] = None, base_dir: str = ".",
          resolved: bool = False, allow_origins: Sequence[str] = (), allow_files: Sequence[str] = (),
          retries: Optional[int] = None, retry_max_wait: Optional[float] = None,
          on_retry: Optional[RetryCallback] = None, record: Optional[str] = None,
          replay: Optional[str] = None) -> WriteSummary:
    """Write rows back through a profile (docs/reference/contract.md §8): its INSERT (`method="POST"`), UPDATE
    (`"MERGE"`, or the profile's PUT/PATCH script) or DELETE script, run once per row with the row's values as
    `[_input.NAME]`. `rows` is an iterable of mappings (or of (name, value) pairs); `from_file` a CSV file with a
    header row (an empty field is null) or JSON Lines. A name that is neither a column nor an input of the profile
    raises `InvalidInputError` before any request.

    What the script pushes (the created record, say) is written like `run`'s rows to `output`. The first failing
    row stops the write with `WriteError` (the rows before it were sent and stay sent: an API has no transaction);
    with `continue_on_error` every row is tried, failed rows go to the `errors` file (JSON Lines: row, input,
    error, redacted) and `WriteError` is raised at the end if any failed. The output and the errors file hold
    what happened to the rows that were sent, also when the write stops. `retries`, `retry_max_wait` and `on_retry`
    are `run`'s; a POST or PATCH is never sent again once it may have reached the server. `record` and `replay`
    are `run`'s cassettes (a replayed write sends nothing). Returns the `WriteSummary`.
    """
    from .engine.writer import WriteError, Writer, pairs_of
    from .sinks import open_sink, sink_columns
    from .sinks.rowfiles import ErrorsFile, InputRow, read_rows

    if (rows is None) == (from_file is None):
        raise OptionError("give the rows to write either as rows (-i NAME=VALUE) or from a file (--from FILE)")
    redactor = redactor if redactor is not None else new_redactor()
    started = time.monotonic()
    given = None if rows is None else [InputRow(i, i, tuple(pairs_of(r))) for i, r in enumerate(rows, 1)]

    def source() -> Iterable[InputRow]:
        if given is not None:
            return given
        assert from_file is not None
        return read_rows(from_file)

    def where(r: InputRow) -> str:
        return f"{from_file}:{r.line}: row {r.row}" if from_file else f"row {r.row}"

    prof = load(profile)
    opts = resolve_options(options=options, options_file=options_file, connection=connection,
                           variables=variables, redactor=redactor, base_dir=base_dir, resolved=resolved)
    client = make_client(opts, redactor, trace, make_policy(prof, allow_origins, allow_files, base_dir),
                         retries=retries, retry_max_wait=retry_max_wait, on_retry=on_retry,
                         record=record, replay=replay)
    sink = errors_file = None
    summary = None
    try:
        writer = Writer(prof, method=method, connection=list(opts.items()), http=client, redactor=redactor)
        summary = writer.summary
        for r in source():  # every name of every row is checked before anything is sent
            for name, close in writer.unknown(dict.fromkeys(n for n, _ in r.values)):
                raise InvalidInputError(f"{where(r)}: {name!r} is neither a column nor an input of {prof.path}, "
                                        f"so nothing would be written for it; nothing was sent",
                                        hint=f"did you mean {close!r}?" if close else
                                        "the names are: " + ", ".join(writer.names.values()))
        sink = open_sink(output, fmt, sink_columns(writer.columns), table=table or prof.title,
                         mode=load_mode(mode, None), stream=stream if stream is not None else sys.stdout,
                         base_dir=base_dir)
        errors_file = ErrorsFile(errors) if errors else None
        stop: Optional[tuple[InputRow, str]] = None
        for r in source():
            failure = writer.execute(r.row, r.values, sink.write)
            if on_row is not None:
                on_row(summary.sent, summary.failed)
            if failure is not None:
                if errors_file is not None:
                    errors_file.add(failure.row, failure.input, failure.error)
                if not continue_on_error:
                    stop = (r, failure.error)
                    summary.stopped_at = r.row
                    break
        summary.elapsed = time.monotonic() - started
        summary.output_to = getattr(sink, "url_redacted", None) or (output or "stdout")
        summary.errors_to = errors
        sink.close()
        sink = None
        if errors_file is not None:
            errors_file.close()
            errors_file = None
        if stop is not None:
            r, error = stop
            summary.status = "failed"
            raise WriteError(f"{where(r)} failed, so the {writer.action.lower()} stopped: {error}; "
                             f"{_n(summary.succeeded, 'row')} before it {'was' if summary.succeeded == 1 else 'were'} "
                             f"sent and stay{'s' if summary.succeeded == 1 else ''} sent (an API has no transaction), "
                             f"none after it was sent", summary,
                             hint="add --continue-on-error (and --errors FILE) to try every row")
        if summary.failed:
            summary.status = "failed"
            shown = "; ".join(f"row {f.row}: {f.error}" for f in summary.failures[:3])
            raise WriteError(f"{summary.failed:,} of {summary.sent:,} rows failed"
                             + (f" (they are in {errors})" if errors else f": {shown}"
                                + (" ..." if summary.failed > 3 else "")), summary)
    except BaseException:
        # rows already sent stay sent: the output and the errors file say what happened to them
        sent = summary is not None and summary.sent > 0
        for f in (sink, errors_file):
            if f is not None:
                try:
                    f.close() if sent else f.abort()
                except Exception:
                    f.abort()
        raise
    finally:
        client.close()
    return summary


def _n(count: int, one: str) -> str:
    return f"{count:,} {one}{'' if count == 1 else 's'}"
