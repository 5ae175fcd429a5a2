"""JSON-lines reading: one JSON object per line, a bad line named by file and line number.

Writing is :mod:`medeval.fsutil`'s (atomic writes).

    >>> from medeval.jsonl import iter_jsonl
    >>> rows = list(iter_jsonl("data/tasks/MyTask/corpus.jsonl"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file, one per non-blank line.

    Args:
        path: a ``.jsonl`` file (UTF-8).

    Returns:
        An iterator of dicts, in file order (read lazily).

    Raises:
        SourceError: a line is not valid JSON or not an object (the message names the file and line).
        OSError: the file cannot be opened.
    """
    from medeval.errors import SourceError

    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise SourceError(f"{path}:{lineno}: invalid JSON ({err.msg}); each line must be one JSON object") from None
            if not isinstance(row, dict):
                raise SourceError(f"{path}:{lineno}: each line must be a JSON object, got {type(row).__name__}")
            yield row
