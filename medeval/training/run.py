"""One training run: pairs -> leakage filter -> sentence-transformers' trainer -> model + reports.

The recipe maps onto sentence-transformers 6 as follows (``configs/medte.yaml`` is the paper's MedTE recipe):

* model: ``Transformer(base_model, max_seq_length)`` + ``Pooling(mean)`` + ``Normalize`` (L2);
* loss: :class:`~sentence_transformers.sentence_transformer.losses.CachedMultipleNegativesRankingLoss` with
  ``scale = 1 / temperature`` (InfoNCE, in-batch negatives, anchor -> positive only) and ``mini_batch_size`` for
  the gradient cache, so a batch of 800 pairs fits one GPU;
* one source per batch: the train set is a ``DatasetDict`` with one dataset per source, and the trainer's
  multi-dataset batch sampler (``PROPORTIONAL`` or ``ROUND_ROBIN``) draws every batch from a single dataset;
  within a source, ``NO_DUPLICATES`` keeps a text from appearing twice in a batch (a repeat is a false negative);
* optimiser and schedule: AdamW, ``constant_with_warmup``, weight decay, bf16 - all ``TrainingArguments``;
* several GPUs: the trainer's own DDP (``torchrun --nproc_per_node N -m medeval.cli train --config ...``); each
  process draws its own single-source batches of ``batch_size`` pairs.

The model, the loss and the trainer are set up in :mod:`medeval.training.trainer`. The output folder holds::

    model/                   the trained sentence-transformers model (``medeval run -m OUTPUT/model``)
    checkpoints/             trainer checkpoints (``training.save_steps``); a rerun resumes from the last one
    leakage_report.json      what the leakage filter removed: per source, per task, counts and pair ids (no text)
    training_summary.json    config, versions, pair counts, steps, time, loss curve, model revision (no text)

Nothing here writes outside the output folder except the data folder's built tasks (``leakage.build_missing``).
The trainer's automatic model card is switched off: it would copy training examples (possibly MIMIC text) into
README.md files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.errors import MedEvalError, ModelLoadError
from medeval.fsutil import atomic_write_json, set_tree_modes, staged_dir
from medeval.training.config import TrainConfig, TrainingConfigError
from medeval.training.pair_sources import build_pairs
from medeval.training.pairs import Pair, PairSet
from medeval.training.trainer import (
    PROBE_BATCH,
    PROBE_PAIRS,
    build_model,
    make_trainer,
    probe_loss,
    train_datasets,
    training_arguments,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------------- helpers
def _write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically with the umask's file mode (see :mod:`medeval.fsutil`)."""
    atomic_write_json(path, obj, sort_keys=True, ensure_ascii=False)


def config_fingerprint(cfg: TrainConfig) -> str:
    """A short hash of everything in the config that changes the trained weights (not output paths).

    ``output_dir``, ``data.source_dir`` and ``data.mimic_dir`` are left out: the same recipe read from another
    folder is the same run (a rerun into the same output resumes its checkpoints).

    Args:
        cfg: a validated training config.

    Returns:
        12 hex digits of the sha256 of the config's JSON dump.
    """
    dump = cfg.model_dump(mode="json", exclude={"output_dir"})
    dump["data"].pop("source_dir", None)
    dump["data"].pop("mimic_dir", None)
    return hashlib.sha256(json.dumps(dump, sort_keys=True).encode()).hexdigest()[:12]


def _save_model_atomically(model: SentenceTransformer, dest: Path) -> None:
    with staged_dir(dest) as tmp:
        model.save(str(tmp), create_model_card=False)
        set_tree_modes(tmp)  # folders 0755 / files 0644 under umask 022, like everything medeval writes


def weights_revision(model_dir: Path) -> str:
    """A short id of the trained weights: sha256 of the weight files, 10 hex digits.

    Args:
        model_dir: a saved model folder; its ``*.safetensors`` and ``*.bin`` files are hashed with their relative
            paths, in sorted order.

    Returns:
        10 hex digits (the revision the trained model is recorded under).
    """
    h = hashlib.sha256()
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p.suffix in (".safetensors", ".bin"))
    for p in files:
        h.update(p.relative_to(model_dir).as_posix().encode())
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:10]


def _versions() -> dict[str, str]:
    from medeval.versions import package_versions

    out: dict[str, str] = {"python": platform.python_version()}
    names = ("medeval", "sentence-transformers", "transformers", "torch", "accelerate", "datasets")
    out.update({k: str(v) for k, v in package_versions(names, missing="not installed").items()})
    return out


