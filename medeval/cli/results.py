"""Commands on result folders: ``validate``, ``submit`` and ``results migrate``. The work is in
:mod:`medeval.results` (:mod:`~medeval.results.validate`, :mod:`~medeval.results.submit`,
:mod:`~medeval.results.migrate`), which returns reports; these print the reports' lines and exit with their codes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medeval.cli.options import AllowCustomLoaders, DataDir, IncludePath, apply_shared_options


def validate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Result folders (a results/ root, an <org>__<name> folder or a revision folder).")],
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """Check result folders as the CI of a results pull request does; one line per problem.

    Args:
        paths: result folders: a ``results/`` root, an ``<org>__<name>`` folder or a revision folder.
        include_path: folders of the user's own task YAMLs (their results validate too).
        allow_custom_loaders: let task YAMLs name a loader outside medeval.
        data_dir: the data folder whose data revisions the results are checked against.

    Raises:
        typer.Exit: always, with the report's exit code (0 no errors, 1 errors).
    """
    from medeval.results.validate import validate

    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    report = validate(paths)
    for line in report.lines():
        typer.echo(line)
    raise typer.Exit(report.exit_code)


def submit_cmd(
    results_dir: Annotated[Path, typer.Argument(help="A run's results folder.")],
    leaderboard: Annotated[Path, typer.Option("--leaderboard", help="The leaderboard folder to copy into.")] = Path("leaderboard"),
    force: Annotated[bool, typer.Option("--force", help="Replace result files whose scores changed (reported).")] = False,
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """Validate a run's results, then copy them into leaderboard/results without overwriting silently.

    Args:
        results_dir: a run's results folder.
        leaderboard: the leaderboard folder to copy into.
        force: replace result files whose scores changed (each one is reported).
        include_path: folders of the user's own task YAMLs.
        allow_custom_loaders: let task YAMLs name a loader outside medeval.
        data_dir: the data folder whose data revisions the results are checked against.

    Raises:
        typer.Exit: always, with the report's exit code (0 copied, 1 refused and nothing written).
    """
    from medeval.results.submit import submit

    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    report = submit(results_dir, leaderboard, force=force)
    for line in report.lines():
        typer.echo(line)
    raise typer.Exit(report.exit_code)


def results_migrate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Leaderboard, results/, model or revision folders.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing.")] = False,
    include_path: IncludePath = None,
    data_dir: DataDir = None,
) -> None:
    """Record the protocol fingerprint of results written before protocols were recorded, where the result files
    and the task YAML's git history show they were computed under the task's current protocol; list the rest.

    Args:
        paths: leaderboard, ``results/``, model or revision folders.
        dry_run: report only; write nothing.
        include_path: folders of the user's own task YAMLs.
        data_dir: the data folder of built tasks.

    Raises:
        typer.Exit: always, with the report's exit code (0 every result records its protocol, 1 some were kept).
    """
    from medeval.results.migrate import migrate_results

    apply_shared_options(include_path, data_dir)
    report = migrate_results(paths, dry_run=dry_run)
    for line in report.lines():
        typer.echo(line)
    raise typer.Exit(report.exit_code)
