"""Compatibility is the product: for each family of the public corpus (docs/compat-corpus.md) a look-alike
profile of our own (tests/compat/<family>/) that uses the same constructs, run by `rsd run` against a local
server that answers the way that family's API does, with the exact rows asserted.

Families: HRBC (XML, token obtained in the profile, start/count paging through a composite rows@next),
Backlog (JSON, apiKey query parameter, offset paging, setm lookups, nested calls, api:throw), Klenty (.apip
archive, ProfileSettings, x-api-key header, declarative offset paging, query slicer), Diffbot
(FlattenedDocuments, setc XPath, {dql} placeholder guarded by api:check, wildcard paths, dotted names),
the xu-rsd-generator TEMPLATE (rsb:/api: mixed, undeclared prefixes, XML and JSON variants).
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from werkzeug.wrappers import Request, Response

from rsd import api
from rsd.errors import InvalidInputError, OptionError, ScriptThrow
from rsd.paging import STOP_EMPTY, STOP_NOT_ADVANCING
from servers import serve

HERE = Path(__file__).resolve().parent / "compat"


def rows_of(result) -> list[dict]:
    return [dict(zip(result.columns, row)) for row in result.rows]


class Api:
    """A WSGI app that records every request (method, path, query, headers, form) and answers `handle`."""

    def __init__(self):
        self.log: list[tuple[str, str, dict, dict, dict]] = []
        self.raw: list[str] = []  # query strings as sent
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        req = Request(environ)
        query = {k: v for k, v in parse_qs(req.query_string.decode(), keep_blank_values=True).items()}
        form = {k: v for k, v in parse_qs(req.get_data(as_text=True), keep_blank_values=True).items()} \
            if req.method == "POST" else {}
        with self._lock:
            self.log.append((req.method, req.path, query, dict(req.headers), form))
            self.raw.append(req.query_string.decode())
        status, ctype, body = self.handle(req, query, form)
        return Response(body, status=status, content_type=ctype)(environ, start_response)

    def paths(self) -> list[str]:
        return [f"{m} {p}" for m, p, *_ in self.log]


# --- 1. HRBC: XML, token inside the profile, "start,token" in rows@next --------------------------------

HR_VACANCIES = [
    dict(id=i, title=t, company=c, stage=s, opened=o, owner=w, recruiters=r)
    for i, t, c, s, o, w, r in [
        (11, "Data engineer", 501, "Open", "2024-01-05 09:00:00", 7, ["Aiko", "Ben"]),
        (12, "Analyst & reporter", 502, "Open", "2024-01-06 10:30:00", 7, ["Ben"]),
        (13, "SRE（夜間）", 501, "Paused", "2024-02-01 08:00:00", 8, []),
        (14, "Designer", 503, "Open", "2024-02-11 12:00:00", 9, ["Chiyo", "Aiko", "Dan"]),
        (15, "Intern", 502, "Open", "2024-03-01 00:00:00", 7, ["Dan"]),
    ]
]


class HrApi(Api):
    """Answers like the HRBC API: /v1/oauth gives a code (as text/html, hence ignorecontenttype), /v1/token
    trades it for a token (form POST), /v1/<resource> pages by start (1-based) and count and wants the
    token in a header; a start past the end is a document with no Item."""

    CODE, TOKEN = "c0de-42", "tok-9f8e"

    def handle(self, req, q, form):
        if req.path == "/v1/oauth":
            if q.get("app_id") != ["app-1"] or q.get("response_type") != ["code_direct"] \
                    or q.get("redirect_url") != ["https://cb.example/x"]:
                return 400, "text/xml", "<Error>bad code request</Error>"
            return 200, "text/html", f"<Authentication><Code>{self.CODE}</Code></Authentication>"
        if req.path == "/v1/token":
            if req.method != "POST" or req.content_type != "application/x-www-form-urlencoded" or form != {
                    "app_id": ["app-1"], "secret": ["s3cr-t.9"], "grant_type": ["oauth_code"], "code": [self.CODE]}:
                return 400, "text/xml", "<Error>bad token request</Error>"
            return 200, "text/plain", (f"<Authentication><AccessToken>{self.TOKEN}</AccessToken>"
                                       f"<ExpiresIn>3600</ExpiresIn></Authentication>")
        if req.path == "/v1/vacancy":
            if req.headers.get("X-Hr-Token") != self.TOKEN:
                return 401, "text/xml", "<Error>token</Error>"
            if q.get("partition") != ["p77"] or not q.get("field", [""])[0].startswith("Vacancy.P_Id,"):
                return 400, "text/xml", "<Error>bad listing request</Error>"
            start, count = int(q["start"][0]), int(q["count"][0])
            page = HR_VACANCIES[start - 1:start - 1 + count]
            items = "".join(self._item(v) for v in page)
            return 200, "application/xml", (f'<?xml version="1.0" encoding="utf-8"?><Vacancy Total="'
                                            f'{len(HR_VACANCIES)}" Count="{len(page)}" Start="{start}">{items}</Vacancy>')
        if req.path == "/v1/workspace":
            if req.headers.get("X-Hr-Token") != self.TOKEN or q.get("request_type") != ["1"]:
                return 401, "text/xml", "<Error>token</Error>"
            return 200, "text/html", ('<Workspace Count="1"><Code>0</Code><Item><Workspace.P_Id>3</Workspace.P_Id>'
                                      '<Workspace.P_Name>Tokyo office</Workspace.P_Name></Item></Workspace>')
        return 404, "text/plain", "no such resource"

    @staticmethod
    def _item(v) -> str:
        recruiters = "".join(f"<User><User.P_Name>{r}</User.P_Name></User>" for r in v["recruiters"])
        title = v["title"].replace("&", "&amp;")
        return (f"<Item><Vacancy.P_Id>{v['id']}</Vacancy.P_Id><Vacancy.P_Title>{title}</Vacancy.P_Title>"
                f"<Vacancy.P_Company><Company><Company.P_Id>{v['company']}</Company.P_Id></Company></Vacancy.P_Company>"
                f"<Vacancy.P_Stage><Option.P_{v['stage']}><Option.P_Id>1</Option.P_Id>"
                f"<Option.P_Name>{v['stage']}</Option.P_Name></Option.P_{v['stage']}></Vacancy.P_Stage>"
                f"<Vacancy.P_Opened>{v['opened']}</Vacancy.P_Opened>"
                f"<Vacancy.P_Owner><User><User.P_Id>{v['owner']}</User.P_Id></User></Vacancy.P_Owner>"
                f"<Vacancy.P_Recruiter>{recruiters}</Vacancy.P_Recruiter></Item>")


HR_OPTIONS = [("BaseURL", ""), ("app_id", "app-1"), ("secret", "s3cr-t.9"), ("partition", "p77"),
              ("redirect_url", "https://cb.example/x")]


def _hr_options(url):
    return [(k, url if k == "BaseURL" else v) for k, v in HR_OPTIONS]


def test_hrbc_token_chain_and_start_count_paging():
    app = HrApi()
    with serve(app) as url:
        r = api.collect(str(HERE / "hrbc" / "Vacancies.rsd"), options=_hr_options(url))
    def rec(*names):
        return "<Vacancy.P_Recruiter>" + "".join(f"<User><User.P_Name>{n}</User.P_Name></User>" for n in names) \
            + "</Vacancy.P_Recruiter>"
    cols = ("Id", "Title", "Company_Id", "Stage_Name", "Opened", "Owner.User.P_Id", "Recruiters", "Total")
    assert r.columns == cols
    assert r.rows == [
        (11, "Data engineer", 501, "Open", "2024-01-05T09:00:00", 7, rec("Aiko", "Ben"), 5),
        (12, "Analyst & reporter", 502, "Open", "2024-01-06T10:30:00", 7, rec("Ben"), 5),
        # a stage spelt <Option.P_Paused> is not the path the column names; an empty aggregate is its XML
        (13, "SRE（夜間）", 501, None, "2024-02-01T08:00:00", 8, "<Vacancy.P_Recruiter/>", 5),
        (14, "Designer", 503, "Open", "2024-02-11T12:00:00", 9, rec("Chiyo", "Aiko", "Dan"), 5),
        (15, "Intern", 502, "Open", "2024-03-01T00:00:00", 7, rec("Dan"), 5),
    ]
    # the code and token calls run once (first page only); later pages carry the token in rows@next
    assert app.paths() == ["GET /v1/oauth", "POST /v1/token"] + ["GET /v1/vacancy"] * 4
    assert [q["start"] for m, p, q, h, f in app.log[2:]] == [["1"], ["3"], ["5"], ["7"]]
    assert all(h["X-Hr-Token"] == HrApi.TOKEN for m, p, q, h, f in app.log[2:])
    assert r.summary.pages == 4 and r.summary.requests == 6
    assert r.summary.stop_reason == STOP_EMPTY



def test_hrbc_whole_document_as_one_row():
    app = HrApi()
    with serve(app) as url:
        r = api.collect(str(HERE / "hrbc" / "Workspaces.rsd"), options=_hr_options(url))
    assert r.rows == [(0, 3, "Tokyo office")]
    assert app.paths() == ["GET /v1/oauth", "POST /v1/token", "GET /v1/workspace"]
    assert r.summary.pages == 1 and r.summary.stop_reason == STOP_NOT_ADVANCING

# --- 2. Backlog: JSON, apiKey in the query, offset paging, setm lookups, nested calls, api:throw --------

TICKETS = [
    {"id": 101, "ticketKey": "WEB-1", "summary": "Login fails", "kind": {"id": 1, "name": "Bug"},
     "status": {"id": 1, "name": "Open"}, "labels": [{"id": 5, "name": "auth"}], "due": "2024-05-01T00:00:00Z"},
    {"id": 102, "ticketKey": "WEB-2", "summary": "Dark mode", "kind": {"id": 2, "name": "Task"},
     "status": {"id": 2, "name": "In progress"}, "labels": [], "due": None},
    {"id": 103, "ticketKey": "WEB-3", "summary": "Login page copy", "kind": {"id": 2, "name": "Task"},
     "status": {"id": 4, "name": "Closed"}, "labels": [{"id": 6, "name": "copy"}, {"id": 5, "name": "auth"}],
     "due": "2024-06-30T00:00:00Z"},
    {"id": 104, "ticketKey": "WEB-4", "summary": "Crash on save", "kind": {"id": 1, "name": "Bug"},
     "status": {"id": 1, "name": "Open"}, "labels": [], "due": None},
    {"id": 105, "ticketKey": "WEB-5", "summary": "Export CSV", "kind": {"id": 3, "name": "Feature"},
     "status": {"id": 9, "name": "Custom"}, "labels": [], "due": None},
]
EVENTS = [
    {"id": 9001, "type": 1, "project": {"id": 3, "name": "Web"}, "content": {"id": 101, "summary": "Login fails"},
     "created": "2024-04-01T10:00:00Z"},
    {"id": 9002, "type": 4, "project": {"id": 3, "name": "Web"}, "content": {"id": 99, "summary": "Old"},
     "created": "2024-04-02T10:00:00Z"},
    {"id": 9003, "type": 3, "project": {"id": 4, "name": "App"}, "content": {"id": 7, "summary": "Sync"},
     "created": "2024-04-03T11:30:00Z"},
]
MILESTONES = {"31": [{"id": 1, "projectId": 31, "name": "v1.0", "releaseDueDate": "2024-07-01T00:00:00Z",
                      "archived": False},
                     {"id": 2, "projectId": 31, "name": "v1.1", "releaseDueDate": None, "archived": True}]}


class TrackerApi(Api):
    """Answers like Backlog's API v2: apiKey in the query, top-level JSON arrays, count/offset (1-based
    here, as the look-alike's def('1') starts), array filters as name[]=value."""

    KEY = "k-123"

    def handle(self, req, q, form):
        if q.get("apiKey") != [self.KEY]:
            return 401, "application/json", json.dumps({"errors": [{"message": "Authentication failure."}]})
        if req.path == "/api/v2/tickets":
            found = [t for t in TICKETS
                     if ("statusId[]" not in q or str(t["status"]["id"]) in q["statusId[]"])
                     and ("keyword" not in q or q["keyword"][0].lower() in t["summary"].lower())]
            if q.get("sort") != ["created"] or q.get("order") != ["asc"]:
                return 400, "application/json", json.dumps({"errors": [{"message": "sort/order"}]})
            offset, count = int(q["offset"][0]), int(q["count"][0])
            return 200, "application/json", json.dumps(found[offset - 1:offset - 1 + count])
        if req.path == "/api/v2/users/myself":
            return 200, "application/json", json.dumps({"id": 77, "userId": "hana", "name": "Hana"})
        if req.path == "/api/v2/users/77/activities":
            found = [e for e in EVENTS if "activityTypeId[]" not in q or str(e["type"]) in q["activityTypeId[]"]]
            if q.get("order") == ["desc"]:
                found = found[::-1]
            return 200, "application/json", json.dumps(found[:int(q["count"][0])])
        if req.path.startswith("/api/v2/projects/") and req.path.endswith("/versions"):
            return 200, "application/json", json.dumps(MILESTONES.get(req.path.split("/")[4], []))
        return 404, "application/json", json.dumps({"errors": [{"message": "No such resource."}]})


