"""The house plan holds: no import cycles, and each engine's package is its own.

Imports are read with `ast`, so an import inside a function counts as much as one at the top
(it runs as surely, only later); one under ``if TYPE_CHECKING:`` does not (it never runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mnist_lab", "dashboard", "pages")
ENGINES_PACKAGE = "mnist_lab.engines"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def resolve(name: str) -> str | None:
    """The project module that ``name`` (a module or a name inside one) refers to."""
    parts = name.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts) or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            # Only its ``else`` branch runs.
            for other in child.orelse:
                yield from _import_nodes_of(other)
            continue
        yield from _import_nodes_of(child)


def _import_nodes_of(node: ast.AST):
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _import_nodes(node)


def imports_of(module: str) -> set[str]:
    """Every project module that ``module`` imports, at the top or inside functions."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in _import_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        found.update(target for target in map(resolve, names) if target and target != module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
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
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_import_graph_is_read():
    assert "mnist_lab.runs" in GRAPH["mnist_lab.engines"]
    assert "mnist_lab.files" in GRAPH["mnist_lab.runs"]


def test_a_cycle_is_found_in_a_hand_built_graph():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_the_file_helpers_import_nothing_of_the_project():
    assert GRAPH["mnist_lab.files"] == set()


def test_the_library_never_imports_the_dashboard():
    reaching_up = {
        module: sorted(target for target in targets if not target.startswith("mnist_lab"))
        for module, targets in GRAPH.items()
        if module.startswith("mnist_lab")
    }
    assert {module: up for module, up in reaching_up.items() if up} == {}


ENGINE_PACKAGES = sorted(
    path.name
    for path in (ROOT / "mnist_lab" / "engines").iterdir()
    if (path / "__init__.py").is_file()
)


@pytest.mark.parametrize("engine", ENGINE_PACKAGES)
def test_no_module_outside_an_engine_imports_its_package(engine):
    package = f"{ENGINES_PACKAGE}.{engine}"
    intruders = sorted(
        module
        for module, targets in GRAPH.items()
        if not (module == package or module.startswith(package + "."))
        and any(target == package or target.startswith(package + ".") for target in targets)
    )
    assert intruders == [], f"ask the registry for the {engine} engine instead"
