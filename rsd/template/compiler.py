"""Compiling template text: grammar/template.lark parsed with lark (LALR), transformed once into nodes.

Owns: loading the grammar, the lark Transformer (parse tree -> nodes.py), quoted-argument unescaping,
turning lark's errors into `TemplateSyntaxError` with a 0-based offset, and the LRU cache of compiled
templates. Must not: evaluate anything (evaluate.py) or know about items.
"""
from __future__ import annotations

import re
from importlib import resources
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from rsd.errors import InvalidInputError, Loc

from .nodes import Arg, Expr, LiteralHead, NameHead, Part, Pipe, Text

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


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                maybe_placeholders=False)


# ---------------------------------------------------------------- quoted text

def unquote(token: str) -> str:
    """The text between the quotes, with `\\<quote>` unescaped and backslash runs before it halved.

    Other backslashes are left for the inner template (`'\\['` is the template `\\[`, a literal `[`).
    """
    q = token[0]
    body = token[1:-1]
    if "\\" not in body:
        return body
    def halve(m: re.Match[str]) -> str:
        run = m.group(1)
        return "\\" * (len(run) // 2) + (m.group(2) or "")
    return re.sub(r"(\\+)(" + re.escape(q) + r"|\Z)", halve, body)


# ---------------------------------------------------------------- tree -> nodes

def _text_of(tok: Token) -> str:
    if tok.type == "TEXT" or tok.type == "LONE_CLOSE":
        return str(tok)
    if tok.type == "ESCAPED":  # (\\)* \ bracket
        return "\\" * ((len(tok) - 2) // 2) + tok[-1]
    return "\\" * (len(tok) // 2)  # BS_PAIRS


class _ToNodes(Transformer[Token, Any]):
    """Parse tree -> nodes. `base` is where this text starts in the outermost compiled text."""

    def __init__(self, text: str, base: int) -> None:
        super().__init__(visit_tokens=False)
        self.text = text
        self.base = base

    def start(self, children: list[Any]) -> tuple[Part, ...]:
        return _merge_text(children)

    def _expr(self, children: list[Any]) -> Expr:
        open_tok, head = children[0], children[1]
        pipes = tuple(children[2:-1])
        depth = 1 + max([_depth_of(head)] + [_depth_of_pipe(p) for p in pipes])
        if depth > MAX_DEPTH:
            raise _Problem(f"expressions nested deeper than {MAX_DEPTH} levels", self.base + open_tok.start_pos)
        return Expr(head, pipes, self.base + open_tok.start_pos, depth, self.base + children[-1].end_pos)

    outer_expr = name_expr = arg_expr = _expr

    def literal_head(self, children: list[Any]) -> LiteralHead:
        (tok,) = children
        return LiteralHead(self._quoted(tok))

    def name_head(self, children: list[Any]) -> NameHead:
        parts: list[str | Expr] = []
        for c in children:
            parts.append(str(c) if isinstance(c, Token) else c)
        first, last = children[0], children[-1]
        start = first.start_pos if isinstance(first, Token) else first.offset - self.base
        end = last.end_pos if isinstance(last, Token) else last.end - self.base
        return NameHead(tuple(parts), self.text[start:end])

    def pipe(self, children: list[Any]) -> Pipe:
        fname = children[1]
        if len(children) > 2:
            args, parens = children[2], True
        else:
            args, parens = (), False
        return Pipe(str(fname), args, parens, self.base + fname.start_pos)

    def args(self, children: list[Any]) -> tuple[Arg, ...]:
        return tuple(c for c in children if isinstance(c, Arg))

    def quoted_arg(self, children: list[Any]) -> Arg:
        (tok,) = children
        return Arg(self._quoted(tok), True)

    def unquoted_arg(self, children: list[Any]) -> Arg:
        parts = [Text(str(c)) if isinstance(c, Token) else c for c in children]
        return Arg(tuple(parts), False)

    def _quoted(self, tok: Token) -> tuple[Part, ...]:
        inner = unquote(str(tok))
        return _parse(inner, self.base + (tok.start_pos or 0) + 1)


def _quote_may_start(text: str, i: int) -> bool:
    """A quote opens a quoted string right after `[`, `(` or `,` (whitespace allowed between)."""
    j = i - 1
    while j >= 0 and text[j].isspace():
        j -= 1
    return j >= 0 and text[j] in "[(,"


def _depth_of(head: NameHead | LiteralHead) -> int:
    return max([p.depth for p in head.parts if isinstance(p, Expr)] or [0])


def _depth_of_pipe(pipe: Pipe) -> int:
    return max([p.depth for a in pipe.args for p in a.parts if isinstance(p, Expr)] or [0])


def _merge_text(children: list[Any]) -> tuple[Part, ...]:
    parts: list[Part] = []
    for c in children:
        if isinstance(c, Token):
            s = _text_of(c)
            last = parts[-1] if parts else None
            if isinstance(last, Text):
                parts[-1] = Text(last.value + s)
            else:
                parts.append(Text(s))
        else:
            parts.append(c)
    return tuple(p for p in parts if not isinstance(p, Text) or p.value)


def _parse(text: str, base: int) -> tuple[Part, ...]:
    """Template text -> tuple of parts; raises `_Problem` with an offset relative to the outermost text."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise _problem_from(exc, text, base) from None
    try:
        parts: tuple[Part, ...] = _ToNodes(text, base).transform(tree)
        return parts
    except VisitError as exc:  # lark wraps what a callback raises
        raise exc.orig_exc from None


# ---------------------------------------------------------------- errors

def _unclosed(text: str) -> tuple[str, int]:
    """(what, offset) of the first bracket or quote left open, for an error at the end of the text."""
    stack: list[int] = []
    quote, quote_at = "", -1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c == "\\":
            i += 2
            continue
        elif c in "'\"" and stack and _quote_may_start(text, i):
            quote, quote_at = c, i
        elif c == "[":
            stack.append(i)
        elif c == "]" and stack:
            stack.pop()
        i += 1
    if quote:
        return "unterminated quoted text", quote_at
    if stack:
        return "unclosed '['", stack[0]
    return "unexpected end of text", n


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)


def _problem_from(exc: UnexpectedInput, text: str, base: int) -> _Problem:
    hint: Optional[str] = None
    offset: int
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        what, offset = _unclosed(text)
        if what == "unclosed '['":
            hint = "close the expression with ']', or write \\[ for a literal bracket"
        return _Problem(f"{what} at offset {base + offset}", base + offset, hint)
    if isinstance(exc, UnexpectedToken):
        offset = exc.token.start_pos if exc.token.start_pos is not None else len(text)
    elif isinstance(exc, UnexpectedCharacters):
        offset = exc.pos_in_stream or 0
    else:
        offset = getattr(exc, "pos_in_stream", None) or 0
    offset = max(0, min(offset, len(text)))
    # Lark reports the position of the token that did not fit; tokens may begin with whitespace.
    while offset < len(text) and text[offset].isspace():
        offset += 1
    if offset >= len(text):
        what, at = _unclosed(text)
        return _Problem(f"{what} at offset {base + at}", base + at)
    char = text[offset]
    before = text[:offset].rstrip()
    if char == "]" and before.endswith("["):
        return _Problem(f"empty expression '[]' at offset {base + len(before) - 1}", base + len(before) - 1,
                        "write \\[\\] for literal brackets")
    if char in "'\"" and not _QUOTED.match(text, offset):
        return _Problem(f"unterminated quoted text at offset {base + offset}", base + offset,
                        f"close it with {char}; write \\{char} for a quote inside it")
    if char in "'\"":
        return _Problem(f"unexpected quote at offset {base + offset}", base + offset,
                        "quoted text may only be a whole formatter argument or the start of an expression")
    if char == "\\":
        return _Problem(f"unexpected backslash at offset {base + offset}", base + offset,
                        "quote the formatter argument that holds it")
    return _Problem(f"unexpected {char!r} at offset {base + offset}", base + offset)


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
