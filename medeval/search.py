"""Exact top-k retrieval search in bounded memory, through mteb's own ``index_backend`` extension point.

mteb's default full-corpus search scores every query against chunks of 50,000 documents at once and keeps the top k
in Python heaps: for the ICD-10-CM retrieval tasks (16,384 queries x 97k titles) that is a 16k x 50k float32 matrix
(3.2 GB) plus its top-k copies, and the default run peaked at 7.6 GB. ``medeval run`` instead hands mteb's
:class:`~mteb.models.search_wrappers.SearchEncoderWrapper` an index backend (``index_backend=``), so the corpus is
encoded once in ``index()`` and searched exactly:

* with FAISS installed (``pip install 'medeval-mteb[search]'``), mteb's own
  :class:`~mteb.models.search_encoder_index.FaissSearchIndex` (exact ``IndexFlatIP`` / ``IndexFlatL2``), searched
  1,024 queries at a time, for models scored by cosine, dot product or euclidean distance;
* otherwise, and for any other similarity function, :class:`BlockedExactIndex`: the model's own ``similarity`` on
  one block of queries at a time (block size from a memory budget), then ``torch.topk``.

Both are exact (no approximation). The top k stays in two arrays (:class:`medeval.retrieval_scoring.TopKResults`)
that medeval's retrieval task scores a slice of queries at a time with mteb's own metric functions; scores equal
the plain path's to float rounding, which ``tests/test_search.py`` checks against mteb's default path.

    >>> from medeval.search import search_model
    >>> mteb.evaluate(search_model(encoder), retrieval_task)        # the same result, a fraction of the memory
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from medeval.columns import column_values

logger = logging.getLogger(__name__)

#: Environment variable choosing the backend: ``auto`` (FAISS when importable), ``faiss``, ``blocked`` or ``plain``
#: (mteb's default chunked search, no backend).
ENV_BACKEND = "MEDEVAL_SEARCH_BACKEND"
#: Bytes one block of query x document similarities may take (float32); 256 MiB by default.
DEFAULT_BLOCK_BYTES = 256 * 2**20
BACKENDS = ("auto", "faiss", "blocked", "plain")


class BlockedExactIndex:
    """An mteb index backend that searches exactly with the model's own similarity, one block of queries at a time.

    Memory is the document matrix plus one ``block x n_documents`` float32 similarity block (``max_block_bytes``),
    whatever the number of queries.

    Args:
        max_block_bytes: the most bytes one block of similarities may take (at least one query per block).

    Example:
        >>> index = BlockedExactIndex()
        >>> index.add_documents(doc_vectors, ["d1", "d2", "d3"])
        >>> scores, rows = index.search(query_vectors, 2, similarity_fn=model.similarity)
        >>> rows[0]                                     # document positions, best first
        [2, 0]
    """

    def __init__(self, max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> None:
        self.max_block_bytes = int(max_block_bytes)
        self.idxs: list[str] = []
        self._docs: list[Any] = []

    def add_documents(self, embeddings: Any, idxs: list[str]) -> None:
        """Keep the document vectors (as a float32 tensor) and their ids.

        Args:
            embeddings: document vectors, ``[n_documents, dim]`` (numpy or torch).
            idxs: the documents' ids, in the same order.
        """
        self._docs.append(_as_tensor(embeddings))
        self.idxs.extend(column_values(idxs))  # mteb passes the corpus' id Column: read it in one batch

    def _documents(self) -> Any:
        import torch

        if not self._docs:
            raise ValueError("No documents indexed. Call add_documents() first.")
        if len(self._docs) > 1:
            self._docs = [torch.cat(self._docs)]
        return self._docs[0]

    def block_size(self, n_documents: int) -> int:
        """Queries per block so that one block of similarities fits ``max_block_bytes``.

        Args:
            n_documents: documents each query is scored against.

        Returns:
            At least 1: ``max_block_bytes // (4 * n_documents)`` (float32 similarities).
        """
        return max(1, self.max_block_bytes // max(1, 4 * n_documents))

    def search(
        self,
        embeddings: Any,
        top_k: int,
        similarity_fn: Any,
        top_ranked: dict[str, list[str]] | None = None,
        query_idx_to_id: dict[int, str] | None = None,
    ) -> tuple[list[list[float]], list[list[int]]]:
        """The ``top_k`` best documents per query: (scores best first, their positions).

        Args:
            embeddings: query vectors, ``[n_queries, dim]`` (numpy or torch).
            top_k: how many documents to return per query (fewer if the corpus or candidate list is smaller).
            similarity_fn: the model's ``similarity(queries, documents) -> [n_q, n_d]`` (mteb passes it).
            top_ranked: for reranking, each query id's candidate document ids; positions then index that list.
            query_idx_to_id: query position -> id, needed with ``top_ranked``.

        Returns:
            Two lists with one list per query: similarity scores (descending) and document positions (in the
            indexed order, or in the query's ``top_ranked`` list when reranking).

        Raises:
            ValueError: nothing was indexed, or ``top_ranked`` without ``query_idx_to_id``.
        """
        import torch

        docs = self._documents()
        queries = _as_tensor(embeddings)
        if top_ranked is not None:
            if query_idx_to_id is None:
                raise ValueError("query_idx_to_id must be provided when reranking.")
            return self._rerank(queries, top_k, similarity_fn, top_ranked, query_idx_to_id, docs)
        k = min(top_k, len(docs))
        step = self.block_size(len(docs))
        scores = np.empty((len(queries), k), dtype=np.float32)
        rows = np.empty((len(queries), k), dtype=np.int64)
        with torch.no_grad():
            for start in range(0, len(queries), step):
                sims = _as_tensor(similarity_fn(queries[start : start + step], docs))
                values, indices = torch.topk(sims, k, dim=1, largest=True)
                scores[start : start + len(values)] = values.numpy()
                rows[start : start + len(values)] = indices.numpy()
                del sims, values, indices
        # one list per query, made when mteb reads it: 16k x 1000 results are 190 MB as arrays, ~1 GB as lists
        return RowLists(scores), RowLists(rows)  # type: ignore[return-value]

    def _rerank(self, queries: Any, top_k: int, similarity_fn: Any, top_ranked: dict[str, list[str]],
                query_idx_to_id: dict[int, str], docs: Any) -> tuple[list[list[float]], list[list[int]]]:
        import torch

        position = {doc_id: i for i, doc_id in enumerate(self.idxs)}
        scores: list[list[float]] = []
        rows: list[list[int]] = []
        with torch.no_grad():
            for qi in range(len(queries)):
                candidates = top_ranked.get(query_idx_to_id[qi]) or []
                if not candidates:
                    scores.append([])
                    rows.append([])
                    continue
                cand = docs[torch.as_tensor([position[d] for d in candidates])]
                sims = _as_tensor(similarity_fn(queries[qi : qi + 1], cand))
                values, indices = torch.topk(sims, min(top_k, len(candidates)), dim=1, largest=True)
                scores.append(values[0].tolist())
                rows.append(indices[0].tolist())
        return scores, rows

    def clear(self) -> None:
        """Forget every document."""
        self._docs = []
        self.idxs = []


class RowLists(Sequence):
    """A read-only sequence of lists over a 2-D array: ``rows[i]`` is ``array[i].tolist()``, made on access."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [row.tolist() for row in self.array[i]]
        return self.array[i].tolist()


def _search_wrapper_class() -> type:
    from mteb.models.search_wrappers import SearchEncoderWrapper

    from medeval.retrieval_scoring import TopKResults

    class BoundedSearchEncoderWrapper(SearchEncoderWrapper):
        """mteb's ``SearchEncoderWrapper`` whose full-corpus search returns the index backend's exact top k as
        arrays (:class:`~medeval.retrieval_scoring.TopKResults`) instead of 16 million (score, id) heap entries and
        then a dict of them (about 1 GB each for 16k queries x top 1,000).

        ``compact_results`` (set by medeval's retrieval task, which scores the arrays a slice at a time) makes
        :meth:`search` return the arrays; otherwise it returns mteb's plain dict, built from them.
        """

        compact_results = False

        def search(self, queries: Any, **kwargs: Any) -> Any:
            self._top_k_arrays = None
            results = super().search(queries, **kwargs)
            found, self._top_k_arrays = self._top_k_arrays, None
            if found is None:  # reranking, or no backend: mteb's own dict
                return results
            top_k = TopKResults(*found)
            return top_k if self.compact_results else top_k.to_dict()

        def _sort_full_corpus_results(self, *, result_heaps: dict[str, Any], query_idx_to_id: dict[int, str],
                                      query_embeddings: Any, cos_scores_top_k_idx: Any, cos_scores_top_k_values: Any,
                                      sub_corpus_ids: Sequence[str], top_k: int) -> dict[str, Any]:
            # keep the arrays for search(); mteb then builds an empty dict per query from the empty heaps
            query_ids = [query_idx_to_id[i] for i in range(len(query_embeddings))]
            self._top_k_arrays = (query_ids, sub_corpus_ids, _as_array(cos_scores_top_k_values, np.float32),
                                  _as_array(cos_scores_top_k_idx, np.int64))
            return {}

    return BoundedSearchEncoderWrapper


def _as_array(values: Any, dtype: Any) -> np.ndarray:
    """The backend's top-k (an array, :class:`RowLists` or lists of lists) as one 2-D array."""
    if isinstance(values, RowLists):
        return values.array.astype(dtype, copy=False)
    return np.asarray(values, dtype=dtype)


def _faiss_index_class() -> type:
    from mteb.models.search_encoder_index import FaissSearchIndex

    class BlockedFaissIndex(FaissSearchIndex):
        """mteb's exact FAISS index, searched a block of queries at a time; the top k comes back as arrays.

        mteb's ``FaissSearchIndex.search`` turns the whole top k into Python lists (16 million floats and ints for
        16k queries x 1,000: about 1 GB, and 2 s of CPU on an ICD-10-CM task); here each block's top k goes from
        FAISS straight into two arrays, with mteb's own normalisation and distance-to-score step.

        Args:
            model: the mteb encoder (its similarity decides inner product or L2, as in mteb).
            queries_per_block: queries searched per call of mteb's ``search``.
        """

        def __init__(self, model: Any, queries_per_block: int = 1024) -> None:
            super().__init__(model)
            self.queries_per_block = max(1, int(queries_per_block))

        def add_documents(self, embeddings: Any, idxs: list[str]) -> None:
            super().add_documents(embeddings, column_values(idxs))  # the id Column in one batch, not row by row

        def search(self, embeddings: Any, top_k: int, similarity_fn: Any, top_ranked: Any = None,
                   query_idx_to_id: Any = None) -> tuple[Any, Any]:
            if top_ranked is not None or self.index is None:
                return super().search(embeddings, top_k, similarity_fn, top_ranked, query_idx_to_id)
            import faiss

            queries = embeddings.detach().cpu().numpy() if hasattr(embeddings, "detach") else np.asarray(embeddings)
            k = min(top_k, self.index.ntotal)
            scores = np.empty((len(queries), k), dtype=np.float32)
            rows = np.empty((len(queries), k), dtype=np.int64)
            for start in range(0, len(queries), self.queries_per_block):
                # mteb's FaissSearchIndex.search without its lists: the same copy, normalisation, search and
                # L2-to-distance step, kept as arrays (tests/test_search.py checks equality with mteb's)
                block = queries[start : start + self.queries_per_block].astype(np.float32)
                if self._normalize:
                    faiss.normalize_L2(block)
                block_scores, block_rows = self.index.search(block, k)
                if issubclass(self.index_type, faiss.IndexFlatL2):
                    block_scores = -np.sqrt(np.maximum(block_scores.astype(np.float64), 0))
                scores[start : start + len(block_scores)] = block_scores
                rows[start : start + len(block_rows)] = block_rows
            return RowLists(scores), RowLists(rows)

    return BlockedFaissIndex


def _as_tensor(x: Any) -> Any:
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach().cpu().float() if x.dtype != torch.float32 else x.detach().cpu()
    return torch.from_numpy(np.ascontiguousarray(np.asarray(x), dtype=np.float32))


def faiss_available() -> bool:
    """Whether FAISS is installed.

    Returns:
        True when the ``faiss`` module (faiss-cpu or faiss-gpu) can be imported.
    """
    import importlib.util

    return importlib.util.find_spec("faiss") is not None


def make_index_backend(model: Any, backend: str | None = None, max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> Any | None:
    """The exact index backend for ``model``'s retrieval search, or None for mteb's default chunked search.

    Args:
        model: an mteb encoder (its ``mteb_model_meta.similarity_fn_name`` decides whether FAISS fits).
        backend: ``auto`` (default; ``$MEDEVAL_SEARCH_BACKEND`` or ``auto``): FAISS when importable and the
            similarity is cosine, dot product or euclidean, else :class:`BlockedExactIndex`; ``faiss``: FAISS or
            an error; ``blocked``: :class:`BlockedExactIndex`; ``plain``: None (mteb's default path).
        max_block_bytes: block budget of :class:`BlockedExactIndex`.

    Returns:
        An object with mteb's index-backend methods (``add_documents``, ``search``, ``clear``), or None.

    Raises:
        ValueError: an unknown backend name, or ``faiss`` asked for but not installed or not fitting the model.
    """
    choice = (backend or os.environ.get(ENV_BACKEND) or "auto").strip().lower()
    if choice not in BACKENDS:
        raise ValueError(f"{ENV_BACKEND}={choice!r}: choose one of {', '.join(BACKENDS)}")
    if choice == "plain":
        return None
    if choice == "blocked":
        return BlockedExactIndex(max_block_bytes)
    if faiss_available():
        try:
            return _faiss_index_class()(model)
        except ValueError:  # a similarity FAISS cannot express: the blocked exact search does
            if choice == "faiss":
                raise
    elif choice == "faiss":
        raise ValueError("the faiss search backend needs FAISS: pip install 'medeval-mteb[search]' (faiss-cpu)")
    return BlockedExactIndex(max_block_bytes)


def search_model(model: Any, backend: str | None = None, max_block_bytes: int = DEFAULT_BLOCK_BYTES) -> Any:
    """``model`` as mteb's ``SearchEncoderWrapper`` with an exact, memory-bounded index backend.

    Args:
        model: an mteb encoder (``encode``, ``similarity``, ``mteb_model_meta``), e.g. medeval's cached encoder.
        backend: see :func:`make_index_backend`.
        max_block_bytes: block budget of :class:`BlockedExactIndex`.

    Returns:
        A subclass of mteb's ``SearchEncoderWrapper`` (an mteb search model) that hands the backend's top k on
        without mteb's per-query heaps, for retrieval tasks; ``model`` itself for the ``plain``
        backend. Pass it to ``mteb.evaluate`` for retrieval tasks only.

    Example:
        >>> result = mteb.evaluate(search_model(encoder), mteb.get_task("HPOLaypersonRetrieval"))
    """
    index = make_index_backend(model, backend, max_block_bytes)
    if index is None:
        return model
    logger.info("retrieval search: %s", type(index).__name__)
    return _search_wrapper_class()(model, index_backend=index)
