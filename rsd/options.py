"""Connection options: `-o NAME=VALUE`, options files, CData connection strings, `ProfileSettings`.

Owns: reading the three sources, merging them (options file < connection string < `-o`), resolving
`${...}` references in every value before anything is split (docs/reference/contract.md §2), splitting
`ProfileSettings`, registering secret-looking values with the redactor, and the helpers that read
the options the HTTP layer needs (`CustomHeaders`, `CustomUrlParams`, `Timeout`, proxies).
Must not: read a profile, or resolve references inside one.

Option names are case-insensitive and blanks inside them are ignored (`Custom Headers` is
`CustomHeaders`, as CData's documents write property names both ways); the name first given is the
one shown.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Optional,
    Sequence,
    Union,
)
from urllib.parse import quote, unquote_plus

from .errors import OptionError

if TYPE_CHECKING:
    from .http.auth import BasicAuth, BearerAuth, OAuth2Auth
    from .http.client import HttpClient
    from .http.redact import Redactor
from .refs import RefContext, resolve_refs, sole_file_reference
from .secrets import (
    NOT_SECRET_SUFFIXES,
    SECRET_OPTION_NAMES,
    header_credential,
    is_secret_header_name,
    is_secret_name,
    is_secret_query_name,
    name_key,
)


def option_key(name: str) -> str:
    return "".join(str(name).split()).lower()




class ConnectionOptions(MutableMapping[str, str]):
    """Option name -> value; case-insensitive, in the order options were first given.

    `source_file(name)` is the file a value was read from when the whole value was one
    `${file:PATH}` reference (the OAuth layer writes a rotated refresh token back there).
    """

    def __init__(self, items: Union[Mapping[str, str], Iterable[tuple[str, str]], None] = None):
        self._data: dict[str, tuple[str, str]] = {}
        self._files: dict[str, Path] = {}
        if items is not None:
            pairs = items.items() if isinstance(items, Mapping) else items
            for k, v in pairs:
                self[k] = v

    def __getitem__(self, name: str) -> str:
        return self._data[option_key(name)][1]

    def __setitem__(self, name: str, value: str) -> None:
        key = option_key(name)
        old = self._data.get(key)
        self._data[key] = (old[0] if old else str(name).strip(), value)
        self._files.pop(key, None)

    def __delitem__(self, name: str) -> None:
        key = option_key(name)
        del self._data[key]
        self._files.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and option_key(name) in self._data

    def __repr__(self) -> str:
        return f"ConnectionOptions({[name for name in self]})"  # names only: values may be secret

    def set_source_file(self, name: str, path: Optional[Path]) -> None:
        if path is None:
            self._files.pop(option_key(name), None)
        else:
            self._files[option_key(name)] = Path(path)

    def source_file(self, name: str) -> Optional[Path]:
        return self._files.get(option_key(name))

    def redacted(self, redactor: Redactor) -> list[tuple[str, str]]:
        """(name, value) pairs safe to show: secret-named options as `***`, other values redacted."""
        out = []
        for name, value in self.items():
            if is_secret_name(name) and value:
                out.append((name, "***"))
            elif option_key(name) == "customheaders":
                out.append((name, "\\n".join(f"{k}: {v}" for k, v in
                                             redactor.redact_headers(_parse_header_lines(value, name, strict=False)))))
            else:
                out.append((name, redactor.redact(value)))
        return out


# -- parsing the sources -----------------------------------------------------------------------------
def parse_pair(text: str, *, what: str = "option") -> tuple[str, str]:
    """`NAME=VALUE` (the value may contain `=`)."""
    name, sep, value = str(text).partition("=")
    if not sep or not name.strip():
        raise OptionError(f"{what} is not NAME=VALUE: {_name_only(text)}")
    return name.strip(), value


def parse_options_file(path: Union[str, os.PathLike[str]]) -> list[tuple[str, str, int]]:
    """(name, value, line) for each `NAME=VALUE` line; `#` starts a comment line; blank lines are skipped.

    Only whole lines are comments: a `#` inside a value (a password) is part of it. Blanks around the
    name and the value are removed.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise OptionError(f"{p}: cannot read the options file: {e.strerror or type(e).__name__}") from None
    except UnicodeDecodeError:
        raise OptionError(f"{p}: the options file is not UTF-8 text") from None
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.partition("=")
        if not sep or not name.strip():
            raise OptionError(f"{p}:{lineno}: not NAME=VALUE (one connection option a line; '#' starts a comment)")
        out.append((name.strip(), value.strip(), lineno))
    return out


