"""Synthetic result folders in mteb's own format, to preview the site and to test and time it.

The files are written by mteb itself (``TaskResult.from_task_results(...).to_disk``, ``ModelMeta.to_dict``), in the
layout ``medeval run`` produces, so the leaderboard reads them exactly as it reads real runs. The scores are random
(seeded) and the models invented: never publish them.

    >>> from medeval.site.demo import write_demo_results
    >>> write_demo_results("/tmp/demo-board", n_models=20)          # then: medeval site build --results /tmp/demo-board
"""

from __future__ import annotations

import datetime
import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medeval.results.layout import MODEL_META, RESULTS, RUN_SETTINGS, model_folder_name


@functools.cache
def _template(task: str) -> str:
    """mteb's own serialisation of a result for ``task`` (scores filled in by :func:`write_result`), as JSON."""
    from mteb import TaskResult

    from medeval.catalog import get_task_class

    cls = get_task_class(task)
    main = cls.metadata.main_score
    scores = {split: {"default": {"main_score": 0.0, main: 0.0}} for split in cls.metadata.eval_splits}
    return TaskResult.from_task_results(cls, scores, evaluation_time=0.0).model_dump_json()


def write_result(
    folder: str | Path,
    task: str,
    score: float,
    *,
    evaluation_time: float = 1.0,
    date: datetime.datetime | None = None,
) -> Path:
    """Write one mteb result file ``folder/<task>.json`` whose main score on the task's eval splits is ``score``.

    The JSON is what ``TaskResult.to_disk`` writes (mteb builds the object once per task; only the numbers change).

    Args:
        folder: the revision folder to write into (created).
        task: a registered task's name.
        score: the main score (every metric of every eval split gets it), in [0, 1].
        evaluation_time: seconds recorded.
        date: the run's date recorded (None: no date).

    Returns:
        The file written.
    """
    data = json.loads(_template(task))
    for entries in data["scores"].values():
        for entry in entries:
            for key in list(entry):
                if key not in ("hf_subset", "languages", "mteb_version"):
                    entry[key] = round(score, 6) if isinstance(score, float) and math.isfinite(score) else score
    data["evaluation_time"] = evaluation_time
    data["date"] = date.timestamp() if date else None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{task}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def write_model_meta(folder: str | Path, name: str, revision: str = "demo", **fields: Any) -> Path:
    """Write ``folder/model_meta.json`` the way mteb's ResultCache does (``ModelMeta.to_dict()``).

    Args:
        folder: the revision folder (created).
        name: the model's name, ``org/name``.
        revision: the model's revision.
        **fields: other ``ModelMeta`` fields (``n_parameters``, ``license``, ...); the rest are None.

    Returns:
        The file written.
    """
    from mteb.models import ModelMeta

    defaults: dict[str, Any] = {
        "release_date": None, "languages": ["eng-Latn"], "n_parameters": None, "memory_usage_mb": None, "max_tokens": None,
        "embed_dim": None, "license": None, "open_weights": None, "public_training_code": None, "public_training_data": None,
        "framework": ["Sentence Transformers"], "similarity_fn_name": "cosine", "use_instructions": False,
        "training_datasets": None, "loader": None, "reference": None,
    }
    meta = ModelMeta(name=name, revision=revision, **{**defaults, **fields})
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_META
    path.write_text(json.dumps(meta.to_dict(), default=str, indent=4), encoding="utf-8")
    return path


def write_run_settings(folder: str | Path, tasks: Sequence[str], batch_size: int) -> Path:
    """Write ``run_settings.jsonl`` as mteb's ResultCache does (one line per task: encode kwargs, versions).

    Args:
        folder: the revision folder (it must exist).
        tasks: the task names, one line each.
        batch_size: the batch size recorded.

    Returns:
        The file written.
    """
    import mteb

    path = Path(folder) / RUN_SETTINGS
    with path.open("w", encoding="utf-8") as f:
        for t in tasks:
            entry = {"task": t, "splits": ["test"], "version": {"mteb": mteb.__version__},
                     "encode_kwargs": {"batch_size": batch_size}, "subsets": ["default"]}
            f.write(json.dumps(entry) + "\n")
    return path


def write_demo_results(
    out_dir: str | Path,
    *,
    n_models: int = 20,
    tasks: Sequence[str] | None = None,
    coverage: float = 0.9,
    seed: int = 0,
) -> Path:
    """Write ``out_dir/results/demo__model-NNN/demo/`` folders: ``n_models`` invented models x ``tasks``.

    Each model has a random skill, each task a random difficulty; a model ran each task with probability
    ``coverage`` (the first five models ran everything).

    Args:
        out_dir: the leaderboard folder to fill (``results/`` inside it).
        n_models: how many invented models.
        tasks: the task names (default: every registered task).
        coverage: the probability that a model ran a task.
        seed: the random seed (the same seed writes the same scores).

    Returns:
        ``out_dir``, as a Path.
    """
    from medeval.catalog import task_classes

    names = list(tasks) if tasks is not None else sorted(task_classes())
    rng = np.random.default_rng(seed)
    difficulty = {t: rng.uniform(0.2, 0.8) for t in names}
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    root = Path(out_dir) / RESULTS
    for i in range(n_models):
        name = f"demo/model-{i:03d}"
        folder = root / model_folder_name(name) / "demo"
        skill = rng.normal(0, 0.06)
        params = float(10 ** rng.uniform(7, 9.7))
        write_model_meta(
            folder, name, "demo", n_parameters=int(params), embed_dim=int(rng.choice([384, 768, 1024, 4096])),
            max_tokens=int(rng.choice([256, 512, 8192])), license=str(rng.choice(["mit", "apache-2.0", "cc-by-4.0"])),
            open_weights=bool(rng.random() < 0.8), release_date=f"202{rng.integers(0, 6)}-0{rng.integers(1, 10)}-15",
            reference=f"https://example.org/demo/model-{i:03d}",
        )
        done = [t for t in names if i < 5 or rng.random() < coverage]
        for t in done:
            score = float(np.clip(difficulty[t] + skill + rng.normal(0, 0.03), 0, 1))
            write_result(folder, t, score, evaluation_time=float(rng.uniform(1, 100)), date=when)
        write_run_settings(folder, done, batch_size=int(rng.choice([16, 32, 64])))
    return Path(out_dir)
