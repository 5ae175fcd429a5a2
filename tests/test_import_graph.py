"""No import cycle among medeval's modules, outside a package's own ``__init__`` (issue 14).

The graph is read with ``ast`` (nothing is imported). Its nodes are medeval's modules; its edges are the ``import``
and ``from ... import`` statements inside medeval, **at module level and inside functions** (a function-level import
is a cycle waiting for the first call that makes it real). Imports under ``if TYPE_CHECKING:`` are not counted:
they never run. A package's ``__init__`` is not a node: an import of a name it re-exports is an edge to the module
that defines the name, so ``from medeval.spec import TaskSpec`` counts as an import of ``medeval.spec.task``, and a
package that imports its own submodules is not a cycle. ``python tests/test_import_graph.py`` prints every cycle.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "medeval"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, str | None]]:
    """Every (imported module, imported name or None) in ``tree``, at any depth, skipping TYPE_CHECKING blocks."""
    found: list[tuple[str, str | None]] = []
    base = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.extend((target, alias.name) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return [(m, n) for m, n in found if m == "medeval" or m.startswith("medeval.")]


def import_graph() -> dict[str, set[str]]:
    """medeval's module import graph: module -> the modules it imports (package ``__init__`` files resolved away).

    Returns:
        A mapping from each non-``__init__`` module's dotted name to the set of medeval modules it imports.
    """
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    packages = {name for name, p in files.items() if p.name == "__init__.py"}
    raw = {name: _imports(ast.parse(p.read_text(encoding="utf-8")), name, name in packages) for name, p in files.items()}

    def resolve(target: str, name: str | None, seen: frozenset[str] = frozenset()) -> set[str]:
        if name is not None and f"{target}.{name}" in files:
            target, name = f"{target}.{name}", None  # `from pkg import submodule`
        if target not in packages:
            return {target} if target in files else set()
        if name is None or target in seen:
            return set()  # `import pkg` alone runs only the __init__, which is not a node
        # a name the __init__ re-exports: an edge to the module it comes from
        out: set[str] = set()
        for source, imported in raw[target]:
            if imported == name:
                out |= resolve(source, imported, seen | {target})
        return out

    return {
        name: {dep for target, imported in raw[name] for dep in resolve(target, imported)} - {name}
        for name in files if name not in packages
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (each holds at least one cycle), sorted.

    Args:
        graph: module -> imported modules, as :func:`import_graph` returns.

    Returns:
        Each component's modules, sorted; components sorted by their first module.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(out)


def test_the_graph_sees_module_and_function_level_imports() -> None:
    graph = import_graph()
    assert "medeval.spec.task" in graph["medeval.catalog"]  # `from medeval.spec import TaskSpec`, via the __init__
    assert "medeval.catalog" in graph["medeval.cli.catalogue"]  # imported inside the command functions
    assert not any(name.endswith("__init__") for name in graph)


def test_cycle_finder_finds_a_planted_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


#: Cycles not yet broken, each with the reason; the test fails when one is broken too (then delete it here).
KNOWN: list[list[str]] = []


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert all(k in found for k in KNOWN), f"a known cycle is gone; delete it from KNOWN: {[k for k in KNOWN if k not in found]}"
    found = [c for c in found if c not in KNOWN]
    assert found == [], "import cycles (python tests/test_import_graph.py lists them): " + "; ".join(
        " <-> ".join(c) for c in found)


if __name__ == "__main__":
    g = import_graph()
    for component in cycles(g):
        print("cycle:", ", ".join(component))
        for m in component:
            print(f"  {m} -> {', '.join(sorted(d for d in g[m] if d in component))}")
