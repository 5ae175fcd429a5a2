"""The ``train`` command: fine-tune MedTE or MedTE-mini from a config (:mod:`medeval.train` does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medeval.cli.options import DataDir, apply_shared_options


def train_cmd(
    config: Annotated[Path, typer.Option("--config", help="Training config YAML (e.g. configs/medte-mini.yaml).")],
    output: Annotated[Optional[Path], typer.Option("--output", help="Where the trained model goes.")] = None,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Stop after N steps.")] = None,
    source_dir: Annotated[Optional[Path], typer.Option("--source-dir", help="Local upstream records (datakit layout).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Train MedTE (or MedTE-mini) with sentence-transformers' trainer.

    Args:
        config: the training config YAML (e.g. ``configs/medte-mini.yaml``).
        output: where the trained model goes (default: the config's).
        max_steps: stop after this many optimiser steps.
        source_dir: local upstream records (the datakit layout).
        data_dir: the data folder of built tasks (for the leakage check against evaluation data).
    """
    from medeval.train import train_from_config

    apply_shared_options(None, data_dir)
    typer.echo(train_from_config(config, output=output, max_steps=max_steps, source_dir=source_dir))
