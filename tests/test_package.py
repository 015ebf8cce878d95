"""The distribution: its name and version (one source), the package data read with importlib.resources, install
hints that name the distribution, and (slow) a wheel built from this checkout installed in fresh virtual
environments on Python 3.11, 3.12 and 3.13, where `rsd demo` runs."""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata, resources
from pathlib import Path

import pytest

import rsd

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DISTRIBUTION = PYPROJECT["project"]["name"]


def test_the_distribution_name_is_ours_and_the_version_has_one_source():
    project = PYPROJECT["project"]
    assert DISTRIBUTION == "rsd-profiles"  # `rsd` on the package index is an unrelated project
    assert "version" not in project and project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "rsd/__init__.py"
    assert metadata.version(DISTRIBUTION) == rsd.__version__
    assert project["scripts"] == {"rsd": "rsd.cli:main"}
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert project["requires-python"] == ">=3.11"
    versions = {c.rsplit(" :: ", 1)[1] for c in project["classifiers"]
                if c.startswith("Programming Language :: Python :: 3.")}
    assert versions == {"3.11", "3.12", "3.13"}


def test_grammar_and_samples_are_package_data_found_with_importlib_resources():
    data = resources.files("rsd")
    assert data.joinpath("grammar", "template.lark").read_text(encoding="utf-8") == \
        (ROOT / "grammar" / "template.lark").read_text(encoding="utf-8")
    ours = sorted(p.name for p in data.joinpath("samples", "demo").iterdir())
    assert ours == sorted(p.name for p in (ROOT / "samples" / "demo").iterdir()) and "Accounts.rsd" in ours
    from rsd.demo.run import samples_dir
    from rsd.template.compiler import grammar_path
    assert grammar_path().is_file() and (samples_dir() / "job.toml").is_file()
    force = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force == {"grammar": "rsd/grammar", "samples": "rsd/samples"}


def test_install_hints_name_the_distribution_and_its_extras():
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    hints = []
    for folder in ("rsd", "docs", "tests", "samples"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".md") and path.is_file():
                hints += re.findall(r"pip install '?([\w.-]+)(?:\[(\w+)\])?", path.read_text(encoding="utf-8"))
    hints += re.findall(r"pip install '?([\w.-]+)(?:\[(\w+)\])?", (ROOT / "README.md").read_text(encoding="utf-8"))
    ours = [(name, extra) for name, extra in hints if name.startswith("rsd")]
    assert len(ours) >= 5
    assert {name for name, _ in ours} == {DISTRIBUTION}
    assert {extra for _, extra in ours if extra} <= extras


# --- slow: the wheel, in fresh virtual environments ------------------------------------------------------------------

def _python(version: str) -> str | None:
    """An interpreter of `version`: RSD_TEST_PYTHON_3_12=/path, pyenv's, or `python3.12` on PATH."""
    given = os.environ.get("RSD_TEST_PYTHON_" + version.replace(".", "_"))
    if given:
        return given
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python")) or \
        sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
    return found[-1] if found else shutil.which(f"python{version}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    [built] = out.glob("*.whl")
    assert built.name == f"rsd_profiles-{rsd.__version__}-py3-none-any.whl"
    return built


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_the_wheel_installs_in_a_fresh_venv_and_rsd_demo_runs(version, wheel, tmp_path):
    python = _python(version)
    if python is None:
        # a machine without this Python cannot prove it (nothing but package registries is reachable, and Python
        # is not on them); the skip reason says which version went unproven
        pytest.skip(f"no Python {version} here (set RSD_TEST_PYTHON_{version.replace('.', '_')})")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RSD_", "PYTEST_", "PYTHON", "VIRTUAL_ENV"))}

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        # a folder outside the checkout: nothing of the source tree can be imported by accident
        return subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    assert run(python, "-m", "venv", str(venv)).returncode == 0
    installed = run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel))
    assert installed.returncode == 0, installed.stderr
    where = run(str(venv / "bin" / "python"), "-c", "import rsd, sys; print(rsd.__file__); print(sys.version_info[:2])")
    assert where.stdout.splitlines()[0].startswith(str(venv)), where.stdout
    assert where.stdout.splitlines()[1] == str(tuple(int(n) for n in version.split(".")))
    assert run(str(venv / "bin" / "rsd"), "--version").stdout == f"rsd {rsd.__version__}\n"
    assert run(str(venv / "bin" / "python"), "-m", "rsd", "--version").stdout == f"rsd {rsd.__version__}\n"
    demo = run(str(venv / "bin" / "rsd"), "demo", "--db", str(tmp_path / "demo.db"))
    assert demo.returncode == 0, demo.stdout + demo.stderr
    import sqlite3
    con = sqlite3.connect(tmp_path / "demo.db")
    try:
        assert con.execute("SELECT count(*) FROM accounts").fetchone() == (237,)
    finally:
        con.close()
    samples = Path(where.stdout.splitlines()[0]).parent / "samples"
    checked = run(str(venv / "bin" / "rsd"), "check", str(samples))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ci_runs_readmes_test_command_then_the_slow_tests():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S).group(1).splitlines()
    assert first_block[1] == ".venv/bin/python -m pytest -q -m 'not slow' -n 4"  # install + demo, then the tests
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line.startswith(".venv/bin/python -m pytest")]
    assert ci == [first_block[1], ".venv/bin/python -m pytest -q -m slow"]
    markers = PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("slow:") for m in markers)
