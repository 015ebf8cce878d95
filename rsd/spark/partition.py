"""Running one partition of the Spark data source, on its executor, with rsd's own runner. No pyspark here.

Owns: resolving the connection options where the partition runs (`${env:...}` and every other reference; never in
the plan), one HTTP session, credentials and token refresh per partition (`rsd.api.make_client`), the partition's
inputs and page range, turning pages into Arrow record batches (`rsd.sinks.arrow.BatchBuilder`) and handing them
to Spark as they come (`rsd.api.stream_pages`: the runner in a thread at most `QUEUE_PAGES` pages ahead of Spark,
so memory stays flat), the probe of the first page that plans page ranges, and the one-paragraph
redacted error that fails a partition's task (`PartitionError`, with no chained exception that could carry an
unredacted value into Spark's error or the executor's log). Must not: print or log values, or keep anything
between partitions.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from .. import api
from ..engine.runner import Runner
from ..errors import RsdError
from ..sinks.arrow import BatchBuilder
from ..sinks.columns import sink_columns
from .plan import PartitionSpec, SourceOptions

if TYPE_CHECKING:
    from ..http.client import HttpClient
    from ..http.redact import Redactor
    from ..paging import Pager

#: pages held between the runner's thread and Spark (each one Arrow batch of up to a page of rows)
QUEUE_PAGES = 4


class PartitionError(RuntimeError):
    """A partition failed: rsd's own one-paragraph message, redacted. Raised without a cause or context."""


def _fail(source: SourceOptions, spec: Optional[PartitionSpec], exc: BaseException,
          redactor: "Redactor") -> PartitionError:
    where = f"partition {spec.index + 1} of {spec.count}" if spec is not None else "planning"
    if isinstance(exc, RsdError):
        text = str(exc) + (f" (hint: {exc.hint})" if exc.hint else "")
    else:
        text = f"internal error: {type(exc).__name__}: {exc}"
    paragraph = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return PartitionError(redactor.redact(f"rsd {source.profile_name}, {where}: {paragraph}"))


def _runner(source: SourceOptions, inputs: Iterable[tuple[str, str]], redactor: "Redactor",
            max_pages: Optional[int] = None) -> tuple[Runner, "HttpClient"]:
    profile = api.load_text(source.profile_text, source.profile_name)
    options = api.resolve_options(options=source.connection, redactor=redactor)  # ${env:...} resolved here
    client = api.make_client(options, redactor, None, api.make_policy(profile))  # as `rsd run` trusts
    try:
        runner = Runner(profile, connection=list(options.items()), inputs=list(inputs), http=client,
                        redactor=redactor, max_pages=max_pages, concurrency=client.concurrency)
    except BaseException:
        client.close()
        raise
    return runner, client


def probe_first_page(source: SourceOptions) -> Optional["Pager"]:
    """Run the profile for its first page only; the pager of its last paged call (with the totals that page
    announced), or None. Raises `PartitionError` when the run fails."""
    redactor = api.new_redactor()
    try:
        runner, client = _runner(source, source.inputs, redactor, max_pages=1)
        try:
            runner.run(lambda rows: None)
        finally:
            client.close()
        return runner.state.pager
    except Exception as exc:
        raise _fail(source, None, exc, redactor) from None


def read_partition(source: SourceOptions, spec: PartitionSpec) -> Iterator[Any]:
    """The partition's rows as `pyarrow.RecordBatch`es, page by page; `PartitionError` when it fails."""
    redactor = api.new_redactor()
    try:
        runner, client = _runner(source, (*source.inputs, *spec.inputs), redactor)
    except Exception as exc:
        raise _fail(source, spec, exc, redactor) from None
    try:
        runner.state.page_window = spec.window
        build = BatchBuilder(sink_columns(runner.columns))
    except Exception as exc:
        client.close()
        raise _fail(source, spec, exc, redactor) from None
    pages = api.stream_pages(runner, client, ahead=QUEUE_PAGES)  # the runner in a thread, a few pages ahead
    try:
        for rows in pages:
            yield build(rows)
    except Exception as exc:
        failure = _fail(source, spec, exc, redactor)
    else:
        return
    finally:
        pages.close()  # Spark stopped early: no further request, the session closed
    raise failure from None
