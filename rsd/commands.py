"""The CLI's commands: each turns parsed arguments into one library call and prints the outcome.

Owns: terminal presentation (diagnostics, plans, summaries, progress with rich on stderr) and the
exit code of each command. Must not: hold pipeline logic (that is `rsd.api`, `rsd.jobs`, `rsd.check`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

if TYPE_CHECKING:
    from types import FrameType

    from .api import CommitGate
    from .authoring.shape import Candidate
    from .http.redact import Redactor
    from .jobs.spec import Step, StepResult

from .atomic import write_atomically
from .errors import EXIT_INVALID_INPUT, EXIT_OK, InvalidInputError, OptionError
from .present import (
    Progress,
    job_outcome,
    run_outcome,
    write_summary_json,
    n_of,
    print_diagnostics,
    print_job_table,
    print_summary,
    stderr_console,
    tracer,
)


def new_redactor() -> Redactor:
    from .api import new_redactor as make
    return make()


class Terminated(BaseException):
    """SIGTERM during `rsd run` / `rsd job run`: unwinds like Ctrl-C, so the load in progress is rolled back
    and the run is recorded as interrupted, then the process exits 143 (128 + SIGTERM). A SIGTERM that arrives
    while a load commits waits until it is committed and recorded (`rsd.api.CommitGate`); the message says which."""


@contextmanager
def _signals_unwind(gate: CommitGate) -> Iterator[None]:
    """SIGTERM and Ctrl-C raise `Terminated`/`KeyboardInterrupt` through `gate`, which holds them back while a load
    commits."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Optional[FrameType]) -> None:
        gate.interrupt(Terminated())

    def on_int(signum: int, frame: Optional[FrameType]) -> None:
        gate.interrupt(KeyboardInterrupt())

    previous = {sig: signal.signal(sig, handler) for sig, handler in ((signal.SIGTERM, on_term),
                                                                      (signal.SIGINT, on_int))}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stopped(what: str, gate: CommitGate) -> str:
    """The truth about the load a signal stopped."""
    if gate.committed:
        return f"rsd: {what} after the load in progress was committed (it is complete and recorded)\n"
    if what == "interrupted":
        return "rsd: interrupted; nothing was committed\n"
    return f"rsd: {what}; the load in progress was not committed\n"


def dispatch(args: argparse.Namespace, redactor: Redactor) -> int:
    if args.command in ("run", "job") and getattr(args, "job_command", "run") == "run":
        from .api import CommitGate

        gate = CommitGate()
        try:
            with _signals_unwind(gate):
                return _dispatch(args, redactor, gate)
        except Terminated:
            sys.stderr.write(_stopped("terminated (SIGTERM)", gate))
            return 143
        except KeyboardInterrupt:
            sys.stderr.write(_stopped("interrupted", gate))
            return 130
    return _dispatch(args, redactor)


def _dispatch(args: argparse.Namespace, redactor: Redactor, gate: Optional[CommitGate] = None) -> int:
    if args.command == "check":
        return cmd_check(args)
    if args.command == "run":
        return cmd_run(args, redactor, gate)
    if args.command == "plan":
        return cmd_plan(args, redactor)
    if args.command in ("insert", "update", "delete"):
        return cmd_write(args, redactor)
    if args.command == "init":
        return cmd_init(args, redactor)
    if args.command == "demo":
        from .demo.run import run_demo
        return run_demo(args, redactor)
    if args.command == "job":
        if args.job_command == "check":
            return cmd_job_check(args)
        return cmd_job_run(args, redactor, gate)
    raise AssertionError(args.command)


# --- check --------------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_options_file, check_paths, count_files

    diags = check_paths(args.paths, strict=args.strict)
    for f in args.options_file:
        diags.extend(check_options_file(f, strict=args.strict))
    print_diagnostics(diags, args.format, count_files(args.paths))
    return EXIT_INVALID_INPUT if any(d.is_error for d in diags) else EXIT_OK


