"""What a row is, for every stage that holds one (mapping, engine, sinks, the library): one home for the alias.

Must not: import anything (it is imported by `import rsd.api`, which stays light).
"""
from __future__ import annotations

from typing import Any, TypeAlias

#: One row: values in column order. Raw rows (from `rsd.mapping.models`) hold JSON scalars and text; converted rows
#: the Python value of each column's canonical type (`rsd.mapping.types`), or whatever `on_error="keep"` kept.
Row: TypeAlias = tuple[Any, ...]
