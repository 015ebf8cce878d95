"""Booleans written as words: the one truth table every part of rsd reads.

Owns: `TRUE_WORDS`, `FALSE_WORDS` and `is_true` / `is_false` / `parse_bool`. Options (`EnablePaging=yes`), paging
hints (`hasmorepath`), the reader's attribute flags (`key="true"`), boolean columns and the formatters all read
booleans through here, so a word means the same everywhere. Must not: import anything of rsd.

The interpreter's `api:if` truth is not this table: CData compares text there (`exp="[x] == 'true'"`).
"""
from __future__ import annotations

from typing import Optional

#: words read as true / false (compared trimmed, any case)
TRUE_WORDS = frozenset({"true", "yes", "y", "t", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "f", "off", "0"})


def parse_bool(value: object) -> Optional[bool]:
    """True or False for a word of the table (or a bool), None for anything else."""
    if value is True or value is False:
        return value
    if value is None:
        return None
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def is_true(value: object) -> bool:
    """A true word (or True); anything else, None and unknown words included, is false."""
    return parse_bool(value) is True


def is_false(value: object) -> bool:
    """A false word (or False); None and unknown words are neither."""
    return parse_bool(value) is False
