"""rsd: read, check and run RSD API profiles (CData API Script / Matillion API Query).

The public API is what this module names in `__all__` (docs/api.md); everything else is internal and may change.

    import rsd
    profile = rsd.load("Accounts.rsd")                      # raises ProfileError on errors
    diagnostics = rsd.check(["profiles/"])                  # list of Diagnostic (file:line:col)
    plan = rsd.plan(profile, options=[("BaseURL", url)])    # the first request; sends nothing
    summary = rsd.run(profile, options=[("BaseURL", url)], output="sqlite:///w.db", table="accounts")
    result = rsd.collect(profile, options=[("BaseURL", url)])  # rows in memory: result.rows, .columns
    for row in rsd.iter_rows(profile, options=[("BaseURL", url)]):  # rows streamed as pages arrive
        ...
    written = rsd.write(profile, method="POST", rows=[{"Name": "Acme"}], options=[("BaseURL", url)])  # INSERT

The pipeline is imported on first use, so `rsd --version` and `import rsd` stay light.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (AuthError, Diagnostic, HttpError, InvalidInputError, Loc, OptionError, ProfileError, RsdError,
                     RunError, ScriptThrow, SinkError)

#: the version of the distribution (`rsd-profiles`); pyproject.toml reads it from here
__version__ = "0.1.0"

__all__ = [
    # functions
    "load", "check", "plan", "run", "collect", "iter_rows", "write",
    # what they return and take
    "Profile", "Summary", "RunResult", "Row", "TraceCallback", "PageCallback", "FinishCallback", "TotalCallback",
    "Incremental", "WriteSummary", "RowCallback", "WriteError",
    # errors, each with an exit code
    "RsdError", "InvalidInputError", "ProfileError", "OptionError", "AuthError", "RunError", "HttpError",
    "ScriptThrow", "SinkError", "Diagnostic", "Loc",
]

if TYPE_CHECKING:
    from .api import (FinishCallback, Incremental, PageCallback, Row, RowCallback, RunResult, TotalCallback,
                      TraceCallback, collect, iter_rows, load, plan, run, write)
    from .engine.writer import WriteError, WriteSummary
    from .check import check_paths as check
    from .engine.runner import Summary
    from .reader.ast import Profile

#: lazily imported public names -> (module, attribute)
_LAZY = {
    **{name: ("rsd.api", name) for name in ("load", "plan", "run", "collect", "iter_rows", "RunResult", "Row",
                                            "TraceCallback", "PageCallback", "FinishCallback", "write",
                                            "RowCallback", "TotalCallback", "Incremental")},
    "WriteSummary": ("rsd.engine.writer", "WriteSummary"),
    "WriteError": ("rsd.engine.writer", "WriteError"),
    "check": ("rsd.check", ""),  # the package, callable as check_paths (see rsd/check/__init__.py)
    "Summary": ("rsd.engine.runner", "Summary"),
    "Profile": ("rsd.reader.ast", "Profile"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        imported = importlib.import_module(module)
        value = getattr(imported, attribute) if attribute else imported
        globals()[name] = value  # once imported, a plain attribute
        return value
    raise AttributeError(f"module 'rsd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
