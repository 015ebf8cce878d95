"""The command line: a thin shell over the library (`rsd.api`).

Owns: argument parsing, printing (diagnostics, summaries, errors, progress) and exit codes
(0 ok, 1 the run failed, 2 invalid input). Must not: hold logic a library user would need.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from typing import Optional, Sequence

from . import __version__
from .errors import EXIT_INVALID_INPUT, EXIT_OK, EXIT_RUN_FAILED, OutputClosed, RsdError
from .sinks.registry import FORMATS, MODES

DESCRIPTION = """\
rsd reads, checks and runs RSD API profiles: the XML "API Script" files of CData's API drivers
and Matillion ETL's API Query component.

  rsd check profiles/                       validate offline: errors at file:line:col with hints
  rsd plan  Accounts.rsd -o BaseURL=...     show the first request and the paging plan; sends nothing
  rsd run   Accounts.rsd -o BaseURL=...     run it: a table, CSV, JSON Lines, JSON, Parquet, SQLite, PostgreSQL, DuckDB
  rsd insert Tasks.rsd --from new.csv       write rows back: its POST script once per row (also update, delete)
  rsd job run job.toml                      run an orchestration job: token step, then query steps
  rsd init  https://api.example.com/v1/x    write a profile from one page of an API (or a saved response)
  rsd demo                                  run the bundled examples against a local demo API

Exit codes: 0 success, 1 the run failed (HTTP, network, api:throw, output), 2 invalid input
(a profile with errors, a bad option, a missing variable or secret).
"""

RUN_EPILOG = """\
options and secrets:
  Connection options are readable in the profile as [_connection.NAME]. Values may hold ${...}
  references, resolved at run time and never written back:
    ${name}            a variable (--var name=value, or a job variable)
    ${env:NAME}        an environment variable
    ${file:PATH}       a file's contents (trailing newline removed)
    ${cmd:COMMAND}     a command's standard output (any secret manager)
    ${keyring:SVC/USER} the system keyring (pip install 'rsd-profiles[keyring]')
  Every value from env:, file:, cmd:, keyring: and every token is redacted in all output.

examples:
  rsd run Accounts.rsd -o BaseURL=https://api.example.com \\
      -o 'CustomHeaders=Authorization: Bearer ${env:API_TOKEN}' -f csv --output accounts.csv
  rsd run Accounts.rsd --options-file prod.options --output sqlite:///warehouse.db --table accounts
  rsd run Accounts.rsd -o AuthScheme=OAuth -o OAuthGrantType=REFRESH \\
      -o OAuthAccessTokenURL=https://login.example.com/services/oauth2/token \\
      -o 'OAuthClientId=${env:CLIENT_ID}' -o 'OAuthClientSecret=${env:CLIENT_SECRET}' \\
      -o 'OAuthRefreshToken=${file:~/.config/rsd/refresh_token}'
