"""Presentation: how rsd shows things on a terminal, for every command and the demo alike.

Owns: diagnostics (`path:line:col: severity: [CODE] message`, or JSON), run summaries, the job table, the progress
display on stderr (rich) and the `-v` trace printer. Must not: run anything or decide exit codes (that is
`rsd.commands`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Sequence

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from .errors import Diagnostic
    from .http.redact import Redactor
    from .jobs.spec import StepResult


class Shown(Protocol):
    """What a summary line is printed from: a run's `Summary` or a write's `WriteSummary`."""

    table: str

    def lines(self) -> list[str]: ...


def stderr_console() -> Console:
    from rich.console import Console
    return Console(stderr=True, highlight=False)


def print_diagnostics(diags: Sequence[Diagnostic], fmt: str, files: Optional[int] = None) -> None:
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


class Progress:
    """Pages and rows on stderr while a run goes (rich); silent when stderr is not a terminal or -q."""

    def __init__(self, enabled: bool, label: str, console: Optional[Console] = None) -> None:
        self.enabled = enabled
        self.label = label
        self.console = console
        self._status: Optional[Status] = None
        self._last = 0.0

    def __enter__(self) -> "Progress":
        if self.enabled:
            status = (self.console or stderr_console()).status(f"{self.label}: starting")
            status.__enter__()
            self._status = status
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

    def note(self, text: str) -> None:
        """Any progress text (a write's rows sent), at most ten times a second."""
        if self._status is None:
            return
        now = time.monotonic()
        if now - self._last > 0.1:
            self._last = now
            self._status.update(f"{self.label}: {text}")

    def say(self, line: str) -> None:
        """A line on stderr above the live display (a retry, a wait), or plainly when there is none."""
        if self._status is not None:
            self._status.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def stop(self) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)
            self._status = None

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tracer(args: argparse.Namespace, redactor: Redactor) -> Optional[Callable[[str], None]]:
    if not getattr(args, "verbose", False):
        return None

    def trace(line: str) -> None:
        sys.stderr.write("> " + redactor.redact(line) + "\n")
    return trace


def print_summary(summary: Shown, quiet: bool = False) -> None:
    lines = summary.lines()
    target = getattr(summary, "target", None)
    head = f"{summary.table}: "
    if target and target != "stdout":
        lines[0] += f" -> {target}" + (f" (table {summary.table})" if "://" in str(target) else "")
    sys.stderr.write(head + lines[0] + "\n")
    for line in lines[1:]:
        sys.stderr.write("  " + line + "\n")


def print_job_table(results: Sequence[StepResult], job_name: str = "", elapsed: Optional[float] = None) -> None:
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
    kw: dict[str, Any]
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


def n_of(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def escape_markup(text: str) -> str:
    from rich.markup import escape
    return escape(text)
