"""Four list APIs `rsd init` was not developed against, as a WSGI app: response shapes written from each vendor's
public documentation (the data are made up here).

- GitHub REST, "Using pagination in the REST API" (docs.github.com/en/rest/using-the-rest-api/using-pagination-in-
  the-rest-api): a bare JSON array of issues, `?per_page=&page=`, and a `Link` header with `rel="next"` (absent on
  the last page), `"last"`, `"first"`, `"prev"`; the links point at `/repositories/ID/issues`, not the path asked.
- Stripe, "Pagination" (docs.stripe.com/api/pagination): `{"object": "list", "url", "has_more", "data": [...]}`,
  `?limit=` (default 10) and `?starting_after=<the last object's id>`; objects carry `id`, `object`, `created`
  (epoch seconds), nullable fields and `metadata: {}`.
- OData v4 server-driven paging (learn.microsoft.com/en-us/odata/webapi-8/fundamentals/server-driven-paging):
  `{"@odata.context", "value": [...], "@odata.nextLink": ".../Products?$skiptoken=N"}`, no nextLink on the last page.
- Salesforce REST "Execute a SOQL Query" (developer.salesforce.com/docs/platform/api-rest/guide/dome-query.html):
  `{"totalSize", "done", "nextRecordsUrl": "/services/data/vXX.X/query/<locator>-<n>", "records": [{"attributes":
  {"type", "url"}, ...}]}`: a relative next URL, absent when `done` is true.

`SHAPES[name]` says where each list starts and how many records it holds.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

_T0 = datetime(2023, 3, 1, 8, 30, tzinfo=timezone.utc)

ISSUES = [{
    "id": 1800000000 + n * 37,
    "node_id": f"I_kwDOA{n:05d}",
    "url": f"https://api.example.test/repos/octo-org/hello-world/issues/{n + 1}",
    "number": n + 1,
    "state": "closed" if n % 4 == 0 else "open",
    "title": f"Issue number {n + 1}",
    "body": None if n % 5 == 0 else f"Steps to reproduce #{n + 1}",
    "user": {"login": f"user{n % 6}", "id": 500 + n % 6, "type": "User", "site_admin": n % 6 == 0},
    "labels": [{"id": 208045946 + k, "name": ["bug", "docs", "good first issue"][k], "color": "f29513"}
               for k in range(n % 3)],
    "assignee": None if n % 3 else {"login": "octocat", "id": 1},
    "comments": n % 7,
    "locked": False,
    "created_at": (_T0 + timedelta(hours=n * 5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "closed_at": (_T0 + timedelta(hours=n * 5 + 3)).strftime("%Y-%m-%dT%H:%M:%SZ") if n % 4 == 0 else None,
} for n in range(23)]

CUSTOMERS = [{
    "id": f"cus_{n:04d}Qx{n * 7919 % 10000:04d}",
    "object": "customer",
    "address": None,
    "balance": -250 * (n % 3),
    "created": 1680000000 - n * 3600,
    "currency": None if n % 4 == 1 else "usd",
    "email": f"customer{n}@example.com",
    "livemode": False,
    "metadata": {},
    "name": f"Customer {n}",
} for n in range(26)]

PRODUCTS = [{
    "ID": n + 1,
    "Name": f"Product {n + 1}",
    "Price": round(2.5 + n * 1.25, 2),
    "ReleaseDate": (_T0 + timedelta(days=n * 11)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "Discontinued": n % 6 == 5,
    "Rating": n % 5 + 1,
} for n in range(17)]

ACCOUNTS = [{
    "attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/001Ox{n:012d}"},
    "Id": f"001Ox{n:012d}AAA",
    "Name": f"Account {n}",
    "AnnualRevenue": None if n % 6 == 0 else 10000.0 * (n + 1),
    "NumberOfEmployees": 10 + n,
    "CreatedDate": (_T0 + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
} for n in range(43)]

SHAPES = {  # name: (first URL path and query, records, key column, key values)
    "github": ("/repos/octo-org/hello-world/issues?per_page=10", ISSUES, "id", [r["id"] for r in ISSUES]),
    "stripe": ("/v1/customers?limit=10", CUSTOMERS, "id", [r["id"] for r in CUSTOMERS]),
    "odata": ("/odata/Products", PRODUCTS, "ID", [r["ID"] for r in PRODUCTS]),
    "salesforce": ("/services/data/v59.0/query?q=SELECT+Id,Name,AnnualRevenue,NumberOfEmployees,CreatedDate+FROM"
                   "+Account", ACCOUNTS, "Id", [r["Id"] for r in ACCOUNTS]),
}

ODATA_PAGE = 5
SOQL_BATCH = 10
LOCATOR = "01gOx00000AbCdEfGH"


def _json(doc, status=200, headers=None) -> Response:
    return Response(json.dumps(doc), status=status, content_type="application/json; charset=utf-8",
                    headers=headers or {})


class ShapesAPI:
    """The WSGI app; `seen` lists every path and query asked (for tests that count requests)."""

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.seen.append(request.full_path)
        return self.route(request)(environ, start_response)

    def route(self, request: Request) -> Response:
        path, args, base = request.path, dict(parse_qsl(request.query_string.decode())), request.host_url.rstrip("/")
        if path in ("/repos/octo-org/hello-world/issues", "/repositories/1296269/issues"):
            return self.github(args, base)
        if path == "/v1/customers":
            return self.stripe(args)
        if path == "/odata/Products":
            return self.odata(args, base)
        if path == "/services/data/v59.0/query":
            return self.soql(0)
        if path.startswith(f"/services/data/v59.0/query/{LOCATOR}-"):
            return self.soql(int(path.rsplit("-", 1)[1]))
        return _json({"message": "Not Found"}, 404)

    @staticmethod
    def github(args, base) -> Response:
        per_page, page = int(args.get("per_page", 30)), int(args.get("page", 1))
        last = max(1, -(-len(ISSUES) // per_page))
        rows = ISSUES[(page - 1) * per_page: page * per_page]

        def link(p):
            return f"<{base}/repositories/1296269/issues?per_page={per_page}&page={p}>"
        links = []
        if page > 1:
            links.append(f'{link(page - 1)}; rel="prev"')
        if page < last:
            links.append(f'{link(page + 1)}; rel="next"')
        links += [f'{link(last)}; rel="last"', f'{link(1)}; rel="first"']
        return _json(rows, headers={"Link": ", ".join(links)})

    @staticmethod
    def stripe(args) -> Response:
        limit = int(args.get("limit", 10))
        start = 0
        if args.get("starting_after"):
            ids = [c["id"] for c in CUSTOMERS]
            if args["starting_after"] not in ids:
                return _json({"error": {"type": "invalid_request_error", "message": "No such customer"}}, 400)
            start = ids.index(args["starting_after"]) + 1
        data = CUSTOMERS[start:start + limit]
        return _json({"object": "list", "url": "/v1/customers", "has_more": start + limit < len(CUSTOMERS),
                      "data": data})

    @staticmethod
    def odata(args, base) -> Response:
        skip = int(args.get("$skiptoken", 0))
        doc = {"@odata.context": f"{base}/odata/$metadata#Products", "value": PRODUCTS[skip:skip + ODATA_PAGE]}
        if skip + ODATA_PAGE < len(PRODUCTS):
            doc["@odata.nextLink"] = f"{base}/odata/Products?$skiptoken={skip + ODATA_PAGE}"
        return _json(doc)

    @staticmethod
    def soql(start: int) -> Response:
        end = start + SOQL_BATCH
        doc = {"totalSize": len(ACCOUNTS), "done": end >= len(ACCOUNTS), "records": ACCOUNTS[start:end]}
        if end < len(ACCOUNTS):
            doc["nextRecordsUrl"] = f"/services/data/v59.0/query/{LOCATOR}-{end}"
        return _json(doc)
