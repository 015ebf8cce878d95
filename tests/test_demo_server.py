"""The bundled demo API (rsd/demo/server.py) and the sample profiles' well-formedness."""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lxml import etree

from rsd.demo.server import (
    DEFAULT_PAGE_SIZES,
    DEFAULT_RECORDS,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_PASSWORD,
    DEMO_REFRESH_TOKEN,
    DEMO_USER,
    DemoServer,
    build_datasets,
)

REPO = Path(__file__).resolve().parent.parent
REFRESH_FORM = {
    "grant_type": "refresh_token",
    "client_id": DEMO_CLIENT_ID,
    "client_secret": DEMO_CLIENT_SECRET,
    "refresh_token": DEMO_REFRESH_TOKEN,
}


@pytest.fixture(scope="module")
def srv():
    with DemoServer(token_lifetime=60) as server:
        yield server


@pytest.fixture
def fresh():
    """A server of its own, for tests that count requests or faults."""
    with DemoServer(require_auth=False) as server:
        yield server


@pytest.fixture(scope="module")
def session(srv):
    s = requests.Session()
    token = s.post(srv.token_url, data=REFRESH_FORM, timeout=5).json()["access_token"]
    s.headers["Authorization"] = f"Bearer {token}"
    yield s
    s.close()


def get(session, srv, path, **params):
    response = session.get(srv.url + path, params=params or None, timeout=5)
    return response


# ---------------------------------------------------------------------------------------------------------------------
# Datasets


def test_defaults_are_not_multiples_of_page_sizes():
    for name, count in DEFAULT_RECORDS.items():
        assert count % DEFAULT_PAGE_SIZES[name] != 0, name


def test_datasets_are_deterministic_and_sized():
    a, b = build_datasets(), build_datasets()
    assert a == b
    assert {k: len(v) for k, v in a.items()} == DEFAULT_RECORDS
    small = build_datasets({"accounts": 3})
    assert len(small["accounts"]) == 3
    assert small["accounts"] == a["accounts"][:3]
    with pytest.raises(ValueError):
        build_datasets({"nope": 1})


def test_account_fields_have_the_promised_types(srv):
    accounts = srv.data["accounts"]
    first = accounts[1]
    assert isinstance(first["AnnualRevenue"], float)
    assert isinstance(first["NumberOfEmployees"], int)
    assert isinstance(first["IsActive"], bool)
    assert set(first["BillingAddress"]) >= {"City", "Country"}
    assert isinstance(first["Tags"], list)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000", first["CreatedDate"])
    assert any(a["Industry"] is None for a in accounts)  # nulls exist
    assert any(a["Tags"] == [] for a in accounts) and any(len(a["Tags"]) > 1 for a in accounts)
    assert all(order["lines"] for order in srv.data["orders"])  # flattened rows = sum of lines


# ---------------------------------------------------------------------------------------------------------------------
# Token endpoint


def test_refresh_grant_in_body_salesforce_style(srv):
    response = requests.post(srv.token_url, data=REFRESH_FORM, timeout=5)
    assert response.status_code == 200
    doc = response.json()
    assert doc["token_type"] == "Bearer"
    assert doc["instance_url"] == srv.url
    assert doc["expires_in"] == 60
    assert doc["issued_at"].isdigit() and doc["signature"]
    assert response.headers["Cache-Control"] == "no-store"
    assert srv.token_valid(doc["access_token"])


def test_refresh_grant_in_query_string(srv):
    response = requests.post(srv.token_url, params=REFRESH_FORM, timeout=5)
    assert response.status_code == 200, response.text
    assert srv.token_valid(response.json()["access_token"])


