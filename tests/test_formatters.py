"""Formatters: exact values for each family, errors, the registry's shape and the generated docs."""
from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rsd.errors import RsdError
from rsd.formatters import CATEGORIES, REGISTRY, Formatter, FormatterContext, FormatterError, call, to_text
from rsd.formatters.docgen import generate

ROOT = Path(__file__).resolve().parent.parent
FIXED = datetime(2024, 1, 31, 13, 5, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
CTX = FormatterContext(clock=lambda: FIXED, rng=random.Random(7))


def f(name, value, *args):
    return call(name, value, list(args), CTX)


# ---------------------------------------------------------------- registry

def test_registry_shape():
    assert len(REGISTRY) >= 80
    for name, fmt in REGISTRY.items():
        assert isinstance(fmt, Formatter)
        assert name == name.lower() == fmt.name
        assert 0 <= fmt.min_args <= fmt.max_args
        assert fmt.doc and "\n" not in fmt.doc
        assert fmt.category in CATEGORIES
        assert fmt.signature.startswith(name + "(")


MATH_LIST = ("abs add and ceiling div divide floor greaterthan isbetween isequal isgreater isless lessthan mathadd "
             "mathmod mathpow mathround mathsub modulus multiply or pow rand random round sqrt subtract").split()


def test_complete_math_list_of_the_docs():
    for name in MATH_LIST:
        assert REGISTRY[name].category == "math", name


def test_formatters_the_public_profiles_use_exist():
    for name in ["def", "add", "split", "replace", "urlencode", "contains", "equals"]:
        assert name in REGISTRY


def test_generated_docs_are_committed():
    committed = (ROOT / "docs" / "formatters.md").read_text(encoding="utf-8")
    assert committed == generate(), "run: python -m rsd.formatters.docgen > docs/formatters.md"


def test_docgen_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "rsd.formatters.docgen"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out == generate()


def test_wrong_arity_and_unknown_name():
    with pytest.raises(FormatterError, match="takes 1 to 3"):
        f("contains", "x")
    with pytest.raises(FormatterError, match="unknown formatter"):
        f("nope", "x")


def test_unexpected_failures_become_formatter_errors():
    with pytest.raises(FormatterError, match="urlencode"):
        f("urlencode", "\ud800")


# ---------------------------------------------------------------- math

@pytest.mark.parametrize("name, value, args, expected", [
    ("add", "5", [], 6),
    ("add", "5", ["2"], 7),
    ("add", 5, ["2.5"], 7.5),
    ("add", "0.1", ["0.2"], 0.3),
    ("add", "true", ["1"], 2),
    ("add", "yes", [], 2),
    ("add", False, [], 1),
    ("mathadd", " 1 ", ["1"], 2),
    ("subtract", "5", [], 4),
    ("mathsub", "5", ["7"], -2),
    ("multiply", "3", [], 6),
    ("multiply", "3", ["1.5"], 4.5),
    ("div", "10", [], 5),
    ("divide", "10", ["4"], 2.5),
    ("div", "10", ["3"], 3.33333333333333),
    ("div", "1e3", ["10"], 100),
    ("mathmod", "7", ["3"], 1),
    ("modulus", "-7", ["3"], -1),
    ("mathmod", "7.5", ["2"], 1.5),
    ("pow", "3", [], 9),
    ("mathpow", "2", ["10"], 1024),
    ("pow", "4", ["0.5"], 2),
    ("abs", "-3.5", [], 3.5),
    ("ceiling", "1.2", [], 2),
    ("floor", "-1.2", [], -2),
    ("sqrt", "16", [], 4),
    ("round", "2.5", [], 3),
    ("round", "-2.5", [], -3),
    ("mathround", "2.675", ["2"], 2.68),
    ("round", "1234", ["-2"], 1200),
    ("round", "7", [], 7),
    ("and", "true", ["1"], "true"),
    ("and", "true", ["no"], "false"),
    ("or", "0", ["yes"], "true"),
    ("or", "false", ["0"], "false"),
    ("greaterthan", "5", ["3"], "true"),
    ("isgreater", "3", ["5"], "false"),
    ("greaterthan", "5", ["3", "big", "small"], "big"),
    ("lessthan", "5", ["30", "lt"], "lt"),
    ("isless", "50", ["30", "lt", "ge"], "ge"),
    ("isequal", "5.0", ["5"], "true"),
    ("isequal", "5", ["6", "same", "differs"], "differs"),
    ("isbetween", "5", ["1", "5"], "true"),
    ("isbetween", "0", ["1", "5", "in", "out"], "out"),
])
def test_math(name, value, args, expected):
    result = f(name, value, *args)
    assert result == expected and type(result) is type(expected)


def test_integral_results_render_without_a_fraction():
    assert to_text(f("div", "9", "3")) == "3"
    assert to_text(f("multiply", "1.5", "2")) == "3"
    assert to_text(f("add", "0.5", "0.25")) == "0.75"


@pytest.mark.parametrize("name, value, args, message", [
    ("add", "abc", [], "add: the input 'abc' is not a number"),
    ("add", None, [], "add: the input is not set"),
    ("add", "1", ["x"], "add: the argument 'x' is not a number"),
    ("add", "1", [""], "add: the argument '' is not a number"),
    ("div", "1", ["0"], "division of 1 by zero"),
    ("mathmod", "1", ["0"], "division"),
    ("sqrt", "-1", [], "sqrt: no result"),
    ("and", "maybe", ["1"], "and: the input 'maybe' is not a boolean"),
    ("round", "1.5", ["x"], "round: the number of digits 'x' is not a number"),
    ("add", "nan", [], "is not a number"),
    ("pow", "10", ["100000"], "pow"),
])
def test_math_errors(name, value, args, message):
    with pytest.raises(FormatterError, match=message.replace("(", r"\(")):
        f(name, value, *args)


def test_rand_uses_the_context_random():
    a = call("rand", None, ["10"], FormatterContext(rng=random.Random(1)))
    b = call("random", "ignored", ["10"], FormatterContext(rng=random.Random(1)))
    assert a == b and 0 <= a < 10
    assert 0 <= f("rand", None) < 2**31 - 1
    with pytest.raises(FormatterError):
        f("rand", None, "0")


# ---------------------------------------------------------------- strings

@pytest.mark.parametrize("name, value, args, expected", [
    ("def", None, ["1"], "1"),
    ("def", "", ["1"], "1"),
    ("def", "5", ["1"], "5"),
    ("def", 0, ["1"], 0),
    ("def", "5", ["1", "set"], "set"),
    ("def", None, [], ""),
    ("allownull", None, [], None),
    ("allownull", "x", [], "x"),
    ("empty", "", ["e"], "e"),
    ("empty", "v", ["e"], "v"),
    ("isnull", None, [], "true"),
    ("isnull", "v", ["y", "n"], "n"),
    ("contains", "a,col,b", ["col"], "true"),
    ("contains", "a,b", ["col"], "false"),
    ("contains", None, ["col", "y", "n"], "n"),
    ("contains", "col", ["col", "y"], "y"),
    ("equals", "abc", ["abc"], "true"),
    ("equals", "abc", ["ABC"], "false"),
    ("ifequal", "abc", ["abc", "same", "diff"], "same"),
    ("equals", None, [""], "true"),
    ("equals", 5, ["5"], "true"),
    ("notequals", "a", ["b"], "true"),
    ("notequals", "a", ["a", "ne", "eq"], "eq"),
    ("isnumeric", "-1.5e3", [], "true"),
    ("isnumeric", "1a", [], "false"),
    ("isalphabetic", "abc", [], "true"),
    ("isalphanumeric", "ab1", ["y", "n"], "y"),
    ("islower", "abc", [], "true"),
    ("isupper", "ABC1", [], "true"),
    ("isspace", " \t", [], "true"),
    ("isspace", "", [], "false"),
    ("count", "a,b,,c", [","], 3),
    ("startswith", "hello", ["he"], "true"),
    ("endswith", "hello", ["lo", "y", "n"], "y"),
    ("endswith", "hello", ["x", "y", "n"], "n"),
    ("find", "Please excuse my dear Aunt Sally.", ["Sally"], 27),
    ("find", "abcabc", ["b", "2"], 4),
    ("find", "abc", ["z"], -1),
    ("getlength", "hello world", [], 11),
    ("getlength", None, [], 0),
    ("match", "id=42&id=43", [r"\d+"], "42"),
    ("regexmatch", "id=42&id=43", [r"\d+", "1"], "43"),
    ("match", "ABC", ["b", "0", "IgnoreCase"], "B"),
    ("match", "abc", [r"\d"], None),
    ("match", "k=v", [r"(?<key>\w)=(?<val>\w)"], "k=v"),
    ("regexreplace", "2024-01-31", [r"(\d+)-(\d+)-(\d+)", "$3/$2/$1"], "31/01/2024"),
    ("regexreplace", "a1b22", [r"\d+"], "ab"),
    ("regexreplace", "k=v", [r"(?<k>\w)=(?<v>\w)", "${v}=${k} $$"], "v=k $"),
    ("regexreplace", "a1a1", ["1", "2", "2"], "a1a2"),
    ("replace", "[col]", ["[", ""], "col]"),
    ("replace", "def&a=1", ["def&"], "a=1"),
    ("replace", "a.b.c", [".", "/"], "a/b/c"),
    ("replace", "a\tb", ["09", "20", "true"], "a b"),
    ("split", "5,tok", [",", "1"], "5"),
    ("split", "5,tok", [",", "2"], "tok"),
    ("split", "5,tok", [","], "5"),
    ("split", "5,tok", [",", "3"], None),
    ("split", "a::b", ["::", "2"], "b"),
    ("substring", "hello", ["1"], "ello"),
    ("substring", "hello", ["1", "3"], "ell"),
    ("substring", "hello", ["10"], ""),
    ("substring", "hello", ["3", "10"], "lo"),
    ("tolower", "ABC", [], "abc"),
    ("toupper", "abc", [], "ABC"),
    ("toupper", None, [], ""),
    ("toupper", True, [], "TRUE"),
    ("capitalize", "hello world", [], "Hello world"),
    ("capitalizeall", "hello big world", [], "Hello Big World"),
    ("trim", "  a b  ", [], "a b"),
    ("trim", "xxaxx", ["x"], "a"),
    ("ltrim", "  a  ", [], "a  "),
    ("rtrim", "  a  ", [], "  a"),
    ("trimleft", "00012", ["0"], "12"),
    ("implode", ["a", "b", 3], [], "a,b,3"),
    ("join", ["a", "b"], [" | "], "a | b"),
    ("implode", "single", [";"], "single"),
])
def test_strings(name, value, args, expected):
    result = f(name, value, *args)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("name, value, args, message", [
    ("split", "a", ["", "1"], "split: the delimiter is empty"),
    ("split", "a", [",", "0"], "1-based"),
    ("split", "a", [",", "x"], "split: the index 'x' is not a number"),
    ("match", "a", ["("], "match: invalid regular expression"),
    ("match", "a", ["a", "0", "Sideways"], "unknown regular expression option"),
    ("substring", "abc", ["1", "-1"], "negative"),
    ("count", "abc", [""], "empty"),
    ("replace", "abc", ["zz", "y", "true"], "hex"),
])
def test_string_errors(name, value, args, message):
    with pytest.raises(FormatterError, match=message):
        f(name, value, *args)


def test_guid():
    g = f("guid", None)
    assert len(g) == 36 and g.count("-") == 4
    assert len(f("guid", None, "false")) == 32


# ---------------------------------------------------------------- encoding

@pytest.mark.parametrize("name, value, args, expected", [
    ("urlencode", "a b&c/é~", [], "a%20b%26c%2F%C3%A9~"),
    ("urldecode", "a+b%26c%2F%C3%A9", [], "a b&c/é"),
    ("base64encode", "hello", [], "aGVsbG8="),
    ("base64decode", "aGVsbG8=", [], "hello"),
    ("base64decode", "aGVsbG8", [], "hello"),
    ("xmlencode", "<a href=\"x\">'&'</a>", [], "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"),
    ("xmldecode", "&lt;&amp;&#65;", [], "<&A"),
    ("htmlencode", "<b>&", [], "&lt;b&gt;&amp;"),
    ("htmldecode", "&lt;b&gt;", [], "<b>"),
    ("jsonencode", 'say "hi"\n\\', [], 'say \\"hi\\"\\n\\\\'),
    ("hexencode", "AB", [], "4142"),
    ("hexdecode", "4142", [], "AB"),
    ("md5hash", "abc", [], "900150983cd24fb0d6963f7d28e17f72"),
    ("sha1", "abc", [], "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("sha256hash", "abc", [], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("md5", "abc", ["base64"], "kAFQmDzST7DWlj99KOF/cg=="),
])
def test_encoding(name, value, args, expected):
    assert f(name, value, *args) == expected


def test_encoding_errors():
    with pytest.raises(FormatterError, match="base64decode"):
        f("base64decode", "!!!")
    with pytest.raises(FormatterError, match="hex or base64"):
        f("md5", "a", "octal")


# ---------------------------------------------------------------- dates

@pytest.mark.parametrize("name, value, args, expected", [
    ("now", None, [], "2024-01-31T13:05:09+02:00"),
    ("now", "ignored", ["yyyy-MM-dd"], "2024-01-31"),
    ("now", None, ["s"], "2024-01-31T13:05:09"),
    ("now", None, ["R"], "Wed, 31 Jan 2024 11:05:09 GMT"),
    ("now", None, ["u"], "2024-01-31 11:05:09Z"),
    ("now", None, ["o"], "2024-01-31T13:05:09.1234560+02:00"),
    ("now", None, ["d"], "01/31/2024"),
    ("now", None, ["hh:mm tt, dddd d MMMM yy"], "01:05 PM, Wednesday 31 January 24"),
    ("now", None, ["H:m:s.fff F FFF zz z K"], "13:5:9.123 1 123 +02 +2 +02:00"),
    ("now", None, ["'year' yyyy \\M MMM ddd"], "year 2024 M Jan Wed"),
    ("now", None, ["file"], "133511727091234560"),
    ("date", None, ["yyyy"], "2024"),
    ("date", "2023-05-06", ["dd.MM.yyyy"], "06.05.2023"),
    ("date", "2023-05-06", [], "2023-05-06"),
    ("todate", "2024-01-31T10:05:03Z", ["yyyy/MM/dd HH:mm:ss zzz"], "2024/01/31 10:05:03 +00:00"),
    ("todate", "31/01/2024", ["yyyy-MM-dd", "dd/MM/yyyy"], "2024-01-31"),
    ("todate", "Jan 5, 2024 3:07 PM", ["s", "MMM d, yyyy h:mm tt"], "2024-01-05T15:07:00"),
    ("todate", "01/31/2024 08:00", ["s"], "2024-01-31T08:00:00"),
    ("todate", "Tue, 30 Jan 2024 10:00:00 GMT", ["yyyy-MM-dd HH:mm"], "2024-01-30 10:00"),
    ("todate", "20240131", ["yyyy-MM-dd"], "2024-01-31"),
    ("todate", "2024-01-31T10:05:03.5+05:30", ["HH:mm:ss.fff zzz"], "10:05:03.500 +05:30"),
    ("dateadd", "2024-01-31", ["month", "1"], "2024-02-29"),
    ("dateadd", "2024-01-31", [], "2024-02-01"),
    ("dateadd", "2024-01-31", ["day", "-31"], "2023-12-31"),
    ("dateadd", "2024-01-31T10:00:00", ["hour", "15"], "2024-02-01T01:00:00"),
    ("dateadd", "2024-01-31", ["hour", "1"], "2024-01-31T01:00:00"),
    ("dateadd", "2024-02-29", ["year", "1", "yyyy-MM-dd"], "2025-02-28"),
    ("dateadd", "31/01/2024", ["quarter", "1", "yyyy-MM-dd", "dd/MM/yyyy"], "2024-04-30"),
    ("dateadd", "2024-01-31T00:00:00", ["second", "-1", "s"], "2024-01-30T23:59:59"),
    ("compare", "2024-01-01", ["2024-01-02"], -1),
    ("compare", "2024-01-02", ["2024-01-02"], 0),
    ("compare", "2030-01-01T00:00:00Z", [], 1),
    ("year", "2023-05-06", [], 2023),
    ("month", "2023-05-06", [], 5),
    ("day", None, [], 31),
    ("hour", "06/05/2023 7", ["dd/MM/yyyy H"], 7),
])
def test_dates(name, value, args, expected):
    assert f(name, value, *args) == expected


@pytest.mark.parametrize("name, value, args, message", [
    ("todate", "yesterday", ["s"], "todate: 'yesterday' is not a date"),
    ("todate", "2024-13-01", ["s", "yyyy-MM-dd"], "todate"),
    ("todate", "x", ["s", "yyyy-MM-dd"], "does not match the date format"),
    ("todate", None, ["s"], "the input is not set"),
    ("dateadd", "2024-01-01", ["fortnight"], "unknown interval"),
    ("dateadd", "9999-12-31", ["day", "1"], "out of range"),
])
def test_date_errors(name, value, args, message):
    with pytest.raises(FormatterError, match=message):
        f(name, value, *args)


def test_formatter_errors_are_run_errors():
    with pytest.raises(RsdError) as info:
        f("add", "x")
    assert info.value.exit_code == 1
