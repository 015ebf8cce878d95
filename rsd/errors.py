"""Errors and diagnostics: the one exception hierarchy of rsd and the location-carrying diagnostic value.

Owns: `Loc`, `Diagnostic`, `RsdError` and its subclasses, each with the exit code the CLI uses
(0 ok, 1 run failure, 2 invalid input), and `closest` (the did-you-mean of every message). Must not: print,
format for a terminal, or know about secrets (redaction happens before a message is put into an error).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Optional

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_INVALID_INPUT = 2


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> Optional[str]:
    """The choice closest to `word` (case-insensitive, as written in `choices`), or None: what a
    "did you mean" says, in `rsd check` and in a run's warnings alike."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), sorted(by_lower), n=1, cutoff=cutoff)
    return by_lower[close[0]] if close else None


@dataclass(frozen=True, slots=True)
class Loc:
    """A place in a source file. Lines and columns count from 1; column points at an element's `<`."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding of `rsd check` (or of the reader), printable as `path:line:col: severity: [CODE] message`."""

    loc: Loc
    severity: str  # "error" | "warning"
    code: str  # stable code, e.g. "RSD101"; documented in docs/diagnostics.md
    message: str
    hint: Optional[str] = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        text = f"{self.loc}: {self.severity}: [{self.code}] {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.loc.path,
            "line": self.loc.line,
            "column": self.loc.column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


class RsdError(Exception):
    """Base of every error rsd raises on purpose. `exit_code` is what the CLI exits with.

    The message must already be redacted and must be one paragraph that names the file, line,
    request or option concerned.
    """

    exit_code = EXIT_RUN_FAILED
    #: whether a profile's `api:catch` may handle it (False: it is about the run, not the API)
    catchable = True

    def __init__(self, message: str, *, loc: Optional[Loc] = None, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.loc}: {self.message}" if self.loc else self.message
        return text


class InvalidInputError(RsdError):
    """Invalid input: a profile with errors, a bad option, a missing variable or secret. Exit 2."""

    exit_code = EXIT_INVALID_INPUT


class ProfileError(InvalidInputError):
    """A profile that cannot be read or compiled; carries the diagnostics."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.diagnostics = diagnostics


class OptionError(InvalidInputError):
    """A bad or missing connection option, input, variable or `${...}` reference."""


class AuthError(InvalidInputError):
    """Credentials were refused by a token endpoint (invalid_grant, invalid_client...). Exit 2."""


class RunError(RsdError):
    """The run failed: HTTP, network, a body that cannot be parsed. Exit 1."""


class HttpError(RunError):
    """An HTTP request failed for good (4xx, 5xx after retries, network error, truncated body)."""

    def __init__(self, message: str, *, status: Optional[int] = None, url: Optional[str] = None,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.url = url


class ScriptThrow(RunError):
    """`api:throw` (or a failed `api:validate`/`api:equals`) that no `api:catch` handled."""

    def __init__(self, code: str, description: str, details: str = "", **kw: Any) -> None:
        super().__init__(f"api:throw code={code!r}: {description}" + (f" ({details})" if details else ""), **kw)
        self.code = code
        self.description = description
        self.details = details


class SinkError(RunError):
    """Writing the output failed (disk full, database error). The previous table is left as it was."""


class OutputClosed(SinkError):
    """The reader of the output went away (`rsd run ... | head -1` closed the pipe). Nothing more can be written;
    the CLI ends quietly with the exit a finished output has (0), as `head` users expect."""
