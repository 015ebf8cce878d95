"""The Spark data source (rsd.spark, issue #10) on a real local[2] Spark against the demo API.

One Spark session is shared by every test here (starting one takes tens of seconds on a 2-core machine). The JVM's
standard output and error, where Spark's driver and executor logs and the Python workers' errors go in local mode,
are sent to a file, so that a test can read the executor logs. Skipped, with the reason, where PySpark or Java is
missing; `.ci/run` installs both.

Planning and options are tested without Spark at the end (they need no JVM).
"""
from __future__ import annotations

import json
import os
import pickle
import secrets
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from rsd import api  # noqa: E402
from rsd.demo.server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DemoServer  # noqa: E402
from rsd.errors import OptionError, RunError  # noqa: E402
from rsd.spark.plan import PartitionSpec, SourceOptions, page_ranges, plan_partitions  # noqa: E402

from cli_support import assert_no_secret, rsd_process  # noqa: E402
from servers import serve  # noqa: E402

RECORDS = 2345  # accounts: 24 pages of 100, the last one short
PER_PAGE = 100
API_KEY = "sk-spark-" + secrets.token_hex(12)  # sent in every URL: must be redacted in errors and logs
ENV = {"RSD_DEMO_CLIENT_ID": DEMO_CLIENT_ID, "RSD_DEMO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
       "RSD_DEMO_REFRESH_TOKEN": DEMO_REFRESH_TOKEN, "RSD_SPARK_API_KEY": API_KEY}
SECRETS = [DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, API_KEY]

PROFILE = """<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Accounts" desc="accounts: declarative page numbers, a total count" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="Id" xs:type="string" key="true" other:xPath="/json/records/Id" />
    <attr name="Name" xs:type="string" other:xPath="/json/records/Name" />
    <attr name="Industry" xs:type="string" other:xPath="/json/records/Industry" />
    <attr name="AnnualRevenue" xs:type="double" other:xPath="/json/records/AnnualRevenue" />
    <attr name="NumberOfEmployees" xs:type="integer" other:xPath="/json/records/NumberOfEmployees" />
    <attr name="IsActive" xs:type="boolean" other:xPath="/json/records/IsActive" />
    <attr name="CreatedDate" xs:type="datetime" other:xPath="/json/records/CreatedDate" />
    <input name="Industry" desc="only the accounts of this industry" />
  </api:info>
  <api:set attr="URI" value="[_connection.BaseURL]/api/accounts" />
  <api:check attr="_input.Industry">
    <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?industry={Industry}" />
  </api:check>
  <api:set attr="JSONPath" value="$.records" />
  <api:set attr="EnablePaging" value="true" />
  <api:set attr="pagenumberparam" value="page;1" />
  <api:set attr="pagesizeparam" value="per_page" />
  <api:set attr="pagesize" value="100" />
  <api:set attr="totalcountpath" value="$.totalSize" />
  <api:script method="GET">
    <api:call op="jsonproviderGet"><api:push /></api:call>
  </api:script>
</api:script>
"""


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("spark") / "Accounts.rsd"
    path.write_text(PROFILE, encoding="utf-8")
    return str(path)


def oauth(srv) -> dict:
    return {"BaseURL": srv.url, "AuthScheme": "OAuth", "OAuthGrantType": "REFRESH",
            "OAuthAccessTokenURL": srv.token_url, "OAuthClientId": "${env:RSD_DEMO_CLIENT_ID}",
            "OAuthClientSecret": "${env:RSD_DEMO_CLIENT_SECRET}", "OAuthRefreshToken": "${env:RSD_DEMO_REFRESH_TOKEN}"}


