"""Compiling template text into nodes: grammar/template.lark, parsed with lark (LALR) by `lalr.py`.

Owns: where the grammar is, `TemplateSyntaxError` with a 0-based offset, the fast path for plain text and simple
references (split here exactly as the grammar would, without loading lark), and the LRU cache of compiled
templates. Must not: evaluate anything (evaluate.py) or know about items.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Optional

from rsd.errors import InvalidInputError, Loc

from .nodes import Expr, NameHead, Part, Text

MAX_DEPTH = 32  # nested expressions; deeper is refused so rendering never nears Python's recursion limit


class TemplateSyntaxError(InvalidInputError):
    """A parameter value that is not a valid template. `offset` is 0-based in the compiled text."""

    def __init__(self, message: str, offset: int, *, loc: Optional[Loc] = None, hint: Optional[str] = None):
        super().__init__(message, loc=loc, hint=hint)
        self.offset = offset


class _Problem(Exception):
    """Internal: a syntax problem before a location is attached (compiled results are cached, errors not)."""

    def __init__(self, message: str, offset: int, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


def grammar_path() -> Path:
    """The grammar file, package data of `rsd` read with importlib.resources: `rsd/grammar/template.lark` in a
    wheel; in a checkout `rsd/grammar` is a link to the top-level `grammar/` folder."""
    return Path(str(resources.files("rsd").joinpath("grammar", "template.lark")))


def _parse(text: str, base: int) -> tuple[Part, ...]:
    """Template text -> tuple of parts; raises `_Problem` with an offset relative to the outermost text. Text made
    only of literal runs and simple references (`[_connection.BaseURL]/people`, by far the most common) is split
    here, exactly as the grammar would (tests/test_template.py compares both on generated text); anything else
    goes through lark (`lalr.py`)."""
    if "[" not in text and "]" not in text and "\\" not in text:
        return (Text(text),) if text else ()
    if "\\" not in text and _SIMPLE.fullmatch(text) is not None:
        parts: list[Part] = []
        for m in _SIMPLE_PART.finditer(text):
            name = m.group(1)
            if name is None:
                parts.append(Text(m.group()))
            else:
                parts.append(Expr(NameHead((name,), name), (), base + m.start(), 1, base + m.end()))
        return tuple(parts)
    from .lalr import lark_parse

    return lark_parse(text, base)


# the grammar's TEXT without backslashes, and `[` NAME `]` (NAME as the grammar has it, no whitespace absorbed)
_SIMPLE_NAME = r"[^\[\]|\s'\"\\](?:[^\[\]|\\]*[^\[\]|\s\\])?"
_SIMPLE_PART = re.compile(r"\[(" + _SIMPLE_NAME + r")\]|[^\[\]\\]+")
_SIMPLE = re.compile(r"(?:(?>\[" + _SIMPLE_NAME + r"\])|[^\[\]\\]++)*+")  # possessive: no backtracking


# ---------------------------------------------------------------- cache

@lru_cache(maxsize=8192)
def parse_cached(text: str) -> tuple[Part, ...]:
    """Parts of `text` (nodes); cached because the same values recur across profiles and runs."""
    try:
        return _parse(text, 0)
    except _Problem:
        raise
    except RecursionError:
        raise _Problem(f"expressions nested deeper than {MAX_DEPTH} levels", 0) from None
    except Exception as exc:  # the contract: nothing but TemplateSyntaxError escapes
        raise _Problem(f"cannot compile template: {type(exc).__name__}: {exc}", 0) from None


def located(problem: _Problem, text: str, loc: Optional[Loc]) -> TemplateSyntaxError:
    """The public error; with a `loc`, the line and column account for newlines before the offset."""
    where = loc
    if loc is not None:
        newlines = text.count("\n", 0, problem.offset)
        if newlines:
            column = problem.offset - text.rfind("\n", 0, problem.offset)
            where = Loc(loc.path, loc.line + newlines, column)
    return TemplateSyntaxError(problem.message, problem.offset, loc=where, hint=problem.hint)
