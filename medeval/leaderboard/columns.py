"""The leaderboard tables' columns, shared by reading (:mod:`~medeval.leaderboard.load`) and aggregation
(:mod:`~medeval.leaderboard.aggregate`), so neither imports the other for them."""

from __future__ import annotations

from medeval.spec.task import TASK_TYPES

__all__ = ["META_COLUMNS", "SCORE_COLUMNS", "TASK_TYPES"]

#: Model metadata columns taken from model_meta.json (display name -> mteb ModelMeta field).
META_COLUMNS = {
    "Parameters": "n_parameters",
    "Embedding dim": "embed_dim",
    "Max tokens": "max_tokens",
    "Licence": "license",
    "Open weights": "open_weights",
    "Release date": "release_date",
    "Reference": "reference",
}

#: The columns of :attr:`Leaderboard.scores <medeval.leaderboard.Leaderboard.scores>`: one row per (model, task).
SCORE_COLUMNS = [
    "model", "revision", "task", "benchmark", "task_type", "source", "main_score", "score",
    "dataset_revision", "mteb_version", "date", "evaluation_time", "batch_size", "path", "protocol",
]
