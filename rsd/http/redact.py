"""Redaction: the one place that knows which strings are secret and how to hide them.

Owns: the run's set of secret values (every value that came from `${env:}`, `${file:}`, `${keyring:}`,
`${cmd:}`, every secret-looking option and every token obtained at run time) and the rules that hide
them in free text, URLs and headers. Must not: print, raise, or keep anything but the secrets.

A secret is hidden in the forms it is likely to appear in: as given, URL-encoded (`%2F`, `+`),
base64-encoded, JSON-escaped (also as PHP writes it, `\\/` for `/`, and with upper-case `\\uXXXX`), XML-escaped
(`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`/`&#39;`), and (`add_basic`) as the base64 of `user:password` of a
Basic header: the forms an API that echoes a secret writes it in, which a raw body (a trace, a cassette) keeps.
Values shorter than `MIN_SECRET_LENGTH` characters are ignored: hiding every `1` or `ab` in a
message makes it unreadable and protects nothing a brute force would not find.
"""
from __future__ import annotations

import base64
import json
import re
import threading
from typing import Iterable, Mapping, Optional, Union, overload
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus, urlsplit, urlunsplit

from ..secrets import (  # noqa: F401
    SECRET_HEADER_NAMES,
    SECRET_QUERY_NAMES,
    is_secret_header_name,
    is_secret_query_name,
)

MASK = "***"
MIN_SECRET_LENGTH = 4

_AUTH_SCHEME = re.compile(r"^(Bearer|Basic|Digest|Token|OAuth|Negotiate|NTLM|ApiKey|SharedAccessSignature)\s+", re.I)

#: a value that is a whole absolute URL (`add_reference`)
_URL_VALUE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$")

# `?name=value` / `&name=value` inside free text (a URL in an exception message, a trace line)
_QUERY_IN_TEXT = re.compile(r"([?&;])([^=&#\s'\"<>?;]+)=([^&#\s'\"<>;)]*)")


#: a `\uXXXX` escape (json writes lower-case hex; other encoders upper-case)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-f]{4})")


