"""Helpers shared by test_jobs.py and test_loading.py: small profiles against the demo API's accounts, the rows a
load must produce (computed from the demo server's own data), and the `_rsd_runs` and table rows of a database
backend (sink_helpers.backends). The CLI as a subprocess: cli_support.rsd_process and rsd_popen."""
from __future__ import annotations

from pathlib import Path


# Columns of the accounts endpoint: name -> (xs:type, JSON field)
ACCOUNT_COLUMNS = {
    "Id": ("string", "Id"),
    "Name": ("string", "Name"),
    "NumberOfEmployees": ("integer", "NumberOfEmployees"),
    "AnnualRevenue": ("double", "AnnualRevenue"),
    "IsActive": ("boolean", "IsActive"),
    "Industry": ("string", "Industry"),
}

PROFILE = """<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="{title}" desc="test profile over the demo accounts" xmlns:other="http://apiscript.com/ns?v1">
{attrs}
    <input name="rows@next" desc="next page" />
  </api:info>
  <api:set attr="DataModel" value="DOCUMENT" />
  <api:set attr="JSONPath" value="$.records" />
  <api:set attr="EnablePaging" value="true" />
  <api:set attr="page" value="[_input.rows@next | def('1')]" />
  <api:set attr="URI" value="[_connection.BaseURL]/api/accounts?page=[page]&amp;per_page=[_connection.PerPage | def('20')]" />
  <api:script method="GET">
    <api:call op="jsonproviderGet">
      <api:set attr="rows@next" value="[page | add(1)]" />
      <api:push />
    </api:call>
  </api:script>
</api:script>
"""


def write_profile(path: Path, columns=("Id", "Name", "NumberOfEmployees"), *, key=("Id",), title="Items",
                  types=None) -> Path:
    """A profile over /api/accounts with the given columns; `key` columns get key="true"; `types` overrides
    xs:type per column."""
    attrs = []
    for name in columns:
        xs, field = ACCOUNT_COLUMNS[name]
        xs = (types or {}).get(name, xs)
        k = ' key="true"' if name in key else ""
        attrs.append(f'    <attr name="{name}" xs:type="{xs}"{k} other:xPath="/json/records/{field}" />')
    path.write_text(PROFILE.format(title=title, attrs="\n".join(attrs)), encoding="utf-8")
    return path


def expected_rows(srv, columns=("Id", "Name", "NumberOfEmployees")):
    """The rows a load of `columns` must give, from the server's data, ordered by Id."""
    rows = [tuple(a[ACCOUNT_COLUMNS[c][1]] for c in columns) for a in srv.data["accounts"]]
    return sorted(rows, key=lambda r: r[0])


def runs(db):
    """`_rsd_runs` rows as (job, step, target_table, rows, pages, requests, status, error), in insertion order."""
    return [tuple(r) for r in db.query(
        'SELECT job, step, target_table, "rows", pages, requests, status, error FROM "_rsd_runs" ORDER BY id')]


def table_rows(db, table, columns=("Id", "Name", "NumberOfEmployees")):
    cols = ", ".join(f'"{c}"' for c in columns)
    return [tuple(r) for r in db.query(f'SELECT {cols} FROM "{table}" ORDER BY "Id"')]