# -- one Spark session for the module ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install 'rsd-profiles[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime (Spark 4 needs Java 17+; .ci/run installs openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    from rsd.spark import RsdDataSource

    # The executors' Python workers are started by the JVM, with the JVM's environment: what they read through
    # ${env:...} must be in it when the session starts, and they must run this interpreter.
    for k, v in {**ENV, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}.items():
        os.environ[k] = v
    log = tmp_path_factory.mktemp("spark-logs") / "jvm.log"
    saved = os.dup(1), os.dup(2)
    with open(log, "wb") as f:  # the JVM inherits stdout and stderr: both go to the log file
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            session = (SparkSession.builder.master("local[2]").appName("rsd-tests")
                       .config("spark.ui.enabled", "false")
                       .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.sql.shuffle.partitions", "2")
                       .config("spark.sql.session.timeZone", "UTC")
                       .getOrCreate())
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    session.dataSource.register(RsdDataSource)
    session.rsd_log = log
    yield session
    session.stop()


def read(spark, profile, **options):
    reader = spark.read.format("rsd").option("profile", profile)
    for k, v in options.items():
        reader = reader.option(k, v)
    return reader.load()


def rows_of(table) -> list[tuple]:
    return [tuple(r.values()) for r in table.to_pylist()]


def local_rows(profile, tmp_path, *args) -> list[tuple]:
    """`rsd run` of the same profile, as a Parquet file read back with pyarrow."""
    out = tmp_path / f"local-{len(list(tmp_path.iterdir()))}.parquet"
    p = rsd_process("run", profile, *args, "--output", out, "-q")
    assert p.returncode == 0, p.stderr
    return rows_of(pq.read_table(out))


def tasks_run(spark, group: str) -> int:
    tracker = spark.sparkContext.statusTracker()
    return sum(tracker.getStageInfo(s).numCompletedTasks
               for j in tracker.getJobIdsForGroup(group) for s in tracker.getJobInfo(j).stageIds)


def pages_requested(srv) -> Counter:
    return Counter(int(r.params.get("page", "1")) for r in srv.history if r.path == "/api/accounts")


# -- Done when ------------------------------------------------------------------------------------------------------
@pytest.mark.slow  # a real local[2] Spark
def test_page_partitions_return_exactly_the_rows_of_rsd_run_and_four_partitions_ran(spark, profile, tmp_path):
    with DemoServer(require_auth=False, records={"accounts": RECORDS}) as srv:
        want = local_rows(profile, tmp_path, "-o", f"BaseURL={srv.url}")
        srv.history.clear()
        df = read(spark, profile, BaseURL=srv.url, pagePartitions="4")
        assert [f.name for f in df.schema.fields] == ["Id", "Name", "Industry", "AnnualRevenue",
                                                      "NumberOfEmployees", "IsActive", "CreatedDate"]
        assert [f.dataType.simpleString() for f in df.schema.fields] == [
            "string", "string", "string", "double", "bigint", "boolean", "timestamp"]
        spark.sparkContext.setJobGroup("page-partitions-4", "pagePartitions=4")
        got = rows_of(df.toArrow())
        spark.sparkContext.setJobGroup("", "")
        pages = pages_requested(srv)
    assert len(want) == RECORDS
    assert len(got) == len(want) and Counter(got) == Counter(want)  # counts, and sets with multiplicity
    assert set(got) == set(want)
    assert df.rdd.getNumPartitions() == 4
    assert tasks_run(spark, "page-partitions-4") == 4  # four tasks really ran
    # 24 pages, each read once by its partition (page 1 also by the probe that learnt the total): 6 pages each
    assert pages == Counter({1: 2, **{p: 1 for p in range(2, 25)}})


@pytest.mark.slow  # a real local[2] Spark
def test_offset_page_partitions_return_exactly_the_rows_of_rsd_run(spark, tmp_path):
    with DemoServer(require_auth=False, records={"contacts": 530}) as srv:  # 22 pages of 25, the last short
        want = local_rows(CONTACTS, tmp_path, "-o", f"BaseURL={srv.url}")
        srv.history.clear()
        df = read(spark, CONTACTS, BaseURL=srv.url, pagePartitions="3")
        spark.sparkContext.setJobGroup("offset-partitions-3", "pagePartitions=3 over offsets")
        got = rows_of(df.toArrow())
        spark.sparkContext.setJobGroup("", "")
        offsets = Counter(int(r.params["offset"]) for r in srv.history if r.path == "/api/contacts")
    assert len(want) == 530 and Counter(got) == Counter(want)
    assert df.rdd.getNumPartitions() == 3 and tasks_run(spark, "offset-partitions-3") == 3
    # every offset read once by its partition (offset 0 also by the probe that learnt the total)
    assert offsets == Counter({0: 2, **{25 * k: 1 for k in range(1, 22)}})


