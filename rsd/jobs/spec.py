"""Job files: the shape of `JOB.toml` (`[variables]`, `[[steps]]`), its constants, and `load_job`.

Owns: reading a job file into `Job`/`Step` values. Must not: check semantics (`check.py`) or run steps
(`runner.py`).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import InvalidInputError

STEP_TYPES = ("oauth2", "python", "query")
REQUIRED = {
    "oauth2": ("token_url",),
    "python": ("script",),
    "query": ("profile",),
}
KNOWN = {
    "oauth2": ("name", "type", "token_url", "grant_type", "client_id", "client_secret", "refresh_token",
               "username", "password", "scope", "client_auth", "params_in", "params", "headers", "set"),
    "python": ("name", "type", "script", "timeout"),
    "query": ("name", "type", "profile", "options", "inputs", "output", "table", "mode", "format", "limit",
              "max_pages", "connection", "options_file", "incremental", "full_refresh",
              "allow_origins", "allow_files", "auth", "retries", "retry_max_wait", "concurrency", "rate"),
}
# Fields that must be TOML tables (name = value pairs), and fields that must be positive numbers.
TABLE_FIELDS = ("set", "params", "headers", "options", "inputs", "incremental")
#: the keys of a query step's `incremental = { cursor = "updated_at", input = "updated_since" }`
INCREMENTAL_KEYS = ("cursor", "input")
NUMBER_FIELDS = ("timeout", "limit", "max_pages", "retry_max_wait", "concurrency", "rate")
#: fields that must be whole numbers, 0 included (`retries = 0`: no retry)
COUNT_FIELDS = ("retries",)
#: fields that must be TOML arrays of strings (`--allow-origin`, `--allow-files`, repeatable)
LIST_FIELDS = ("allow_origins", "allow_files")
_REF = re.compile(r"(?<!\$)\$\{([^}]*)\}")
_UPDATE_CALL = re.compile(r"""update_?[vV]ariable\(\s*['"]([^'"]+)['"]""")
DEFAULT_SET = {"access_token": "$.access_token"}


@dataclass
class Step:
    index: int
    name: str
    type: str
    fields: dict[str, Any]


@dataclass
class Job:
    path: Path
    variables: dict[str, Any]
    steps: list[Step]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class StepResult:
    step: str
    type: str
    status: str = "ok"
    rows: int = 0
    pages: int = 0
    requests: int = 0
    elapsed: float = 0.0
    detail: str = ""
    target: str = ""


def _toml_text(value: object) -> str:
    """A TOML scalar as the text a variable holds: booleans as true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_job(path: str) -> Job:
    """Read and shape-check a job file; raises `InvalidInputError` naming the file on TOML errors."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such job file")
    except IsADirectoryError:
        raise InvalidInputError(f"{path}: is a folder, not a job file")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text")
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"{path}: not valid TOML: {e}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise InvalidInputError(f"{path}: [variables] must be a table of name = value")
    for name, value in variables.items():
        if isinstance(value, (dict, list)):
            raise InvalidInputError(f"{path}: variable {name!r} must be a string, number or boolean")
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list):
        raise InvalidInputError(f"{path}: steps must be an array of tables: write [[steps]]")
    steps = []
    for i, raw in enumerate(raw_steps, 1):
        if not isinstance(raw, dict):
            raise InvalidInputError(f"{path}: step {i} must be a table ([[steps]])")
        steps.append(Step(i, str(raw.get("name") or f"step{i}"), str(raw.get("type", "")), raw))
    return Job(p, {str(k): _toml_text(v) for k, v in variables.items()}, steps)


def _strings(obj: object) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)
