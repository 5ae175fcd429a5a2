"""Result files in mteb's layout, written atomically.

    <output>/results/<org>__<model>/<revision>/<TaskName>.json     one mteb TaskResult per task
    <output>/results/<org>__<model>/<revision>/model_meta.json     the model's mteb ModelMeta
    <output>/results/<org>__<model>/<revision>/run_settings.jsonl  how each task was run (one JSON line per task)

These are the files mteb's own loaders (``mteb.ResultCache(path).load_results()``) read.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medeval.io import atomic_write_json, atomic_write_text


def revision_folder(output_dir: str | Path, meta: Any) -> Path:
    """``<output>/results/<org>__<name>/<revision>`` for an mteb ModelMeta."""
    return Path(output_dir) / "results" / meta.model_name_as_path() / (meta.revision or "no_revision_available")


def result_path(output_dir: str | Path, meta: Any, task_name: str) -> Path:
    return revision_folder(output_dir, meta) / f"{task_name}.json"


def load_result(path: Path) -> Any | None:
    """The TaskResult at ``path``, or None if missing or unreadable (an unreadable file is re-run, not trusted)."""
    from mteb import TaskResult

    if not path.is_file():
        return None
    try:
        return TaskResult.from_disk(path)
    except Exception:  # noqa: BLE001 - any corrupt file means "not finished"
        return None


def is_complete(result: Any, task: Any, dataset_revision: str) -> bool:
    """True if ``result`` covers every eval split of ``task`` on data of ``dataset_revision``."""
    if result is None or result.dataset_revision != dataset_revision:
        return False
    return all(split in result.scores and result.scores[split] for split in task.metadata.eval_splits)


def meta_dict(meta: Any) -> dict[str, Any]:
    """``ModelMeta.to_dict()`` with set-valued fields (``training_datasets``) sorted, so the file is the same in
    every process (a set's order changes with ``PYTHONHASHSEED``)."""
    out = meta.to_dict()
    for key, value in out.items():
        if isinstance(getattr(meta, key, None), (set, frozenset)) and isinstance(value, list):
            out[key] = sorted(value, key=str)
    return out


def save_result(output_dir: str | Path, meta: Any, task_result: Any, run_info: dict[str, Any]) -> Path:
    """Write the task's result, the model meta and the run settings atomically; returns the result path."""
    folder = revision_folder(output_dir, meta)
    folder.mkdir(parents=True, exist_ok=True)
    obj = task_result.model_dump()
    obj["date"] = task_result.date.timestamp() if getattr(task_result, "date", None) else None
    task_result._round_scores(obj["scores"], 6)  # mteb's own rounding, as TaskResult.to_disk does
    path = atomic_write_json(folder / f"{task_result.task_name}.json", obj)
    atomic_write_json(folder / "model_meta.json", meta_dict(meta), indent=4)
    _merge_run_settings(folder / "run_settings.jsonl", task_result, run_info)
    return path


def _package_versions() -> dict[str, str | None]:
    import importlib.metadata as md

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("medeval", "mteb", "sentence-transformers", "transformers", "torch"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = None
    return out


def _merge_run_settings(path: Path, task_result: Any, run_info: dict[str, Any]) -> None:
    lines: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                lines[entry["task"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    lines[task_result.task_name] = {
        "task": task_result.task_name,
        "splits": sorted(task_result.scores),
        "subsets": sorted({s.get("hf_subset", "default") for v in task_result.scores.values() for s in v}),
        "version": _package_versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **run_info,
    }
    atomic_write_text(path, "".join(json.dumps(lines[k], default=str) + "\n" for k in sorted(lines)))


def main_score(result: Any) -> float | None:
    """The main score averaged over eval splits/subsets (what mteb's get_score gives), or None."""
    try:
        return float(result.get_score())
    except Exception:  # noqa: BLE001
        return None
