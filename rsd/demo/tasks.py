"""The demo API's writable resource: tasks that can be created, read, updated and deleted. Standard library only.

Owns: the task store (thread-safe, in memory, ids from 1, optionally seeded with a few tasks) and what each request
on `/api/tasks` answers. Must not:
know the HTTP server (`server.py` routes the requests here, after authentication and fault injection) or profiles.

=============================================  =======================================================================
``POST /api/tasks``                            a JSON object: ``title`` (text, 1-200 characters, required), ``notes``
                                               (text or null), ``priority`` (whole number 1-5 or null), ``done``
                                               (true, false or null: false). 201 with the created record and a
                                               ``Location`` header; 400 ``{"error": "invalid_field", "field": NAME,
                                               "message": ...}`` for the first field that is wrong (an unknown field
                                               and ``id``, which the server assigns, are field errors too)
``GET /api/tasks?page=N&per_page=M``           ``{"records": [...], "page", "per_page", "total", "total_pages"}`` in
                                               id order (M default 50, at most 200); a page past the end is empty
``GET /api/tasks/ID``                          the record; 404 when there is none
``PATCH /api/tasks/ID``                        the fields given change, the others stay: 200 with the record; 404; 400
``PUT /api/tasks/ID``                          the whole record is replaced (``title`` required): 200; 404; 400
``DELETE /api/tasks/ID``                       204 without a body; 404 when there is none
=============================================  =======================================================================

A record: ``{"id", "title", "notes", "priority", "done", "created_at", "updated_at"}`` (times ISO 8601, UTC).
"""
from __future__ import annotations

import json
import math
import threading
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

FIELDS = ("title", "notes", "priority", "done")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class TaskError(Exception):
    """A request the store refuses: the status and the JSON body to answer with."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def _field_error(field: str, message: str) -> TaskError:
    return TaskError(400, {"error": "invalid_field", "field": field, "message": message})


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check(field: str, value: Any) -> Any:
    """The stored value of one field, or a field error."""
    if field == "title":
        if not isinstance(value, str) or not value.strip():
            raise _field_error("title", "title is required: a non-empty text")
        if len(value) > 200:
            raise _field_error("title", f"title has {len(value)} characters; at most 200")
        return value
    if field == "notes":
        if value is not None and not isinstance(value, str):
            raise _field_error("notes", "notes must be text or null")
        return value
    if field == "priority":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise _field_error("priority", f"priority must be a whole number from 1 to 5 or null, not {value!r}")
        return value
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _field_error("done", f"done must be true or false, not {value!r}")
    return value


#: the tasks a store starts with (`TaskStore(seed=N)` takes the first N, cycling)
_SEED = (("Water the office plants", None, 3, True), ("Book the team offsite", "Kraków or Lyon", 2, False),
         ("Rotate the API keys", "every 90 days", 1, False), ("Write the release notes", None, None, False),
         ("Order new chairs", "Søren's list", 4, True))


class TaskStore:
    """The tasks, and the answers to requests on them. `handle` returns (status, body or None, headers)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.records: dict[int, dict[str, Any]] = {}
        self._next_id = 1
        for n in range(seed):
            title, notes, priority, done = _SEED[n % len(_SEED)]
            stamp = f"2024-01-{1 + n % 28:02d}T09:00:00.000000Z"
            self.records[n + 1] = {"id": n + 1, "title": title, "notes": notes, "priority": priority, "done": done,
                                   "created_at": stamp, "updated_at": stamp}
        self._next_id = seed + 1

    def all(self) -> list[dict[str, Any]]:
        """Every task, in id order (copies)."""
        with self._lock:
            return [dict(self.records[k]) for k in sorted(self.records)]

    def handle(self, method: str, path: str, params: Mapping[str, str], body: bytes,
               base_url: str) -> tuple[int, Optional[dict[str, Any]], dict[str, str]]:
        tail = path[len("/api/tasks"):].strip("/")
        if not tail:
            if method in ("GET", "HEAD"):
                return 200, self._page(params), {}
            if method == "POST":
                record = self._create(_json_object(body))
                return 201, record, {"Location": f"{base_url}/api/tasks/{record['id']}"}
            raise TaskError(405, {"error": "method_not_allowed", "message": f"{method} /api/tasks: use GET or POST"})
        if not tail.isdigit():
            raise TaskError(404, {"error": "not_found", "message": f"no task {tail!r}"})
        task_id = int(tail)
        if method in ("GET", "HEAD"):
            return 200, self._get(task_id), {}
        if method in ("PATCH", "PUT"):
            return 200, self._update(task_id, _json_object(body), replace=method == "PUT"), {}
        if method == "DELETE":
            self._delete(task_id)
            return 204, None, {}
        raise TaskError(405, {"error": "method_not_allowed", "message": f"{method} {path}: use GET, PATCH, PUT or "
                                                                        f"DELETE"})

    def _page(self, params: Mapping[str, str]) -> dict[str, Any]:
        page = _whole(params, "page", 1)
        per_page = min(_whole(params, "per_page", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        records = self.all()
        return {"records": records[(page - 1) * per_page:page * per_page], "page": page, "per_page": per_page,
                "total": len(records), "total_pages": max(1, math.ceil(len(records) / per_page))}

    def _get(self, task_id: int) -> dict[str, Any]:
        with self._lock:
            if task_id not in self.records:
                raise TaskError(404, {"error": "not_found", "message": f"no task {task_id}"})
            return dict(self.records[task_id])

    def _values(self, doc: dict[str, Any], required: bool) -> dict[str, Any]:
        for name in doc:
            if name == "id":
                raise _field_error("id", "id is assigned by the server and cannot be set")
            if name not in FIELDS:
                raise _field_error(name, f"unknown field {name!r}; the fields are {', '.join(FIELDS)}")
        if required and "title" not in doc:
            raise _field_error("title", "title is required: a non-empty text")
        return {name: _check(name, doc[name]) for name in FIELDS if name in doc}

    def _create(self, doc: dict[str, Any]) -> dict[str, Any]:
        values = self._values(doc, required=True)
        stamp = _now()
        with self._lock:
            record = {"id": self._next_id, "title": values["title"], "notes": values.get("notes"),
                      "priority": values.get("priority"), "done": values.get("done", False),
                      "created_at": stamp, "updated_at": stamp}
            self.records[self._next_id] = record
            self._next_id += 1
            return dict(record)

    def _update(self, task_id: int, doc: dict[str, Any], replace: bool) -> dict[str, Any]:
        values = self._values(doc, required=replace)
        if replace:
            values = {"notes": None, "priority": None, "done": False, **values}
        with self._lock:
            record = self.records.get(task_id)
            if record is None:
                raise TaskError(404, {"error": "not_found", "message": f"no task {task_id}"})
            record.update(values, updated_at=_now())
            return dict(record)

    def _delete(self, task_id: int) -> None:
        with self._lock:
            if self.records.pop(task_id, None) is None:
                raise TaskError(404, {"error": "not_found", "message": f"no task {task_id}"})


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError) as e:
        raise TaskError(400, {"error": "invalid_json", "message": f"the body is not JSON: {e}"}) from None
    if not isinstance(doc, dict):
        raise TaskError(400, {"error": "invalid_json", "message": "the body must be a JSON object"})
    return doc


def _whole(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise TaskError(400, {"error": "bad_request", "message": f"{name} must be a whole number from 1, not {raw!r}"})
    return int(raw)
