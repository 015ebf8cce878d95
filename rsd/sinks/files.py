"""Text outputs: CSV, JSON Lines and JSON, to a stream or to a file that is replaced atomically.

Owns: the exact text of each format and the atomic-file protocol (write `.NAME.XXXX.rsd-tmp` beside the target,
`os.replace` it on close, delete it on abort, so a failed run never leaves a partial file in place of the
previous one). Must not: buffer a whole result (rows are written as they arrive) or know about databases.

Text conventions: CSV has a header row, `\\n` line endings, an empty field for null and `true`/`false` for
booleans; JSON Lines is one object per line keyed by column name; JSON is an array streamed as
`[\\n{...},\\n{...}\\n]\\n` (`[]\\n` when empty). Non-finite floats (NaN, inf) are written as null in JSON.
"""
from __future__ import annotations

import csv
import datetime as _dt
import decimal
import io
import json
import math
import os
import stat
import tempfile
from itertools import islice
from typing import IO, Iterable, Optional, Sequence

from ..errors import SinkError
from .base import Sink
from .columns import SinkColumn

_BUFFER = 1 << 20


class Output:
    """A text destination: a stream we do not own, or a file written through a temporary sibling."""

    def __init__(self, path: Optional[str], stream: Optional[IO[str]]):
        self.path = path
        self._tmp: Optional[str] = None
        self._owned = False
        if path is None:
            self.file = stream
            self.name = "stdout" if stream is None or getattr(stream, "name", None) == "<stdout>" else str(
                getattr(stream, "name", "stream"))
            return
        self.name = path
        self.file = self._open(path)
        self._owned = True

    def _open(self, path: str) -> IO[str]:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror}") from exc
        if st is not None and not stat.S_ISREG(st.st_mode):
            # A device, FIFO or /dev/stdout: written in place, never replaced.
            try:
                return open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER)
            except OSError as exc:
                raise SinkError(f"cannot write {path}: {exc.strerror}") from exc
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".rsd-tmp", dir=directory)
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror} ({directory})") from exc
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
        try:
            os.chmod(self._tmp, mode)
        except OSError:
            pass
        return io.open(fd, "w", encoding="utf-8", newline="", buffering=_BUFFER)

    def commit(self) -> None:
        self.file.flush()
        if not self._owned:
            return
        if self._tmp is not None:
            os.fsync(self.file.fileno())
        self.file.close()
        if self._tmp is not None:
            os.replace(self._tmp, self.path)
            self._tmp = None

    def discard(self) -> None:
        if not self._owned:
            try:
                self.file.flush()
            except Exception:
                pass
            return
        try:
            self.file.close()
        except Exception:
            pass
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class TextSink(Sink):
    """Base of the streamed text formats."""

    def __init__(self, columns: Sequence[SinkColumn], output: Output):
        super().__init__(columns)
        self.output = output
        self.description = output.name
        self._started = False

    def _rollback(self) -> None:
        self.output.discard()


class CsvSink(TextSink):
    def __init__(self, columns, output):
        super().__init__(columns, output)
        self._writer = csv.writer(output.file, lineterminator="\n")
        self._bool_indexes = tuple(i for i, c in enumerate(self.columns) if c.type == "boolean")

    def _write(self, rows: Iterable[tuple]) -> int:
        if not self._started:
            self._writer.writerow([c.name for c in self.columns])
            self._started = True
        writerows = self._writer.writerows
        bools = self._bool_indexes
        if bools:
            rows = (_csv_booleans(row, bools) for row in rows)
        n = 0
        it = iter(rows)
        while True:
            batch = list(islice(it, 1000))
            if not batch:
                return n
            writerows(batch)
            n += len(batch)

    def _commit(self) -> None:
        if not self._started:
            self._writer.writerow([c.name for c in self.columns])
            self._started = True
        self.output.commit()


def _csv_booleans(row: tuple, indexes: tuple[int, ...]) -> list:
    out = list(row)
    for i in indexes:
        v = out[i]
        if v is True:
            out[i] = "true"
        elif v is False:
            out[i] = "false"
    return out


def _json_default(value):
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _JsonEncoding:
    def __init__(self, columns: Sequence[SinkColumn]):
        self.names = tuple(c.name for c in columns)
        self._encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_json_default).encode

    def encode(self, row: tuple) -> str:
        obj = dict(zip(self.names, row))
        try:
            return self._encode(obj)
        except ValueError:  # NaN / inf: JSON has no such numbers
            return self._encode({k: _finite(v) for k, v in obj.items()})


class JsonLinesSink(TextSink):
    def __init__(self, columns, output):
        super().__init__(columns, output)
        self._encoding = _JsonEncoding(self.columns)

    def _write(self, rows: Iterable[tuple]) -> int:
        encode = self._encoding.encode
        write = self.output.file.write
        n = 0
        for row in rows:
            write(encode(row) + "\n")
            n += 1
        return n

    def _commit(self) -> None:
        self.output.commit()


class JsonSink(TextSink):
    def __init__(self, columns, output):
        super().__init__(columns, output)
        self._encoding = _JsonEncoding(self.columns)

    def _write(self, rows: Iterable[tuple]) -> int:
        encode = self._encoding.encode
        write = self.output.file.write
        n = 0
        for row in rows:
            if self._started:
                write(",\n" + encode(row))
            else:
                write("[\n" + encode(row))
                self._started = True
            n += 1
        return n

    def _commit(self) -> None:
        self.output.file.write("\n]\n" if self._started else "[]\n")
        self.output.commit()
