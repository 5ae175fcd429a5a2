"""Commands that make task data: ``build`` (from upstream sources into the data folder) and ``push-data`` (a built
task to a Hub dataset repo). The work is in :mod:`medeval.cli.build_tasks` and :mod:`medeval.hub`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medeval.cli.options import AllowCustomLoaders, DataDir, IncludePath, apply_shared_options


def build_cmd(
    task: Annotated[Optional[list[str]], typer.Option("--task", "-t", help="Tasks to build: -t A B or -t A -t B.")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help="Build every task of a benchmark.")] = None,
    source_dir: Annotated[Optional[Path], typer.Option("--source-dir", help="Local copies of upstream records (datakit layout) instead of the network.")] = None,
    mimic_dir: Annotated[Optional[Path], typer.Option("--mimic-dir", help="Your credentialed MIMIC-IV folder (note/ and hosp/).")] = None,
    llm_base_url: Annotated[Optional[str], typer.Option("--llm-base-url", help="OpenAI-compatible endpoint for the LLM tasks.")] = None,
    llm_model: Annotated[Optional[str], typer.Option("--llm-model", help="Model name at that endpoint.")] = None,
    from_manifest: Annotated[Optional[Path], typer.Option("--from-manifest", help="Rebuild exactly the records of a build manifest and verify its hash.")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never use the network.")] = False,
    data_dir: DataDir = None,
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
) -> None:
    """Build task data from upstream sources into the data folder (parquet + manifest + stats).

    Args:
        task: the tasks to build (names, paper ids or YAML paths).
        benchmark: build every task of this benchmark.
        source_dir: local copies of upstream records (the datakit layout) instead of the network.
        mimic_dir: the user's credentialed MIMIC-IV folder, for the MIMIC tasks.
        llm_base_url: an OpenAI-compatible endpoint, for the tasks whose text an LLM writes.
        llm_model: the model name at that endpoint.
        from_manifest: rebuild exactly the records a build manifest lists and verify its content hash.
        offline: never use the network.
        data_dir: where the built data goes.
        include_path: folders of the user's own task YAMLs.
        allow_custom_loaders: let task YAMLs name a loader outside medeval.

    Raises:
        typer.Exit: always, with :func:`medeval.cli.build_tasks.run_build`'s exit code (0 all built, 1 some failed).
    """
    from medeval.cli.build_tasks import run_build

    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    code = run_build(
        tasks=task, benchmark=benchmark, source_dir=source_dir, mimic_dir=mimic_dir, llm_base_url=llm_base_url,
        llm_model=llm_model, from_manifest=from_manifest, offline=offline,
    )
    raise typer.Exit(code)


def push_data_cmd(
    task: Annotated[str, typer.Argument(help="A built task.")],
    repo: Annotated[str, typer.Option("--repo", help="Hub dataset repo ORG/NAME.")],
    private: Annotated[bool, typer.Option("--private")] = False,
    data_dir: DataDir = None,
) -> None:
    """Publish a built task to a Hub dataset repo, so its YAML can name it and users skip the build.

    Args:
        task: a task built in the data folder.
        repo: the Hub dataset repo ``ORG/NAME`` to upload to.
        private: create the repo private.
        data_dir: the data folder the task was built in.

    Raises:
        TaskNotFoundError: unknown task.
    """
    from medeval.catalog import get_spec
    from medeval.hub import push_task_data

    apply_shared_options(None, data_dir)
    typer.echo(push_task_data(get_spec(task), repo, private=private))
