"""HTTP for a run: one session with retries and backoff (`client`), redaction (`redact`), authentication (`auth`).

Owns: everything between a prepared request and a complete response. Must not: know the profile, or read
connection options (it receives resolved settings). Names are imported on first use, so that redaction and
`rsd check` never load `requests`.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "MASK", "Redactor", "HttpClient", "RETRY_STATUSES", "BasicAuth", "BearerAuth", "OAuth2Auth", "TokenEndpoint",
    "request_token", "Budget",
]

_HOME = {
    "MASK": ".redact", "Redactor": ".redact", "HttpClient": ".client", "RETRY_STATUSES": ".client",
    "BasicAuth": ".auth", "BearerAuth": ".auth", "OAuth2Auth": ".auth", "TokenEndpoint": ".auth",
    "request_token": ".auth", "Budget": ".ratelimit",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
