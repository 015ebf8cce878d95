"""String formatters: searching, logical, parsing, case, whitespace and array joining
(docs/reference/rsd-format.md §7.2).

A missing input (None) reads as the empty string, except where a formatter exists to tell missing
from present (`def`, `allownull`, `empty`, `isnull`). Indexes: `find` and `substring` are 0-based,
`split` is 1-based (as the public profiles use it).
"""
from __future__ import annotations

from typing import Any, Callable

import re
import uuid
from functools import lru_cache

from ._registry import FormatterContext, register
from ._values import FormatterError, is_empty, to_int, to_text


def _choose(hit: bool, args: list[Any], first: int) -> str:
    """The optional if-true / if-false outputs that many tests take after their own arguments."""
    if hit:
        return args[first] if len(args) > first else "true"
    return args[first + 1] if len(args) > first + 1 else "false"


# ---------------------------------------------------------------- logical

@register("def", args=(0, 2), category="logical", signature="def([ifnotexists][, ifexists])",
          doc="ifnotexists (default empty) when the input is not set or empty; otherwise ifexists, or the input.")
def _def(value: object, args: list[Any], ctx: FormatterContext) -> object:
    if is_empty(value):
        return args[0] if args else ""
    return args[1] if len(args) > 1 else value


@register("allownull", category="logical", signature="allownull()",
          doc="The input unchanged, and no complaint when it is not set (a missing value stays missing).")