def _tracker(url):
    return [("Server", url), ("ApiKey", TrackerApi.KEY)]


def test_backlog_offset_paging_lookup_table_and_enum_over_attributes():
    app = TrackerApi()
    with serve(app) as url:
        r = api.collect(str(HERE / "backlog" / "Tickets.rsd"), options=_tracker(url))
    assert r.columns == ("id", "ticketKey", "summary", "kindName", "statusId", "statusLabel", "labels", "due")
    assert r.rows == [
        (101, "WEB-1", "Login fails", "Bug", 1, "Open", '[{"id":5,"name":"auth"}]', "2024-05-01T00:00:00Z"),
        (102, "WEB-2", "Dark mode", "Task", 2, "In progress", "[]", None),
        (103, "WEB-3", "Login page copy", "Task", 4, "完了", '[{"id":6,"name":"copy"},{"id":5,"name":"auth"}]',
         "2024-06-30T00:00:00Z"),
        (104, "WEB-4", "Crash on save", "Bug", 1, "Open", "[]", None),
        (105, "WEB-5", "Export CSV", "Feature", 9, "unknown", "[]", None),
    ]
    # offset 1, 3, 5, then 7 answers [] and paging stops; the fixed parameters come in name order
    assert [q["offset"] for m, p, q, h, f in app.log] == [["1"], ["3"], ["5"], ["7"]]
    assert app.raw[1] == "apiKey=k-123&count=2&offset=3&order=asc&sort=created"
    assert r.summary.stop_reason == STOP_EMPTY and r.summary.pages == 4


