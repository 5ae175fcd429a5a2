"""trec_eval's retrieval metrics on top-k arrays, all queries at once: mteb's numbers without its per-query Python.

mteb scores retrieval with ``pytrec_eval`` (trec_eval's ``map_cut``, ``ndcg_cut``, ``recall``, ``P`` and ``success``
at each k), its own MRR@k, and the nAUC abstention curves (arXiv 2402.12997) over per-query values. For a task with
16k queries and k = 1,000 that is 16 million ``(query, document)`` entries walked in Python dicts, three sorts per
query and a copy into pytrec_eval's C++ maps: about 45 s of CPU per ICD-10-CM task, most of a warm run.

:func:`score_arrays` computes the same per-query values with numpy on the :class:`~medeval.retrieval_scoring.TopKResults`
arrays, following trec_eval's definitions term by term so that each value is the same double:

* documents are ranked by score, ties by document id descending (trec_eval's ``form_res_rels``; mteb's MRR sorts the
  same way);
* relevant means a relevance of at least 1 (trec_eval's ``relevance_level``); nDCG's gain is the relevance itself;
* nDCG@k divides each gain by ``log2(rank + 1)`` (the trec_eval that pytrec_eval bundles), with the ideal ranking
  built from the qrels' relevance levels;
* MAP@k sums precision at each relevant rank up to k and divides by all relevant documents in the qrels;
* sums run left to right (``numpy.cumsum``), as trec_eval's loops do; means are Python's ``sum`` in query order
  divided by the number of queries, rounded to 5 decimals, as mteb's ``parse_metrics_from_scores`` does.

The confidence scores (max, std, diff1) and the nAUCs are mteb's own functions on the same inputs. Inputs outside
what this was checked on return ``None``, and the caller scores with mteb's code instead: relevance that is negative
or not an integer, a query with no judged relevant document or no retrieved document, a NaN score, a document twice
in one row, repeated query or corpus ids, and cut-offs that are repeated or not positive.
``tests/test_retrieval_metrics.py`` compares every value with pytrec_eval and mteb on random instances with ties,
graded relevance and padding.

    >>> result = score_arrays(qrels, top_k, k_values=[1, 3, 5, 10, 20, 100, 1000])
    >>> result.ndcg["NDCG@10"] if result is not None else "use mteb's path"
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mteb.types import RetrievalEvaluationResult

    from medeval.retrieval_scoring import TopKResults

#: pytrec_eval's per-query measure names, in the order mteb reads them, and mteb's names for their means.
MEASURES = (("ndcg_cut", "NDCG"), ("map_cut", "MAP"), ("recall", "Recall"), ("P", "P"), ("success", "HitRate"))


def trec_order(results: TopKResults, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Retrieved documents in trec_eval's order: score descending, ties by document id descending.

    Args:
        results: the top k per query (rows best first, ``-1`` padding at the end).
        start: first query (row) to order.
        stop: one past the last query (default: all).

    Returns:
        int64 ``[stop - start, k]`` corpus positions in that order, padding (``-1``) last.
    """
    rows, scores = results.rows[start:stop], results.scores[start:stop]
    ordered = np.array(rows, dtype=np.int64)
    if rows.shape[1] < 2:
        return ordered
    valid = rows >= 0
    both = valid[:, 1:] & valid[:, :-1]
    needs = np.flatnonzero(((scores[:, 1:] >= scores[:, :-1]) & both).any(axis=1)
                           | (valid[:, 1:] & ~valid[:, :-1]).any(axis=1))
    if not len(needs):
        return ordered
    # ties (or rows not best first): sort those rows as trec_eval does, results before padding, then score
    # descending, then document id descending (ids compared as strings, through their rank in string order)
    sub_rows, sub_valid = rows[needs], valid[needs]
    id_rank = results.corpus_id_ranks[np.where(sub_valid, sub_rows, 0)]
    order = np.lexsort((id_rank, scores[needs], sub_valid), axis=1)[:, ::-1]
    sub_sorted = np.take_along_axis(sub_rows.astype(np.int64), order, axis=1)
    sub_sorted[~np.take_along_axis(sub_valid, order, axis=1)] = -1
    ordered[needs] = sub_sorted
    return ordered