# --- run / plan ---------------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace, redactor: Redactor, gate: Optional[CommitGate] = None) -> int:
    from . import api

    fmt = args.format
    if fmt is None and args.output is None:
        fmt = "table" if sys.stdout.isatty() else "csv"
    show_progress = not args.quiet and sys.stderr.isatty() and not args.verbose
    started = time.time()
    try:
        incremental = None
        if args.incremental is not None or args.since_input is not None or args.full_refresh:
            if args.incremental is None and args.full_refresh and args.since_input is None:
                raise OptionError("--full-refresh needs --incremental COLUMN --since-input NAME (it ignores their "
                                  "mark)")
            incremental = api.Incremental(args.incremental or "", args.since_input or "", args.full_refresh)
        with Progress(show_progress, args.profile) as progress:
            summary = api.run(args.profile, options=args.options, options_file=args.options_file,
                              connection=args.connection, inputs=args.inputs, variables=dict(args.variables),
                              output=args.output, fmt=fmt, table=args.table, mode=args.mode, limit=args.limit,
                              max_pages=args.max_pages, redactor=redactor, trace=tracer(args, redactor),
                              on_page=freeze_after_first(progress.update), method=args.method,
                              on_finish=progress.stop,
                              incremental=incremental, strict=args.strict,
                              allow_origins=args.allow_origins, allow_files=args.allow_files, record=args.record,
                              replay=args.replay, concurrency=args.concurrency, rate=args.rate,
                              retries=args.retries, retry_max_wait=args.retry_max_wait,
                              on_retry=retry_notes(args, progress), interrupts=gate, on_total=progress.total)
    except BaseException as e:
        if args.summary_json:
            write_summary_json(args.summary_json, run_outcome(getattr(e, "rsd_summary", None), e, redactor,
                                                              committed=bool(gate and gate.committed),
                                                              started=started))
        raise
    if args.summary_json:
        write_summary_json(args.summary_json, run_outcome(summary, None, redactor, committed=True, started=started))
    print_summary(summary)
    return EXIT_OK


def freeze_after_first(on_page: Callable[[int, int], None]) -> Callable[[int, int], None]:
    """`on_page`, after which the first page also freezes what the process holds by then (`gc.freeze`): every module,
    the profile, the client and the sink are then out of the cyclic collector's reach, so its full collections scan
    only the pages in flight (measured: 8 full collections of about 15 ms each on 200 pages of 1,000 rows, 0.12 s
    of CPU, fell to 0.01 s). The youngest generation is also collected after 10,000 more container objects instead
    of 700: a page's parsed document (1,000 records: some 3,000 dicts and lists, all freed with the page) no longer
    goes through several collections and two promotions while the page is mapped (the other 0.05 s: 987 young
    collections fell to 2). Cyclic garbage still goes at the same rate as the allocations that make it. Only for a
    command's own process: a library caller's objects and collector are not ours to tune."""
    frozen = False

    def update(pages: int, rows: int) -> None:
        nonlocal frozen
        if not frozen:
            frozen = True
            import gc
            gc.freeze()
            gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])
        on_page(pages, rows)
    return update


#: container objects allocated (net of those freed) before the cyclic collector's youngest generation is collected,
#: during a command's run (`freeze_after_first`); Python's default is 700
YOUNG_COLLECTION = 10_000


#: write command -> the method `rsd.api.write` is given (docs/reference/contract.md §8)
WRITE_METHODS = {"insert": "POST", "update": "MERGE", "delete": "DELETE"}


