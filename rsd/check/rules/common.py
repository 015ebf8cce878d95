"""What every rule family shares: the rule signature, the did-you-mean helper, edit distance, the operation table."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from ...engine.operations import OPERATIONS, OpSpec
from ...errors import Diagnostic, closest
from ..facts import Facts, Source

Rule = Callable[[Facts, Source], Iterable[Diagnostic]]


def did_you_mean(word: str, choices: Iterable[str], fmt: str = "'{}'", cutoff: float = 0.6) -> Optional[str]:
    """`did you mean 'x'?` for the choice closest to `word` (case-insensitive), or None."""
    near = closest(word, choices, cutoff)
    return f"did you mean {fmt.format(near)}?" if near else None


def op_spec(name: str) -> Optional[OpSpec]:
    """The registered operation `name` (any case), or None."""
    return OPERATIONS.get(name.strip().lower())


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b` (optimal string alignment)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]
