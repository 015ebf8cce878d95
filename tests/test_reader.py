"""Tests of rsd.reader: lenient XML, exact positions, the AST, diagnostics, .apip archives.

Every sample here is written for these tests; they exercise the constructs real public profiles use
(raw `&`, undeclared prefixes, `rsb:` mixed with `api:`, no namespace declarations, nested templates,
numbered headers, `api:setm` bodies) without copying any of them.
"""
from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rsd.reader import (
    RSD001,
    RSD002,
    RSD003,
    RSD004,
    RSD011,
    read_apip,
    read_paths,
    read_profile,
    read_text,
)
from rsd.reader import ast

SAMPLES = Path(__file__).parent / "reader_samples"


def pos(loc):
    return (loc.line, loc.column)


def walk(nodes):
    for n in nodes:
        yield n
        yield from walk(n.body)


# ---------------------------------------------------------------------------------------------
# Lenient reading
# ---------------------------------------------------------------------------------------------

NO_DECLARATIONS = """<api:script>
  <api:info title="Widgets" desc="no xmlns anywhere">
    <attr name="id" xs:type="integer" key="true" other:xPath="/json/items/id"/>
  </api:info>
  <api:set attr="uri" value="https://example.test/w?from=[_input.from]&to=[_input.to]&amp;x=1&#38;y=&lt;2&gt;"/>
  <api:script method="get">
    <api:call op="jsonproviderGet"><api:push/></api:call>
  </api:script>
</api:script>
"""


def test_no_namespace_declarations_and_raw_ampersand():
    p = read_text(NO_DECLARATIONS, "w.rsd")
    assert p.diagnostics == ()
    assert p.info.title == "Widgets"
    col = p.info.columns[0]
    assert (col.name, col.type, col.key, col.xpath) == ("id", "integer", True, "/json/items/id")
    uri = p.statements[0].value("value")
    assert uri == "https://example.test/w?from=[_input.from]&to=[_input.to]&x=1&y=<2>"
    assert [m.name for m in p.methods] == ["GET"]


def test_raw_ampersand_in_text_and_near_entities():
    p = read_text('<api:script><api:set attr="q">a & b &amp; c &#x26; d &nbsp; e&</api:set></api:script>')
    assert p.diagnostics == ()
    # `&nbsp;` is not one of XML's five entities: its `&` is literal too.
    assert p.statements[0].text == "a & b & c & d &nbsp; e&"


def test_rsb_and_arc_mixed_with_api():
    src = """<api:script xmlns:api="http://apiscript.com/ns?v1">
  <rsb:set attr="a" value="1"/>
  <api:set attr="b" value="2"/>
  <arc:set attr="c" value="3"/>
  <api:script method="GET"><rsb:call op="jsonproviderGet"><arc:push/></rsb:call></api:script>
</api:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    assert [(type(n), n.prefix, n.keyword) for n in p.statements] == [
        (ast.Set, "rsb", "set"), (ast.Set, "api", "set"), (ast.Set, "arc", "set")]
    call = p.method("get").body[0]
    assert isinstance(call, ast.Call) and call.tag == "rsb:call"
    assert isinstance(call.body[0], ast.Push) and call.body[0].prefix == "arc"


def test_rsb_root_with_its_own_namespace_and_undeclared_xs():
    src = """<rsb:script xmlns:rsb="http://www.rssbus.com/ns/rsbscript/2">
  <rsb:info title="Sys" description="system table">
    <attr name="IsUnique" xs:type="boolean" desc="unique?"/>
    <input name="TableName" description="which table"/>
  </rsb:info>
  <rsb:push op="coreListIndexes"/>
</rsb:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    assert p.info.desc == "system table"
    assert p.info.columns[0].type == "boolean" and p.info.columns[0].desc == "unique?"
    assert p.info.inputs[0].desc == "which table"
    assert isinstance(p.statements[0], ast.Push) and p.statements[0].value("op") == "coreListIndexes"


