"""Reading and writing the files of a revision folder (layout: :mod:`medeval.results.layout`), atomically.

A run writes, per finished task, ``model_meta.json``, the task's line of ``run_settings.jsonl`` and then the task's
``<TaskName>.json`` (mteb's ``TaskResult``), each with :func:`medeval.fsutil.atomic_write_bytes`; run-settings
updates hold the results folder's lock, so concurrent runs never drop each other's lines. These are the files
mteb's own loaders (``mteb.ResultCache(path).load_results()``) read.

    >>> from medeval.results import files
    >>> path = files.save_result("out", meta, task_result, {"batch_size": 32, "data_revision": "0123456789abcdef"})
    >>> files.load_result(path).task_name == task_result.task_name
    True
    >>> files.read_run_settings(path.parent)[task_result.task_name]["batch_size"]
    32
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medeval import fsutil, locks
from medeval.fsutil import atomic_write_json, atomic_write_text
from medeval.results.layout import MODEL_META, RESULTS_LOCK, RUN_SETTINGS, result_files, revision_folder


def load_result(path: Path) -> Any | None:
    """The TaskResult at ``path``, or None if missing or unreadable (an unreadable file is re-run, not trusted).

    Args:
        path: A ``<TaskName>.json`` file.

    Returns:
        mteb's ``TaskResult`` read with ``TaskResult.from_disk``, or None.
    """
    from mteb import TaskResult

    if not path.is_file():
        return None
    try:
        return TaskResult.from_disk(path)
    except Exception:  # noqa: BLE001 - any corrupt file means "not finished"
        return None


def is_complete(result: Any, task: Any, dataset_revision: str) -> bool:
    """True if ``result`` covers every eval split of ``task`` on data of ``dataset_revision``.

    Args:
        result: An mteb ``TaskResult`` (None counts as not complete).
        task: The mteb task (its ``metadata.eval_splits``).
        dataset_revision: The task data's current content hash.

    Returns:
        Whether the stored result can stand for a run on this data.
    """
    if result is None or result.dataset_revision != dataset_revision:
        return False
    return all(split in result.scores and result.scores[split] for split in task.metadata.eval_splits)


def meta_dict(meta: Any) -> dict[str, Any]:
    """``ModelMeta.to_dict()`` with set-valued fields (``training_datasets``) sorted.

    So ``model_meta.json`` is the same in every process (a set's order changes with ``PYTHONHASHSEED``).

    Args:
        meta: An mteb ``ModelMeta``.

    Returns:
        The dictionary written to ``model_meta.json``.
    """
    out = meta.to_dict()
    for key, value in out.items():
        if isinstance(getattr(meta, key, None), (set, frozenset)) and isinstance(value, list):
            out[key] = sorted(value, key=str)
    return out


def save_result(output_dir: str | Path, meta: Any, task_result: Any, run_info: dict[str, Any]) -> Path:
    """Write the model meta, the task's run-settings line and then the task's result, each atomically.

    The result file goes last: it is what a rerun takes as "this task is done", so a process killed between two
    writes leaves a task that is simply run again, never a result without its metadata or settings.

    Args:
        output_dir: The run's output folder (results go under ``results/<org>__<model>/<revision>/``).
        meta: The model's mteb ``ModelMeta``.
        task_result: The mteb ``TaskResult`` of one task.
        run_info: Settings to record in the task's run-settings line (batch size, device, data revision, ...).

    Returns:
        The path of the result file.

    Raises:
        OSError: A file cannot be written (the caller turns it into one line).
    """
    folder = revision_folder(output_dir, meta)
    folder.mkdir(parents=True, exist_ok=True)
    obj = task_result.model_dump()
    obj["date"] = task_result.date.timestamp() if getattr(task_result, "date", None) else None
    task_result._round_scores(obj["scores"], 6)  # mteb's own rounding, as TaskResult.to_disk does
    write_model_meta(folder, meta)
    _merge_run_settings(folder / RUN_SETTINGS, {task_result.task_name: _settings_line(task_result, run_info)})
    return atomic_write_json(folder / f"{task_result.task_name}.json", obj)


def write_model_meta(folder: Path, meta: Any) -> bool:
    """Write ``model_meta.json`` into a revision folder unless it already holds exactly this content.

    Args:
        folder: The revision folder.
        meta: The model's mteb ``ModelMeta``.

    Returns:
        True if the file was written, False if it already held this content.

    Raises:
        OSError: The file cannot be written.
    """
    path = folder / MODEL_META
    text = json.dumps(meta_dict(meta), default=str, indent=4) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write_text(path, text)
    return True


def heal_folder(output_dir: str | Path, meta: Any) -> list[str]:
    """Bring a revision folder a killed run left behind back to a consistent state; returns what was done.

    Removes temp files of writers that no longer run, writes ``model_meta.json`` if it is missing or differs from
    the model being run, and adds a run-settings line for each result file that has none (marked ``"healed": true``
    and holding only what the result file itself records: data revision, evaluation time, mteb version).
    Does nothing to a folder that does not exist.

    Args:
        output_dir: The run's output folder.
        meta: The model's mteb ``ModelMeta``.

    Returns:
        One short note per repair (empty when the folder was consistent).

    Raises:
        OSError: A repair could not be written.
    """
    folder = revision_folder(output_dir, meta)
    if not folder.is_dir():
        return []
    notes = [f"removed the stale temp file {p.name}" for p in fsutil.remove_stale_temps(folder)]
    results = result_files(folder)
    if not results:
        return notes
    if write_model_meta(folder, meta):
        notes.append(f"wrote {MODEL_META}")
    missing: dict[str, dict[str, Any]] = {}
    recorded = read_run_settings(folder)
    for path in results:
        task = path.stem
        if task in recorded:
            continue
        result = load_result(path)
        if result is None:
            continue  # unreadable: the run re-runs the task and writes its line then
        missing[task] = {
            "task": task,
            "splits": sorted(result.scores),
            "data_revision": result.dataset_revision,
            "wall_seconds": result.evaluation_time,
            "version": {"mteb": getattr(result, "mteb_version", None)},
            "healed": True,
            "note": "settings of the run that wrote this result were lost (process killed); only the result's own fields are known",
        }
    if missing:
        _merge_run_settings(folder / RUN_SETTINGS, missing, only_missing=True)
        notes.append(f"added the missing run-settings line(s) of {', '.join(sorted(missing))}")
    return notes


def _package_versions() -> dict[str, str | None]:
    from medeval.versions import package_versions

    out: dict[str, str | None] = {"python": platform.python_version()}
    out.update(package_versions(("medeval", "mteb", "sentence-transformers", "transformers", "torch")))
    return out


def _settings_line(task_result: Any, run_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": task_result.task_name,
        "splits": sorted(task_result.scores),
        "subsets": sorted({s.get("hf_subset", "default") for v in task_result.scores.values() for s in v}),
        "version": _package_versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **run_info,
    }


def parse_run_settings(text: str) -> tuple[dict[str, dict[str, Any]], list[tuple[int, str]]]:
    """The lines of a ``run_settings.jsonl`` text by task name, and the lines that are not JSON.

    A line that is a JSON object with a string ``"task"`` is kept (a later line for the same task wins); blank
    lines and other JSON values are skipped silently.

    Args:
        text: The file's content.

    Returns:
        ``(entries, bad)``: entries by task name, and ``(line number, why)`` for each line that is not valid JSON.

    Example:
        >>> parse_run_settings('{"task": "A", "batch_size": 32}\n{oops\n')
        ({'A': {'task': 'A', 'batch_size': 32}}, [(2, 'Expecting property name enclosed in double quotes')])
    """
    entries: dict[str, dict[str, Any]] = {}
    bad: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError) as err:  # also integers too long and nesting too deep
            bad.append((lineno, getattr(err, "msg", None) or (str(err).splitlines() or [type(err).__name__])[0]))
            continue
        if isinstance(entry, dict) and isinstance(entry.get("task"), str):
            entries[entry["task"]] = entry
    return entries, bad


def read_run_settings(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The ``run_settings.jsonl`` lines of a revision folder by task name (empty when there is none).

    Unreadable lines are skipped: a task without its line is treated as not recorded (run again, not trusted).

    Args:
        folder: A revision folder.

    Returns:
        One run-settings entry per task name (see :func:`parse_run_settings`).
    """
    path = Path(folder) / RUN_SETTINGS
    if not path.is_file():
        return {}
    return parse_run_settings(path.read_text(encoding="utf-8", errors="replace"))[0]


def record_run_settings(folder: str | Path, entries: dict[str, dict[str, Any]]) -> None:
    """Replace the ``run_settings.jsonl`` lines of the tasks in ``entries`` (by task name), keeping the others.

    Written atomically under the results folder's lock, as a run writes them.

    Args:
        folder: A revision folder (``<output>/results/<org>__<model>/<revision>``).
        entries: The new line of each task, by task name.

    Raises:
        OSError: The file cannot be written.
        MedEvalError: Another process held the results folder's lock too long.
    """
    _merge_run_settings(Path(folder).absolute() / RUN_SETTINGS, entries)


def _merge_run_settings(path: Path, new: dict[str, dict[str, Any]], only_missing: bool = False) -> None:
    """Read-merge-replace ``run_settings.jsonl`` under a file lock, so concurrent runs never drop each other's lines."""
    with locks.file_lock(path.parents[2] / RESULTS_LOCK, what=str(path)):  # <output>/results/.medeval.lock
        lines = read_run_settings(path.parent)
        for task, entry in new.items():
            if not (only_missing and task in lines):
                lines[task] = entry
        atomic_write_text(path, "".join(json.dumps(lines[k], default=str) + "\n" for k in sorted(lines)))


def main_score(result: Any) -> float | None:
    """The main score averaged over eval splits/subsets (what mteb's ``get_score`` gives), or None.

    Args:
        result: An mteb ``TaskResult``.

    Returns:
        The score in [0, 1] for medeval's tasks, or None when the result has none.
    """
    try:
        return float(result.get_score())
    except Exception:  # noqa: BLE001
        return None
