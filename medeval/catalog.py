"""The task catalogue: which tasks and benchmarks there are (packaged YAMLs, ``$MEDEVAL_INCLUDE_PATH``, user
files), each task turned into an mteb task class (:mod:`medeval.task_class`) and registered with mteb on first use.
The packaged specs and the lookups by name, paper id, benchmark and type are the task index's
(:mod:`medeval.task_index`), which commands that only read specs use without importing mteb.

    >>> import medeval
    >>> medeval.get_tasks(benchmark="MedEval(v1)", types=["Retrieval"])       # mteb task objects
    >>> medeval.get_task("WikiSyndromesClassification").metadata.main_score
    'f1'
    >>> medeval.get_task("my_tasks/MyNotesRetrieval.yaml")                     # a user task, by its YAML path
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from mteb.abstasks import AbsTask

from medeval._mteb_registry import register_benchmark, register_task, run_pending
from medeval.benchmarks import all_benchmarks, canonical_name
from medeval.errors import SpecError
from medeval.loaders import MedEvalTaskMixin
from medeval.spec import TaskSpec, load_spec
from medeval.task_class import allow_custom_loaders, make_task_class
from medeval.task_index import ENV_INCLUDE, filter_tasks, find_task, is_task_file, packaged_tasks

__all__ = [
    "ENV_INCLUDE", "add_include_path", "add_spec", "add_task_file", "allow_custom_loaders", "get_benchmark", "get_spec",
    "get_task", "get_task_class", "get_tasks", "make_task_class", "task_classes", "user_task_names",
]

logger = logging.getLogger(__name__)

#: Every known task class by name: packaged tasks first, then user tasks; filled on first use.
_CLASSES: dict[str, type[MedEvalTaskMixin]] = {}


def add_task_file(path: str | Path) -> type[MedEvalTaskMixin]:
    """Load a user task YAML (any folder) and register it with mteb.

    Args:
        path: the task YAML.

    Returns:
        The task class (``get_task(name)`` finds it from now on).

    Raises:
        SpecError: the file is malformed, or its name is a packaged task's.
    """
    path = Path(path)
    return add_spec(load_spec(path), path)


def add_spec(spec: TaskSpec, path: str | Path = "<python>") -> type[MedEvalTaskMixin]:
    """Register a task from a spec object (e.g. a variant of a packaged task with a smaller size cap).

    Args:
        spec: the task spec.
        path: where it came from, for messages (``"<python>"`` when built in code).

    Returns:
        The registered task class; a user task of the same name replaces the earlier one (with a warning).

    Raises:
        SpecError: the name is taken by a packaged task.
    """
    existing = _all_classes().get(spec.name)
    resolved = Path(path).resolve() if Path(path).exists() else None
    if existing is not None and spec.name in _packaged() and existing.spec_path != resolved:
        raise SpecError(f"{path}: field 'name': task {spec.name!r} already exists ({existing.spec_path}); choose another name")
    if existing is not None and existing.spec_path != resolved:
        logger.warning("user task %s from %s replaces the one from %s", spec.name, path, existing.spec_path)
    cls = make_task_class(spec, path)
    _CLASSES[spec.name] = cls
    register_task(cls)
    return cls


def add_include_path(folder: str | Path) -> list[str]:
    """Register every task YAML in ``folder``, as ``--include-path`` does.

    Args:
        folder: a folder of task YAML files.

    Returns:
        The names of the tasks registered.

    Raises:
        SpecError: ``folder`` is not a folder, or a YAML in it is malformed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecError(f"{folder}: --include-path must be a folder of task YAML files")
    _all_classes()
    return [add_task_file(p).spec.name for p in sorted(folder.glob("*.yaml"))]


@lru_cache(maxsize=1)
def _packaged() -> dict[str, type[MedEvalTaskMixin]]:
    classes = {name: make_task_class(e.spec, e.spec_path) for name, e in packaged_tasks().items()}
    for cls in classes.values():
        register_task(cls)
    return classes


def _all_classes() -> dict[str, type[MedEvalTaskMixin]]:
    if not _CLASSES:
        _CLASSES.update(_packaged())
        for extra in filter(None, os.environ.get(ENV_INCLUDE, "").split(os.pathsep)):
            for p in sorted(Path(extra).glob("*.yaml")):
                cls = add_task_file(p)
                _CLASSES[cls.spec.name] = cls
        _register_benchmarks()
    return _CLASSES


