"""The `Sink` life cycle shared by every output: write pages, then close (commit) or abort (roll back).

Owns: the state machine (open -> closed | aborted), `rows_written`, context-manager semantics (an exception aborts)
and turning driver/OS errors into `SinkError`. Must not: know formats or databases (subclasses do).
"""
from __future__ import annotations

from types import TracebackType
from typing import Iterable, Optional, Sequence

from ..errors import OptionError, OutputClosed, RsdError, SinkError
from ..mapping.types import Row
from .columns import SinkColumn


class Sink:
    """Where rows go. Subclasses implement `_write`, `_commit` and `_rollback`.

    `write(rows)` may be called once per page; `close()` commits (a file is moved into place, a table swapped in);
    `abort()` leaves the previous file or table exactly as it was. Both are idempotent; after either, `write`
    raises. A failed `write` or `close` aborts by itself before raising `SinkError`.
    """

    description = "output"
    #: the high-water mark an incremental load stored (set by sinks that keep one; None: none)
    mark: Optional[str] = None
    #: True: `write` takes a `pyarrow.RecordBatch` per page instead of row tuples (`arrow.page_writer`)
    takes_arrow = False
    #: the load mode (`registry.MODES`): database targets and the file outputs that keep state read it
    mode: str = "truncate"

    def __init__(self, columns: Sequence[SinkColumn]):
        self.columns = tuple(columns)
        self.rows_written = 0
        self._state = "open"

    # -- public API -------------------------------------------------------------------------------------
    def write(self, rows: Iterable[Row]) -> int:
        """Write rows (tuples in column order; a `RecordBatch` for a sink that `takes_arrow`); returns how many
        were written by this call."""
        if self._state != "open":
            raise SinkError(f"{self.description}: cannot write, the output was already {self._state}")
        try:
            n = self._write(rows)
        except RsdError:
            self.abort()
            raise
        except Exception as exc:  # driver and OS errors: the caller sees one SinkError
            self.abort()
            raise self._error("writing", exc) from exc
        self.rows_written += n
        return n

    def close(self) -> None:
        """Commit: flush and move the file into place, or swap the loaded rows into the table."""
        if self._state == "closed":
            return
        if self._state == "aborted":
            raise SinkError(f"{self.description}: cannot close, the output was aborted")
        try:
            self._commit()
        except RsdError:
            self.abort()
            raise
        except Exception as exc:
            self.abort()
            raise self._error("committing", exc) from exc
        self._state = "closed"

    def abort(self) -> None:
        """Roll back: the previous table or file stays as it was. Never raises for cleanup problems."""
        if self._state != "open":
            return
        self._state = "aborted"
        try:
            self._rollback()
        except Exception:  # best effort: the guarantee comes from never having replaced anything
            pass

    def track_cursor(self, column: str) -> Optional[str]:
        """Incremental loads: make `column` the cursor and return its mark (None: load everything). Outputs that
        keep no state refuse."""
        raise OptionError(f"--incremental needs an output that keeps its mark: a database URL or a file, not "
                          f"{self.description}")

    def __enter__(self) -> "Sink":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- for subclasses ---------------------------------------------------------------------------------
    def _write(self, rows: Iterable[Row]) -> int:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _scrub(self, text: str) -> str:
        """Hook for database sinks to remove a password from a driver message."""
        return text

    def _error(self, doing: str, exc: BaseException) -> SinkError:
        if isinstance(exc, BrokenPipeError):
            return OutputClosed(f"{doing} {self.description}: the reader closed the pipe")
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())  # one paragraph
        return SinkError(self._scrub(f"{doing} {self.description} failed: {reason}"))
