"""The Spark data source's plan: its options, and how a read splits into partitions. No pyspark here.

Owns: reading the data source's options (`SourceOptions.parse`: `profile`/`path` or `profileText`, `input.NAME`,
`partitionBy` + `partitionValues`, `pagePartitions`, every other option a connection option, kept *unresolved*),
the Spark schema of `api:info` (`SPARK_TYPES`, keyed by the canonical types of `rsd.mapping.types`), and the
partitions (`plan_partitions`): one per `partitionValues` value, or page ranges (page numbers or offsets) whose total
the first page announces (one probe request, made where Spark plans the read), or one partition.
Must not: resolve a `${...}` reference into anything that is pickled (the plan, the options and the partitions
travel to the executors as they were written: credentials are resolved on each executor, `partition.py`), or run
a partition.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional

from ..errors import OptionError

#: canonical type -> Spark SQL type (pyspark.sql.types class name), one home for the data source's schema
SPARK_TYPES: dict[str, str] = {
    "string": "StringType",
    "integer": "LongType",
    "number": "DoubleType",
    "boolean": "BooleanType",
    "date": "DateType",
    "datetime": "TimestampType",  # an instant; Arrow's timestamp[us, tz=UTC] (rsd.sinks.arrow)
}

#: option names of the data source itself (lower case); every other option is a connection option
PROFILE_OPTIONS = ("profile", "path", "profiletext")
PLAN_OPTIONS = ("partitionby", "partitionvalues", "pagepartitions")
INPUT_PREFIX = "input."


@dataclass(frozen=True)
class SourceOptions:
    """What `spark.read.format("rsd").option(...)` said, with the profile's text read on the driver."""

    profile_text: str
    profile_name: str  # the path as given, or "<profileText>": for messages
    connection: tuple[tuple[str, str], ...] = ()  # as written: `${env:...}` stays unresolved
    inputs: tuple[tuple[str, str], ...] = ()
    partition_by: Optional[str] = None
    partition_values: tuple[str, ...] = ()
    page_partitions: Optional[int] = None

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> "SourceOptions":
        lower = {k.lower(): (k, v) for k, v in options.items()}
        text, name = _profile_text(lower)
        connection: list[tuple[str, str]] = []
        inputs: list[tuple[str, str]] = []
        for low, (key, value) in lower.items():
            if low in PROFILE_OPTIONS or low in PLAN_OPTIONS:
                continue
            if low.startswith(INPUT_PREFIX):
                inputs.append((key[len(INPUT_PREFIX):], value))
            else:
                connection.append((key, value))
        partition_by = lower.get("partitionby", (None, None))[1] or None
        raw_values = lower.get("partitionvalues", (None, None))[1]
        values = tuple(v.strip() for v in raw_values.split(",")) if raw_values else ()
        if partition_by and not values:
            raise OptionError(f"partitionBy={partition_by!r} needs partitionValues (a comma-separated list)")
        if values and not partition_by:
            raise OptionError("partitionValues is set but partitionBy is not: name the input they are values of")
        pages = _positive_int(lower.get("pagepartitions", (None, None))[1], "pagePartitions")
        if partition_by and any(k.lower() == partition_by.lower() for k, _ in inputs):
            raise OptionError(f"input.{partition_by} is set and is also partitionBy: each partition sets it")
        return cls(text, name, tuple(connection), tuple(inputs), partition_by, values, pages)


