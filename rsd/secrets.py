"""What is a credential: the one place that decides whether a name or a written value is a secret.

Owns: the vocabulary of credential names (options, profile attributes, `ProfileSettings` keys, job variables,
request headers, query parameters and form fields) and the patterns of credentials written out literally in text
(`Authorization: Bearer xyz`, `?api_key=xyz`). Redaction (`rsd.http.redact`), options (`rsd.options`), jobs
(`rsd.jobs`) and `rsd check` (RSD601-RSD605) all read these. Must not: import anything of rsd, or hold values
(the run's secret values live in its `Redactor`).

Two kinds of question, two rules:
- *settings* (an option, an attribute): is the value a credential (`Password`, `OAuthClientSecret`, `APIKey`) or
  a setting about one (`OAuthAccessTokenURL`, `OAuthGrantType`, `nextpagetokenpath`)? `is_secret_name`.
- *traffic and variables* (a header, a query parameter, a job variable): anything that may carry one is hidden
  (`X-Auth-Session`, `sig`, `access_token`). `is_secret_header_name`, `is_secret_query_name`,
  `is_secret_variable`.
"""
from __future__ import annotations

import re

# -- settings ------------------------------------------------------------------------------------------------------
_CREDENTIAL_WORD = re.compile(
    r"password|passwd|secret|token|api_?key|api-key|accesskey|private|passphrase|credential", re.I)
#: names that end so are settings about a credential, not the credential (OAuthAccessTokenURL, OAuthParamsIn)
NOT_SECRET_SUFFIXES = ("url", "uri", "type", "in", "auth", "scheme", "header", "headers", "location", "path",
                       "file", "expiry", "expires", "expiresin", "param", "params", "name")
#: credential options rsd reads itself; a misspelling of one of them is a secret all the same
SECRET_OPTION_NAMES = ("Password", "OAuthClientSecret", "OAuthRefreshToken", "OAuthAccessToken", "ProxyPassword",
                       "APIKey", "ClientSecret", "RefreshToken", "AccessToken")


def name_key(name: str) -> str:
    """A setting's name as compared: blanks removed, lower case, without an item or keyword prefix
    (`_connection.`, `header:`) and without a `#N` index."""
    key = "".join(str(name).split()).lower()
    key = key.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
    return key.split("#", 1)[0]


def is_secret_name(name: str) -> bool:
    """Whether an option's or attribute's value is a credential (Password, OAuthClientSecret, APIKey), not a
    setting about one (OAuthAccessTokenURL, OAuthGrantType, OAuthTokenHeaders, nextpagetokenparam)."""
    key = name_key(name)
    return bool(_CREDENTIAL_WORD.search(key)) and not key.endswith(NOT_SECRET_SUFFIXES)


# -- traffic and variables -----------------------------------------------------------------------------------------
#: query parameters (and form fields) whose value is hidden whatever it is (lower-case, after URL-decoding)
SECRET_QUERY_NAMES = frozenset({
    "access_token", "token", "api_key", "apikey", "api-key", "key", "client_secret", "password", "passwd",
    "pwd", "secret", "refresh_token", "id_token", "code", "signature", "sig", "auth", "authorization",
    "session", "sessionid", "x-api-key", "assertion", "client_assertion",
})
_SECRET_QUERY_PART = re.compile(r"token|secret|password|passwd|api_?key|signature|credential", re.I)

#: headers whose value is hidden whatever it is
SECRET_HEADER_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
_SECRET_HEADER_PART = re.compile(r"key|token|secret|auth|session|password|passwd|credential|signature", re.I)


def is_secret_query_name(name: str) -> bool:
    n = str(name).strip().lower()
    return n in SECRET_QUERY_NAMES or bool(_SECRET_QUERY_PART.search(n))


def is_secret_header_name(name: str) -> bool:
    n = str(name).strip().lower()
    return n in SECRET_HEADER_NAMES or bool(_SECRET_HEADER_PART.search(n))


def is_secret_variable(name: str) -> bool:
    """A job variable (or a value a step sets) named like something that carries a credential."""
    return bool(_SECRET_HEADER_PART.search(str(name)))


def header_credential(value: str) -> str:
    """The credential part of an auth header value: `Bearer xyz` -> `xyz`; a value without a scheme word as is."""
    scheme, sep, rest = str(value).strip().partition(" ")
    return rest.strip() if sep and rest.strip() and scheme.isalpha() else str(value)


# -- credentials written out in text (rsd check) --------------------------------------------------------------------
_TOKEN = r"[A-Za-z0-9\-._~+/]{8,}=*"
#: `Authorization: Bearer abcdefgh...` anywhere in a value
AUTH_HEADER = re.compile(r"(?i)\bauthorization\s*[:=]\s*(bearer|basic|token)\s+(" + _TOKEN + ")")
#: a whole value that is `Bearer abcdefgh...`
BARE_SCHEME = re.compile(r"(?i)^\s*(bearer|basic|token)\s+(" + _TOKEN + r")\s*$")
#: `?access_token=...` and its kin in a URL or query text
URL_SECRET = re.compile(
    r"(?i)(?:^|[?&;\s])(access_token|accesstoken|api_key|apikey|api-key|client_secret|clientsecret|password"
    r"|passwd|pwd|secret|token|auth_token|private_token|key|sig|signature)=([^&\s#]*)")
#: header names that carry a credential (for literal `Header:Value#N` and CustomHeaders lines)
AUTH_HEADER_NAME = re.compile(r"(?i)^(authorization|proxy-authorization|x-api-key|api-key|apikey|x-apikey"
                              r"|x-auth-token|x-access-token|access-token|x-token|token|.*(?:api[-_]?key|token|"
                              r"secret|password).*)$")