def _judgements(qrels: Mapping[str, Mapping[str, int]], results: TopKResults
                ) -> tuple[np.ndarray, np.ndarray, list[list[int]]] | None:
    """Sorted ``query * n_docs + position`` keys of the relevant (query, corpus document) pairs, their relevance,
    and each query's positive relevance values best first; ``None`` for inputs this module does not cover."""
    position = {doc: j for j, doc in enumerate(results.corpus_ids)}
    n_docs = max(1, len(results.corpus_ids))
    keys: list[int] = []
    values: list[int] = []
    positives: list[list[int]] = []
    for qi, qid in enumerate(results.query_ids):
        judged = qrels.get(qid)
        if not judged:
            return None
        gains = []
        for doc, rel in judged.items():
            if isinstance(rel, bool) or not isinstance(rel, (int, np.integer)) or rel < 0:
                return None
            if rel > 0:
                gains.append(int(rel))
                j = position.get(doc)
                if j is not None:
                    keys.append(qi * n_docs + j)
                    values.append(int(rel))
        if not gains:
            return None
        positives.append(sorted(gains, reverse=True))
    key_arr = np.asarray(keys, dtype=np.int64)
    order = np.argsort(key_arr, kind="stable")
    return key_arr[order], np.asarray(values, dtype=np.int64)[order], positives


def _discounts(n: int) -> np.ndarray:
    """The nDCG divisors of pytrec_eval's trec_eval for 0-based positions ``0..n-1``: ``log2(i + 2)`` (C's log2,
    through :func:`math.log2`)."""
    return np.array([math.log2(i + 2) for i in range(n)], dtype=np.float64)


def _cutoffs(k_values: Sequence[int]) -> list[int] | None:
    """The cut-offs as a list of positive ints, or None when empty, repeated or not positive (mteb's own code then
    decides what they mean)."""
    try:
        ks = [int(k) for k in k_values]
    except (TypeError, ValueError):
        return None
    if not ks or min(ks) <= 0 or len(set(ks)) != len(ks) or any(k != kv for k, kv in zip(ks, k_values)):
        return None
    return ks


def _well_formed(results: TopKResults) -> bool:
    """Distinct query and corpus ids, a result for every query, and no NaN score among the results."""
    valid = results.rows >= 0
    return (len(set(results.query_ids)) == len(results.query_ids)
            and len(set(results.corpus_ids)) == len(results.corpus_ids)
            and bool(valid.any(axis=1).all())
            and not bool(np.isnan(results.scores[valid]).any()))


#: Queries per block when computing per-query values (bounds the temporary [block, k] arrays to ~16 MB each).
BLOCK = 2048


def per_query_values(qrels: Mapping[str, Mapping[str, int]], results: TopKResults, k_values: Sequence[int]
                     ) -> dict[str, np.ndarray] | None:
    """pytrec_eval's per-query ``map_cut``, ``ndcg_cut``, ``recall``, ``P`` and ``success`` and mteb's ``MRR`` at each k.

    Args:
        qrels: ``{query_id: {doc_id: relevance}}``; every query of ``results`` must be in it.
        results: the top k per query.
        k_values: the cut-offs.

    Returns:
        ``{"ndcg_cut_10": array[n_queries], ..., "MRR@10": array[n_queries]}`` in query order, or ``None`` when the
        inputs are outside what this covers (see the module docstring).
    """
    ks = _cutoffs(k_values)
    if ks is None or len(results) == 0 or not _well_formed(results):
        return None
    found = _judgements(qrels, results)
    if found is None:
        return None
    keys, rels, positives = found
    n, width = results.rows.shape
    n_docs = max(1, len(results.corpus_ids))
    n_rel_all = np.array([len(p) for p in positives], dtype=np.int64)
    depth = int(n_rel_all.max())
    disc = _discounts(max(width, depth))
    ranks = np.arange(1, width + 1, dtype=np.float64)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        ordered = trec_order(results, start, stop)
        by_position = np.sort(ordered, axis=1)
        if ((by_position[:, 1:] == by_position[:, :-1]) & (by_position[:, 1:] >= 0)).any():
            return None  # a document twice in one row: mteb's dict would keep one of them
        del by_position
        rel = np.zeros(ordered.shape, dtype=np.int64)
        if len(keys):
            flat = (np.arange(start, stop, dtype=np.int64)[:, None] * n_docs + ordered).ravel()
            at = np.clip(np.searchsorted(keys, flat), 0, len(keys) - 1)
            hit = (keys[at] == flat) & (ordered.ravel() >= 0)
            rel.ravel()[hit] = rels[at[hit]]
        relevant = rel >= 1
        hits = np.cumsum(relevant, axis=1)
        ap_sum = np.cumsum(np.where(relevant, hits / ranks, 0.0), axis=1)
        dcg = np.cumsum(np.where(rel > 0, rel / disc[:width], 0.0), axis=1)
        n_rel = n_rel_all[start:stop]
        ideal_gains = np.zeros((stop - start, depth), dtype=np.float64)
        for i, p in enumerate(positives[start:stop]):
            ideal_gains[i, :len(p)] = p
        ideal = np.cumsum(ideal_gains / disc[:depth], axis=1)
        first = np.where(relevant.any(axis=1), relevant.argmax(axis=1), np.iinfo(np.int64).max)
        block_rows = np.arange(stop - start)
        for k in ks:
            col = min(k, width) - 1
            hits_k = hits[:, col].astype(np.float64)
            ideal_k = ideal[block_rows, np.minimum(k, n_rel) - 1]
            dcg_k = dcg[:, col]
            values = {
                f"ndcg_cut_{k}": np.where(ideal_k > 0, dcg_k / np.where(ideal_k > 0, ideal_k, 1.0), dcg_k),
                f"map_cut_{k}": ap_sum[:, col] / n_rel,
                f"recall_{k}": hits_k / n_rel,
                f"P_{k}": hits_k / float(k),
                f"success_{k}": (hits_k > 0).astype(np.float64),
                f"MRR@{k}": np.where(first < k, 1.0 / (first + 1.0), 0.0),
            }
            for name, arr in values.items():
                parts.setdefault(name, []).append(arr)
    return {name: np.concatenate(arrs) for name, arrs in parts.items()}


