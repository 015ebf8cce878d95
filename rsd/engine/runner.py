"""The run loop: executes a profile's GET script, pages script-driven `rows@next`, and counts.

Owns: building the `_input` and `_connection` items, running global statements then the method block,
re-running the whole script while `rows@next` advances (Matillion's paging, docs/reference/rsd-format.md §9.3), the
stop rules shared with declarative paging, `--limit`/`--max-pages`, type coercion of pushed rows and
the `Summary`. Must not: parse options or references (it gets resolved values), print, or write files
(rows go to the `write` callback in batches).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Sequence, TypedDict, Union

from ..errors import InvalidInputError, ProfileError, RunError
from ..mapping import CoercionError, compile_coercer
from ..mapping.types import Row, TypedRows
from ..paging import (
    STOP_EMPTY,
    STOP_LIMIT,
    STOP_LOOP,
    STOP_NO_NEXT,
    STOP_NOT_ADVANCING,
    STOP_SINGLE,
)
from ..reader.ast import Column, Profile
from .compile import compile_script
from .fetch import Fetcher
from .interpreter import Break, Continue, Exec, StopRun, run_block, text_of
from .items import Item, Scope
from .operations import Operations, RequestKey
from .watch import LoadWatch

if TYPE_CHECKING:
    from ..http.client import HttpClient
    from ..http.redact import Redactor
    from ..paging import Pager

BATCH = 1000
#: loop iterations a run may go through without a request or a row (a window), and a dry run in all
RUN_STEP_BUDGET = 1_000_000
PLAN_STEP_BUDGET = 100_000

#: a batch of output rows, as `Runner.run` hands them to its `write` callback (typed, in column order)
Rows = list[Row]
#: inputs as given: a mapping, or (name, value) pairs (a name given more than once is multi-valued)
Inputs = Union[Mapping[str, object], Iterable[tuple[str, object]]]
#: inputs grouped by `group_inputs`: lower-case name -> (the name as given, its values)
GroupedInputs = dict[str, tuple[str, list[object]]]


@dataclass
class Summary:
    """What a run did: the numbers the CLI prints at the end and `_rsd_runs` records."""

    profile: str
    table: str
    rows: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    executions: int = 0
    token_refreshes: int = 0
    elapsed: float = 0.0
    stop_reason: str = ""
    status: str = "ok"
    warnings: list[str] = field(default_factory=list)
    #: an incremental load: cursor, input, since (the mark sent; None: everything), mark (stored), full_refresh
    incremental: dict[str, Any] = field(default_factory=dict)
    #: where the rows went (`rsd.run` sets it: a redacted database URL, a file, or stdout)
    target: Optional[str] = None
    concurrency: int = 1
    peak_in_flight: int = 0
    pauses: int = 0
    paused_seconds: float = 0.0
    lowest_concurrency: int = 0
    lookahead_extra: int = 0

    def lines(self) -> list[str]:
        out = [
            f"{_n(self.rows, 'row')} from {_n(self.pages, 'page')} in {_n(self.requests, 'request')}"
            + (f" ({_n(self.retries, 'retry', 'retries')})" if self.retries else "")
            + f", {self.elapsed:.2f} s",
            f"paging stopped: {self.stop_reason}",
        ]
        if self.token_refreshes:
            out.append(f"access token obtained {self.token_refreshes} time"
                       + ("s" if self.token_refreshes != 1 else "")
                       + (" (refreshed mid-run)" if self.token_refreshes > 1 else ""))
        if self.incremental:
            inc = self.incremental
            since = (f"{inc['input']}={inc['since']}" if inc.get("since") is not None
                     else "no mark sent (--full-refresh)" if inc.get("full_refresh") else "no mark yet: everything")
            out.append(f"incremental on {inc['cursor']}: {since}; mark now {inc.get('mark') or '(none)'}")
        if self.concurrency > 1:
            out.append(f"concurrency {self.concurrency}: {_n(self.peak_in_flight, 'request')} in flight at peak"
                       + (f", {_n(self.lookahead_extra, 'request')} sent ahead and not needed"
                          if self.lookahead_extra else ""))
        if self.pauses:
            out.append(f"paused {_n(self.pauses, 'time')} ({self.paused_seconds:.1f} s) when the server asked "
                       f"(429, or 503 with Retry-After); concurrency lowered to {self.lowest_concurrency} at least")
        out.extend(f"warning: {w}" for w in self.warnings)
        return out


def _n(count: int, one: str, many: str = "") -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


class RunState:
    """Counters and paging state of one run, shared by the runner and the operations."""

    __slots__ = ("pages", "rows", "max_pages", "next_set", "next_value", "exec_rows", "stop_reason",
                 "declarative_stop", "on_page", "watch", "limit",
                 "page_window", "pager", "on_total", "total_pages", "total_rows",
                 "steps", "step_budget", "fetches", "progress", "dry_run", "secret_seen", "on_next")

    def __init__(self, max_pages: Optional[int], on_page: Optional[Callable[[int, int], object]] = None,
                 watch: Optional[LoadWatch] = None, limit: Optional[int] = None, dry_run: bool = False):
        # the step budget: loop iterations and script executions, counted so that no profile loops for ever
        self.steps = 0
        self.step_budget = PLAN_STEP_BUDGET if dry_run else RUN_STEP_BUDGET
        self.dry_run = dry_run
        self.fetches = 0  # requests (and file reads) the operations sent
        # a response held a secret (an API echoing the token into its data): rows are redacted before output
        self.secret_seen = False
        self.progress = (0, 0)  # (rows, fetches) when the current budget window began
        self.pages = 0
        self.rows = 0
        self.max_pages = max_pages
        self.limit = limit
        self.next_set = False
        self.next_value: object = None
        self.exec_rows = 0
        self.stop_reason: Optional[str] = None
        self.declarative_stop: Optional[str] = None
        self.on_page = on_page
        self.watch = watch if watch is not None else LoadWatch(())
        # rsd.spark: a partition's pages (first page index, rows before it, pages or None = to the end), and the
        # pager of the last paged call (its totals plan the partitions)
        self.page_window: Optional[tuple[int, int, Optional[int]]] = None
        self.pager: Optional[Pager] = None
        # what the first page of a paged call said about the whole (a progress bar's total), and who wants it
        self.on_total: Optional[Callable[[Optional[int], Optional[int]], object]] = None
        self.total_pages: Optional[int] = None
        self.total_rows: Optional[int] = None
        # called with each value the script gives rows@next (the runner sends the next execution's request ahead)
        self.on_next: Optional[Callable[[object], None]] = None

    def tick(self, loc: object) -> None:
        """One loop iteration or script execution (at `loc`). A run may go through `RUN_STEP_BUDGET` of them at a
        time without sending a request or pushing a row, a dry run through `PLAN_STEP_BUDGET` in all; past that the
        profile loops for ever (a huge `api:enum range`, `rows@next` advancing with no request): exit 2, never a
        hang."""
        self.steps += 1
        if self.steps <= self.step_budget:
            return
        now = (self.rows, self.fetches)
        if not self.dry_run and now != self.progress:
            self.progress, self.steps = now, 0  # rows or requests came meanwhile: a new window
            return
        if self.dry_run:
            raise ProfileError(f"{loc}: the dry run went through {self.step_budget:,} loop iterations without reaching "
                               f"a request; stopped (a loop that never ends?)")
        raise ProfileError(f"{loc}: the script went through {self.step_budget:,} loop iterations without sending a "
                           f"request or pushing a row; stopped (a loop that never ends?)")

    def limit_reached_by(self, rows: int) -> bool:
        """Whether `--limit` will be reached once `rows` more rows are pushed (no page is sent ahead then)."""
        return self.limit is not None and self.rows + rows >= self.limit

    def set_next(self, value: object) -> None:
        self.next_set = True
        self.next_value = value
        if self.on_next is not None:
            self.on_next(value)

    def page_rows(self, n: int) -> None:
        self.exec_rows += n
        if self.on_page is not None:
            self.on_page(self.pages, self.rows)

    def learn_totals(self, pages: Optional[int], rows: Optional[int]) -> None:
        """A paged call's first page told its totals: counted on from the pages and rows before it."""
        if pages is None and rows is None:
            return
        self.total_pages = self.pages + pages if pages is not None else None
        self.total_rows = self.rows + rows if rows is not None else None
        if self.on_total is not None:
            self.on_total(self.total_pages, self.total_rows)

    def note_stop(self, reason: Optional[str], declarative: bool) -> None:
        if declarative:
            self.declarative_stop = reason