def task_classes() -> dict[str, type[MedEvalTaskMixin]]:
    """All known task classes by name: packaged tasks, then user tasks (``$MEDEVAL_INCLUDE_PATH``, added files).

    Returns:
        A new dict, task name -> its mteb task class (a subclass of a :mod:`medeval.loaders` class).

    Raises:
        SpecError: a packaged task or benchmark YAML is malformed.
    """
    return dict(_all_classes())


def user_task_names() -> list[str]:
    """The user tasks this process has added so far (``--include-path``, ``$MEDEVAL_INCLUDE_PATH``, task files,
    :func:`add_spec`); reads no file.

    Returns:
        Their names, in the order they were added; empty before the catalogue is first used.
    """
    if not _CLASSES:
        return []
    packaged = _packaged()
    return [name for name in _CLASSES if name not in packaged]


def get_spec(name: str) -> TaskSpec:
    """A task's spec (its validated YAML).

    Args:
        name: task name, paper id or YAML path (see :func:`get_task_class`).

    Returns:
        The :class:`~medeval.spec.TaskSpec`.

    Raises:
        TaskNotFoundError: no such task.
    """
    return get_task_class(name).spec


def get_task_class(name: str) -> type[MedEvalTaskMixin]:
    """A task class by task name, paper id (e.g. ``"retrieval_medquad_dataset"``) or YAML path.

    Args:
        name: a task name, a paper id, or the path of a task YAML (which is then read and registered).

    Returns:
        The task's mteb task class.

    Raises:
        TaskNotFoundError: no such task; the message suggests close names.
        SpecError: the YAML path is malformed.
    """
    classes = _all_classes()
    if is_task_file(name):
        return add_task_file(name)
    return find_task(name, classes)


def get_task(name: str) -> AbsTask:
    """A fresh mteb task object; its data is found, built (offline tasks) or downloaded when mteb loads it.

    Args:
        name: task name, paper id (e.g. ``"retrieval_medquad_dataset"``) or YAML path.

    Returns:
        An instance of the task's mteb class (an ``AbsTask`` subclass).

    Raises:
        TaskNotFoundError: no such task.

    Example::

        >>> get_task("WikiSyndromesClassification").metadata.main_score
        'f1'
    """
    return get_task_class(name)()  # type: ignore[return-value]


def get_tasks(
    benchmark: str | None = None,
    types: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
) -> list[AbsTask]:
    """mteb task objects, filtered by benchmark, task types and/or names (all filters combine).

    Args:
        benchmark: a benchmark name, alias or short id (``tasks/benchmarks/*.yaml``); its listed tasks plus user
            tasks that name it.
        types: task types, e.g. ``["Retrieval"]``.
        names: task names, paper ids or YAML paths.

    Returns:
        Fresh task objects, in catalogue order (or the order of ``names``). Data is loaded later, by mteb.

    Raises:
        TaskNotFoundError: an unknown benchmark, task or type.

    Example::

        >>> [t.metadata.name for t in get_tasks(benchmark="terms", types=["Clustering"])]
        ['HPOOrganSystemClustering', 'ICD10CMChapterClustering']
    """
    classes = _all_classes()
    if names:
        selected = [get_task_class(n) for n in names]
    else:
        selected = list(classes.values())
    return [c() for c in filter_tasks(selected, benchmark, types)]  # type: ignore[misc]


def _register_benchmarks() -> None:
    from mteb import Benchmark

    for spec in all_benchmarks():
        members = set(spec.tasks)
        tasks = [c() for c in _CLASSES.values() if c.spec.name in members or c.spec.benchmark == spec.name]
        bench = Benchmark(name=spec.name, tasks=tasks, description=spec.description, reference=spec.reference,
                          citation=spec.citation, contacts=["medeval"])
        register_benchmark(bench)
        _BENCHMARKS[spec.name] = bench


_BENCHMARKS: dict[str, Any] = {}


def get_benchmark(name: str) -> Any:
    """The registered ``mteb.Benchmark`` for a benchmark name, alias or short id.

    Args:
        name: e.g. ``"MedEval(v1)"``, ``"MedEval-Terms(v1)"``, ``"v1"`` or ``"terms"`` (see ``tasks/benchmarks/``).

    Returns:
        The ``mteb.Benchmark`` holding the benchmark's task objects (plus user tasks that name it).

    Raises:
        TaskNotFoundError: unknown benchmark.
        SpecError: a task or benchmark YAML is malformed, or they disagree about membership.
    """
    _all_classes()
    return _BENCHMARKS[canonical_name(name)]


# mteb was first imported by this module's own imports: do the registration `import mteb` deferred until now
run_pending()
