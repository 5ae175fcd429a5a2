"""Benchmarks as data: one YAML file per benchmark under ``tasks/benchmarks/``, read by this one loader.

A benchmark file holds everything medeval knows about a benchmark, in the spirit of lm-evaluation-harness groups
and ``mteb.Benchmark``: its name, short id and display title, aliases, description, reference, BibTeX citation, the
list of its tasks (the membership; each listed task's own YAML names the benchmark too, and :func:`check_membership`
keeps the two in step) and the rows a paper reports for it (shown on the leaderboard, never ranked). The catalogue,
``medeval cite``, the leaderboard and the site all read benchmarks from here.

Importing this module reads nothing; the files are parsed on first use. Example::

    >>> from medeval.benchmarks import get_benchmark_spec, benchmark_names
    >>> benchmark_names()
    ['MedEval(v1)', 'MedEval-Terms(v1)']
    >>> spec = get_benchmark_spec("terms")              # a name, an alias or a close spelling
    >>> spec.name, spec.id, len(spec.tasks)
    ('MedEval-Terms(v1)', 'terms', 11)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medeval.errors import SpecError, TaskNotFoundError
from medeval.spec import check_bibtex, format_validation_error, read_yaml

#: The folder (inside the packaged task folder) that holds the benchmark files.
BENCHMARKS_SUBDIR = "benchmarks"

_TASK_TYPES = ("Classification", "Clustering", "PairClassification", "Retrieval")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportedRow(_Strict):
    """One model's figures as a paper reports them (per-type means in [0, 1])."""

    model: str = Field(description="the model as the paper names it")
    scores: dict[str, float] = Field(description="task type -> the reported mean main score, in [0, 1]")

    @field_validator("scores")
    @classmethod
    def _scores(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k in v if k not in _TASK_TYPES]
        if bad:
            raise ValueError(f"unknown task type(s) {', '.join(bad)}; use {', '.join(_TASK_TYPES)}")
        out = [f"{k}={x}" for k, x in v.items() if not 0.0 <= x <= 1.0]
        if out:
            raise ValueError(f"scores must lie in [0, 1] (got {', '.join(out)})")
        return v


class Reported(_Strict):
    """The rows a paper reports for the benchmark and where they come from."""

    source: str = Field(description="where the figures come from (paper, table or figure, precision)")
    rows: list[ReportedRow] = Field(min_length=1)


class BenchmarkSpec(_Strict):
    """One benchmark, as its YAML file declares it."""

    name: str = Field(description="the benchmark's name as mteb knows it, e.g. 'MedEval(v1)'")
    id: str = Field(description="short lower-case id for file names and page anchors, e.g. 'v1'")
    title: str = Field(description="display title, e.g. 'MedEval v1'")
    order: int = Field(description="position in listings (smaller first)")
    aliases: list[str] = Field(default_factory=list, description="other names accepted by -b (case-insensitive)")
    description: str = Field(min_length=20)
    reference: str
    citation: str = Field(description="BibTeX of the paper or project that defines the benchmark")
    tasks: list[str] = Field(min_length=1, description="the benchmark's task names")
    reported: Reported | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError("must be lower-case letters, digits and '-', e.g. 'v1'")
        return v

    @field_validator("citation")
    @classmethod
    def _citation(cls, v: str) -> str:
        return check_bibtex(v)

    @field_validator("reference")
    @classmethod
    def _reference(cls, v: str) -> str:
        if not re.match(r"^https?://\S+$", v):
            raise ValueError("must be an http(s) URL")
        return v

    @model_validator(mode="after")
    def _unique_tasks(self) -> BenchmarkSpec:
        seen: set[str] = set()
        dupes = sorted({t for t in self.tasks if t in seen or seen.add(t)})  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"tasks listed twice: {', '.join(dupes)}")
        return self

    def reported_rows(self) -> list[dict[str, Any]]:
        """The reported rows as flat records, e.g. ``{"Model": "MedTE", "Classification": 0.72, ...}``.

        Returns:
            One dict per reported model: ``"Model"`` plus one key per task type the paper gives; an empty list
            when the benchmark has no reported rows.
        """
        if self.reported is None:
            return []
        return [{"Model": r.model, **r.scores} for r in self.reported.rows]


def load_benchmark_spec(path: str | Path) -> BenchmarkSpec:
    """Read and validate one benchmark YAML.

    Args:
        path: a ``tasks/benchmarks/*.yaml`` file.

    Returns:
        The validated :class:`BenchmarkSpec`.

    Raises:
        SpecError: unreadable file, invalid YAML or a bad field; one line per problem naming the file and field.

    Example::

        >>> load_benchmark_spec("tasks/benchmarks/MedEval-v1.yaml").reported.rows[0].model
        'MedTE (gte-base fine-tuned)'
    """
    data = read_yaml(path, "benchmark file")
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    try:
        return BenchmarkSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(format_validation_error(path, err, BenchmarkSpec)) from None


