"""The LALR parser of grammar/template.lark (lark) and its parse tree -> nodes, for templates the compiler's fast path
does not take.

Owns: building the parser once (and keeping it in the user's cache folder for the next process), the lark
Transformer (parse tree -> nodes.py), quoted-argument unescaping, and turning lark's errors into `_Problem`s with a
0-based offset. Imported on first use: a run whose templates are all plain text and simple references never loads
lark. Must not: evaluate anything (evaluate.py) or know about items.
"""
from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from lark import Lark, Token, Transformer
from lark import __version__ as lark_version
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from ..atomic import replacing
from .compiler import MAX_DEPTH, _parse, _Problem, grammar_path
from .nodes import Arg, Expr, LiteralHead, NameHead, Part, Pipe, Text

_LARK_OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": False}


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The LALR parser of the grammar. Building its tables costs more than the rest of `rsd check` of a file, so
    the built parser is kept in the user's cache folder (`parser_cache_path`) and read back by the next process;
    the file holds the grammar, lark's and Python's versions it was built for, and is used only when all three
    match. Without a usable cache folder the parser is simply built."""
    grammar = grammar_path().read_text(encoding="utf-8")
    key = (grammar, lark_version, sys.version_info[:2], sorted(_LARK_OPTIONS.items()))
    path = parser_cache_path()
    if path is not None:
        loaded = _load_cached(path, key)
        if loaded is not None:
            return loaded
    parser = Lark(grammar, **_LARK_OPTIONS)
    if path is not None:
        _save_cached(path, key, parser)
    return parser


def parser_cache_path() -> Optional[Path]:
    """`$XDG_CACHE_HOME/rsd/template-parser.pickle` (else `~/.cache/rsd/...`); None when `RSD_NO_CACHE` is set or
    there is no home folder."""
    if os.environ.get("RSD_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    return Path(base, "rsd", "template-parser.pickle")


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (the file is unpickled: nobody else may write it)."""
    return (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not st.st_mode & 0o022


def _load_cached(path: Path, key: tuple[object, ...]) -> Optional[Lark]:
    import pickle

    try:
        with open(path, "rb") as f:
            if not (_private(os.fstat(f.fileno())) and _private(os.stat(path.parent))):
                return None
            if pickle.load(f) != key:
                return None
            return Lark.load(f)
    except Exception:  # absent, unreadable, truncated, another lark's format: build it instead
        return None


def _save_cached(path: Path, key: tuple[object, ...], parser: Lark) -> None:
    """Written beside its place and renamed into it, so a concurrent reader sees the old file or the new one."""
    import pickle

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.stat(path.parent)):
            return
        with replacing(path, fsync=False) as f:  # a new file is 0600
            pickle.dump(key, f)
            parser.save(f)
    except Exception:  # a read-only home, a full disk: the next process builds it again
        pass


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


def lark_parse(text: str, base: int) -> tuple[Part, ...]:
    """Template text -> tuple of parts through lark; raises `_Problem` with an offset relative to the outermost
    text."""
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
