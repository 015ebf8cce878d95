"""The driver built-in operations rsd runs besides the provider operations: `oauthGetAccessToken` and
`coreListIndexes` (docs/reference/rsd-format.md §8).

Owns: what each of them reads from a call's input and what it yields, registered in `operations.OPERATIONS`
with `@operation` (so `rsd check` knows them from the same table). Must not: interpret statements, build API
requests (the token request is `rsd.http.auth`'s `TokenEndpoint`), or write output.

- `oauthGetAccessToken` (https://cdn.cdata.com/help/DWK/tableau/pg_op-oauthgetaccesstoken.htm): the token
  request of a profile that obtains its own token. Inputs are attributes of the call's input (the `in=` item
  or the item stack), the connection options of the same name beneath them: `OAuthAccessTokenURL` (for a
  refresh, `OAuthRefreshTokenURL` first), `OAuthClientId`, `OAuthClientSecret`, `GrantType` (else
  `OAuthGrantType`: CODE, PASSWORD, CLIENT, REFRESH), `OAuthRefreshToken`, `Scope`, `User`/`Password`,
  `Verifier`/`CallbackURL` (CODE), `OAuthParams`, `OAuthClientAuth`, `OAuthParamsIn`, `OAuthTokenHeaders`. It
  yields one item with `OAuthAccessToken`, `OAuthRefreshToken` and `ExpiresIn` (the results the page lists);
  every token goes to the redactor. A token request counts as a request, never as a page.
- `coreListIndexes` (the `sys_indexes` system table of API profiles): one row per `key="true"` column of the
  profiles beside the one running (the same folder, or the same `.apip` archive), optionally only the table
  named by the input `TableName`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

from ..errors import OptionError
from ..http.auth import GRANT_TYPES, TokenEndpoint
from ..mapping import normalize_type
from ..options import custom_headers, oauth_params
from ..reader import ast, read_apip, read_profile
from .interpreter import Exec
from .operations import Operations, Page, PlannedRequest, operation
from .request import Attrs

#: the results of oauthGetAccessToken, as the operation's page names them
TOKEN_RESULTS = ("OAuthAccessToken", "OAuthRefreshToken", "ExpiresIn")


def _grant(a: Attrs, node: ast.Node) -> tuple[str, list[tuple[str, Optional[str]]]]:
    """The RFC 6749 grant type and its form fields."""
    refresh = a.get("oauthrefreshtoken")
    user, password = a.get("user"), a.get("password")
    name = (a.get("granttype") or a.get("oauthgranttype") or "").strip().lower()
    if not name:
        name = "refresh" if refresh else ("password" if user and password else "client")
    if name in ("code", "authorization_code"):
        verifier = a.get("verifier")
        if not verifier:
            raise OptionError(f"{node.loc}: oauthGetAccessToken with GrantType=CODE needs Verifier (the code of a "
                              f"browser sign-in, which rsd does not do); sign in once elsewhere and use "
                              f"GrantType=REFRESH with OAuthRefreshToken")
        return "authorization_code", [("code", verifier), ("redirect_uri", a.get("callbackurl"))]
    grant = GRANT_TYPES.get(name)
    if grant is None:
        raise OptionError(f"{node.loc}: oauthGetAccessToken: GrantType must be CODE, PASSWORD, CLIENT or REFRESH, "
                          f"not {name.upper()!r}")
    if grant == "refresh_token":
        if not refresh:
            raise OptionError(f"{node.loc}: oauthGetAccessToken with GrantType=REFRESH needs OAuthRefreshToken")
        return grant, [("refresh_token", refresh)]
    if grant == "password":
        return grant, [("username", user), ("password", password or "")]
    return grant, []


@operation("oauthGetAccessToken")
def _oauth_get_access_token(ops: Operations, x: Exec, a: Attrs, node: ast.Node, *, op: str,
                            kind: Optional[str], typed: bool = False) -> Iterator[Page]:
    for secret in ("oauthclientsecret", "oauthrefreshtoken", "password", "verifier"):
        ops.redactor.add(a.get(secret))
    grant, fields = _grant(a, node)
    url = (a.get("oauthrefreshtokenurl") if grant == "refresh_token" else None) or a.get("oauthaccesstokenurl")
    if not url:
        raise OptionError(f"{node.loc}: oauthGetAccessToken needs the token endpoint: set OAuthAccessTokenURL "
                          f"(an attribute of the call's input, or the connection option)")
    endpoint = TokenEndpoint(
        url=url, client_id=a.get("oauthclientid"), client_secret=a.get("oauthclientsecret"),
        client_auth=a.get("oauthclientauth") or "body", params_in=a.get("oauthparamsin") or "body",
        scope=a.get("scope"), extra=oauth_params({"OAuthParams": a.get("oauthparams") or ""}),
        headers=custom_headers({"OAuthTokenHeaders": a.get("oauthtokenheaders") or ""}, "OAuthTokenHeaders"))
    if ops.plan_hook is not None:  # `rsd plan`: the token request is the first request; it is not sent
        ops.plan_hook(PlannedRequest(op=op, node=node, method="POST", kind="json", url=url, headers=[],
                           data=f"grant_type={grant}", pager=None, repeat=None, model=""))
    payload = endpoint.request(ops.client(node), grant, [(k, v) for k, v in fields if v is not None], ops.redactor)
    values = (payload.get("access_token"), payload.get("refresh_token") or a.get("oauthrefreshtoken"),
              payload.get("expires_in"))
    yield [(None,) * len(ops.colnames)], tuple(zip(TOKEN_RESULTS, values))


def _siblings(profile_path: str) -> list[ast.Profile]:
    """The profiles beside `profile_path`: the members of its `.apip` archive, or the `.rsd` files of its folder."""
    norm = profile_path.replace("\\", "/")
    head, sep, _ = norm.partition(".apip/")
    if sep and Path(head + ".apip").is_file():
        return list(read_apip(head + ".apip").profiles)
    folder = Path(profile_path).parent
    return [read_profile(p) for p in sorted(folder.glob("*.rsd")) if p.is_file()]


@operation("coreListIndexes")
def _core_list_indexes(ops: Operations, x: Exec, a: Attrs, node: ast.Node, *, op: str,
                       kind: Optional[str], typed: bool = False) -> Iterator[Page]:
    wanted = (a.get("tablename") or "").strip().lower()
    own = Path(x.profile_path).name.lower()
    schema = Path(x.profile_path.replace("\\", "/").split(".apip/")[0]).stem if ".apip/" in x.profile_path \
        else Path(x.profile_path).parent.name
    found = []
    for prof in _siblings(x.profile_path):
        if prof.info is None or Path(prof.path).name.lower() == own:
            continue
        table = prof.title
        if wanted and table.lower() != wanted:
            continue
        for c in prof.info.columns:
            if c.key:
                found.append({"indexname": "PrimaryKey", "columnname": c.name, "catalogname": "CData",
                              "schemaname": schema, "tablename": table, "isunique": True, "isprimary": True,
                              "type": normalize_type(c.type), "sortorder": "A"})
    rows = [tuple(r.get(name) for name in ops.colnames) for r in found]
    ops.run.pages += 1
    ops.run.page_rows(len(rows))
    if rows:
        yield rows, ()