def cmd_write(args: argparse.Namespace, redactor: Redactor) -> int:
    from . import api
    from .engine.writer import WriteError

    if bool(args.inputs) == bool(args.from_file):
        raise OptionError(f"rsd {args.command} needs its rows: -i NAME=VALUE for one row, or --from FILE (CSV with a "
                          f"header row, or JSON Lines), not both")
    if args.errors and not args.continue_on_error:
        raise OptionError("--errors FILE goes with --continue-on-error (without it the first failing row stops the "
                          "command, and its error is printed)")
    fmt = args.format
    if fmt is None and args.output is None:
        fmt = "table" if sys.stdout.isatty() else "csv"
    show_progress = not args.quiet and sys.stderr.isatty() and not args.verbose
    counts = [0, 0]  # rows sent, failed: what an interrupted write has done, which no rollback undoes
    with Progress(show_progress, args.profile) as progress:
        def on_row(sent: int, failed: int) -> None:
            counts[:] = [sent, failed]
            progress.note(f"{sent:,} rows sent, {failed:,} failed")
        try:
            summary = api.write(args.profile, method=WRITE_METHODS[args.command],
                                rows=[args.inputs] if args.inputs else None, from_file=args.from_file,
                                options=args.options, options_file=args.options_file, connection=args.connection,
                                variables=dict(args.variables), output=args.output, fmt=fmt, table=args.table,
                                mode=args.mode, continue_on_error=args.continue_on_error, errors=args.errors,
                                redactor=redactor, trace=tracer(args, redactor), on_row=on_row,
                                allow_origins=args.allow_origins, allow_files=args.allow_files,
                                record=args.record, replay=args.replay, retries=args.retries,
                                retry_max_wait=args.retry_max_wait, on_retry=retry_notes(args, progress))
        except WriteError as e:
            progress.stop()
            print_summary(e.summary)
            raise
        except KeyboardInterrupt:
            progress.stop()
            sent, failed = counts
            if not sent:
                sys.stderr.write("rsd: interrupted; no row was sent\n")
            else:  # api.write keeps the output and errors file of rows that were sent
                sys.stderr.write(f"rsd: interrupted after {sent:,} row{'s' if sent != 1 else ''} had been sent"
                                 f"{f' ({failed:,} failed)' if failed else ''}: they stay sent (an API has no "
                                 f"rollback); the output and the errors file say what happened to them\n")
            return 130
    print_summary(summary)
    return EXIT_OK


def retry_notes(args: argparse.Namespace, progress: Progress) -> Optional[Callable[[str], None]]:
    """Every retry on stderr, even without -v (with -v the trace shows it already)."""
    if getattr(args, "verbose", False):
        return None
    return lambda line: progress.say(f"rsd: {line}")


