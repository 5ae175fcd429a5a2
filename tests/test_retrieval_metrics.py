"""medeval.retrieval_metrics: trec_eval's and mteb's retrieval metrics on top-k arrays, value for value.

Every per-query value must equal pytrec_eval's and every mean, MRR and nAUC mteb's ``calculate_retrieval_scores``
on the same top k as a plain dict: with tied scores (broken by document id, as trec_eval does), graded relevance,
relevant documents outside the corpus or below the top k, FAISS's -1 padding and cut-offs deeper than k.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from medeval.retrieval_metrics import per_query_values, score_arrays
from medeval.retrieval_scoring import TopKResults

K_VALUES = [1, 3, 5, 10, 20, 100]


def _instance(seed: int, n_queries: int = 60, n_docs: int = 80, k: int = 30, grid: int = 8, pad: bool = False):
    rng = np.random.default_rng(seed)
    query_ids = [f"q{i}" for i in range(n_queries)]
    corpus_ids = [f"d{j:03d}" if j % 3 else f"x{j}" for j in range(n_docs)]  # ids whose order is not the index's
    raw = np.round(rng.random((n_queries, n_docs)) * grid) / grid  # a coarse grid: many ties
    rows = np.argsort(-raw, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(raw, rows, axis=1).astype(np.float32)
    if pad:  # FAISS pads a short result list with -1 at the end
        for i in range(0, n_queries, 4):
            cut = int(rng.integers(1, k))
            rows[i, cut:] = -1
            scores[i, cut:] = -3.4e38
    qrels = {}
    for i, q in enumerate(query_ids):
        picks = rng.choice(n_docs, size=int(rng.integers(1, 5)), replace=False)
        qrels[q] = {corpus_ids[j]: int(rng.integers(0, 3)) or 1 for j in picks}
        if i % 5 == 0:
            qrels[q]["not-in-corpus"] = 1
        if i % 7 == 0:
            qrels[q][corpus_ids[int(rng.integers(n_docs))]] = 0  # judged not relevant
    return TopKResults(query_ids, corpus_ids, scores, rows), qrels


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(("seed", "pad", "grid"), [(0, False, 8), (1, True, 8), (2, False, 1000), (3, True, 3)])
def test_every_value_equals_pytrec_eval_and_mteb(seed: int, pad: bool, grid: int) -> None:
    from mteb._evaluators.retrieval_metrics import calculate_retrieval_scores

    results, qrels = _instance(seed, pad=pad, grid=grid)
    want = calculate_retrieval_scores(results.to_dict(), qrels, K_VALUES)
    got = score_arrays(qrels, results, K_VALUES)
    assert got is not None
    assert list(got.all_scores) == list(want.all_scores)
    per_query = [(q, m, want.all_scores[q][m], got.all_scores[q][m])
                 for q in want.all_scores for m in want.all_scores[q]]
    assert len(per_query) == len(results) * len(K_VALUES) * 5
    assert [x for x in per_query if x[2] != x[3]] == []
    for field in ("ndcg", "map", "recall", "precision", "hit_rate", "mrr", "naucs", "naucs_mrr"):
        w, g = getattr(want, field), getattr(got, field)
        assert set(w) == set(g), field
        assert {k: (w[k], g[k]) for k in w if not _same(float(w[k]), float(g[k]))} == {}, field


def test_the_instances_exercise_ties_misses_and_padding() -> None:
    results, qrels = _instance(1, pad=True)
    values = per_query_values(qrels, results, K_VALUES)
    assert values is not None
    assert (results.rows < 0).any()
    assert (values["recall_100"] < 1).any() and (values["recall_100"] > 0).any()  # relevant outside the top k
    assert (values["MRR@1"] == 1).any() and (values["MRR@1"] == 0).any()
    assert (np.diff(results.scores[~(results.rows < 0).any(axis=1)], axis=1) == 0).any()  # tied scores


@pytest.mark.parametrize("change", ["negative", "float", "no positive", "missing", "repeated k", "k = 0", "nan score",
                                    "document twice in a row", "repeated query id", "repeated corpus id"])
def test_inputs_it_does_not_cover_return_none(change: str) -> None:
    results, qrels = _instance(0)
    q = results.query_ids[3]
    k_values = K_VALUES
    if change == "repeated k":
        k_values = [1, 1, 10]
    elif change == "k = 0":
        k_values = [0, 10]
    elif change == "nan score":
        results.scores[5, 2] = np.nan
    elif change == "document twice in a row":
        results.rows[5, 3] = results.rows[5, 0]
    elif change == "repeated query id":
        results.query_ids[4] = results.query_ids[5]
    elif change == "repeated corpus id":
        results.corpus_ids[1] = results.corpus_ids[2]
    elif change == "negative":
        qrels[q] = {**qrels[q], results.corpus_ids[0]: -1}
    elif change == "float":
        qrels[q] = {doc: 0.5 for doc in qrels[q]}
    elif change == "no positive":
        qrels[q] = {doc: 0 for doc in qrels[q]}
    elif change == "missing":
        del qrels[q]
    assert score_arrays(qrels, results, k_values) is None


def test_numpy_cut_offs_are_taken_as_ints() -> None:
    from mteb._evaluators.retrieval_metrics import calculate_retrieval_scores

    results, qrels = _instance(4)
    got = score_arrays(qrels, results, np.array([1, 10], dtype=np.int64))
    assert got is not None
    assert got.ndcg == calculate_retrieval_scores(results.to_dict(), qrels, [1, 10]).ndcg


@pytest.mark.parametrize("seed", range(6))
def test_trec_order_equals_a_python_sort_of_each_row(seed: int) -> None:
    """Rows out of order, padding anywhere, ties (also of 0.0 and -0.0, and of infinities), numeric-looking ids:
    results first, then score descending, then document id descending, as a Python sort of (score, id) gives."""
    from medeval.retrieval_metrics import trec_order

    rng = np.random.default_rng(seed)
    n_docs, k = 50, 12
    corpus_ids = [str(j * 7 % 50) if j % 2 else f"doc-{j}" for j in range(n_docs)]
    rows = np.stack([rng.permutation(n_docs)[:k] for _ in range(40)])
    choices = np.array([0.5, 0.25, 0.0, -0.0, np.inf, -np.inf, 0.75], dtype=np.float32)
    scores = choices[rng.integers(0, len(choices), size=rows.shape)]
    rows[rng.random(rows.shape) < 0.15] = -1  # padding first, in the middle, at the end
    results = TopKResults([f"q{i}" for i in range(len(rows))], corpus_ids, scores, rows)
    got = trec_order(results)
    for i in range(len(rows)):
        pairs = sorted(((float(s), corpus_ids[j], j) for s, j in zip(scores[i], rows[i]) if j >= 0), reverse=True)
        want = [p[2] for p in pairs] + [-1] * (k - len(pairs))
        assert got[i].tolist() == want, i
