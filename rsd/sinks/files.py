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
from itertools import islice
from operator import itemgetter
from typing import IO, Any, Callable, Generic, Iterable, Iterator, Optional, Sequence, TypeVar

import orjson

from ..mapping.paths import orjson_differs
from ..mapping.types import Row, TypedRows

from ..atomic import temp_beside
from ..errors import OptionError, SinkError
from .base import Sink
from .columns import SinkColumn
from .state import FileState, check_cursor, greatest, mark_text

_BUFFER = 1 << 20
#: what `TextSink._previous` reads back of one row of the previous file and `_copy` writes again
Raw = TypeVar("Raw")


class Output:
    """A text destination: a stream we do not own, or a file written through a temporary sibling (opened in binary
    mode with `binary=True`, for the Parquet sink)."""

    #: the text stream or file; a binary file (bytes) with `binary=True`
    file: IO[Any]

    def __init__(self, path: Optional[str], stream: Optional[IO[str]], *, binary: bool = False):
        self.path = path
        self.binary = binary
        self._tmp: Optional[str] = None
        self._owned = False
        if path is None:
            if stream is None:
                raise ValueError("an Output writes to a path or to a stream: both are None")
            self.file = stream
            self.name = "stdout" if getattr(stream, "name", None) == "<stdout>" else str(
                getattr(stream, "name", "stream"))
            return
        self.name = path
        self.file = self._open(path)
        self._owned = True

    def _open(self, path: str) -> IO[Any]:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror}") from exc
        if st is not None and not stat.S_ISREG(st.st_mode):
            # A device, FIFO or /dev/stdout: written in place, never replaced.
            try:
                if self.binary:
                    return open(path, "wb", buffering=_BUFFER)
                return open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER)
            except OSError as exc:
                raise SinkError(f"cannot write {path}: {exc.strerror}") from exc
        try:
            fd, self._tmp = temp_beside(path)
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror} ({os.path.dirname(os.path.abspath(path))})") from exc
        mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
        try:
            os.chmod(self._tmp, mode)
        except OSError:
            pass
        if self.binary:
            return io.open(fd, "wb", buffering=_BUFFER)
        return io.open(fd, "w", encoding="utf-8", newline="", buffering=_BUFFER)

    @property
    def replaceable(self) -> bool:
        """A regular file written through a temporary sibling (not stdout, a device or a FIFO)."""
        return self._tmp is not None

    def write_bytes(self, data: bytes) -> None:
        """UTF-8 text already encoded: straight to the binary layer of a UTF-8 file (after what the text layer
        holds), else decoded and written as text."""
        f = self.file
        buffer = getattr(f, "buffer", None)
        encoding = (getattr(f, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if buffer is not None and encoding == "utf8":
            f.flush()
            buffer.write(data)
        else:
            f.write(data.decode("utf-8"))

    def commit(self, before_replace: Optional[Callable[[str], None]] = None) -> None:
        """Flush, and move the temporary file into place; `before_replace(temp_path)` runs once it is complete."""
        self.file.flush()
        if not self._owned:
            return
        if self._tmp is not None:
            os.fsync(self.file.fileno())
        self.file.close()
        if self._tmp is not None:
            if before_replace is not None:
                before_replace(self._tmp)
            os.replace(self._tmp, self.name)  # an owned file's name is its path
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


class TextSink(Sink, Generic[Raw]):
    """Base of the streamed text formats. A subclass writes rows (`_write`), ends the text (`_finish`) and, for
    incremental loads, reads the rows of the previous file back (`_previous`) and copies one (`_copy`)."""

    mode = "truncate"  # set by open_sink; used only by incremental loads (upsert, append, truncate)

    def __init__(self, columns: Sequence[SinkColumn], output: Output):
        super().__init__(columns)
        self.output = output
        self.description = output.name
        self._started = False
        self.cursor: Optional[SinkColumn] = None
        self.mark: Optional[str] = None
        self._merge: Optional[_Merge] = None

    # -- incremental loads: the file is the table; the mark lives in a state file beside it ---------------------
    def track_cursor(self, column: str) -> Optional[str]:
        from .database import check_mode

        path = self.output.path if self.output.replaceable else None
        if path is None:  # stdout, a device, a FIFO
            return super().track_cursor(column)
        mode = check_mode(self.mode, self.columns, os.path.basename(path))
        if mode == "replace":
            mode = "truncate"  # a file has no definition to keep: both rewrite it
        self.cursor = check_cursor(self.columns, column)
        state = FileState(path, self.cursor.name)
        self.mark = state.read() if os.path.exists(path) else None
        self._merge = _Merge(self.columns, self.cursor, mode, state, self.mark)
        return self.mark

    def write(self, rows: Iterable[Row]) -> int:
        if self._merge is not None:
            page = rows if isinstance(rows, list) else list(rows)
            self._merge.note(page)
            return super().write(page)
        return super().write(rows)

    def _commit(self) -> None:
        merge = self._merge
        if merge is None:
            self._finish()
            self.output.commit()
            return
        path = merge.state.output
        if merge.keeps_previous and os.path.exists(path):
            try:
                for key, raw in self._previous(path, merge):
                    if merge.keep(key):
                        self._copy(raw)
            except (OSError, ValueError, csv.Error) as exc:
                raise SinkError(f"{self.output.path}: cannot read the previous rows to merge them ({exc}); run with "
                                f"--full-refresh --mode truncate to rewrite the file") from exc
        self._finish()
        self.mark = merge.new_mark()
        self.output.commit(before_replace=lambda tmp: merge.state.prepare(merge.old_mark, self.mark, tmp))
        merge.state.commit(self.mark)

    def _finish(self) -> None:
        """End the text (a header for an empty CSV, the closing bracket of JSON)."""

    def _previous(self, path: str, merge: _Merge) -> Iterator[tuple[tuple[str, ...], Raw]]:
        """(key as `_Merge.key` compares it, what `_copy` writes) for every row of the previous file."""
        raise OptionError(f"--incremental is not available for {self.description}'s format")

    def _copy(self, raw: Raw) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        self.output.discard()


class _Merge:
    """An incremental load into a file: the keys and the greatest cursor value of the new rows; which previous
    rows stay (upsert: those whose key did not come again; append: all; truncate: none)."""

    def __init__(self, columns: Sequence[SinkColumn], cursor: SinkColumn, mode: str, state: FileState,
                 old_mark: Optional[str]):
        self.cursor, self.mode, self.state, self.old_mark = cursor, mode, state, old_mark
        self.key_index = tuple(i for i, c in enumerate(columns) if c.key) if mode == "upsert" else ()
        self.key_names = tuple(columns[i].name for i in self.key_index)
        self.cursor_index = next(i for i, c in enumerate(columns) if c is cursor)
        self.keys: set[tuple[str, ...]] = set()
        self.greatest: Optional[str] = None

    @property
    def keeps_previous(self) -> bool:
        return self.mode in ("upsert", "append")

    def note(self, rows: list[Row]) -> None:
        ki, ci = self.key_index, self.cursor_index
        if ki:
            self.keys.update(tuple(_key_value(row[i]) for i in ki) for row in rows)
        best = self.greatest
        for row in rows:
            best = greatest(best, mark_text(row[ci]), self.cursor)
        self.greatest = best

    def keep(self, key: tuple[str, ...]) -> bool:
        return not self.key_index or key not in self.keys

    def new_mark(self) -> Optional[str]:
        return self.greatest if self.mode == "truncate" else greatest(self.old_mark, self.greatest, self.cursor)


def _key_value(value: object) -> str:
    """A key as text, the same whether it comes from a typed row or back from a CSV, JSON Lines or JSON file."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class CsvSink(TextSink[list[str]]):
    def __init__(self, columns: Sequence[SinkColumn], output: Output):
        super().__init__(columns, output)
        self._writer = csv.writer(output.file, lineterminator="\n")
        self._bool_indexes = tuple(i for i, c in enumerate(self.columns) if c.type == "boolean")

    def _write(self, rows: Iterable[Row]) -> int:
        if not self._started:
            self._writer.writerow([c.name for c in self.columns])
            self._started = True
        writerows = self._writer.writerows
        bools = self._bool_indexes
        records: Iterable[Sequence[object]] = rows
        if bools:
            records = (_csv_booleans(row, bools) for row in rows)
        n = 0
        it = iter(records)
        while True:
            batch = list(islice(it, 1000))
            if not batch:
                return n
            writerows(batch)
            n += len(batch)

    def _finish(self) -> None:
        if not self._started:
            self._writer.writerow([c.name for c in self.columns])
            self._started = True

    def _previous(self, path: str, merge: _Merge) -> Iterator[tuple[tuple[str, ...], list[str]]]:
        names = [c.name for c in self.columns]
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                return
            if header != names:
                raise ValueError(f"its header is {', '.join(header)}, the profile's columns are {', '.join(names)}")
            index = merge.key_index
            for record in reader:
                yield tuple(record[i] if i < len(record) else "" for i in index), record

    def _copy(self, raw: list[str]) -> None:
        self._finish()
        self._writer.writerow(raw)


def _csv_booleans(row: Row, indexes: tuple[int, ...]) -> list[object]:
    out: list[object] = list(row)
    for i in indexes:
        v = out[i]
        if v is True:
            out[i] = "true"
        elif v is False:
            out[i] = "false"
    return out


def _json_default(value: object) -> object:
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: floats below this are written otherwise by orjson (`1e-7`, `0.00001`) than by json (`1e-07`, `1e-05`)
_TINY = 1e-4

#: types orjson must not write its own way (they go to `_json_default` through the json module instead)
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


class _JsonEncoding:
    """A row as a JSON object: `{"a": 1, "b": "x"}`, the json module's text with its `, ` and `: ` separators.

    The fast path (`lines`) has orjson write the row indented (`{\\n  "a": 1,\\n  "b": "x"\\n}`: json's `": "` already)
    and joins the members back on one line with `, `: a raw newline can only be orjson's own, as JSON escapes
    newlines inside strings, so the replacement cannot touch a value. Rows orjson would write differently from json
    go the slow way: numbers below 1e-4 (orjson `1e-7`, json `1e-07`; `orjson_differs`), integers beyond 64 bits,
    types json writes through `_json_default`, and nested lists or objects (a row a library caller built)."""

    def __init__(self, columns: Sequence[SinkColumn]):
        self.names = tuple(c.name for c in columns)
        self._encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_json_default).encode
        self._fast = bool(self.names)
        self._objects: Optional[Callable[[Sequence[Row]], list[dict[str, Any]]]] = None
        self._floats = tuple(i for i, c in enumerate(columns) if c.type == "number")
        self._template = _row_template(self.names)

    def page(self, rows: Sequence[Row], sep: bytes) -> bytes:
        """The rows' JSON texts joined by `sep`, as UTF-8 bytes: exactly `sep.join(self.lines(rows))`, written by one
        orjson call for the page where it can. The rows become objects in one generated comprehension (a dict display
        per row); orjson writes the list indented, one member a line, and the lines are joined back: a raw newline
        is only orjson's own, so `",\n    "` (between members) and `"\n  },\n  {\n    "` (between rows) occur
        nowhere else. A page with a nested value (deeper indentation), a number json writes otherwise, or a value
        orjson does not take goes through `lines`, row by row."""
        if not rows:
            return b""
        if not self._fast:
            return sep.join(self.lines(rows))
        if rows.__class__ is TypedRows and self._template is not None:
            return self._typed_page(rows, self._template, sep)
        if self._objects is None:
            self._objects = _compile_objects(self.names)
        try:
            text = orjson.dumps(self._objects(rows), option=_ORJSON_OPTIONS | orjson.OPT_INDENT_2)
        except (TypeError, ValueError):  # orjson.JSONEncodeError; a row of another length
            return sep.join(self.lines(rows))
        if rows.__class__ is TypedRows:
            # a run's rows: every value is its column's type or null (no nested value), and only number columns
            # hold floats: one below 1e-4 is the only value orjson writes otherwise
            if any(any(map(_TINY.__gt__, map(abs, filter(None, map(itemgetter(i), rows))))) for i in self._floats):
                return sep.join(self.lines(rows))
        elif text.count(b"\n") != 1 + len(rows) * (len(self.names) + 2) or (
                (b"e-" in text or b".0000" in text) and orjson_differs(text)):  # a nested value; such a number
            return sep.join(self.lines(rows))
        body = text[10:-6].replace(b"\n  },\n  {\n    ", b"}" + sep + b"{").replace(b",\n    ", b", ")
        return b"{" + body + b"}"

    def _typed_page(self, rows: Sequence[Row], template: bytes, sep: bytes) -> bytes:
        """`page` of a run's rows (every value its column's type or null: no nested value), a column at a time: orjson
        writes each column's values as one indented array, one value a line, which is split into the values' JSON
        texts (`",\n  "` occurs only between them: a raw newline is only orjson's own); each row is then the
        template of its column names with its values put in (`bytes % tuple`, in C). No Python code runs per row or
        per value. A number below 1e-4 (written otherwise by orjson), an integer beyond 64 bits or a value orjson
        does not take makes the page go through `lines`."""
        n = len(rows)
        columns = list(zip(*rows))
        if len(columns) != len(self.names) or any(
                any(map(_TINY.__gt__, map(abs, filter(None, columns[i])))) for i in self._floats):
            return sep.join(self.lines(rows))
        try:
            texts = [orjson.dumps(column, option=_ORJSON_COLUMN)[4:-2].split(b",\n  ") for column in columns]
        except (TypeError, ValueError):  # orjson.JSONEncodeError
            return sep.join(self.lines(rows))
        if any(len(values) != n for values in texts):  # rows of other lengths (never in a run's rows)
            return sep.join(self.lines(rows))
        return sep.join(map(template.__mod__, zip(*texts)))

    def lines(self, rows: Iterable[Row]) -> list[bytes]:
        """Each row's JSON text as UTF-8 bytes, exactly `encode(row)`."""
        if not self._fast:
            return [self.encode(row).encode("utf-8") for row in rows]
        names, dumps, options = self.names, orjson.dumps, _ORJSON_OPTIONS | orjson.OPT_INDENT_2
        out: list[bytes] = []
        append = out.append
        for row in rows:
            try:
                text = dumps(dict(zip(names, row)), option=options)
            except TypeError:  # orjson.JSONEncodeError too
                append(self.encode(row).encode("utf-8"))
                continue
            if b"\n    " in text or ((b"e-" in text or b".0000" in text) and orjson_differs(text)):
                append(self.encode(row).encode("utf-8"))
                continue
            append(b"{" + text[4:-2].replace(b",\n  ", b", ") + b"}")
        return out

    def encode(self, row: Row) -> str:
        obj = dict(zip(self.names, row))
        try:
            return self._encode(obj)
        except ValueError:  # NaN / inf: JSON has no such numbers
            return self._encode({k: _finite(v) for k, v in obj.items()})


#: a column of values as orjson writes it for `_JsonEncoding._typed_page`: `[\n  v1,\n  v2\n]`
_ORJSON_COLUMN = _ORJSON_OPTIONS | orjson.OPT_INDENT_2


def _row_template(names: Sequence[str]) -> Optional[bytes]:
    """`{"a": %b, "b": %b}`: a row's JSON text with its values left out, the names written as json writes them
    (`%` doubled); None when a name repeats (an object keeps one member of a name) or orjson refuses one."""
    if not names or len(set(names)) != len(names):
        return None
    try:
        members = [orjson.dumps(name).replace(b"%", b"%%") + b": %b" for name in names]
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate
        return None
    return b"{" + b", ".join(members) + b"}"


def _compile_objects(names: Sequence[str]) -> Callable[[Sequence[Row]], list[dict[str, Any]]]:
    """`[dict(zip(names, row)) for row in rows]` as one generated comprehension of dict displays (a repeated name
    keeps its first place and its last value, as `dict(zip(...))` does)."""
    values = [f"v{i}" for i in range(len(names))]
    members = ", ".join(f"{name!r}: {v}" for name, v in zip(names, values))
    source = f"def objects(rows):\n    return [{{{members}}} for {', '.join(values)}, in rows]\n"
    env: dict[str, Any] = {}
    exec(compile(source, "<rsd json objects>", "exec"), env)
    objects: Callable[[Sequence[Row]], list[dict[str, Any]]] = env["objects"]  # generated above
    return objects


class JsonLinesSink(TextSink[str]):
    def __init__(self, columns: Sequence[SinkColumn], output: Output):
        super().__init__(columns, output)
        self._encoding = _JsonEncoding(self.columns)

    def _write(self, rows: Iterable[Row]) -> int:
        page = rows if isinstance(rows, list) else list(rows)
        if page:
            self.output.write_bytes(self._encoding.page(page, b"\n") + b"\n")
        return len(page)

    def _previous(self, path: str, merge: _Merge) -> Iterator[tuple[tuple[str, ...], str]]:
        names = merge.key_names
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    obj = json.loads(line)
                    yield tuple(_key_value(obj.get(n)) for n in names), line if line.endswith("\n") else line + "\n"

    def _copy(self, raw: str) -> None:
        self.output.file.write(raw)


class JsonSink(TextSink[str]):
    def __init__(self, columns: Sequence[SinkColumn], output: Output):
        super().__init__(columns, output)
        self._encoding = _JsonEncoding(self.columns)

    def _write(self, rows: Iterable[Row]) -> int:
        page = rows if isinstance(rows, list) else list(rows)
        if page:
            self.output.write_bytes((b",\n" if self._started else b"[\n") + self._encoding.page(page, b",\n"))
            self._started = True
        return len(page)

    def _finish(self) -> None:
        self.output.file.write("\n]\n" if self._started else "[]\n")

    def _previous(self, path: str, merge: _Merge) -> Iterator[tuple[tuple[str, ...], str]]:
        names = merge.key_names
        with open(path, encoding="utf-8") as f:
            ours = f.readline().strip() in ("[", "[]")
        if ours:  # rsd's own layout, one object a line: streamed
            objects: Iterable[str] = _json_lines_of_array(path)
        else:  # written by something else: read as one document
            with open(path, encoding="utf-8") as f:
                objects = [json.dumps(o, ensure_ascii=False) for o in json.load(f)]
        for text in objects:
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("it is not an array of objects")
            yield tuple(_key_value(obj.get(n)) for n in names), text

    def _copy(self, raw: str) -> None:
        self.output.file.write((",\n" if self._started else "[\n") + raw)
        self._started = True


def _json_lines_of_array(path: str) -> Iterator[str]:
    """The object texts of a JSON array written as rsd writes it (`[`, one object a line, `]`); ValueError when the
    file is laid out otherwise."""
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
        if first == "[]":
            return
        if first != "[":
            raise ValueError("not one object a line")
        for line in f:
            text = line.strip()
            if text == "]":
                return
            text = text[:-1] if text.endswith(",") else text
            if not (text.startswith("{") and text.endswith("}")):
                raise ValueError("not one object a line")
            yield text
    raise ValueError("the array is not closed")
