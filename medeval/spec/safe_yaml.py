"""Reading YAML files medeval does not trust (task files anyone can share): plain data only, bounded size.

``yaml.safe_load`` already refuses Python objects, but an "alias bomb" (``&a [*b, *b, ...]`` nested a few levels) is
small on disk, parses instantly and expands to billions of items the moment it is validated, dumped or hashed.
Task files never need anchors or aliases, so they are refused outright, with the line, before anything expands.

    >>> from medeval.spec.safe_yaml import load_untrusted
    >>> load_untrusted("name: A\\ntype: Retrieval\\n", "tasks/A.yaml")
    {'name': 'A', 'type': 'Retrieval'}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from medeval.errors import SpecError

#: The largest YAML text accepted (bytes); medeval's own task files are under 5 kB.
MAX_YAML_BYTES = 1_000_000


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that stops at the first anchor (``&name``) or alias (``*name``) instead of composing it."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 - PyYAML hook
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _AliasFound(event.start_mark)
        return super().compose_node(parent, index)


class _AliasFound(Exception):
    def __init__(self, mark: Any) -> None:
        super().__init__()
        self.mark = mark


def load_untrusted(text: str, path: str | Path = "<string>", what: str = "task file") -> Any:
    """Parse YAML text from an untrusted file: safe types only, no anchors or aliases, at most :data:`MAX_YAML_BYTES`.

    Args:
        text: The file's text.
        path: The file, for the message.
        what: What the file is, for the message (``"task file"``, ``"benchmark file"``).

    Returns:
        The parsed document.

    Raises:
        SpecError: The text is too large or uses an anchor or alias; one line naming the file (and line).
        yaml.YAMLError: The text is not valid YAML (the caller words it).

    Example:
        >>> load_untrusted("a: &x [1]\\nb: *x\\n", "bomb.yaml")
        Traceback (most recent call last):
        medeval.errors.SpecError: bomb.yaml: line 1, column 4: YAML anchors and aliases (&name, *name) are not allowed ...
    """
    size = len(text.encode("utf-8"))
    if size > MAX_YAML_BYTES:
        raise SpecError(f"{path}: {size:,} bytes is over the {MAX_YAML_BYTES:,}-byte limit for a {what}; "
                        "a task file holds a description, not data (put rows in the task's data folder)")
    loader = _NoAliasLoader(text)
    try:
        return loader.get_single_data()
    except _AliasFound as found:
        where = f"line {found.mark.line + 1}, column {found.mark.column + 1}"
        raise SpecError(f"{path}: {where}: YAML anchors and aliases (&name, *name) are not allowed in a {what}; "
                        "write each value out in full") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path, what: str = "task file") -> Any:
    """Parse one YAML file safely (:func:`load_untrusted`: no Python objects, no aliases).

    Args:
        path: the file to read (UTF-8).
        what: what the file is, for the error message (e.g. ``"task file"``, ``"benchmark file"``).

    Returns:
        The parsed document (a mapping for every medeval YAML; callers check the shape).

    Raises:
        SpecError: the file is missing, not UTF-8 or not valid YAML; one line naming the file (and line, column).

    Example::

        >>> read_yaml("tasks/WikiSyndromesClassification.yaml")["type"]
        'Classification'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such {what}; check the path") from None
    except UnicodeDecodeError as err:
        raise SpecError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); save it as UTF-8") from None
    try:
        return load_untrusted(text, path, what)  # safe types, no anchors/aliases (alias bombs), size cap
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SpecError(f"{path}:{where}: invalid YAML: {problem}; fix the syntax (indentation, quotes, colons)") from None
