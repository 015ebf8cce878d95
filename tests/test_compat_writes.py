"""The write scripts of the public corpus (docs/compat-corpus.md) that do more than throw: Backlog's Issues.rsd
INSERT, UPDATE and DELETE (the other 60 write scripts of the corpus are generator stubs that only throw, refused
with exit 2 by tests/test_write.py). Their look-alike, tests/compat/backlog/Tickets.rsd, uses the same constructs
(a form body built from `[_query.selectcolumns]`, array parameters as `name[]=value`, `encodepostdata`,
`[_input.Id]` in the URI, POST / PATCH / DELETE) and runs against a local server that answers as Backlog's API does;
the exact requests are asserted. The corpus profile itself is planned (`rsd plan --method`), which resolves the
request its script describes without sending it (its URI is https on the API's own host)."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cli_support import rsd
from servers import serve
from test_compat import HERE, TrackerApi

CORPUS = Path("/tmp/rsd-corpus")
ISSUES = CORPUS / "sugimomoto__CData.REST.Backlog" / "Issues.rsd"
TICKETS = str(HERE / "backlog" / "Tickets.rsd")


class WritableTracker(TrackerApi):
    """TrackerApi with Backlog's writes: POST /api/v2/tickets (form) creates, PATCH /api/v2/tickets/ID changes the
    fields sent, DELETE answers with the deleted ticket. `writes` records (method, path, query, form) of each."""

    def __init__(self):
        super().__init__()
        self.writes: list[tuple[str, str, dict, dict]] = []
        self.tickets: dict[int, dict] = {101: {"id": 101, "ticketKey": "WEB-1", "summary": "Login fails",
                                               "status": {"id": 1}, "labels": [], "due": None}}

    def handle(self, req, q, form):
        if req.method == "GET":
            return super().handle(req, q, form)
        if q.get("apiKey") != [self.KEY]:
            return 401, "application/json", json.dumps({"errors": [{"message": "Authentication failure."}]})
        body = parse_qs(req.get_data(as_text=True), keep_blank_values=True)
        self.writes.append((req.method, req.path, q, body))
        if req.method == "POST" and req.path == "/api/v2/tickets":
            if req.content_type != "application/x-www-form-urlencoded" or "summary" not in body:
                return 400, "application/json", json.dumps({"errors": [{"message": "summary is required"}]})
            ticket = {"id": max(self.tickets) + 1, "ticketKey": f"WEB-{len(self.tickets) + 1}",
                      "summary": body["summary"][0], "status": {"id": int(body.get("statusId", ["1"])[0])},
                      "labels": [{"id": int(x)} for x in body.get("labelId[]", [])],
                      "due": body["due"][0] + "T00:00:00Z" if "due" in body else None}
            self.tickets[ticket["id"]] = ticket
            return 201, "application/json", json.dumps(ticket)
        ticket_id = int(req.path.rsplit("/", 1)[1])
        if ticket_id not in self.tickets:
            return 404, "application/json", json.dumps({"errors": [{"message": "No issue."}]})
        if req.method == "PATCH":
            ticket = self.tickets[ticket_id]
            if "summary" in body:
                ticket["summary"] = body["summary"][0]
            if "statusId" in body:
                ticket["status"] = {"id": int(body["statusId"][0])}
            return 200, "application/json", json.dumps(ticket)
        if req.method == "DELETE":
            return 200, "application/json", json.dumps(self.tickets.pop(ticket_id))
        return 405, "application/json", "{}"


def _options(url):
    return ["-o", f"Server={url}", "-o", f"ApiKey={TrackerApi.KEY}"]


def test_look_alike_insert_sends_a_form_of_the_columns_given_with_array_parameters():
    app = WritableTracker()
    with serve(app) as url:
        r = rsd("insert", TICKETS, *_options(url), "-f", "jsonl", "-i", "summary=Export PDF", "-i", "statusId=2",
                "-i", "labelId=5,6", "-i", "due=2024-07-01T00:00:00Z")
    assert r.code == 0, r.stderr
    [(method, path, query, form)] = app.writes
    assert (method, path, query) == ("POST", "/api/v2/tickets", {"apiKey": [TrackerApi.KEY]})
    assert form == {"summary": ["Export PDF"], "statusId": ["2"], "labelId[]": ["5", "6"], "due": ["2024-07-01"]}
    [row] = [json.loads(line) for line in r.stdout.splitlines()]
    assert (row["id"], row["ticketKey"], row["summary"], row["statusId"], row["due"]) == (
        102, "WEB-2", "Export PDF", 2, "2024-07-01T00:00:00Z")


def test_look_alike_update_patches_the_ticket_named_by_its_id_without_the_id():
    app = WritableTracker()
    with serve(app) as url:
        r = rsd("update", TICKETS, *_options(url), "-f", "jsonl", "-i", "Id=101", "-i", "summary=Login works",
                "-i", "statusId=3")
    assert r.code == 0, r.stderr
    [(method, path, query, form)] = app.writes
    assert (method, path, query, form) == ("PATCH", "/api/v2/tickets/101", {"apiKey": [TrackerApi.KEY]},
                                           {"summary": ["Login works"], "statusId": ["3"]})
    assert json.loads(r.stdout)["summary"] == "Login works"


def test_look_alike_delete_and_a_ticket_that_is_not_there(tmp_path):
    app = WritableTracker()
    (tmp_path / "gone.csv").write_text("Id\n101\n999\n")
    with serve(app) as url:
        r = rsd("delete", TICKETS, *_options(url), "-f", "jsonl", "--from", str(tmp_path / "gone.csv"),
                "--continue-on-error", "--errors", str(tmp_path / "errors.jsonl"))
    assert r.code == 1
    assert [(m, p) for m, p, _, _ in app.writes] == [("DELETE", "/api/v2/tickets/101"),
                                                     ("DELETE", "/api/v2/tickets/999")]
    assert json.loads(r.stdout)["id"] == 101 and app.tickets == {}
    [failed] = [json.loads(x) for x in (tmp_path / "errors.jsonl").read_text().splitlines()]
    assert failed["row"] == 2 and failed["input"] == {"Id": "999"} and "HTTP 404" in failed["error"]
    assert TrackerApi.KEY not in failed["error"]  # the apiKey of the URL is redacted


@pytest.mark.skipif(not ISSUES.is_file(), reason="the public corpus is not in /tmp/rsd-corpus")
@pytest.mark.parametrize("method, inputs, want_method, want_path, want_body", [
    ("POST", ["summary=Export PDF", "projectId=12", "categoryId=3,4", "startDate=2024-07-01T00:00:00.000+09:00"],
     "POST", "/api/v2/issues", "summary=Export PDF&projectId=12&categoryId[]=3&categoryId[]=4&startDate=2024-07-01"),
    ("MERGE", ["Id=7", "summary=Renamed", "statusId=3"], "PATCH", "/api/v2/issues/7", "summary=Renamed&statusId=3"),
    ("DELETE", ["Id=7"], "DELETE", "/api/v2/issues/7", None),
])
def test_corpus_write_scripts_resolve_the_request_they_describe(method, inputs, want_method, want_path, want_body):
    args = [a for i in inputs for a in ("-i", i)]
    r = rsd("plan", str(ISSUES), "--method", method, "-o", "OrganizationName=space.example.com", "-o",
            "ApiKey=k-42", "--format", "json", *args)
    assert r.code == 0, r.stderr
    req = json.loads(r.stdout)["request"]
    assert (req["method"], req["url"]) == (want_method, f"https://space.example.com{want_path}?apiKey=***")
    assert req["body"] == want_body
    if want_body:
        assert "Content-Type: application/x-www-form-urlencoded" in req["headers"]
