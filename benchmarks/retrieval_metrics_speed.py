"""Benchmark: retrieval metrics on top-k arrays (numpy) against mteb's functions (sliced), same inputs, same scores.

    python benchmarks/retrieval_metrics_speed.py                      # 16,000 queries x top 1,000 over 97,000 docs
    python benchmarks/retrieval_metrics_speed.py --queries 2000 --docs 20000 --k 100

Builds a synthetic ICD-10-CM-sized instance (random distinct documents per query, scores best first, two relevant
documents per query, one of them placed in two thirds of the top k), scores it with
:func:`medeval.retrieval_metrics.score_arrays` and with :func:`medeval.retrieval_scoring.score_top_k`'s mteb path
(pytrec_eval, mteb's ``mrr`` and abstention curves, a slice of queries at a time), and prints CPU and wall time of
each, the process's peak RSS, and whether all values (means, MRR, nAUCs) are equal. mteb is imported before timing.
Exit code 0 when every value is equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time

import numpy as np


def instance(n_queries: int, n_docs: int, k: int, seed: int = 0):
    """A synthetic top k (distinct documents per row, best first) and its qrels."""
    from medeval.retrieval_scoring import TopKResults

    rng = np.random.default_rng(seed)
    query_ids = [f"q{i}" for i in range(n_queries)]
    corpus_ids = [f"d{j}" for j in range(n_docs)]
    rows = np.stack([rng.choice(n_docs, k, replace=False) for _ in range(n_queries)])
    scores = -np.sort(-rng.random((n_queries, k)).astype(np.float32), axis=1)
    qrels = {}
    for i, q in enumerate(query_ids):
        picks = rng.choice(n_docs, 2, replace=False)
        qrels[q] = {corpus_ids[j]: 1 for j in picks}
        if i % 3 and picks[0] not in rows[i]:
            rows[i, i % 50] = picks[0]
    return TopKResults(query_ids, corpus_ids, scores, rows), qrels


def _timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def main() -> int:
    """Run the comparison; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=16_000)
    ap.add_argument("--docs", type=int, default=97_000)
    ap.add_argument("--k", type=int, default=1000)
    args = ap.parse_args()
    import mteb._evaluators.retrieval_metrics  # noqa: F401  (its import is not part of either timing)

    from medeval import retrieval_metrics
    from medeval.retrieval_scoring import score_top_k

    k_values = [kv for kv in (1, 3, 5, 10, 20, 100, 1000) if kv <= max(args.k, 1000)]
    results, qrels = instance(args.queries, args.docs, args.k)
    fast, fast_cpu, fast_wall = _timed(lambda: retrieval_metrics.score_arrays(qrels, results, k_values))
    rss_fast = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    original = retrieval_metrics.score_arrays
    retrieval_metrics.score_arrays = lambda *a: None  # score_top_k falls back to mteb's functions
    try:
        slow, slow_cpu, slow_wall = _timed(lambda: score_top_k(qrels, results, k_values))
    finally:
        retrieval_metrics.score_arrays = original
    fields = ("ndcg", "map", "recall", "precision", "hit_rate", "mrr", "naucs", "naucs_mrr")
    pairs = [(getattr(fast, f)[key], getattr(slow, f)[key]) for f in fields for key in getattr(slow, f)]
    same = all((math.isnan(a) and math.isnan(b)) or a == b for a, b in pairs)
    print(f"{args.queries} queries x top {args.k} over {args.docs} documents, k = {k_values}")
    print(f"numpy arrays : {fast_cpu:6.1f} s CPU {fast_wall:6.1f} s wall (peak RSS so far {rss_fast:.0f} MB)")
    print(f"mteb, sliced : {slow_cpu:6.1f} s CPU {slow_wall:6.1f} s wall "
          f"(peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    print(f"{len(pairs)} values, {'all equal' if same else 'NOT all equal'}; CPU ratio {slow_cpu / max(fast_cpu, 1e-9):.1f}x")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
