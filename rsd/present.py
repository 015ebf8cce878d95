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
    """The live line on stderr while a run goes (rich), only when stderr is a terminal and not -q: a spinner with the
    pages and rows so far, which becomes a bar with an ETA once a page tells the total (`total`: pages, or rows).

        ⠹ Inventory.rsd ━━━━━━━━━━╸━━━━━━━━━  2/4 pages  20 rows  eta 0:00:01
        ⠹ Accounts.rsd: 3 pages, 150 rows
    """

    def __init__(self, enabled: bool, label: str, console: Optional[Console] = None) -> None:
        self.enabled = enabled
        self.label = label
        self.console = console
        self._live: Optional[Any] = None  # a rich.progress.Progress while the display is shown
        self._task: Any = None
        self._last = 0.0
        self._pages = self._rows = 0
        self._total: tuple[Optional[int], Optional[int]] = (None, None)

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.progress import Progress as Live
            from rich.progress import SpinnerColumn, TextColumn

            self._live = Live(SpinnerColumn(), TextColumn("{task.description}"), _total_bar(),
                              TextColumn("{task.fields[counts]}"), _total_eta(),
                              console=self.console or stderr_console(), transient=True)
            self._live.__enter__()
            self._task = self._live.add_task(f"{self.label}: starting", total=None, counts="")
        return self

    @property
    def active(self) -> bool:
        return self._live is not None

    def relabel(self, label: str) -> None:
        """A new task on the same line (a job's next step): its own counts and total."""
        self.label = label
        self._last = 0.0
        self._pages = self._rows = 0
        self._total = (None, None)
        if self._live is not None:
            self._live.reset(self._task, total=None, description=f"{label}: starting", counts="")

    def update(self, pages: int, rows: int) -> None:
        self._pages, self._rows = pages, rows
        now = time.monotonic()
        if now - self._last > 0.1:
            self._last = now
            self._show()

    def total(self, pages: Optional[int], rows: Optional[int]) -> None:
        """A page told the run's total pages or rows: the spinner becomes a bar with an ETA."""
        self._total = (pages, rows)
        self._show()

    def _show(self) -> None:
        if self._live is None:
            return
        pages, rows = self._pages, self._rows
        total_pages, total_rows = self._total
        if total_pages:
            self._live.update(self._task, description=self.label, total=max(total_pages, pages), completed=pages,
                              counts=f"{pages:,}/{max(total_pages, pages):,} pages  {n_of(rows, 'row')}")
        elif total_rows:
            self._live.update(self._task, description=self.label, total=max(total_rows, rows), completed=rows,
                              counts=f"{rows:,}/{max(total_rows, rows):,} rows  {n_of(pages, 'page')}")
        else:
            self._live.update(self._task, description=f"{self.label}: {n_of(pages, 'page')}, {n_of(rows, 'row')}",
                              counts="")

    def note(self, text: str) -> None:
        """Any progress text (a write's rows sent), at most ten times a second."""
        if self._live is None:
            return
        now = time.monotonic()
        if now - self._last > 0.1:
            self._last = now
            self._live.update(self._task, description=f"{self.label}: {text}", counts="")

    def say(self, line: str) -> None:
        """A line on stderr above the live display (a retry, a wait), or plainly when there is none."""
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def stop(self) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _total_bar() -> Any:
    """The bar column (its class made when rich.progress is imported, as the display starts)."""
    from rich.progress import BarColumn
    from rich.text import Text

    class TotalBar(BarColumn):
        """The bar, once a total is known; nothing before (the spinner and the counts say it all)."""

        def render(self, task: Any) -> Any:
            return super().render(task) if task.total is not None else Text("")

    return TotalBar(bar_width=30)


def _total_eta() -> Any:
    """The ETA column."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class TotalEta(ProgressColumn):
        """`eta 0:01:23` from the speed so far, once a total is known."""

        def render(self, task: Any) -> Any:
            if task.total is None or task.finished:
                return Text("")
            remaining = task.time_remaining
            if remaining is None:
                return Text("eta -:--:--", style="progress.remaining")
            minutes, seconds = divmod(int(remaining), 60)
            hours, minutes = divmod(minutes, 60)
            return Text(f"eta {hours}:{minutes:02d}:{seconds:02d}", style="progress.remaining")

    return TotalEta()


# -- --summary-json: the outcome for schedulers ------------------------------------------------------------------
def exit_code_of(error: Optional[BaseException]) -> int:
    """The exit code the command ends with for `error` (as `rsd.cli` and `rsd.commands` decide it)."""
    from .errors import EXIT_OK, EXIT_RUN_FAILED, OutputClosed, RsdError

    if error is None or isinstance(error, OutputClosed):
        return EXIT_OK
    if isinstance(error, RsdError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return 130
    if not isinstance(error, Exception):  # SIGTERM, unwound
        return 143
    return EXIT_RUN_FAILED


def _status_of(error: Optional[BaseException], committed: bool) -> str:
    from .errors import OutputClosed

    if error is None or committed:
        return "ok"
    if isinstance(error, OutputClosed):
        return "stopped"  # the reader of stdout went away (`| head`)
    return "failed" if isinstance(error, Exception) else "interrupted"


def run_outcome(summary: Optional[Any], error: Optional[BaseException], redactor: Redactor, *, committed: bool,
                started: float) -> dict[str, Any]:
    """`rsd run --summary-json`: the summary's numbers (`Summary` fields; `seconds` for `elapsed`) and how the run
    ended: `status` ok|failed|interrupted|stopped, `exit_code`, `error` and `hint` (redacted), `committed`."""
    import dataclasses

    doc: dict[str, Any] = {"status": _status_of(error, committed), "exit_code": exit_code_of(error),
                           "error": None, "hint": None, "committed": committed}
    if error is not None and not committed:
        doc["error"] = redactor.redact(str(error)) or type(error).__name__
        hint = getattr(error, "hint", None)
        doc["hint"] = redactor.redact(hint) if hint else None
    if summary is not None and dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        numbers = dataclasses.asdict(summary)
        numbers.pop("status", None)
        doc.update(numbers)
        doc["seconds"] = round(float(numbers.get("elapsed", 0.0)), 3)
    else:
        doc["seconds"] = round(time.time() - started, 3)
    doc["started"] = _iso(started)
    doc["finished"] = _iso(time.time())
    return doc


def job_outcome(job: str, results: Sequence[StepResult], error: Optional[BaseException], redactor: Redactor,
                started: float) -> dict[str, Any]:
    """`rsd job run --summary-json`: the job's status, exit code and error, and every step that ran."""
    import dataclasses

    return {"job": job, "status": _status_of(error, False),
            "exit_code": exit_code_of(error), "error": redactor.redact(str(error)) if error is not None else None,
            "seconds": round(time.monotonic() - started, 3),
            "steps": [dataclasses.asdict(r) for r in results]}


def write_summary_json(path: str, doc: dict[str, Any]) -> None:
    """Write `doc` to `path` atomically (a scheduler never reads half a file); a failure to write is a warning on
    stderr, never the run's outcome."""
    from .atomic import write_atomically

    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"
    try:
        write_atomically(path, text)
    except OSError as e:
        sys.stderr.write(f"rsd: warning: --summary-json {path}: cannot write it ({e.strerror or e})\n")


def _iso(epoch: float) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


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
