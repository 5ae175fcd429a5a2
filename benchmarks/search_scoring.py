"""Scoring cost of one retrieval task without a model: mteb's plain search vs medeval.search's backends.

    python benchmarks/search_scoring.py HPOLaypersonRetrieval --backend blocked     # also: faiss, plain
    python benchmarks/search_scoring.py ICD10CMAbbreviatedTitleRetrieval --backend faiss --json out.json

Vectors come from a hash of each text (384 dimensions, cosine similarity), so no model runs and what is timed is
mteb's search and metrics on the task's real corpus, queries and qrels (built data in the data folder). Prints one
JSON line: main score, wall and CPU seconds of ``mteb.evaluate`` and the process's peak RSS before and after.
Run one backend per process (peak RSS is per process); compare the ``--json`` files' scores across backends.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np


class HashEncoder:
    """An mteb encoder scored by cosine similarity; each text's vector is derived from its hash."""

    def __init__(self, dim: int = 384) -> None:
        from mteb.models import ModelMeta
        from mteb.models.model_meta import ScoringFunction

        self.mteb_model_meta = ModelMeta.create_empty(
            overwrites={"name": "bench/hash", "revision": "r1", "similarity_fn_name": ScoringFunction.COSINE})
        self.dim = dim

    def encode(self, inputs: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, prompt_type: Any = None,
               **kwargs: Any) -> np.ndarray:
        texts = inputs.dataset["text"]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = np.frombuffer(hashlib.shake_256(text.encode()).digest(self.dim * 2), dtype=np.int16)
        return out

    def similarity(self, a: Any, b: Any) -> Any:
        from sentence_transformers.util import cos_sim

        return cos_sim(a, b)

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        from sentence_transformers.util import pairwise_cos_sim

        return pairwise_cos_sim(a, b)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", help="a retrieval task name (its data must be built: medeval build -t TASK)")
    p.add_argument("--backend", default="auto", choices=["auto", "faiss", "blocked", "plain"])
    p.add_argument("--json", default=None, help="write every score and the figures to this file")
    args = p.parse_args(argv)

    import mteb

    from medeval.catalog import get_task
    from medeval.search import search_model

    task = get_task(args.task)
    model = search_model(HashEncoder(), backend=args.backend)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    result = mteb.evaluate(model, task, cache=None, encode_kwargs={"batch_size": 32}, raise_error=True,
                           show_progress_bar=False).task_results[0]
    figures = {"task": args.task, "backend": args.backend, "main_score": result.get_score(),
               "wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(time.process_time() - c0, 1),
               "peak_rss_mb_before": round(before), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(figures))
    if args.json:
        Path(args.json).write_text(json.dumps({**figures, "scores": result.scores}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