def test_client_credentials_with_basic_auth(srv):
    response = requests.post(srv.token_url, data={"grant_type": "client_credentials", "scope": "api"},
                             auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "api"


def test_password_grant(srv):
    form = {"grant_type": "password", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
            "username": DEMO_USER, "password": DEMO_PASSWORD}
    assert requests.post(srv.token_url, data=form, timeout=5).status_code == 200
    form["password"] = "wrong"
    response = requests.post(srv.token_url, data=form, timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "change, status, error",
    [
        ({"refresh_token": "stale"}, 400, "invalid_grant"),
        ({"refresh_token": None}, 400, "invalid_request"),
        ({"grant_type": None}, 400, "invalid_request"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"client_id": None, "client_secret": None}, 401, "invalid_client"),
    ],
)
def test_token_errors_follow_rfc6749(srv, change, status, error):
    form = {k: v for k, v in {**REFRESH_FORM, **change}.items() if v is not None}
    response = requests.post(srv.token_url, data=form, timeout=5)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_token_endpoint_rejects_json_bodies_and_get(srv):
    assert requests.post(srv.token_url, json=REFRESH_FORM, timeout=5).status_code == 400
    assert requests.get(srv.token_url, timeout=5).status_code == 405


def test_basic_and_body_secret_together_is_invalid_request(srv):
    response = requests.post(srv.token_url, data=REFRESH_FORM, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), timeout=5)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_tokens_expire_after_their_lifetime():
    with DemoServer(token_lifetime=0.5) as server:
        token = requests.post(server.token_url, data=REFRESH_FORM, timeout=5).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(server.url + "/api/accounts", headers=headers, timeout=5).status_code == 200
        time.sleep(0.6)
        response = requests.get(server.url + "/api/accounts", headers=headers, timeout=5)
        assert response.status_code == 401
        assert "expired" in response.json()["error_description"]
        assert server.stats.tokens_issued == 1 and server.stats.auth_failures == 1


