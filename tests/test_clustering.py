"""The clustering protocol (medeval.clustering): every row embedded and clustered exactly once, per k-means seed.

A tiny user clustering task (23 rows, 3 labels) is scored end to end through mteb with a fake encoder that records
what it is asked to embed; no model is loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import medeval
from medeval.clustering import cluster_every_row
from medeval.errors import SpecError
from medeval.spec import load_spec

REPO = Path(__file__).resolve().parents[1]


def _vector(text: str, label: str) -> np.ndarray:
    """Close to the label's corner, plus a little per-text noise: clusters are findable but not trivial."""
    centre = {"cardiac": [1.0, 0, 0], "respiratory": [0, 1.0, 0], "gastro": [0, 0, 1.0]}[label]
    noise = np.frombuffer(hashlib.sha256(text.encode()).digest()[:12], dtype=np.uint32) / 2**32
    return np.asarray(centre, dtype=np.float32) + 0.9 * noise.astype(np.float32)


class RecordingEncoder:
    """An mteb encoder whose vectors come from a text -> label table; records every text it embeds."""

    def __init__(self, label_of: dict[str, str]) -> None:
        from mteb.models import ModelMeta

        self.mteb_model_meta = ModelMeta.create_empty(overwrites={"name": "test/recording", "revision": "r1"})
        self.label_of = label_of
        self.seen: list[str] = []

    def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        texts = [t for batch in inputs for t in batch["text"]]
        self.seen.extend(texts)
        return np.stack([_vector(t, self.label_of[t]) for t in texts])

    def similarity(self, a: Any, b: Any) -> Any:
        return a @ b.T

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        return (a * b).sum(-1)


def _user_clustering_task(tmp_path: Path, rows: list[dict[str, str]], seeds: int) -> Path:
    spec = yaml.safe_load((REPO / "examples" / "my_tasks" / "ClinicTriage.yaml").read_text())
    spec.update(name="TinyClinicClustering", type="Clustering", loader="medeval.loaders.Clustering",
                data="data/TinyClinicClustering",
                evaluation={"main_score": "v_measure", "clustering": {"kmeans_seeds": seeds}})
    folder = tmp_path / "data" / "TinyClinicClustering" / "data"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(json.dumps({"sentences": r["text"], "labels": r["label"]}) + "\n" for r in rows))
    path = tmp_path / "TinyClinicClustering.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_every_row_is_embedded_and_clustered_exactly_once(tmp_path: Path) -> None:
    import mteb

    labels = ["cardiac"] * 11 + ["respiratory"] * 7 + ["gastro"] * 5  # 23 rows, far below any old sample size
    rows = [{"text": f"{lab} note {i}", "label": lab} for i, lab in enumerate(labels)]
    task = medeval.get_task(str(_user_clustering_task(tmp_path, rows, seeds=4)))
    encoder = RecordingEncoder({r["text"]: r["label"] for r in rows})
    res = mteb.evaluate(encoder, task, cache=None, show_progress_bar=False)
    scores = res.task_results[0].scores["test"][0]

    assert Counter(encoder.seen) == Counter(r["text"] for r in rows)  # each row embedded once, none left out
    assert scores["n_rows"] == 23 and scores["n_clusters"] == 3
    assert scores["kmeans_seeds"] == [42, 43, 44, 45]
    runs = scores["v_measures"]["Level 0"]
    assert len(runs) == 4
    assert scores["v_measure"] == pytest.approx(np.mean(runs), abs=1e-6)
    assert scores["v_measure_std"] == pytest.approx(np.std(runs), abs=1e-6)
    assert scores["main_score"] == scores["v_measure"]


def test_scores_are_over_the_rows_given_not_a_draw() -> None:
    """With every row once, the V-measure equals sklearn's on a clustering of exactly these rows."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import v_measure_score

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 1.0, size=(30, 4)) for c in (0.0, 1.5, 3.0)]).astype(np.float32)
    y = ["a"] * 30 + ["b"] * 30 + ["c"] * 30
    out = cluster_every_row(x, y, seeds=[7, 8, 9])
    expected = [v_measure_score(y, MiniBatchKMeans(3, batch_size=500, n_init=1, random_state=s).fit_predict(x)) for s in (7, 8, 9)]
    assert out["v_measures"]["Level 0"] == pytest.approx(expected)
    assert out["n_rows"] == 90
    assert out == cluster_every_row(x, y, seeds=[7, 8, 9])  # same embeddings and seeds: same scores


def test_bad_inputs_say_what_is_wrong() -> None:
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="n_rows = 3"):
        cluster_every_row(x, ["a", "b", "a"], seeds=[1])
    with pytest.raises(ValueError, match="at least 2 labels"):
        cluster_every_row(x, ["a"] * 4, seeds=[1])
    with pytest.raises(ValueError, match="at least one k-means seed"):
        cluster_every_row(x, ["a", "b"] * 2, seeds=[])


def test_old_sampling_keys_are_refused_with_the_fix(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "tasks" / "WikiSyndromesClustering.yaml").read_text())
    data["evaluation"]["clustering"] = {"embed_fraction": None, "n_experiments": 10, "sample_size": 8192}
    path = tmp_path / "WikiSyndromesClustering.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"evaluation.clustering.*sample_size.*every row is now clustered exactly once"):
        load_spec(path)


def test_packaged_clustering_tasks_use_the_every_row_protocol() -> None:
    from medeval.clustering import AbsTaskEveryRowClustering

    tasks = medeval.get_tasks(types=["Clustering"])
    assert tasks
    for t in tasks:
        assert isinstance(t, AbsTaskEveryRowClustering), t.metadata.name
        assert t.kmeans_seeds == t.spec.evaluation.clustering.kmeans_seeds
