"""The demo API's data: deterministic datasets (accounts, contacts, events, orders, products, invoices, inventory).

Owns: the dataset sizes (`DEFAULT_RECORDS`) and `build_datasets`, plain index arithmetic with no random module, so
every run and every Python version agrees; `contact(n, account_ids)` for records added at run time. Must not: know
about HTTP, pages or tokens (that is `api.py` and `oauth.py`), or import anything outside the standard library.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

#: Dataset sizes. None is a multiple of its default page size.
DEFAULT_RECORDS = {
    "accounts": 237,
    "contacts": 123,
    "events": 53,
    "orders": 95,
    "products": 64,
    "invoices": 41,
    "inventory": 34,
}

_EPOCH = datetime(2023, 1, 2, 9, 0, 0, tzinfo=timezone.utc)

_ADJECTIVES = ["Acme", "Blue", "Global", "Northern", "Summit", "Bright", "Pioneer", "Crystal", "Silver", "Quantum",
               "Evergreen", "Atlas", "Harbor"]
_NOUNS = ["Dynamics", "Logistics", "Foods", "Systems", "Energy", "Textiles", "Health", "Robotics", "Media", "Mining",
          "Capital"]
_SUFFIXES = ["Inc.", "Ltd", "GmbH", "LLC", "S.A.", "Corp."]
_INDUSTRIES = ["Technology", "Manufacturing", "Retail", "Finance", "Healthcare", "Energy", "Education"]
_CITIES = [("Zürich", "Switzerland"), ("London", "United Kingdom"), ("Austin", "United States"), ("Lyon", "France"),
           ("São Paulo", "Brazil"), ("Osaka", "Japan"), ("Toronto", "Canada"), ("Kraków", "Poland")]
_TAGS = ["enterprise", "smb", "partner", "priority", "churn-risk", "new"]
_FIRST = ["Ada", "Grace", "Linus", "Margaret", "Alan", "Barbara", "Dennis", "Frances", "Ken", "Radia", "Jürgen",
          "Søren"]
_LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Turing", "Liskov", "Ritchie", "Allen", "Thompson",
         "Perlman", "O'Brien", "Müller"]
_EVENT_TYPES = ["order.created", "order.paid", "order.shipped", "invoice.sent", "account.updated"]
_ORDER_STATUSES = ["Draft", "Activated", "Shipped", "Cancelled"]
_CATEGORIES = ["Hardware", "Software", "Services", "Accessories"]
_CURRENCIES = ["EUR", "USD", "GBP"]
_INVOICE_STATUSES = ["open", "paid", "overdue", "void"]
_WAREHOUSES = ["AMS-1", "FRA-2", "DUB-1"]
_PART_NAMES = ["Nuts & Bolts", "Hex Key <4mm>", "Cable \"Cat6\"", "Bracket", "Hinge", "Washer"]


def _mix(n: int, salt: int = 0) -> int:
    """A fixed, well-spread integer for n (Knuth's multiplicative hash); the datasets' only source of variety."""
    return ((n + 1) * 2654435761 + salt * 40503) % 4294967296


def _ts(offset_minutes: int) -> datetime:
    return _EPOCH + timedelta(minutes=offset_minutes)


def _account(n: int) -> dict[str, Any]:
    h = _mix(n)
    city, country = _CITIES[h % len(_CITIES)]
    tags = [_TAGS[(h >> s) % len(_TAGS)] for s in range((h >> 7) % 4)]
    return {
        "attributes": {"type": "Account", "url": f"/api/accounts/001DM{n:010d}"},
        "Id": f"001DM{n:010d}",
        "Name": f"{_ADJECTIVES[n % len(_ADJECTIVES)]} {_NOUNS[(n // 3) % len(_NOUNS)]} {n} "
                f"{_SUFFIXES[h % len(_SUFFIXES)]}",
        # Every 13th account has no industry: a JSON null the mapping must keep as null.
        "Industry": None if n % 13 == 0 else _INDUSTRIES[(h >> 3) % len(_INDUSTRIES)],
        "AnnualRevenue": round(50_000 + (h % 100_000) * 123.45, 2),
        "NumberOfEmployees": 1 + (h >> 5) % 5000,
        "IsActive": n % 4 != 0,
        # Salesforce's own datetime style (millisecond fraction, +0000 offset).
        "CreatedDate": _ts(n * 97).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "BillingAddress": {"City": city, "Country": country, "PostalCode": f"{10000 + h % 89999}"},
        "Tags": list(dict.fromkeys(tags)),
    }


def contact(n: int, account_ids: list[str]) -> dict[str, Any]:
    h = _mix(n, 1)
    first, last = _FIRST[h % len(_FIRST)], _LAST[(h >> 4) % len(_LAST)]
    return {
        "id": n + 1,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{n + 1}@example.com",
        "phone": None if n % 7 == 3 else f"+1-555-{h % 10000:04d}",
        "account_id": account_ids[h % len(account_ids)] if account_ids else None,
        "score": round((h % 1000) / 10, 1),
        "created_at": _ts(n * 131).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": _ts(n * 131 + h % 2880).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _event(n: int) -> dict[str, Any]:
    h = _mix(n, 2)
    return {
        "id": f"evt_{n + 1:05d}",
        "type": _EVENT_TYPES[h % len(_EVENT_TYPES)],
        "occurred_at": _ts(n * 17).isoformat(),
        "payload": {"order_id": f"801DM{(h % 95):010d}", "amount": round((h % 50000) / 100, 2)},
    }


def _order(n: int, account_ids: list[str], product_skus: list[str]) -> dict[str, Any]:
    h = _mix(n, 3)
    lines: list[dict[str, Any]] = []
    for i in range(1 + h % 4):  # 1..4 lines: every order has at least one
        lh = _mix(n * 10 + i, 4)
        quantity = 1 + lh % 9
        unit_price = round(5 + (lh % 2000) / 4, 2)
        lines.append({
            "LineNumber": i + 1,
            "ProductCode": product_skus[lh % len(product_skus)] if product_skus else f"SKU-{lh % 100:04d}",
            "Quantity": quantity,
            "UnitPrice": unit_price,
        })
    return {
        "attributes": {"type": "Order", "url": f"/api/orders/801DM{n:010d}"},
        "Id": f"801DM{n:010d}",
        "OrderNumber": f"{100000 + n}",
        "AccountId": account_ids[h % len(account_ids)] if account_ids else None,
        "Status": _ORDER_STATUSES[(h >> 3) % len(_ORDER_STATUSES)],
        "EffectiveDate": (date(2024, 1, 1) + timedelta(days=n * 3)).isoformat(),
        "TotalAmount": round(sum(line["Quantity"] * line["UnitPrice"] for line in lines), 2),
        "lines": lines,
    }


def _product(n: int) -> dict[str, Any]:
    h = _mix(n, 5)
    return {
        "sku": f"SKU-{n + 1:04d}",
        "name": f"{_NOUNS[h % len(_NOUNS)]} Kit {n + 1}",
        "category": _CATEGORIES[(h >> 2) % len(_CATEGORIES)],
        "price": round(9.99 + (h % 5000) / 10, 2),
        "in_stock": h % 5 != 0,
        "dimensions": {"w": 10 + h % 50, "h": 5 + (h >> 6) % 40, "d": 1 + (h >> 12) % 20},
    }


def _invoice(n: int, account_ids: list[str]) -> dict[str, Any]:
    h = _mix(n, 6)
    status = _INVOICE_STATUSES[h % len(_INVOICE_STATUSES)]
    return {
        "invoice_id": 5000 + n,
        "number": f"INV-2024-{n + 1:04d}",
        "account_id": account_ids[h % len(account_ids)] if account_ids else None,
        "amount": round(100 + (h % 90000) / 10, 2),
        "currency": _CURRENCIES[(h >> 4) % len(_CURRENCIES)],
        "status": status,
        "paid": status == "paid",
        "due_date": (date(2024, 2, 1) + timedelta(days=n * 5)).isoformat(),
    }


def _inventory_item(n: int) -> dict[str, Any]:
    h = _mix(n, 7)
    return {
        "sku": f"PART-{n + 1:04d}",
        "name": f"{_PART_NAMES[h % len(_PART_NAMES)]} #{n + 1}",
        "qty": h % 500,
        "price": f"{1 + (h % 10000) / 100:.2f}",
        "updated": _ts(n * 53).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # Every 5th item has an empty <warehouse/>: null in a row.
        "warehouse": "" if n % 5 == 2 else _WAREHOUSES[(h >> 3) % len(_WAREHOUSES)],
    }


def build_datasets(records: Mapping[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The demo datasets, sized by ``records`` (missing names take :data:`DEFAULT_RECORDS`). Pure and deterministic."""
    sizes = dict(DEFAULT_RECORDS)
    for name, count in (records or {}).items():
        if name not in sizes:
            raise ValueError(f"unknown demo dataset {name!r}; known: {', '.join(sorted(sizes))}")
        if count < 0:
            raise ValueError(f"dataset size must be >= 0, got {name}={count}")
        sizes[name] = int(count)
    accounts = [_account(n) for n in range(sizes["accounts"])]
    account_ids = [a["Id"] for a in accounts]
    products = [_product(n) for n in range(sizes["products"])]
    skus = [p["sku"] for p in products]
    return {
        "accounts": accounts,
        "contacts": [contact(n, account_ids) for n in range(sizes["contacts"])],
        "events": [_event(n) for n in range(sizes["events"])],
        "orders": [_order(n, account_ids, skus) for n in range(sizes["orders"])],
        "products": products,
        "invoices": [_invoice(n, account_ids) for n in range(sizes["invoices"])],
        "inventory": [_inventory_item(n) for n in range(sizes["inventory"])],
    }