"""


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def _option_pair(text: str) -> tuple[str, str]:
    """`-o NAME=VALUE`; a file name instead (`-o accounts.csv`, the curl/httpie habit) points to --output."""
    if "=" not in text and _FILE_NAME.match(text):
        from .sinks.registry import database_for_extension

        db = database_for_extension(text)
        target = f"{db.schemes[0]}:///{text}" if db is not None else text
        where = "load the rows into a database" if db is not None else "write the rows to a file"
        raise argparse.ArgumentTypeError(f"-o {text}: -o sets a connection option (NAME=VALUE); to {where} use "
                                         f"--output {target}")
    return _pair(text)


#: what `-o` takes for a file name: a name with an extension, no `=` (option names have no dots)
_FILE_NAME = re.compile(r"^[^\s=]*\.[A-Za-z0-9]{1,10}$")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help="trace every request and response (redacted)")
    p.add_argument("--debug", action="store_true", help="print Python tracebacks on errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")


def _add_run_options(p: argparse.ArgumentParser, method_help: Optional[str] = None, method: bool = True) -> None:
    g = p.add_argument_group("connection")
    g.add_argument("-o", "--option", dest="options", action="append", type=_option_pair, default=[],
                   metavar="NAME=VALUE",
                   help="a connection option (repeatable), e.g. -o BaseURL=https://api.example.com")
    g.add_argument("--options-file", metavar="FILE", help="connection options, one NAME=VALUE a line; # comments")
    g.add_argument("--connection", metavar="STRING", help="a CData-style connection string: Name=Value;Other='a;b'")
    g.add_argument("-i", "--input", dest="inputs", action="append", type=_pair, default=[], metavar="NAME=VALUE",
                   help="a script input: [_input.NAME] and {NAME} in the URI (repeatable)")
    g.add_argument("--var", dest="variables", action="append", type=_pair, default=[], metavar="NAME=VALUE",
                   help="a variable for ${NAME} references in option values (repeatable)")
    if method:  # the write commands choose their script by their name
        g.add_argument("--method", default="GET", help=method_help or argparse.SUPPRESS)
    g = p.add_argument_group("trust")
    g.add_argument("--allow-origin", dest="allow_origins", action="append", default=[], metavar="URL",
                   help="an origin besides the first request's that may receive credentials (repeatable)")
    g.add_argument("--allow-files", dest="allow_files", action="append", default=[], metavar="DIR",
                   help="a folder besides the profile's own that file:// URIs may read (repeatable)")


def _add_retries(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--retries", type=_count, metavar="N",
                   help="retries of a request after a 429/502/503/504 or a network error (default 5); each is shown")
    g.add_argument("--retry-max-wait", type=_seconds, metavar="S",
                   help="the longest wait before a retry, Retry-After included (default 30 s)")


def _add_cassettes(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cassettes (docs/testing.md)").add_mutually_exclusive_group()
    g.add_argument("--record", metavar="DIR", help="keep every HTTP exchange of the run in DIR, secrets scrubbed")
    g.add_argument("--replay", metavar="DIR", help="answer every request from DIR (recorded with --record); no "
                                                   "network")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsd", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"rsd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("check", help="validate profiles offline", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Check .rsd files, folders (recursively) and .apip archives offline.\n"
                                   "Prints path:line:col: severity: [CODE] message, and a hint where one helps.\n"
                                   "Codes are documented in docs/diagnostics.md.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--options-file", action="append", default=[], metavar="FILE",
                   help="also check an options file for hard-coded secrets")
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    p = sub.add_parser("run", help="run a profile and write its rows", epilog=RUN_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run the GET script of a profile: every page, typed columns, one summary.")
    p.add_argument("profile", metavar="PROFILE")
    _add_run_options(p)
    g = p.add_argument_group("output")
    g.add_argument("-f", "--format", choices=tuple(FORMATS),
                   help="output format (default: table on a terminal, csv otherwise)")
    g.add_argument("--output", metavar="TARGET",
                   help="a file, or a database URL: sqlite:///relative.db, sqlite:////abs.db, postgresql://... "
                        "(default stdout)")
    g.add_argument("--table", help="target table (default: the profile's api:info title)")
    g.add_argument("--mode", choices=MODES, default=None,
                   help="load mode for database targets (default truncate; upsert with --incremental)")
    g.add_argument("--limit", type=int, metavar="N", help="stop after N rows (a preview)")
    g.add_argument("--max-pages", type=int, metavar="N", help="stop after N pages")
    g.add_argument("--summary-json", metavar="FILE",
                   help="write the run's summary as JSON (rows, pages, requests, retries, seconds, stop reason, "
                        "warnings, status), also when it fails: for schedulers")
    _add_retries(g)
    g.add_argument("--strict", action="store_true",
                   help="fail (exit 1, nothing written) when the run has warnings, e.g. a path that matched nothing")
    _add_cassettes(p)
    g = p.add_argument_group("incremental loads (docs/targets.md)")
    g.add_argument("--incremental", metavar="COLUMN",
                   help="read the target's high-water mark of COLUMN (e.g. updated_at), send it to the profile as "
                        "--since-input, upsert the rows and store the new mark with them")
    g.add_argument("--since-input", metavar="NAME", help="the input ([_input.NAME]) that receives the mark")
    g.add_argument("--full-refresh", action="store_true", help="ignore the mark: load everything")
    g = p.add_argument_group("throughput")
    g.add_argument("--concurrency", type=int, metavar="N",
                   help="requests in flight at most (option MaxConcurrency; default 4; 1 = one at a time)")
    g.add_argument("--rate", type=float, metavar="R",
                   help="requests per second at most, retries and token requests included "
                        "(option MaxRequestsPerSecond; default: no limit)")
    _add_common(p)

    p = sub.add_parser("plan", help="show the first request and the paging/column plan; sends nothing",
                       epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", metavar="PROFILE")
    _add_run_options(p, method_help="the script to plan: GET (default), or a write's POST (insert), MERGE (update) "
                                    "or DELETE, with the row's values as -i NAME=VALUE")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _add_common(p)

    for command, script in (("insert", "POST"), ("update", "MERGE (else PUT or PATCH)"), ("delete", "DELETE")):
        p = sub.add_parser(command, help=f"write rows back: the profile's {script} script once per row",
                           epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                           description=f"Run the profile's <api:script method=\"{script.split()[0]}\"> once per "
                                       f"input row ({script}, as CData's drivers\nrun {command.upper()}), the row's "
                                       f"values as [_input.NAME]. Rows come from -i NAME=VALUE (one row)\nor --from "
                                       f"FILE. What the script pushes is written like rsd run's rows.")
        p.add_argument("profile", metavar="PROFILE")
        _add_run_options(p, method=False)
        g = p.add_argument_group("rows")
        g.add_argument("--from", dest="from_file", metavar="FILE",
                       help="the rows: CSV with a header row (an empty field is null) or JSON Lines (.jsonl)")
        g.add_argument("--continue-on-error", action="store_true",
                       help="try every row; without it the first failing row stops the command")
        g.add_argument("--errors", metavar="FILE",
                       help="with --continue-on-error: the failed rows, JSON Lines of row, input, error (redacted)")
        _add_retries(g)
        g = p.add_argument_group("output (what the script pushes, e.g. the created record)")
        g.add_argument("-f", "--format", choices=tuple(FORMATS),
                       help="output format (default: table on a terminal, csv otherwise)")
        g.add_argument("--output", metavar="TARGET", help="a file or a database URL, as for rsd run (default stdout)")
        g.add_argument("--table", help="target table (default: the profile's api:info title)")
        g.add_argument("--mode", choices=MODES, default=None, help="load mode for database targets (default "
                                                                   "truncate)")
        _add_cassettes(p)
        _add_common(p)

    p = sub.add_parser("init", help="write a profile from one page of an API (or a saved JSON or XML response)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Fetch one page (with the same options and credentials as rsd run) or read a saved\n"
                                   "response; pick the repeating element, infer the columns, their types and the key,\n"
                                   "detect the paging, and write a profile that rsd check --strict accepts.",
                       epilog="example:\n  rsd init https://api.example.com/v1/customers "
                              "-o BaseURL=https://api.example.com \\\n"
                              "      -o 'OAuthAccessToken=${env:API_TOKEN}' --output Customers.rsd")
    p.add_argument("source", metavar="URL_OR_FILE")
    g = p.add_argument_group("connection (as for rsd run)")
    g.add_argument("-o", "--option", dest="options", action="append", type=_pair, default=[], metavar="NAME=VALUE",
                   help="a connection option (repeatable); a URL starting with BaseURL is written from it")
    g.add_argument("--options-file", metavar="FILE", help="connection options, one NAME=VALUE a line; # comments")
    g.add_argument("--connection", metavar="STRING", help="a CData-style connection string: Name=Value;Other='a;b'")
    g.add_argument("--var", dest="variables", action="append", type=_pair, default=[], metavar="NAME=VALUE",
                   help="a variable for ${NAME} references in option values (repeatable)")
    g = p.add_argument_group("profile")
    g.add_argument("--repeat", metavar="PATH", help="the repeating element ($.data, /feed/entry); default: the "
                                                    "shallowest (asked on a terminal when there are several)")
    g.add_argument("--name", help="the profile's title (default: the URL's last path step or the file's name)")
    g.add_argument("--url", help="for a saved response: the URL it came from (written as the profile's URI)")
    g.add_argument("--output", metavar="FILE.rsd", help="where to write the profile (default: stdout)")
    g.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    _add_common(p)

    p = sub.add_parser("demo", help="run the bundled examples against a local demo API (127.0.0.1)")
    p.add_argument("--db", default=None, metavar="PATH", help="SQLite file to load (default: a temporary folder)")
    p.add_argument("--token-lifetime", type=float, default=1.0,
                   help="lifetime of the demo's access tokens in seconds (default 1: they expire mid-run)")
    _add_common(p)

    p = sub.add_parser("job", help="run or check an orchestration job (JOB.toml)")
    jsub = p.add_subparsers(dest="job_command", metavar="ACTION")
    jr = jsub.add_parser("run", help="run the job's steps in order")
    jr.add_argument("job", metavar="JOB.toml")
    jr.add_argument("--summary-json", metavar="FILE",
                    help="write the job's summary (every step's) as JSON, also when it fails: for schedulers")
    jr.add_argument("--var", dest="variables", action="append", type=_pair, default=[], metavar="NAME=VALUE")
    _add_common(jr)
    jc = jsub.add_parser("check", help="validate the job and every profile in it offline")
    jc.add_argument("job", metavar="JOB.toml")
    jc.add_argument("--format", choices=("text", "json"), default="text")
    jc.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_INVALID_INPUT
    if args.command == "job" and not getattr(args, "job_command", None):
        parser.parse_args(["job", "--help"])
    from . import commands  # imported late: `rsd --help` stays fast

    redactor = commands.new_redactor()
    try:
        return commands.dispatch(args, redactor)
    except (BrokenPipeError, OutputClosed):  # `rsd run ... | head -1`: the reader has what it wanted
        _silence_stdout()
        return EXIT_OK
    except RsdError as e:
        _print_error(redactor.redact(str(e)), redactor.redact(e.hint) if e.hint else None)
        if getattr(args, "debug", False):
            sys.stderr.write(redactor.redact(traceback.format_exc()))
        return e.exit_code
    except KeyboardInterrupt:
        print("rsd: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: say so plainly, never print secrets
        if getattr(args, "debug", False):
            sys.stderr.write(redactor.redact(traceback.format_exc()))
        _print_error(f"internal error: {type(e).__name__}: {redactor.redact(str(e))} "
                     f"(run with --debug for a traceback, and please report it)", None)
        return EXIT_RUN_FAILED


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _print_error(message: str, hint: Optional[str]) -> None:
    sys.stderr.write(f"rsd: error: {message}\n")
    if hint:
        sys.stderr.write(f"  hint: {hint}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
