"""Write-back: a profile's INSERT, UPDATE and DELETE scripts, run once per input row (docs/reference/contract.md §8).

Owns: which script each write runs (CData's mapping: INSERT -> `method="POST"`, UPDATE -> `MERGE`, else a `PUT` or
`PATCH` script, DELETE -> `DELETE`), refusing a profile that has none or whose script only throws, the names a row
may give (the columns and inputs of `api:info`), one execution per row with the row's values as `[_input.NAME]` and
their names in `[_query.selectcolumns]` (`[a],[b]`, as the corpus's write scripts read them), which errors fail
only their row, and the `WriteSummary`. Must not: read files, print, or decide the output (rows the script pushes
go to the `write` callback, typed like `rsd run`'s).

A write script runs as `rsd run` runs a GET script (global statements, then the method block; options, `${...}`,
OAuth, redaction all apply) with these differences, set on the run's `Operations`: a call sends one request (no
declarative paging), an empty answer (204) pushes nothing, and a request whose method is not idempotent (POST,
PATCH) is never sent again once it may have reached the server.
"""
from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from ..errors import AuthError, InvalidInputError, OptionError, ProfileError, RsdError, RunError, SinkError
from ..reader import ast
from .items import Item
from .runner import Rows, Runner, group_inputs, output_columns

#: write command -> the `api:script method=` blocks that serve it, in order of preference
WRITE_SCRIPTS: Mapping[str, tuple[str, ...]] = {
    "INSERT": ("POST",),
    "UPDATE": ("MERGE", "PUT", "PATCH"),
    "DELETE": ("DELETE",),
}
#: a method (or command) as the library and `rsd plan --method` accept it -> the write command
ACTIONS: Mapping[str, str] = {"INSERT": "INSERT", "POST": "INSERT", "UPDATE": "UPDATE", "MERGE": "UPDATE",
                              "PUT": "UPDATE", "PATCH": "UPDATE", "DELETE": "DELETE"}

Pairs = Sequence[tuple[str, Any]]
RowValues = Union[Mapping[str, Any], Pairs]


class WriteError(RunError):
    """The first failing row stopped a write (without `continue_on_error`), or rows failed (with it). Exit 1.
    `summary` says what was sent."""

    def __init__(self, message: str, summary: "WriteSummary", **kw: Any):
        super().__init__(message, **kw)
        self.summary = summary


@dataclass
class RowFailure:
    row: int  # 1-based
    input: dict[str, Any]
    error: str  # redacted


@dataclass
class WriteSummary:
    """What a write did: rows sent, succeeded and failed, what the script pushed, and the run's counters."""

    profile: str
    table: str
    action: str  # INSERT | UPDATE | DELETE
    script: str  # the method block that ran: POST, MERGE, PUT, PATCH, DELETE
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    pushed: int = 0
    requests: int = 0
    retries: int = 0
    token_refreshes: int = 0
    elapsed: float = 0.0
    stopped_at: Optional[int] = None  # the row that stopped the write (no continue_on_error)
    failures: list[RowFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    output_to: str = "stdout"
    errors_to: Optional[str] = None
    status: str = "ok"

    def lines(self) -> list[str]:
        out = [f"{_n(self.sent, 'row')} sent ({self.action} by the {self.script} script): {self.succeeded:,} "
               f"succeeded, {self.failed:,} failed; {_n(self.requests, 'request')}"
               + (f" ({_n(self.retries, 'retry', 'retries')})" if self.retries else "") + f", {self.elapsed:.2f} s"]
        if self.pushed:
            out.append(f"{_n(self.pushed, 'row')} pushed by the script -> {self.output_to}")
        if self.stopped_at is not None:
            out.append(f"stopped at row {self.stopped_at}: the rows before it were sent and stay sent; the rows "
                       f"after it were not sent")
        if self.failed and self.errors_to:
            out.append(f"failed rows -> {self.errors_to}")
        if self.token_refreshes:
            out.append(f"access token obtained {_n(self.token_refreshes, 'time')}")
        out.extend(f"warning: {w}" for w in self.warnings)
        return out


def _n(count: int, one: str, many: str = "") -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def write_action(method: str) -> str:
    """INSERT, UPDATE or DELETE for a method or command name (any case); invalid input otherwise."""
    action = ACTIONS.get(method.strip().upper())
    if action is None:
        raise OptionError(f"--method {method!r} is not a write: use POST (insert), MERGE (update) or DELETE, "
                          f"or GET to read")
    return action


def only_throws(method: ast.Method) -> Optional[ast.Node]:
    """The `api:throw` that makes a script a stub (CData's generator writes `api:call` with an `api:throw` for the
    writes a profile does not support), or None. A throw counts when nothing conditional guards it: directly in the
    method block, or directly in the body of one of its calls."""
    for n in method.body:
        if isinstance(n, ast.Throw):
            return n
        if isinstance(n, ast.Call):
            for c in n.body:
                if isinstance(c, ast.Throw):
                    return c
    return None


def write_script(profile: ast.Profile, method: str) -> ast.Method:
    """The method block a write runs (`method`: POST/INSERT, MERGE/UPDATE/PUT/PATCH, DELETE). A profile without
    one, or whose script only throws, is invalid input naming the method."""
    action = write_action(method)
    wanted = method.strip().upper()
    choices = (wanted,) if wanted in ("PUT", "PATCH") else WRITE_SCRIPTS[action]
    found = next((m for m in (profile.method(c) for c in choices) if m is not None), None)
    if found is None:
        names = " or ".join(f'<api:script method="{c}">' for c in choices)
        raise InvalidInputError(f"{profile.path}: the profile has no {names}, so it cannot {action} "
                                f"(rsd {action.lower()} runs it, as CData's drivers do)")
    thrown = only_throws(found)
    if thrown is not None:
        desc = thrown.value("desc") or thrown.value("description") or ""
        raise InvalidInputError(f"{thrown.loc}: the profile's {action} script (<api:script method=\"{found.name}\"> "
                                f"at line {found.loc.line}) only throws"
                                + (f": {thrown.value('code') or ''} {desc!r}" if desc else "")
                                + f"; it does not support {action}")
    return found


def allowed_names(profile: ast.Profile) -> tuple[dict[str, str], tuple[str, ...], bool]:
    """The names a row may give: lower name -> declared spelling (columns and inputs of `api:info`), the prefixes
    of `prefix:*` inputs, and whether an input `*` accepts any name."""
    names: dict[str, str] = {}
    prefixes: list[str] = []
    anything = False
    info = profile.info
    if info is not None:
        for c in output_columns(profile):
            names.setdefault(c.name.lower(), c.name)
        for i in info.inputs:
            name = i.name.rstrip("#")
            if name == "*":
                anything = True
            elif name.endswith("*"):
                prefixes.append(name[:-1].lower())
            elif name and name.lower() != "rows@next":
                names.setdefault(name.lower(), name)
    return names, tuple(prefixes), anything


def pairs_of(values: RowValues) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in (values.items() if isinstance(values, Mapping) else values)]


