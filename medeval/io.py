"""Small file helpers: atomic writes (temp file in the same folder + fsync + rename), folder swaps, JSON lines."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | Path, obj: Any, **kwargs: Any) -> Path:
    kwargs.setdefault("indent", 2)
    return atomic_write_text(path, json.dumps(obj, default=str, **kwargs) + "\n")


def replace_dir(stage: str | Path, dest: str | Path) -> Path:
    """Swap the fully written folder ``stage`` in at ``dest`` (same file system) with renames, then drop the old one.

    Readers see the old folder or the new one, never a mix; ``stage`` is usually a ``tempfile.mkdtemp`` sibling.
    """
    stage, dest = Path(stage), Path(dest)
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(stage, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file; SourceError naming the file and line for a bad line."""
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
