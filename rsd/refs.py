"""`${...}` references in option values, options files and job files (docs/reference/contract.md §3).

Owns: finding and resolving `${name}`, `${env:NAME}`, `${file:PATH}`, `${keyring:SERVICE/USER}` and
`${cmd:COMMAND ARGS}`; registering every value read from the environment, a file, the keyring or a
command as a secret with the run's redactor; remembering which file a reference read (so a rotated
OAuth refresh token can be written back). Must not: be applied to a profile (profiles never resolve
references), print, or put a resolved value into an error message.

Syntax decisions (docs/credentials.md):
- `$${` is a literal `${` (`$${env:X}` stays `${env:X}`); a lone `$` is just a dollar.
- One pass: a resolved value is inserted as it is and never scanned again, so a secret or a
  variable that happens to contain `${...}` cannot make rsd read a file or run a command.
- An unterminated `${` is an error (it is almost always a typo, and silently sending it would leak
  the intent into a request).
- `${file:PATH}` and `${cmd:...}` lose exactly one trailing newline (`\\n` or `\\r\\n`).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Optional

from .errors import OptionError

if TYPE_CHECKING:
    from .http.redact import Redactor

#: seconds a `${cmd:...}` may run
CMD_TIMEOUT = 30.0

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_TOKEN = re.compile(r"\$\$\{|\$\{")
KINDS = ("env", "file", "keyring", "cmd")


@dataclass
class RefContext:
    """State shared by the resolutions of one run: a cache (a command runs once per run) and the files read.

    `files` maps a reference as written (`${file:token.txt}`) to the absolute path it read.
    """

    cache: dict[tuple[str, str, str], str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def resolve_refs(text: str, variables: Optional[Mapping[str, object]] = None, *, base_dir: str | os.PathLike[str] = ".",
                 secrets: Optional[Redactor] = None, context: Optional[RefContext] = None,
                 what: Optional[str] = None) -> str:
    """`text` with every `${...}` replaced by its value.

    `variables` serves `${name}` (exact name first, then case-insensitively). `base_dir` anchors a
    relative `${file:PATH}`. `secrets` (a `Redactor`) is given every value obtained from env, file,
    keyring or cmd. `what` names the place of the text in error messages (e.g. "option Password").
    Raises `OptionError` naming the reference, never its value.
    """
    if text is None or "$" not in text:
        return text
    ctx = context if context is not None else RefContext()
    out: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() < pos:
            continue
        out.append(text[pos:m.start()])
        if m.group(0) == "$${":
            out.append("${")
            pos = m.end()
            continue
        end = text.find("}", m.end())
        if end < 0:
            # the text may be a literal secret: point at the place, do not quote it
            raise OptionError(_where(what) + f"unterminated reference: the '${{' at character {m.start() + 1} "
                              f"has no closing '}}' (write '$${{' for a literal '${{')")
        body = text[m.end():end]
        out.append(_resolve_one(body, variables or {}, Path(base_dir), secrets, ctx, what))
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


def has_refs(text: object) -> bool:
    return isinstance(text, str) and bool(re.search(r"(?<!\$)\$\{", text))


def sole_file_reference(text: object, base_dir: str | os.PathLike[str] = ".") -> Optional[Path]:
    """The absolute path when `text` is exactly one `${file:PATH}` reference (surrounding blanks allowed)."""
    if not isinstance(text, str):
        return None
    m = re.fullmatch(r"\s*\$\{\s*file:([^}]*)\}\s*", text)
    if not m:
        return None
    return _file_path(m.group(1).strip(), Path(base_dir))


# -- one reference ---------------------------------------------------------------------------------
def _resolve_one(body: str, variables: Mapping[str, object], base_dir: Path, secrets: Optional[Redactor],
                 ctx: RefContext, what: Optional[str]) -> str:
    ref = "${" + body + "}"
    stripped = body.strip()
    kind, sep, arg = stripped.partition(":")
    kind_l = kind.strip().lower()
    if sep and kind_l in KINDS:
        arg = arg.strip()
        if not arg:
            raise OptionError(_where(what) + f"the reference {ref} names nothing after '{kind_l}:'")
        key = (kind_l, arg, str(base_dir) if kind_l == "file" else "")
        if key in ctx.cache:
            return ctx.cache[key]
        value = _RESOLVERS[kind_l](arg, ref, base_dir, ctx, what)
        ctx.cache[key] = value
        if secrets is not None:
            # a URL keeps its host and path readable in messages; its credential parts are hidden (redact.py)
            (getattr(secrets, "add_reference", None) or secrets.add)(value)
        return value
    if sep:
        raise OptionError(_where(what) + f"unknown reference kind in {ref}: use ${{name}}, ${{env:NAME}}, "
                          f"${{file:PATH}}, ${{keyring:SERVICE/USER}} or ${{cmd:COMMAND}}")
    if not _VARIABLE_NAME.match(stripped):
        raise OptionError(_where(what) + f"{ref} is not a valid reference (a variable name is letters, digits, "
                          f"'_', '.', '-'); write '$${{' for a literal '${{'")
    variable: object
    if stripped in variables:
        variable = variables[stripped]
    else:
        lowered = {str(k).lower(): v for k, v in variables.items()}
        if stripped.lower() not in lowered:
            raise OptionError(_where(what) + f"the variable {ref} is not set: pass it with --var {stripped}=VALUE "
                              f"(or set it in the job's [variables])")
        variable = lowered[stripped.lower()]
    return "" if variable is None else str(variable)


def _resolve_env(name: str, ref: str, base_dir: Path, ctx: RefContext, what: Optional[str]) -> str:
    value = os.environ.get(name)
    if value is None:
        raise OptionError(_where(what) + f"{ref} is not set: the environment variable {name} does not exist")
    return value


def _file_path(arg: str, base_dir: Path) -> Path:
    path = Path(os.path.expanduser(arg))
    if not path.is_absolute():
        path = base_dir / path
    return Path(os.path.abspath(path))


def _resolve_file(arg: str, ref: str, base_dir: Path, ctx: RefContext, what: Optional[str]) -> str:
    path = _file_path(arg, base_dir)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise OptionError(_where(what) + f"{ref}: cannot read {path}: {e.strerror or type(e).__name__}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OptionError(_where(what) + f"{ref}: {path} is not UTF-8 text") from None
    ctx.files[ref] = path
    return _chomp(text)


def _resolve_keyring(arg: str, ref: str, base_dir: Path, ctx: RefContext, what: Optional[str]) -> str:
    service, sep, user = arg.rpartition("/")
    if not sep or not service or not user:
        raise OptionError(_where(what) + f"{ref}: write ${{keyring:SERVICE/USER}}")
    try:
        import keyring  # optional dependency
    except ImportError:
        raise OptionError(_where(what) + f"{ref} needs the keyring package: "
                          "pip install 'rsd-profiles[keyring]'") from None
    try:
        value = keyring.get_password(service, user)
    except Exception as e:  # a keyring backend may raise anything (locked, no backend...)
        raise OptionError(_where(what) + f"{ref}: the keyring failed ({type(e).__name__})") from None
    if value is None:
        raise OptionError(_where(what) + f"{ref} is not set: the keyring has no password for service "
                          f"{service!r}, user {user!r}")
    return str(value)


def _resolve_cmd(arg: str, ref: str, base_dir: Path, ctx: RefContext, what: Optional[str]) -> str:
    import shlex  # on use: start-up imports only what every run needs
    import subprocess

    try:
        argv = shlex.split(arg)
    except ValueError as e:
        raise OptionError(_where(what) + f"{ref}: cannot split the command line ({e})") from None
    if not argv:
        raise OptionError(_where(what) + f"{ref}: no command")
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=CMD_TIMEOUT, cwd=str(base_dir) if base_dir.is_dir() else None)
    except FileNotFoundError:
        raise OptionError(_where(what) + f"{ref}: command not found: {argv[0]}") from None
    except PermissionError:
        raise OptionError(_where(what) + f"{ref}: command not executable: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise OptionError(_where(what) + f"{ref}: the command did not finish within {CMD_TIMEOUT:g} s") from None
    except OSError as e:
        raise OptionError(_where(what) + f"{ref}: cannot run {argv[0]}: {e.strerror or type(e).__name__}") from None
    if done.returncode != 0:
        # the output may hold part of a secret: name the command and its status only
        raise OptionError(_where(what) + f"{ref}: the command failed with exit status {done.returncode}")
    try:
        text = done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise OptionError(_where(what) + f"{ref}: the command's output is not UTF-8 text") from None
    return _chomp(text)


_RESOLVERS: dict[str, Callable[[str, str, Path, RefContext, Optional[str]], str]] = {
    "env": _resolve_env,
    "file": _resolve_file,
    "keyring": _resolve_keyring,
    "cmd": _resolve_cmd,
}


def _chomp(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _where(what: Optional[str]) -> str:
    return f"{what}: " if what else ""
