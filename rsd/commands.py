"""The CLI's commands: each turns parsed arguments into one library call and prints the outcome.

Owns: terminal presentation (diagnostics, plans, summaries, progress with rich on stderr) and the
exit code of each command. Must not: hold pipeline logic (that is `rsd.api`, `rsd.jobs`, `rsd.check`).
"""
from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from typing import Optional

from .errors import EXIT_INVALID_INPUT, EXIT_OK


def new_redactor():
    from .api import new_redactor as make
    return make()


class Terminated(BaseException):
    """SIGTERM during `rsd run` / `rsd job run`: unwinds like Ctrl-C, so the load in progress is rolled back
    and the run is recorded as interrupted, then the process exits 143 (128 + SIGTERM)."""


@contextmanager
def _sigterm_unwinds():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def dispatch(args, redactor) -> int:
    if args.command in ("run", "job") and getattr(args, "job_command", "run") == "run":
        try:
            with _sigterm_unwinds():
                return _dispatch(args, redactor)
        except Terminated:
            sys.stderr.write("rsd: terminated (SIGTERM); the load in progress was not committed\n")
            return 143
    return _dispatch(args, redactor)


def _dispatch(args, redactor) -> int:
    if args.command == "check":
        return cmd_check(args)
    if args.command == "run":
        return cmd_run(args, redactor)
    if args.command == "plan":
        return cmd_plan(args, redactor)
    if args.command == "demo":
        from .demo.run import run_demo
        return run_demo(args, redactor)
    if args.command == "job":
        if args.job_command == "check":
            return cmd_job_check(args)
        return cmd_job_run(args, redactor)
    raise AssertionError(args.command)


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True, highlight=False)


# --- check --------------------------------------------------------------------------------------

def print_diagnostics(diags, fmt: str, files: Optional[int] = None) -> None:
    if fmt == "json":
        json.dump([d.to_json() for d in diags], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for d in diags:
        sys.stdout.write(d.format() + "\n")
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    where = f" in {files} file{'s' if files != 1 else ''}" if files is not None else ""
    sys.stderr.write(f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
                     f"{where}\n")


def cmd_check(args) -> int:
    from .check import check_options_file, check_paths, count_files

    diags = check_paths(args.paths, strict=args.strict)
    for f in args.options_file:
        diags.extend(check_options_file(f, strict=args.strict))
    print_diagnostics(diags, args.format, count_files(args.paths))
    return EXIT_INVALID_INPUT if any(d.is_error for d in diags) else EXIT_OK


# --- run / plan ---------------------------------------------------------------------------------

class Progress:
    """Pages and rows on stderr while a run goes (rich); silent when stderr is not a terminal or -q."""

    def __init__(self, enabled: bool, label: str, console=None):
        self.enabled = enabled
        self.label = label
        self.console = console
        self._status = None
        self._last = 0.0

    def __enter__(self):
        if self.enabled:
            self._status = (self.console or _stderr_console()).status(f"{self.label}: starting")
            self._status.__enter__()
        return self

    def relabel(self, label: str) -> None:
        """A new task on the same line (a job's next step)."""
        self.label = label
        self._last = 0.0
        if self._status is not None:
            self._status.update(f"{label}: starting")

    def update(self, pages: int, rows: int) -> None:
        if self._status is None:
            return
        now = time.monotonic()
        if now - self._last > 0.1:
            self._last = now
            self._status.update(f"{self.label}: {pages:,} pages, {rows:,} rows")

    def stop(self) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)
            self._status = None

    def __exit__(self, *exc):
        self.stop()


def _tracer(args, redactor):
    if not getattr(args, "verbose", False):
        return None

    def trace(line: str) -> None:
        sys.stderr.write("> " + redactor.redact(line) + "\n")
    return trace


def print_summary(summary, quiet: bool = False) -> None:
    lines = summary.lines()
    target = getattr(summary, "target", None)
    head = f"{summary.table}: "
    if target and target != "stdout":
        lines[0] += f" -> {target}" + (f" (table {summary.table})" if "://" in str(target) else "")
    sys.stderr.write(head + lines[0] + "\n")
    for line in lines[1:]:
        sys.stderr.write("  " + line + "\n")


