"""Output columns as sinks see them: a name, a canonical type and whether it is a key.

Owns: `SinkColumn` and the conversion from the AST's `Column`. Must not: coerce values (rows arrive typed;
`rsd.mapping` applies `xs:type`) or keep a type table of its own: `xs:type` names are read with
`rsd.mapping.types.normalize_type`, the one table every coercion and every sink shares.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Protocol, Union

from ..mapping.types import CANONICAL_TYPES, normalize_type

canonical_type = normalize_type  # the sinks' name for it: `xs:type` as written -> one of CANONICAL_TYPES


class AstColumn(Protocol):
    """What `SinkColumn.from_ast` reads of a column (`rsd.reader.ast.Column` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> Optional[str]: ...

    @property
    def key(self) -> bool: ...


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
    def from_ast(cls, column: AstColumn) -> "SinkColumn":
        """From `rsd.reader.ast.Column` (anything with `name`, `type` as written and `key`)."""
        return cls(column.name, canonical_type(column.type), bool(column.key))


def sink_columns(columns: Iterable[Union[SinkColumn, AstColumn]]) -> tuple[SinkColumn, ...]:
    """AST columns (or `SinkColumn`s) -> a tuple of `SinkColumn`."""
    return tuple(c if isinstance(c, SinkColumn) else SinkColumn.from_ast(c) for c in columns)