def parse_connection_string(text: str, *, what: str = "connection string") -> list[tuple[str, str]]:
    """CData-style `Name=Value;Other='a;b';X="q"` -> pairs.

    Quoting rules: a value that starts with `'` or `"` runs to the matching quote, and a doubled quote
    inside it is one quote character (`'it''s'` -> `it's`); anything after the closing quote up to the
    next `;` must be blank. An unquoted value runs to the next `;` and is stripped. Empty entries (`;;`,
    a trailing `;`) are ignored.
    """
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and (text[i].isspace() or text[i] == ";"):
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        semi = text.find(";", i)
        if eq < 0 or (0 <= semi < eq):
            end = semi if semi >= 0 else n
            raise OptionError(f"{what}: entry {_entry_number(pairs)} is not Name=Value: "
                              f"{_name_only(text[i:end])}")
        name = text[i:eq].strip()
        if not name:
            raise OptionError(f"{what}: entry {_entry_number(pairs)} has no name before '='")
        j = eq + 1
        while j < n and text[j] in " \t":
            j += 1
        if j < n and text[j] in "'\"":
            quote_char = text[j]
            j += 1
            buf = []
            while True:
                if j >= n:
                    raise OptionError(f"{what}: the value of {name} has no closing {quote_char}")
                c = text[j]
                if c == quote_char:
                    if j + 1 < n and text[j + 1] == quote_char:
                        buf.append(c)
                        j += 2
                        continue
                    j += 1
                    break
                buf.append(c)
                j += 1
            value = "".join(buf)
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] != ";":
                raise OptionError(f"{what}: unexpected text after the quoted value of {name}; "
                                  f"separate entries with ';'")
            i = j + 1
        else:
            end = text.find(";", j)
            end = n if end < 0 else end
            value = text[j:end].strip()
            i = end + 1
        pairs.append((name, value))
    return pairs


def _entry_number(pairs: Sequence[object]) -> int:
    return len(pairs) + 1


def _name_only(text: str) -> str:
    """An offending entry without its value, which may be secret."""
    name = str(text).split("=", 1)[0].strip()
    if len(name) > 40 or is_secret_name(name):
        return f"an entry of {len(str(text))} characters"
    return repr(name)


# -- building --------------------------------------------------------------------------------------
def build_options(*, options: Iterable[Union[str, tuple[str, str]]] = (),
                  options_file: Union[str, os.PathLike[str], Sequence[Union[str, os.PathLike[str]]], None] = None,
                  connection: Optional[str] = None, variables: Optional[Mapping[str, object]] = None,
                  secrets: Optional[Redactor] = None, base_dir: Union[str, os.PathLike[str]] = ".",
                  resolved: bool = False,
                  context: Optional[RefContext] = None) -> ConnectionOptions:
    """The run's connection options, merged: options file(s) < connection string < `-o` pairs.

    `${...}` references are resolved in every value first (relative `${file:}` paths against the
    options file's folder for its lines, against `base_dir` otherwise); then the connection string is
    split and `ProfileSettings` values become options of their own (an option given by name, in any
    source, wins over the same key inside `ProfileSettings`). `resolved=True` skips resolution (the
    caller, e.g. a job, already resolved the values). Secret-looking values are added to `secrets`.
    """
    ctx = context if context is not None else RefContext()
    variables = variables or {}
    result = ConnectionOptions()

    def resolve(value: str, name: str, anchor: Union[str, os.PathLike[str]]) -> tuple[str, Optional[Path]]:
        if resolved:
            return value, None
        text = resolve_refs(value, variables, base_dir=anchor, secrets=secrets, context=ctx, what=f"option {name}")
        return text, sole_file_reference(value, anchor)

    def put(name: str, value: str, source: Optional[Path]) -> None:
        result[name] = value
        result.set_source_file(name, source)

    files = [options_file] if isinstance(options_file, (str, os.PathLike)) else list(options_file or ())
    for f in files:
        anchor = Path(f).resolve().parent
        for name, value, lineno in parse_options_file(f):
            text, src = resolve(value, f"{name} ({f}:{lineno})", anchor)
            put(name, text, src)
    if connection:
        text, _ = resolve(connection, "--connection", base_dir)
        for name, value in parse_connection_string(text):
            put(name, value, None)
    for item in options:
        name, value = parse_pair(item, what="-o") if isinstance(item, str) else (str(item[0]).strip(), item[1])
        text, src = resolve("" if value is None else str(value), name, base_dir)
        put(name, text, src)

    settings = result.get("ProfileSettings")
    if settings:
        for name, value in parse_connection_string(settings, what="option ProfileSettings"):
            if name not in result:
                result[name] = value
    if secrets is not None:
        register_secrets(result, secrets)
    return result


