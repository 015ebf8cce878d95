"""Write-back's files: the input rows of `rsd insert|update|delete --from FILE` and the errors file of `--errors FILE`.

Owns: reading input rows from CSV (a header row, then one row a record; an empty field is null, as rsd's CSV output
writes null) or JSON Lines (one object a line; values keep their JSON types), each with the line it starts on for
messages; and the errors file: JSON Lines of `{"row", "input", "error"}`, written through a temporary sibling and
moved into place when the write ends. Must not: know the profile (names are checked by `rsd.engine.writer`) or send
anything.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ..errors import InvalidInputError
from .files import Output

#: file endings read as JSON Lines; anything else is CSV unless its first character is `{`
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class InputRow:
    row: int  # 1-based number of the data row
    line: int  # the line of the file it starts on
    values: tuple[tuple[str, Any], ...]  # (name, value) in the file's order


def input_format(path: str) -> str:
    """"jsonl" or "csv": by the file's ending, else by its first character."""
    if path.lower().endswith(JSON_LINES_SUFFIXES):
        return "jsonl"
    if path.lower().endswith(".csv"):
        return "csv"
    try:
        with open(path, encoding="utf-8-sig") as fh:
            head = fh.read(4096).lstrip()
    except (OSError, UnicodeDecodeError):
        return "csv"  # read_rows says what is wrong with it
    return "jsonl" if head.startswith("{") else "csv"


def read_rows(path: str) -> Iterator[InputRow]:
    """The rows of an input file, as they come; bad input is `InvalidInputError` naming the file and line."""
    if not os.path.isfile(path):
        raise InvalidInputError(f"{path}: no such file (--from names a CSV file with a header row, or JSON Lines)")
    try:
        if input_format(path) == "jsonl":
            yield from _json_lines(path)
        else:
            yield from _csv_rows(path)
    except UnicodeDecodeError as e:
        raise InvalidInputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise InvalidInputError(f"{path}: cannot read it ({e.strerror})") from None


def _csv_rows(path: str) -> Iterator[InputRow]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header: Optional[list[str]] = None
        previous_end = 0
        row = 0
        try:
            for record in reader:
                start, previous_end = previous_end + 1, reader.line_num
                if not record or (len(record) == 1 and not record[0].strip() and header is not None):
                    continue  # a blank line
                if header is None:
                    header = [name.strip() for name in record]
                    blank = [i + 1 for i, name in enumerate(header) if not name]
                    if blank:
                        raise InvalidInputError(f"{path}:{start}: the header row has no name for field {blank[0]}")
                    twice = sorted({n for n in header if [h.lower() for h in header].count(n.lower()) > 1})
                    if twice:
                        raise InvalidInputError(f"{path}:{start}: the header row names {twice[0]!r} twice")
                    continue
                row += 1
                if len(record) != len(header):
                    raise InvalidInputError(f"{path}:{start}: row {row} has {len(record)} fields; the header row "
                                            f"has {len(header)}")
                yield InputRow(row, start, tuple((name, value if value != "" else None)
                                                 for name, value in zip(header, record)))
        except csv.Error as e:
            raise InvalidInputError(f"{path}:{reader.line_num}: not valid CSV ({e})") from None
    if header is None:
        raise InvalidInputError(f"{path}: the file is empty; --from needs a header row naming the fields")


def _json_lines(path: str) -> Iterator[InputRow]:
    row = 0
    with open(path, encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as e:
                raise InvalidInputError(f"{path}:{line_no}: not a JSON object ({e.args[0] if e.args else e})") \
                    from None
            if not isinstance(doc, dict):
                raise InvalidInputError(f"{path}:{line_no}: a line of JSON Lines input must be an object "
                                        f"({{\"name\": value, ...}}), not {type(doc).__name__}")
            row += 1
            yield InputRow(row, line_no, tuple(doc.items()))


class ErrorsFile:
    """`--errors FILE`: one JSON object a line per failed row, `{"row", "input", "error"}` (already redacted).
    `close()` moves it into place; `abort()` leaves any previous file as it was."""

    def __init__(self, path: str):
        self.path = path
        self._out = Output(path, None)
        self.count = 0

    def add(self, row: int, values: dict[str, Any], error: str) -> None:
        self._out.file.write(json.dumps({"row": row, "input": values, "error": error}, ensure_ascii=False,
                                        default=str) + "\n")
        self.count += 1

    def close(self) -> None:
        self._out.commit()

    def abort(self) -> None:
        self._out.discard()
