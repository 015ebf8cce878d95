"""The template language: parsing, rendering, escapes, errors, printing back, placeholders."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsd.errors import Loc, RsdError
from rsd.formatters import FormatterContext, FormatterError
from rsd.template import (
    MAX_DEPTH,
    Template,
    TemplateSyntaxError,
    compile_template,
    placeholders,
    substitute_placeholders,
)


class Scope:
    """A dict with case-insensitive names: the smallest thing templates render against."""

    def __init__(self, values: dict | None = None, **kw):
        self.values = {k.lower(): v for k, v in {**(values or {}), **kw}.items()}
        self.asked: list[str] = []

    def resolve(self, name: str):
        self.asked.append(name)
        return self.values.get(name.lower())


SCOPE = Scope({
    "_input.offset": "10",
    "pagesize": 25,
    "name": "Id",
    "_input.id": "42",
    "_value": "[col]",
    "arrayParameters": "a,col,b",
    "columnName": "col",
    "rows@next": None,
    "Header:Name#1": "X-Key",
    "attr#": 3,
    "item.prefix:attr#2": "second",
    "flag": True,
    "ratio": 2.5,
    "whole": 3.0,
    "typeCollection.7": "issue",
    "Resp.type": 7,
    "_input.a b": "spaced",
    "unicodé": "ü",
    "_input.x%20y": "enc",
})


def render(text: str, scope: Scope = SCOPE) -> str:
    return compile_template(text).render(scope)


# ---------------------------------------------------------------- rendering

@pytest.mark.parametrize("text, expected", [
    ("plain text", "plain text"),
    ("", ""),
    ("[name]", "Id"),
    ("[NAME]", "Id"),
    ("Bearer [_input.id]!", "Bearer 42!"),
    ("[_input.[name]]", "42"),
    ("[typeCollection.[Resp.type]]", "issue"),
    ("[Header:Name#1]", "X-Key"),
    ("[attr#]", "3"),
    ("[item.prefix:attr#2]", "second"),
    ("[unicodé]", "ü"),
    ("[missing]", ""),
    ("a[missing]b", "ab"),
    ("[flag]", "true"),
    ("[ratio]", "2.5"),
    ("[whole]", "3"),
    ("[_input.offset | def('0') | add([pagesize])]", "35"),
    ("[rows@next | def('1') | split(',',1)]", "1"),
    ("[rows@next | def('5,tok') | split(',', 2)]", "tok"),
    ("[_value | replace('\\[','') | replace('\\]','')]", "col"),
    ("[arrayParameters | contains('[columnName]','true','false')]", "true"),
    ("[arrayParameters | contains(\"[missing]zz\", yes, no)]", "no"),
    ("['abc' | toupper]", "ABC"),
    ('["a[name]c" | toupper]', "AIDC"),
    ("[name|tolower]", "id"),
    ("[  name   |   tolower   ]", "id"),
    ("[name | tolower()]", "id"),
    ("[x | def()]", ""),
    ("[x | def]", ""),
    ("[pagesize | add()]", "26"),
    ("[pagesize | add(  [pagesize]  )]", "50"),
    ("[pagesize | add([pagesize]0)]", "275"),
    ("[_input.[_value | replace('\\[', '') | replace('\\]', '') | toupper | replace('COL', 'id')]]", "42"),
    ("[_input.a b]", "spaced"),
    ("[_input.[name | def('x') | replace('Id', 'x y') | urlencode]]", "enc"),
])
def test_render(text, expected):
    assert render(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("a\\[b\\]", "a[b]"),
    ("&activityTypeId\\[\\]=[_input.id]", "&activityTypeId[]=42"),
    ("a]b", "a]b"),
    ("]", "]"),
    ("[name]]", "Id]"),
    ("C:\\temp\\x", "C:\\temp\\x"),
    ("\\d+\\\\w", "\\d+\\\\w"),
    ("\\\\[name]", "\\Id"),
    ("\\\\\\[name]", "\\[name]"),
    ("end\\", "end\\"),
    ('{"a": 1, "b": {}}', '{"a": 1, "b": {}}'),
    ("'quoted' \"text\"", "'quoted' \"text\""),
    ("[name | def('it\\'s')]", "Id"),
    ("[x | def('it\\'s')]", "it's"),
    ('[x | def("say \\"hi\\"")]', 'say "hi"'),
    ("[x | def('back\\\\')]", "back\\"),
    ("[x | def('a\\\\b')]", "a\\\\b"),
    ("[x | def('\\[literal\\]')]", "[literal]"),
    ("[x | def(',')]", ","),
    ("[x | def('a|b(c)')]", "a|b(c)"),
    ("[x | def('')]", ""),
])
def test_escapes_and_quotes(text, expected):
    assert render(text) == expected


def test_evaluate_keeps_the_value_of_a_single_expression():
    assert compile_template("[pagesize]").evaluate(SCOPE) == 25
    assert compile_template("[missing]").evaluate(SCOPE) is None
    assert compile_template("[pagesize | add(1)]").evaluate(SCOPE) == 26
    assert compile_template("[flag]").evaluate(SCOPE) is True
    assert compile_template(" [pagesize]").evaluate(SCOPE) == " 25"
    assert compile_template("[a][b]").evaluate(SCOPE) == ""
    assert compile_template("literal").evaluate(SCOPE) == "literal"


def test_literal_template_is_constant_and_never_asks_the_scope():
    t = compile_template("no expressions here \\[1\\]")
    assert t.is_literal
    scope = Scope()
    assert t.render(scope) == "no expressions here [1]"
    assert scope.asked == []
    assert not compile_template("[x]").is_literal


def test_nested_names_are_resolved_after_evaluation():
    scope = Scope({"name": "Id", "_input.id": "v"})
    compile_template("[_input.[name]]").render(scope)
    assert scope.asked == ["name", "_input.Id"]


def test_references_and_formatter_calls():
    src = "x [_input.[name|tolower]] [a | def('[b]') | add([c], 2) | urlencode] ['lit' | f]"
    t = compile_template(src)
    assert t.references == ("_input.[name|tolower]", "name", "a", "b", "c")
    assert t.formatter_calls == (("tolower", 0, src.index("tolower")), ("def", 1, src.index("def")),
                                 ("add", 2, src.index("add")), ("urlencode", 0, src.index("urlencode")),
                                 ("f", 0, src.index("f]")))
    assert compile_template("[a][a]").references == ("a",)


def test_formatter_names_are_case_insensitive():
    assert render("[name | ToUpper]") == "ID"


def test_unknown_formatter_compiles_and_fails_when_rendered():
    t = compile_template("[name | nosuchthing(1)]")
    assert t.formatter_calls == (("nosuchthing", 1, 8),)
    with pytest.raises(FormatterError, match="unknown formatter 'nosuchthing'"):
        t.render(SCOPE)


def test_wrong_argument_count_fails_when_rendered():
    with pytest.raises(FormatterError, match="'split' takes 1 to 2 argument"):
        render("[name | split(',', 1, 2)]")


def test_formatter_error_is_an_rsd_error():
    with pytest.raises(RsdError, match="add: the input 'Id' is not a number"):
        render("[name | add]")


def test_formatter_context_reaches_formatters():
    from datetime import datetime, timezone

    ctx = FormatterContext(clock=lambda: datetime(2024, 2, 3, 4, 5, 6, tzinfo=timezone.utc))
    t = compile_template("today=[x | now('yyyy-MM-dd')]")
    assert t.render(SCOPE, ctx) == "today=2024-02-03"


def test_raw_templates_are_not_parsed():
    t = compile_template("/root/book[1]/[x", raw=True)
    assert t.is_literal and t.raw
    assert t.render(SCOPE) == "/root/book[1]/[x"
    assert str(t) == "/root/book[1]/[x"
    assert t.references == ()


def test_compile_is_cached():
    assert compile_template("[name | tolower]") is compile_template("[name | tolower]")
    assert compile_template("[a]") is not compile_template("[a]", raw=True)


def test_str_is_the_source_and_canonical_compiles_to_the_same():
    src = "a\\[ [ _input.[name] |def( '1' ,x)|urlencode ] \\\\[name] ]"
    t = compile_template(src)
    assert str(t) == src
    assert t.canonical() == "a\\[ [_input.[name] | def('1', x) | urlencode] \\\\[name] \\]"
    again = compile_template(t.canonical())
    assert again.canonical() == t.canonical()
    assert again.render(SCOPE) == t.render(SCOPE)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("text, offset, message", [
    ("[abc", 0, "unclosed '['"),
    ("x [a | f(1) ", 2, "unclosed '['"),
    ("[a][b", 3, "unclosed '['"),
    ("[a[b]", 0, "unclosed '['"),
    ("[]", 0, "empty expression"),
    ("x[   ]", 1, "empty expression"),
    ("[a | f('x]", 7, "unterminated quoted text"),
    ("[a | ]", 5, "unexpected ']'"),
    ("[a | f(1]", 8, "unexpected ']'"),
    ("[a | f(1) x]", 10, "unexpected 'x'"),
    ("[a | 1f]", 5, "unexpected '1'"),
    ("[a | f(a\\b)]", 8, "unexpected backslash"),
    ("[a | def('[b')]", 10, "unclosed '['"),
    ("[a | replace('[', '')]", 14, "unclosed '['"),
])
def test_syntax_errors_have_offsets(text, offset, message):
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template(text)
    assert info.value.offset == offset
    assert message in info.value.message


def test_syntax_error_carries_loc_and_line_of_multiline_values():
    loc = Loc("p.rsd", 10, 5)
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template("[a]", loc)  # fine
        compile_template("x", loc)
        compile_template("[b", loc)
    assert info.value.loc == loc
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template("line one\n  line two [oops\n", loc)
    assert info.value.loc == Loc("p.rsd", 11, 12)
    assert info.value.offset == 20
    assert info.value.exit_code == 2


def test_too_deep_nesting_is_a_syntax_error():
    ok = "[" * MAX_DEPTH + "x" + "]" * MAX_DEPTH
    compile_template(ok)
    deep = "[" * (MAX_DEPTH + 1) + "x" + "]" * (MAX_DEPTH + 1)
    with pytest.raises(TemplateSyntaxError, match="nested deeper"):
        compile_template(deep)
    with pytest.raises(TemplateSyntaxError):
        compile_template("[" * 5000)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]|()'\",\\ abc.#:@*{}\n\t") + ["é", "\x00", "\ud800"]), max_size=40)
       | st.text(max_size=30))
def test_no_text_crashes_the_compiler(text):
    try:
        t = compile_template(text)
    except TemplateSyntaxError as exc:
        assert 0 <= exc.offset <= len(text)
        return
    assert isinstance(t, Template)
    # whatever compiled prints back to something that compiles to the same tree
    again = compile_template(t.canonical())
    assert again.canonical() == t.canonical()
    try:
        assert again.render(Scope()) == t.render(Scope())
    except RsdError:
        pass


# ---------------------------------------------------------------- generated templates with a model

MODEL = {"a": "alpha", "b": "Beta[]", "n": "7", "k": "a", "_input.alpha": "deep", "empty": ""}
MODEL_SCOPE = Scope(MODEL)
LITERAL_CHARS = st.text(alphabet=st.sampled_from(list("xyz []\\'\"{},|():é")), max_size=8)


def _escape_literal(text: str, before_expr: bool) -> str:
    """The spec, written independently: a backslash run before a bracket (or before an expression)
    is doubled, a bracket gets one backslash."""
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] == "\\":
            j += 1
        run = j - i
        if run:
            at_bracket = j < len(text) and text[j] in "[]"
            at_expr_end = j == len(text) and before_expr
            out.append("\\" * (run * 2 if at_bracket or at_expr_end else run))
            i = j
            continue
        out.append("\\" + text[i] if text[i] in "[]" else text[i])
        i += 1
    return "".join(out)


def _quote(template_source: str, q: str) -> str:
    out, i = [], 0
    s = template_source
    while i < len(s):
        j = i
        while j < len(s) and s[j] == "\\":
            j += 1
        run = j - i
        if run:
            at_quote = j < len(s) and s[j] == q
            at_end = j == len(s)
            out.append("\\" * (run * 2 if at_quote or at_end else run))
            i = j
            continue
        out.append("\\" + q if s[i] == q else s[i])
        i += 1
    return q + "".join(out) + q


@st.composite
def expressions(draw, depth=0):
    """(source, value) of an expression, value computed by a model of the language."""
    ws = st.sampled_from(["", " ", "  "])
    kind = draw(st.sampled_from(["name", "nested", "literal"] if depth < 2 else ["name", "literal"]))
    if kind == "name":
        name = draw(st.sampled_from(sorted(MODEL) + ["missing"]))
        cased = "".join(c.upper() if draw(st.booleans()) else c for c in name)
        head, value = cased, MODEL.get(name)
    elif kind == "nested":
        inner_src, inner_val = draw(expressions(depth=depth + 1))
        key = "_input." + ("" if inner_val is None else str(inner_val))
        head, value = "_input." + inner_src, {k.lower(): v for k, v in MODEL.items()}.get(key.lower())
    else:
        src, val = draw(templates(depth=depth + 1))
        q = draw(st.sampled_from("'\""))
        head, value = _quote(src, q), val
    source = "[" + draw(ws) + head
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["toupper", "tolower", "def", "replace", "contains", "getlength"]))
        text = "" if value is None else str(value)
        if op in ("toupper", "tolower"):
            call = op + draw(st.sampled_from(["", "()"]))
            value = text.upper() if op == "toupper" else text.lower()
        elif op == "getlength":
            call, value = "getlength", len(text)
        else:
            arg_src, arg_val = draw(args())
            if op == "def":
                call = f"def({arg_src})"
                value = arg_val if value in (None, "") else value
            elif op == "replace":
                call = f"replace({arg_src}, 'Z')"
                value = text.replace(arg_val, "Z") if arg_val else text
            else:
                call = f"contains({arg_src},yes , 'no')"
                value = "yes" if arg_val in text else "no"
        source += draw(ws) + "|" + draw(ws) + call
    source += draw(ws) + "]"
    return source, value


@st.composite
def args(draw):
    kind = draw(st.sampled_from(["unquoted", "quoted", "expr"]))
    if kind == "unquoted":
        word = draw(st.text(alphabet=st.sampled_from(list("xyzA7.-")), min_size=1, max_size=5))
        return word, word
    if kind == "expr":
        src, val = draw(expressions(depth=2))
        return src, "" if val is None else str(val)
    src, val = draw(templates(depth=2))
    return _quote(src, draw(st.sampled_from("'\""))), val


@st.composite
def templates(draw, depth=0):
    """(source, rendered text) of a template: literal text and expressions."""
    pieces = draw(st.lists(st.one_of(LITERAL_CHARS.map(lambda t: ("text", t)),
                                     expressions(depth=depth).map(lambda e: ("expr", e))), max_size=4))
    merged: list = []
    for kind, piece in pieces:  # adjacent literal pieces are one literal (escapes interact)
        if kind == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + piece)
        else:
            merged.append((kind, piece))
    pieces = merged
    src, out = [], []
    for i, (kind, piece) in enumerate(pieces):
        if kind == "text":
            nxt = pieces[i + 1][0] if i + 1 < len(pieces) else None
            src.append(_escape_literal(piece, nxt == "expr"))
            out.append(piece)
        else:
            s, v = piece
            src.append(s)
            out.append("" if v is None else str(v))
    return "".join(src), "".join(out)


@pytest.mark.slow  # a property test over many generated templates
@settings(max_examples=300, deadline=None)
@given(templates())
def test_generated_templates_render_as_the_model_says_and_round_trip(case):
    source, expected = case
    t = compile_template(source)
    assert str(t) == source
    assert t.render(MODEL_SCOPE) == expected
    printed = t.canonical()
    again = compile_template(printed)
    assert again.render(MODEL_SCOPE) == expected
    assert again.canonical() == printed


# ---------------------------------------------------------------- placeholders

def test_placeholders():
    uri = 'https://x/{date-in}/{List}?q={List}&j={"a":1}&e={}&n={1x}&i={_input.id}'
    assert placeholders(uri) == ["date-in", "List", "_input.id"]
    values = {"date-in": "2024-01-01", "List": "a b", "_input.id": 5}
    out = substitute_placeholders(uri, values.get)
    assert out == 'https://x/2024-01-01/a b?q=a b&j={"a":1}&e={}&n={1x}&i=5'
    from urllib.parse import quote
    assert substitute_placeholders("/{List}/{other}", values.get, lambda s: quote(s, safe="")) == "/a%20b/{other}"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[]|()'\",\\ ab.#:_/\t") + ["é"]), max_size=30))
def test_the_fast_path_splits_text_exactly_as_the_grammar_does(text):
    # compiler._parse splits plain text and simple `[name]` references itself, without lark: same nodes (offsets
    # included) as the grammar, or the same error, for any text
    from rsd.template.compiler import _parse, _Problem
    from rsd.template.lalr import lark_parse

    def outcome(parse):
        try:
            return parse(text, 3)
        except _Problem as problem:
            return (problem.message, problem.offset, problem.hint)

    assert outcome(_parse) == outcome(lark_parse)


@pytest.mark.parametrize("text", ["", "plain", "[_connection.BaseURL]/people", "[a][b]x[c d]", "a]b", "[ a ]", "['x']"])
def test_the_fast_path_and_the_grammar_agree_on_common_shapes(text):
    from rsd.template.compiler import _parse
    from rsd.template.lalr import lark_parse

    assert _parse(text, 0) == lark_parse(text, 0)


def test_the_fast_path_gives_up_at_once_on_long_text_it_does_not_take():
    # the fast path's pattern is possessive: text it does not take (a formatter after a long run of text) is handed
    # to the grammar without backtracking (a plain `(?:text+|[name])*` took exponential time here)
    import time

    text = "grant_type=refresh_token&client_id=" * 40 + "[_connection.ClientId | urlencode]"
    started = time.perf_counter()
    assert compile_template(text).render(Scope({"_connection.clientid": "ab"})).endswith("client_id=ab")
    assert time.perf_counter() - started < 5  # linear: milliseconds; the exponential pattern never finished
