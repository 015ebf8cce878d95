"""Naming things in a database: target URLs, table-name validation, identifier quoting, password redaction.

Owns: recognising a `--output` value as a file, stdout or a database URL; turning `sqlite:///...` into a path;
validating table names; quoting identifiers; hiding the password of a URL. Must not: open connections or files.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import OptionError
from .registry import DATABASES, SCHEMES, database_for_extension

RESERVED_PREFIX = "_rsd_"
RUNS_TABLE = "_rsd_runs"
STAGE_PREFIX = "_rsd_stage_"
PG_MAX_IDENTIFIER = 63

_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_NAME_PART = re.compile(r"^\w+$")


@dataclass(frozen=True, slots=True)
class Target:
    """Where rows go. `kind` is "stdout", "file" or a database kind of `registry.DATABASES`; `location` the path
    (files, SQLite-style databases) or the URL; `url` the text given."""

    kind: str
    location: Optional[str] = None
    url: Optional[str] = None

    @property
    def is_database(self) -> bool:
        return self.kind in DATABASES


@dataclass(frozen=True, slots=True)
class DatabaseTarget(Target):
    """A database target (`parse_target` returns one for every kind of `registry.DATABASES`): `location` is the
    database file's path, or the URL the driver takes; `url` the text given."""

    location: str = ""
    url: str = ""


def parse_target(target: Optional[str], base_dir: str = ".") -> Target | DatabaseTarget:
    """`None`/`-` -> stdout; `sqlite:///rel.db`, `sqlite:////abs.db`, `postgresql://...` (the schemes of
    `registry.DATABASES`); anything else a path. A file database's relative path is relative to `base_dir`."""
    if target is None or target == "-":
        return Target("stdout")
    m = _URL.match(target)
    if not m:
        if not target.strip():
            raise OptionError("--output is empty: give a file path, '-' for stdout, or a database URL")
        _refuse_database_lookalike(target)
        return Target("file", os.path.join(base_dir, os.path.expanduser(target)))
    scheme = m.group(1).lower()
    kind = SCHEMES.get(scheme)
    if kind is None:
        raise OptionError(
            f"--output {redact_url(target)!r}: unsupported database URL scheme {scheme!r}",
            hint="use a file path or one of " + ", ".join(d.example for d in DATABASES.values()),
        )
    if not DATABASES[kind].in_file:
        return DatabaseTarget(kind, target, target)
    # a database in a file: scheme:///relative/path or scheme:////absolute/path
    rest = target[m.end():]
    if not rest.startswith("/") or rest == "/":
        raise OptionError(
            f"--output {target!r}: a {scheme} URL is {scheme}:///relative/path.db or {scheme}:////absolute/path.db"
            + (f": write --output {scheme}:///{rest}" if rest and rest != "/" else "")
        )
    path = rest[1:]  # sqlite:///x.db -> x.db ; sqlite:////abs/x.db -> /abs/x.db
    if path != ":memory:" and not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    return DatabaseTarget(kind, path, target)


def _refuse_database_lookalike(target: str) -> None:
    """`--output x.db` (a database file's name) and `--output sqlite:x.db` (a database URL without `//`) would be
    written as CSV text into a file of that name: refused, with the URL to write instead."""
    scheme, colon, rest = target.partition(":")
    kind = SCHEMES.get(scheme.lower()) if colon else None
    if kind is not None:
        db = DATABASES[kind]
        if db.in_file:
            path = rest.lstrip("/")
            fix = (f"{scheme}:////{path}" if rest.startswith("/") else f"{scheme}:///{path}")
            where = "absolute" if rest.startswith("/") else "relative to the working directory"
        else:
            fix, where = f"{scheme}://{rest.lstrip('/')}", "as libpq reads it"
        raise OptionError(f"--output {target!r} is not a database URL (no '//' after '{scheme}:'): write --output "
                          f"{fix} ({where})", hint=f"database URLs: {', '.join(d.example for d in DATABASES.values())}")
    by_name = database_for_extension(target)
    if by_name is not None:
        path = os.path.expanduser(target)
        fix = f"{by_name.schemes[0]}:///{path}"  # sqlite:///rel.db, or sqlite:////abs.db for an absolute path
        raise OptionError(f"--output {target} names a {by_name.kind} database file, which rsd would fill with CSV "
                          f"text: to load a table into it, write --output {fix}",
                          hint=f"{by_name.schemes[0]}:///relative.db is relative to the working directory, "
                               f"{by_name.schemes[0]}:////abs/path.db absolute; for a CSV file, name it .csv")


def redact_url(url: str) -> str:
    """The URL with its password (in the authority or a `password=` query parameter) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() == "password" for k, _ in pairs):
            query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_password(url: str) -> Optional[str]:
    """The password in a database URL, if any (so it can be scrubbed from driver error messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.password:
        return parts.password
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k.lower() == "password" and v:
            return v
    return None


def validate_table_name(name: str, *, allow_schema: bool) -> tuple[str, ...]:
    """Split and check a table name: letters, digits and `_`, plus one `.` for a schema where allowed.

    Returns the name's parts (`("schema", "table")` or `("table",)`); raises `OptionError` otherwise.
    """
    if not isinstance(name, str) or not name:
        raise OptionError("the target table name is empty: give --table NAME")
    parts = tuple(name.split("."))
    what = "letters, digits and '_'" + (" (and 'schema.table')" if allow_schema else "")
    if len(parts) > (2 if allow_schema else 1) or not all(_NAME_PART.match(p) for p in parts):
        raise OptionError(f"invalid table name {name!r}: use {what}")
    if parts[-1].lower().startswith(RESERVED_PREFIX):
        raise OptionError(f"invalid table name {name!r}: names starting with {RESERVED_PREFIX!r} are rsd's own")
    if allow_schema and any(len(p.encode()) > PG_MAX_IDENTIFIER for p in parts):
        raise OptionError(f"invalid table name {name!r}: longer than {PG_MAX_IDENTIFIER} bytes")
    return parts


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (SQLite and PostgreSQL): embedded quotes doubled; NUL refused."""
    if "\x00" in name:
        raise OptionError(f"invalid identifier {name!r}: contains NUL")
    return '"' + name.replace('"', '""') + '"'


def quote_qualified(parts: tuple[str, ...]) -> str:
    return ".".join(quote_ident(p) for p in parts)