def test_keywords_recognised_by_namespace_uri_and_prefix_not_uri():
    # `api` bound to the RSSBus URI is still api:, and any prefix bound to a keyword namespace counts.
    src = """<api:script xmlns:api="http://www.rssbus.com/ns/rsbscript/2" xmlns:k="http://apiscript.com/ns?v1">
  <k:set attr="a" value="1"/>
  <api:unset attr="a"/>
</api:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    assert [(type(n), n.prefix) for n in p.statements] == [(ast.Set, "k"), (ast.Unset, "api")]


def test_keyword_names_are_case_insensitive():
    p = read_text('<api:script><api:SetC attr="x" value="/a[1]"/><API:Set attr="y"/></api:script>')
    assert p.diagnostics == ()
    assert [type(n) for n in p.statements] == [ast.SetC, ast.Set]
    assert p.statements[0].keyword == "setc"


def test_doubled_xmlns_attribute_is_tolerated():
    src = """<api:script>
  <api:info title="T" xmlns:other="xmlns:other="http://apiscript.com/ns?v1" other:flag="yes">
    <attr name="a" other:xPath="/a"/>
  </api:info>
</api:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    assert p.info.columns[0].xpath == "/a"
    flag = p.info.param("other:flag")
    assert flag.value == "yes" and pos(flag.loc) == (2, 77)


def test_nested_templates_and_numbered_headers_stay_raw():
    src = """<api:script>
  <api:set attr="Header:Name#1" value="Authorization"/>
  <api:set attr="Header:Value#1" value="Bearer [_connection.Token]"/>
  <api:enum attr="_input.*">
    <api:set attr="uri" value="[uri]&[_attr]=[_input.[_value | urlencode]]\\[\\]"/>
  </api:enum>
  <api:set attr="next" value="[offset | def(0) | add([count])]"/>
</api:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    s = p.statements
    assert s[0].value("attr") == "Header:Name#1"
    assert s[1].value("VALUE") == "Bearer [_connection.Token]"
    assert isinstance(s[2], ast.Enum)
    assert s[2].body[0].value("value") == "[uri]&[_attr]=[_input.[_value | urlencode]]\\[\\]"
    assert s[3].value("value") == "[offset | def(0) | add([count])]"


def test_set_and_setm_body_text():
    src = """<api:script>
  <api:set attr="data">{"query": "[_input.q]", "n": 1}</api:set>
  <api:setm item="types">
    1 = created
    2 = updated &amp; closed
  </api:setm>
  <api:set attr="empty">   </api:set>
</api:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    assert p.statements[0].text == '{"query": "[_input.q]", "n": 1}'
    assert p.statements[1].text == "\n    1 = created\n    2 = updated & closed\n  "
    assert p.statements[2].text is None
    assert p.statements[1].value("item") == "types"


def test_comments_pis_cdata_and_foreign_elements_are_ignored():
    src = """<?xml version="1.0" encoding="utf-8"?>
<!-- leading <api:bogus/> comment -->
<api:script>
  <?editor hint?>
  <api:set attr="a"><!-- c -->x<![CDATA[<y> & z]]></api:set>
  <foreign attr="1"><api:sett attr="ignored inside foreign"/></foreign>
  <xs:annotation>docs</xs:annotation>
  <other:thing/>
  <api:set attr="b" value="2"/>
</api:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    assert [n.value("attr") for n in p.statements] == ["a", "b"]
    assert p.statements[0].text == "x<y> & z"
    assert pos(p.statements[1].loc) == (9, 3)


def test_bom_crlf_and_encoding_declaration_in_bytes():
    src = '<?xml version="1.0" encoding="windows-1252"?>\r\n<api:script>\r\n  <api:set attr="a" value="caf\xe9"/>\r\n</api:script>'
    p = read_text(src.encode("cp1252"))
    assert p.diagnostics == ()
    assert p.statements[0].value("value") == "café"
    assert pos(p.statements[0].loc) == (3, 3)

    bom = b"\xef\xbb\xbf" + '<api:script><api:set attr="\u00e9" value="1"/></api:script>'.encode()
    p = read_text(bom)
    assert p.diagnostics == ()
    assert pos(p.statements[0].loc) == (1, 13)
    assert pos(p.statements[0].param("attr").loc) == (1, 22)


def test_no_break_spaces_between_attributes():
    src = '<api:script>\n<api:info title="T">\n  <input name="d"\u00a0 \u00a0xs:type="date"\u00a0desc="a\u00a0b"/>\n</api:info>\n</api:script>'
    p = read_text(src)
    assert p.diagnostics == ()
    inp = p.info.inputs[0]
    assert inp.type == "date" and inp.desc == "a\u00a0b"
    assert pos(inp.param("xs:type").loc) == (3, 21)
    assert pos(inp.param("desc").loc) == (3, 36)


def test_raw_less_than_in_values_and_text_and_double_hyphen_comments():
    src = """<api:script>
  <!--& generated -- do not <edit> --->
  <api:if exp="[count]<[max]" attr="x">
    <api:set attr="note">1 < 2 and 3 <= 4</api:set>
  </api:if>
  <api:set attr="after" value="a<b&c"/>
