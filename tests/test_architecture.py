"""The shape of the package: the pipeline's layers, read from the code's own imports (docs/architecture.md).

Every `import` in `rsd/` (at module level or inside a function) must point down the pipeline: to a layer below
its own, or within its own package. And no two modules may import each other, directly or through others.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rsd"

#: the pipeline, from the ground up: a module may import only from layers below its own (or its own package)
LAYERS = (
    ("rsd.errors", "rsd.truth", "rsd.secrets", "rsd.provenance", "rsd.atomic",
     "rsd.rows"),  # vocabulary every stage shares
    ("rsd.reader", "rsd.formatters"),  # read: text -> AST; the formatter registry
    ("rsd.template",),  # compile: templates -> closures
    ("rsd.mapping", "rsd.paging", "rsd.http"),  # what a run calls: responses -> rows, paging rules, HTTP
    ("rsd.refs", "rsd.options"),  # connection options and ${...} references -> resolved settings
    ("rsd.engine",),  # run: the compile step, the interpreter, operations, the run loop
    ("rsd.check",),  # check: reads the language's tables (keywords, operations, strategies, types)
    ("rsd.sinks",),  # rows -> outputs
    ("rsd.api",),  # the library: read -> options -> client -> runner -> sink
    ("rsd.jobs", "rsd.authoring", "rsd.spark"),  # jobs; rsd init (a sample -> a profile); the Spark data source
    ("rsd.present", "rsd.demo"),
    ("rsd.commands",),
    ("rsd.cli", "rsd.__main__", "rsd"),
)


def _layer(module: str) -> int:
    best, rank = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, rank = len(name), i
    if rank is None:
        raise AssertionError(f"{module} is in no layer of tests/test_architecture.py: add it where it belongs")
    return rank


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The rsd modules `path` imports (absolute names), wherever in the file the import is."""
    me = _module_name(path)
    is_pkg = path.name == "__init__.py"
    base = me.split(".") if is_pkg else me.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name == "rsd" or a.name.startswith("rsd."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - (node.level - 1)]
                mod = ".".join(parent + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not (mod == "rsd" or mod.startswith("rsd.")):
                continue
            for a in node.names:  # `from . import x` may name a module
                sub = f"{mod}.{a.name}"
                out.add(sub if _exists(sub) else mod)
    out.discard(me)
    return out


def _exists(module: str) -> bool:
    p = PACKAGE.parent.joinpath(*module.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_import_points_down_the_pipeline():
    wrong = []
    for module, targets in _graph().items():
        for target in sorted(targets):
            if _package(module) == _package(target):
                continue
            if _layer(target) > _layer(module):
                wrong.append(f"{module} imports {target}, a later stage")
    assert not wrong, "\n".join(wrong)


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan): modules that reach each other through imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_no_import_cycles_between_stages():
    # a package's __init__ handing on its own modules' names is not a cycle between stages; anything wider is
    loops = [c for c in _components(_graph()) if len({_package(m) for m in c}) > 1]
    assert not loops, "; ".join(" <-> ".join(c) for c in loops)


@pytest.mark.parametrize("command, forbidden", [
    (["--version"], ("requests", "lxml", "lark", "rich")),
    (["check", "samples/demo/Accounts.rsd"], ("requests", "urllib3", "rich", "sqlite3", "concurrent.futures")),
])
def test_commands_import_only_what_they_use(command, forbidden, tmp_path):
    import subprocess
    import sys
    code = ("import sys, io, contextlib\nimport rsd.cli\n"
            "out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):\n"
            f"    try:\n        rsd.cli.main({command!r})\n    except SystemExit:\n        pass\n"
            f"print(sorted(m for m in {forbidden!r} if m in sys.modules))\n")
    root = PACKAGE.parent
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_a_run_imports_only_what_it_uses(tmp_path):
    # `rsd run` of a profile with plain key paths and simple templates, written to a file with stderr not a terminal:
    # no template parser (lark: only templates with formatters or escapes need it), no general JSONPath engine, no
    # terminal library, no database driver
    import subprocess
    import sys

    from rsd.demo.server import DemoServer

    profile = tmp_path / "Simple.rsd"
    profile.write_text(
        '<api:script xmlns:api="http://apiscript.com/ns?v1" xmlns:xs="http://www.w3.org/2001/XMLSchema">\n'
        '  <api:info title="Simple" xmlns:other="http://apiscript.com/ns?v1">\n'
        '    <attr name="Id" xs:type="string" other:xPath="/json/records/Id" />\n'
        '    <attr name="City" xs:type="string" other:xPath="/json/records/BillingAddress/City" />\n'
        '    <attr name="CreatedDate" xs:type="datetime" other:xPath="/json/records/CreatedDate" />\n'
        '  </api:info>\n'
        '  <api:set attr="URI" value="[_connection.BaseURL]/api/accounts" />\n'
        '  <api:set attr="JSONPath" value="$.records" />\n'
        '  <api:script method="GET"><api:call op="jsonproviderGet"><api:push /></api:call></api:script>\n'
        '</api:script>\n', encoding="utf-8")
    forbidden = ("lark", "jsonpath_ng", "ply", "rich", "sqlite3", "pyarrow", "duckdb", "xml.sax")
    with DemoServer(require_auth=False) as srv:
        command = ["run", str(profile), "-o", f"BaseURL={srv.url}", "-q", "-f", "jsonl",
                   "--output", str(tmp_path / "out.jsonl")]
        code = ("import sys\nimport rsd.cli\n"
                f"try:\n    rsd.cli.main({command!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
                f"print(sorted(m for m in {forbidden!r} if m in sys.modules))\n")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out.jsonl").read_bytes().count(b"\n") > 0