def _profile_text(lower: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    path = (lower.get("profile") or lower.get("path") or (None, None))[1]
    text = lower.get("profiletext", (None, None))[1]
    if path and text:
        raise OptionError("both profile and profileText are set: give the profile's path or its text, not both")
    if text:
        return text, "<profileText>"
    if not path:
        raise OptionError('the rsd data source needs a profile: .option("profile", "path/to/Profile.rsd") '
                          'or .option("profileText", text)')
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise OptionError(f"profile {path}: {exc.strerror}") from exc
    from ..reader.parse import decode
    return decode(data), path


def _positive_int(raw: Optional[str], name: str) -> Optional[int]:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        n = int(str(raw).strip())
    except ValueError:
        n = 0
    if n < 1:
        raise OptionError(f"{name}={raw!r}: give a whole number of at least 1")
    return n


@dataclass(frozen=True)
class PartitionSpec:
    """One partition: the inputs it adds, and for a page range its first page (0-based), the rows before it and
    how many pages it reads (None: to the end)."""

    index: int
    count: int
    inputs: tuple[tuple[str, str], ...] = ()
    window: Optional[tuple[int, int, Optional[int]]] = None


@dataclass
class Plan:
    partitions: list[PartitionSpec]
    note: str  # how the read was split, and why: for logs and tests
    probe: dict[str, int] = field(default_factory=dict)


def page_ranges(total_pages: int, page_rows: int, wanted: int) -> list[tuple[int, int, Optional[int]]]:
    """`wanted` contiguous page ranges (fewer when there are fewer pages) as (first page, rows before it, pages);
    the last range is open-ended, so pages added after planning are still read (its stop hints end it)."""
    n = max(1, min(wanted, total_pages))
    size, extra = divmod(total_pages, n)
    out: list[tuple[int, int, Optional[int]]] = []
    start = 0
    for i in range(n):
        pages = size + (1 if i < extra else 0)
        out.append((start, start * page_rows, pages if i < n - 1 else None))
        start += pages
    return out


def plan_partitions(source: SourceOptions, probe: Optional[Callable[[SourceOptions], Any]] = None) -> Plan:
    """The partitions of a read. `probe(source)` (page ranges only) runs the first page and returns the last paged
    call's pager, or None: see `partition.probe_first_page`."""
    split_pages = bool(source.page_partitions and source.page_partitions > 1 and probe is not None)
    if source.partition_by and not split_pages:
        parts = [PartitionSpec(i, len(source.partition_values), ((source.partition_by, v),))
                 for i, v in enumerate(source.partition_values)]
        return Plan(parts, f"{len(parts)} partitions, one per value of input {source.partition_by}")
    if not split_pages or probe is None:
        return Plan([PartitionSpec(0, 1)], "one partition")
    if not source.partition_by:
        windows, note, facts = _page_windows(source, probe)
        return Plan([PartitionSpec(i, len(windows), window=w) for i, w in enumerate(windows)], note, facts)
    # both: each value's pages split into ranges, one probe a value (its total is its own)
    planned: list[tuple[tuple[tuple[str, str], ...], Optional[Window]]] = []
    notes = []
    for value in source.partition_values:
        extra = ((source.partition_by, value),)
        windows, note, _ = _page_windows(replace(source, inputs=source.inputs + extra), probe)
        planned += [(extra, w) for w in windows]
        notes.append(f"{value}: {note}")
    parts = [PartitionSpec(i, len(planned), extra, w) for i, (extra, w) in enumerate(planned)]
    return Plan(parts, f"{len(parts)} partitions by value of input {source.partition_by} and pages ("
                + "; ".join(notes) + ")")


#: a page range: first page (0-based), rows before it, pages (None: to the end)
Window = tuple[int, int, Optional[int]]


def _page_windows(source: SourceOptions, probe: Callable[[SourceOptions], Any]
                  ) -> tuple[list[Optional[Window]], str, dict[str, int]]:
    """The page ranges of one read (`[None]`: it is not split), why, and what the probe learnt."""
    pager = probe(source)
    why = _not_addressable(pager)
    if why:
        return [None], f"one partition: pagePartitions needs {why}", {}
    hints = pager.hints
    page_rows = pager.rows  # the rows of the first page: the server's page size
    total_pages = hints.seen_total_pages
    if total_pages is None and hints.seen_total_count is not None and page_rows:
        total_pages = math.ceil(hints.seen_total_count / page_rows)
    if total_pages is None:
        return [None], "one partition: the first page announced no total (totalcountpath or totalpagespath)", {}
    ranges = page_ranges(total_pages, page_rows, source.page_partitions or 1)
    return (list(ranges), f"{len(ranges)} partitions of pages of {total_pages} ({page_rows} rows a page)",
            {"total_pages": total_pages, "page_rows": page_rows})


def _not_addressable(pager: Any) -> Optional[str]:
    if pager is None:
        return "declarative paging (EnablePaging with pagenumberparam or pageoffsetparam); the profile has none"
    if not getattr(pager, "rangeable", False):
        return (f"paging whose page N can be asked for directly (pagenumberparam or pageoffsetparam), not "
                f"{pager.describe()}")
    if pager.pages < 1:
        return "a first page, which the API did not return"
    return None
