"""The packaged benchmarks: one YAML file per benchmark under ``tasks/benchmarks/`` (schema and loader in
:mod:`medeval.spec.benchmark`), found, looked up by name, alias or short id, and checked against the task files.

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
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from medeval.errors import SpecError, TaskNotFoundError
from medeval.spec.benchmark import BenchmarkSpec, load_benchmark_spec

#: The folder (inside the packaged task folder) that holds the benchmark files.
BENCHMARKS_SUBDIR = "benchmarks"


def benchmarks_dir() -> Path:
    """The folder of the packaged benchmark files (``tasks/benchmarks`` in a checkout, ``medeval/_tasks/benchmarks``
    in a wheel).

    Returns:
        The folder; it holds one ``*.yaml`` per benchmark.

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

    Args:
        name: e.g. ``"MedEval(v1)"``, ``"v1"`` or ``"terms"`` (case-insensitive).

    Returns:
        The validated :class:`~medeval.spec.benchmark.BenchmarkSpec` of its ``tasks/benchmarks/*.yaml``.

    Raises:
        TaskNotFoundError: unknown benchmark.

    Example:
        >>> get_benchmark_spec("terms").title
        'MedEval-Terms'
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