#: the options of rsd's own authentication (docs/reference/contract.md §4), for "did you mean" messages
AUTH_OPTION_NAMES = ("AuthScheme", "OAuthGrantType", "OAuthAccessTokenURL", "OAuthRefreshTokenURL", "OAuthClientId",
                     "OAuthClientSecret", "OAuthRefreshToken", "OAuthAccessToken", "OAuthClientAuth", "OAuthParamsIn",
                     "OAuthParams", "OAuthTokenHeaders", "User", "Password", "Scope")


def near_miss(name: str, candidates: Iterable[str], cutoff: float = 0.88) -> Optional[str]:
    """The candidate `name` is most likely a misspelling of (case and blanks ignored), or None."""
    import difflib
    key = option_key(name)
    candidates = tuple(candidates)
    if any(option_key(c) == key for c in candidates):
        return None
    best, best_ratio = None, cutoff
    for cand in candidates:
        ckey = option_key(cand)
        ratio = difflib.SequenceMatcher(None, key, ckey).ratio()
        if ratio >= best_ratio:
            best, best_ratio = cand, ratio
    return best


def misspelt_options(options: Mapping[str, str],
                     candidates: Iterable[str] = AUTH_OPTION_NAMES) -> list[tuple[str, str]]:
    """(given, meant) for each option that looks like a misspelling of a candidate that was not given."""
    candidates = tuple(candidates)
    given = {option_key(n) for n in options}
    out = []
    for name in options:
        meant = near_miss(name, candidates)
        if meant is not None and option_key(meant) not in given:
            out.append((name, meant))
    return out


def register_secrets(options: Mapping[str, str], secrets: Redactor) -> None:
    """Add secret-named option values (and those of misspelt secret names), secret header values of
    `CustomHeaders` and secret-named parameter values of `CustomUrlParams` to the redactor."""
    for name, value in options.items():
        if not value:
            continue
        if is_secret_name(name) or (not name_key(name).endswith(NOT_SECRET_SUFFIXES)
                                    and near_miss(name, SECRET_OPTION_NAMES) is not None):
            secrets.add(value)
        elif option_key(name) in ("customheaders", "oauthtokenheaders"):
            for hname, hvalue in _parse_header_lines(value, name, strict=False):
                if is_secret_header_name(hname) and hvalue:
                    secrets.add(hvalue)
                    secrets.add(header_credential(hvalue))
        elif option_key(name) == "customurlparams":
            for pname, pvalue in custom_url_params({name: value}):
                if pvalue and is_secret_query_name(pname):
                    secrets.add(pvalue)
    user, password = options.get("User"), options.get("Password")
    if password:
        secrets.add_basic(user or "", password)


# -- helpers the HTTP layer reads -----------------------------------------------------------------
_HEADER_SPLIT = re.compile(r"\r\n|\n|\r|\\r\\n|\\n")
_TOKEN_CHARS = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# what a field value cannot carry (RFC 9110 §5.5): line breaks and the other controls (HTAB is allowed)
_FIELD_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def field_value(text: str) -> str:
    """A header value as HTTP defines it: the blanks (SP, HTAB) around it are not part of it (RFC 9110 §5.5)."""
    return text.strip(" \t")


def header_problem(name: str, value: str) -> Optional[str]:
    """What HTTP cannot carry in the header `name: value` (a name that is no token, a control character or line
    break in the value), or None. The value is taken as `field_value` gives it."""
    if not _TOKEN_CHARS.match(name):
        return f"the header name {name!r} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~ only)"
    m = _FIELD_CONTROLS.search(value)
    if m:
        what = "a line break" if m.group(0) in "\r\n" else f"the control character {m.group(0)!r}"
        return f"the value of the header {name} has {what}, which HTTP cannot carry"
    return None


def _parse_header_lines(value: str, option: str, *, strict: bool = True) -> list[tuple[str, str]]:
    headers = []
    for lineno, line in enumerate(_HEADER_SPLIT.split(value or ""), 1):
        if not line.strip():
            continue
        name, sep, hvalue = line.partition(":")
        name = name.strip()
        if not sep or not name or not _TOKEN_CHARS.match(name):
            if strict:
                raise OptionError(f"option {option}: line {lineno} is not 'Name: value' "
                                  f"(separate headers with newlines or a literal \\n)")
            continue
        hvalue = field_value(hvalue)
        problem = header_problem(name, hvalue) if strict else None
        if problem:
            raise OptionError(f"option {option}: line {lineno}: {problem}")
        headers.append((name, hvalue))
    return headers