@pytest.mark.slow  # a real local[2] Spark
def test_partition_by_five_values_equals_five_local_runs(spark, profile, tmp_path):
    industries = ["Technology", "Manufacturing", "Retail", "Finance", "Energy"]
    with DemoServer(require_auth=False, records={"accounts": RECORDS}) as srv:
        want = []
        for industry in industries:
            want += local_rows(profile, tmp_path, "-o", f"BaseURL={srv.url}", "-i", f"Industry={industry}")
        df = read(spark, profile, BaseURL=srv.url, partitionBy="Industry", partitionValues=",".join(industries))
        spark.sparkContext.setJobGroup("partition-by", "partitionBy")
        got = rows_of(df.toArrow())
        spark.sparkContext.setJobGroup("", "")
    assert df.rdd.getNumPartitions() == 5 and tasks_run(spark, "partition-by") == 5
    assert Counter(got) == Counter(want) and len(got) == len(want)
    assert {r[2] for r in got} == set(industries)
    assert 0 < len(got) < RECORDS


@pytest.mark.slow  # a real local[2] Spark
def test_partition_by_values_and_page_partitions_at_once(spark, profile, tmp_path):
    industries = ["Technology", "Retail"]
    with DemoServer(require_auth=False, records={"accounts": RECORDS}) as srv:
        want = []
        for industry in industries:
            want += local_rows(profile, tmp_path, "-o", f"BaseURL={srv.url}", "-i", f"Industry={industry}")
        df = read(spark, profile, BaseURL=srv.url, partitionBy="Industry", partitionValues=",".join(industries),
                  pagePartitions="2")
        spark.sparkContext.setJobGroup("by-value-and-pages", "partitionBy and pagePartitions")
        got = rows_of(df.toArrow())
        spark.sparkContext.setJobGroup("", "")
    assert df.rdd.getNumPartitions() == 4 and tasks_run(spark, "by-value-and-pages") == 4  # 2 values x 2 ranges
    assert Counter(got) == Counter(want) and len(got) == len(want) > 2 * PER_PAGE  # more than a page a value
    assert {r[2] for r in got} == set(industries)


@pytest.mark.slow  # a real local[2] Spark
def test_a_partition_whose_token_expires_mid_read_refreshes_and_finishes(spark, profile, tmp_path):
    # tokens live 1 s and every response takes 0.1 s: each partition reads 12 pages one at a time (MaxConcurrency=1:
    # > 1.2 s), so each needs a new token mid-read (rsd refreshes at half the lifetime of so short a token)
    with DemoServer(records={"accounts": RECORDS}, token_lifetime=60.0) as srv:
        want = local_rows(profile, tmp_path, *[a for k, v in oauth(srv).items() for a in ("-o", f"{k}={v}")])
        srv.token_lifetime, srv.latency = 1.0, 0.1
        before = srv.stats.tokens_issued
        df = read(spark, profile, pagePartitions="2", MaxConcurrency="1", **oauth(srv))
        got = rows_of(df.toArrow())
        issued = srv.stats.tokens_issued - before
    assert Counter(got) == Counter(want) and len(got) == RECORDS
    # one token for the probe and one per partition at the start; the rest are refreshes mid-read
    assert issued >= 3 + 2, issued
    assert srv.stats.token_errors == 0


