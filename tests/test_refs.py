"""`${...}` references (docs/reference/contract.md §3): variables, env, file, keyring, cmd; errors name the reference,
never a value."""
from __future__ import annotations

import shlex
import sys

import pytest

from rsd import refs
from rsd.errors import EXIT_INVALID_INPUT, OptionError
from rsd.http.redact import Redactor
from rsd.refs import RefContext, has_refs, resolve_refs, sole_file_reference

PY = shlex.quote(sys.executable)


def test_text_without_references_is_unchanged():
    assert resolve_refs("plain $ text {x}", {}) == "plain $ text {x}"
    assert resolve_refs("", {}) == ""


def test_variables_exact_then_case_insensitive():
    assert resolve_refs("Bearer ${access_token}", {"access_token": "abc"}) == "Bearer abc"
    assert resolve_refs("${Access_Token}", {"access_token": "abc"}) == "abc"
    assert resolve_refs("${a}-${b}", {"a": 1, "b": None}) == "1-"


def test_missing_variable_names_the_reference():
    with pytest.raises(OptionError) as e:
        resolve_refs("Bearer ${access_token}", {}, what="option CustomHeaders")
    assert e.value.exit_code == EXIT_INVALID_INPUT
    assert "${access_token}" in str(e.value) and "option CustomHeaders" in str(e.value)
    assert "--var access_token=" in str(e.value)


def test_dollar_dollar_is_a_literal_and_values_are_not_rescanned(monkeypatch):
    monkeypatch.setenv("RSD_T_SECRET", "env-value-1234")
    assert resolve_refs("$${env:RSD_T_SECRET}", {}) == "${env:RSD_T_SECRET}"
    assert resolve_refs("cost $5 $${x} ${v}", {"v": "${env:RSD_T_SECRET}"}) == "cost $5 ${x} ${env:RSD_T_SECRET}"


def test_unterminated_and_invalid_references_do_not_quote_the_text():
    with pytest.raises(OptionError) as e:
        resolve_refs("pa${ss-w0rd-literal", {})
    assert "unterminated" in str(e.value) and "w0rd" not in str(e.value)
    with pytest.raises(OptionError, match="unknown reference kind"):
        resolve_refs("${vault:x}", {})
    with pytest.raises(OptionError, match="not a valid reference"):
        resolve_refs("${a b}", {})


def test_env_reference_is_a_secret(monkeypatch):
    monkeypatch.setenv("SF_CLIENT_ID", "client-id-value")
    r = Redactor()
    assert resolve_refs("id=${env:SF_CLIENT_ID}", {}, secrets=r) == "id=client-id-value"
    assert r.redact("x client-id-value y") == "x *** y"


def test_unset_env_names_the_reference_only(monkeypatch):
    monkeypatch.delenv("SF_CLIENT_SECRET", raising=False)
    with pytest.raises(OptionError) as e:
        resolve_refs("${env:SF_CLIENT_SECRET}", {})
    assert "${env:SF_CLIENT_SECRET} is not set" in str(e.value)


def test_file_reference_relative_to_base_dir_one_newline_removed(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token.txt").write_text("tok-123456\n\n")
    (tmp_path / "crlf.txt").write_bytes(b"crlf-secret\r\n")
    r = Redactor()
    ctx = RefContext()
    assert resolve_refs("${file:secrets/token.txt}", {}, base_dir=tmp_path, secrets=r, context=ctx) == "tok-123456\n"
    assert resolve_refs("${file: crlf.txt }", {}, base_dir=tmp_path, secrets=r, context=ctx) == "crlf-secret"
    assert ctx.files["${file:secrets/token.txt}"] == (tmp_path / "secrets" / "token.txt")
    assert "crlf-secret" in r
    assert r.redact("tok-123456") == "***"


def test_missing_file_is_an_option_error(tmp_path):
    with pytest.raises(OptionError) as e:
        resolve_refs("${file:nope.txt}", {}, base_dir=tmp_path)
    assert "${file:nope.txt}" in str(e.value) and "cannot read" in str(e.value)


def test_sole_file_reference(tmp_path):
    assert sole_file_reference(" ${file:rt.txt} ", tmp_path) == tmp_path / "rt.txt"
    assert sole_file_reference("x${file:rt.txt}", tmp_path) is None
    assert sole_file_reference("${env:X}", tmp_path) is None
    assert has_refs("a ${b}") and not has_refs("a $${b}") and not has_refs(None)


def test_keyring_missing_tells_how_to_install():
    try:
        import keyring  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("keyring is installed here")
    with pytest.raises(OptionError) as e:
        resolve_refs("${keyring:salesforce/alice}", {})
    assert "pip install 'rsd-profiles[keyring]'" in str(e.value)
    with pytest.raises(OptionError, match="SERVICE/USER"):
        resolve_refs("${keyring:no-slash}", {})


def test_cmd_reference_runs_without_a_shell_and_is_a_secret():
    r = Redactor()
    text = resolve_refs(f"${{cmd:{PY} -c \"print('from-cmd-secret')\"}}", {}, secrets=r)
    assert text == "from-cmd-secret"
    assert "from-cmd-secret" in r
    # no shell: a ';' is an argument, not a command separator
    assert resolve_refs(f"${{cmd:{PY} -c \"import sys; print(sys.argv[1])\" 'a;b'}}", {}) == "a;b"


def test_cmd_runs_once_per_context(tmp_path):
    counter = tmp_path / "count"
    script = tmp_path / "count.py"
    script.write_text(f"import pathlib\np = pathlib.Path({str(counter)!r})\n"
                      f"p.write_text(str(int(p.read_text() if p.exists() else 0) + 1))\nprint('v')\n")
    ctx = RefContext()
    ref = f"${{cmd:{PY} {shlex.quote(str(script))}}}"
    assert resolve_refs(f"{ref}{ref}", {}, context=ctx) == "vv"
    assert counter.read_text() == "1"


def test_failing_command_names_the_command_not_its_output():
    ref = f"${{cmd:{PY} -c \"import sys; print(chr(65) * 8); sys.stderr.write(chr(66) * 8); sys.exit(3)\"}}"
    with pytest.raises(OptionError) as e:
        resolve_refs(ref, {})
    message = str(e.value)
    assert "exit status 3" in message and sys.executable in message
    assert "AAAAAAAA" not in message and "BBBBBBBB" not in message


def test_command_not_found_and_timeout(monkeypatch):
    with pytest.raises(OptionError, match="command not found: no-such-command-rsd"):
        resolve_refs("${cmd:no-such-command-rsd --x}", {})
    monkeypatch.setattr(refs, "CMD_TIMEOUT", 0.3)
    with pytest.raises(OptionError, match="did not finish"):
        resolve_refs(f"${{cmd:{PY} -c \"import time; time.sleep(5)\"}}", {})
