"""Retrieval metrics over a top-k held as arrays, scored a slice of queries at a time: mteb's numbers, bounded memory.

mteb scores a retrieval task from one ``{query_id: {doc_id: score}}`` dict holding every query's top k (k = 1,000,
the largest of mteb's ``k_values``). For the ICD-10-CM tasks that is 16 million Python floats in 16 thousand dicts
(about 1 GB), which ``pytrec_eval`` then copies into its own C++ maps (another 1.2 GB): the default run's peak.

Here the top k stays in two arrays (:class:`TopKResults`: float32 scores and int64 corpus positions, 190 MB for the
same task) and the metrics are computed by mteb's own functions on slices of queries (:func:`score_top_k`):
``pytrec_eval`` and :func:`mteb._evaluators.retrieval_metrics.mrr` per slice, then
:func:`~mteb._evaluators.retrieval_metrics.parse_metrics_from_scores` and the abstention curves
(:func:`~mteb._evaluators.retrieval_metrics.evaluate_abstention`'s parts) over all queries in mteb's order. Every
per-query value is computed by the same code on the same inputs and every mean sums the same values in the same
order, so the scores equal mteb's ``calculate_retrieval_scores`` exactly (``tests/test_retrieval_scoring.py``).

    >>> results = TopKResults(["q1", "q2"], ["d1", "d2", "d3"], scores, positions)   # [2, k] arrays
    >>> score_top_k(qrels, results, k_values=[1, 10]).ndcg["NDCG@10"]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from medeval.columns import column_values

if TYPE_CHECKING:
    from mteb.types import RetrievalEvaluationResult

#: How many (query, document) results one slice holds when scoring: about 70 MB of Python dicts plus
#: pytrec_eval's copy.
DEFAULT_RESULTS_PER_SLICE = 1_000_000


class TopKResults(Mapping):
    """Each query's top k as two arrays, readable as mteb's ``{query_id: {doc_id: score}}`` one query at a time.

    Args:
        query_ids: the query ids, in the order of the arrays' rows (n_queries).
        corpus_ids: the corpus ids, indexed by the positions in ``rows``.
        scores: float array ``[n_queries, k]``, each row best first.
        rows: int array ``[n_queries, k]``, corpus positions of ``scores``; ``-1`` marks no result (FAISS pads
            with it when the corpus is smaller than k).

    Raises:
        ValueError: the arrays' shapes disagree with each other or with ``query_ids``.

    Example:
        >>> r = TopKResults(["q1"], ["d1", "d2"], np.array([[0.9, 0.1]]), np.array([[1, 0]]))
        >>> r["q1"]
        {'d2': 0.9, 'd1': 0.1}
    """

    def __init__(self, query_ids: Sequence[str], corpus_ids: Sequence[str], scores: np.ndarray,
                 rows: np.ndarray) -> None:
        scores, rows = np.asarray(scores), np.asarray(rows)
        if scores.shape != rows.shape or scores.ndim != 2 or len(scores) != len(query_ids):
            raise ValueError(f"top-k arrays of shapes {scores.shape} and {rows.shape} for {len(query_ids)} queries")
        self.query_ids = list(query_ids)
        self.corpus_ids = corpus_ids if isinstance(corpus_ids, list) else list(column_values(corpus_ids))
        self.scores, self.rows = scores, rows
        self._position = {q: i for i, q in enumerate(self.query_ids)}
        self._id_ranks: np.ndarray | None = None

    @property
    def corpus_id_ranks(self) -> np.ndarray:
        """Each corpus position's rank when the corpus ids are sorted as strings (computed once).

        Returns:
            int64 ``[n_corpus]``: ``ranks[j] < ranks[k]`` exactly when ``corpus_ids[j] < corpus_ids[k]``; trec_eval
            breaks score ties by document id, and :func:`medeval.retrieval_metrics.trec_order` sorts by this.
        """
        if self._id_ranks is None:
            ids = self.corpus_ids
            ranks = np.empty(len(ids), dtype=np.int64)
            ranks[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids), dtype=np.int64)
            self._id_ranks = ranks
        return self._id_ranks

    def __len__(self) -> int:
        return len(self.query_ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.query_ids)

    def __getitem__(self, query_id: str) -> dict[str, float]:
        return self._row(self._position[query_id])

    def _row(self, i: int) -> dict[str, float]:
        ids = self.corpus_ids
        return {ids[j]: s for s, j in zip(self.scores[i].tolist(), self.rows[i].tolist()) if j >= 0}

    def slices(self, per_slice: int) -> Iterator[dict[str, dict[str, float]]]:
        """The results as plain dicts of at most ``per_slice`` queries each, in query order.

        Args:
            per_slice: queries per dict (at least 1).

        Returns:
            An iterator of ``{query_id: {doc_id: score}}`` dicts, best document first in each.
        """
        step = max(1, int(per_slice))
        for start in range(0, len(self.query_ids), step):
            stop = min(start + step, len(self.query_ids))
            yield {self.query_ids[i]: self._row(i) for i in range(start, stop)}

    def to_dict(self) -> dict[str, dict[str, float]]:
        """Every query's top k as one plain dict (what mteb's own search returns; all of it in memory).

        Returns:
            ``{query_id: {doc_id: score}}`` for every query, best document first in each.
        """
        return {q: self._row(i) for i, q in enumerate(self.query_ids)}


def score_top_k(qrels: Mapping[str, Mapping[str, int]], results: TopKResults, k_values: Sequence[int],
                results_per_slice: int = DEFAULT_RESULTS_PER_SLICE) -> RetrievalEvaluationResult:
    """mteb's retrieval metrics (nDCG, MAP, recall, precision, hit rate, MRR at each k, and their nAUCs).

    Equal to ``mteb._evaluators.retrieval_metrics.calculate_retrieval_scores(results.to_dict(), qrels, k_values)``
    (without ``skip_first_result``). Computed on the arrays by :func:`medeval.retrieval_metrics.score_arrays`
    (numpy, about 20x less CPU on the ICD-10-CM tasks) when the qrels are non-negative integers and every query has a
    relevant document and a result; otherwise by mteb's own functions, one slice of queries at a time, so that only
    one slice is a Python dict (and in pytrec_eval) at once.

    Args:
        qrels: relevance judgements, ``{query_id: {doc_id: relevance}}`` (mteb's ``relevant_docs``).
        results: the ranked top k per query.
        k_values: the cut-offs, e.g. mteb's ``(1, 3, 5, 10, 20, 100, 1000)``.
        results_per_slice: about how many (query, document) results one slice holds.

    Returns:
        mteb's ``RetrievalEvaluationResult`` (per-query pytrec_eval scores in ``all_scores``, the means rounded to
        5 decimals as mteb rounds them, and the nAUCs).
    """
    from medeval.retrieval_metrics import score_arrays

    fast = score_arrays(qrels, results, k_values)
    if fast is not None:  # every value equal to mteb's, in numpy (tests/test_retrieval_metrics.py)
        return fast
    import pytrec_eval
    from mteb._evaluators.retrieval_metrics import confidence_scores, mrr, nauc, parse_metrics_from_scores
    from mteb.types import RetrievalEvaluationResult

    ks = ",".join(str(k) for k in k_values)
    measures = {f"map_cut.{ks}", f"ndcg_cut.{ks}", f"recall.{ks}", f"P.{ks}", f"success.{ks}"}
    per_slice = max(1, results_per_slice // max(1, results.scores.shape[1]))
    scores: dict[str, dict[str, float]] = {}
    mrr_scores: dict[str, list[float]] = {}
    confidence: list[dict[str, float]] = []
    for part in results.slices(per_slice):
        part_qrels = {q: qrels[q] for q in part if q in qrels}
        scores.update(pytrec_eval.RelevanceEvaluator(part_qrels, measures).evaluate(part))
        for name, values in mrr(qrels, part, list(k_values)).items():
            mrr_scores.setdefault(name, []).extend(values)
        confidence.extend(confidence_scores(list(doc_scores.values())) for doc_scores in part.values())
        del part

    ndcg, _map, recall, precision, all_ndcgs, all_aps, all_recalls, all_precisions, hit_rate = (
        parse_metrics_from_scores(scores, list(k_values)))
    conf = {fct: np.array([c[fct] for c in confidence]) for fct in (confidence[0] if confidence else {})}

    def naucs_of(per_query: dict[str, list[float]]) -> dict[str, float]:
        return {f"nAUC_{name}_{fct}": nauc(conf_scores, np.array(values))
                for name, values in per_query.items() for fct, conf_scores in conf.items()}

    return RetrievalEvaluationResult(
        all_scores=scores, ndcg=ndcg, map=_map, recall=recall, precision=precision,
        naucs=naucs_of({**all_ndcgs, **all_aps, **all_recalls, **all_precisions}),
        mrr={k: sum(v) / len(v) for k, v in mrr_scores.items()}, naucs_mrr=naucs_of(mrr_scores), hit_rate=hit_rate,
    )