def test_backlog_array_filters_from_nested_input_references():
    app = TrackerApi()
    with serve(app) as url:
        r = api.collect(str(HERE / "backlog" / "Tickets.rsd"), options=_tracker(url),
                        inputs={"statusId": "1,4", "keyword": "log in"})
        assert [row[0] for row in r.rows] == []
        r = api.collect(str(HERE / "backlog" / "Tickets.rsd"), options=_tracker(url),
                        inputs={"statusId": "1,4", "keyword": "login"})
    assert [(row[0], row[5]) for row in r.rows] == [(101, "Open"), (103, "完了")]
    # statusId[]=1&statusId[]=4 (the escaped \[\] is a literal []), keyword URL-encoded, sort/order from setm
    m, p, q, h, f = app.log[-1]
    assert q["statusId[]"] == ["1", "4"] and q["keyword"] == ["login"] and "assigneeId[]" not in q
    assert app.log[0][2]["keyword"] == ["log in"]
    # (requests' URL preparation sends [] as %5B%5D, which servers decode to the same key)
    assert app.raw[-2].replace("%5B%5D", "[]") == \
        "apiKey=k-123&count=2&offset=1&order=asc&sort=created&statusId[]=1&statusId[]=4&keyword=login"
    assert "keyword=log%20in" in app.raw[0]



