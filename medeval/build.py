"""Build a task's data from its upstream source: spec -> builder -> rows -> data folder (+ manifest, stats).

Builders live in :mod:`medeval.builders` (one module per upstream) and are named by the YAML's
``construction.builder`` (``"<module>.<name>"``). A builder gets the spec and a :class:`BuildContext` and returns a
:class:`BuiltTask`: the tables and what the manifest must record (source record ids and versions).

    >>> from medeval.build import build_task
    >>> build_task(medeval.catalog.get_spec("ICD10CMChapterClustering"))  # doctest: +SKIP
    'a1b2c3d4e5f60718'
"""

from __future__ import annotations

import importlib
import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from medeval import data as datamod
from medeval.errors import MedEvalError, SpecError
from medeval.fsutil import atomic_write_json
from medeval.spec import TaskSpec
from medeval.store import DataStore

logger = logging.getLogger(__name__)


@dataclass
class BuildContext:
    """Inputs a build may need beyond the spec."""

    source_dir: Path | None = None  # local copies of upstream records (the datakit layout)
    mimic_dir: Path | None = None  # the user's credentialed MIMIC-IV folder
    llm_base_url: str | None = None
    llm_model: str | None = None
    offline: bool = False
    show_progress: bool = True
    # rebuild from a manifest: use exactly these source record ids (None = sample from the whole source).
    # Builders filter their source to them before sampling; see medeval.manifest.
    record_ids: frozenset[str] | None = None


@dataclass
class BuiltTask:
    """What a builder returns."""

    tables: dict[str, list[dict[str, Any]]]
    sources: dict[str, Any] = field(default_factory=dict)  # record ids, versions, releases (never text)
    packages: list[str] = field(default_factory=list)  # distributions whose versions the data depends on


Builder = Callable[[TaskSpec, BuildContext], BuiltTask]
_BUILDERS: dict[str, Builder] = {}