def score_arrays(qrels: Mapping[str, Mapping[str, int]], results: TopKResults, k_values: Sequence[int]
                 ) -> RetrievalEvaluationResult | None:
    """mteb's ``RetrievalEvaluationResult`` for the top-k arrays, computed without per-query Python dicts.

    Equal to ``mteb._evaluators.retrieval_metrics.calculate_retrieval_scores(results.to_dict(), qrels, k_values)``
    value for value (``tests/test_retrieval_metrics.py``).

    Args:
        qrels: relevance judgements, ``{query_id: {doc_id: relevance}}`` (mteb's ``relevant_docs``).
        results: the ranked top k per query.
        k_values: the cut-offs, e.g. mteb's ``(1, 3, 5, 10, 20, 100, 1000)``.

    Returns:
        The result (``all_scores`` holds pytrec_eval's per-query dicts; means rounded to 5 decimals as mteb rounds
        them; nAUCs by mteb's ``nauc``), or ``None`` when the inputs are outside what this covers.
    """
    from mteb._evaluators.retrieval_metrics import nauc
    from mteb.types import RetrievalEvaluationResult

    values = per_query_values(qrels, results, k_values)
    if values is None:
        return None
    k_values = _cutoffs(k_values) or []  # as per_query_values took them (checked there)
    n = len(results)
    as_lists = {name: arr.tolist() for name, arr in values.items()}
    means: dict[str, dict[str, float]] = {}
    per_metric: dict[str, np.ndarray] = {}
    for trec, label in MEASURES:
        means[label] = {f"{label}@{k}": round(sum(as_lists[f"{trec}_{k}"]) / n, 5) for k in k_values}
    for trec, label in MEASURES[:4]:  # nDCG, MAP, recall and precision get nAUCs, in mteb's order
        for k in k_values:
            per_metric[f"{label}@{k}"] = values[f"{trec}_{k}"]
    mrr = {f"MRR@{k}": sum(as_lists[f"MRR@{k}"]) / n for k in k_values}
    conf = confidence_arrays(results)

    def naucs_of(metrics: dict[str, np.ndarray]) -> dict[str, float]:
        return {f"nAUC_{name}_{fct}": nauc(conf_scores, arr)
                for name, arr in metrics.items() for fct, conf_scores in conf.items()}

    names = [f"{trec}_{k}" for k in k_values for trec in ("map_cut", "ndcg_cut", "recall", "P", "success")]
    all_scores = {qid: {name: as_lists[name][i] for name in names} for i, qid in enumerate(results.query_ids)}
    return RetrievalEvaluationResult(
        all_scores=all_scores, ndcg=means["NDCG"], map=means["MAP"], recall=means["Recall"], precision=means["P"],
        naucs=naucs_of(per_metric), mrr=mrr, naucs_mrr=naucs_of({f"MRR@{k}": values[f"MRR@{k}"] for k in k_values}),
        hit_rate=means["HitRate"],
    )


def confidence_arrays(results: TopKResults) -> dict[str, np.ndarray]:
    """mteb's per-query confidence scores (``max``, ``std``, ``diff1`` of the retrieved scores) as arrays.

    Args:
        results: the top k per query; each row's scores are read in stored order (best first), as mteb reads the
            values of its result dict.

    Returns:
        ``{"max": array[n_queries], "std": ..., "diff1": ...}``, each value the double mteb's
        ``confidence_scores`` gives for the same list.
    """
    valid = results.rows >= 0
    n = len(results.scores)
    out = {"max": np.zeros(n), "std": np.zeros(n), "diff1": np.zeros(n)}
    for i in range(n):
        row = results.scores[i][valid[i]].astype(np.float64)
        if row.size == 0:
            continue
        top = row.max()
        out["max"][i] = top
        out["std"][i] = float(np.std(row))
        out["diff1"][i] = top - np.partition(row, -2)[-2] if row.size > 1 else 0.0
    return out
