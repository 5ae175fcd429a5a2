"""Per-question accuracy@1 and MRR for the MedMCQA / MedQA option-pair tasks (medeval.option_pairs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import medeval
from medeval.option_pairs import OptionPairClassification, per_question_scores

REPO = Path(__file__).resolve().parents[1]


def test_ranks_within_each_question() -> None:
    q = ["q1"] * 4 + ["q2"] * 4 + ["q3"] * 4
    sims = [0.9, 0.2, 0.1, 0.3] + [0.5, 0.6, 0.1, 0.2] + [0.1, 0.2, 0.3, 0.4]
    y = [1, 0, 0, 0] * 3
    s = per_question_scores(q, sims, y)
    assert s["n_questions"] == 3
    assert s["accuracy_at_1"] == pytest.approx(1 / 3)  # only q1 ranks its answer first
    assert s["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 3)
    assert s["chance_accuracy_at_1"] == pytest.approx(0.25)
    assert s["chance_mrr"] == pytest.approx(25 / 48)


def test_a_constant_encoder_scores_exactly_chance() -> None:
    """Ties count in expectation: one similarity for every option gives accuracy@1 = 1/4 and MRR = 25/48."""
    q = [f"q{i // 4}" for i in range(40)]
    y = [int(i % 4 == 2) for i in range(40)]
    s = per_question_scores(q, [0.7] * 40, y)
    assert s["accuracy_at_1"] == pytest.approx(s["chance_accuracy_at_1"]) == pytest.approx(0.25)
    assert s["mrr"] == pytest.approx(s["chance_mrr"])


def test_one_correct_option_per_question_is_required() -> None:
    with pytest.raises(ValueError, match="has 2 correct options"):
        per_question_scores(["q"] * 3, [0.1, 0.2, 0.3], [1, 1, 0])
    with pytest.raises(ValueError, match="differ in length"):
        per_question_scores(["q"] * 3, [0.1, 0.2], [1, 0, 0])


class AnswerAwareEncoder:
    """Vectors chosen so that each question is closest to its correct option, but the similarity level differs
    a lot between questions: per-question ranking is perfect while one global threshold is not."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        from mteb.models import ModelMeta

        self.mteb_model_meta = ModelMeta.create_empty(overwrites={"name": "test/answers", "revision": "r1"})
        self.vectors = vectors

    def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        return np.stack([self.vectors[t] for batch in inputs for t in batch["text"]])

    def similarity(self, a: Any, b: Any) -> Any:
        return a @ b.T

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        return (a * b).sum(-1)


def test_results_carry_accuracy_and_mrr_beside_the_papers_score(tmp_path: Path) -> None:
    import mteb

    rng = np.random.default_rng(3)
    rows, vectors = [], {}
    for i in range(12):
        question = f"question {i}"
        base = rng.normal(size=16)
        vectors[question] = base / np.linalg.norm(base)
        level = 0.2 + 0.06 * i  # how similar this question's options are to it, overall
        for k in range(4):
            option = f"q{i} option {k}"
            noise = rng.normal(size=16)
            noise -= (noise @ vectors[question]) * vectors[question]
            cos = level + (0.05 if k == 1 else 0.0)
            v = cos * vectors[question] + np.sqrt(1 - cos**2) * noise / np.linalg.norm(noise)
            vectors[option] = v
            rows.append({"sentence1": question, "sentence2": option, "labels": int(k == 1)})
    spec = yaml.safe_load((REPO / "examples" / "my_tasks" / "ClinicTriage.yaml").read_text())
    spec.update(name="TinyOptionPairs", type="PairClassification", loader="medeval.option_pairs.OptionPairClassification",
                data="data/TinyOptionPairs", evaluation={"main_score": "similarity_f1"})
    folder = tmp_path / "data" / "TinyOptionPairs" / "data"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "TinyOptionPairs.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))

    task = medeval.get_task(str(path))
    assert isinstance(task, OptionPairClassification)
    res = mteb.evaluate(AnswerAwareEncoder(vectors), task, cache=None, show_progress_bar=False)
    scores = res.task_results[0].scores["test"][0]
    assert scores["main_score"] == scores["similarity_f1"]
    assert scores["n_questions"] == 12
    assert scores["accuracy_at_1"] == pytest.approx(1.0) and scores["mrr"] == pytest.approx(1.0)
    assert scores["similarity_f1"] < 0.9  # the global threshold cannot use what the ranking sees


def test_packaged_option_pair_tasks_use_the_per_question_loader() -> None:
    for name in ("MedMCQAPairClassification", "MedQAPairClassification"):
        task = medeval.get_task(name)
        assert isinstance(task, OptionPairClassification)
        assert "accuracy@1 0.25" in task.spec.description and "0.400" in task.spec.description