# ---------------------------------------------------------------------------------------------------------------------
# Authentication on /api/


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic cnNkOnJzZA=="])
def test_api_requires_a_valid_bearer_token(srv, header):
    headers = {"Authorization": header} if header else {}
    response = requests.get(srv.url + "/api/accounts", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_tokens_get_401(srv):
    with DemoServer() as server:
        token = server.issue_token()
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(server.url + "/api/events", headers=headers, timeout=5).status_code == 200
        server.revoke_tokens()
        assert requests.get(server.url + "/api/events", headers=headers, timeout=5).status_code == 401


def test_health_needs_no_auth(srv):
    response = requests.get(srv.url + "/health", timeout=5)
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_unknown_path_and_write_methods(srv, session):
    response = get(session, srv, "/api/nothing")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = session.post(srv.url + "/api/accounts", json={}, timeout=5)
    assert response.status_code == 405


# ---------------------------------------------------------------------------------------------------------------------
# Paging styles


def test_page_number_accounts(srv, session):
    total, per_page = 237, 50
    seen = []
    for page in range(1, 6):
        doc = get(session, srv, "/api/accounts", page=page, per_page=per_page).json()
        assert doc["page"] == page and doc["total_pages"] == 5 and doc["totalSize"] == total
        assert len(doc["records"]) == (per_page if page < 5 else 37)
        assert doc["done"] is (page == 5)
        seen += [r["Id"] for r in doc["records"]]
    assert len(set(seen)) == total
    # Past the end: an empty page (the script-driven stop rule), not an error.
    doc = get(session, srv, "/api/accounts", page=6, per_page=per_page).json()
    assert doc["records"] == [] and doc["total_pages"] == 5
    # Defaults and bad input.
    assert len(get(session, srv, "/api/accounts").json()["records"]) == DEFAULT_PAGE_SIZES["accounts"]
    assert get(session, srv, "/api/accounts", page=0).status_code == 400
    assert get(session, srv, "/api/accounts", page="x").status_code == 400
    assert len(get(session, srv, "/api/accounts", per_page=1000).json()["records"]) == 200


def test_offset_contacts(srv, session):
    sizes = []
    offset = 0
    while True:
        doc = get(session, srv, "/api/contacts", offset=offset, limit=25).json()
        assert doc["total"] == 123
        if not doc["data"]:
            break
        sizes.append(len(doc["data"]))
        offset += 25
    assert sizes == [25, 25, 25, 25, 23]
    ids = [c["id"] for c in get(session, srv, "/api/contacts", offset=0, limit=200).json()["data"]]
    assert ids == list(range(1, 124))


def test_cursor_events(srv, session):
    sizes, ids, cursor = [], [], None
    while True:
        params = {"limit": 20, **({"cursor": cursor} if cursor else {})}
        doc = get(session, srv, "/api/events", **params).json()
        sizes.append(len(doc["items"]))
        ids += [e["id"] for e in doc["items"]]
        cursor = doc["next_cursor"]
        if cursor is None:
            break
        assert not cursor.isdigit()  # opaque
    assert sizes == [20, 20, 13]
    assert len(set(ids)) == 53
    assert get(session, srv, "/api/events", cursor="!!garbage").status_code == 400


def test_absolute_next_url_orders(srv, session):
    url = srv.url + "/api/orders"
    sizes = []
    while url:
        doc = session.get(url, timeout=5).json()
        sizes.append(len(doc["records"]))
        assert doc["totalSize"] == 95
        url = doc.get("nextRecordsUrl")
        if url:
            assert url.startswith(srv.url + "/api/orders?page=")
        else:
            assert "nextRecordsUrl" not in doc and doc["done"] is True
    assert sizes == [20, 20, 20, 20, 15]


def test_next_links_keep_other_query_parameters(srv, session):
    doc = get(session, srv, "/api/orders", page=1, per_page=40, fail_page=9).json()
    query = parse_qs(urlsplit(doc["nextRecordsUrl"]).query)
    assert query == {"page": ["2"], "per_page": ["40"], "fail_page": ["9"]}


def test_relative_next_url_products(srv, session):
    path, sizes = "/api/products", []
    while path:
        doc = session.get(srv.url + path, timeout=5).json()
        sizes.append(len(doc["products"]))
        path = doc["next"]
        assert path is None or path.startswith("/api/products?page=")
    assert sizes == [25, 25, 14]


def test_link_header_invoices(srv, session):
    url, sizes = srv.url + "/api/invoices?per_page=15", []
    while url:
        response = session.get(url, timeout=5)
        body = response.json()
        assert isinstance(body, list)
        assert response.headers["X-Total-Count"] == "41"
        sizes.append(len(body))
        url = response.links.get("next", {}).get("url")
        if url:
            assert "per_page=15" in url
    assert sizes == [15, 15, 11]
    assert "last" in response.links and "next" not in response.links


def test_xml_inventory(srv, session):
    sizes, skus = [], []
    for page in range(1, 5):
        response = get(session, srv, "/api/inventory.xml", page=page)
        assert response.headers["Content-Type"].startswith("application/xml")
        root = etree.fromstring(response.content)
        assert root.tag == "inventory" and root.get("page") == str(page) and root.get("pages") == "4"
        items = root.findall("item")
        sizes.append(len(items))
        skus += [i.findtext("sku") for i in items]
        for item in items:
            assert [c.tag for c in item] == ["sku", "name", "qty", "price", "updated", "warehouse"]
    assert sizes == [10, 10, 10, 4]
    assert len(set(skus)) == 34
    everything = etree.fromstring(get(session, srv, "/api/inventory.xml", per_page=100).content)
    assert any(i.find("warehouse").text is None for i in everything.findall("item"))  # <warehouse/>
    assert any("&" in i.findtext("name") for i in everything.findall("item"))  # escaped correctly
    assert etree.fromstring(get(session, srv, "/api/inventory.xml", page=9).content).findall("item") == []


def test_json_is_utf8(srv, session):
    response = get(session, srv, "/api/accounts", per_page=200)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Zürich".encode() in response.content


def test_keep_alive_reuses_the_connection(srv):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/health")
            response = conn.getresponse()
            assert response.status == 200 and json.loads(response.read())["status"] == "ok"
        assert conn.sock is not None  # still the same, open socket
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------------------------------
# Fault injection


def test_fail_429_first_k_times_then_success(fresh):
    url = fresh.url + "/api/accounts?page=2&fail=429&fail_times=2"
    first, second, third = (requests.get(url, timeout=5) for _ in range(3))
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert first.json()["error"] == "rate_limited"
    assert third.status_code == 200 and third.json()["page"] == 2
    # Another page is another key: it fails afresh.
    assert requests.get(fresh.url + "/api/accounts?page=3&fail=429&fail_times=2", timeout=5).status_code == 429
    assert fresh.stats.faults["fail:429"] == 3


def test_fail_key_ignores_fault_parameter_order_and_values(fresh):
    assert requests.get(fresh.url + "/api/contacts?offset=25&fail=503", timeout=5).status_code == 503
    # Same path and non-fault query, so the single allowed failure is used up.
    assert requests.get(fresh.url + "/api/contacts?fail=503&offset=25&retry_after=7", timeout=5).status_code == 200


def test_fail_503_custom_retry_after_and_always(fresh):
    for _ in range(3):
        response = requests.get(fresh.url + "/api/events?fail=503&fail_times=all&retry_after=3", timeout=5)
        assert response.status_code == 503 and response.headers["Retry-After"] == "3"


def test_status_injection(fresh):
    response = requests.get(fresh.url + "/api/products?status=404", timeout=5)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found" and response.json()["message"]
    assert requests.get(fresh.url + "/api/products?status=404", timeout=5).status_code == 404  # every time
    assert requests.get(fresh.url + "/api/products?status=200", timeout=5).status_code == 400


def test_fail_page(fresh):
    for style, page_n, other in [
        ("/api/accounts?page=3&fail_page=3", "/api/accounts?page=2&fail_page=3", None),
        ("/api/contacts?offset=50&limit=25&fail_page=3", "/api/contacts?offset=25&limit=25&fail_page=3", None),
    ]:
        for _ in range(2):
            response = requests.get(fresh.url + style, timeout=5)
            assert response.status_code == 500 and response.json()["error"] == "server_error"
        assert requests.get(fresh.url + page_n, timeout=5).status_code == 200
    # Following next links carries fail_page along, so a Full Path client hits it on page 3.
    url, statuses = fresh.url + "/api/orders?fail_page=3", []
    while url:
        response = requests.get(url, timeout=5)
        statuses.append(response.status_code)
        url = response.json().get("nextRecordsUrl") if response.ok else None
    assert statuses == [200, 200, 500]


def test_truncate_sends_less_than_content_length(fresh):
    conn = http.client.HTTPConnection(fresh.host, fresh.port, timeout=5)
    try:
        conn.request("GET", "/api/accounts?truncate=1")
        response = conn.getresponse()
        announced = int(response.getheader("Content-Length"))
        with pytest.raises(http.client.IncompleteRead) as info:
            response.read()
        assert len(info.value.partial) < announced
    finally:
        conn.close()
    # Through requests the body is unusable too...
    fresh.reset()
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(fresh.url + "/api/accounts?truncate=1", timeout=5).json()
    # ...and, with the default fail_times=1, the retry gets the whole page.
    response = requests.get(fresh.url + "/api/accounts?truncate=1", timeout=5)
    assert len(response.json()["records"]) == 50


def test_faults_come_after_authentication(srv):
    response = requests.get(srv.url + "/api/accounts?fail=429", timeout=5)
    assert response.status_code == 401


def test_stats_and_history(fresh):
    requests.post(fresh.token_url, data=REFRESH_FORM, timeout=5)
    requests.get(fresh.url + "/api/accounts?page=2", timeout=5)
    requests.get(fresh.url + "/api/accounts?page=3", timeout=5)
    assert fresh.stats.requests["/api/accounts"] == 2
    assert fresh.stats.requests["/services/oauth2/token"] == 1
    assert fresh.stats.tokens_issued == 1
    assert fresh.stats.total_requests == 3
    last = fresh.history[-1]
    assert (last.method, last.path, last.params, last.status) == ("GET", "/api/accounts", {"page": "3"}, 200)
    token_request = fresh.history[0]
    assert b"grant_type=refresh_token" in token_request.body


def test_quiet_by_default(capfd):
    with DemoServer(require_auth=False) as server:
        requests.get(server.url + "/api/accounts", timeout=5)
        requests.get(server.url + "/nothing", timeout=5)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_close_releases_the_port():
    server = DemoServer()
    port = server.port
    server.close()
    server.close()  # idempotent
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_basic_credentials_are_form_decoded(srv):
    # RFC 6749 §2.3.1: Basic user/password are form-urlencoded before base64.
    raw = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".replace("-", "%2D").encode()).decode()
    response = requests.post(srv.token_url, data={"grant_type": "client_credentials"},
                             headers={"Authorization": f"Basic {raw}"}, timeout=5)
    assert response.status_code == 200, response.text


# ---------------------------------------------------------------------------------------------------------------------
# Samples


SAMPLES = sorted(REPO.glob("samples/**/*.rsd")) + sorted(REPO.glob("bench/*.rsd"))
_BARE_AMP = re.compile(r"&(?!(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);)")


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_samples_parse_after_escaping_bare_ampersands(path):
    text = _BARE_AMP.sub("&amp;", path.read_text(encoding="utf-8"))
    root = etree.fromstring(text.encode("utf-8"))
    api = "http://apiscript.com/ns?v1"
    assert root.tag == f"{{{api}}}script"
    info = root.find(f"{{{api}}}info")
    assert info is not None and info.get("title") == path.stem
    columns = info.findall("attr")
    assert columns and all(c.get("{http://www.w3.org/2001/XMLSchema}type") for c in columns)
    assert all(c.get(f"{{{api}}}xPath") for c in columns)
    sets = {s.get("attr"): s.get("value") for s in root.iter(f"{{{api}}}set")}
    assert sets["URI"].startswith("[_connection.BaseURL]/")
    assert any(v.get("attr") == "_connection.BaseURL" for v in root.iter(f"{{{api}}}validate"))
    methods = [s.get("method") for s in root.findall(f"{{{api}}}script")]
    assert "GET" in methods


def test_there_is_a_sample_per_paging_style():
    names = {p.stem for p in REPO.glob("samples/demo/*.rsd")}
    assert names >= {"Accounts", "Contacts", "Events", "Orders", "Products", "Invoices", "Inventory"}


# ---------------------------------------------------------------------------------------------------------------------
# Benchmark server (bench/server.py is a script, not a package: load it by path)


def _load_bench():
    import importlib.util

    spec = importlib.util.spec_from_file_location("rsd_bench_server", REPO / "bench" / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_server_pages_and_keep_alive():
    bench = _load_bench()
    with bench.BenchServer(pages=3, per_page=7) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        try:
            sock, sizes = None, []
            for page in range(1, 5):
                conn.request("GET", f"/bench/records?page={page}")
                response = conn.getresponse()
                doc = json.loads(response.read())
                assert doc["page"] == page and doc["total_pages"] == 3
                sizes.append(len(doc["records"]))
                sock = sock or conn.sock
                assert conn.sock is sock  # one connection for every page
        finally:
            conn.close()
        assert sizes == [7, 7, 7, 0]
        assert srv.requests == 4
        record = json.loads(bench.render_page(1, 3, 7))["records"][0]
        assert len(record) == 8
        assert json.loads(bench.render_page(2, 3, 7)) == doc_page(srv, 2)


def doc_page(srv, page):
    return requests.get(f"{srv.url}/bench/records", params={"page": page}, timeout=5).json()


def test_bench_default_shape():
    bench = _load_bench()
    assert (bench.DEFAULT_PAGES, bench.DEFAULT_PER_PAGE) == (200, 1000)
    assert len(json.loads(bench.render_page(200))["records"]) == 1000


def test_latency_delays_api_responses_but_not_health():
    # a lower bound is exact (the server sleeps); the upper bound is far from it, so a starved machine cannot fail it
    with DemoServer(require_auth=False, latency=1.5) as server:
        started = time.perf_counter()
        requests.get(server.url + "/health", timeout=5)
        assert time.perf_counter() - started < 1.0
        started = time.perf_counter()
        requests.get(server.url + "/api/events", timeout=5)
        assert time.perf_counter() - started >= 1.5
