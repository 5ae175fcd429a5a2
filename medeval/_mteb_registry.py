"""The one place medeval touches mteb internals: registering tasks and benchmarks.

mteb 2.26 has no public API to add tasks or benchmarks. Its lookups (``mteb.get_task``, ``TaskResult`` loading,
``Benchmark.get_score``, ``BenchmarkResults``) read the module-level dict ``mteb.get_tasks._TASKS_REGISTRY``
(imported by name elsewhere, so it must be mutated in place, never rebound) and the lru-cached benchmark
registry ``mteb.benchmarks.get_benchmark._build_registry()``. ``tests/test_mteb_registry.py`` checks that these
still work, so a minor mteb release that moves them fails loudly there.
"""

from __future__ import annotations

from typing import Any

import importlib

# ``mteb.get_tasks`` / ``mteb.benchmarks.get_benchmark`` are shadowed by functions of the same name: import the modules
_get_tasks = importlib.import_module("mteb.get_tasks")
_get_benchmark = importlib.import_module("mteb.benchmarks.get_benchmark")


def register_task(cls: type) -> None:
    """Make ``mteb.get_task(name)`` and mteb's result loaders know the task class."""
    registry = _get_tasks._TASKS_REGISTRY
    registry[cls.metadata.name] = cls
    if cls not in _get_tasks.TASK_LIST:
        _get_tasks.TASK_LIST = (*_get_tasks.TASK_LIST, cls)


def register_benchmark(benchmark: Any) -> None:
    """Make ``mteb.get_benchmark(name)`` return the benchmark."""
    _get_benchmark._build_registry()[benchmark.name] = benchmark
    for alias in benchmark.aliases or ():
        _get_benchmark._build_aliases_registry()[alias] = benchmark
