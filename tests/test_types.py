"""The package type-checks: `mypy` strict on `rsd/` (configured in pyproject.toml), as CI runs it. Modules not typed
yet are listed there with `ignore_errors`; the list only names modules that exist, so it can only shrink."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _untyped() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    return [m for o in config["overrides"] if o.get("ignore_errors") for m in o["module"]]


def test_mypy_strict_passes_on_the_package():
    import importlib.util
    assert importlib.util.find_spec("mypy"), "mypy is a test dependency: .venv/bin/pip install -q -e '.[test]'"
    done = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr + "\n(type the new code, or, for a module of a package "
                                  "not typed yet, see the list in pyproject.toml [tool.mypy])")
    assert "Success: no issues found" in done.stdout


def test_the_list_of_untyped_modules_names_only_modules_that_exist():
    missing = []
    for module in _untyped():
        path = ROOT.joinpath(*module.removesuffix(".*").split("."))
        if not (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
            missing.append(module)
    assert not missing, f"pyproject.toml [tool.mypy] lists modules that do not exist: {missing}"