class BuilderParams(BaseModel):
    """Base of every builder's ``construction.params`` model: typed, and a key the builder does not read is an error.

    Example::

        >>> class ChapterParams(BuilderParams):
        ...     min_codes_per_chapter: int = 200
        >>> @builder("terms.icd10cm_chapter_classification", params=ChapterParams)
        ... def chapters(spec, ctx): ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_PARAMS: dict[str, type[BuilderParams]] = {}

#: What a builder may need beyond installed packages: the user's MIMIC-IV copy (``--mimic-dir``), an LLM endpoint
#: (``--llm-base-url``/``--llm-model``), or the upstream API (network, or local records via ``--source-dir``).
NEEDS = frozenset({"mimic_dir", "llm", "network"})
_NEEDS: dict[str, frozenset[str]] = {}


def builder(
    name: str, *, params: type[BuilderParams] = BuilderParams, needs: set[str] | frozenset[str] = frozenset()
) -> Callable[[Builder], Builder]:
    """Decorator registering a builder under ``"<module>.<name>"`` with the model of the ``construction.params`` it
    reads (default: none) and what it needs to run.

    Args:
        name: the id task YAMLs give as ``construction.builder``, e.g. ``"terms.ccs_classification"``.
        params: the :class:`BuilderParams` model of the ``construction.params`` it reads.
        needs: a subset of :data:`NEEDS`. Empty (the default): it builds offline from installed packages, so
            medeval builds its tasks on first use without asking.

    Returns:
        The decorator; it registers the function and returns it unchanged.

    Raises:
        ValueError: an unknown need.
    """
    unknown = set(needs) - NEEDS
    if unknown:
        raise ValueError(f"builder {name!r}: unknown need(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(NEEDS))}")

    def deco(fn: Builder) -> Builder:
        _BUILDERS[name] = fn
        _PARAMS[name] = params
        _NEEDS[name] = frozenset(needs)
        return fn

    return deco


def builder_params(spec: TaskSpec) -> BuilderParams:
    """The task's ``construction.params`` validated against its builder's model.

    Args:
        spec: a task with a ``construction`` block whose builder is registered (see :func:`get_builder`).

    Returns:
        The params model instance (defaults filled in).

    Raises:
        SpecError: one line per problem, naming the task, the field and the fix: a key the builder does not read,
            or a value of the wrong type.
    """
    assert spec.construction is not None
    name = spec.construction.builder
    model = _PARAMS[name]
    try:
        return model.model_validate(spec.construction.params)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            if e["type"] == "extra_forbidden":
                reads = ", ".join(f.alias or k for k, f in model.model_fields.items()) or "no params"
                lines.append(f"task {spec.name}: field 'construction.params.{key}': builder {name} does not read it "
                             f"(it reads: {reads}); remove it, or say it in the description")
            else:
                lines.append(f"task {spec.name}: field 'construction.params.{key}': {e['msg']}")
        raise SpecError("\n".join(lines)) from None


def get_builder(spec: TaskSpec) -> Builder:
    """The task's registered builder, its params checked (:func:`builder_params`).

    Importing the builder's module (``medeval.builders.<first part of the id>``) registers it.

    Args:
        spec: a task with a ``construction`` block.

    Returns:
        The builder function, called as ``fn(spec, ctx)`` to produce a ``BuiltTask``.

    Raises:
        SpecError: no construction, an unknown builder or params it does not read.
        MedEvalError: the builder's module needs a package that is not installed.
    """
    name = _import_builder(spec)
    builder_params(spec)
    return _BUILDERS[name]


def _import_builder(spec: TaskSpec) -> str:
    """Import the module of the task's builder (registering it) and return the builder's id."""
    if spec.construction is None:
        raise SpecError(f"task {spec.name}: its YAML has no 'construction' section; medeval cannot build it")
    name = spec.construction.builder
    module = name.split(".", 1)[0]
    try:
        importlib.import_module(f"medeval.builders.{module}")
    except ModuleNotFoundError as err:
        if err.name and err.name.startswith("medeval.builders"):
            raise SpecError(f"task {spec.name}: field 'construction.builder': no builder module for {name!r}") from None
        raise MedEvalError(
            f"task {spec.name}: builder {name!r} needs the package {err.name!r}; install it (e.g. pip install 'medeval-mteb[terms]')"
        ) from None
    if name not in _BUILDERS:
        raise SpecError(f"task {spec.name}: field 'construction.builder': unknown builder {name!r}")
    return name


def builder_needs(spec: TaskSpec) -> frozenset[str]:
    """What the task's builder declared it needs (a subset of :data:`NEEDS`; empty: offline from packages).

    Args:
        spec: a task with a ``construction`` block.

    Returns:
        The needs, e.g. ``frozenset({"mimic_dir"})``.

    Raises:
        SpecError: the task has no construction or names an unknown builder.
        MedEvalError: the builder's module needs a package that is not installed.
    """
    return _NEEDS[_import_builder(spec)]


def can_build_without_inputs(spec: TaskSpec) -> bool:
    """True for tasks whose builder declared no needs (it reads only installed packages, e.g. MedEval-Terms).

    Args:
        spec: a task's spec.

    Returns:
        False for a task without a ``construction`` block or whose builder needs an input.

    Raises:
        SpecError, MedEvalError: as :func:`builder_needs`.
    """
    return spec.construction is not None and not builder_needs(spec)


def stale_reason(spec: TaskSpec, folder: Path | None = None) -> str | None:
    """Why an offline-buildable task's built data must be rebuilt (it is not the revision its YAML pins), or None.

    Data built by an older medeval (or before a builder fix) would otherwise be scored silently. When a rebuild
    still gives another revision (other package versions than the pin was made with), the manifest records that it
    was checked (``pin_checked``), so later loads do not rebuild again until the pin or the package versions change.

    Args:
        spec: the task's spec.
        folder: its data folder; None for the task's folder in the data folder.

    Returns:
        One line saying which revision is built and which is pinned, or None (up to date, not built, a user's own
        data, not buildable offline, or already checked against this pin).
    """
    pinned = spec.dataset.revision
    if not pinned or spec.data is not None or not can_build_without_inputs(spec):  # a user's own data is never rebuilt
        return None
    manifest = datamod.read_manifest(folder or DataStore().task_dir(spec.name))
    if manifest is None or manifest.get("revision") == pinned:
        return None
    checked = manifest.get("pin_checked") or {}
    if checked.get("pin") == pinned and checked.get("tools") == manifest.get("tools"):
        return None
    return f"built data {manifest.get('revision')} is not the revision {pinned} its YAML pins"


def rebuild_if_stale(spec: TaskSpec, folder: Path | None = None) -> bool:
    """Rebuild an offline task whose built data is not the revision its YAML pins (see :func:`stale_reason`).

    Args:
        spec: the task's spec.
        folder: its data folder (default ``DataStore().task_dir(spec.name)``).

    Returns:
        True if it was rebuilt.

    Raises:
        MedEvalError: the rebuild failed (as :func:`build_task`).
    """
    folder = folder or DataStore().task_dir(spec.name)
    reason = stale_reason(spec, folder)
    if reason is None:
        return False
    logger.warning("%s: %s; rebuilding it (offline)", spec.name, reason)
    revision = build_task(spec, folder=folder)
    if revision != spec.dataset.revision:
        fresh = datamod.read_manifest(folder) or {}
        fresh["pin_checked"] = {"pin": spec.dataset.revision, "tools": fresh.get("tools")}
        atomic_write_json(folder / datamod.MANIFEST, fresh, indent=2, sort_keys=True, ensure_ascii=False)
        logger.warning("%s: the rebuild gives %s, not the pinned %s (other package versions); results will record %s",
                       spec.name, revision, spec.dataset.revision, revision)
    return True


def _versions(dists: list[str]) -> dict[str, str]:
    from medeval.versions import package_versions

    return {k: str(v) for k, v in package_versions(sorted(set(dists)), missing="not installed").items()}


def build_task(spec: TaskSpec, ctx: BuildContext | None = None, folder: Path | None = None) -> str:
    """Run the task's builder and write its data, manifest and statistics atomically.

    Args:
        spec: the task's spec (its ``construction`` names the builder).
        ctx: the user's inputs (``--source-dir``, ``--mimic-dir``, LLM endpoint, ``--offline``); default none.
        folder: where to write (default ``DataStore().task_dir(spec.name)``); the old folder is replaced only when
            the new one is complete.

    Returns:
        The content hash of the tables (16 hex digits): the data's revision.

    Raises:
        SpecError: no construction, an unknown builder or params it does not read.
        MedEvalError: a missing input, package or record, or a build that produced an empty table.

    Example::

        >>> build_task(get_spec("ICD10CMChapterClustering"))  # doctest: +SKIP
        'a1b2c3d4e5f60718'
    """
    ctx = ctx or BuildContext()
    fn = get_builder(spec)
    built = fn(spec, ctx)
    folder = folder or DataStore().task_dir(spec.name)
    datamod.check_columns(folder, spec.type, built.tables)
    for name, rows in built.tables.items():
        if not rows:
            raise MedEvalError(f"task {spec.name}: the build produced an empty table {name!r}; check the source inputs")
    assert spec.construction is not None
    manifest = {
        "builder": spec.construction.builder,
        "parameters": spec.construction.model_dump(mode="json"),
        "source": {"name": spec.source.name, "version": spec.source.version, **built.sources},
        "tools": {"medeval": _versions(["medeval"])["medeval"], **_versions(built.packages + ["pyarrow"]), "python": platform.python_version()},
    }
    revision = datamod.write_task_data(folder, built.tables, manifest=manifest, stats=datamod.describe(spec.type, built.tables))
    _check_once(folder, spec)
    return revision


def _check_once(folder: Path, spec: TaskSpec) -> None:
    """Run the data checks (:mod:`medeval.checks`) on freshly built data, so that a clean build is stamped and every
    later load checks types and nulls only; findings are not raised here (the load reports them, one line each)."""
    from medeval.checks import read_and_check

    names = sorted(p.parent.name + "/" + p.stem for p in Path(folder).glob("*/*.parquet"))
    try:
        read_and_check(folder, spec.type, names, "train", list(spec.evaluation.eval_splits))
    except Exception as err:  # noqa: BLE001 - checking is an optimisation here; the load checks again
        logger.debug("task %s: checks after the build did not run: %s", spec.name, err)
