"""Descriptive statistics of task data, committed in mteb's own format so the site is the same on every machine.

mteb describes a task's data with ``task.calculate_descriptive_statistics()`` (one dict per eval split: sizes, text
lengths, label or relevance counts) and keeps the result as ``descriptive_stats/<Type>/<Task>.json`` in its
repository. medeval does the same for every task whose data builds offline (MedEval-Terms): the files live in
``tasks/descriptive_stats/<Task>.json`` (``medeval/_tasks/descriptive_stats/`` in a wheel) with the data revision
they describe, and are regenerated with::

    MEDEVAL_HOME=/tmp/medeval-home python -m medeval.cli.descriptive_stats     # every offline task (or -b / -t)

A file whose ``dataset_revision`` is not the task's pinned revision is ignored (the data changed since).
:func:`descriptive_stats` returns the committed statistics, else those of this machine's own build (``stats.json``
in the data folder, medeval's older format), else None.

    >>> from medeval.leaderboard.descriptive import descriptive_stats
    >>> descriptive_stats("HPOOrganSystemClassification")["test"]["num_samples"]   # doctest: +SKIP
    2048
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

STATS_SUBDIR = "descriptive_stats"


def stats_dir() -> Path:
    """The folder of committed statistics: ``tasks/descriptive_stats`` (``medeval/_tasks/...`` in a wheel).

    Returns:
        The folder's path (it may not exist in a checkout without committed statistics).
    """
    from medeval.paths import packaged_specs_dir

    return packaged_specs_dir() / STATS_SUBDIR


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@cache
def committed_stats(task: str) -> dict[str, Any] | None:
    """The committed statistics of ``task`` (mteb's format: ``{split: {...}}``) if they describe its pinned data.

    Args:
        task: a task name.

    Returns:
        ``{split: stats}`` or None (no file, unreadable, or computed from another data revision).
    """
    from medeval.catalog import get_task_class

    data = _read(stats_dir() / f"{task}.json")
    if data is None or not isinstance(data.get("stats"), dict):
        return None
    pinned = get_task_class(task).spec.dataset.revision
    if pinned and data.get("dataset_revision") != pinned:
        return None
    return data["stats"]


def local_stats(task: str) -> dict[str, Any] | None:
    """This machine's build statistics (``stats.json`` next to the built data), or None if the task is not built.

    Args:
        task: a task name; an unknown task gives None, not an error.

    Returns:
        The statistics medeval's builder wrote (``{split: stats}``, medeval's older format), or None.
    """
    from medeval.catalog import get_task_class

    try:
        return _read(get_task_class(task).descriptive_stats_path())
    except Exception:  # noqa: BLE001 - an unknown or unbuildable task simply has no statistics
        return None


def descriptive_stats(task: str) -> tuple[str, dict[str, Any]] | None:
    """The statistics the site shows for a task: the committed file first, else this machine's build, else None.

    Args:
        task: a task name, e.g. ``"HPOOrganSystemClassification"``.

    Returns:
        ``("mteb", stats)`` from ``tasks/descriptive_stats/<task>.json`` (mteb's format, for the task's pinned data
        revision), ``("local", stats)`` from this machine's build, or None.
    """
    committed = committed_stats(task)
    if committed is not None:
        return "mteb", committed
    local = local_stats(task)
    return ("local", local) if local is not None else None


def compute_stats(task: str) -> dict[str, Any]:
    """Compute a built task's statistics with mteb (``task.calculate_descriptive_statistics()``).

    The eval splits are described, and a classification task's training split too.

    Args:
        task: a task name whose data is built in the data folder.

    Returns:
        ``{"task", "dataset_revision", "mteb_version", "stats"}``; ``stats`` is mteb's own dict per split (sizes,
        text lengths, label or relevance counts), with numpy numbers turned into floats.

    Raises:
        medeval.errors.MedEvalError: the task's data is not built (build it first: ``medeval build -t TASK``).
    """
    import mteb

    from medeval.catalog import get_task_class
    from medeval.errors import MedEvalError

    cls = get_task_class(task)
    if not cls.is_built():
        raise MedEvalError(f"{task}: data not built here; run `medeval build -t {task}` first")
    obj = mteb.get_task(task)
    obj.load_data()
    # mteb's own per-split computation (``calculate_descriptive_statistics`` would return the cached stats.json and
    # indexes monolingual data without its "default" subset); classification also describes its training split
    splits = list(dict.fromkeys([*obj.metadata.eval_splits, *([obj.train_split] if hasattr(obj, "train_split") else [])]))
    stats = {split: obj._calculate_descriptive_statistics_from_split(split, hf_subset="default") for split in splits}
    # the revision of the data actually described (its content hash), which committed_stats compares with the pin
    return {"task": task, "dataset_revision": obj.metadata.dataset.get("revision"),
            "mteb_version": mteb.__version__, "stats": json.loads(json.dumps(stats, default=float))}


def select_tasks(tasks: list[str] | None = None, benchmark: str | None = None) -> list[str]:
    """The tasks to describe: those named, else a benchmark's, else every task whose data builds offline.

    Args:
        tasks: task names (``-t``); None or empty to choose by ``benchmark``.
        benchmark: a benchmark name (``-b``, e.g. ``"MedEval-Terms(v1)"``); None for every offline task.

    Returns:
        Task names, in the catalogue's order (or as named).
    """
    from medeval.catalog import task_classes

    if tasks:
        return list(tasks)
    if benchmark:
        return [n for n, c in task_classes().items() if c.spec.benchmark == benchmark]
    from medeval.build import can_build_without_inputs  # every task whose data builds offline, from pinned packages

    return [n for n, c in task_classes().items()
            if c.spec.construction is not None and can_build_without_inputs(c.spec)]


def write_stats(names: list[str], out: Path | None = None) -> Iterator[str]:
    """Compute and write ``<out>/<Task>.json`` for each task (atomically); a task whose data is not built is skipped.

    Args:
        names: task names (:func:`select_tasks`).
        out: the folder; None for :func:`stats_dir` (``tasks/descriptive_stats``).

    Returns:
        An iterator of report lines, one per task as it is done: ``wrote <path>`` or ``skipped <reason>``.

    Example:
        >>> list(write_stats(["HPOOrganSystemClassification"], Path("/tmp/stats")))   # doctest: +SKIP
        ['wrote /tmp/stats/HPOOrganSystemClassification.json']
    """
    from medeval.errors import MedEvalError
    from medeval.fsutil import atomic_write_text

    out = out or stats_dir()
    for name in names:
        try:
            data = compute_stats(name)
        except MedEvalError as err:
            yield f"skipped {err}"
            continue
        atomic_write_text(out / f"{name}.json", json.dumps(data, indent=1, sort_keys=True) + "\n")
        yield f"wrote {out / f'{name}.json'}"
