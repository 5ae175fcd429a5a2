"""The overall progress line of ``medeval run``: tasks done, texts encoded, time elapsed and an estimate of the rest.

The estimate weighs each task by the text it has to encode (rows x mean text length, from the task's ``stats.json``
written at build time), so that a run whose last task is the 97k-title ICD-10-CM search does not promise to end
early. Tasks without statistics weigh as much as the median task.

    >>> p = RunProgress(weights=[1.0, 3.0])
    >>> p.finish_task(0, elapsed=10.0)
    >>> p.line(texts_encoded=1200, elapsed=10.0)
    'progress: 1/2 tasks, 1,200 texts encoded, 10s elapsed, about 30s left'
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask


def task_weight(stats_path: str | Path) -> float | None:
    """The encoding work of one built task, in characters (rows x mean text length, summed over its text tables).

    Args:
        stats_path: the task's ``stats.json`` (see :func:`medeval.data.describe`).

    Returns:
        The weight, or None when the file is missing or unreadable (the caller falls back to the median task).
    """
    try:
        stats = json.loads(Path(stats_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    total = 0.0
    for table in stats.values() if isinstance(stats, dict) else []:
        if not isinstance(table, dict):
            continue
        rows = table.get("num_rows")
        length = table.get("text_length")
        if isinstance(rows, (int, float)) and isinstance(length, dict) and isinstance(length.get("mean"), (int, float)):
            total += float(rows) * float(length["mean"])
    return total or None


def task_weights(tasks: Sequence[AbsTask]) -> list[float]:
    """One weight per mteb task object of medeval (its ``data_folder()/stats.json``), unknowns set to the median.

    Args:
        tasks: medeval task objects (they have ``data_folder()``); other objects count as unknown.

    Returns:
        A positive weight per task, in the same order.
    """
    raw: list[float | None] = []
    for task in tasks:
        folder = getattr(task, "data_folder", None)
        try:
            raw.append(task_weight(Path(folder()) / "stats.json") if callable(folder) else None)
        except Exception:  # noqa: BLE001 - a task whose folder cannot be named just has no weight
            raw.append(None)
    known = [w for w in raw if w]
    fill = statistics.median(known) if known else 1.0
    return [w if w else fill for w in raw]


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class RunProgress:
    """Tracks which tasks of one model's run are finished and estimates the time left.

    Args:
        weights: relative work per task (see :func:`task_weights`), in run order.

    The estimate is the time spent on tasks that ran, per unit of their weight, times the weight still to do; tasks
    skipped because their result was reused count as done and cost nothing.
    """

    def __init__(self, weights: Sequence[float]) -> None:
        self.weights = [float(w) for w in weights]
        self.done: set[int] = set()
        self._ran_weight = 0.0
        self._ran_seconds = 0.0

    def finish_task(self, index: int, elapsed: float | None = None, ran: bool = True) -> None:
        """Mark task ``index`` (0-based) finished.

        Args:
            index: position of the task in the run.
            elapsed: seconds the task took (only used when ``ran``).
            ran: False for a reused result or a task that failed before scoring (no time to learn from).
        """
        if index in self.done:
            return
        self.done.add(index)
        if ran and elapsed is not None and elapsed > 0:
            self._ran_weight += self.weights[index]
            self._ran_seconds += elapsed

    def seconds_left(self) -> float | None:
        """The estimated seconds until every task is finished, or None before any task has run.

        Seconds per unit of weight, learned from the tasks that ran, times the weight of the tasks not yet done.

        Returns:
            Seconds (float), or None.
        """
        if self._ran_weight <= 0:
            return None
        todo = sum(w for i, w in enumerate(self.weights) if i not in self.done)
        return self._ran_seconds / self._ran_weight * todo

    def line(self, texts_encoded: int | None, elapsed: float) -> str:
        """The one progress line the run prints after each task.

        Args:
            texts_encoded: texts the model has encoded so far in this run (None when the encoder does not count).
            elapsed: seconds since the run of this model started.

        Returns:
            e.g. ``progress: 3/11 tasks, 45,120 texts encoded, 2m10s elapsed, about 5m30s left``.
        """
        parts = [f"progress: {len(self.done)}/{len(self.weights)} tasks"]
        if texts_encoded is not None:
            parts.append(f"{texts_encoded:,} texts encoded")
        parts.append(f"{_duration(elapsed)} elapsed")
        left = self.seconds_left()
        if len(self.done) < len(self.weights):
            parts.append("time left unknown yet" if left is None else f"about {_duration(left)} left")
        return ", ".join(parts)


def texts_encoded(model: object) -> int | None:
    """Texts the encoder has encoded so far: the embedding cache's or the encoder adapter's counter, if it has one.

    Args:
        model: the encoder the run scores (any object; one with a ``stats`` dict holding ``"encoded"`` counts).

    Returns:
        The count, or None when the encoder does not count.
    """
    stats = getattr(model, "stats", None)
    if isinstance(stats, dict) and isinstance(stats.get("encoded"), int):
        return int(stats["encoded"])
    return None
