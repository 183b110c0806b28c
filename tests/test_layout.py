"""The package's shape, checked: a small core, wings that import only downward, no cycles, no oversized files.

The order of the wings is the architecture (see infogan/__init__.py): a module may import the core and any wing
before its own, never one after it, so a folder tells what its files may depend on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "infogan"
CORE = {"__init__", "latent", "config", "networks", "losses", "model", "presets"}
COMMANDS = {"evaluate", "refine", "annotate", "synthesize", "export_web"}  # `python -m infogan.X` aliases
WINGS = ["data", "metrics", "export", "training", "explorer"]  # each may import those before it
# The one allowed upward edge: save_pretrained writes the Hub card (export.model_card), imported inside the method.
ALLOWED_UPWARD = {("model", "export.model_card")}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        found[dotted.removesuffix(".__init__") if dotted != "__init__" else "__init__"] = path
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """Modules of this package `name` imports (dotted, relative to infogan), at any depth of the file."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    if name == "__init__":
        package = []
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # Imports for type checkers only (`if TYPE_CHECKING:`) never run, so they make no runtime dependency or cycle.
    typing_only = {
        id(inner)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
        for inner in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "infogan":
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                candidate = ".".join([*target, alias.name])
                found.add(candidate if candidate in modules() else ".".join(target) or "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "infogan":
                    found.add(".".join(alias.name.split(".")[1:]) or "__init__")
    return {f for f in found if f in modules() and f != name}


def layer(name: str) -> int:
    head = name.split(".")[0]
    return 1 + WINGS.index(head) if head in WINGS else (len(WINGS) + 1 if head in COMMANDS else 0)


def test_the_top_level_is_the_core_and_the_command_aliases() -> None:
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= CORE | COMMANDS, f"new top-level modules {sorted(top - CORE - COMMANDS)}: put them in a wing"
    assert len(top) <= 12
    wings = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert wings == set(WINGS), wings


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_imports_a_wing_after_its_own(name: str) -> None:
    upward = {
        target
        for target in imports_of(name, modules()[name])
        if layer(target) > layer(name) and (name, target) not in ALLOWED_UPWARD
    }
    assert not upward, f"infogan.{name} imports {sorted(upward)}, which sit above it (order: core, {WINGS})"


def test_no_import_cycle() -> None:
    graph = {name: imports_of(name, path) for name, path in modules().items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_no_python_file_is_over_500_lines() -> None:
    root = PACKAGE.parent
    folders = [PACKAGE, root / "tests", root / "benchmarks", root / "scripts", root / "docs"]
    files = [*root.glob("*.py"), *(p for folder in folders for p in folder.rglob("*.py"))]
    long = {str(p.relative_to(root)): n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, f"split these by concern: {long}"
    assert len((root / "app.py").read_text(encoding="utf-8").splitlines()) <= 150, "app.py is UI entry only"