def test_backlog_escaped_brackets_reach_the_server_as_the_same_key():
    # `\[\]` in the profile is a literal `[]`; the HTTP library percent-encodes it (RFC 3986 does not allow
    # brackets in a query), which every server decodes to the same key
    app = TrackerApi()
    with serve(app) as url:
        api.collect(str(HERE / "backlog" / "Tickets.rsd"), options=_tracker(url), inputs={"statusId": "1"})
    assert "&statusId%5B%5D=1" in app.raw[0]


def test_backlog_call_inside_a_call_with_lookup_and_continue():
    app = TrackerApi()
    with serve(app) as url:
        r = api.collect(str(HERE / "backlog" / "Events.rsd"), options=_tracker(url))
        assert r.rows == [
            (9003, 3, "ticket commented", "App", "Sync", "2024-04-03T11:30:00Z"),
            # 9002 is type 4 (deleted): api:continue skips it
            (9001, 1, "ticket added", "Web", "Login fails", "2024-04-01T10:00:00Z"),
        ]
        r = api.collect(str(HERE / "backlog" / "Events.rsd"), options=_tracker(url),
                        inputs={"activityTypeId": "3", "order": "asc", "count": "10"})
    assert r.rows == [(9003, 3, "ticket commented", "App", "Sync", "2024-04-03T11:30:00Z")]
    assert app.paths() == ["GET /api/v2/users/myself", "GET /api/v2/users/77/activities"] * 2
    assert app.log[-1][2] == {"apiKey": [TrackerApi.KEY], "activityTypeId[]": ["3"], "count": ["10"], "order": ["asc"]}