def custom_headers(options: Mapping[str, str], name: str = "CustomHeaders") -> list[tuple[str, str]]:
    """`CustomHeaders` as (name, value) pairs: `Name: value` lines separated by CRLF, LF or a literal `\\n`."""
    return _parse_header_lines(_get(options, name) or "", name)


def custom_url_params(options: Mapping[str, str], name: str = "CustomUrlParams") -> list[tuple[str, str]]:
    """`CustomUrlParams` (`a=1&b=2`, URL-decoded; a leading `?` is ignored) as pairs."""
    text = (_get(options, name) or "").strip().lstrip("?")
    out = []
    for part in text.split("&"):
        if not part.strip():
            continue
        k, _, v = part.partition("=")
        out.append((unquote_plus(k.strip()), unquote_plus(v.strip())))
    return out


def oauth_params(options: Mapping[str, str], name: str = "OAuthParams") -> list[tuple[str, str]]:
    """`OAuthParams` (`name=value,name2=value2`, as CData documents it) as pairs."""
    text = _get(options, name) or ""
    out: list[tuple[str, str]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            raise OptionError(f"option {name}: entry {len(out) + 1} is not name=value "
                              f"(write name=value,name2=value2)")
        out.append((k.strip(), v.strip()))
    return out


def timeout(options: Mapping[str, str]) -> Optional[float]:
    """`Timeout` in seconds (None when unset; 0 means no timeout, as CData defines it)."""
    text = _get(options, "Timeout")
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        raise OptionError(f"option Timeout must be a number of seconds, not {str(text).strip()!r}") from None
    if value < 0:
        raise OptionError("option Timeout must not be negative")
    return value


def max_response_bytes(options: Mapping[str, str]) -> Optional[int]:
    """`MaxResponseBytes`: the most bytes one response may hold once decompressed (None when unset: the HTTP
    layer's default, 256 MiB; docs/reference/contract.md §11)."""
    text = _get(options, "MaxResponseBytes")
    if text is None or str(text).strip() == "":
        return None
    value = str(text).strip().replace("_", "").replace(",", "")
    if not value.isdigit() or int(value) <= 0:
        raise OptionError(f"option MaxResponseBytes must be a positive number of bytes, not {str(text).strip()!r}")
    return int(value)


#: `MaxConcurrency` when neither the option nor `--concurrency` gives one (docs/reference/contract.md §7)
DEFAULT_CONCURRENCY = 4


def concurrency(options: Mapping[str, str], given: Optional[int] = None) -> int:
    """Requests of one run in flight at most: `--concurrency` (`given`), else `MaxConcurrency`, else 4."""
    text = str(given) if given is not None else _get(options, "MaxConcurrency")
    if text is None or str(text).strip() == "":
        return DEFAULT_CONCURRENCY
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise OptionError(f"MaxConcurrency (--concurrency) must be a whole number of at least 1, not "
                          f"{str(text).strip()!r}")
    return value


def rate(options: Mapping[str, str], given: Optional[float] = None) -> Optional[float]:
    """Requests per second at most: `--rate` (`given`), else `MaxRequestsPerSecond`; None: no limit."""
    text = str(given) if given is not None else _get(options, "MaxRequestsPerSecond")
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise OptionError(f"MaxRequestsPerSecond (--rate) must be a number of requests per second above 0, not "
                          f"{str(text).strip()!r}")
    return value


def proxies(options: Mapping[str, str], secrets: Optional[Redactor] = None) -> Optional[dict[str, str]]:
    """A requests `proxies` mapping from ProxyServer/ProxyPort (+ ProxyUser/ProxyPassword), or None."""
    server = (_get(options, "ProxyServer") or "").strip()
    if not server:
        return None
    port = (_get(options, "ProxyPort") or "").strip()
    scheme = "http"
    if "://" in server:
        scheme, _, server = server.partition("://")
    server = server.rstrip("/")
    if port:
        if not port.isdigit():
            raise OptionError(f"option ProxyPort must be a port number, not {port!r}")
        if ":" not in server.rsplit("]", 1)[-1]:
            server = f"{server}:{port}"
    user = _get(options, "ProxyUser") or ""
    password = _get(options, "ProxyPassword") or ""
    auth = ""
    if user:
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
        if secrets is not None and password:
            secrets.add(password)
    url = f"{scheme}://{auth}{server}"
    return {"http": url, "https": url}


def _get(options: Mapping[str, str], name: str) -> Optional[str]:
    if isinstance(options, ConnectionOptions):
        return options.get(name)
    if name in options:
        return options[name]
    key = option_key(name)
    for k, v in options.items():
        if option_key(k) == key:
            return v
    return None


# -- authentication (docs/reference/contract.md §4): CData-named options -> an auth object of rsd.http.auth ----
def _opt(options: Mapping[str, str], name: str) -> Optional[str]:
    value = _get(options, name)
    if value is None:
        return None
    value = str(value)
    return value if value.strip() != "" else None


def auth_from_options(options: Mapping[str, str], *, client: Optional[HttpClient] = None,
                      redactor: Optional[Redactor] = None,
                      clock: Callable[[], float] = time.monotonic) -> Union[OAuth2Auth, BasicAuth, BearerAuth, None]:
    """The auth the options ask for, or None.

    `AuthScheme=OAuth` (or `OAuth2`) with a token URL -> `OAuth2Auth`; `AuthScheme=Basic` -> `BasicAuth`;
    `OAuthAccessToken` alone -> `BearerAuth`. Any other scheme (None, or one the profile handles itself,
    like an API driver's `AuthScheme=APIKey`) -> None. Raises `OptionError` for incomplete settings.
    """
    from .http.auth import GRANT_TYPES, BasicAuth, BearerAuth, OAuth2Auth, TokenEndpoint
    from .http.redact import Redactor

    redactor = redactor if redactor is not None else Redactor()
    scheme = (_opt(options, "AuthScheme") or "").strip().lower().replace(" ", "")
    if scheme in ("oauth", "oauth2", "oauth2.0", "oauth20", "basic"):
        typos = misspelt_options(options)
        if typos:  # names only: the value of a misspelt secret option is a secret too
            raise OptionError("; ".join(f"option {given} is not an option rsd knows: did you mean {meant}?"
                                        for given, meant in typos))
    given_token = _opt(options, "OAuthAccessToken")
    if scheme in ("oauth", "oauth2", "oauth2.0", "oauth20"):
        url = _opt(options, "OAuthAccessTokenURL") or _opt(options, "OAuthRefreshTokenURL")
        if url is None:
            if given_token:
                return BearerAuth(given_token, redactor)
            raise OptionError("AuthScheme=OAuth needs the option OAuthAccessTokenURL (the token endpoint) "
                              "or OAuthAccessToken (a token to send as it is)")
        refresh_token = _opt(options, "OAuthRefreshToken")
        user, password = _opt(options, "User"), _opt(options, "Password")
        grant_name = (_opt(options, "OAuthGrantType") or "").strip().lower()
        if not grant_name:
            grant_name = "refresh" if refresh_token else ("password" if user and password else "client")
        if grant_name == "code":
            raise OptionError("OAuthGrantType=CODE needs a browser sign-in, which rsd does not do: sign in once "
                              "elsewhere, then run with OAuthGrantType=REFRESH and OAuthRefreshToken")
        if grant_name not in GRANT_TYPES:
            raise OptionError(f"option OAuthGrantType must be REFRESH, CLIENT or PASSWORD, not {grant_name.upper()!r}")
        endpoint = TokenEndpoint(
            url=url, client_id=_opt(options, "OAuthClientId"), client_secret=_opt(options, "OAuthClientSecret"),
            client_auth=_opt(options, "OAuthClientAuth") or "body", params_in=_opt(options, "OAuthParamsIn") or "body",
            scope=_opt(options, "Scope"), extra=oauth_params(options),
            headers=custom_headers(options, "OAuthTokenHeaders"))
        source = options.source_file("OAuthRefreshToken") if hasattr(options, "source_file") else None
        return OAuth2Auth(endpoint, GRANT_TYPES[grant_name], client=client, redactor=redactor,
                          refresh_token=refresh_token, username=user, password=password,
                          refresh_token_file=source, access_token=given_token, clock=clock)
    if scheme == "basic":
        user = _opt(options, "User")
        if user is None:
            raise OptionError("AuthScheme=Basic needs the options User and Password")
        return BasicAuth(user, _opt(options, "Password") or "", redactor)
    if given_token:
        return BearerAuth(given_token, redactor)
    return None
