"""The table of every diagnostic code `rsd check` (and the reader) can emit.

Owns: code, severity, title, explanation and fix of each code; the one source that
`python -m rsd.check.docgen` turns into docs/diagnostics.md. Must not: decide when a code applies
(that is the rules' job) or format anything for a terminal.

Codes are stable: a code is never reused for a different finding. Hundreds group them:
0xx reading, 1xx keywords and structure, 2xx templates and formatters, 3xx references,
4xx paths, data model and types, 5xx paging, 6xx credentials and local files.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Optional

from ..errors import Diagnostic, Loc

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: str
    title: str
    explanation: str
    fix: str


_TABLE = (
    # --- 0xx: reading --------------------------------------------------------------------------
    Code("RSD001", ERROR, "XML is broken beyond repair",
         "The reader repairs what real profiles get wrong (a bare `&` in an attribute value, undeclared `api:`, "
         "`rsb:`, `arc:`, `xs:` and `other:` prefixes). What is left after those repairs (an unclosed element, "
         "mismatched tags, an unquoted attribute value) cannot be read, so nothing of the file can run.",
         "Fix the XML at the position shown: close the element, match the tag names, quote the value."),
    Code("RSD002", ERROR, "unknown keyword",
         "An element with the `api:`, `rsb:` or `arc:` prefix whose name is not a keyword of the API Script "
         "language (docs/reference/rsd-format.md §6). The interpreter would not know what to do with it.",
         "Correct the spelling (the hint suggests the closest keyword) or remove the element."),
    Code("RSD003", ERROR, "no api:script root",
         "The document's root element is not `api:script` (or `rsb:script`/`arc:script`), so it is not an "
         "API profile.",
         "Wrap the profile in `<api:script xmlns:api=\"http://apiscript.com/ns?v1\">...</api:script>`."),
    Code("RSD004", ERROR, "api:info misplaced or duplicated",
         "`api:info` declares the table (title, columns, inputs); it must be a direct child of the root "
         "`api:script` and appear once. Elsewhere, or a second time, it is not used as the table's "
         "declaration.",
         "Move the `api:info` directly under the root script, before the statements; merge duplicates."),
    Code("RSD005", ERROR, "raw '<' in an attribute value",
         "XML does not allow a `<` inside an attribute value (`exp=\"[n] < 5\"`): it must be written `&lt;`. "
         "The XML readers of CData's products reject such a file, so a profile with one runs nowhere but here; "
         "no public profile has one. rsd reads the rest of the file as if it were written `&lt;`, so the other "
         "findings are still reported.",
         "Write `&lt;` (or turn the comparison around: `[n] &gt;= 5` reads better than `5 &lt;= [n]` anyway)."),
    Code("RSD006", ERROR, "statements nested too deep",
         "Statements nest more than 100 deep. No real profile comes near (the public ones nest 6 deep at most); "
         "a file that does is generated or hostile, and every stage that walks the statements (check, plan, run) "
         "would have to follow it. The reader keeps the first 100 levels and reports the first element below.",
         "Flatten the nesting: one `api:if` with a combined condition, an `api:select`, or separate statements."),
    Code("RSD010", ERROR, "options file line is not NAME=VALUE",
         "An options file holds one connection option a line, `NAME=VALUE`; blank lines and lines starting "
         "with `#` are ignored. This line is neither.",
         "Write the line as `NAME=VALUE`, or comment it out with `#`."),
    Code("RSD011", ERROR, "file cannot be read",
         "The file or `.apip` archive does not exist, is not readable, is not a valid ZIP archive, or its "
         "text cannot be decoded.",
         "Check the path, the file's permissions and that an `.apip` is an intact ZIP archive."),
    # --- 1xx: keywords and structure -----------------------------------------------------------
    Code("RSD101", ERROR, "keyword is missing a required parameter",
         "The keyword needs this parameter to do anything (for example `api:set` needs `attr`, `api:call` "
         "needs `op`, `api:if` needs `exp` or `attr`). It cannot run without it.",
         "Add the parameter named in the message."),
    Code("RSD102", WARNING, "unknown parameter",
         "The keyword takes a fixed set of parameters and this is not one of them; it is ignored at run "
         "time. Usually a misspelling (`atr=` for `attr=`).",
         "Correct the spelling (the hint suggests the closest parameter) or remove the parameter."),
    Code("RSD103", ERROR, "api:else outside a conditional",
         "`api:else` runs when the test of its parent fails, so it must be a direct child of a conditional "
         "keyword (`api:if`, `api:check`, `api:equals`, `api:notequals`, `api:exists`/`api:notnull`, "
         "`api:null`, `api:match`), or of an `api:call`, where it runs when the call produced no item. Anywhere "
         "else it has no test to be the alternative of.",
         "Move the `api:else` inside the conditional it belongs to, conventionally as its last child."),
    Code("RSD104", ERROR, "api:case or api:default outside api:select",
         "`api:case` and `api:default` are the branches of an `api:select`; outside one they have no value "
         "to compare against.",
         "Move the element inside an `api:select`, or use `api:if`/`api:equals` instead."),
    Code("RSD105", ERROR, "more than one api:default",
         "An `api:select` may have at most one `api:default`: the branch taken when no `api:case` matched. "
         "A second one is ambiguous.",
         "Merge the `api:default` bodies into one."),
    Code("RSD106", WARNING, "api:first or api:last outside a loop",
         "`api:first` and `api:last` run on the first or last iteration of the enclosing `api:call` or "
         "`api:enum`. Outside one there is no iteration, and the body runs once as if it were not wrapped.",
         "Move the element into the body of an `api:call` or `api:enum`, or remove the wrapper."),
    Code("RSD107", ERROR, "api:break or api:continue outside a loop",
         "`api:break` and `api:continue` leave or skip an iteration of the enclosing `api:call` or "
         "`api:enum`. Outside one there is nothing to leave.",
         "Move the statement into a loop body, or use `api:throw` to stop the script."),
    Code("RSD108", WARNING, "unknown operation",
         "The `op` of `api:call`/`api:push` is not an operation rsd implements, nor close to one (that is "
         "RSD113). The known ones are jsonproviderGet, apisadoExecuteJSONGet, xmlproviderGet, csvproviderGet "
         "(the request operations), oauthGetAccessToken and coreListIndexes (driver built-ins rsd runs). A "
         "call to another operation fails when it runs.",
         "Use one of the known operations; for a JSON API that is `jsonproviderGet`."),
    Code("RSD109", WARNING, "no GET method",
         "`rsd run` runs the profile's `<api:script method=\"GET\">` block (a SELECT). This profile has "
         "method blocks but none for GET, so it produces no rows.",
         "Add `<api:script method=\"GET\">` with an `api:call` and `api:push`."),
    Code("RSD110", ERROR, "invalid parameter value",
         "The parameter takes one of a fixed set of values and this is none of them: `api:if operator` "
         "(null, notnull, hasvalue, equals, equalsignorecase, notequals, lessthan, greaterthan), "
         "`api:case match` and `api:match type` (exact, regex, glob), `action` on a conditional (break, continue), or "
         "`api:script method` (GET, POST, PUT, MERGE, PATCH, DELETE).",
         "Use one of the values listed in the message."),
    Code("RSD111", WARNING, "duplicate column",
         "Two `attr` elements of `api:info` have the same name (names are case-insensitive). Rows are keyed "
         "by column name, so the second hides the first.",
         "Rename or remove one of the columns."),
    Code("RSD112", WARNING, "no api:info",
         "The profile has no `api:info`, so it declares no columns: rows have nothing to carry and the "
         "table has no name but the file's.",
         "Add `<api:info title=\"...\">` with one `<attr name=\"...\" other:xPath=\"...\"/>` per column."),
    Code("RSD113", ERROR, "misspelt operation",
         "The `op` of `api:call`/`api:push` is one or two edits (a letter added, dropped, changed or two swapped) "
         "away from an operation rsd runs, and is none itself: a typo such as `apisadoExecuteJSONGett`. The "
         "call would fail when it runs. (An operation far from every known one is RSD108, a warning: it may be "
         "a driver built-in rsd does not know.)",
         "Use the operation the hint names."),
    Code("RSD114", ERROR, "column or input without a name",
         "An `attr` (column) or `input` of `api:info` has no `name` (or an empty one). A column is read and "
         "written by its name, so a nameless column can hold nothing; a nameless input cannot be passed.",
         "Add `name=\"...\"`, or remove the element."),
    Code("RSD115", WARNING, "header HTTP cannot carry",
         "A request header set in the profile (`Header:Name#N`/`Header:Value#N`, or a `CustomHeaders` line) has "
         "a line break or another control character in its value, or a name that is not an HTTP token "
         "(RFC 9110 §5.1, §5.5). Blanks around a value are fine: they are not part of it and are not sent.",
         "Remove the control character (a header value is one line); write the name with letters, digits and "
         "`-`."),
    # --- 2xx: templates and formatters ---------------------------------------------------------
    Code("RSD201", ERROR, "template syntax error",
         "A value with `[...]` expressions could not be parsed: an unclosed `[` or `(`, an unterminated "
         "quoted argument, or a `|` with no formatter after it. Literal brackets must be escaped as `\\[` "
         "and `\\]`; for values that must not be evaluated at all (XPaths such as `/a/b[1]`) use `api:setc`.",
         "Close the bracket or quote at the position shown, or escape literal brackets."),
    Code("RSD202", ERROR, "unknown formatter",
         "The formatter after `|` is not one rsd knows (`rsd formatters` lists them). The expression cannot "
         "be evaluated.",
         "Correct the spelling (the hint suggests the closest formatter)."),
    Code("RSD203", ERROR, "wrong number of formatter arguments",
         "The formatter was given fewer or more arguments than it takes.",
         "Pass the number of arguments the message gives."),
    # --- 3xx: references -----------------------------------------------------------------------
    Code("RSD301", WARNING, "reference to an attribute nothing sets",
         "`[name]` (or `[_input.name]`, `[item.name]`) reads an attribute that is not an input or column of "
         "`api:info` and that no `api:set`, `api:setc`, `api:setm`, `api:map`, `ElementMapName#N` or control "
         "attribute (`_value`, `_attr`, `_index`, `_code`, `_desc`, `_details`, `rows@next`) sets anywhere "
         "in the profile. At run time it is empty. Connection options (`_connection.*`) and query context "
         "(`_query.*`) are run-time values and never reported.",
         "Correct the name, declare it as an `<input>`, or give it a default: `[name | def('x')]`."),
    Code("RSD302", WARNING, "input never used",
         "An `<input>` of `api:info` is not read anywhere: no `[_input.name]`/`[name]` reference, no "
         "`{name}` URI placeholder, no keyword `attr`, no `other:queryslicercolumn`. Passing it with `-i` "
         "has no effect.",
         "Use it (`[_input.name]`) or remove the `<input>`."),
    Code("RSD303", WARNING, "URI placeholder matches nothing",
         "A `{name}` placeholder in a URI is filled from the attribute or input `name` at run time. Nothing "
         "in the profile declares or sets that name, so the run fails unless it is passed with `-i`.",
         "Declare it as an `<input>`, set it with `api:set`, or correct the name."),
    # --- 4xx: paths, data model, types ---------------------------------------------------------
    Code("RSD401", ERROR, "invalid JSONPath",
         "A `JSONPath` value (or a paging path written as JSONPath) does not parse. Values with `[...]` "
         "templates are checked at run time instead. A `;`-separated list is checked item by item; the "
         "XPath-style `/a/b` form is accepted too.",
         "Correct the path, e.g. `$.data.items`, or list several with `;`."),
    Code("RSD402", ERROR, "invalid XPath",
         "An `XPath`, `RepeatElement`, `other:xPath`, `ElementMapPath#N` or paging path does not parse as "
         "the XPath subset rsd uses (`/a/b`, relative `b/c`, `*` steps, `[n]` indexes).",
         "Correct the path; in `api:set` write literal `[n]` indexes with `api:setc` or as `\\[n\\]`."),
    Code("RSD403", WARNING, "misspelt xs:type",
         "The `xs:type` is not a type rsd knows but is close to one (`strig` for `string`). Unknown types are "
         "read as strings, which is probably not what was meant.",
         "Use the type the hint suggests."),
    Code("RSD404", WARNING, "unknown xs:type",
         "The `xs:type` is not a type rsd knows: string, integer, number, boolean, date, datetime, or one of "
         "their aliases (int, long, double, float, decimal, bool, timestamp...). Values of the column are read "
         "as strings, which is what a driver does too; the generator value `unknown` lands here.",
         "Use one of the known types, or `string`."),
    Code("RSD405", ERROR, "unknown DataModel",
         "`DataModel` is one of DOCUMENT (the default), FLATTENEDDOCUMENTS and RELATIONAL (case-insensitive). "
         "Any other value cannot be mapped.",
         "Use `DOCUMENT`, `FLATTENEDDOCUMENTS` or `RELATIONAL`."),
    Code("RSD406", ERROR, "DataModel RELATIONAL paths are not one table",
         "With `DataModel=RELATIONAL` a profile is one table of CData's relational model: the last path of the "
         "`JSONPath`/`XPath` list is the table, and the paths before it are its ancestors, whose keys fill the "
         "`<name>_id` foreign-key columns (`$.people;$.people.vehicles` gives the vehicles table with `_id` "
         "and `people_id`). A listed path that is not an ancestor of the last one (a sibling such as "
         "`$.people;$.orders`) names a second table, which one profile cannot produce. (Until rsd ran "
         "RELATIONAL, this code refused the data model itself.)",
         "List the table's ancestor paths first and its own path last; write one profile per table."),
    Code("RSD407", WARNING, "path index evaluated as a template",
         "In `api:set` every `[...]` is an expression, so a path such as `$.items[0]` or `/a/b[1]` loses its "
         "index: `[0]` reads an attribute named `0`, which is empty. A driver does the same, so the profile "
         "runs, but not with the path that was written.",
         "Write the path with `api:setc` (not evaluated) or escape the brackets: `$.items\\[0\\]`."),
    # --- 5xx: paging ---------------------------------------------------------------------------
    Code("RSD501", WARNING, "paging can never advance",
         "`EnablePaging` is true but no paging strategy is set (`pagenumberparam`, `pageoffsetparam`, "
         "`nextpagetokenpath`, `nextpageurlpath`, `pagingtype=LinkHeader`) and nothing sets `rows@next`. "
         "Real profiles do this; the run fetches one page and says so.",
         "Set a strategy (docs/reference/contract.md §5), set `rows@next` in the `api:call` body, or drop "
         "`EnablePaging`."),
    Code("RSD502", ERROR, "two paging strategies at once",
         "More than one paging strategy is set on the same request (for example `pagenumberparam` and "
         "`nextpageurlpath`). They contradict each other about what the next page is.",
         "Keep one strategy."),
    Code("RSD503", ERROR, "token paging without its other half",
         "Token (cursor) paging needs both `nextpagetokenpath` (where the token is in the response) and "
         "`nextpagetokenparam` (the query parameter that sends it back). With only one there is no next "
         "request.",
         "Set the missing attribute."),
    Code("RSD504", WARNING, "page size without its parameter",
         "`pagesize` and `pagesizeparam` go together: the size is sent as `?pagesizeparam=pagesize`. With "
         "only one of them nothing is sent. (`pageoffsetparam` needs no `pagesize`: the offset advances by "
         "the rows each page returned, so a server that caps the page size loses nothing.)",
         "Set both, or neither."),
    Code("RSD505", WARNING, "rows@next never changes",
         "The `api:call` body sets `rows@next` to a constant, so every page asks for the same next page. "
         "Loop detection stops the run after the second page.",
         "Compute the next state from the page, e.g. `[page | add(1)]` or a value from the response."),
    Code("RSD506", ERROR, "invalid paging value",
         "A paging attribute has a value that cannot be used: a start value in `pagenumberparam`/"
         "`pageoffsetparam` (`name;start`) or a `pagesize`/`maxpages` that is not a whole number, or a "
         "`pagingtype` other than `LinkHeader`.",
         "Use the form the message gives, e.g. `page;1`, `50`, `LinkHeader`."),
    Code("RSD507", WARNING, "paging attributes without EnablePaging",
         "A paging strategy attribute is set but `EnablePaging` is not true, so it is ignored and only one "
         "page is fetched.",
         "Add `<api:set attr=\"EnablePaging\" value=\"true\"/>`."),
    # --- 6xx: credentials and local files -------------------------------------------------------
    Code("RSD601", WARNING, "hard-coded Authorization header",
         "A value holds a literal `Authorization: Bearer ...` or `Basic ...` credential. Tokens are secret "
         "and short-lived: in a profile they leak to everyone who gets the file and break when they expire.",
         "Pass it at run time: `-o 'CustomHeaders=Authorization: Bearer ${env:TOKEN}'`, or OAuth options."),
    Code("RSD602", WARNING, "hard-coded credential in a URL or body",
         "A URL or request body has a credential parameter (`access_token=`, `api_key=`, `apikey=`, "
         "`client_secret=`, `password=`, `token=`...) with a literal value.",
         "Read it from the connection: `access_token=[_connection.AccessToken]`, and pass "
         "`-o 'AccessToken=${env:ACCESS_TOKEN}'`."),
    Code("RSD603", WARNING, "hard-coded credential header",
         "`Header:Value#N` is a literal while its `Header:Name#N` is an authentication header "
         "(Authorization, X-API-Key, ...).",
         "Use `[_connection.ApiKey]` as the value and pass `-o 'ApiKey=${env:API_KEY}'`."),
    Code("RSD604", WARNING, "hard-coded secret attribute",
         "An attribute named like a password, secret, token or API key is set to a literal of 8 characters "
         "or more.",
         "Read it from the connection (`[_connection.Password]`) and pass it with `-o 'Password=${env:PASSWORD}'`."),
    Code("RSD605", WARNING, "secret in an options file",
         "An options-file line gives a secret option (password, secret, token, API key, a bearer header) "
         "a literal value. Options files get committed and shared; `${...}` references are resolved at run "
         "time and never written back.",
         "Write `NAME=${env:NAME}` (or `${file:...}`, `${keyring:...}`, `${cmd:...}`)."),
    Code("RSD606", WARNING, "absolute file:// URI",
         "A value holds a `file://` URI with an absolute path written in the profile. A run reads `file://` "
         "URIs only inside the profile's own folder (and the folders given with `--allow-files`); anything "
         "else is refused with exit 2 before it is read, because a profile shared by someone else must not "
         "read the user's files (and could send them to any host in a later request).",
         "Keep the data next to the profile (or run with `--allow-files DIR` for the folder that holds it), "
         "or take the folder from a connection option: `file://[_connection.DataDir]/items.json`."),
)

CODES: Mapping[str, Code] = MappingProxyType({c.code: c for c in _TABLE})


def diag(code: str, loc: Loc, message: str, hint: Optional[str] = None) -> Diagnostic:
    """A diagnostic of `code`, with the severity the table gives it."""
    return Diagnostic(loc=loc, severity=CODES[code].severity, code=code, message=message, hint=hint)
