"""Tests of `rsd check` (rsd.check): one broken sample per code, hints, output shapes, strict mode,
options files, the project's samples and the public corpus (when fetched to /tmp/rsd-corpus)."""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from rsd.check import (
    CODES,
    check_options_file,
    check_paths,
    check_profile,
    check_report,
    count_files,
    format_json,
    format_text,
    summary,
    to_json,
)
from rsd.check import docgen
from rsd.reader import read_text

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "check_samples"
CORPUS = Path("/tmp/rsd-corpus")
EXPECT = re.compile(r"expect:\s*((?:RSD\d{3}\s+\d+:\d+\s*)+)")

SAMPLE_FILES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".rsd", ".options"))


def expected(path: Path) -> set[tuple[str, int, int]]:
    m = EXPECT.search(path.read_text(encoding="utf-8").splitlines()[0])
    assert m, f"{path.name}: first line must be an 'expect: CODE line:col' comment"
    found = re.findall(r"(RSD\d{3})\s+(\d+):(\d+)", m.group(1))
    return {(c, int(line), int(col)) for c, line, col in found}


def found(diags) -> set[tuple[str, int, int]]:
    return {(d.code, d.loc.line, d.loc.column) for d in diags}


def diags_of(text: str, name: str = "p.rsd"):
    return check_profile(read_text(text, name))


def codes_of(text: str) -> list[str]:
    return [d.code for d in diags_of(text)]


HEAD = '<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">\n'
INFO = ('  <api:info title="T" xmlns:other="http://apiscript.com/ns?v1">\n'
        '    <attr name="id" xs:type="integer" other:xPath="/json/items/id"/>\n  </api:info>\n')
GET = ('  <api:script method="GET">\n    <api:call op="jsonproviderGet">\n      <api:push/>\n'
       '    </api:call>\n  </api:script>\n')


def prof(globals_: str = "", get: str = GET, info: str = INFO) -> str:
    return HEAD + info + '  <api:set attr="URI" value="https://api.example.com/items"/>\n' + globals_ + get + "</api:script>\n"


# --- one sample per code -------------------------------------------------------------------------

def test_there_are_enough_samples():
    assert len(SAMPLE_FILES) >= 30


def test_every_code_has_a_sample():
    covered = {p.name[:6] for p in SAMPLE_FILES}
    missing = set(CODES) - covered - {"RSD011"}  # RSD011 (unreadable file) is tested below
    assert not missing, f"codes without a sample in tests/check_samples: {sorted(missing)}"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample(path: Path):
    want = expected(path)
    assert path.name[:6] in {c for c, _, _ in want}, "a sample is named after the code it shows"
    diags = check_paths([str(path)])
    assert found(diags) == want, "\n" + format_text(diags)
    for d in diags:
        assert d.severity == CODES[d.code].severity
        assert d.loc.path == str(path)
        assert d.message


# --- did-you-mean and hints ----------------------------------------------------------------------

def _only(path_stem: str, code: str):
    [d] = [d for d in check_paths([str(SAMPLES / path_stem)]) if d.code == code]
    return d


def test_did_you_mean_keyword():
    assert _only("RSD002_unknown_keyword.rsd", "RSD002").hint == "did you mean 'api:set'?"


def test_did_you_mean_formatter():
    assert _only("RSD202_unknown_formatter.rsd", "RSD202").hint == "did you mean 'urlencode'?"


def test_did_you_mean_parameter():
    assert _only("RSD102_unknown_parameter.rsd", "RSD102").hint == "did you mean 'value'?"


def test_did_you_mean_type():
    assert _only("RSD403_misspelt_type.rsd", "RSD403").hint == "did you mean 'integer'?"


