"""BibTeX for tasks and benchmarks, ready to paste (``medeval cite``).

    >>> from medeval.cite import cite_task
    >>> print(cite_task("WikiSyndromesClassification"))   # the source's entry, then the paper's

:func:`task_bibtex` and :func:`benchmark_bibtex` work on specs alone (``medeval cite`` passes the task index's, so it
never imports mteb); :func:`cite_task`, :func:`cite_tasks` and :func:`cite_benchmark` look the specs up in the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from medeval.errors import SpecError

if TYPE_CHECKING:
    from medeval.spec import BenchmarkSpec, TaskSpec

#: medeval itself (the software). A benchmark's own citation lives in its file under ``tasks/benchmarks/``.
MEDEVAL_BIBTEX = """@misc{medeval2026,
  title = {medeval: a reproducible benchmark and leaderboard for medical text embeddings},
  author = {{medeval developers}},
  year = {2026},
  note = {MedEval v1 and MedEval-Terms task specifications and builders}
}
"""

MTEB_BIBTEX = """@article{muennighoff2022mteb,
  title = {MTEB: Massive Text Embedding Benchmark},
  author = {Muennighoff, Niklas and Tazi, Nouamane and Magne, Lo{\\"\\i}c and Reimers, Nils},
  journal = {arXiv preprint arXiv:2210.07316},
  year = {2022},
  url = {https://arxiv.org/abs/2210.07316}
}
"""


def _key(entry: str) -> str:
    return entry.split("{", 1)[1].split(",", 1)[0].strip()


def _unique(entries: list[str]) -> str:
    seen: set[str] = set()
    out = []
    for block in entries:
        for entry in _split(block):
            k = _key(entry)
            if k not in seen:
                seen.add(k)
                out.append(entry.strip() + "\n")
    return "\n".join(out)


def _split(block: str) -> list[str]:
    parts, current = [], []
    for line in block.strip().splitlines():
        if line.lstrip().startswith("@") and current:
            parts.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        parts.append("\n".join(current))
    return parts


def task_bibtex(specs: Iterable[TaskSpec]) -> str:
    """The BibTeX papers using these tasks should cite: each task's upstream source, then its paper or benchmark.

    Args:
        specs: the tasks' specs (:class:`~medeval.spec.TaskSpec`), read one at a time and in order, so a lazy
            lookup stops at the first bad name.

    Returns:
        BibTeX entries, de-duplicated by key (the paper's entry is shared by most tasks), ready to paste.

    Raises:
        SpecError: a task's YAML gives neither ``source.bibtex`` nor ``citation``.

    Example::

        >>> from medeval.task_index import packaged_tasks
        >>> print(task_bibtex([packaged_tasks()["WikiSyndromesClassification"].spec]))  # @misc{wikipedia2025, ...} ...
    """
    entries: list[str] = []
    for spec in specs:
        own = [e for e in (spec.source.bibtex, spec.citation) if e]
        if not own:
            raise SpecError(f"task {spec.name}: its YAML gives no BibTeX; add 'citation' (or 'source.bibtex') to cite it")
        entries += own
    return _unique(entries)


def benchmark_bibtex(benchmark: BenchmarkSpec, specs: Iterable[TaskSpec]) -> str:
    """Every entry a paper using a benchmark should cite: the benchmark, medeval, mteb and each task's source.

    Args:
        benchmark: the benchmark's spec (``tasks/benchmarks/*.yaml``).
        specs: the specs of the benchmark's tasks.

    Returns:
        BibTeX entries, de-duplicated by key, ready to paste.
    """
    entries = [benchmark.citation, MEDEVAL_BIBTEX, MTEB_BIBTEX]
    entries += [spec.source.bibtex for spec in specs if spec.source.bibtex]
    return _unique(entries)


def cite_task(name: str) -> str:
    """The BibTeX a paper using one task should cite: the task's upstream source, then its paper or benchmark.

    Args:
        name: task name, paper id or task YAML path.

    Returns:
        BibTeX entries, de-duplicated by key, ready to paste.

    Raises:
        TaskNotFoundError: unknown task.
        SpecError: the task's YAML gives no BibTeX.

    Example::

        >>> print(cite_task("WikiSyndromesClassification"))   # @misc{wikipedia2025, ...} then @article{khodadad2025medte, ...}
    """
    return cite_tasks([name])


def cite_tasks(names: list[str]) -> str:
    """The BibTeX for several tasks at once, each entry once (the paper's entry is shared by most tasks).

    Args:
        names: task names, paper ids or task YAML paths.

    Returns:
        BibTeX entries, de-duplicated by key, in the order the tasks were given.

    Raises:
        TaskNotFoundError: an unknown task (nothing is returned for the others).
        SpecError: a task's YAML gives no BibTeX.
    """
    from medeval.catalog import get_spec

    return task_bibtex(get_spec(name) for name in names)


def cite_benchmark(name: str) -> str:
    """Every entry a paper using a benchmark should cite: the benchmark, medeval, mteb and each task's source.

    Args:
        name: benchmark name, alias or short id (``tasks/benchmarks/*.yaml``).

    Returns:
        BibTeX entries, de-duplicated by key, ready to paste.

    Raises:
        TaskNotFoundError: unknown benchmark.
    """
    from medeval.benchmarks import get_benchmark_spec
    from medeval.catalog import get_tasks

    tasks = get_tasks(benchmark=name)
    return benchmark_bibtex(get_benchmark_spec(name), [t.spec for t in tasks])  # type: ignore[attr-defined]


def __getattr__(name: str) -> Any:
    if name == "PAPER_BIBTEX":  # the MedTE paper: MedEval v1's citation, read from its benchmark file
        from medeval.benchmarks import get_benchmark_spec

        return get_benchmark_spec("MedEval(v1)").citation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