def _allownull(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return value


@register("empty", args=(1, 1), category="logical", signature="empty(value)",
          doc="value when the input is not set or empty; otherwise the input.")
def _empty(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return args[0] if is_empty(value) else value


@register("isnull", args=(0, 2), category="logical", signature="isnull([iftrue][, iffalse])",
          doc="iftrue (default true) when the input is not set or empty, else iffalse (default false).")
def _isnull(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return _choose(is_empty(value), args, 0)


@register("contains", args=(1, 3), category="logical", signature="contains(target[, ifcontains][, ifnotcontains])",
          doc="ifcontains (default true) when the input contains target, else ifnotcontains (default false).")
def _contains(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return _choose(args[0] in to_text(value), args, 1)


@register("equals ifequal", args=(1, 3), category="logical", signature="equals(value[, ifequal][, ifnotequal])",
          doc="ifequal (default true) when the input is the text value (case-sensitive), else ifnotequal "
              "(default false).")
def _equals(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return _choose(to_text(value) == args[0], args, 1)


@register("notequals", args=(1, 3), category="logical", signature="notequals(value[, ifnotequal][, ifequal])",
          doc="ifnotequal (default true) when the input is not the text value, else ifequal (default false).")
def _notequals(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return _choose(to_text(value) != args[0], args, 1)


def _char_test(name: str, test: Callable[[str], bool], what: str) -> None:
    word = name[2:]

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        text = to_text(value)
        return _choose(bool(text) and test(text), args, 0)

    register(name, args=(0, 2), category="logical", signature=f"{name}([if{word}][, ifnot{word}])",
             doc=f"if{word} (default true) when the input is non-empty and {what}, else ifnot{word} "
                 f"(default false).")(apply)


_char_test("isalphabetic", str.isalpha, "all letters")
_char_test("isalphanumeric", str.isalnum, "all letters or digits")
_char_test("isnumeric", lambda s: re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", s) is not None,
           "a number")
_char_test("islower", lambda s: s == s.lower() and s != s.upper(), "lower case")
_char_test("isupper", lambda s: s == s.upper() and s != s.lower(), "upper case")
_char_test("isspace", str.isspace, "all whitespace")


# ---------------------------------------------------------------- searching

@register("count", args=(1, 1), category="searching", signature="count(substring)",
          doc="Number of (non-overlapping) occurrences of substring in the input.")
def _count(value: object, args: list[Any], ctx: FormatterContext) -> object:
    if not args[0]:
        raise FormatterError("count: the substring to count is empty")
    return to_text(value).count(args[0])


@register("startswith", args=(1, 3), category="searching", signature="startswith(target[, iftrue][, iffalse])",
          doc="iftrue (default true) when the input starts with target, else iffalse (default false).")
def _startswith(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return _choose(to_text(value).startswith(args[0]), args, 1)


@register("endswith", args=(1, 3), category="searching", signature="endswith(substring[, iftrue][, iffalse])",
          doc="iftrue (default true) when the input ends with substring, else iffalse (default false).")
def _endswith(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return _choose(to_text(value).endswith(args[0]), args, 1)


@register("find", args=(1, 2), category="searching", signature="find(target[, startindex])",
          doc="0-based position of target in the input (from startindex), -1 when absent.")
def _find(value: object, args: list[Any], ctx: FormatterContext) -> object:
    start = to_int(args[1], "find", "start index") if len(args) > 1 else 0
    return to_text(value).find(args[0], max(start, 0))


@register("getlength", category="searching", signature="getlength()",
          doc="Number of characters of the input (0 when not set).")
def _getlength(value: object, args: list[Any], ctx: FormatterContext) -> object:
    return len(to_text(value))


_REGEX_OPTIONS = {
    "ignorecase": re.IGNORECASE,
    "multiline": re.MULTILINE,
    "singleline": re.DOTALL,
    "ignorepatternwhitespace": re.VERBOSE,
    "none": 0,
    "explicitcapture": 0,
    "cultureinvariant": 0,
    "compiled": 0,
    "ecmascript": 0,
}


@lru_cache(maxsize=512)
def _regex(pattern: str, options: str, fname: str) -> re.Pattern[str]:
    flags = 0
    for opt in filter(None, (o.strip().lower() for o in re.split(r"[,|]", options))):
        if opt not in _REGEX_OPTIONS:
            raise FormatterError(f"{fname}: unknown regular expression option {opt!r}")
        flags |= _REGEX_OPTIONS[opt]
    # .NET writes named groups as (?<name>...); Python wants (?P<name>...).
    py = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)
    try:
        return re.compile(py, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise FormatterError(f"{fname}: invalid regular expression {pattern!r}: {exc}") from None


@register("match regexmatch", args=(1, 3), category="searching", signature="match(pattern[, index][, option])",
          doc="The index-th (0-based, default 0) match of the regular expression in the input; not set when none.")
def _match(value: object, args: list[Any], ctx: FormatterContext) -> object:
    rx = _regex(args[0], args[2] if len(args) > 2 else "", "match")
    index = to_int(args[1], "match", "match index") if len(args) > 1 and args[1] != "" else 0
    for i, m in enumerate(rx.finditer(to_text(value))):
        if i == index:
            return m.group(0)
    return None


def _dotnet_replacement(template: str) -> Callable[[re.Match[str]], str]:
    """Turn a .NET replacement (`$1`, `${name}`, `$$`, `$0`/`$&`) into a function of the match."""
    pieces: list[str | int] = []
    pos = 0
    for m in re.finditer(r"\$(?:(\d+)|\{(\w+)\}|(\$)|(&))", template):
        pieces.append(template[pos:m.start()])
        if m.group(1) is not None:
            pieces.append(int(m.group(1)))
        elif m.group(2) is not None:
            pieces.append(int(m.group(2)) if m.group(2).isdigit() else m.group(2))
        elif m.group(3):
            pieces.append("$")
        else:
            pieces.append(0)
        pos = m.end()
    pieces.append(template[pos:])

    def expand(match: re.Match[str]) -> str:
        out = []
        for p in pieces:
            if type(p) is str:
                out.append(p)
            else:
                try:
                    out.append(match.group(p) or "")
                except IndexError:  # a group the pattern does not have
                    out.append("")
        return "".join(out)

    return expand



@register("regexreplace", args=(1, 3), category="searching",
          signature="regexreplace(pattern[, newvalue][, startindex])",
          doc="Replaces every match of the regular expression with newvalue (.NET `$1`, `${name}` groups; default "
              "empty).")
def _regexreplace(value: object, args: list[Any], ctx: FormatterContext) -> object:
    rx = _regex(args[0], "", "regexreplace")
    text = to_text(value)
    start = to_int(args[2], "regexreplace", "start index") if len(args) > 2 else 0
    repl = _dotnet_replacement(args[1] if len(args) > 1 else "")
    start = max(0, start)
    return text[:start] + rx.sub(repl, text[start:])


# ---------------------------------------------------------------- parsing

@register("replace", args=(1, 3), category="parsing", signature="replace(oldvalue[, newvalue][, ishex])",
          doc="Replaces every occurrence of the literal text oldvalue with newvalue (default empty); ishex=true reads "
              "both as hex bytes.")
def _replace(value: object, args: list[Any], ctx: FormatterContext) -> object:
    old = args[0]
    new = args[1] if len(args) > 1 else ""
    if len(args) > 2 and args[2].strip().lower() == "true":
        try:
            old = bytes.fromhex(old).decode("utf-8")
            new = bytes.fromhex(new).decode("utf-8")
        except ValueError:
            raise FormatterError(f"replace: {args[0]!r} or {args[1]!r} is not hex text") from None
    if not old:
        return to_text(value)
    return to_text(value).replace(old, new)


@register("split", args=(1, 2), category="parsing", signature="split(delimiter[, index])",
          doc="The index-th (1-based, default 1) part of the input split at delimiter; not set past the last part.")
def _split(value: object, args: list[Any], ctx: FormatterContext) -> object:
    sep = args[0]
    if not sep:
        raise FormatterError("split: the delimiter is empty")
    index = to_int(args[1], "split", "index") if len(args) > 1 else 1
    if index < 1:
        raise FormatterError(f"split: the index is 1-based, {index} is not a part")
    parts = to_text(value).split(sep)
    return parts[index - 1] if index <= len(parts) else None


@register("substring", args=(1, 2), category="parsing", signature="substring(index[, length])",
          doc="length characters (default: the rest) of the input from the 0-based index; clipped to the input.")
def _substring(value: object, args: list[Any], ctx: FormatterContext) -> object:
    text = to_text(value)
    start = max(0, to_int(args[0], "substring", "index"))
    if len(args) > 1 and args[1] != "":
        length = to_int(args[1], "substring", "length")
        if length < 0:
            raise FormatterError(f"substring: the length {length} is negative")
        return text[start:start + length]
    return text[start:]


@register("guid", args=(0, 1), category="parsing", signature="guid([includehyphens])",
          doc="A new random GUID (the input is ignored); includehyphens=false leaves out the hyphens.")
def _guid(value: object, args: list[Any], ctx: FormatterContext) -> object:
    g = uuid.UUID(int=ctx.rng.getrandbits(128), version=4)
    return str(g) if not args or args[0].strip().lower() != "false" else g.hex


# ---------------------------------------------------------------- case and whitespace

def _simple(names: str, func: Callable[[str], str], doc: str, category: str) -> None:
    first = names.split()[0]

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        return func(to_text(value))

    register(names, category=category, doc=doc, signature=f"{first}()")(apply)


_simple("tolower", str.lower, "The input in lower case.", "case")
_simple("toupper", str.upper, "The input in upper case.", "case")
_simple("capitalize", lambda s: s[:1].upper() + s[1:], "The input with its first character in upper case.", "case")
_simple("capitalizeall", lambda s: re.sub(r"\w+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:], s),
        "The input with the first character of every word in upper case.", "case")


def _trimmer(names: str, method: str, where: str) -> None:
    first = names.split()[0]

    def apply(value: object, args: list[Any], ctx: FormatterContext) -> object:
        return getattr(to_text(value), method)(args[0] if args and args[0] else None)

    register(names, args=(0, 1), category="whitespace", signature=f"{first}([chars])",
             doc=f"The input without whitespace (or the given chars) {where}.")(apply)


_trimmer("trim", "strip", "at either end")
_trimmer("ltrim trimleft trimstart", "lstrip", "at the start")
_trimmer("rtrim trimright trimend", "rstrip", "at the end")


# ---------------------------------------------------------------- arrays

@register("implode join", args=(0, 1), category="array", signature="implode([separator])",
          doc="The values of a multi-valued input joined with separator (default ','); a single value is unchanged.")
def _implode(value: object, args: list[Any], ctx: FormatterContext) -> object:
    sep = args[0] if args else ","
    if isinstance(value, (list, tuple)):
        return sep.join(to_text(v) for v in value)
    return value
