"""medeval: the benchmark and leaderboard for medical text-embedding models, built on mteb.

    >>> import medeval
    >>> tasks = medeval.get_tasks(benchmark="MedEval-Terms(v1)")        # mteb task objects
    >>> bench = medeval.get_benchmark("MedEval(v1)")                      # an mteb.Benchmark (51 tasks)
    >>> task = medeval.get_task("WikiSyndromesClassification")

Tasks are declared by YAML files (``tasks/``, schema in :mod:`medeval.spec`), built from their upstream sources
(:mod:`medeval.build`), loaded by mteb task classes (:mod:`medeval.loaders`) and run with ``medeval run``.
"""

from __future__ import annotations

from medeval.catalog import get_benchmark, get_spec, get_task, get_tasks, task_classes

#: The distribution name on PyPI (``pip install medeval-mteb``); the import package and the command stay ``medeval``.
#: (``medeval`` on PyPI is an unrelated medical-imaging package.)
DIST_NAME = "medeval-mteb"

__version__ = "0.1.0"

__all__ = ["__version__", "get_benchmark", "get_spec", "get_task", "get_tasks", "task_classes"]

# Register every packaged task and both benchmarks with mteb on import, so that mteb's own lookups
# (mteb.get_task, mteb.get_benchmark, result loading) know them.
task_classes()
