"""One task spec -> one mteb task class: the metadata mteb needs, the loader class the spec names (and the policy
that keeps a task file from running code), and the protocol settings.

    >>> from medeval.spec import load_spec
    >>> from medeval.task_class import make_task_class
    >>> cls = make_task_class(load_spec("tasks/WikiSyndromesClassification.yaml"), "tasks/WikiSyndromesClassification.yaml")
    >>> cls.metadata.main_score, cls.__mro__[1].__name__
    ('f1', 'Classification')

The catalogue (:mod:`medeval.catalog`) decides which specs there are and registers the classes with mteb.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from mteb.abstasks.task_metadata import TaskMetadata
from pydantic import PrivateAttr, ValidationError

from medeval.errors import SpecError
from medeval.loaders import LOADERS, MedEvalTaskMixin
from medeval.spec import TaskSpec
from medeval.store import DataStore

_CATEGORY = {"Classification": "t2c", "Clustering": "t2c", "PairClassification": "t2t", "Retrieval": "t2t"}


class MedEvalTaskMetadata(TaskMetadata):
    """mteb's TaskMetadata, with descriptive statistics kept beside the built data, not inside mteb's package."""

    _task_class: Any = PrivateAttr(default=None)  # the class made from this metadata (set by make_task_class)

    @property
    def descriptive_stat_path(self) -> Path:  # type: ignore[override]
        """``stats.json`` in the task's data folder (a user task's own ``data:`` folder included)."""
        if self._task_class is not None:
            return self._task_class.descriptive_stats_path()
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


_ALLOW_CUSTOM_LOADERS = False
ENV_ALLOW_CUSTOM_LOADERS = "MEDEVAL_ALLOW_CUSTOM_LOADERS"


def allow_custom_loaders(allow: bool = True) -> None:
    """Let task files name a ``loader:`` outside medeval (``--allow-custom-loaders``). That imports, and so runs,
    the named module: only for task files you trust. Set before task files are read.

    Args:
        allow: True allows such loaders from now on (in this process); False refuses them again.
    """
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
    metadata = to_mteb_metadata(spec, path)
    attrs: dict[str, Any] = {
        "metadata": metadata,
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
    cls = type(spec.name, (loader,), attrs)
    metadata._task_class = cls
    return cls