def test_did_you_mean_operation():
    # one or two edits from an operation rsd runs is a typo (an error); far from every one, a warning
    assert _only("RSD113_misspelt_operation.rsd", "RSD113").hint == "did you mean 'apisadoExecuteJSONGet'?"
    assert _only("RSD108_unknown_operation.rsd", "RSD108").hint == (
        "known operations: jsonproviderGet, xmlproviderGet, csvproviderGet, oauthGetAccessToken, coreListIndexes")
    for op, code in [("jsonprovidrGet", "RSD113"), ("xmlproviderget", None), ("jsonprovierGt", "RSD113"),
                     ("oauthGetAcessToken", "RSD113"), ("jsnprovderGt", "RSD108"), ("oauthGetUserInfo", None)]:
        get = GET.replace("jsonproviderGet", op)
        assert [c for c in codes_of(prof(get=get)) if c in ("RSD108", "RSD113")] == ([code] if code else []), op


def test_did_you_mean_attribute():
    d = _only("RSD301_unknown_reference.rsd", "RSD301")
    assert "regoin" in d.message
    text = prof('  <api:set attr="region" value="eu"/>\n  <api:set attr="label" value="[regoin]"/>\n')
    [d] = [d for d in diags_of(text) if d.code == "RSD301"]
    assert d.hint == "did you mean 'region'?"


def test_credential_hint_suggests_env_reference():
    d = _only("RSD601_bearer_in_custom_headers.rsd", "RSD601")
    assert "${env:" in d.hint
    assert "eyJhbG" not in d.message  # never echo the secret


# --- output formats ------------------------------------------------------------------------------

def test_text_format_and_hint_line():
    d = _only("RSD501_paging_never_advances.rsd", "RSD501")
    text = format_text([d])
    first, second = text.split("\n")
    assert re.fullmatch(r".*RSD501_paging_never_advances\.rsd:9:12: warning: \[RSD501\] .+", first)
    assert second.startswith("    hint: ")


def test_json_output_shape():
    diags = check_paths([str(SAMPLES / "RSD103_else_outside_conditional.rsd")])
    data = to_json(diags)
    assert isinstance(data, list) and len(data) == 1
    assert set(data[0]) == {"path", "line", "column", "severity", "code", "message", "hint"}
    assert data[0]["code"] == "RSD103" and data[0]["severity"] == "error"
    assert json.loads(format_json(diags)) == data


def test_summary_line():
    report = check_report([str(SAMPLES / "RSD103_else_outside_conditional.rsd"),
                           str(SAMPLES / "RSD501_paging_never_advances.rsd")])
    assert report.files == 2
    assert report.summary() == "1 error, 1 warning in 2 files"
    assert summary([], 1) == "0 errors, 0 warnings in 1 file"


def test_strict_makes_warnings_errors():
    path = str(SAMPLES / "RSD501_paging_never_advances.rsd")
    [plain] = check_paths([path])
    [strict] = check_paths([path], strict=True)
    assert plain.severity == "warning" and strict.severity == "error"
    assert strict.code == plain.code and strict.loc == plain.loc


# --- positions -----------------------------------------------------------------------------------

def test_value_position_falls_back_to_parameter_with_entities():
    text = prof('  <api:set attr="label" value="a &amp; [regoin]"/>\n')
    [d] = [d for d in diags_of(text) if d.code == "RSD301"]
    line = text.split("\n")[d.loc.line - 1]
    assert line[d.loc.column - 1:].startswith('value=')


def test_value_position_exact_without_entities():
    text = prof('  <api:set attr="label" value="a & [regoin]"/>\n')
    [d] = [d for d in diags_of(text) if d.code == "RSD301"]
    line = text.split("\n")[d.loc.line - 1]
    assert line[d.loc.column - 1:].startswith("regoin]")


# --- rules: what must NOT be reported -------------------------------------------------------------

def test_runtime_items_and_nested_references_are_not_reported():
    text = prof(
        '  <api:set attr="a" value="[_connection.ApiKey][_query.selectcolumns][_input.[name]]"/>\n'
        '  <api:set attr="name" value="id"/>\n',
        get='  <api:script method="GET">\n    <api:set attr="page" value="[rows@next | def(1)]"/>\n'
            '    <api:call op="jsonproviderGet" out="resp">\n      <api:set attr="x" value="[resp.anything] [id]"/>\n'
            '      <api:push/>\n    </api:call>\n  </api:script>\n')
    assert "RSD301" not in codes_of(text)


