"""Helpers for tests that run `rsd` against real servers on 127.0.0.1.

`rsd(*args, env=..., cwd=...)` runs the command line in this process, as click's `CliRunner` does: `rsd.cli.main`
with stdout and stderr captured, stdin empty, `env` over this environment without `RSD_*`/`PYTEST_*` (and
`COLUMNS=200`), in `cwd`; it returns a `Result` (exit code, stdout, stderr, and the text of every file the run
wrote under `cwd`). From a thread other than the main one (tests that run several commands at once) it starts
`python -m rsd` instead, with the same environment, since the process's streams, environment and folder cannot be
shared. `rsd_process(*args, cwd=...)` runs it in this process too, in this environment, and returns a
`subprocess.CompletedProcess`; `rsd_subprocess` and `rsd_popen` start a real process (for signals, kills and a
fresh interpreter: mark those tests `slow`); `with_checkout(env)` puts this checkout on PYTHONPATH (any
subprocess importing rsd).
`secret_forms(s)` are the spellings a secret may leak in (as is, URL-encoded, base64, JSON-escaped);
`assert_no_secret` checks a text for all of them. The profile texts are written for these tests.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional
from urllib.parse import quote, quote_plus

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
ACCOUNTS = str(SAMPLES / "demo" / "Accounts.rsd")
IN_PROFILE = str(SAMPLES / "oauth" / "InProfileToken.rsd")
CLI = (sys.executable, "-m", "rsd")

#: every access token the demo server issues starts with this
DEMO_TOKEN_PREFIX = "00DDEMO!"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    files: dict = field(default_factory=dict)  # path -> text of every output file

    def everything(self) -> str:
        return "\n".join([self.stdout, self.stderr, *self.files.values()])


def with_checkout(env: Mapping[str, str]) -> dict:
    """`env` with this checkout first on PYTHONPATH, so a subprocess imports rsd without an install."""
    e = dict(env)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *([e["PYTHONPATH"]] if e.get("PYTHONPATH") else [])])
    return e


def _clean_env(env: Optional[Mapping[str, str]]) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("RSD_", "PYTEST_"))}
    e.update(env or {})
    e["COLUMNS"] = "200"
    return e


@contextlib.contextmanager
def _environment(env: Mapping[str, str]):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _Stream(io.StringIO):
    """A captured standard stream: named as the real one (messages name `stdout`), never a terminal."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name


def _main_in_process(args, cwd=None, env: Optional[Mapping[str, str]] = None) -> tuple[int, str, str]:
    """`rsd ARGS` through `rsd.cli.main` in this process -> (exit code, stdout, stderr)."""
    from rsd.cli import main

    out, err = _Stream("<stdout>"), _Stream("<stderr>")
    previous = os.getcwd()
    stdin = sys.stdin
    with contextlib.ExitStack() as stack:
        if env is not None:
            stack.enter_context(_environment(env))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        sys.stdin = io.StringIO("")
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse errors, --version, --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        finally:
            sys.stdin = stdin
            os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


def rsd_process(*args, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`rsd ARGS` in this process and its environment, in `cwd` (default: the checkout) -> CompletedProcess."""
    code, stdout, stderr = _main_in_process(args, cwd=cwd or ROOT)
    return subprocess.CompletedProcess([*CLI, *map(str, args)], code, stdout, stderr)


def rsd_subprocess(*args, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`rsd ARGS` as a new process in this process's environment, in `cwd` (default: the checkout)."""
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT,
                          env=with_checkout(os.environ), timeout=timeout)


def rsd_popen(*args, cwd=None) -> subprocess.Popen:
    """`rsd ARGS` started in this process's environment, stdout and stderr piped (text)."""
    return subprocess.Popen([*CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd or ROOT, env=with_checkout(os.environ))


def rsd(*args: str, env: Optional[dict] = None, cwd: Optional[os.PathLike] = None, timeout: float = 60,
        fresh: bool = False) -> Result:
    """`rsd ARGS` in this process (`fresh=True`: a new interpreter, e.g. for a stub module on `PYTHONPATH`)."""
    e = _clean_env(env)
    before = _snapshot(cwd) if cwd else {}
    if threading.current_thread() is threading.main_thread() and not fresh:
        code, stdout, stderr = _main_in_process(args, cwd=cwd, env=e)
    else:
        done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=with_checkout(e),
                              cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    files = {}
    if cwd:
        for p, stamp in _snapshot(cwd).items():
            if before.get(p) != stamp:  # written by the run
                files[str(p)] = read_any(p)
    return Result(code, stdout, stderr, files)


def _snapshot(folder) -> dict:
    out = {}
    for p in Path(folder).rglob("*"):
        if p.is_file():
            st = p.stat()
            out[p] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out


def read_any(path: Path) -> str:
    """A file's text; a SQLite database as the dump of all its rows (so secrets in values are seen)."""
    data = path.read_bytes()
    if data.startswith(b"SQLite format 3"):
        con = sqlite3.connect(path)
        try:
            return "\n".join(con.iterdump())
        finally:
            con.close()
    return data.decode("utf-8", errors="replace")


def secret_forms(secret: str) -> set[str]:
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret),
             base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
             json.dumps(secret)[1:-1]}
    return {f for f in forms if len(f) >= 4}


