"""Commands that read the task catalogue: ``tasks``, ``show``, ``check`` and ``cite``.

Each is a thin wrapper: the task index (:mod:`medeval.task_index`) or the catalogue (:mod:`medeval.catalog`), the
data checks (:mod:`medeval.checks`) and the citations (:mod:`medeval.cite`) do the work and return values; these
functions print them. The help text of a command is its docstring up to ``Args:``.

``tasks``, ``show`` and ``cite`` read the packaged task specs from the task index and never import mteb (a fraction
of a second of CPU instead of about 4 s), unless user tasks are in play: those go through the catalogue, which checks
them against mteb's metadata rules and registers them.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from medeval.cli.options import AllowCustomLoaders, DataDir, Fmt, IncludePath, apply_shared_options, echo_table


def _known_tasks(include_path: Sequence[Path] | None,
                 names: Sequence[str] = ()) -> tuple[Mapping[str, Any], Callable[[str], Any]]:
    """The tasks a command sees and how it looks one up: the catalogue's mteb task classes when user tasks are in play
    (``--include-path``, ``$MEDEVAL_INCLUDE_PATH``, a YAML path, or tasks this process added), else the packaged
    specs of the task index, without mteb. Both answer ``spec``, ``spec_path``, ``data_folder()`` and ``is_built()``."""
    from medeval import task_index

    catalog = sys.modules.get("medeval.catalog")  # loaded already: it may hold tasks added in this process
    if (include_path or os.environ.get(task_index.ENV_INCLUDE) or any(task_index.is_task_file(n) for n in names)
            or (catalog is not None and catalog.user_task_names())):
        from medeval.catalog import get_task_class, task_classes

        return task_classes(), get_task_class
    packaged = task_index.packaged_tasks()
    return packaged, lambda name: task_index.find_task(name, packaged)


def tasks_cmd(
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help='"MedEval(v1)" or "MedEval-Terms(v1)".')] = None,
    task_type: Annotated[Optional[list[str]], typer.Option("--type", help="Classification, Clustering, PairClassification or Retrieval (repeatable).")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """List tasks with their type, source, access and paper id.

    Args:
        benchmark: only this benchmark's tasks (a name, alias or short id); None lists every task.
        task_type: only tasks of these types.
        fmt: a table (with a count line) or a JSON list of rows.
        include_path: folders of the user's own task YAMLs to list too.
        allow_custom_loaders: let those YAMLs name a loader outside medeval.
        data_dir: the data folder the ``built`` column looks in.

    Raises:
        TaskNotFoundError: unknown benchmark (``main`` prints it as one ``error:`` line).
    """
    from medeval.task_index import filter_tasks

    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    known, _ = _known_tasks(include_path)
    rows = []
    for t in filter_tasks(known.values(), benchmark, task_type):
        s = t.spec
        rows.append({
            "name": s.name, "type": s.type, "benchmark": s.benchmark, "paper_id": s.paper_id,
            "source": s.source.group, "access": s.source.access, "main_score": s.evaluation.main_score,
            "built": t.is_built(),
        })
    if fmt == Fmt.json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        echo_table(rows, ["name", "type", "benchmark", "source", "access", "built", "paper_id"])
        typer.echo(f"{len(rows)} tasks", err=not sys.stdout.isatty())  # a pipe gets only the tab-separated rows


def show_cmd(
    task: Annotated[list[str], typer.Argument(help="Task names, paper ids or YAML paths (one or more).")],
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """Print each task's full card: description, source, construction, protocol, citations.

    Args:
        task: task names, paper ids or YAML paths; every one resolves before anything prints.
        include_path: folders of the user's own task YAMLs.
        allow_custom_loaders: let those YAMLs name a loader outside medeval.
        data_dir: the data folder the card's ``data_folder`` and ``built`` refer to.

    Raises:
        TaskNotFoundError: a name matches no task.
    """
    import yaml

    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    _, find = _known_tasks(include_path, task)
    classes = [find(name) for name in task]  # every name resolves before anything prints
    for i, cls in enumerate(classes):
        card = cls.spec.model_dump(mode="json", exclude_none=True)
        card["data_folder"] = str(cls.data_folder())
        card["built"] = cls.is_built()
        if i:
            typer.echo("---")
        typer.echo(yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=110).rstrip("\n"))


def check_cmd(
    task: Annotated[Optional[list[str]], typer.Argument(
        help="Task names, paper ids or YAML paths; none with --include-path: every task in those folders.")] = None,
    include_path: IncludePath = None,
    data_dir: DataDir = None,
    allow_custom_loaders: AllowCustomLoaders = False,
) -> None:
    """Check tasks' data without a model: one line per problem (file, line, field, what, fix); exit 1 on errors.

    Args:
        task: task names, paper ids or YAML paths; a task named twice is checked once. None: every task of
            ``include_path``.
        include_path: folders of the user's own task YAMLs.
        data_dir: the data folder holding the built tables.
        allow_custom_loaders: let task YAMLs name a loader outside medeval.

    Raises:
        typer.Exit: always; code 1 when a task is not built or has an error finding, else 0.
    """
    from medeval.catalog import get_task
    from medeval.checks import check_task
    from medeval.loaders import build_instruction

    included = apply_shared_options(include_path, data_dir, allow_custom_loaders)
    if not task:
        task = included  # every task of the --include-path folders
        if not task:
            typer.echo("error: name the tasks to check (`medeval check TASK ...`), or give --include-path FOLDER "
                       "to check every task in it" + (" (no task YAMLs found there)" if include_path else ""), err=True)
            raise typer.Exit(2)
    tasks = list({t.metadata.name: t for t in (get_task(name) for name in task)}.values())  # each task once
    failed = 0
    for t in tasks:
        name = t.metadata.name
        if not t.is_built():
            fix = build_instruction(t.spec)
            typer.echo(f"error: {name}: no data in {t.data_folder()}; {fix}", err=True)
            failed += 1
            continue
        findings, sizes, revision = check_task(t)
        for f in findings:
            typer.echo(f"{f.severity}: {name}: {f}", err=True)
        if any(f.severity == "error" for f in findings):
            failed += 1
        else:
            tables = ", ".join(f"{table} {n:,} rows" for table, n in sizes.items())
            typer.echo(f"ok: {name}: {tables}; data revision {revision} ({t.data_folder()})")
    if failed:
        typer.echo(f"{failed} of {len(tasks)} task(s) failed the data checks", err=True)
    raise typer.Exit(1 if failed else 0)


def cite_cmd(
    task: Annotated[Optional[list[str]], typer.Argument(help="Task names (or use --benchmark).")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help="Cite a whole benchmark.")] = None,
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
) -> None:
    """Print BibTeX, ready to paste: the tasks' sources and paper, or everything a benchmark needs.

    Args:
        task: task names whose sources and paper to cite (each entry once).
        benchmark: cite a whole benchmark instead.
        include_path: folders of the user's own task YAMLs.
        allow_custom_loaders: let those YAMLs name a loader outside medeval.

    Raises:
        MedEvalError: neither or both of task names and ``--benchmark`` were given.
    """
    from medeval.benchmarks import get_benchmark_spec
    from medeval.cite import benchmark_bibtex, task_bibtex
    from medeval.errors import MedEvalError
    from medeval.task_index import filter_tasks

    apply_shared_options(include_path, allow_custom_loaders=allow_custom_loaders)
    if bool(task) == (benchmark is not None):
        raise MedEvalError("give task names or --benchmark (one of the two), e.g. `medeval cite WikiSyndromesClassification`")
    known, find = _known_tasks(include_path, task or [])
    if benchmark is not None:
        members = filter_tasks(known.values(), benchmark)
        typer.echo(benchmark_bibtex(get_benchmark_spec(benchmark), [t.spec for t in members]))
        return
    typer.echo(task_bibtex(find(name).spec for name in task or []))