</api:script>"""
    p = read_text(src)
    # a `<` in an attribute value is read as `&lt;`, so the rest of the file is read, but XML forbids it
    # there (CData's readers reject the file): RSD005 at each one; in text and comments it is not reported
    assert [(d.code, pos(d.loc)) for d in p.diagnostics] == [("RSD005", (3, 23)), ("RSD005", (6, 33))]
    assert all(d.is_error for d in p.diagnostics)
    cond, after = p.statements
    assert cond.value("exp") == "[count]<[max]"
    assert pos(cond.param("attr").loc) == (3, 31)
    assert cond.body[0].text == "1 < 2 and 3 <= 4"
    assert after.value("value") == "a<b&c"
    assert pos(after.param("value").loc) == (6, 25)


# ---------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------

POSITIONS = (
    "<api:script><api:set attr=\"a&b\" value=\"x\"/>\n"         # line 1: injected xmlns on this line
    "\t<api:info title=\"T\"\n"                                 # line 2: tab counts as one column
    "\t\t  desc=\"d\">\n"
    "  <attr name=\"c1\"   xs:type=\"string\" other:xPath=\"/a&b\"/>\n"
    "  <input name=\"i\" def=\"1\" req=\"true\" values=\"1, 2,3\"/>\n"
    "  <output name=\"o\"/>\n"
    "</api:info>\n"
    "<api:script method=\"post\">\n"
    "  <api:set attr=\"u\" value=\"?a=1&b=2&c=3\" item=\"q\"/><api:push\n"
    "      item=\"q\"/>\n"
    "</api:script>\n"
    "</api:script>\n"
)


def test_element_and_attribute_positions():
    p = read_text(POSITIONS, "pos.rsd")
    assert p.diagnostics == ()
    assert pos(p.loc) == (1, 1)
    s = p.statements[0]
    assert pos(s.loc) == (1, 13)
    assert pos(s.param("attr").loc) == (1, 22)
    assert pos(s.param("value").loc) == (1, 33)  # after a raw `&` on the same line
    assert str(s.loc) == "pos.rsd:1:13"

    info = p.info
    assert pos(info.loc) == (2, 2)
    assert pos(info.param("title").loc) == (2, 12)
    assert pos(info.param("desc").loc) == (3, 5)
    c = info.columns[0]
    assert pos(c.loc) == (4, 3)
    assert pos(c.param("name").loc) == (4, 9)
    assert pos(c.param("xs:type").loc) == (4, 21)
    assert pos(c.param("other:xpath").loc) == (4, 38)
    i = info.inputs[0]
    assert pos(i.loc) == (5, 3)
    assert pos(i.param("values").loc) == (5, 38)
    assert pos(info.outputs[0].loc) == (6, 3)

    m = p.methods[0]
    assert m.name == "POST" and pos(m.loc) == (8, 1)
    st_, push = m.body
    assert pos(st_.loc) == (9, 3)
    assert pos(st_.param("item").loc) == (9, 42)  # after two raw `&`
    assert pos(push.loc) == (9, 52)
    assert pos(push.param("item").loc) == (10, 7)  # a start tag spanning two lines


def test_params_keep_names_as_written_and_values_decoded():
    p = read_text(POSITIONS)
    c = p.info.columns[0]
    assert list(c.params) == ["name", "xs:type", "other:xpath"]
    xp = c.params["other:xpath"]
    assert (xp.name, xp.value) == ("other:xPath", "/a&b")
    assert c.param("OTHER:XPATH") is xp
    i = p.info.inputs[0]
    assert (i.default, i.required, i.values) == ("1", True, ("1", "2", "3"))
    assert p.info.outputs[0].name == "o"


def test_xmlns_declarations_are_not_params():
    src = '<api:script xmlns:api="http://apiscript.com/ns?v1"><api:info title="T" xmlns:other="http://apiscript.com/ns?v1" other:a="1"/></api:script>'
    p = read_text(src)
    assert list(p.info.params) == ["title", "other:a"]


def test_positions_with_multibyte_characters():
    src = '<api:script>\n  <api:set attr="名前" value="値"/> <api:set attr="x"/>\n</api:script>'
    p = read_text(src)
    assert [pos(n.loc) for n in p.statements] == [(2, 3), (2, 34)]
    assert pos(p.statements[0].param("value").loc) == (2, 22)


# ---------------------------------------------------------------------------------------------
# AST shape
# ---------------------------------------------------------------------------------------------

def test_global_statements_methods_and_nested_script():
    src = """<api:script>
  <api:info title="T"/>
  <api:set attr="a" value="1"/>
  <api:script><api:set attr="inner"/></api:script>
  <api:script method="GET">
    <api:null attr="rows@next">
      <api:set attr="first" value="true"/>
      <api:else><api:set attr="first" value="false"/></api:else>
    </api:null>
    <api:call op="jsonproviderGet" in="req" out="resp">
      <api:try><api:push/><api:catch code="*"><api:throw code="500" desc="[_description]"/></api:catch></api:try>
    </api:call>
  </api:script>
  <api:script method=" delete "><api:throw code="500" desc="no"/></api:script>
  <api:set attr="after" value="methods"/>
