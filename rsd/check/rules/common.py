"""What every rule family shares: the rule signature, the did-you-mean helper, the operation table."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from ...engine.operations import OPERATIONS
from ...errors import Diagnostic, closest
from ..facts import Facts, Source

Rule = Callable[[Facts, Source], Iterable[Diagnostic]]


def did_you_mean(word: str, choices: Iterable[str], fmt: str = "'{}'", cutoff: float = 0.6) -> Optional[str]:
    """`did you mean 'x'?` for the choice closest to `word` (case-insensitive), or None."""
    near = closest(word, choices, cutoff)
    return f"did you mean {fmt.format(near)}?" if near else None


def op_spec(name: str):
    """The registered operation `name` (any case), or None."""
    return OPERATIONS.get(name.strip().lower())
