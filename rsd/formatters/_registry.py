"""The formatter registry: `Formatter` records, the `REGISTRY` mapping and the context formatters get.

Owns: registration (`register`), argument-count checking and error wrapping (`call`), the
`FormatterContext` (injectable clock and random source). Must not: look up attributes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Optional

from ._values import FormatterError

#: `func(value, args, ctx) -> value`: the arguments as given (text, or the value of a nested template)
FormatterFunc = Callable[[object, list[Any], "FormatterContext"], object]


@dataclass(frozen=True, slots=True)
class Formatter:
    """One formatter: `func(value, args, ctx) -> value`; `value` is None when the attribute is not set."""

    name: str
    func: FormatterFunc
    min_args: int
    max_args: int
    doc: str
    category: str
    signature: str = ""  # e.g. "add([value])", for documentation
    aliases: tuple[str, ...] = ()  # the other names of the same formatter

    def accepts(self, argc: int) -> bool:
        return self.min_args <= argc <= self.max_args


def _local_now() -> datetime:
    return datetime.now().astimezone()


@dataclass(slots=True)
class FormatterContext:
    """What formatters may ask the outside world for. Tests inject a fixed clock and a seeded random."""

    clock: Callable[[], datetime] = _local_now
    rng: random.Random = field(default_factory=random.Random)

    def now(self) -> datetime:
        """The current time, timezone-aware (local time unless the clock says otherwise)."""
        value = self.clock()
        return value if value.tzinfo is not None else value.astimezone()


DEFAULT_CONTEXT = FormatterContext()

_REGISTRY: dict[str, Formatter] = {}
REGISTRY: Mapping[str, Formatter] = _REGISTRY  # read-only view by convention: lower-case name -> Formatter
PRIMARY_NAMES: list[str] = []  # each formatter once, under its first name, in registration order


def register(names: str, *, args: tuple[int, int] = (0, 0), doc: str, category: str,
             signature: str = "") -> Callable[[FormatterFunc], FormatterFunc]:
    """Decorator: register `func` under each of the space-separated `names` (the first is the primary one)."""
    all_names = tuple(n.lower() for n in names.split())
    lo, hi = args

    def deco(func: FormatterFunc) -> FormatterFunc:
        PRIMARY_NAMES.append(all_names[0])
        for n in all_names:
            if n in _REGISTRY:
                raise ValueError(f"formatter {n!r} registered twice")
            others = tuple(a for a in all_names if a != n)
            sig = signature or f"{all_names[0]}()"
            if n != all_names[0]:
                sig = n + sig[len(all_names[0]):]
            _REGISTRY[n] = Formatter(n, func, lo, hi, doc, category, sig, others)
        return func

    return deco


def lookup(name: str) -> Optional[Formatter]:
    return _REGISTRY.get(name.lower())


def call(name: str, value: object, args: list[Any], ctx: FormatterContext = DEFAULT_CONTEXT) -> object:
    """Apply formatter `name` with argument checking; for tests and one-off calls (templates bind once)."""
    func = bind(name, len(args))
    try:
        return func(value, args, ctx)
    except FormatterError:
        raise
    except Exception as exc:
        raise unexpected(name, value, exc) from exc


def unexpected(name: str, value: object, exc: Exception) -> FormatterError:
    """A formatter bug or an input it did not foresee must still surface as an RsdError."""
    return FormatterError(f"{name.lower()}: cannot format {value!r}: {type(exc).__name__}: {exc}")


def bind(name: str, argc: int) -> FormatterFunc:
    """The function to call for `name` with `argc` arguments, resolved once at template-compile time.

    An unknown name or a wrong argument count gives a function that raises `FormatterError` when run,
    so that compiling never fails for a formatter problem (the checker reports those up front).
    """
    fmt = _REGISTRY.get(name.lower())
    if fmt is not None and fmt.accepts(argc):
        return fmt.func
    if fmt is None:
        message = f"unknown formatter {name!r}"
    else:
        want = f"{fmt.min_args}" if fmt.min_args == fmt.max_args else f"{fmt.min_args} to {fmt.max_args}"
        message = f"formatter {fmt.name!r} takes {want} argument(s), {argc} given: {fmt.signature}"

    def failing(value: object, args: list[Any], ctx: FormatterContext) -> object:
        raise FormatterError(message)

    return failing