@pytest.mark.slow  # a real local[2] Spark
def test_a_partition_that_gets_a_500_fails_its_task_with_no_secret_in_the_error_or_the_logs(spark, profile):
    with DemoServer(records={"accounts": RECORDS}, token_lifetime=60.0) as srv:
        opts = {**oauth(srv), "CustomUrlParams": "fail_page=20&api_key=${env:RSD_SPARK_API_KEY}"}
        df = read(spark, profile, pagePartitions="4", **opts)
        with pytest.raises(Exception) as failure:
            df.toArrow()
        assert srv.stats.faults["fail_page"] >= 1
    text = str(failure.value)
    assert "PartitionError: rsd " in text and "partition 4 of 4" in text, text[-3000:]
    assert "HTTP 500" in text and "injected failure on page 20" in text, text[-3000:]
    assert "api_key=***" in text
    assert_no_secret(text, SECRETS, "the Spark error")
    logs = Path(spark.rsd_log).read_text(encoding="utf-8", errors="replace")
    assert "PartitionError" in logs  # the executor logged the failed task...
    assert_no_secret(logs, SECRETS, "the Spark driver and executor logs")  # ...without a secret


@pytest.mark.slow  # a real local[2] Spark
def test_the_plan_spark_ships_holds_no_resolved_secret(spark, profile):
    from pyspark import cloudpickle

    from rsd.spark import RsdDataSource

    with DemoServer(records={"accounts": RECORDS}, token_lifetime=60.0) as srv:
        options = {"profile": profile, "pagePartitions": "3", **oauth(srv),
                   "CustomUrlParams": "api_key=${env:RSD_SPARK_API_KEY}"}
        source = RsdDataSource(options)
        reader = source.reader(source.schema())
        parts = reader.partitions()  # the probe resolves the credentials here, and keeps none of them
    shipped = cloudpickle.dumps((reader, parts))
    assert len(parts) == 3
    for secret in SECRETS:
        assert secret.encode() not in shipped
    assert b"00DDEMO!" not in shipped  # no access token either
    assert b"${env:RSD_SPARK_API_KEY}" in shipped  # the reference travels, resolved on each executor


@pytest.mark.slow  # a real local[2] Spark
def test_profile_text_option_and_one_partition_without_addressable_paging(spark, tmp_path):
    accounts = Path(__file__).resolve().parent.parent / "samples" / "demo" / "Accounts.rsd"  # rows@next paging
    with DemoServer(require_auth=False) as srv:
        df = (spark.read.format("rsd").option("profileText", accounts.read_text()).option("BaseURL", srv.url)
              .option("pagePartitions", "4").load())
        got = rows_of(df.toArrow())
        want = local_rows(str(accounts), tmp_path, "-o", f"BaseURL={srv.url}")
    assert df.rdd.getNumPartitions() == 1
    assert Counter(got) == Counter(want) and len(got) == 237


@pytest.mark.slow  # a real local[2] Spark
def test_bad_options_fail_with_rsds_message(spark, profile):
    with pytest.raises(Exception) as failure:
        read(spark, profile, BaseURL="http://127.0.0.1:9", pagePartitions="zero").schema  # noqa: B018
    assert "pagePartitions='zero': give a whole number of at least 1" in str(failure.value)


# -- planning, without Spark -----------------------------------------------------------------------------------------
def test_options_split_into_inputs_connection_options_and_the_plan(profile):
    source = SourceOptions.parse({"profile": profile, "BaseURL": "http://x", "input.Industry": "Energy",
                                  "OAuthClientSecret": "${env:S}", "pagePartitions": "8"})
    assert source.profile_text == PROFILE and source.profile_name == profile
    assert source.inputs == (("Industry", "Energy"),)
    assert source.connection == (("BaseURL", "http://x"), ("OAuthClientSecret", "${env:S}"))
    assert source.page_partitions == 8 and source.partition_by is None


