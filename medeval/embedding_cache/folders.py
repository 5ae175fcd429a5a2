"""Where the embedding cache lives and what is in it: ``medeval cache info`` and ``medeval cache clear``.

``<data folder>/embeddings/<org>__<model>/<revision>/`` (data folder: ``--data-dir``, ``$MEDEVAL_HOME`` or
``~/.cache/medeval``), one folder of shards per model revision.

    >>> print(cache_info())                                          # medeval cache info
    >>> print(cache_clear("sentence-transformers/all-MiniLM-L6-v2"))  # medeval cache clear --model ...
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from medeval.embedding_cache.shards import ShardError, read_shard
from medeval.errors import MedEvalError
from medeval.results.layout import model_folder_name, model_name_of_folder
from medeval.store import DataStore


def cache_root() -> Path:
    """``<data folder>/embeddings``: the folder of every model's cached vectors.

    Returns:
        The folder (not created).
    """
    return DataStore().subdir("embeddings")


def _path_part(text: str) -> str:
    """One folder name from a model name or revision (``org/name`` -> ``org__name``; never ``..``)."""
    part = model_folder_name(text.strip()).replace("\\", "__")
    return part if part not in ("", ".", "..") else f"_{part}_"


def model_folder(meta: Any) -> Path:
    """The cache folder of one model revision: ``<cache root>/<org>__<name>/<revision>``.

    Args:
        meta: The model's mteb ``ModelMeta`` (mteb's placeholders stand in for a missing name or revision).

    Returns:
        The folder (not created).
    """
    name = getattr(meta, "name", None) or "no_model_name_available"
    return cache_root() / _path_part(name) / _path_part(getattr(meta, "revision", None) or "no_revision_available")


def _folder_stats(folder: Path) -> dict[str, int]:
    stats = {"vectors": 0, "shards": 0, "bytes": 0, "damaged": 0}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        stats["bytes"] += path.stat().st_size
        if path.name.endswith(".corrupt"):
            stats["damaged"] += 1
        elif path.name.startswith("emb-") and path.name.endswith(".emb"):
            stats["shards"] += 1
            try:
                stats["vectors"] += read_shard(path)[1].rows
            except ShardError:
                stats["damaged"] += 1
    return stats


def _model_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.is_dir()) if root.is_dir() else []


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MB"


def cache_info() -> str:
    """Where the cache is and how big it is, per model revision (``medeval cache info``).

    Returns:
        Lines of text: the root, then vectors, shards and MB per model revision, a total and damaged files.
    """
    root = cache_root()
    folders = _model_folders(root)
    if not folders:
        return f"embedding cache: {root} (empty)"
    lines = [f"embedding cache: {root}"]
    total = {"vectors": 0, "bytes": 0, "damaged": 0}
    for folder in folders:
        s = _folder_stats(folder)
        for k in total:
            total[k] += s[k]
        name = model_name_of_folder(folder.parent.name)
        lines.append(f"  {name} @ {folder.name}: {s['vectors']:,} vectors in {s['shards']} shard(s), {_mb(s['bytes'])}")
    lines.append(f"  total: {total['vectors']:,} vectors, {_mb(total['bytes'])} in {len(folders)} model revision(s)")
    if total["damaged"]:
        lines.append(f"  {total['damaged']} damaged file(s) set aside (never read); `medeval cache clear` removes them")
    return "\n".join(lines)


def cache_clear(model: str | None = None) -> str:
    """Delete the whole cache, or one model's folders (every revision) (``medeval cache clear [--model M]``).

    Args:
        model: ``ORG/NAME`` of the model to forget; None deletes every model's vectors.

    Returns:
        One line saying what was removed and how many MB it held.

    Raises:
        MedEvalError: ``model`` has no cached vectors (the line lists the models that have).
    """
    root = cache_root()
    if model is None:
        if not root.exists():
            return f"embedding cache: {root} is already empty"
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        shutil.rmtree(root)
        return f"removed the embedding cache {root} ({_mb(size)})"
    folder = root / _path_part(model)
    if not model.strip() or folder.parent != root or not folder.is_dir():
        cached = sorted({model_name_of_folder(p.parent.name) for p in _model_folders(root)})
        have = f"cached models: {', '.join(cached)}" if cached else "the cache is empty"
        raise MedEvalError(f"--model {model!r}: no cached embeddings for this model in {root} ({have})")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    return f"removed the cached embeddings of {model} ({_mb(size)}) from {root}"