def test_enum_and_catch_control_attributes_are_known():
    text = prof('  <api:enum list="a,b" separator=",">\n    <api:set attr="x#" value="[_value]-[_index]"/>\n'
                '  </api:enum>\n  <api:try>\n    <api:throw code="1" desc="d"/>\n    <api:catch code="*">\n'
                '      <api:set attr="err" value="[_code] [_desc] [x#]"/>\n    </api:catch>\n  </api:try>\n')
    assert "RSD301" not in codes_of(text)


def test_templated_credentials_are_fine():
    text = prof('  <api:set attr="Header:Name#1" value="Authorization"/>\n'
                '  <api:set attr="Header:Value#1" value="Bearer [_connection.Token]"/>\n'
                '  <api:set attr="CustomHeaders" value="Authorization: Bearer [_connection.Token]"/>\n'
                '  <api:set attr="Password" value="[_connection.Password]"/>\n'
                '  <api:set attr="data" value="client_secret=[_connection.Secret]&amp;x=1"/>\n')
    assert not [c for c in codes_of(text) if c.startswith("RSD6")]


def test_literal_bearer_header_pair_is_reported():
    text = prof('  <api:set attr="Header:Name#1" value="Authorization"/>\n'
                '  <api:set attr="Header:Value#1" value="Bearer abcdefgh12345678"/>\n')
    assert codes_of(text).count("RSD603") == 1


def test_paging_contradiction_is_an_error_and_script_paging_is_fine():
    text = prof('  <api:set attr="EnablePaging" value="true"/>\n',
                get='  <api:script method="GET">\n    <api:set attr="page" value="[rows@next | def(1)]"/>\n'
                    '    <api:call op="jsonproviderGet">\n      <api:set attr="rows@next" value="[page | add(1)]"/>\n'
                    '      <api:push/>\n    </api:call>\n  </api:script>\n')
    assert not [c for c in codes_of(text) if c.startswith("RSD5")]


def test_else_in_conditional_and_break_in_enum_are_fine():
    text = prof('  <api:set attr="k" value="1"/>\n  <api:if attr="k" value="1" operator="equals">\n'
                '    <api:set attr="JSONPath" value="$.a"/>\n    <api:else><api:set attr="JSONPath" value="$.b"/></api:else>\n'
                '  </api:if>\n  <api:enum range="1..3">\n    <api:break/>\n  </api:enum>\n')
    assert codes_of(text) == []


# --- options files -------------------------------------------------------------------------------

def test_options_file_references_are_fine(tmp_path: Path):
    f = tmp_path / "ok.options"
    f.write_text("# comment\nAuthScheme=OAuth\nOAuthClientSecret=${env:SECRET}\n"
                 "CustomHeaders=Authorization: Bearer ${env:TOKEN}\nUser=alice\n\n", encoding="utf-8")
    assert check_options_file(f) == []


def test_options_file_secret_message_has_no_value(tmp_path: Path):
    f = tmp_path / "bad.options"
    f.write_text("Password=hunter2hunter2\nProfileSettings='APIKey=k123456789;User=bob'\n", encoding="utf-8")
    diags = check_options_file(f)
    assert [(d.code, d.loc.line, d.loc.column) for d in diags] == [("RSD605", 1, 10), ("RSD605", 2, 25)]
    assert all("hunter2" not in d.message and "k123456789" not in d.message for d in diags)
    assert "${env:PASSWORD}" in diags[0].hint


def test_options_file_strict_and_file_count():
    path = SAMPLES / "RSD605_options_literal_secret.options"
    assert {d.severity for d in check_options_file(path)} == {"warning"}
    assert {d.severity for d in check_options_file(path, strict=True)} == {"error"}
    assert count_files([str(path), str(SAMPLES)]) == len(SAMPLE_FILES) - 1  # options files in folders are not read


def test_unreadable_file(tmp_path: Path):
    [d] = check_options_file(tmp_path / "missing.options")
    assert d.code == "RSD011" and d.severity == "error"
    [d] = check_paths([str(tmp_path / "missing.rsd")])
    assert d.code == "RSD011"


# --- archives ------------------------------------------------------------------------------------

