"""The package's shape: small modules, no import cycles, nothing importing a later stage, and the emulator
kept apart (the product imports it only for --sandbox and mock-server)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "snapcapi"
MAX_LINES = 400

# The pipeline's layers, first to last: a module imports (at module level) only its own layer or earlier
# ones. A module of no layer here fails the test, so that a new one is placed on purpose. The emulator is
# apart: it imports only the bottom layer (Snap's rules) and the memory settings.
LAYERS = {
    "spec": 0, "model": 0, "errors": 0, "settings": 0, "sqlarray": 0,
    "read": 1, "events": 2, "send": 3, "run": 4, "outputs": 5,
    "wiring": 6, "request": 6, "inspection": 6, "api": 6, "spark": 7, "cli": 8, "__main__": 8, "__init__": 8,
}  # fmt: skip
EMULATOR_MAY_IMPORT = {
    "snapcapi.spec",
    "snapcapi.model",
    "snapcapi.errors",
    "snapcapi.run",
    "snapcapi.run.memory",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _top_level_imports(path: Path) -> set[str]:
    """The snapcapi modules `path` imports when it is imported: not those imported inside a function, nor
    under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's own package
                    package = module.split(".")[: -node.level]
                    base = ".".join([*package, base] if base else package)
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return {name for name in names if name in MODULES}


GRAPH = {name: _top_level_imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    parts = module.split(".")
    layer = LAYERS.get(parts[1] if len(parts) > 1 else "__init__")
    assert layer is not None, f"{module} is in no layer of LAYERS"
    return layer


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name: str) -> None:
    """Every module of snapcapi fits in 400 lines."""
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines"


def test_there_are_no_import_cycles() -> None:
    """No module imports, through others, itself (counting module-level imports, as Python runs them)."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def walk(path: list[str]) -> None:
        for other in sorted(GRAPH[path[-1]]):
            if other in path:
                cycles.append([*path[path.index(other) :], other])
            elif other not in done:
                walk([*path, other])
        done.add(path[-1])

    for name in sorted(GRAPH):
        if name not in done:
            walk([name])
    assert cycles == []


def test_nothing_imports_a_later_stage() -> None:
    """A module imports only its own layer or earlier ones: read < events < send < run < outputs < api."""
    upward = [
        f"{name} -> {other}"
        for name, imports in GRAPH.items()
        if not name.startswith("snapcapi.emulator")
        for other in imports
        if not other.startswith("snapcapi.emulator") and _layer(name) < _layer(other) and other != "snapcapi"
    ]
    assert upward == []


def test_the_product_imports_the_emulator_only_inside_functions() -> None:
    """Outside snapcapi.emulator, no module imports it at module level; the emulator imports only Snap's
    rules and the memory settings."""
    product = [
        f"{name} -> {other}"
        for name, imports in GRAPH.items()
        if not name.startswith("snapcapi.emulator")
        for other in imports
        if other.startswith("snapcapi.emulator")
    ]
    assert product == []
    emulator = {
        other
        for name, imports in GRAPH.items()
        if name.startswith("snapcapi.emulator")
        for other in imports
        if not other.startswith("snapcapi.emulator") and other != "snapcapi"
    }
    assert emulator <= EMULATOR_MAY_IMPORT


def test_the_command_line_and_the_library_load_no_emulator() -> None:
    """Importing the CLI and the front door, and validating a file, loads no emulator module."""
    sample = PACKAGE.parent / "samples" / "web_events.csv"
    code = (
        "import sys, snapcapi, snapcapi.cli.app\n"
        f"snapcapi.validate({str(sample)!r}, pixel_id='p', workers=1)\n"
        "print(sorted(m for m in sys.modules if m.startswith('snapcapi.emulator')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