def _forms(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), quote(secret, safe="/:=@")}
    raw = secret.encode("utf-8")
    b64 = base64.b64encode(raw).decode("ascii")
    forms.update({b64, b64.rstrip("="), base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")})
    for escaped in (json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        upper = _UNICODE_ESCAPE.sub(lambda m: "\\u" + m[1].upper(), escaped)
        forms.update({escaped, escaped.replace("/", "\\/"), upper, upper.replace("/", "\\/")})
    xml = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    quoted = xml.replace('"', "&quot;")
    forms.update({xml, quoted.replace("'", "&apos;"), quoted.replace("'", "&#39;")})
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


class Redactor:
    """The secrets of one run. Thread-safe; `redact` is one regex pass over the text."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._forms: set[str] = set()
        self._byte_forms: Optional[tuple[bytes, ...]] = None
        self._pattern: re.Pattern[str] | None = None
        for s in secrets:
            self.add(s)

    def __len__(self) -> int:
        return len(self._secrets)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and value in self._secrets

    def add(self, secret: object) -> None:
        """Treat `secret` as secret from now on (None, empty and very short values are ignored)."""
        if secret is None:
            return
        text = str(secret)
        candidates = {text, text.strip()}
        with self._lock:
            new = {c for c in candidates if len(c) >= MIN_SECRET_LENGTH and c not in self._secrets}
            if not new:
                return
            self._secrets.update(new)
            for c in new:
                self._forms.update(_forms(c))
            self._pattern = None  # compiled again on the next redact()
            self._byte_forms = None

    def _compile(self) -> "re.Pattern[str] | None":
        with self._lock:
            if self._pattern is None and self._forms:
                # longest first, so a secret that contains another is hidden whole
                alternatives = sorted(self._forms, key=lambda f: (-len(f), f))
                self._pattern = re.compile("|".join(re.escape(f) for f in alternatives))
            return self._pattern

    def add_reference(self, value: object) -> None:
        """A value a `${env:...}`/`${file:...}`/`${keyring:...}`/`${cmd:...}` reference produced: secret as a whole,
        unless it is a URL (a `BaseURL` kept in the environment). Then only its credential parts are: the password
        of its userinfo (or the user part alone, `https://TOKEN@host`), its fragment, and the values of its query
        (every value of a credential-named parameter; others unless they are a short word or number such as
        `format=json`), so that messages still show which host and path failed."""
        text = "" if value is None else str(value).strip()
        if not _URL_VALUE.match(text):
            self.add(value)
            return
        try:
            parts = urlsplit(text)
            password, user = parts.password, parts.username
        except ValueError:
            self.add(value)
            return
        if password:
            self.add(unquote_plus(password))
            self.add(password)
        elif user:
            self.add(unquote_plus(user))
            self.add(user)
        for name, val in parse_qsl(parts.query, keep_blank_values=True):
            if val and (is_secret_query_name(name) or len(val) >= 8 or not val.isalnum()):
                self.add(val)
        if parts.fragment:
            self.add(parts.fragment)

    def add_basic(self, user: object, password: object) -> None:
        """A Basic credential: the password and the base64 of `user:password` as a header carries it."""
        self.add(password)
        if password:
            self.add(base64.b64encode(f"{user or ''}:{password}".encode("utf-8")).decode("ascii"))

    def finds_in(self, data: bytes, headers: Optional[Mapping[str, str]] = None) -> bool:
        """Whether a response's raw body (or one of its header values) holds a known secret in any of its forms:
        one fast substring search per form, cheap enough for every page (the run's secrets are few)."""
        forms = self._byte_forms
        if forms is None:
            with self._lock:
                forms = self._byte_forms = tuple(f.encode("utf-8") for f in self._forms)
        if not forms:
            return False
        if any(f in data for f in forms):
            return True
        return bool(headers) and any(self.finds(v) for v in headers.values())  # type: ignore[union-attr]

    def finds(self, text: object) -> bool:
        """Whether `text` holds a known secret in any of its forms (as given, URL-encoded, base64, JSON-escaped)."""
        if not text:
            return False
        pattern = self._pattern
        if pattern is None:
            pattern = self._compile()
        return pattern is not None and pattern.search(text if isinstance(text, str) else str(text)) is not None

    def redact(self, text: object) -> str:
        """`text` with every known secret (and every secret-named URL query value) replaced by `***`."""
        if text is None:
            return ""
        s = text if isinstance(text, str) else str(text)
        pattern = self._pattern  # read once: add() may reset it from another thread
        if pattern is None:
            pattern = self._compile()
        if pattern is not None:
            s = pattern.sub(MASK, s)
        if "=" in s:
            s = _QUERY_IN_TEXT.sub(_mask_query_match, s)
        return s

    def redact_known(self, text: str) -> str:
        """`text` with every known secret replaced by `***`, and nothing else changed: for data that must stay as it
        is but for the secrets (a recorded response body, whose other `?code=` or `&key=` text is data)."""
        pattern = self._pattern
        if pattern is None:
            pattern = self._compile()
        return pattern.sub(MASK, text) if pattern is not None else text

    def redact_url(self, url: object) -> str:
        """A URL safe to show: secret-named query parameters and userinfo passwords hidden, known secrets hidden."""
        if url is None:
            return ""
        text = str(url)
        try:
            parts = urlsplit(text)
        except ValueError:
            return self.redact(text)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, sep, _pw = userinfo.partition(":")
            netloc = f"{user}:{MASK}@{host}" if sep else f"{userinfo}@{host}"
        query = _redact_query(parts.query) if parts.query else parts.query
        return self.redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    @overload
    def redact_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]: ...

    @overload
    def redact_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]: ...

    def redact_headers(self, headers: Union[Mapping[str, str], Iterable[tuple[str, str]], None]
                       ) -> Union[dict[str, str], list[tuple[str, str]]]:
        """Headers safe to show: a dict for a mapping, a list of pairs for pairs.

        Secret-named headers (Authorization, Cookie, X-API-Key, anything with key/token/secret/auth/
        session/password in its name) show `***`, keeping an authorization scheme word (`Bearer ***`).
        """
        if headers is None:
            return {}
        if isinstance(headers, Mapping):
            return {k: self._header_value(k, v) for k, v in headers.items()}
        return [(k, self._header_value(k, v)) for k, v in headers]

    def _header_value(self, name: str, value: object) -> str:
        text = "" if value is None else str(value)
        if is_secret_header_name(str(name)):
            if not text:
                return text
            m = _AUTH_SCHEME.match(text)
            return f"{m.group(1)} {MASK}" if m else MASK
        return self.redact(text)


def _redact_query(query: str) -> str:
    out = []
    for part in query.split("&"):
        name, sep, _value = part.partition("=")
        if sep and is_secret_query_name(unquote_plus(name)):
            out.append(f"{name}={MASK}")
        else:
            out.append(part)
    return "&".join(out)


def _mask_query_match(m: re.Match[str]) -> str:
    if m.group(3) and is_secret_query_name(unquote_plus(m.group(2))) and m.group(3) != MASK:
        return f"{m.group(1)}{m.group(2)}={MASK}"
    return str(m.group(0))