def test_backlog_required_input_is_thrown_before_any_request():
    app = TrackerApi()
    with serve(app) as url:
        with pytest.raises(ScriptThrow) as e:
            api.collect(str(HERE / "backlog" / "Milestones.rsd"), options=_tracker(url))
        assert "Project Id is required" in str(e.value) and app.log == []
        r = api.collect(str(HERE / "backlog" / "Milestones.rsd"), options=_tracker(url), inputs={"projectId": "31"})
    assert r.rows == [(1, 31, "v1.0", "2024-07-01T00:00:00Z", False), (2, 31, "v1.1", None, True)]


# --- 3. Klenty: an .apip archive, ProfileSettings, x-api-key, declarative offset paging, slicer ----------

SEGMENTS = [{"id": "s1", "name": "Trial users", "members": {"count": 5}},
            {"id": "s2", "name": "Partners", "members": {"count": 2}}]
LEADS = [{"id": f"L{i}", "FullName": n, "Email": f"{n.split()[0].lower()}@ex.com", "Score": sc, "Segment": seg}
         for i, (n, sc, seg) in enumerate([("Ana Lima", 40, "Trial users"), ("Bo Chen", 12, "Partners"),
                                           ("Cy Dorn", 77, "Trial users"), ("Di Eze", 5, "Trial users"),
                                           ("Ed Fox", 63, "Partners"), ("Flo Gray", 30, "Trial users"),
                                           ("Gus Hale", 91, "Trial users")], start=1)]


class SalesApi(Api):
    """Answers like Klenty's API: x-api-key header, /apis/v1/user/<user>/..., top-level arrays,
    start (1-based) and limit for leads."""

    KEY, USER = "kk-55", "me@ex.com"

    def handle(self, req, q, form):
        if req.headers.get("x-api-key") != self.KEY:
            return 401, "application/json", json.dumps({"message": "Invalid API key"})
        prefix = f"/apis/v1/user/{self.USER}/"
        if not req.path.startswith(prefix):
            return 404, "application/json", json.dumps({"message": "Unknown user"})
        what = req.path[len(prefix):]
        if what == "segments":
            return 200, "application/json", json.dumps(SEGMENTS)
        if what == "leads" and "Email" in q:
            return 200, "application/json", json.dumps([x for x in LEADS if x["Email"] == q["Email"][0]])
        if what == "leads":
            found = [x for x in LEADS if x["Segment"] == q["segmentName"][0]]
            start, limit = int(q["start"][0]), int(q["limit"][0])
            return 200, "application/json", json.dumps(found[start - 1:start - 1 + limit])
        return 404, "application/json", json.dumps({"message": "Not found"})


