"""The task catalogue: every task YAML, turned into an mteb task class and registered with mteb.

    >>> import medeval
    >>> medeval.get_tasks(benchmark="MedEval(v1)", types=["Retrieval"])       # mteb task objects
    >>> medeval.get_task("WikiSyndromesClassification").metadata.main_score
    'f1'
    >>> medeval.get_task("my_tasks/MyNotesRetrieval.yaml")                     # a user task, by its YAML path
"""

from __future__ import annotations

import difflib
import logging
import importlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from mteb.abstasks import AbsTask
from mteb.abstasks.task_metadata import TaskMetadata
from pydantic import ValidationError

from medeval import paths
from medeval._mteb_registry import register_benchmark, register_task, run_pending
from medeval.benchmarks import all_benchmarks, benchmark_names, canonical_name, check_membership, get_benchmark_spec
from medeval.errors import SpecError, TaskNotFoundError
from medeval.loaders import LOADERS, MedEvalTaskMixin
from medeval.spec import TaskSpec, load_spec
from medeval.store import DataStore

logger = logging.getLogger(__name__)

ENV_INCLUDE = "MEDEVAL_INCLUDE_PATH"

_CATEGORY = {"Classification": "t2c", "Clustering": "t2c", "PairClassification": "t2t", "Retrieval": "t2t"}


class MedEvalTaskMetadata(TaskMetadata):
    """mteb's TaskMetadata, with descriptive statistics kept beside the built data, not inside mteb's package."""

    @property
    def descriptive_stat_path(self) -> Path:  # type: ignore[override]
        cls = _CLASSES.get(self.name)
        if cls is not None:
            return cls.descriptive_stats_path()
        return DataStore().task_dir(self.name) / "stats.json"


def to_mteb_metadata(spec: TaskSpec, path: Path | str) -> MedEvalTaskMetadata:
    """Translate a spec into mteb's ``TaskMetadata``.

    Args:
        spec: the validated task spec.
        path: the YAML it came from (for error messages).

    Returns:
        The metadata; ``dataset.revision`` is the YAML's pin, or ``"unbuilt"`` until the data is loaded.

    Raises:
        SpecError: mteb rejects a field; one line per field, naming the file.
    """
    description = spec.title
    try:
        md = MedEvalTaskMetadata(
            name=spec.name,
            description=description,
            reference=spec.reference,
            dataset={"path": spec.dataset.path or f"medeval/{spec.name}", "revision": spec.dataset.revision or "unbuilt"},
            type=spec.type,
            category=_CATEGORY[spec.type],
            modalities=["text"],
            eval_splits=list(spec.evaluation.eval_splits),
            eval_langs=list(spec.languages),
            main_score=spec.evaluation.main_score,
            date=spec.date,
            domains=list(spec.domains),
            task_subtypes=list(spec.task_subtypes or []),
            license=spec.license,
            annotations_creators=spec.annotations_creators,
            dialect=[],
            sample_creation=spec.sample_creation,
            bibtex_citation=(spec.source.bibtex or spec.citation or "").strip() or None,
            is_public=spec.source.access != "credentialed",
            contributed_by="medeval",
        )
        md._validate_metadata()
    except ValidationError as err:
        lines = []
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"])
            lines.append(f"{path}: mteb rejects field '{loc}': {e['msg']}")
        raise SpecError("\n".join(lines)) from None
    except ValueError as err:
        raise SpecError(f"{path}: mteb rejects the metadata: {err}") from None
    return md


_CLASSES: dict[str, type[MedEvalTaskMixin]] = {}


_ALLOW_CUSTOM_LOADERS = False
ENV_ALLOW_CUSTOM_LOADERS = "MEDEVAL_ALLOW_CUSTOM_LOADERS"


def allow_custom_loaders(allow: bool = True) -> None:
    """Let task files name a ``loader:`` outside medeval (``--allow-custom-loaders``). That imports, and so runs,
    the named module: only for task files you trust. Set before task files are read."""
    global _ALLOW_CUSTOM_LOADERS
    _ALLOW_CUSTOM_LOADERS = allow


def _custom_loaders_allowed() -> bool:
    return _ALLOW_CUSTOM_LOADERS or os.environ.get(ENV_ALLOW_CUSTOM_LOADERS, "") in ("1", "true", "yes")


