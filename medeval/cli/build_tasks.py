"""``medeval build``: build many tasks, print one line per task, never stop at the first failure.

Imported by :mod:`medeval.cli.build` when the command runs (it loads the catalogue, so not at ``medeval --help``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import typer

from medeval.store import DataStore
from medeval.build import BuildContext, build_task, builder_needs
from medeval.benchmarks import get_benchmark_spec
from medeval.catalog import get_task_class, get_tasks
from medeval.errors import MedEvalError
from medeval.os_errors import describe_os_error
from medeval.spec import TaskSpec

logger = logging.getLogger(__name__)


def select_specs(tasks: list[str] | None, benchmark: str | None) -> list[TaskSpec]:
    """The specs of the tasks ``medeval build`` should build: the named tasks (within the benchmark, if one is given),
    or every task of the benchmark.

    Args:
        tasks: ``-t``: task names, paper ids or YAML paths; None or empty to take the benchmark's tasks.
        benchmark: ``-b``, e.g. ``"MedEval(v1)"``.

    Returns:
        The task specs, in the order named (or the benchmark's order).

    Raises:
        MedEvalError: neither tasks nor a benchmark is given.
        TaskNotFoundError: an unknown task or benchmark.
    """
    if tasks:
        specs = [get_task_class(t).spec for t in tasks]
        if benchmark:
            bench = get_benchmark_spec(benchmark)
            specs = [s for s in specs if s.name in bench.tasks or s.benchmark == bench.name]
        return specs
    if not benchmark:
        raise MedEvalError('name tasks with -t TASK or a benchmark with -b "MedEval(v1)" / -b "MedEval-Terms(v1)"')
    return [t.spec for t in get_tasks(benchmark=benchmark)]  # type: ignore[attr-defined]


def skip_reason(spec: TaskSpec, ctx: BuildContext) -> str | None:
    """Why a task cannot be built with these inputs, from what its builder declares it needs (None if it can).

    Args:
        spec: the task's spec.
        ctx: the inputs given (``--mimic-dir``, ``--llm-base-url``/``--llm-model``, ...).

    Returns:
        One line saying what to add, or None. A builder that cannot be looked up gives None: building it then
        fails with the reason.
    """
    if spec.construction is None:
        return "has no construction section (a user task with its own data)"
    try:
        needs = builder_needs(spec)
    except MedEvalError:
        return None
    if "mimic_dir" in needs and ctx.mimic_dir is None:
        return "needs your MIMIC-IV copy: add --mimic-dir DIR"
    if "llm" in needs and not (ctx.llm_base_url and ctx.llm_model):
        return "needs an LLM: add --llm-base-url URL --llm-model MODEL (OpenAI-compatible; key in OPENAI_API_KEY)"
    return None


def run_build(
    *,
    tasks: list[str] | None,
    benchmark: str | None,
    source_dir: Path | None = None,
    mimic_dir: Path | None = None,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    from_manifest: Path | None = None,
    offline: bool = False,
) -> int:
    """Build the selected tasks, one line per task; returns the exit code (0 if every buildable task was built).

    A task whose builder needs an input that was not given is skipped with a line saying what to add; a failing task
    is reported and the next one built.

    Args:
        tasks: ``-t`` task names, paper ids or YAML paths.
        benchmark: ``-b`` benchmark name.
        source_dir: upstream records in the datakit layout (instead of the network).
        mimic_dir: the credentialed MIMIC-IV folder.
        llm_base_url: an OpenAI-compatible endpoint for the LLM steps.
        llm_model: the model it serves.
        from_manifest: rebuild exactly the records of this ``manifest.json`` instead (see
            :func:`medeval.manifest.rebuild_from_manifest`).
        offline: never touch the network.

    Returns:
        0 when nothing failed, 1 otherwise.

    Raises:
        MedEvalError: no task selected, or a rebuild from a manifest failed or gave another revision.
    """
    if from_manifest is not None:
        from medeval.manifest import rebuild_from_manifest

        revision = rebuild_from_manifest(from_manifest, source_dir=source_dir, mimic_dir=mimic_dir, offline=offline,
                                         llm_base_url=llm_base_url)
        typer.echo(f"rebuilt from {from_manifest}: revision {revision} (matches the manifest)")
        return 0
    ctx = BuildContext(source_dir=source_dir, mimic_dir=mimic_dir, llm_base_url=llm_base_url, llm_model=llm_model, offline=offline)
    specs = select_specs(tasks, benchmark)
    failed = 0
    for spec in specs:
        reason = skip_reason(spec, ctx)
        if reason:
            typer.echo(f"skip   {spec.name}: {reason}")
            continue
        t0 = time.perf_counter()
        try:
            revision = build_task(spec, ctx)
        except MedEvalError as err:
            failed += 1
            typer.echo(f"FAILED {spec.name}: {err}", err=True)
            continue
        except OSError as err:  # full, read-only or misplaced data folder: report it, build the next task
            failed += 1
            msg = describe_os_error(err, DataStore().task_dir(spec.name), "free space, or choose another data folder with --data-dir")
            typer.echo(f"FAILED {spec.name}: {msg}", err=True)
            continue
        typer.echo(f"built  {spec.name}: revision {revision} ({time.perf_counter() - t0:.1f}s)")
    return 1 if failed else 0