def cmd_run(args, redactor) -> int:
    from . import api

    fmt = args.format
    if fmt is None and args.output is None:
        fmt = "table" if sys.stdout.isatty() else "csv"
    show_progress = not args.quiet and sys.stderr.isatty() and not args.verbose
    with Progress(show_progress, args.profile) as progress:
        summary = api.run(args.profile, options=args.options, options_file=args.options_file,
                          connection=args.connection, inputs=args.inputs, variables=dict(args.variables),
                          output=args.output, fmt=fmt, table=args.table, mode=args.mode, limit=args.limit,
                          max_pages=args.max_pages, redactor=redactor, trace=_tracer(args, redactor),
                          on_page=progress.update, method=args.method, on_finish=progress.stop)
    print_summary(summary)
    return EXIT_OK


def cmd_plan(args, redactor) -> int:
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


# --- jobs ---------------------------------------------------------------------------------------

def cmd_job_check(args) -> int:
    from .jobs import check_job

    diags = check_job(args.job)
    print_diagnostics(diags, args.format)
    return EXIT_INVALID_INPUT if any(d.is_error for d in diags) else EXIT_OK


def print_job_table(results, job_name: str = "", elapsed: Optional[float] = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 120)
    failed = [r for r in results if r.status != "ok"]
    title = f"job {job_name}".strip() + (": failed" if failed else ": ok")
    t = Table(title=title, title_justify="left", show_footer=len(results) > 1)
    total_rows = sum(r.rows for r in results)
    total_pages = sum(r.pages for r in results)
    total_requests = sum(r.requests for r in results)
    total_s = elapsed if elapsed is not None else sum(r.elapsed for r in results)
    for col, footer, kw in (("step", "total", {}), ("type", "", {}), ("status", "", {}),
                            ("rows", f"{total_rows:,}", {"justify": "right"}),
                            ("pages", f"{total_pages:,}", {"justify": "right"}),
                            ("requests", f"{total_requests:,}", {"justify": "right"}),
                            ("seconds", f"{total_s:.2f}", {"justify": "right"}),
                            ("detail", "", {"overflow": "fold", "ratio": 1})):
        t.add_column(col, footer=footer, **kw)
    for r in results:
        status = "[green]ok[/]" if r.status == "ok" else f"[red]{r.status}[/]"
        detail = r.detail + (f" -> {r.target}" if r.target and r.target != "stdout" else "")
        t.add_row(r.step, r.type, status, f"{r.rows:,}", f"{r.pages:,}", f"{r.requests:,}", f"{r.elapsed:.2f}",
                  escape_markup(detail))
    console.print(t)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def escape_markup(text: str) -> str:
    from rich.markup import escape
    return escape(text)


def cmd_job_run(args, redactor) -> int:
    from .jobs import JobRunner, load_job

    job = load_job(args.job)
    console = _stderr_console()
    show_progress = not args.quiet and sys.stderr.isatty() and not args.verbose
    started = time.monotonic()

    def report(result):
        if not args.quiet:
            mark = "ok" if result.status == "ok" else result.status.upper()
            counts = (f"{_n(result.rows, 'row')}, {_n(result.pages, 'page')}, " if result.type == "query" else "") \
                + f"{_n(result.requests, 'request')}, {result.elapsed:.2f} s"
            console.print(f"step {result.step} ({result.type}): {mark} ({counts}) {result.detail}", markup=False,
                          soft_wrap=True)

    with Progress(show_progress, f"job {job.name}", console) as progress:
        def on_start(step):
            progress.relabel(f"step {step.name} ({step.type})")
            if not args.quiet and not show_progress:
                console.print(f"step {step.name} ({step.type}): running", markup=False, soft_wrap=True)

        runner = JobRunner(job, redactor=redactor, variables=dict(args.variables), report=report,
                           trace=_tracer(args, redactor), on_page=progress.update, on_start=on_start)
        try:
            runner.run()
        finally:
            if runner.results:
                if progress._status is not None:
                    progress._status.stop()
                print_job_table(runner.results, job.name, time.monotonic() - started)
    return EXIT_OK
