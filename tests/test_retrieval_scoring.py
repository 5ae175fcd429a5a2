"""medeval.retrieval_scoring: mteb's retrieval metrics over top-k arrays, a slice of queries at a time.

The scores must equal mteb's own ``calculate_retrieval_scores`` on the same top k as a plain dict, whatever the slice
size, with tied scores, graded relevance, queries whose positives are not retrieved and FAISS's -1 padding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from medeval.retrieval_scoring import TopKResults, score_top_k

K_VALUES = [1, 3, 5, 10, 20]


def _instance(seed: int, n_queries: int = 37, n_docs: int = 60, k: int = 20):
    rng = np.random.default_rng(seed)
    query_ids = [f"q{i}" for i in range(n_queries)]
    corpus_ids = [f"d{j}" for j in range(n_docs)]
    # scores on a coarse grid, so that many tie
    raw = np.round(rng.random((n_queries, n_docs)) * 8) / 8
    rows = np.argsort(-raw, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(raw, rows, axis=1).astype(np.float32)
    qrels = {}
    for i, q in enumerate(query_ids):
        picks = rng.choice(n_docs, size=int(rng.integers(1, 4)), replace=False)
        qrels[q] = {corpus_ids[j]: int(rng.integers(1, 3)) for j in picks}
    return TopKResults(query_ids, corpus_ids, scores, rows), qrels


def _flatten(result) -> dict[str, float]:
    out = {}
    for field in ("ndcg", "map", "recall", "precision", "naucs", "mrr", "naucs_mrr", "hit_rate"):
        for key, value in getattr(result, field).items():
            out[f"{field}/{key}"] = float(value)
    return out


@pytest.mark.parametrize("arrays", [True, False], ids=["numpy", "mteb-sliced"])
@pytest.mark.parametrize("per_slice", [1, 7 * 20, 1_000_000])
@pytest.mark.parametrize("seed", [0, 1])
def test_sliced_scores_equal_mteb_on_the_whole_dict(seed: int, per_slice: int, arrays: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mteb._evaluators.retrieval_metrics import calculate_retrieval_scores

    if not arrays:  # the fallback: mteb's own functions, a slice of queries at a time
        monkeypatch.setattr("medeval.retrieval_metrics.score_arrays", lambda *args: None)
    results, qrels = _instance(seed)
    expected = calculate_retrieval_scores(results.to_dict(), qrels, K_VALUES)
    got = score_top_k(qrels, results, K_VALUES, results_per_slice=per_slice)
    want, have = _flatten(expected), _flatten(got)
    assert set(want) == set(have) and len(want) > 100
    mismatched = {k: (want[k], have[k]) for k in want
                  if not (math.isnan(want[k]) and math.isnan(have[k])) and want[k] != have[k]}
    assert not mismatched
    assert list(got.all_scores) == list(expected.all_scores)
    assert got.all_scores == expected.all_scores


def test_padding_rows_are_not_results() -> None:
    results = TopKResults(["q1"], ["d1", "d2"], np.array([[0.9, -1e30, -1e30]]), np.array([[1, -1, -1]]))
    assert results["q1"] == {"d2": pytest.approx(0.9)}
    assert list(results) == ["q1"] and len(results) == 1


def test_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="shapes"):
        TopKResults(["q1", "q2"], ["d1"], np.zeros((1, 1)), np.zeros((1, 1), dtype=int))


def test_slices_cover_every_query_once_in_order() -> None:
    results, _ = _instance(3, n_queries=10)
    seen = [q for part in results.slices(3) for q in part]
    assert seen == results.query_ids
    assert [len(p) for p in results.slices(3)] == [3, 3, 3, 1]