def basic_form(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def assert_no_secret(text: str, secrets: Iterable[str], where: str = "output") -> None:
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        for form in secret_forms(secret):
            assert form not in text, f"secret {secret[:3]}... leaked in {where} (as {form[:6]}...):\n{text[:3000]}"
    assert DEMO_TOKEN_PREFIX not in text and quote(DEMO_TOKEN_PREFIX, safe="") not in text, \
        f"a demo access token leaked in {where}:\n{text[:3000]}"


def summary_count(stderr: str, what: str = "row") -> int:
    m = re.search(r"([\d,]+) " + what + r"s? from", stderr)
    assert m, stderr
    return int(m.group(1).replace(",", ""))


def token_count(stderr: str) -> int:
    m = re.search(r"access token obtained ([\d,]+) time", stderr)
    return int(m.group(1).replace(",", "")) if m else 0


def demo_oauth(srv, **extra) -> list[str]:
    """`-o` options for the demo API with the originating document's OAuth settings, every secret a reference
    (`${env:CLIENT_ID}`, `${env:CLIENT_SECRET}`, `${env:REFRESH_TOKEN}`); `extra` overrides, None removes."""
    opts = {"BaseURL": srv.url, "AuthScheme": "OAuth", "OAuthGrantType": "REFRESH",
            "OAuthAccessTokenURL": srv.token_url, "OAuthClientId": "${env:CLIENT_ID}",
            "OAuthClientSecret": "${env:CLIENT_SECRET}", "OAuthRefreshToken": "${env:REFRESH_TOKEN}"}
    opts.update(extra)
    return [a for k, v in opts.items() if v is not None for a in ("-o", f"{k}={v}")]


def in_profile(srv) -> list[str]:
    """`-o` options for the in-profile token sample (IN_PROFILE) against the demo server, secrets as references."""
    return ["-o", f"BaseURL={srv.url}", "-o", f"TokenURL={srv.token_url}", "-o", "ClientId=${env:CLIENT_ID}",
            "-o", "ClientSecret=${env:CLIENT_SECRET}", "-o", "RefreshToken=${env:REFRESH_TOKEN}"]


def record_tokens(srv) -> list:
    """Make a DemoServer remember every access token it issues; returns the (live) list."""
    issued: list[str] = []
    original = srv.issue_token

    def issue(lifetime=None):
        token = original(lifetime)
        issued.append(token)
        return token

    srv.issue_token = issue
    return issued


ITEMS_PROFILE = """\
<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="Items" desc="items of the test API" xmlns:other="http://apiscript.com/ns?v1">
    <attr name="id"   xs:type="integer" key="true" other:xPath="/json/items/id" />
    <attr name="name" xs:type="string"  other:xPath="/json/items/name" />
  </api:info>
  <api:set attr="URI" value="[_connection.BaseURL]/api/items?page=1" />
  <api:set attr="JSONPath" value="$.items" />
  <api:set attr="EnablePaging" value="true" />
  <api:set attr="nextpagetokenpath" value="$.next_page" />
  <api:set attr="nextpagetokenparam" value="page" />
  <api:script method="GET">
    <api:call op="jsonproviderGet"><api:push/></api:call>
  </api:script>
</api:script>
"""

#: the same API, with a key sent by the profile itself from a connection option (`Header:Name#N`)
ITEMS_HEADER_KEY_PROFILE = ITEMS_PROFILE.replace(
    '<api:set attr="JSONPath"',
    '<api:set attr="Header:Name#1" value="X-API-Key" />\n'
    '  <api:set attr="Header:Value#1" value="[_connection.ApiKey]" />\n'
    '  <api:set attr="JSONPath"')

#: the key in the URL's query string (`?api_key=...`), from a connection option
ITEMS_QUERY_KEY_PROFILE = ITEMS_PROFILE.replace(
    "/api/items?page=1", "/api/items?page=1&amp;api_key=[_connection.ApiKey]")


class GuardedAPI:
    """A WSGI app serving `GET /api/items?page=N` (3 pages of 2 items) to a client that presents the expected
    credential: `basic=(user, password)`, `header=(name, value)`, `bearer=token` or `query=(name, value)`.
    Anything else gets `status` (401 by default); with `echo=True` the error body repeats every header, the
    query string and the body the client sent (the worst an API can do with a credential)."""

    def __init__(self, *, basic=None, header=None, bearer=None, query=None, status: int = 401,
                 echo: bool = False, pages: int = 3):
        self.basic, self.header, self.bearer, self.query = basic, header, bearer, query
        self.status, self.echo, self.pages = status, echo, pages
        self.seen: list[dict] = []

    def allowed(self, request) -> bool:
        if self.basic is not None:
            return request.headers.get("Authorization") == "Basic " + basic_form(*self.basic)
        if self.header is not None:
            return request.headers.get(self.header[0]) == self.header[1]
        if self.bearer is not None:
            return request.headers.get("Authorization") == "Bearer " + self.bearer
        if self.query is not None:
            return request.args.get(self.query[0]) == self.query[1]
        return True

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response
        request = Request(environ)
        self.seen.append(dict(request.headers))
        if not self.allowed(request):
            body = {"error": "unauthorized", "message": "credentials rejected"}
            if self.echo:
                body["received"] = {"headers": dict(request.headers), "query": request.query_string.decode(),
                                    "url": request.url, "body": request.get_data(as_text=True)}
            return Response(json.dumps(body), status=self.status, content_type="application/json")(
                environ, start_response)
        page = int(request.args.get("page", "1"))
        items = [] if page > self.pages else [{"id": (page - 1) * 2 + i + 1, "name": f"item {page}-{i}"}
                                                for i in range(2)]
        doc = {"page": page, "items": items, "next_page": page + 1 if page < self.pages else None}
        return Response(json.dumps(doc), content_type="application/json")(environ, start_response)
