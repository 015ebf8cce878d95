"""rsd: read, check and run RSD API profiles (CData API Script / Matillion API Query).

The public API is what this module names; everything else is internal and may change.

    import rsd
    profile = rsd.load("Accounts.rsd")                      # raises ProfileError on errors
    diagnostics = rsd.check(["profiles/"])                  # list of Diagnostic (file:line:col)
    plan = rsd.plan(profile, options=[("BaseURL", url)])    # the first request; sends nothing
    summary = rsd.run(profile, options=[("BaseURL", url)], output="sqlite:///w.db", table="accounts")
    result = rsd.collect(profile, options=[("BaseURL", url)])  # rows in memory: result.rows, .columns
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "load", "check", "plan", "run", "collect",
    "RsdError", "InvalidInputError", "ProfileError", "OptionError", "AuthError", "RunError", "HttpError",
    "ScriptThrow", "SinkError", "Diagnostic", "Loc",
]

from .errors import (AuthError, Diagnostic, HttpError, InvalidInputError, Loc, OptionError, ProfileError,  # noqa: E402
                     RsdError, RunError, ScriptThrow, SinkError)


def __getattr__(name: str):
    # the pipeline is imported on first use, so `rsd --version` and `import rsd` stay light
    if name in ("load", "plan", "run", "collect"):
        from . import api
        return getattr(api, name)
    if name == "check":
        from .check import check_paths
        return check_paths
    raise AttributeError(f"module 'rsd' has no attribute {name!r}")
