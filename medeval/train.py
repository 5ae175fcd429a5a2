"""``medeval train``: train MedTE (or MedTE-mini) from a config; the work is done in :mod:`medeval.training`.

    $ medeval train --config configs/medte-mini.yaml                       # CPU, ~15 minutes, offline
    $ medeval train --config configs/medte.yaml --source-dir DIR           # the paper's recipe, one GPU
    $ torchrun --nproc_per_node 4 -m medeval.cli train --config configs/medte.yaml   # several GPUs (DDP)

    >>> from medeval.train import train_from_config
    >>> print(train_from_config("configs/medte-mini.yaml", max_steps=5))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from pathlib import Path

from medeval.training.config import load_config


def default_output(name: str) -> Path:
    """``runs/<model name>``: where a run goes when neither ``--output`` nor ``output_dir`` says.

    Args:
        name: the config's ``ORG/NAME``.

    Returns:
        ``runs/<NAME>``, relative to the working directory.

    Example:
        >>> default_output("medeval/MedTE-mini").as_posix()
        'runs/MedTE-mini'
    """
    return Path("runs") / name.split("/")[-1]


def train_from_config(
    config: str | Path,
    *,
    output: str | Path | None = None,
    max_steps: int | None = None,
    source_dir: str | Path | None = None,
    show_progress: bool = True,
) -> str:
    """Train per ``config`` and return a short summary (where the model is, steps, time, pairs, what to run next).

    Args:
        config: the training config YAML, e.g. ``configs/medte-mini.yaml``.
        output: the output folder; overrides the config's ``output_dir`` (default :func:`default_output`).
        max_steps: overrides ``training.max_steps`` (e.g. a smoke run).
        source_dir: upstream records in the datakit layout; overrides ``data.source_dir``.
        show_progress: progress bars while reading sources and training.

    Returns:
        The summary, one line per fact, ending with the ``medeval run`` command that scores the model; ``""`` in a
        DDP process other than the first.

    Raises:
        TrainingConfigError: the config is missing or invalid, or the output holds another config's checkpoints.
        ModelLoadError: the base model cannot be loaded.
        MedEvalError: no training pairs (every source skipped, or all removed by the leakage filter).
    """
    from medeval.training.run import run_training

    logging.getLogger("medeval").setLevel(logging.INFO)
    cfg = load_config(config)
    out = Path(output) if output is not None else (cfg.output_dir or default_output(cfg.name))
    result = run_training(
        cfg,
        output=out,
        max_steps=max_steps,
        source_dir=Path(source_dir) if source_dir is not None else None,
        show_progress=show_progress,
        config_path=str(config),
    )
    s = result.summary
    if not s:  # a DDP process other than the main one
        return ""
    pairs = s["pairs"]
    lines = [
        f"{s['name']} trained: {s['steps']} steps in {s['seconds']['train']:.0f} s on {s['device']} "
        f"(data {s['seconds']['data']:.0f} s); model in {result.model_dir} (revision {result.revision})",
        "pairs trained on: " + ", ".join(f"{k} {v}" for k, v in sorted(pairs["per_source_trained"].items())),
        f"leakage filter: removed {pairs['removed_by_leakage_filter']} pairs; checked {s['leakage']['checked_tasks']} tasks, "
        f"{len(s['leakage']['not_checked'])} not built here (listed in {result.output / 'leakage_report.json'})"
        if s["leakage"]["enabled"] else "leakage filter: DISABLED (leakage.enabled: false)",
    ]
    if pairs["skipped_sources"]:
        lines.append("skipped sources: " + "; ".join(f"{k} ({v})" for k, v in sorted(pairs["skipped_sources"].items())))
    pl = s["probe_loss"]
    lines.append(f"probe loss (InfoNCE, fixed pairs): {pl['before']} -> {pl['after']}")
    lines.append(f"score it: medeval run -m {result.model_dir} --model-name {s['name']} --model-revision {result.revision} -o leaderboard")
    return "\n".join(lines)
