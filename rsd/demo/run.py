"""`rsd demo`: the whole workflow of the originating document, on this machine only.

Owns: starting the bundled demo API on 127.0.0.1 (a free port), running the sample job (a token step,
then two query steps into SQLite), running every sample profile with OAuth 2 obtained at run time
(short-lived tokens, so they are refreshed mid-run), an incremental load run twice while the API's records change,
write-back (an insert, an update and a delete through samples/demo/Tasks.rsd), and printing the loaded tables and
summaries.
Must not: reach anything outside the machine, or hold a secret in a file: the demo credentials are put
in this process's environment and referenced as `${env:...}`, as a user would.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
from importlib import resources
from pathlib import Path

from .. import api
from ..errors import EXIT_OK
from ..http.redact import Redactor
from .server import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, DemoServer

# profile file -> table; the order is the order of the demo
PROFILES = (
    ("Accounts.rsd", "accounts"),
    ("Contacts.rsd", "contacts"),
    ("Events.rsd", "events"),
    ("Orders.rsd", "order_lines"),
    ("Products.rsd", "products"),
    ("Invoices.rsd", "invoices"),
    ("Inventory.rsd", "inventory"),
)
#: loaded twice into contacts_daily, incrementally (the API changes records in between)
INCREMENTAL_PROFILE = "ContactsIncremental.rsd"


#: the write-back part: the profile and the rows `rsd insert` sends (a quoted comma, non-ASCII text, empty fields)
WRITE_PROFILE = "Tasks.rsd"
NEW_TASKS = ('title,notes,priority,done\n'
             '"Order ""spare"" parts, urgently",Call Jürgen first,2,false\n'
             'Renew the TLS certificate,,1,\n'
             'Tidy the wiki,nice to have,,false\n')


def samples_dir() -> Path:
    """`samples/demo`, package data of `rsd` read with importlib.resources: `rsd/samples/` in a wheel; in a
    checkout `rsd/samples` is a link to the top-level `samples/` folder."""
    return Path(str(resources.files("rsd").joinpath("samples", "demo")))


def oauth_options(srv: DemoServer) -> list[tuple[str, str]]:
    return [
        ("BaseURL", srv.url),
        ("AuthScheme", "OAuth"),
        ("OAuthGrantType", "REFRESH"),
        ("OAuthAccessTokenURL", srv.token_url),
        ("OAuthClientId", "${env:RSD_DEMO_CLIENT_ID}"),
        ("OAuthClientSecret", "${env:RSD_DEMO_CLIENT_SECRET}"),
        ("OAuthRefreshToken", "${env:RSD_DEMO_REFRESH_TOKEN}"),
    ]


def run_demo(args: argparse.Namespace, redactor: Redactor) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..present import print_job_table, print_summary
    from ..jobs import JobRunner, load_job

    err = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    samples = samples_dir()
    workdir = Path(tempfile.mkdtemp(prefix="rsd-demo-"))
    db = Path(args.db).resolve() if args.db else workdir / "demo.db"
    # the demo's credentials go where a user's would: the environment, referenced as ${env:...}
    os.environ.setdefault("RSD_DEMO_CLIENT_ID", DEMO_CLIENT_ID)
    os.environ.setdefault("RSD_DEMO_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    os.environ.setdefault("RSD_DEMO_REFRESH_TOKEN", DEMO_REFRESH_TOKEN)
    # the job's token step fetches one token for the whole job (as the originating document's Python
    # step does), so it must outlive the job; the profiles of part 2 get short-lived tokens and a little
    # latency per request, so that they outlive their tokens as an hourly job outlives real ones
    with DemoServer(token_lifetime=60.0) as srv:
        err.print(f"[bold]demo API[/] on {srv.url}")
        err.print(f"[bold]1. the orchestration job[/] {samples / 'job.toml'}: token step, then two query steps")
        job = load_job(str(samples / "job.toml"))
        runner = JobRunner(job, redactor=redactor, variables={"token_url": srv.token_url, "demo_db": str(db)},
                           report=lambda r: None)
        runner.run()
        print_job_table(runner.results)

        srv.token_lifetime, srv.latency = args.token_lifetime, 0.1
        err.print(f"\n[bold]2. every sample profile[/], OAuth 2 refresh-token grant at run time, tokens living "
                  f"{args.token_lifetime:g} s -> {db}")
        for name, table in PROFILES:
            summary = api.run(str(samples / name), options=oauth_options(srv), output=f"sqlite:///{db}",
                              table=table, mode="replace", redactor=redactor, base_dir=str(workdir))
            print_summary(summary)

        err.print(f"\n[bold]3. an incremental load[/], run twice: {INCREMENTAL_PROFILE} with --incremental updated_at "
                  f"--since-input updated_since; between the runs the API changes 8 contacts and adds 3")
        incremental = api.Incremental("updated_at", "updated_since")
        for round_ in (1, 2):
            if round_ == 2:
                srv.touch("contacts", range(0, 40, 5), score=100.0)
                srv.add("contacts", 3)
            summary = api.run(str(samples / INCREMENTAL_PROFILE), options=oauth_options(srv),
                              output=f"sqlite:///{db}", table="contacts_daily", redactor=redactor,
                              base_dir=str(workdir), incremental=incremental)
            print_summary(summary)
        err.print(f"\n[bold]4. write-back[/] through {WRITE_PROFILE}: rsd insert (its POST script, once per row of "
                  f"a CSV file), rsd update (MERGE: PATCH /api/tasks/{{id}}), rsd delete (DELETE), then rsd run reads "
                  f"the tasks back")
        new_tasks = workdir / "new_tasks.csv"
        new_tasks.write_text(NEW_TASKS, encoding="utf-8")
        profile = str(samples / WRITE_PROFILE)
        for method, rows, source, target in (("POST", None, str(new_tasks), "tasks_created"),
                                             ("MERGE", [{"id": "7", "done": "true", "priority": "1"}], None, None),
                                             ("DELETE", [{"id": "8"}], None, None)):
            written = api.write(profile, method=method, rows=rows, from_file=source, options=oauth_options(srv),
                                output=f"sqlite:///{db}" if target else None, table=target, mode="replace",
                                fmt=None if target else "jsonl", redactor=redactor, base_dir=str(workdir))
            print_summary(written)
        print_summary(api.run(profile, options=oauth_options(srv), output=f"sqlite:///{db}", table="tasks",
                              mode="replace", redactor=redactor, base_dir=str(workdir)))
    err.print(f"\n[bold]5. what was loaded[/] ({db})")
    con = sqlite3.connect(db)
    try:
        for table in [t for _, t in PROFILES] + ["contacts_daily", "tasks_created", "tasks"]:
            cur = con.execute(f'SELECT * FROM "{table}" LIMIT 5')
            cols = [d[0] for d in cur.description]
            count = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            t = Table(title=f"{table}: {count:,} rows (first 5)", title_justify="left")
            for c in cols[:7]:
                t.add_column(c, overflow="ellipsis", max_width=24)
            for row in cur.fetchall():
                t.add_row(*["" if v is None else str(v) for v in row[:7]])
            out.print(t)
    finally:
        con.close()
    err.print(f"\nSQLite database: {db}\nTry: rsd check {samples}  |  rsd plan {samples / 'Accounts.rsd'} "
              f"-o BaseURL=http://127.0.0.1:8765")
    return EXIT_OK
