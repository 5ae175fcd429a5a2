"""Per-question scores for multiple-choice option-pair tasks (MedMCQAPairClassification, MedQAPairClassification).

These tasks pair each question with each of its options (label 1 for the correct one, 1 : 3). The paper's main
score, ``similarity_f1``, picks one similarity threshold for all pairs; the question-option similarity varies more
between questions than between one question's options, so no threshold does much better than calling every pair
positive (F1 = 2p / (1 + p) = 0.400 at p = 1/4) and the metric barely separates models. The same similarities,
ranked *within* each question, do: :func:`per_question_scores` adds accuracy@1 (the correct option ranks first;
chance 1/4) and MRR (mean reciprocal rank of the correct option; chance 25/48 ~ 0.521 with four options).

    >>> from medeval.option_pairs import per_question_scores
    >>> s = per_question_scores(["q1"] * 4 + ["q2"] * 4, [0.9, 0.2, 0.1, 0.3, 0.5, 0.6, 0.1, 0.2], [1, 0, 0, 0, 1, 0, 0, 0])
    >>> s["accuracy_at_1"], s["mrr"], s["n_questions"]
    (0.5, 0.75, 2)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from medeval.loaders import PairClassification


def _expected_reciprocal_rank(better: int, tied: int) -> float:
    """Mean of 1/rank when the correct option ties with ``tied`` others below ``better`` strictly better ones."""
    return float(np.mean([1.0 / r for r in range(better + 1, better + tied + 2)]))


def per_question_scores(questions: Sequence[str], similarities: Sequence[float], labels: Sequence[int]) -> dict[str, Any]:
    """Rank each question's options by similarity and score where the correct option lands.

    Ties are broken at random in expectation (a tie of the correct option with t others at the top counts
    1 / (t + 1) towards accuracy@1), so an encoder that gives every option the same similarity scores exactly chance.

    Args:
        questions: per pair, its question text (``sentence1``); pairs with the same text belong to one question.
        similarities: per pair, the model's question-option similarity (higher = more similar).
        labels: per pair, 1 for the correct option, 0 otherwise; each question needs exactly one 1.

    Returns:
        ``accuracy_at_1`` and ``mrr`` (means over questions), ``n_questions``, and what chance gives on these
        questions: ``chance_accuracy_at_1`` (mean of 1 / options) and ``chance_mrr``.

    Raises:
        ValueError: if the three sequences differ in length or a question has no or several correct options.
    """
    if not (len(questions) == len(similarities) == len(labels)):
        raise ValueError(f"questions, similarities and labels differ in length ({len(questions)}, {len(similarities)}, {len(labels)})")
    groups: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for q, s, y in zip(questions, similarities, labels):
        groups[q].append((float(s), int(y)))
    acc, rr, chance_acc, chance_rr = [], [], [], []
    for q, options in groups.items():
        correct = [s for s, y in options if y == 1]
        if len(correct) != 1:
            raise ValueError(f"question {q[:60]!r} has {len(correct)} correct options; exactly one is needed")
        target = correct[0]
        others = [s for s, y in options if y != 1]
        better = sum(s > target for s in others)
        tied = sum(s == target for s in others)
        acc.append(1.0 / (tied + 1) if better == 0 else 0.0)
        rr.append(_expected_reciprocal_rank(better, tied))
        chance_acc.append(1.0 / len(options))
        chance_rr.append(_expected_reciprocal_rank(0, len(options) - 1))
    return {
        "accuracy_at_1": float(np.mean(acc)),
        "mrr": float(np.mean(rr)),
        "n_questions": len(groups),
        "chance_accuracy_at_1": float(np.mean(chance_acc)),
        "chance_mrr": float(np.mean(chance_rr)),
    }


class OptionPairClassification(PairClassification):
    """Pair classification (main score ``similarity_f1``, as in the paper) plus :func:`per_question_scores` from the
    same similarities: the result's scores gain ``accuracy_at_1``, ``mrr``, ``n_questions`` and their chance levels.

    Rows are question-option pairs; ``sentence1`` is the question and identifies it.
    """

    def _evaluate_subset(self, model: Any, data_split: Any, **kwargs: Any) -> dict[str, Any]:
        self._pair_questions = list(data_split[self.input1_column_name])
        try:
            return super()._evaluate_subset(model, data_split, **kwargs)
        finally:
            del self._pair_questions

    def _compute_metrics(self, similarity_scores: Any, labels: list[int]) -> dict[str, Any]:
        scores = super()._compute_metrics(similarity_scores, labels)
        scores.update(per_question_scores(self._pair_questions, similarity_scores["similarity_scores"], labels))
        return scores