def benchmarks_dir() -> Path:
    """The folder of the packaged benchmark files (``tasks/benchmarks`` in a checkout, ``medeval/_tasks/benchmarks``
    in a wheel).

    Raises:
        FileNotFoundError: the packaged task folder is missing (a broken install).
    """
    from medeval.paths import packaged_specs_dir

    return packaged_specs_dir() / BENCHMARKS_SUBDIR


@lru_cache(maxsize=1)
def _registry() -> dict[str, tuple[BenchmarkSpec, Path]]:
    found: dict[str, tuple[BenchmarkSpec, Path]] = {}
    keys: dict[str, str] = {}
    for path in sorted(benchmarks_dir().glob("*.yaml")):
        spec = load_benchmark_spec(path)
        for key in (spec.name, *spec.aliases, spec.id):
            other = keys.get(key.lower())
            if other is not None and other != spec.name:
                raise SpecError(f"{path}: field 'aliases': {key!r} already names {other!r}; choose another")
            keys[key.lower()] = spec.name
        found[spec.name] = (spec, path)
    return dict(sorted(found.items(), key=lambda kv: (kv[1][0].order, kv[0])))


def all_benchmarks() -> list[BenchmarkSpec]:
    """Every packaged benchmark, in display order.

    Returns:
        The :class:`BenchmarkSpec` of each ``tasks/benchmarks/*.yaml``, sorted by ``order`` then name.

    Raises:
        SpecError: a benchmark file is malformed or two files claim the same name or alias.
    """
    return [spec for spec, _ in _registry().values()]


def benchmark_names() -> list[str]:
    """The packaged benchmarks' names, in display order.

    Returns:
        Canonical names sorted by each file's ``order``, e.g. ``['MedEval(v1)', 'MedEval-Terms(v1)']``.

    Raises:
        SpecError: a benchmark file is malformed.
    """
    return list(_registry())


def benchmark_path(name: str) -> Path:
    """The YAML file a benchmark comes from, for error messages.

    Args:
        name: a name, alias or short id (see :func:`canonical_name`).

    Returns:
        The path of its ``tasks/benchmarks/*.yaml``.

    Raises:
        TaskNotFoundError: unknown benchmark.
    """
    return _registry()[canonical_name(name)][1]


def canonical_name(name: str) -> str:
    """The benchmark's canonical name for a name, alias or short id, matched case-insensitively.

    Args:
        name: e.g. ``"MedEval(v1)"``, ``"medeval(v1)"``, ``"v1"`` or ``"terms"``.

    Returns:
        The canonical name, e.g. ``"MedEval-Terms(v1)"``.

    Raises:
        TaskNotFoundError: no benchmark has that name; the message suggests the closest one and lists them all.
    """
    registry = _registry()
    key = name.strip().lower()
    for canonical, (spec, _) in registry.items():
        if key in {canonical.lower(), spec.id.lower(), *(a.lower() for a in spec.aliases)}:
            return canonical
    names = list(registry)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise TaskNotFoundError(f"unknown benchmark {name!r}{hint} (benchmarks: {', '.join(names)})")


def get_benchmark_spec(name: str) -> BenchmarkSpec:
    """One benchmark's spec by name, alias or short id (see :func:`canonical_name`).

    Raises:
        TaskNotFoundError: unknown benchmark.
    """
    return _registry()[canonical_name(name)][0]


def check_membership(task_benchmarks: Mapping[str, str | None]) -> None:
    """Check the benchmark files against the tasks: every listed task exists and names the same benchmark.

    Args:
        task_benchmarks: packaged task name -> the ``benchmark`` field of its YAML (``None`` when it has none).

    Raises:
        SpecError: one line per disagreement, naming the benchmark file, the field and the fix.
    """
    problems = []
    listed: dict[str, str] = {}
    for spec, path in _registry().values():
        for task in spec.tasks:
            listed[task] = spec.name
            if task not in task_benchmarks:
                problems.append(f"{path}: field 'tasks': no packaged task {task!r}; add tasks/{task}.yaml or drop it")
            elif task_benchmarks[task] != spec.name:
                problems.append(f"{path}: field 'tasks': {task} says 'benchmark: {task_benchmarks[task]}'; "
                                f"make the two agree")
    for task, bench in task_benchmarks.items():
        if bench is not None and bench in _registry() and listed.get(task) != bench:
            problems.append(f"{_registry()[bench][1]}: field 'tasks': {task} names this benchmark but is not listed; add it")
    if problems:
        raise SpecError("\n".join(problems))
