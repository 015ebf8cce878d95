"""The `parquet` format: a Parquet file written with pyarrow, a row group at a time, moved into place on success.

Owns: the Parquet file (schema from `arrow.arrow_schema`, so every type follows the one `xs:type` table; zstd
compression; row groups of up to `ROW_GROUP_ROWS` rows, written as pages arrive so memory stays flat). Must not:
write anywhere but a temporary sibling of the target before `close()` (`files.Output`'s atomic-file protocol: a
failed, interrupted or killed run leaves no file, or the previous one), or to a terminal (Parquet is binary).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from ..errors import OptionError
from .arrow import TakesArrow, arrow_schema, import_pyarrow
from .base import Sink
from .columns import SinkColumn
from .files import Output

if TYPE_CHECKING:
    import pyarrow as pa

#: rows per row group: large enough for good compression and column statistics, small enough to keep memory flat
ROW_GROUP_ROWS = 100_000
COMPRESSION = "zstd"


class ParquetSink(TakesArrow, Sink):
    _pending: list[pa.RecordBatch]  # the batches of the row group being gathered
    def __init__(self, columns: Sequence[SinkColumn], path: Optional[str]):
        super().__init__(columns)
        if path is None:
            raise OptionError("-f parquet writes a file: give --output FILE.parquet",
                              hint="Parquet is a binary format; it is not written to stdout")
        pa = import_pyarrow()
        import pyarrow.parquet as pq

        self.pa = pa
        self.schema = arrow_schema(self.columns)
        self.description = path
        self.output = Output(path, None, binary=True)
        try:
            self.writer = pq.ParquetWriter(self.output.file, self.schema, compression=COMPRESSION)
        except BaseException:
            self.output.discard()
            raise
        self._pending = []
        self._pending_rows = 0

    def _write(self, batch: "pa.RecordBatch") -> int:
        batch = self.as_batch(batch)
        n: int = batch.num_rows
        if n:
            self._pending.append(batch)
            self._pending_rows += n
            if self._pending_rows >= ROW_GROUP_ROWS:
                self._flush()
        return n

    def _flush(self) -> None:
        if self._pending:
            table = self.pa.Table.from_batches(self._pending, schema=self.schema)
            self.writer.write_table(table, row_group_size=max(table.num_rows, 1))
            self._pending, self._pending_rows = [], 0

    def _commit(self) -> None:
        self._flush()
        self.writer.close()  # the footer; the file object stays open for the fsync and the rename
        self.output.commit()

    def _rollback(self) -> None:
        self._pending = []
        try:
            self.writer.close()
        except Exception:
            pass
        self.output.discard()
