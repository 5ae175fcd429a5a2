"""The one place medeval touches mteb internals: registering tasks and benchmarks, and when to do it.

mteb 2.26 has no public API to add tasks or benchmarks. Its lookups (``mteb.get_task``, ``TaskResult`` loading,
``Benchmark.get_score``, ``BenchmarkResults``) read the module-level dict ``mteb.get_tasks._TASKS_REGISTRY``
(imported by name elsewhere, so it must be mutated in place, never rebound) and the lru-cached benchmark
registry ``mteb.benchmarks.get_benchmark._build_registry()``. ``tests/test_mteb_registry.py`` checks that these
still work, so a minor mteb release that moves them fails loudly there.

When: ``import medeval`` imports neither mteb nor a task YAML (so ``medeval --help`` starts at once).
:func:`when_mteb_imported` runs medeval's registration right after ``import mteb`` finishes (or at once if mteb is
already imported), so ``import medeval; import mteb; mteb.get_task("HPOLaypersonRetrieval")`` keeps working; medeval's
own lookups (``medeval.get_task`` ...) register on first use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import logging
import sys
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


def _module(name: str) -> Any:
    # ``mteb.get_tasks`` / ``mteb.benchmarks.get_benchmark`` are shadowed by functions of the same name: import the modules
    return importlib.import_module(name)


def register_task(cls: type) -> None:
    """Make ``mteb.get_task(name)`` and mteb's result loaders know the task class."""
    get_tasks = _module("mteb.get_tasks")
    get_tasks._TASKS_REGISTRY[cls.metadata.name] = cls
    if cls not in get_tasks.TASK_LIST:
        get_tasks.TASK_LIST = (*get_tasks.TASK_LIST, cls)


def register_benchmark(benchmark: Any) -> None:
    """Make ``mteb.get_benchmark(name)`` return the benchmark."""
    get_benchmark = _module("mteb.benchmarks.get_benchmark")
    get_benchmark._build_registry()[benchmark.name] = benchmark
    for alias in benchmark.aliases or ():
        get_benchmark._build_aliases_registry()[alias] = benchmark


class _CallAfterExec(importlib.abc.Loader):
    """A loader around another one: runs ``callback`` once the module has executed, then steps aside."""

    def __init__(self, loader: Any, callback: Callable[[], None]) -> None:
        self.loader = loader
        self.callback = callback

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = self.loader  # the module looks exactly as if imported normally
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.callback()


class _AfterImport(importlib.abc.MetaPathFinder):
    """A one-shot import hook: finds ``name`` through the other finders and wraps its loader."""

    def __init__(self, name: str, callback: Callable[[], None]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _CallAfterExec(spec.loader, self.callback)
        return spec


_pending: list[Callable[[bool], None]] = []


def _medeval_module_initializing() -> bool:
    """True while a medeval module is still executing (its import is what pulled mteb in)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("medeval.") and getattr(getattr(module, "__spec__", None), "_initializing", False):
            return True
    return False


def run_pending() -> None:
    """Run a registration that ``import mteb`` deferred because a medeval module was mid-import (called by the
    catalogue once it is fully imported)."""
    while _pending:
        _pending.pop(0)(True)


def when_mteb_imported(callback: Callable[[], None]) -> None:
    """Run ``callback`` right after ``import mteb`` completes, or now if mteb is already imported.

    An error in ``callback`` is logged, never raised into the importing code.
    """

    def guarded(now: bool = False) -> None:
        if not now and _medeval_module_initializing():  # e.g. medeval.catalog's imports loaded mteb: it calls back
            _pending.append(guarded)
            return
        try:
            callback()
        except Exception as err:  # noqa: BLE001 - a broken task YAML must not break `import mteb`
            logger.warning("medeval: could not register its tasks with mteb: %s", err)

    if "mteb" in sys.modules:
        guarded()
        return
    if not any(isinstance(f, _AfterImport) and f.name == "mteb" for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("mteb", guarded))
