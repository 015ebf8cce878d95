"""The issue #8 workload: people pages with nested values, pre-rendered, served with next-URL paging or a total.

Standard library only. Every response (status line, headers, body) is rendered once at start-up (bench/server.py's
`PageServer`), so a request costs the server one parse of its request line and one socket write, and what a
benchmark measures is the client.

    GET /people?page=N    {"people": [...per_page records...], "page": N, "total_pages": P,
                           "next": "/people?page=N+1" (null on the last page)}

A record: id (integer), name, email, address {street, city, zip}, created_at (ISO 8601 date-time), active
(boolean), score (double), tags (an array of 1-3 strings). `People.rsd` maps 8 columns through `other:xPath`:
`address/city` nested, the date-time, the boolean, the double and the array kept whole as aggregate JSON text.
`latency=S` delays every answer by S seconds (the server answers requests concurrently).

    from workload import PeopleServer
    with PeopleServer(pages=200, per_page=1000) as srv:
        srv.url, srv.requests
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from server import PageServer  # bench/server.py: the pre-rendered page server (bench/ is on sys.path)

_CITIES = ("Lisbon", "Porto", "Zürich", "Kraków", "Oslo", "Málaga", "Gent", "Turku")
_TAGS = ("new", "vip", "trial", "partner", "churn-risk", "beta")
_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def person(n: int) -> dict:
    h = ((n + 1) * 2654435761) % 4294967296
    return {
        "id": n + 1,
        "name": f"Person {n + 1}",
        "email": f"person{n + 1}@example.com",
        "address": {"street": f"{h % 997} Main Street", "city": _CITIES[h % len(_CITIES)], "zip": f"{h % 99999:05d}"},
        "created_at": (_EPOCH + timedelta(seconds=n * 37)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "active": h % 3 != 0,
        "score": round((h % 1_000_000) / 1000, 3),
        "tags": [_TAGS[(h >> k) % len(_TAGS)] for k in range(1 + h % 3)],
    }


def render_page(page: int, pages: int, per_page: int) -> bytes:
    start = (page - 1) * per_page
    people = [person(n) for n in range(start, start + per_page)] if 1 <= page <= pages else []
    body = {"people": people, "page": page, "total_pages": pages,
            "next": f"/people?page={page + 1}" if page < pages else None}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class PeopleServer(PageServer):
    """The workload's API (`/people`, bench/People.rsd and bench/PeoplePages.rsd), with the empty page after the last
    pre-rendered too."""

    def __init__(self, *, pages: int = 200, per_page: int = 1000, latency: float = 0.0) -> None:
        super().__init__("/people", render_page, pages=pages, per_page=per_page, latency=latency, extra_pages=1)
