"""Read a ``Literal`` type alias of mteb (e.g. its licence ids) from mteb's installed source, without importing mteb.

Importing mteb costs about 4 s of CPU (it pulls in torch, scikit-learn and datasets); checking a task YAML's
``license`` only needs mteb's list of licence ids. That list stays mteb's: this module finds the installed package
with :func:`importlib.util.find_spec` (which locates a top-level package without running it), parses the module
that uses the alias with :mod:`ast` and follows its ``from ... import`` statements to where the alias is assigned.
Nothing is executed. When mteb's source no longer has that shape, :func:`literal_values` returns None and the
caller imports mteb instead.

    >>> from medeval.spec.mteb_literals import literal_values
    >>> literal_values("mteb.abstasks.task_metadata", "Licenses")[:3]
    ('not specified', 'mit', 'cc-by-2.0')
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

#: How many ``from ... import`` statements :func:`literal_values` follows before giving up.
MAX_HOPS = 6


def _source_file(module: str) -> Path | None:
    """The ``.py`` file of ``module`` (dotted), found from its top-level package's folder without importing it."""
    top, _, rest = module.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        base = Path(location).joinpath(*rest.split(".")) if rest else Path(location)
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
    return None


def _string_literal(node: ast.expr) -> tuple[str, ...] | None:
    """The strings of ``Literal["a", "b"]`` (or ``typing.Literal[...]``), or None for any other expression."""
    if not isinstance(node, ast.Subscript):
        return None
    head = node.value
    named = head.id if isinstance(head, ast.Name) else head.attr if isinstance(head, ast.Attribute) else None
    if named != "Literal":
        return None
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if not items or not all(isinstance(i, ast.Constant) and isinstance(i.value, str) for i in items):
        return None
    return tuple(i.value for i in items)  # type: ignore[attr-defined]


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` statement in ``module`` reads from."""
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def literal_values(module: str, name: str) -> tuple[str, ...] | None:
    """The string values of the ``Literal`` alias ``name`` as ``module`` sees it, read from source (no import).

    Args:
        module: the dotted module that uses the alias, e.g. ``"mteb.abstasks.task_metadata"``.
        name: the alias, e.g. ``"Licenses"``.

    Returns:
        The values in source order, or None when the source is not found or the alias is not a module-level
        ``name = Literal[...]`` reached through at most :data:`MAX_HOPS` ``from ... import`` statements.

    Example:
        >>> "apache-2.0" in literal_values("mteb.abstasks.task_metadata", "Licenses")
        True
    """
    for _ in range(MAX_HOPS):
        path = _source_file(module)
        if path is None:
            return None
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            return None
        next_hop: tuple[str, str] | None = None
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return _string_literal(node.value)
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                return _string_literal(node.value) if node.value is not None else None
            if isinstance(node, ast.ImportFrom) and next_hop is None:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        next_hop = (_absolute(module, path.name == "__init__.py", node), alias.name)
        if next_hop is None:
            return None
        module, name = next_hop
    return None
