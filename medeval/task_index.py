"""The task index: the packaged task specs, and how a task name, paper id, benchmark or type picks tasks - all from
the YAML files, without mteb.

The catalogue (:mod:`medeval.catalog`) turns these specs into mteb task classes and looks tasks up with
:func:`find_task` and :func:`filter_tasks`; commands that only read specs (``medeval tasks``, ``show``, ``cite``)
use the index directly and start in a fraction of a second, since mteb (and with it torch and scikit-learn) is never
imported. Both look up tasks the same way, so both answer the same.

    >>> from medeval.task_index import filter_tasks, find_task, packaged_tasks
    >>> tasks = packaged_tasks()                                  # name -> TaskEntry, catalogue order
    >>> find_task("retrieval_medquad_dataset", tasks).spec.name   # a name or a MedTE paper id
    'MedQuADRetrieval'
    >>> [t.spec.name for t in filter_tasks(tasks.values(), benchmark="terms", types=["Clustering"])]
    ['HPOOrganSystemClustering', 'ICD10CMChapterClustering']
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol, TypeVar

from medeval import paths
from medeval.benchmarks import check_membership, get_benchmark_spec
from medeval.errors import TaskNotFoundError
from medeval.spec import TaskSpec, load_spec
from medeval.spec.task import TASK_TYPES
from medeval.store import DataStore

#: The environment variable naming folders of the user's own task YAMLs (``os.pathsep``-separated), read by the
#: catalogue as ``--include-path`` is.
ENV_INCLUDE = "MEDEVAL_INCLUDE_PATH"


class HasSpec(Protocol):
    """Anything that carries a task spec: a :class:`TaskEntry` or one of the catalogue's mteb task classes."""

    spec: TaskSpec


T = TypeVar("T", bound=HasSpec)


@dataclass(frozen=True)
class TaskEntry:
    """One task as its YAML declares it, with the file it came from; answers what a task class answers about its
    data folder, without mteb.

    Args:
        spec: the validated task spec.
        spec_path: the task YAML, resolved (a user task's ``data:`` folder is relative to it).
    """

    spec: TaskSpec
    spec_path: Path | None

    def data_folder(self) -> Path:
        """Where the task's data is (:meth:`medeval.store.DataStore.task_dir`).

        Returns:
            ``<data folder>/tasks/<TaskName>``, or a user task's own ``data:`` folder (it may not exist yet).
        """
        return DataStore().task_dir(self)

    def is_built(self) -> bool:
        """True when the task's data is there (:meth:`medeval.store.DataStore.is_built`).

        Returns:
            Whether the task can load without building.

        Raises:
            DataNotBuiltError: the data folder's manifest is corrupt.
        """
        return DataStore().is_built(self)


def is_task_file(name: str) -> bool:
    """True when a task argument names a YAML file rather than a task.

    Args:
        name: a task name, paper id or path, as the user typed it.

    Returns:
        Whether ``name`` ends in ``.yaml`` or ``.yml``.
    """
    return name.endswith((".yaml", ".yml"))


@lru_cache(maxsize=1)
def _packaged() -> dict[str, TaskEntry]:
    entries: dict[str, TaskEntry] = {}
    for path in sorted(paths.packaged_specs_dir().glob("*.yaml")):
        spec = load_spec(path)
        entries[spec.name] = TaskEntry(spec, path.resolve())
    check_membership({name: e.spec.benchmark for name, e in entries.items()})
    return entries


def packaged_tasks() -> dict[str, TaskEntry]:
    """The benchmark's own tasks (``tasks/*.yaml``), read and validated once per process.

    Returns:
        A new dict, task name -> :class:`TaskEntry`, in file-name order (the catalogue's order).

    Raises:
        SpecError: a task or benchmark YAML is malformed, or they disagree about which tasks a benchmark holds.
    """
    return dict(_packaged())


def find_task(name: str, tasks: Mapping[str, T]) -> T:
    """One task by name or MedTE paper id (e.g. ``"retrieval_medquad_dataset"``).

    Args:
        name: a task name or paper id (a YAML path is the catalogue's to read: :func:`medeval.catalog.get_task_class`).
        tasks: the tasks to look in, name -> entry or task class (anything with a ``spec``).

    Returns:
        The matching value of ``tasks``.

    Raises:
        TaskNotFoundError: no such task; the message suggests close names.
    """
    if name in tasks:
        return tasks[name]
    by_paper_id = {t.spec.paper_id: t for t in tasks.values() if t.spec.paper_id}
    if name in by_paper_id:
        return by_paper_id[name]
    close = difflib.get_close_matches(name, list(tasks), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `medeval tasks` lists them"
    raise TaskNotFoundError(f"unknown task {name!r}{hint}")


def filter_tasks(tasks: Iterable[T], benchmark: str | None = None, types: Sequence[str] | None = None) -> list[T]:
    """The tasks of one benchmark and/or some task types, in the order given.

    Args:
        tasks: entries or task classes (anything with a ``spec``).
        benchmark: a benchmark name, alias or short id (``tasks/benchmarks/*.yaml``): the tasks it lists, plus user
            tasks whose YAML names it; None keeps every task.
        types: task types, e.g. ``["Retrieval"]``; None or empty keeps every type.

    Returns:
        The tasks that pass both filters.

    Raises:
        TaskNotFoundError: an unknown benchmark or task type.
    """
    selected = list(tasks)
    if benchmark is not None:
        bench = get_benchmark_spec(benchmark)
        members = set(bench.tasks)
        selected = [t for t in selected if t.spec.name in members or t.spec.benchmark == bench.name]
    if types:
        bad = [t for t in types if t not in TASK_TYPES]
        if bad:
            raise TaskNotFoundError(f"unknown task type(s) {', '.join(bad)}; choose from {', '.join(TASK_TYPES)}")
        selected = [t for t in selected if t.spec.type in types]
    return selected