def _resolve_loader(spec: TaskSpec, path: Path | str) -> type[MedEvalTaskMixin]:
    module_name, _, cls_name = spec.loader_path.rpartition(".")
    if not (module_name == "medeval" or module_name.startswith("medeval.")) and not _custom_loaders_allowed():
        # checked before importing: a task file is data, and importing a module named in it would run its code
        raise SpecError(
            f"{path}: field 'loader': {spec.loader_path!r} is not one of medeval's loaders (use one of "
            + ", ".join(f"medeval.loaders.{c.__name__}" for c in LOADERS.values())
            + "); a loader from another module runs that module's code, so it needs --allow-custom-loaders "
            "(only for task files you trust)"
        )
    try:
        loader = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError, ValueError):
        raise SpecError(
            f"{path}: field 'loader': cannot import {spec.loader_path!r}; use one of "
            + ", ".join(f"medeval.loaders.{c.__name__}" for c in LOADERS.values())
        ) from None
    expected = LOADERS[spec.type]
    if not (isinstance(loader, type) and issubclass(loader, expected)):
        raise SpecError(f"{path}: field 'loader': {spec.loader_path} is not a {spec.type} loader (subclass of {expected.__module__}.{expected.__name__})")
    return loader


def make_task_class(spec: TaskSpec, path: Path | str) -> type[MedEvalTaskMixin]:
    """One small mteb task class for a spec: the loader class with the spec's metadata and protocol.

    Args:
        spec: the validated task spec.
        path: the YAML it came from (a user task's ``data:`` folder is relative to it).

    Returns:
        A subclass of the spec's loader (``medeval.loaders.<Type>`` by default) named after the task.

    Raises:
        SpecError: the loader cannot be imported or is not allowed, or mteb rejects the metadata.
    """
    loader = _resolve_loader(spec, path)
    attrs: dict[str, Any] = {
        "metadata": to_mteb_metadata(spec, path),
        "spec": spec,
        "spec_path": Path(path).resolve() if Path(path).exists() else None,
        "__module__": "medeval.tasks",
        "__doc__": spec.title,
    }
    ev = spec.evaluation
    if ev.samples_per_label is not None:
        attrs["samples_per_label"] = ev.samples_per_label
    if ev.n_experiments is not None:
        attrs["n_experiments"] = ev.n_experiments
    if ev.clustering is not None:
        attrs["kmeans_seeds"] = ev.clustering.kmeans_seeds
        attrs["k_mean_batch_size"] = ev.clustering.kmeans_batch_size
    if ev.k_values is not None:
        attrs["k_values"] = tuple(ev.k_values)
    return type(spec.name, (loader,), attrs)


def _load_dir(folder: Path) -> dict[str, type[MedEvalTaskMixin]]:
    out: dict[str, type[MedEvalTaskMixin]] = {}
    for p in sorted(folder.glob("*.yaml")):
        spec = load_spec(p)
        out[spec.name] = make_task_class(spec, p)
    return out


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
    classes = _load_dir(paths.packaged_specs_dir())
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

    Raises:
        SpecError: a packaged task or benchmark YAML is malformed.
    """
    return dict(_all_classes())


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

    Raises:
        TaskNotFoundError: no such task; the message suggests close names.
        SpecError: the YAML path is malformed.
    """
    classes = _all_classes()
    if name.endswith((".yaml", ".yml")):
        return add_task_file(name)
    if name in classes:
        return classes[name]
    by_paper_id = {c.spec.paper_id: c for c in classes.values() if c.spec.paper_id}
    if name in by_paper_id:
        return by_paper_id[name]
    close = difflib.get_close_matches(name, list(classes), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `medeval tasks` lists them"
    raise TaskNotFoundError(f"unknown task {name!r}{hint}")


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
    if benchmark is not None:
        bench = get_benchmark_spec(benchmark)
        members = set(bench.tasks)
        selected = [c for c in selected if c.spec.name in members or c.spec.benchmark == bench.name]
    if types:
        bad = [t for t in types if t not in LOADERS]
        if bad:
            raise TaskNotFoundError(f"unknown task type(s) {', '.join(bad)}; choose from {', '.join(LOADERS)}")
        selected = [c for c in selected if c.spec.type in types]
    return [c() for c in selected]  # type: ignore[misc]


def _register_benchmarks() -> None:
    from mteb import Benchmark

    check_membership({name: c.spec.benchmark for name, c in _packaged().items()})
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


def __getattr__(name: str) -> Any:
    if name == "BENCHMARK_NAMES":  # kept for callers of the old constant; the benchmark files are the source
        return tuple(benchmark_names())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



# mteb was first imported by this module's own imports: do the registration `import mteb` deferred until now
run_pending()