class Writer:
    """Runs a profile's write script once per row. Build it, `check(names)` every row's names before sending
    anything, then `execute(row_number, values, write)` per row."""

    def __init__(self, profile: ast.Profile, *, method: str, connection: Sequence[tuple[str, str]], http: Any,
                 redactor: Any, clock: Callable[[], float] = time.monotonic):
        self.action = write_action(method)
        self.script = write_script(profile, method)
        self.profile = profile
        self.runner = Runner(profile, connection=connection, inputs={}, http=http, redactor=redactor,
                             method=self.script.name)
        self.runner.ops.writing = True
        self.names, self.prefixes, self.anything = allowed_names(profile)
        self.redactor = redactor
        self.clock = clock
        self.summary = WriteSummary(profile=profile.path, table=profile.title, action=self.action,
                                    script=self.script.name)

    @property
    def columns(self) -> tuple[ast.Column, ...]:
        return self.runner.columns

    def unknown(self, names: Iterable[str]) -> list[tuple[str, Optional[str]]]:
        """The names that are neither a column nor an input of the profile, each with the closest one."""
        out = []
        for name in names:
            low = name.lower()
            if self.anything or low in self.names or any(low.startswith(p) for p in self.prefixes):
                continue
            close = difflib.get_close_matches(low, list(self.names), n=1, cutoff=0.6)
            out.append((name, self.names[close[0]] if close else None))
        return out

    def query_item(self, pairs: Pairs) -> Item:
        """`_query` of one row: `selectcolumns` lists the names given, `[a],[b]`, in the profile's spelling."""
        seen: dict[str, str] = {}
        for name, _ in pairs:
            seen.setdefault(name.lower(), self.names.get(name.lower(), name))
        item = Item("_query")
        item.set("selectcolumns", ",".join(f"[{n}]" for n in seen.values()))
        return item

    def execute(self, row: int, values: RowValues, write: Callable[[Rows], object]) -> Optional[RowFailure]:
        """Run the script for one row; its pushed rows go to `write`. A failure of the row is returned (redacted);
        errors that would fail every row (options, credentials, the profile, the output) are raised."""
        pairs = pairs_of(values)
        runner = self.runner
        runner.inputs = group_inputs(pairs)
        runner.query = self.query_item(pairs)
        summary = self.summary
        summary.sent += 1
        pushed: Rows = []
        try:
            result = runner.run(pushed.extend)
        except (OptionError, AuthError, ProfileError, SinkError):
            raise
        except RsdError as e:
            summary.failed += 1
            failure = RowFailure(row, {k: self._shown(v) for k, v in pairs}, self.redactor.redact(str(e)))
            summary.failures.append(failure)
            return failure
        finally:
            self._count()
        summary.succeeded += 1
        if pushed:
            write(pushed)
            summary.pushed += len(pushed)
        summary.warnings = list(result.warnings)
        return None

    def _shown(self, value: Any) -> Any:
        return self.redactor.redact(value) if isinstance(value, str) else value

    def _count(self) -> None:
        http = self.runner.http
        self.summary.requests = getattr(http, "requests", 0)
        self.summary.retries = getattr(http, "retries", 0)
        self.summary.token_refreshes = getattr(getattr(http, "auth", None), "refreshes", 0) or 0


def plan_write(runner: Runner, method: str, inputs: RowValues) -> None:
    """Set up a dry-run `runner` (`rsd plan --method`) as a write of the given inputs would run."""
    writer_names = allowed_names(runner.profile)[0]
    runner.ops.writing = True
    pairs = pairs_of(inputs)
    item = Item("_query")
    item.set("selectcolumns", ",".join(f"[{writer_names.get(k.lower(), k)}]"
                                       for k in dict.fromkeys(k for k, _ in pairs)))
    runner.query = item
