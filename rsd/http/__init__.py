"""HTTP for a run: one session with retries and backoff (`client`), redaction (`redact`), authentication (`auth`).

Owns: everything between a prepared request and a complete response. Must not: know the profile.
"""
from .redact import MASK, Redactor
from .client import HttpClient, RETRY_STATUSES
from .auth import BasicAuth, BearerAuth, OAuth2Auth, TokenEndpoint, auth_from_options, from_options, request_token

__all__ = [
    "MASK", "Redactor", "HttpClient", "RETRY_STATUSES", "BasicAuth", "BearerAuth", "OAuth2Auth", "TokenEndpoint",
    "auth_from_options", "from_options", "request_token",
]
