"""What HTTP says about methods and statuses that decides whether a request may be sent again (RFC 9110, RFC 6585).

Owns: the idempotent methods and the statuses that say a request was not processed, in one place, without importing
`requests` (the engine and `rsd check` read them). Must not: send anything.
"""
from __future__ import annotations

#: methods a request may be sent again with once it may have reached the server (RFC 9110 §9.2.2)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
#: statuses that say the request was not processed: the only ones a non-idempotent write is sent again on
#: (429 Too Many Requests, RFC 6585 §4)
UNPROCESSED_STATUSES = frozenset({429})