def _apip(tmp_path) -> Path:
    """Sales.apip: the members in tests/compat/klenty plus the metadata an API Driver profile carries."""
    path = tmp_path / "Sales.apip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nTitle: Sales look-alike profile\n"
                   "TestTable: Segments\nRequiredProperties: APIKey,User\n")
        z.writestr("ConnectionProperties.json", json.dumps({"profilename": "Sales", "MetadataVersion": 1.0,
                                                             "connectionProperties": {"APIKey": {"required": True}}}))
        for member in sorted((HERE / "klenty").glob("*.rsd")):
            z.write(member, member.name)
        z.writestr("Resources/", "")
    return path


def _sales(url):
    return [("Server", url), ("ProfileSettings", f"APIKey={SalesApi.KEY};User={SalesApi.USER};")]


def test_klenty_apip_member_with_profile_settings_header(tmp_path):
    apip = _apip(tmp_path)
    app = SalesApi()
    with serve(app) as url:
        r = api.collect(f"{apip}/Segments.rsd", options=_sales(url))
        assert r.rows == [("s1", "Trial users", 5), ("s2", "Partners", 2)]
        # the key is read as [_connection.ApiKey] though ProfileSettings spells it APIKey
        assert app.log[0][3]["X-Api-Key"] == SalesApi.KEY
        with pytest.raises(InvalidInputError) as e:
            api.collect(f"{apip}/Segments.rsd", options=[("Server", url), ("ProfileSettings", "User=x")])
        assert "ApiKey" in str(e.value)
        assert len(app.log) == 1  # api:validate stops before any request


def test_klenty_slicer_and_declarative_offset_paging(tmp_path):
    apip = _apip(tmp_path)
    app = SalesApi()
    with serve(app) as url:
        # one request at a time: the log below is the exact sequence of offsets (more are sent ahead otherwise)
        r = api.collect(f"{apip}/LeadsBySegment.rsd", options=_sales(url), concurrency=1,
                        inputs=[("Segment", "Trial users"), ("Segment", "Partners")])
    assert r.columns == ("id", "FullName", "Email", "Score", "Segment")
    assert r.rows == [
        ("L1", "Ana Lima", "ana@ex.com", 40, "Trial users"), ("L3", "Cy Dorn", "cy@ex.com", 77, "Trial users"),
        ("L4", "Di Eze", "di@ex.com", 5, "Trial users"), ("L6", "Flo Gray", "flo@ex.com", 30, "Trial users"),
        ("L7", "Gus Hale", "gus@ex.com", 91, "Trial users"),
        ("L2", "Bo Chen", "bo@ex.com", 12, "Partners"), ("L5", "Ed Fox", "ed@ex.com", 63, "Partners"),
    ]
    # start=1, then advanced by the rows received; a page without rows ends each slice
    assert [(q["segmentName"][0], q["start"][0], q["limit"][0]) for m, p, q, h, f in app.log] == [
        ("Trial users", "1", "3"), ("Trial users", "4", "3"), ("Trial users", "6", "3"),
        ("Partners", "1", "3"), ("Partners", "3", "3")]
    assert "segmentName=Trial%20users" in app.raw[0]
    assert r.summary.pages == 5


