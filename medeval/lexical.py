"""A lexical floor for every task type: hashed TF-IDF vectors, as an mteb encoder.

mteb ships BM25 (``mteb/baseline-bm25s``) for retrieval only; classification, clustering and pair classification
need a vector per text. :class:`HashedTfidfEncoder` gives one without fitting anything on the task's data:

* tokens: `wordfreq <https://pypi.org/project/wordfreq/>`_'s English tokenizer (lower-cased words and numbers);
* term weight: sublinear term frequency ``1 + ln(count)`` times an inverse document frequency taken from
  wordfreq's English word frequencies, ``idf = -ln(max(frequency, 1e-8))`` (so "the" weighs about 3 and a word
  wordfreq has never seen about 18.4): a fixed, general-English IDF, the same for every task;
* vector: the weighted tokens hashed into ``dim`` (default 2,048) signed buckets with scikit-learn's
  :class:`~sklearn.feature_extraction.FeatureHasher` (the signs make inner products unbiased), then L2-normalised,
  so cosine similarity approximates TF-IDF cosine similarity.

    >>> from medeval.lexical import HashedTfidfEncoder
    >>> enc = HashedTfidfEncoder(dim=256)
    >>> enc.encode_texts(["chronic kidney disease", "kidney failure, chronic"]).shape
    (2, 256)

``medeval/baseline-tfidf`` is registered with mteb's model registry by :func:`register`, so
``mteb.get_model_meta("medeval/baseline-tfidf").load_model()`` and medeval's model loader find it.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from mteb.models.abs_encoder import AbsEncoder  # similarity/similarity_pairwise from the meta's cosine

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models import ModelMeta
    from mteb.types import BatchedInput, PromptType
    from torch.utils.data import DataLoader

MODEL_NAME = "medeval/baseline-tfidf"
MODEL_REVISION = "1"
DEFAULT_DIM = 2048
MIN_FREQUENCY = 1e-8


@lru_cache(maxsize=500_000)
def idf(token: str) -> float:
    """Inverse document frequency of ``token`` from wordfreq's English frequencies.

    Args:
        token: one token as produced by ``wordfreq.tokenize(text, "en")``.

    Returns:
        ``-ln(max(frequency, 1e-8))``: about 2.9 for "the", 18.42 for a word wordfreq does not know.
    """
    import wordfreq

    return -math.log(max(wordfreq.word_frequency(token, "en"), MIN_FREQUENCY))


def weighted_tokens(text: str) -> list[tuple[str, float]]:
    """``(token, (1 + ln count) * idf)`` pairs of one text (empty for a text without words).

    Args:
        text: any string.

    Returns:
        One pair per distinct token, in first-seen order.

    Example:
        >>> [t for t, _ in weighted_tokens("Kidney disease, kidney")]
        ['kidney', 'disease']
    """
    import wordfreq

    counts = Counter(wordfreq.tokenize(text, "en"))
    return [(tok, (1.0 + math.log(n)) * idf(tok)) for tok, n in counts.items()]


class HashedTfidfEncoder(AbsEncoder):
    """TF-IDF vectors hashed to ``dim`` dimensions and L2-normalised (mteb's encoder interface).

    Args:
        model_name: recorded name (mteb's loaders pass it; unused).
        revision: recorded revision (unused).
        dim: number of hash buckets, i.e. the embedding dimension (a power of two is usual).

    Raises:
        ValueError: if ``dim`` is not positive.
    """

    mteb_model_meta: ModelMeta | None = None

    def __init__(self, model_name: str = MODEL_NAME, revision: str | None = MODEL_REVISION,
                 dim: int = DEFAULT_DIM, **kwargs: Any) -> None:
        from sklearn.feature_extraction import FeatureHasher

        if dim <= 0:
            raise ValueError(f"dim must be positive, got {dim}")
        self.dim = dim
        self._hasher = FeatureHasher(n_features=dim, input_type="pair", alternate_sign=True)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``.

        Args:
            texts: the strings to embed.

        Returns:
            float32 array of shape ``(len(texts), dim)``, each row of unit length (all zeros for a text without
            words).
        """
        sparse = self._hasher.transform(weighted_tokens(t) for t in texts).astype(np.float32)
        dense = sparse.toarray()
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return dense / np.where(norms > 0, norms, 1.0)

    def encode(self, inputs: DataLoader[BatchedInput], *, task_metadata: TaskMetadata | None = None, hf_split: str = "",
               hf_subset: str = "", prompt_type: PromptType | None = None, **kwargs: Any) -> np.ndarray:
        """mteb's ``encode``: every text of every batch, hashed TF-IDF, in one call to :meth:`encode_texts`.

        Args:
            inputs: mteb's DataLoader of batches with a ``"text"`` column.
            task_metadata, hf_split, hf_subset, prompt_type, kwargs: mteb's, unused: queries and documents are
                embedded alike, without prompts.

        Returns:
            float32 array of shape ``(n_texts, dim)``, each row of unit length (zeros for a text without words).
        """
        texts = [t for batch in inputs for t in batch["text"]]
        return self.encode_texts(texts)


def model_meta() -> ModelMeta:
    """mteb ModelMeta of ``medeval/baseline-tfidf`` (loader :class:`HashedTfidfEncoder`).

    Returns:
        The ModelMeta (name, revision, size, licence, cosine similarity) results are filed under.
    """
    from mteb.models import ModelMeta

    return ModelMeta(
        loader=HashedTfidfEncoder,
        name=MODEL_NAME,
        revision=MODEL_REVISION,
        release_date="2026-11-30",
        languages=["eng-Latn"],
        n_parameters=0,
        n_embedding_parameters=0,
        memory_usage_mb=None,
        max_tokens=None,
        embed_dim=DEFAULT_DIM,
        license="mit",
        open_weights=True,
        public_training_code=None,
        public_training_data=None,
        framework=[],
        reference="https://pypi.org/project/wordfreq/",
        similarity_fn_name="cosine",
        use_instructions=False,
        training_datasets=None,
        model_type=["dense"],
    )


def register() -> ModelMeta:
    """Add ``medeval/baseline-tfidf`` to mteb's model registry (idempotent).

    Returns:
        Its ModelMeta, as registered (so ``mteb.get_model_meta(MODEL_NAME)`` finds it).
    """
    from medeval.model_registry import register_model_meta

    return register_model_meta(MODEL_NAME, model_meta)
