"""Result files in mteb's layout, written atomically.

    <output>/results/<org>__<model>/<revision>/<TaskName>.json     one mteb TaskResult per task
    <output>/results/<org>__<model>/<revision>/model_meta.json     the model's mteb ModelMeta
    <output>/results/<org>__<model>/<revision>/run_settings.jsonl  how each task was run (one JSON line per task)

These are the files mteb's own loaders (``mteb.ResultCache(path).load_results()``) read.
"""

from __future__ import annotations

import json
import platform
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medeval import fsutil
from medeval.fsutil import atomic_write_json, atomic_write_text


# ----------------------------------------------------------------------------------------- safe folder names
# The one rule for model names and revisions that become folder names: `medeval run` applies it before writing,
# `medeval validate` / `submit` before accepting. Nothing that passes can leave the results folder or nest in it.
_NAME_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_-])?"
#: A model name: ``ORG/NAME``, each part letters, digits, '.', '_', '-' (not ending in '.').
MODEL_NAME_RE = re.compile(rf"^{_NAME_PART}/{_NAME_PART}$")
#: A model folder: the name with '/' replaced by '__'.
MODEL_FOLDER_RE = re.compile(rf"^{_NAME_PART}__{_NAME_PART}$")
#: A revision: a commit hash, tag or version; letters, digits, '.', '_', '-', starting with a letter or digit.
REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: Placeholders mteb writes when it does not know the model's name or revision.
NO_NAME = ("no_model_name/available", "no_model_name_available")
NO_REVISION = "no_revision_available"
NAME_RULE = "ORG/NAME, each part letters, digits, '.', '_' or '-' (e.g. my-lab/med-embed)"
REVISION_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 100 (e.g. v1.2 or a commit hash)"


def model_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a model's results folder, or None if it can.

    Example:
        >>> model_name_problem("my-lab/med-embed") is None, model_name_problem("../escaped") is None
        (True, False)
    """
    if isinstance(name, str) and MODEL_NAME_RE.match(name) and ".." not in name:
        return None
    return f"{name!r} is not a model name: use {NAME_RULE}"


def revision_problem(revision: object) -> str | None:
    """Why ``revision`` cannot name a revision folder (``/``, ``..``, spaces, ...), or None if it can."""
    if isinstance(revision, str) and REVISION_RE.match(revision):
        return None
    return f"{revision!r} is not a model revision: use {REVISION_RULE}"


def revision_folder(output_dir: str | Path, meta: Any) -> Path:
    """``<output>/results/<org>__<name>/<revision>`` for an mteb ModelMeta.

    Raises:
        ResultError: the name or revision would not make one safe folder name each (see :func:`model_name_problem`,
            :func:`revision_problem`); nothing is written outside ``<output>/results/``.
    """
    from medeval.errors import ResultError

    name = getattr(meta, "name", None)
    if name is not None and (why := model_name_problem(name)):
        raise ResultError(f"model name {why}")
    revision = getattr(meta, "revision", None) or NO_REVISION
    if why := revision_problem(revision):
        raise ResultError(f"model revision {why}")
    folder = meta.model_name_as_path() if name is not None else NO_NAME[1]
    return Path(output_dir) / "results" / folder / revision


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


RUN_SETTINGS = "run_settings.jsonl"
MODEL_META = "model_meta.json"
#: The lock file in ``<output>/results/`` that serialises run-settings updates across processes (validate allows it).
RESULTS_LOCK = ".medeval.lock"


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
    """Write ``model_meta.json`` into a revision folder unless it already holds exactly this content; True if written."""
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
    results = sorted(p for p in folder.glob("*.json") if p.name != MODEL_META and not p.name.startswith("."))
    if not results:
        return notes
    if write_model_meta(folder, meta):
        notes.append(f"wrote {MODEL_META}")
    missing: dict[str, dict[str, Any]] = {}
    recorded = _read_settings(folder / RUN_SETTINGS)
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


def _read_settings(path: Path) -> dict[str, dict[str, Any]]:
    lines: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                lines[entry["task"]] = entry
            except (ValueError, KeyError, TypeError, RecursionError):
                continue
    return lines


def read_run_settings(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The ``run_settings.jsonl`` lines of a revision folder by task name (empty when there is none).

    Unreadable lines are skipped: a task without its line is treated as not recorded (run again, not trusted).
    """
    return _read_settings(Path(folder) / RUN_SETTINGS)


def record_run_settings(folder: str | Path, entries: dict[str, dict[str, Any]]) -> None:
    """Replace the ``run_settings.jsonl`` lines of the tasks in ``entries`` (by task name), keeping the others.

    Written atomically under the results folder's lock, as a run writes them.
    """
    _merge_run_settings(Path(folder).absolute() / RUN_SETTINGS, entries)


def _merge_run_settings(path: Path, new: dict[str, dict[str, Any]], only_missing: bool = False) -> None:
    """Read-merge-replace ``run_settings.jsonl`` under a file lock, so concurrent runs never drop each other's lines."""
    with fsutil.file_lock(path.parents[2] / RESULTS_LOCK, what=str(path)):  # <output>/results/.medeval.lock
        lines = _read_settings(path)
        for task, entry in new.items():
            if not (only_missing and task in lines):
                lines[task] = entry
        atomic_write_text(path, "".join(json.dumps(lines[k], default=str) + "\n" for k in sorted(lines)))


def main_score(result: Any) -> float | None:
    """The main score averaged over eval splits/subsets (what mteb's get_score gives), or None."""
    try:
        return float(result.get_score())
    except Exception:  # noqa: BLE001
        return None