class _Ahead(TypedDict):
    """The next rows@next execution's first request, sent ahead (`Runner._pages`)."""

    on: bool  # still guessing (off once rows@next changed after it was first set)
    value: Optional[str]  # the rows@next value it was sent for
    key: Optional[RequestKey]  # the key it was sent under (`Operations.prefetch`)


def output_columns(profile: Profile) -> tuple[Column, ...]:
    """What a run outputs: the `attr` columns of `api:info`, or for a stored-procedure schema that declares
    only `output` parameters (GetOAuthAccessToken), those."""
    info = profile.info
    if info is None:
        return ()
    if info.columns:
        return info.columns
    return tuple(Column(name=o.name, loc=o.loc, params=o.params) for o in info.outputs if o.name)


def group_inputs(inputs: Inputs) -> GroupedInputs:
    """Inputs given as a mapping or as (name, value) pairs -> lower name: (name, [values])."""
    pairs = inputs.items() if isinstance(inputs, Mapping) else inputs
    out: GroupedInputs = {}
    for k, v in pairs:
        out.setdefault(k.lower(), (k, []))[1].append(v)
    return out


def input_item(profile: Profile, given: Mapping[str, tuple[str, list[object]]],
               missing: Optional[list[str]] = None) -> Item:
    """`_input`: the given inputs, then the defaults of `api:info`; required inputs and `values` checked.
    An input given more than once is multi-valued (`[_input.name#2]`).

    With a `missing` list (a dry run), a required input that was not given is noted there instead."""
    item = Item("_input")
    declared = profile.info.inputs if profile.info is not None else ()
    for inp in declared:
        lname = inp.name.lower().rstrip("#")
        if lname in given:
            for value in given[lname][1]:
                if inp.values and value not in inp.values:
                    raise InvalidInputError(f"{inp.loc}: input {inp.name!r} is {value!r}, which is not one of "
                                            f"{', '.join(inp.values)}")
        elif inp.default is not None:
            item.set(inp.name.rstrip("#"), inp.default)
        elif inp.required and missing is not None:
            missing.append(inp.name)
        elif inp.required:
            raise InvalidInputError(f"{inp.loc}: the profile requires the input {inp.name!r}; "
                                    f"pass it with -i {inp.name}=VALUE")
    for k, values in given.values():
        if len(values) == 1:
            item.set(k, values[0])
        else:
            for v in values:
                item.set(k + "#", v)
    return item


