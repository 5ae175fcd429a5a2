"""medeval: the benchmark and leaderboard for medical text-embedding models, built on mteb.

    >>> import medeval
    >>> tasks = medeval.get_tasks(benchmark="MedEval-Terms(v1)")        # mteb task objects
    >>> bench = medeval.get_benchmark("MedEval(v1)")                      # an mteb.Benchmark (51 tasks)
    >>> task = medeval.get_task("WikiSyndromesClassification")

Tasks are declared by YAML files (``tasks/``, schema in :mod:`medeval.spec`), built from their upstream sources
(:mod:`medeval.build`), loaded by mteb task classes (:mod:`medeval.loaders`) and run with ``medeval run``.

Importing medeval is cheap: it imports neither mteb nor any task YAML, so ``medeval --help`` starts at once. The
functions above load the catalogue on first use. mteb's own lookups (``mteb.get_task("HPOLaypersonRetrieval")``,
result loading) know medeval's tasks and benchmarks from the moment mteb is imported (see
:mod:`medeval._mteb_registry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medeval._mteb_registry import when_mteb_imported

if TYPE_CHECKING:  # pragma: no cover
    from medeval.catalog import get_benchmark, get_spec, get_task, get_tasks, task_classes

#: The distribution name on PyPI (``pip install medeval-mteb``); the import package and the command stay ``medeval``.
#: (``medeval`` on PyPI is an unrelated medical-imaging package.)
DIST_NAME = "medeval-mteb"

__version__ = "0.1.0"

__all__ = ["DIST_NAME", "__version__", "get_benchmark", "get_spec", "get_task", "get_tasks", "task_classes"]

_LAZY = frozenset({"get_benchmark", "get_spec", "get_task", "get_tasks", "task_classes"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from medeval import catalog

        return getattr(catalog, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


def _register_with_mteb() -> None:
    from medeval.catalog import task_classes

    task_classes()


when_mteb_imported(_register_with_mteb)
