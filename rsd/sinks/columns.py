"""Output columns as sinks see them: a name, a canonical type and whether it is a key.

Owns: `SinkColumn`, the `xs:type` alias table (`canonical_type`) and the conversion from the AST's `Column`.
Must not: coerce values (rows arrive typed; `rsd.mapping` applies `xs:type`) or know the profile language beyond
the two attributes read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

CANONICAL_TYPES = ("string", "integer", "number", "boolean", "date", "datetime")

_ALIASES = {
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "double": "number",
    "float": "number",
    "decimal": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


def canonical_type(xs_type: Optional[str]) -> str:
    """`xs:type` as written (any case, `xs:` prefix optional) -> one of `CANONICAL_TYPES`; unknown -> string."""
    if not xs_type:
        return "string"
    name = xs_type.strip().lower()
    if ":" in name:
        name = name.rsplit(":", 1)[1]
    return _ALIASES.get(name, "string")


@dataclass(frozen=True, slots=True)
class SinkColumn:
    """One output column. `type` is canonical (see `CANONICAL_TYPES`)."""

    name: str
    type: str = "string"
    key: bool = False

    def __post_init__(self) -> None:
        if self.type not in CANONICAL_TYPES:
            object.__setattr__(self, "type", canonical_type(self.type))

    @classmethod
    def from_ast(cls, column) -> "SinkColumn":
        """From `rsd.reader.ast.Column` (anything with `name`, `type` as written and `key`)."""
        return cls(column.name, canonical_type(column.type), bool(column.key))


def sink_columns(columns: Iterable) -> tuple[SinkColumn, ...]:
    """AST columns (or `SinkColumn`s) -> a tuple of `SinkColumn`."""
    return tuple(c if isinstance(c, SinkColumn) else SinkColumn.from_ast(c) for c in columns)