class Runner:
    """Runs one profile. `run(write)` calls `write(list_of_rows)` with typed row tuples, page by page."""

    def __init__(self, profile: Profile, *, connection: Sequence[tuple[str, str]], inputs: Inputs,
                 http: Optional[HttpClient], redactor: Redactor, method: str = "GET", limit: Optional[int] = None,
                 max_pages: Optional[int] = None, on_page: Optional[Callable[[int, int], object]] = None,
                 clock: Callable[[], float] = time.monotonic, dry_run: bool = False, batch: int = BATCH,
                 concurrency: int = 1):
        self.profile = profile
        self.method = profile.method(method)
        if self.method is None and not (method.upper() == "GET" and not profile.methods):
            raise ProfileError(f"{profile.loc}: the profile has no <api:script method=\"{method}\"> block")
        # a script without method blocks (CData's system tables: sys_indexes.rsd) is its own SELECT
        self.columns = output_columns(profile)
        if not self.columns:
            raise ProfileError(f"{profile.loc}: the profile declares no columns (<attr> in <api:info>), "
                               f"so a run has nothing to output")
        self.globals, self.body = compile_script(profile, self.method)
        self.coerce = compile_coercer(self.columns)
        self.connection = connection
        self.inputs = group_inputs(inputs)
        # `other:queryslicercolumn="X"` (API-driver profiles): one run of the script per value of input X
        slicer = profile.info.param("other:queryslicercolumn") if profile.info is not None else None
        self.slicer = slicer.value.strip().lower() if slicer is not None and slicer.value.strip() else None
        self.http = http
        self.redactor = redactor
        self.limit = limit
        self.clock = clock
        self.batch = batch  # rows per `write` call (the last may have fewer)
        self.state = RunState(max_pages, on_page, LoadWatch(self.columns), limit, dry_run)
        # `--concurrency`: requests sent ahead on worker threads; everything else stays on this thread
        self.fetcher = Fetcher(1 if dry_run or http is None else concurrency)
        self.ops = Operations(self.columns, http, self.state, redactor, connection, self.fetcher)
        self.ops.coercer = self.coerce
        self.colnames = tuple(c.name.lower() for c in self.columns)
        # a dry run (`rsd plan`) notes missing inputs and URI placeholders instead of failing on them
        self.missing: Optional[list[str]] = [] if dry_run else None
        self.ops.missing = self.missing
        self.query: Optional[Item] = None  # `_query` of the executions (a write's `_query.selectcolumns`)

    def _pages(self, base_inputs: Item, connection: Item, summary: Summary,
               emit: Callable[[Row], None], emit_many: Callable[[Rows], None]) -> str:
        """Run the script, again and again while `rows@next` advances; the reason paging stopped."""
        state = self.state
        seen: set[str] = set()
        page_state: Optional[str] = None
        executions = 0
        # `--concurrency` > 1: the next execution's first request is sent ahead as soon as the script first sets
        # rows@next (usually on the page's first row), so it overlaps the rest of this page; used only if the next
        # execution sends exactly it. A script whose rows@next then changes (a cursor set row by row) is not
        # speculated on again: one request sent for nothing at most.
        ahead: _Ahead = {"on": self.fetcher.concurrent and self.ops.plan_hook is None, "value": None, "key": None}

        def on_next(value: Any) -> None:
            text = text_of(value)
            if not ahead["on"] or ahead["value"] is not None or text in ("", page_state) or text in seen:
                return
            if state.limit is not None or (state.max_pages is not None and state.pages >= state.max_pages):
                return  # `--limit` may end the run with this page, `--max-pages` does: nothing is sent ahead
            ahead["value"] = text
            nxt = base_inputs.copy()
            nxt.set("rows@next", text)
            ahead["key"] = self._speculate(nxt, connection)

        while True:
            executions += 1
            summary.executions += 1
            state.tick(self.profile.loc)
            state.next_set, state.next_value, state.exec_rows = False, None, 0
            state.declarative_stop = None
            state.on_next = on_next
            inp = base_inputs.copy()
            if page_state is not None:
                inp.set("rows@next", page_state)
            query = self.query.copy() if self.query is not None else None
            x = Exec(Scope(inp, connection, query), emit, self.ops, self.colnames, state, self.profile.path,
                     emit_many)
            sent_ahead, ahead["value"], ahead["key"] = ahead["key"], None, None
            try:
                run_block(self.globals, x)
                run_block(self.body, x)
            except (Break, Continue):
                pass  # api:break/api:continue outside a loop end the script (rsd check reports them)
            finally:
                state.on_next = None
                if sent_ahead is not None:
                    self.ops.drop_prefetched(sent_ahead)  # this execution did not use it: sent for nothing
            nxt = text_of(state.next_value) if state.next_set else ""
            if ahead["value"] is not None and ahead["value"] != nxt:
                ahead["on"] = False  # rows@next changed after it was first set: the guess would keep missing
            if not state.next_set or nxt == "":
                declared = state.declarative_stop
                # `EnablePaging` without a strategy in a script that pages itself with rows@next is not
                # why it stopped: the script simply set no next state
                if declared and not (declared == STOP_NOT_ADVANCING and executions > 1):
                    return declared
                if executions == 1 and not state.next_set:
                    return STOP_SINGLE
                return STOP_EMPTY if state.exec_rows == 0 else STOP_NO_NEXT
            if state.exec_rows == 0:
                return STOP_EMPTY
            if nxt == page_state or nxt in seen:
                return STOP_LOOP
            seen.add(nxt)
            page_state = nxt

    def _watched(self, write: Callable[[Rows], object]) -> Callable[[Rows], None]:
        """`write`, letting the run's `LoadWatch` see each batch first (columns that never hold a value)."""
        see = self.state.watch.batch
        state, redact_rows = self.state, self._redacted

        def watched(batch: Rows) -> None:
            if state.secret_seen:
                batch = redact_rows(batch)
            see(batch)
            write(batch)
        return watched

    def _speculate(self, given: Union[GroupedInputs, Item], connection: Item) -> Optional[RequestKey]:
        """Run the script for a later query-slicer value (`given` inputs, or the `_input` item of the next rows@next
        execution) with nothing kept (a copy of the items, rows dropped, a state of its own) up to its first request,
        and send that request ahead (`Operations.prefetch`); its key, or None. The real execution uses the response
        only if it sends exactly that request; anything that goes wrong here just means nothing is sent ahead."""
        def execute() -> None:
            query = self.query.copy() if self.query is not None else None
            inp = given if isinstance(given, Item) else input_item(self.profile, given)
            x = Exec(Scope(inp, connection.copy(), query), lambda row: None, self.ops,
                     self.colnames, RunState(None), self.profile.path, lambda rows: None)
            run_block(self.globals, x)
            run_block(self.body, x)

        return self.ops.speculate(execute)

    def _redacted(self, rows: Rows) -> Rows:
        """Rows with every known secret in their text replaced by `***` (docs/credentials.md, "Secrets in data"):
        only once a response held one (`RunState.secret_seen`), so an API that echoes no secret costs nothing."""
        finds, redact = self.redactor.finds, self.redactor.redact
        out: Rows = []
        for row in rows:
            if any(type(v) is str and finds(v) for v in row):
                row = tuple(redact(v) if type(v) is str and finds(v) else v for v in row)
            out.append(row)
        return TypedRows(out) if rows.__class__ is TypedRows else out  # text stays text: still typed

    def _connection_item(self) -> Item:
        item = Item("_connection")
        for k, v in self.connection:
            item.set(k, v)
        return item

    def run(self, write: Callable[[Rows], object]) -> Summary:
        started = self.clock()
        state = self.state
        write = self._watched(write)
        summary = Summary(profile=self.profile.path, table=self.profile.title)
        buf: Rows = []
        limit = self.limit
        batch = self.batch
        columns = {c.name.lower(): c for c in self.columns}
        raw_coerce = self.coerce

        def coerce(row: Row) -> Row:
            try:
                return raw_coerce(row)
            except CoercionError as e:
                col = columns.get(str(e.column).lower())
                raise RunError(f"{col.loc if col else self.profile.path}: {e.message} (page {state.pages})",
                               hint='if the API really sends such values, declare the column as '
                                    'xs:type="string" in the profile') from None

        def emit(row: Row) -> None:
            buf.append(coerce(row))
            state.rows += 1
            if limit is not None and state.rows >= limit:
                raise StopRun(STOP_LIMIT)
            if len(buf) >= batch:
                write(TypedRows(buf))
                buf.clear()

        def emit_many(rows: Rows) -> None:
            if limit is not None and state.rows + len(rows) >= limit:
                for row in rows:
                    emit(row)  # raises StopRun at the limit
                return
            if rows.__class__ is TypedRows:  # converted as they were mapped (Operations.pages)
                buf.extend(rows)
            else:
                try:
                    buf.extend(raw_coerce.rows(rows))
                except CoercionError:
                    buf.extend([coerce(r) for r in rows])  # the first bad row raises, naming its column and page
            state.rows += len(rows)
            if len(buf) >= batch:
                write(TypedRows(buf))
                buf.clear()

        connection = self._connection_item()
        slices = [self.inputs]
        sliced_by = ""  # the input whose values are run one by one, as given
        if self.slicer and len(self.inputs.get(self.slicer, ("", []))[1]) > 1:
            sliced_by, values = self.inputs[self.slicer]
            slices = [{**self.inputs, self.slicer: (sliced_by, [v])} for v in values]
        reason = STOP_SINGLE
        speculated = 0
        try:
            for number, given in enumerate(slices):
                if self.fetcher.concurrent and self.ops.plan_hook is None:
                    # later slicer values: their first request sent ahead while this one runs
                    while speculated < min(len(slices), number + 1 + self.fetcher.concurrency):
                        if speculated > number:
                            self._speculate(slices[speculated], connection)
                        speculated += 1
                reason = self._pages(input_item(self.profile, given, self.missing), connection, summary,
                                     emit, emit_many)
        except StopRun as stop:
            reason = stop.reason
        except BaseException as e:
            self.ops.drop_prefetched()
            # a failed run waits for its requests in flight (no request of it lands after it returned); an
            # interrupted one (Ctrl-C, SIGTERM, a consumer that stopped) does not
            self.fetcher.close(wait=isinstance(e, Exception))
            raise
        self.ops.drop_prefetched()
        self.fetcher.close()
        if len(slices) > 1:
            reason = f"{reason} (last of {len(slices)} slices of {sliced_by})"
        if buf:
            write(TypedRows(buf))
            buf.clear()
        summary.rows = state.rows
        summary.pages = state.pages
        summary.requests = getattr(self.http, "requests", 0)
        summary.retries = getattr(self.http, "retries", 0)
        auth = getattr(self.http, "auth", None)
        summary.token_refreshes = getattr(auth, "refreshes", 0) or 0
        summary.warnings = state.watch.warnings() + list(getattr(auth, "warnings", None) or ())
        summary.stop_reason = reason
        summary.concurrency = self.fetcher.concurrency
        summary.lookahead_extra = self.fetcher.extra
        budget = getattr(self.http, "budget", None)
        if budget is not None:
            summary.peak_in_flight = budget.peak
            summary.pauses = budget.pauses
            summary.paused_seconds = budget.paused_seconds
            summary.lowest_concurrency = budget.lowest_limit
        summary.elapsed = self.clock() - started
        return summary
