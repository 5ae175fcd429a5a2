"""Commands on result folders: ``validate``, ``submit`` and ``results migrate``. The work is in
:mod:`medeval.submit` and :mod:`medeval.migrate`; these return exit codes."""

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
        typer.Exit: always, with :func:`medeval.submit.validate_cli`'s exit code.
    """
    from medeval.submit import validate_cli

    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    raise typer.Exit(validate_cli(paths))


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
        typer.Exit: always, with :func:`medeval.submit.submit_cli`'s exit code.
    """
    from medeval.submit import submit_cli

    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    raise typer.Exit(submit_cli(results_dir, leaderboard, force=force))


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
        typer.Exit: always, with :func:`medeval.migrate.migrate_cli`'s exit code.
    """
    from medeval.migrate import migrate_cli

    apply_shared_options(include_path, data_dir)
    raise typer.Exit(migrate_cli(paths, dry_run=dry_run))