def test_klenty_filter_input_and_cli_run_of_a_member(tmp_path):
    apip = _apip(tmp_path)
    app = SalesApi()
    with serve(app) as url:
        p = subprocess.run([sys.executable, "-m", "rsd.cli", "run", f"{apip}/LeadByEmail.rsd", "-f", "jsonl",
                            "-o", f"Server={url}", "--connection",
                            f"Profile={apip};ProfileSettings='APIKey={SalesApi.KEY};User={SalesApi.USER}'",
                            "-i", "Email=ed@ex.com"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert [json.loads(line) for line in p.stdout.splitlines()] == [
        {"id": "L5", "FullName": "Ed Fox", "Segment": "Partners"}]
    assert app.log[0][2] == {"Email": ["ed@ex.com"]}


# --- 4. Diffbot: FlattenedDocuments over /data, {dql} placeholder guarded by api:check, wildcard paths -----

KG_ARTICLES = [
    {"score": 0.91, "entity": {"title": "Rivers & roads", "date": {"str": "d2024-03-02T00:00", "precision": 4,
                                                                    "timestamp": 1709337600000},
                               "tags": [{"label": "Transport", "score": 0.8}, {"label": "Europe", "score": 0.5}],
                               "images": [{"url": "https://img.example/1.png", "primary": True}],
                               "sentiment": -0.25, "discussion": {"numPosts": 3}}},
    {"score": 0.4, "entity": {"title": "Quiet news", "date": {"str": "d2023-12-31T00:00", "precision": 2,
                                                             "timestamp": 1703980800000},
                              "tags": [{"label": "Misc"}], "images": [], "sentiment": 0}},
]
KG_PEOPLE = [
    {"score": 12.5, "entity": {"id": "P1", "name": "Ines Ortega", "nameDetail": {"firstName": "Ines"},
                               "birthDate": {"str": "d1980-XX-XX", "precision": 1},
                               "employments": [{"employer": {"name": "Acme"}, "isCurrent": True},
                                               {"employer": {"name": "Globex"}, "title": "CTO"}],
                               "location": {"isCurrent": True}, "importance": 3}},
    {"score": 7, "entity": {"id": "P2", "name": "Jon Park", "employments": [], "location": {"isCurrent": False}}},
]


class GraphApi(Api):
    """Answers like Diffbot's Knowledge Graph DQL endpoint: {"version":3,"hits":N,"data":[{"score":..,"entity":{..}}]}."""

    TOKEN = "dbt-777"

    def handle(self, req, q, form):
        if req.path != "/kg/v3/dql":
            return 404, "application/json", json.dumps({"error": "not found"})
        token = (q.get("token") or q.get("Token") or [""])[0]
        if token.rstrip(":") != self.TOKEN:
            return 401, "application/json", json.dumps({"errorCode": 401, "error": "Not authorized API token."})
        query = q["query"][0]
        data = KG_ARTICLES if query.startswith("type:Article") else KG_PEOPLE if query.startswith("type:Person") else []
        return 200, "application/json", json.dumps({"version": 3, "hits": len(data), "results": len(data),
                                                    "kgversion": "x", "data": data})


def test_diffbot_flattened_documents_with_dotted_names_and_nested_arrays():
    app = GraphApi()
    with serve(app) as url:
        r = api.collect(str(HERE / "diffbot" / "KgArticles.rsd"),
                        options=[("Server", url), ("ProfileSettings", f"APIToken={GraphApi.TOKEN}")],
                        inputs={"dql": 'type:Article title:"roads & rivers"'})
    assert r.columns == ("data:_id", "title", "date.str", "date.precision", "date.timestamp", "tags", "images",
                         "sentiment", "discussion.numPosts", "score")
    assert r.rows == [
        (None, "Rivers & roads", "d2024-03-02T00:00", 4, 1709337600000, '["Transport","Europe"]',
         '[{"url":"https://img.example/1.png","primary":true}]', -0.25, 3, 0.91),
        (None, "Quiet news", "d2023-12-31T00:00", 2, 1703980800000, '["Misc"]', "[]", 0.0, None, 0.4),
    ]
    # {dql} is one URL-encoded query value; &amp; in the profile is a plain &
    assert app.log[0][2] == {"token": [GraphApi.TOKEN], "query": ['type:Article title:"roads & rivers"']}
    assert "query=type%3AArticle%20title%3A%22roads%20%26%20rivers%22" in app.raw[0]


def test_diffbot_check_guards_the_uri():
    with pytest.raises(OptionError) as e:
        api.collect(str(HERE / "diffbot" / "KgArticles.rsd"), options=[("ProfileSettings", "APIToken=x")])
    assert "has no URI" in str(e.value)


def test_diffbot_setc_uri_placeholders_and_wildcard_step():
    app = GraphApi()
    with serve(app) as url:
        port = url.rsplit(":", 1)[1]
        # the URI is written literally (api:setc) with a real host; a proxy option brings it to 127.0.0.1
        r = api.collect(str(HERE / "diffbot" / "KgPeopleQuery.rsd"),
                        options=[("ProfileSettings", f"APIToken={GraphApi.TOKEN}"), ("ProxyServer", "127.0.0.1"),
                                 ("ProxyPort", port)],
                        inputs={"dql_query": "type:Person employments.employer.name:Acme"})
    assert r.rows == [
        ("P1", "Ines Ortega", "Ines", "d1980-XX-XX", '["Acme","Globex"]',
         '[{"employer":{"name":"Acme"},"isCurrent":true},{"employer":{"name":"Globex"},"title":"CTO"}]',
         True, 3.0, 12.5),
        ("P2", "Jon Park", None, None, None, "[]", False, None, 7.0),
    ]
    # {auth} is a plain attribute ("token:"), URL-encoded like any placeholder value
    assert app.log[0][2]["Token"] == [GraphApi.TOKEN + ":"]
    assert "Token=dbt-777%3A&" in app.raw[0]


# --- 5. xu-rsd-generator TEMPLATE: rsb:/api: mixed, undeclared prefixes, JSON and XML variants ----------

ACDOC = [{"BUKRS": "1000", "BELNR": "0100000001", "GJAHR": 2024, "DMBTR": 1250.5, "BUDAT": "2024-01-31"},
         {"BUKRS": "1000", "BELNR": "0100000002", "GJAHR": 2024, "DMBTR": 99, "BUDAT": "2024-02-01"},
         {"BUKRS": "2000", "BELNR": "0900000007", "GJAHR": 2023, "DMBTR": -12.25, "BUDAT": ""}]


class ExtractServer(Api):
    """Answers like a local extraction server: /?name=<extraction> as a JSON array, or XML rows."""

    def handle(self, req, q, form):
        if q.get("name") != ["ACDOC"]:
            return 404, "text/plain", "unknown extraction"
        if q.get("format") == ["xml"]:
            rows = "".join("<row>" + "".join(f"<{k}>{v}</{k}>" for k, v in r.items()) + "</row>" for r in ACDOC)
            return 200, "application/xml", f"<ACDOC>{rows}</ACDOC>"
        return 200, "application/json", json.dumps(ACDOC)


@pytest.mark.parametrize("name", ["Extract_JSON", "Extract_XML"])
def test_template_json_and_xml_variants_give_the_same_rows(name):
    app = ExtractServer()
    with serve(app) as url:
        r = api.collect(str(HERE / "template" / f"{name}.rsd"), options=[("Server", url)])
    assert r.columns == ("BUKRS", "BELNR", "GJAHR", "DMBTR", "BUDAT")
    # an empty date is null (JSON "" and XML <BUDAT></BUDAT> alike); 99 is a double
    assert r.rows == [("1000", "0100000001", 2024, 1250.5, "2024-01-31"),
                      ("1000", "0100000002", 2024, 99.0, "2024-02-01"),
                      ("2000", "0900000007", 2023, -12.25, None)]
    assert app.paths() == ["GET /"]


# --- every look-alike passes `rsd check` ----------------------------------------------------------------

def test_every_look_alike_checks_without_errors_or_warnings(tmp_path):
    paths = sorted(str(p) for p in HERE.rglob("*.rsd") if p.name != "Workspaces.rsd") + [str(_apip(tmp_path))]
    p = subprocess.run([sys.executable, "-m", "rsd.cli", "check", "--strict", *paths], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert (p.stdout + p.stderr).strip().endswith(f"0 errors, 0 warnings in {len(paths) - 1 + 4} files"), p.stderr


def test_enable_paging_that_pages_nothing_is_a_true_warning():
    # like the family's partition profile: EnablePaging=true on the token calls and on a one-page listing
    p = subprocess.run([sys.executable, "-m", "rsd.cli", "check", str(HERE / "hrbc" / "Workspaces.rsd")],
                       capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert out.count("[RSD501]") == 3 and out.strip().endswith("0 errors, 3 warnings in 1 file"), out