def test_apip_members_are_checked(tmp_path: Path):
    archive = tmp_path / "Things.apip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Good.rsd", prof())
        z.writestr("Bad.rsd", (SAMPLES / "RSD103_else_outside_conditional.rsd").read_text(encoding="utf-8"))
    report = check_report([str(archive)])
    assert report.files == 2
    [d] = report.diagnostics
    assert d.code == "RSD103" and d.loc.path == f"{archive}/Bad.rsd" and d.loc.line == 12


# --- documentation -------------------------------------------------------------------------------

def test_diagnostics_doc_is_generated_from_the_table():
    doc = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert doc == docgen.render(), "run: python -m rsd.check.docgen > docs/diagnostics.md"


def test_code_table_is_well_formed():
    for code, c in CODES.items():
        assert re.fullmatch(r"RSD\d{3}", code) and c.code == code
        assert c.severity in ("error", "warning")
        assert c.title and c.explanation and c.fix


# --- real profiles -------------------------------------------------------------------------------

def test_project_samples_have_no_errors():
    folder = ROOT / "samples"
    if not any(folder.rglob("*.rsd")):
        pytest.skip("no samples/ yet")
    errors = [d for d in check_paths([str(folder)]) if d.is_error]
    assert not errors, "\n" + format_text(errors)
    for options in [*folder.rglob("*.options"), *folder.rglob("options*.txt")]:
        assert check_options_file(options) == [], options


@pytest.mark.skipif(not CORPUS.exists(), reason="public corpus not fetched to /tmp/rsd-corpus")
def test_public_corpus_has_no_errors():
    report = check_report([str(CORPUS)])
    assert report.files >= 40
    errors = [d for d in report.diagnostics if d.is_error]
    assert not errors, "\n" + format_text(errors)


def test_check_never_raises_on_mangled_profiles():
    import random

    rnd = random.Random(7)
    texts = [p.read_text(encoding="utf-8") for p in SAMPLE_FILES if p.suffix == ".rsd"]
    alphabet = "[]|()'\"<>/&=#{}$;.: \nab1"
    for _ in range(400):
        t = list(rnd.choice(texts))
        for _ in range(rnd.randint(1, 6)):
            pos = rnd.randrange(len(t))
            r = rnd.random()
            if r < 0.4:
                del t[pos]
            elif r < 0.8:
                t.insert(pos, rnd.choice(alphabet))
            else:
                t[pos] = rnd.choice(alphabet)
        for d in diags_of("".join(t)):
            assert d.code in CODES


def test_a_reference_with_a_default_is_not_reported(tmp_path):
    p = tmp_path / "D.rsd"
    p.write_text('<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="x">\n'
                 '  <api:info title="D"><attr name="a" xs:type="string"/></api:info>\n'
                 '  <api:set attr="x" value="[foo | def(\'x\')] [_input.bar | allownull]"/>\n'
                 '  <api:set attr="z" value="[baz] [foo]"/>\n'
                 '  <api:script method="GET"><api:push/></api:script>\n</api:script>\n')
    found = [(d.code, d.loc.line, d.message) for d in check_paths([str(p)])]
    assert found == [("RSD301", 4, "[baz] reads an attribute that nothing declares or sets"),
                     ("RSD301", 4, "[foo] reads an attribute that nothing declares or sets")]


def test_literal_secret_hint_is_named_after_the_attribute(tmp_path):
    p = tmp_path / "S.rsd"
    p.write_text('<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="x">\n'
                 '  <api:info title="S"><attr name="a"/></api:info>\n'
                 '  <api:set attr="clientSecret" value="abcdefgh12345"/>\n'
                 '  <api:script method="GET"><api:push/></api:script>\n</api:script>\n')
    [d] = check_paths([str(p)])
    assert (d.code, d.loc.line, d.message) == ("RSD604", 3, "attribute 'clientSecret' is set to a literal secret")
    assert d.hint == "read it from the connection, e.g. [_connection.ClientSecret], and pass " \
                     "-o 'ClientSecret=${env:CLIENT_SECRET}'"
    assert "abcdefgh12345" not in d.format()