@pytest.mark.parametrize("options, message", [
    ({}, "the rsd data source needs a profile"),
    ({"profile": "a.rsd", "profileText": "<x/>"}, "both profile and profileText are set"),
    ({"profileText": "<x/>", "partitionBy": "X"}, "partitionBy='X' needs partitionValues"),
    ({"profileText": "<x/>", "partitionValues": "a,b"}, "partitionValues is set but partitionBy is not"),
    ({"profileText": "<x/>", "pagePartitions": "0"}, "pagePartitions='0': give a whole number of at least 1"),
    ({"profile": "/nonexistent/P.rsd"}, "profile /nonexistent/P.rsd: No such file or directory"),
])
def test_bad_options_are_invalid_input(options, message):
    with pytest.raises(OptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SourceOptions.parse(options)


def test_page_ranges_cover_every_page_once_and_the_last_is_open_ended():
    assert page_ranges(24, 100, 4) == [(0, 0, 6), (6, 600, 6), (12, 1200, 6), (18, 1800, None)]
    assert page_ranges(10, 50, 3) == [(0, 0, 4), (4, 200, 3), (7, 350, None)]
    assert page_ranges(2, 10, 8) == [(0, 0, 1), (1, 10, None)]  # never more partitions than pages
    assert page_ranges(0, 0, 4) == [(0, 0, None)]


def test_plans_by_value_by_page_range_or_one_partition(profile):
    base = {"profile": profile}
    by_value = plan_partitions(SourceOptions.parse({**base, "partitionBy": "Industry", "partitionValues": "A, B"}))
    assert [p.inputs for p in by_value.partitions] == [(("Industry", "A"),), (("Industry", "B"),)]
    assert plan_partitions(SourceOptions.parse(base)).partitions == [PartitionSpec(0, 1)]

    class Hints:
        seen_total_pages, seen_total_count = None, 2345

    class Pager:
        rangeable, pages, rows, hints = True, 1, 100, Hints()

        def describe(self):
            return "page number"

    plan = plan_partitions(SourceOptions.parse({**base, "pagePartitions": "4"}), lambda s: Pager())
    assert [p.window for p in plan.partitions] == page_ranges(24, 100, 4)
    Pager.rangeable = False
    plan = plan_partitions(SourceOptions.parse({**base, "pagePartitions": "4"}), lambda s: Pager())
    assert len(plan.partitions) == 1 and "pagenumberparam or pageoffsetparam" in plan.note
    Pager.rangeable, Hints.seen_total_count = True, None
    plan = plan_partitions(SourceOptions.parse({**base, "pagePartitions": "4"}), lambda s: Pager())
    assert len(plan.partitions) == 1 and "announced no total" in plan.note

    # by value and by pages at once: one probe a value, with that value as its input; its own total
    probed = []

    def probe(source):
        probed.append(source.inputs)
        hints = Hints()
        hints.seen_total_count = 250 if ("Industry", "A") in source.inputs else 100
        pager = Pager()
        pager.hints = hints
        return pager

    both = plan_partitions(SourceOptions.parse({**base, "partitionBy": "Industry", "partitionValues": "A, B",
                                                "pagePartitions": "2"}), probe)
    assert probed == [(("Industry", "A"),), (("Industry", "B"),)]
    assert [(p.inputs, p.window) for p in both.partitions] == [
        ((("Industry", "A"),), (0, 0, 2)), ((("Industry", "A"),), (2, 200, None)),  # 3 pages of 100
        ((("Industry", "B"),), (0, 0, None)),  # one page: one range
    ]
    assert [p.count for p in both.partitions] == [3, 3, 3] and [p.index for p in both.partitions] == [0, 1, 2]


def test_a_page_window_reads_exactly_its_pages(profile):
    """The runner's hook, without Spark: pages 7-12 of 24, and the open-ended last range."""
    from rsd.engine.runner import Runner

    with DemoServer(require_auth=False, records={"accounts": RECORDS}) as srv:
        def window_rows(window):
            opts = api.resolve_options(options=[("BaseURL", srv.url)])
            client = api.make_client(opts, api.new_redactor())
            runner = Runner(api.load(profile), connection=list(opts.items()), inputs={}, http=client,
                            redactor=api.new_redactor())
            runner.state.page_window = window
            rows: list = []
            summary = runner.run(rows.extend)
            client.close()
            return rows, summary

        middle, s1 = window_rows((6, 600, 6))
        last, s2 = window_rows((18, 1800, None))
        everything = srv.data["accounts"]
    assert [r[0] for r in middle] == [a["Id"] for a in everything[600:1200]]
    assert s1.pages == 6 and s1.stop_reason == "the partition's page range ended"
    assert [r[0] for r in last] == [a["Id"] for a in everything[1800:]]
    assert s2.pages == 6 and s2.stop_reason == "rows received reached the total count"
    assert pickle.loads(pickle.dumps(PartitionSpec(1, 4, window=(6, 600, 6)))).window == (6, 600, 6)


def _window_rows(profile, base_url, window):
    from rsd.engine.runner import Runner

    opts = api.resolve_options(options=[("BaseURL", base_url)])
    client = api.make_client(opts, api.new_redactor())
    try:
        runner = Runner(api.load(profile), connection=list(opts.items()), inputs={}, http=client,
                        redactor=api.new_redactor())
        runner.state.page_window = window
        rows: list = []
        summary = runner.run(rows.extend)
    finally:
        client.close()
    return rows, summary


CONTACTS = str(Path(__file__).resolve().parent.parent / "samples" / "demo" / "Contacts.rsd")


def test_an_offset_window_reads_exactly_its_rows():
    """Contacts.rsd (offset=0, 25, 50 ... limit=25, a total): pages 3-5 are offsets 50-124; the last range is open."""
    with DemoServer(require_auth=False, records={"contacts": 230}) as srv:
        middle, s1 = _window_rows(CONTACTS, srv.url, (2, 50, 3))
        last, s2 = _window_rows(CONTACTS, srv.url, (8, 200, None))
        everything = srv.data["contacts"]
        offsets = [int(r.params["offset"]) for r in srv.history if r.path == "/api/contacts"]
    assert [r[0] for r in middle] == [c["id"] for c in everything[50:125]]
    assert s1.pages == 3 and s1.stop_reason == "the partition's page range ended"
    assert [r[0] for r in last] == [c["id"] for c in everything[200:]]
    assert s2.stop_reason == "rows received reached the total count"
    assert sorted(offsets) == [50, 75, 100, 200, 225]  # nothing before its range, nothing read twice


class ShortPage:
    """100 items by offset and limit; the page at offset 30 holds one item less than asked (a filtered page)."""

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        args = Request(environ).args
        offset, limit = int(args.get("offset", 0)), int(args.get("limit", 10))
        items = [{"id": i} for i in range(offset, min(offset + limit, 100))]
        if offset == 30:
            items = items[:-1]
        doc = {"total": 100, "data": items}
        return Response(json.dumps(doc), content_type="application/json")(environ, start_response)


def test_an_offset_range_whose_pages_are_not_all_full_fails_instead_of_skipping_rows(tmp_path):
    profile = tmp_path / "Short.rsd"
    profile.write_text(Path(CONTACTS).read_text().replace('value="25"', 'value="10"'))
    with serve(ShortPage()) as url:
        fine, _ = _window_rows(str(profile), url, (5, 50, 2))  # offsets 50, 60: full pages
        with pytest.raises(RunError) as e:
            _window_rows(str(profile), url, (2, 20, 3))  # offsets 20, 30 (9 items), 39: item 39 would be read twice
    assert [r[0] for r in fine] == list(range(50, 70))
    assert "the 3 pages from offset 20 held 29 rows, not 3 x 10: pages of this API are not all full" in str(e.value)
    assert e.value.hint == "read it in one partition (pagePartitions=1), or by partitionBy"


def test_a_partition_that_cannot_start_fails_with_one_redacted_paragraph(profile, monkeypatch):
    """Without Spark: the executor side alone. An unresolvable reference is rsd's exit-2 message, naming the
    reference and not a value, with no chained exception."""
    from rsd.spark.partition import PartitionError, read_partition

    monkeypatch.delenv("RSD_SPARK_UNSET", raising=False)
    source = SourceOptions.parse({"profile": profile, "BaseURL": "http://127.0.0.1:9",
                                  "CustomHeaders": "X-Key: ${env:RSD_SPARK_UNSET}"})
    with pytest.raises(PartitionError) as failure:
        next(read_partition(source, PartitionSpec(1, 3)))
    text = str(failure.value)
    assert text.startswith(f"rsd {profile}, partition 2 of 3: ") and "RSD_SPARK_UNSET" in text
    assert "\n" not in text
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
