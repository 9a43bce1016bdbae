"""No import cycles between nnlint's own modules.

Every `import` and `from ... import` in src/nnlint, rules/ and server/ counts, wherever it
stands: at module level, inside a function, or under `if TYPE_CHECKING:`. A cycle hidden
behind a function-level or type-checking import is still a cycle in the design (two layers
that each need the other), so the walk reads the syntax tree rather than what Python
happens to execute at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Where each package's files live (pyproject's package-dir).
PACKAGES = {
    "nnlint": ROOT / "src" / "nnlint",
    "nnlint.rules": ROOT / "rules",
    "nnlint.server": ROOT / "server",
}

def module_files() -> dict[str, Path]:
    """Module name -> file, for every module of the three packages."""
    modules: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        # Subpackages (server/features) too: their modules import and are imported alike.
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if "__pycache__" in parts or "node_modules" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an `from X import ...` names, relative imports included."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The nnlint modules `module` imports, at any depth of its syntax tree."""
    is_package = path.stem == "__init__"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve_from(module, is_package, node)
            for alias in node.names:
                # `from nnlint import config` imports the module nnlint.config.
                submodule = f"{target}.{alias.name}"
                if submodule in known:
                    found.add(submodule)
                elif target in known:
                    found.add(target)
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {name: imports_of(name, path, known) for name, path in files.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that can each reach all the others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [group for group in groups if len(group) > 1]


def cycle_path(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """One concrete cycle through the group's first module, for the failure message."""
    members = set(group)
    start = group[0]
    # Breadth-first from start back to start, staying inside the group.
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, start]
                if target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    return group


def test_every_package_is_walked() -> None:
    files = module_files()
    assert "nnlint.engine" in files and "nnlint.rules.nn101_missing_zero_grad" in files
    assert "nnlint.server.features.hover" in files


def test_walk_sees_function_level_and_type_checking_imports() -> None:
    """The walk would miss hidden cycles if it only read module-level imports."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from nnlint.config import Settings\n"
        "def f():\n"
        "    from nnlint import registry\n"
        "    import nnlint.walk\n"
        "    from . import source\n"
    )
    tree_file = ROOT / "tests" / "_cycle_probe_unused.py"
    known = {"nnlint.config", "nnlint.registry", "nnlint.walk", "nnlint.source"}
    try:
        tree_file.write_text(source, encoding="utf-8")
        found = imports_of("nnlint.probe", tree_file, known)
    finally:
        tree_file.unlink()
    assert found == known


def test_cycle_finder_names_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    groups = strongly_connected(graph)
    assert groups == [["a", "b", "c"]]
    assert cycle_path(graph, groups[0]) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = []
    for group in strongly_connected(graph):
        cycles.append(" -> ".join(cycle_path(graph, group)) + f"  (modules in the cycle: {', '.join(group)})")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