def cmd_plan(args: argparse.Namespace, redactor: Redactor) -> int:
    from . import api

    plan = api.plan(args.profile, options=args.options, options_file=args.options_file, connection=args.connection,
                    inputs=args.inputs, variables=dict(args.variables), redactor=redactor, method=args.method)
    if args.format == "json":
        json.dump(plan, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    out = sys.stdout.write
    out(f"profile: {plan['profile']}\ntable:   {plan['table']}\n")
    req = plan["request"]
    if req is None:
        out("request: none (the GET script makes no call)\n")
    else:
        out(f"\nfirst request ({req['op']} at {req['at']}):\n  {req['method']} {req['url']}\n")
        for h in req["headers"]:
            out(f"  {h}\n")
        if req["body"]:
            out("  body: " + req["body"].replace("\n", "\n        ") + "\n")
        out(f"\nresponse: {req['response'].upper()}, repeating element {req['repeat'] or '(top-most array)'}, "
            f"DataModel={req['data_model']}\n")
        out(f"paging:   {plan['paging']}\n")
        if plan.get("stops"):
            out("stops on: " + "; ".join(plan["stops"]) + "\n")
    if plan.get("missing"):
        out("\nnot given (a run needs them; pass -i NAME=VALUE): " + ", ".join(plan["missing"]) + "\n")
    out(f"\ncolumns ({len(plan['columns'])}):\n")
    width = max((len(c["name"]) for c in plan["columns"]), default=4)
    for c in plan["columns"]:
        flags = (" key" if c["key"] else "") + (" aggregate" if c["aggregate"] else "")
        out(f"  {c['name']:<{width}}  {c['type']:<8}  {c['path']}{flags}\n")
    return EXIT_OK


# --- init ---------------------------------------------------------------------------------------

def cmd_init(args: argparse.Namespace, redactor: Redactor) -> int:
    from .authoring import init_profile

    choose = _ask_candidate if sys.stdin.isatty() and sys.stderr.isatty() and not args.repeat else None
    if args.output and os.path.exists(args.output) and not args.force:
        raise InvalidInputError(f"{args.output} exists; rsd init does not overwrite a profile",
                                hint="pass --force to replace it, or another --output")
    result = init_profile(args.source, options=args.options, options_file=args.options_file,
                          connection=args.connection, variables=dict(args.variables), repeat=args.repeat,
                          name=args.name, url=args.url, choose=choose, redactor=redactor,
                          trace=tracer(args, redactor))
    if args.output:
        write_atomically(args.output, result.text)
    else:
        sys.stdout.write(result.text)
    err = sys.stderr.write
    if len(result.candidates) > 1 and choose is None and not args.repeat:
        err(f"rsd init: {len(result.candidates)} candidates for the repeating element (records on this page); "
            f"took {result.chosen.path}, --repeat picks another:\n")
        width = max(len(c.path) for c in result.candidates)
        for c in result.candidates:
            err(f"  {c.path:<{width}}  {c.count:,}\n")
    keys = [f.name for f in result.fields if f.key]
    err(f"{args.output or 'stdout'}: {result.title}, {n_of(len(result.fields), 'column')}"
        + (f" (key {keys[0]})" if keys else "") + f" from {n_of(result.chosen.count, 'record')} at "
        f"{result.chosen.path}; paging: {result.paging.describe() if result.paging else 'none detected'}\n")
    for note in result.notes:
        err(f"  note: {redactor.redact(note)}\n")
    for d in result.problems:
        err(f"  {d.severity}: [{d.code}] {d.message} (rsd check --strict would report it; please report it)\n")
    return EXIT_OK


def _ask_candidate(found: Sequence[Candidate]) -> Candidate:
    """On a terminal: list the candidates and ask which one (Enter takes the first)."""
    width = max(len(c.path) for c in found)
    sys.stderr.write("Several repeating elements on this page:\n")
    for i, c in enumerate(found, 1):
        sys.stderr.write(f"  {i}. {c.path:<{width}}  {c.count:,} records\n")
    while True:
        sys.stderr.write(f"Which one? [1-{len(found)}, Enter: 1] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip()
        if not answer:
            return found[0]
        if answer.isdigit() and 1 <= int(answer) <= len(found):
            return found[int(answer) - 1]


# --- jobs ---------------------------------------------------------------------------------------

def cmd_job_check(args: argparse.Namespace) -> int:
    from .jobs import check_job

    diags = check_job(args.job)
    print_diagnostics(diags, args.format)
    return EXIT_INVALID_INPUT if any(d.is_error for d in diags) else EXIT_OK


def cmd_job_run(args: argparse.Namespace, redactor: Redactor, gate: Optional[CommitGate] = None) -> int:
    from .jobs import JobRunner, load_job

    job = load_job(args.job)
    console = stderr_console()
    show_progress = not args.quiet and sys.stderr.isatty() and not args.verbose
    started = time.monotonic()

    def report(result: StepResult) -> None:
        if not args.quiet:
            mark = "ok" if result.status == "ok" else result.status.upper()
            counts = (f"{n_of(result.rows, 'row')}, {n_of(result.pages, 'page')}, " if result.type == "query" else "") \
                + f"{n_of(result.requests, 'request')}, {result.elapsed:.2f} s"
            console.print(f"step {result.step} ({result.type}): {mark} ({counts}) {result.detail}", markup=False,
                          soft_wrap=True)

    with Progress(show_progress, f"job {job.name}", console) as progress:
        def on_start(step: Step) -> None:
            progress.relabel(f"step {step.name} ({step.type})")
            if not args.quiet and not show_progress:
                console.print(f"step {step.name} ({step.type}): running", markup=False, soft_wrap=True)

        runner = JobRunner(job, redactor=redactor, variables=dict(args.variables), report=report,
                           trace=tracer(args, redactor), on_page=freeze_after_first(progress.update), on_start=on_start,
                           on_retry=retry_notes(args, progress), interrupts=gate, on_total=progress.total)
        try:
            runner.run()
        except BaseException as e:
            if args.summary_json:
                write_summary_json(args.summary_json, job_outcome(job.name, runner.results, e, redactor, started))
            raise
        finally:
            if runner.results:
                progress.stop()
                print_job_table(runner.results, job.name, time.monotonic() - started)
    if args.summary_json:
        write_summary_json(args.summary_json, job_outcome(job.name, runner.results, None, redactor, started))
    return EXIT_OK
