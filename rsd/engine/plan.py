"""`rsd plan`: a dry run that resolves the first request and describes paging and columns.

Owns: running the script up to its first request (which is captured, never sent), and the plan's
shape. Must not: send anything, or show a secret (headers and URLs pass through the redactor).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from ..reader import ast
from .operations import PlannedRequest
from .runner import Runner
from .writer import RowValues, plan_write, write_script

if TYPE_CHECKING:
    from ..http.redact import Redactor


class _Planned(BaseException):
    """Raised by the plan hook to stop at the first request (not catchable by api:catch)."""

    def __init__(self, request: PlannedRequest):
        super().__init__("planned")
        self.request = request


def _sets_rows_next(nodes: Sequence[ast.Node]) -> bool:
    for n in nodes:
        if isinstance(n, (ast.Set, ast.SetC)) and (n.value("attr") or "").strip().lower().endswith("rows@next"):
            return True
        if _sets_rows_next(n.body):
            return True
    return False


def _auth_description(options: Mapping[str, str]) -> Optional[str]:
    get = options.get
    scheme = (get("AuthScheme") or "").strip().lower()
    if scheme in ("oauth", "oauth2"):
        grant = (get("OAuthGrantType") or "REFRESH").upper()
        return (f"Authorization: Bearer *** (OAuth 2 {grant} grant from {get('OAuthAccessTokenURL') or '?'}, "
                "obtained at run time)")
    if get("OAuthAccessToken"):
        return "Authorization: Bearer *** (OAuthAccessToken)"
    if scheme == "basic":
        return "Authorization: Basic *** (User/Password)"
    return None


def make_plan(profile: ast.Profile, options: Mapping[str, str], inputs: RowValues, redactor: Redactor,
              method: str = "GET") -> dict[str, Any]:
    """The plan of the GET script, or with `method` POST/MERGE/DELETE (INSERT/UPDATE...) of the write script that
    method runs (`writer.py`), given the inputs of one row."""
    write = method.strip().upper() != "GET"
    if write:
        method = write_script(profile, method).name
    runner = Runner(profile, connection=list(options.items()), inputs=inputs, http=None, redactor=redactor,
                    method=method, dry_run=True)
    if write:
        plan_write(runner, method, inputs)

    def hook(request: PlannedRequest) -> None:
        raise _Planned(request)

    runner.ops.plan_hook = hook
    request = None
    try:
        runner.run(lambda rows: None)
    except _Planned as p:
        request = p.request
    method_node = profile.method(method)
    script_paging = _sets_rows_next(profile.statements) or (method_node is not None
                                                            and _sets_rows_next(method_node.body))
    plan: dict[str, Any] = {"profile": profile.path, "table": profile.title, "request": None, "paging": None,
                            "columns": [], "missing": list(dict.fromkeys(runner.missing or ())),
                            "method": method.upper()}
    if request is not None:
        headers = [(k, v) for k, v in request["headers"]]
        red = redactor.redact_headers(dict(headers)) if headers else {}
        lines = [f"{k}: {red.get(k, v)}" for k, v in headers]
        auth = _auth_description(options)
        if auth:
            lines.append(auth)
        pager = request["pager"]
        plan["request"] = {
            "op": request["op"],
            "at": str(request["node"].loc),
            "method": request["method"],
            "url": redactor.redact_url(request["url"]),
            "headers": [redactor.redact(h) for h in lines],
            "body": redactor.redact(request["data"]) if request["data"] else None,
            "response": request["kind"],
            "repeat": request["repeat"],
            "data_model": request["model"].upper(),
        }
        if pager is not None:
            plan["paging"] = pager.describe()
            hints = pager.hints
            stops = ["a page with no rows", "the next state missing or repeated"]
            if hints.total_count:
                stops.append("rows reach the total count")
            if hints.total_pages:
                stops.append("pages reach the total pages")
            if hints.has_more:
                stops.append("has-more is false")
            if hints.maxpages:
                stops.append(f"maxpages={hints.maxpages}")
            plan["stops"] = stops
        elif write:
            plan["paging"] = "none (a write sends its request once per input row)"
        elif script_paging:
            plan["paging"] = "script-driven: the script re-runs with [_input.rows@next] while rows@next advances"
            plan["stops"] = ["a page with no rows", "rows@next missing or unchanged"]
        else:
            plan["paging"] = "none (one request)"
    from ..mapping import normalize_type
    for c in runner.columns:
        plan["columns"].append({"name": c.name, "type": normalize_type(c.type), "path": c.xpath or c.name,
                                "key": c.key, "aggregate": (c.value_format or "").lower() == "aggregate"})
    return plan