def _last_checkpoint(checkpoints: Path) -> Path | None:
    found = [p for p in checkpoints.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


# --------------------------------------------------------------------------------------------------------- run
@dataclass
class TrainResult:
    """What :func:`run_training` returns.

    Attributes:
        output: the output folder.
        model_dir: the trained model (``<output>/model``).
        revision: :func:`weights_revision` of the trained model ("" in a DDP process other than the first).
        summary: the training summary also written to ``training_summary.json`` (empty outside the first process).
    """
    output: Path
    model_dir: Path
    revision: str
    summary: dict[str, Any]


def prepare_pairs(cfg: TrainConfig, *, source_dir: Path | None, show_progress: bool) -> tuple[PairSet, dict[str, list[Pair]], dict[str, Any]]:
    """Build the pairs, then filter them (or not) against the benchmark tasks.

    Args:
        cfg: the config (``data:`` and ``leakage:`` blocks).
        source_dir: upstream records in the datakit layout; None: ``data.source_dir``, else the network.
        show_progress: show progress bars while sources are read.

    Returns:
        ``(built, kept, report)``: every source's pairs as built, the pairs left per source after the leakage filter
        (sources left empty dropped), and the leakage report (:func:`~medeval.training.leakage.filter_pairs`).

    Raises:
        MedEvalError: every source was skipped, or the filter removed every pair.
        SourceError: a source's records are absent (see :func:`~medeval.training.pair_sources.build_pairs`).
    """
    from medeval.training.leakage import TaskTextIndex, disabled_report, filter_pairs

    built = build_pairs(cfg.data, source_dir=source_dir, show_progress=show_progress)
    if not built.pairs:
        raise MedEvalError(
            "no training pairs: every source was skipped (" + "; ".join(f"{k}: {v}" for k, v in built.skipped.items()) + ")"
        )
    if cfg.leakage.enabled:
        index = TaskTextIndex.from_tasks(cfg.leakage.benchmarks, cfg.leakage.tasks, build_missing=cfg.leakage.build_missing)
        kept, report = filter_pairs(built.pairs, index)
    else:
        kept, report = dict(built.pairs), disabled_report(built.pairs)
    kept = {s: p for s, p in kept.items() if p}
    if not kept:
        raise MedEvalError("no training pairs left after the leakage filter; see leakage_report.json in the output folder")
    return built, kept, report


def run_training(
    cfg: TrainConfig,
    *,
    output: Path,
    max_steps: int | None = None,
    source_dir: Path | None = None,
    show_progress: bool = True,
    config_path: str | None = None,
) -> TrainResult:
    """Train per the config into ``output`` (see the module docstring for what it holds).

    Runs in one process or in each of torchrun's DDP processes; only the first writes reports and the model. A rerun
    into the same output resumes from the last checkpoint when the config fingerprint matches.

    Args:
        cfg: the validated config.
        output: the output folder (created).
        max_steps: optimiser steps; None: ``training.max_steps``.
        source_dir: upstream records in the datakit layout (overrides ``data.source_dir``).
        show_progress: progress bars for reading sources and training.
        config_path: the config file's path, recorded in the summary and named in errors.

    Returns:
        A :class:`TrainResult` (model folder, weights revision, summary).

    Raises:
        TrainingConfigError: ``max_steps`` < 1, or ``output`` holds checkpoints of a run with another config.
        ModelLoadError: the base model cannot be loaded.
        MedEvalError: no training pairs (see :func:`prepare_pairs`).
    """
    from accelerate import PartialState

    state = PartialState()  # one process, or one of torchrun's DDP processes
    output = Path(output)
    steps = max_steps or cfg.training.max_steps
    if steps < 1:
        raise TrainingConfigError(f"--max-steps {steps}: must be at least 1")
    fingerprint = config_fingerprint(cfg)
    stamp = output / ".medeval-train.json"
    checkpoints = output / "checkpoints"
    if stamp.is_file():
        previous = json.loads(stamp.read_text(encoding="utf-8")).get("config_fingerprint")
        if previous != fingerprint and _last_checkpoint(checkpoints) is not None:
            raise TrainingConfigError(
                f"{output}: holds checkpoints of a run with another config ({previous}); choose another --output or delete {checkpoints}"
            )
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        _write_json(stamp, {"config_fingerprint": fingerprint, "config": config_path})

    t0 = time.perf_counter()
    with state.main_process_first():  # the main process builds missing tasks first; the others then read them
        built, kept, report = prepare_pairs(cfg, source_dir=source_dir, show_progress=show_progress and state.is_main_process)
    if state.is_main_process:
        _write_json(output / "leakage_report.json", report)
    t_data = time.perf_counter() - t0

    device = "cpu" if cfg.training.device == "cpu" else None
    try:
        model, origin = build_model(cfg, device=device)
    except ModelLoadError as err:
        raise ModelLoadError(f"{config_path or 'config'}: {err}") from None
    loss_before = probe_loss(model, kept, cfg.loss.scale) if state.is_main_process else None
    args = training_arguments(cfg, checkpoints, steps, show_progress=show_progress)
    trainer = make_trainer(cfg, model, train_datasets(kept), args)
    resume = _last_checkpoint(checkpoints)
    t1 = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    t_train = time.perf_counter() - t1

    model_dir = output / "model"
    summary: dict[str, Any] = {}
    revision = ""
    if trainer.is_world_process_zero():
        _save_model_atomically(model, model_dir)
        revision = weights_revision(model_dir)
        loss_after = probe_loss(model, kept, cfg.loss.scale)
        losses = [{"step": e["step"], "loss": e["loss"], "learning_rate": e.get("learning_rate")} for e in trainer.state.log_history if "loss" in e]
        summary = {
            "name": cfg.name,
            "revision": revision,
            "config": cfg.model_dump(mode="json"),
            "config_file": config_path,
            "config_fingerprint": fingerprint,
            "base_model": origin,
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else None,
            "steps": int(trainer.state.global_step),
            "max_steps": steps,
            "resumed_from": resume.name if resume else None,
            "world_size": int(state.num_processes),
            "device": str(model.device),
            "seconds": {"data": round(t_data, 1), "train": round(t_train, 1)},
            "pairs": {
                "per_source_built": {s: len(p) for s, p in built.pairs.items()},
                "per_source_trained": {s: len(p) for s, p in kept.items()},
                "removed_by_leakage_filter": report["removed_total"],
                "skipped_sources": built.skipped,
                "source_info": built.info,
            },
            "leakage": {
                "enabled": cfg.leakage.enabled,
                "checked_tasks": len(report["checked_tasks"]),
                "not_checked": sorted(report["not_checked"]),
            },
            "probe_loss": {"pairs_per_source": PROBE_PAIRS, "batch": PROBE_BATCH, "before": loss_before, "after": loss_after},
            "loss_curve": losses,
            "versions": _versions(),
        }
        _write_json(output / "training_summary.json", summary)
    return TrainResult(output=output, model_dir=model_dir, revision=revision, summary=summary)