</api:script>"""
    p = read_text(src)
    assert p.diagnostics == ()
    assert [type(n) for n in p.statements] == [ast.Set, ast.Script, ast.Set]
    assert p.statements[1].body[0].value("attr") == "inner"
    assert [m.name for m in p.methods] == ["GET", "DELETE"]
    get = p.method("GET")
    null, call = get.body
    assert isinstance(null, ast.Null) and isinstance(null.body[1], ast.Else)
    assert isinstance(call, ast.Call) and call.value("out") == "resp"
    kinds = [type(n) for n in walk(call.body)]
    assert kinds == [ast.Try, ast.Push, ast.Catch, ast.Throw]
    assert p.title == "T"


def test_info_column_attributes():
    src = """<api:script>
  <api:info title="T" description="long" other:queryslicercolumn="q" methods="GET,POST">
    <attr name="a" xs:type="int" key="TRUE" readonly="True" columnsize="255" description="col a"
          other:xPath="/x/a" other:valueFormat="aggregate" other:filter="{a}"/>
    <attr name="b"/>
    <input name="q" xs:type="string" default="z" required="false" desc="query"/>
    <input name="rows@next"/>
  </api:info>
</api:script>"""
    p = read_text(src)
    info = p.info
    assert (info.title, info.desc) == ("T", "long")
    assert info.value if False else info.param("other:queryslicercolumn").value == "q"
    a, b = info.columns
    assert (a.name, a.type, a.key, a.readonly, a.columnsize, a.desc, a.xpath, a.value_format) == (
        "a", "int", True, True, "255", "col a", "/x/a", "aggregate")
    assert a.param("other:filter").value == "{a}"
    assert (b.type, b.key, b.readonly, b.xpath, b.desc) == (None, False, False, None, None)
    q, rows = info.inputs
    assert (q.type, q.default, q.required, q.desc, q.values) == ("string", "z", False, "query", None)
    assert rows.name == "rows@next"


def test_title_defaults_to_file_name():
    p = read_text("<api:script/>", "some/dir/Accounts.rsd")
    assert p.info is None and p.title == "Accounts"


# ---------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------

def test_unknown_keyword_with_did_you_mean():
    src = '<api:script>\n  <api:sett attr="a" value="1"/>\n  <rsb:frobnicate/>\n</api:script>'
    p = read_text(src, "u.rsd")
    d1, d2 = p.diagnostics
    assert (d1.code, d1.severity, d1.message, d1.hint) == (
        RSD002, "error", "unknown keyword 'api:sett'", "did you mean 'api:set'?")
    assert pos(d1.loc) == (2, 3) and d1.loc.path == "u.rsd"
    assert (d2.message, d2.hint) == ("unknown keyword 'rsb:frobnicate'", None)
    n = p.statements[0]
    assert isinstance(n, ast.Unknown) and n.value("attr") == "a" and n.keyword == "sett"
    assert d1.format() == "u.rsd:2:3: error: [RSD002] unknown keyword 'api:sett'\n    hint: did you mean 'api:set'?"


def test_unknown_keyword_hint_keeps_prefix_as_written():
    p = read_text('<rsb:script><rsb:script method="GET"><rsb:cal op="x"/></rsb:script></rsb:script>')
    (d,) = p.diagnostics
    assert d.hint == "did you mean 'rsb:call'?"
    assert isinstance(p.methods[0].body[0], ast.Unknown)


def test_broken_xml_is_a_diagnostic_with_position():
    src = '<api:script>\n  <api:set attr="a&b" value="1">\n</api:script>'
    p = read_text(src, "b.rsd")
    (d,) = p.diagnostics
    assert d.code == RSD001 and d.severity == "error"
    assert "mismatch" in d.message.lower()
    assert pos(d.loc) == (3, 14)  # where lxml noticed the mismatch
    assert p.statements == () and p.methods == () and p.info is None


def test_broken_xml_position_maps_back_through_repairs():
    # unquoted attribute value after a raw `&` on the same line: the column is in the original text
    src = '<api:script><api:set attr="a&b" value=1/></api:script>'
    p = read_text(src)
    (d,) = p.diagnostics
    assert d.code == RSD001
    assert pos(d.loc) == (1, 39)
    assert "AttValue" in d.message or "attribute" in d.message.lower()


@pytest.mark.parametrize("src", ["", "   ", "not xml at all", "<api:script>", "<a><b></a>", "\x00<x/>"])
def test_garbage_never_raises(src):
    p = read_text(src)
    assert p.diagnostics and p.diagnostics[0].code in (RSD001, RSD003)


def test_no_script_root():
    p = read_text('<root>\n  <api:set attr="a"/>\n</root>', "r.rsd")
    (d,) = p.diagnostics
    assert d.code == RSD003 and pos(d.loc) == (1, 1) and "root" in d.message
    assert p.statements == ()
    p = read_text('<api:set attr="a"/>')
    assert p.diagnostics[0].code == RSD003


def test_misplaced_and_duplicate_info():
    src = '<api:script>\n<api:info title="A"/>\n<api:info title="B"/>\n<api:script method="GET"><api:info/></api:script>\n</api:script>'
    p = read_text(src)
    assert p.info.title == "A"
    assert [(d.code, pos(d.loc)) for d in p.diagnostics] == [(RSD004, (3, 1)), (RSD004, (4, 26))]


def test_missing_file(tmp_path):
    p = read_profile(tmp_path / "nope.rsd")
    (d,) = p.diagnostics
    assert d.code == RSD011 and d.loc.path.endswith("nope.rsd")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(list('<>/="&;: \n\tapisetrbxmln#[]!-?') + ["api:", "<api:set ", "/>", "&amp;"]),
                max_size=60).map("".join))
def test_reader_never_raises(text):
    p = read_text(text)
    assert isinstance(p, ast.Profile)


# ---------------------------------------------------------------------------------------------
# Immutability
# ---------------------------------------------------------------------------------------------

def test_ast_is_immutable():
    p = read_text(POSITIONS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.path = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.statements[0].keyword = "unset"  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.statements[0].params["attr"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        p.info.columns[0].params["new"] = None  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.statements[0].params["attr"].value = "z"  # type: ignore[misc]
    assert isinstance(p.statements, tuple) and isinstance(p.methods[0].body, tuple)
    assert isinstance(p.info.columns, tuple) and isinstance(p.diagnostics, tuple)
    assert isinstance(p.statements[0].params, MappingProxyType)


# ---------------------------------------------------------------------------------------------
# .apip archives and folders
# ---------------------------------------------------------------------------------------------

MANIFEST = (
    "Manifest-Version: 1.0 \r\n"
    "Title: A long title that is conti\r\n"
    " nued on the next line \r\n"
    "RequiredProperties: Token,User\r\n"
    "TestTable: Things\r\n"
)
PROPS = '{"profilename": "Demo", "connectionProperties": {"Token": {"required": true}}, "list": [1, 2]}'
THINGS = '<api:script><api:info title="Things"/><api:set attr="u" value="?a=1&b=2"/></api:script>'
OTHERS = '<api:script>\n  <api:sett attr="x"/>\n</api:script>'


def make_apip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("META-INF/", "")
        zf.writestr("META-INF/MANIFEST.MF", MANIFEST)
        zf.writestr("ConnectionProperties.json", PROPS)
        zf.writestr("Things.rsd", THINGS)
        zf.writestr("Others.rsd", OTHERS)
        zf.writestr("Resources/", "")
        zf.writestr("Demo.json", "")
    return path


def test_read_apip_zip(tmp_path):
    path = make_apip(tmp_path / "Demo.apip")
    a = read_apip(path)
    assert a.path == str(path)
    assert [p.path for p in a.profiles] == [f"{path}/Others.rsd", f"{path}/Things.rsd"]
    assert a.manifest["Title"] == "A long title that is continued on the next line"
    assert a.manifest["RequiredProperties"] == "Token,User"
    assert a.connection_properties["connectionProperties"]["Token"]["required"] is True
    assert a.connection_properties["list"] == (1, 2)
    others, things = a.profiles
    assert things.statements[0].value("value") == "?a=1&b=2"
    (d,) = others.diagnostics
    assert d.code == RSD002 and str(d.loc) == f"{path}/Others.rsd:2:3"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.profiles = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.manifest["x"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        a.connection_properties["connectionProperties"]["x"] = 1  # type: ignore[index]


def test_read_apip_folder(tmp_path):
    folder = tmp_path / "Demo.apip"
    (folder / "META-INF").mkdir(parents=True)
    (folder / "META-INF" / "MANIFEST.MF").write_text(MANIFEST)
    (folder / "ConnectionProperties.json").write_text(PROPS)
    (folder / "Things.rsd").write_text(THINGS)
    (folder / "Others.rsd").write_text(OTHERS)
    a = read_apip(folder)
    assert [os.path.basename(p.path) for p in a.profiles] == ["Others.rsd", "Things.rsd"]
    assert a.manifest["TestTable"] == "Things"
    assert a.connection_properties["profilename"] == "Demo"


def test_bad_archive(tmp_path):
    bad = tmp_path / "Broken.apip"
    bad.write_bytes(b"this is not a zip")
    a = read_apip(bad)
    assert a.profiles == () and a.diagnostics[0].code == RSD011
    (p,) = read_paths([bad])
    assert p.diagnostics[0].code == RSD011 and p.path == str(bad)


def test_read_paths_mixes_files_folders_and_archives(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "Zeta.rsd").write_text(THINGS)
    (tmp_path / "a.rsd").write_text(THINGS)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "Hidden.rsd").write_text(THINGS)
    make_apip(tmp_path / "b" / "Demo.apip")
    folder = tmp_path / "c" / "F.apip"
    folder.mkdir(parents=True)
    (folder / "Member.rsd").write_text(THINGS)
    got = [os.path.relpath(p.path, tmp_path) for p in read_paths([tmp_path, tmp_path / "a.rsd"])]
    assert got == [
        "a.rsd",
        "b/Demo.apip/Others.rsd",
        "b/Demo.apip/Things.rsd",
        "b/Zeta.rsd",
        "c/F.apip/Member.rsd",
    ]


def test_read_paths_reads_fixture_files():
    profiles = read_paths([SAMPLES])
    names = [os.path.basename(p.path) for p in profiles]
    assert names == sorted(names) and "lenient.rsd" in names
    lenient = next(p for p in profiles if p.path.endswith("lenient.rsd"))
    assert lenient.diagnostics == ()
    assert lenient.info.title == "Gadgets"
    assert len(lenient.info.columns) == 3 and lenient.method("GET") is not None
    crlf = next(p for p in profiles if p.path.endswith("crlf.rsd"))
    assert crlf.diagnostics == ()
    assert crlf.statements[0].value("value") == "1&2" and pos(crlf.statements[0].loc) == (2, 3)


# ---------------------------------------------------------------------------------------------
# The public corpus (only when it has been fetched, see bench/fetch_corpus.md)
# ---------------------------------------------------------------------------------------------

CORPUS = Path(os.environ.get("RSD_CORPUS", "/tmp/rsd-corpus"))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus not fetched (bench/fetch_corpus.md)")
def test_corpus_reads_without_reader_errors():
    profiles = read_paths([CORPUS])
    assert len(profiles) >= 41
    problems = [d.format() for p in profiles for d in p.diagnostics]
    assert problems == []
    assert all(p.method("GET") or p.statements for p in profiles)
