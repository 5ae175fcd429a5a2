"""Encoding that uses the hardware well, for any mteb encoder ``medeval run`` scores.

    >>> from medeval.encoding import EncoderAdapter
    >>> model = EncoderAdapter(loaded.model)                      # wraps an mteb encoder; mteb calls .encode()
    >>> model = EncoderAdapter(loaded.model, devices="cuda:0,cuda:1")   # or "cpu,cpu": one process per device
    >>> mteb.evaluate(model, task)

What the adapter adds around the wrapped encoder's ``encode``:

* each distinct text of a call is encoded once (mteb's callers often pass duplicates);
* texts are sorted longest first and encoded in chunks, so batches hold texts of similar length (little padding)
  and a caller (the embedding cache) can store each chunk as soon as it is done;
* when the accelerator runs out of memory (``torch.OutOfMemoryError`` or a ``RuntimeError`` saying
  "out of memory"), the batch size is halved and the chunk retried, down to 1; the reduced size is kept;
* ``devices`` runs sentence-transformers' own multi-process pool (``start_multi_process_pool``), passed to
  ``SentenceTransformer.encode(..., pool=...)`` through mteb's wrapper, one worker per listed device.

Precision (fp16/bf16) is chosen when the model is loaded (:mod:`medeval.models`), not here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from medeval.batching import call_with_batch_backoff, dedup, parse_devices, text_rows, texts_dataloader, to_numpy
from medeval.columns import column_values
from medeval.errors import MedEvalError

if TYPE_CHECKING:
    from datasets import Dataset
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models.model_meta import ModelMeta
    from mteb.models.models_protocols import EncoderProtocol, MTEBModels
    from mteb.types import Array, BatchedInput, PromptType
    from sentence_transformers import SentenceTransformer
    from torch.utils.data import DataLoader

logger = logging.getLogger(__name__)

#: Encode kwargs that change how fast embeddings are computed, never what they are.
SPEED_ONLY_KWARGS = frozenset({"batch_size", "show_progress_bar", "num_proc", "device", "pool", "chunk_size"})


# ------------------------------------------------------------------------------------------------ the adapter
class EncoderAdapter:
    """An mteb encoder around another one: dedup, length-sorted chunks, out-of-memory backoff, multi-process pool.

    ``mteb_model_meta`` is the wrapped encoder's, so results are filed under the same model name and revision.

    Args:
        model: the mteb encoder to wrap (it must have ``encode``).
        devices: ``--devices`` for sentence-transformers' multi-process pool (see :func:`~medeval.batching.parse_devices`); None for
            the model's own device.

    Raises:
        TypeError: ``model`` has no ``encode``.
        MedEvalError: ``devices`` is invalid, or given for a model that is not a sentence-transformers model.
    """

    #: Inputs per call to the wrapped encoder (times the number of --devices, so every worker is busy).
    chunk_texts = 4096

    def __init__(self, model: EncoderProtocol, devices: str | Sequence[str] | None = None) -> None:
        if not hasattr(model, "encode"):
            raise TypeError(f"{type(model).__name__} has no encode(); pass an mteb encoder")
        self._model = model
        self.devices = parse_devices(devices)
        self._pool: dict[str, Any] | None = None
        self._batch_size: int | None = None  # lowered for the rest of the run after an out-of-memory error
        if self.devices and self.sentence_transformer is None:
            raise MedEvalError(
                f"--devices works with sentence-transformers models; {type(model).__name__} is not one (drop --devices)"
            )

    # -- the mteb encoder protocol ------------------------------------------------------------------------
    @property
    def mteb_model_meta(self) -> ModelMeta:
        """The wrapped encoder's ``ModelMeta`` (name, revision, similarity function)."""
        return self._model.mteb_model_meta

    @property
    def wrapped(self) -> EncoderProtocol:
        """The encoder this adapter wraps."""
        return self._model

    @property
    def sentence_transformer(self) -> SentenceTransformer | None:
        """The SentenceTransformer inside mteb's wrapper, if that is what is wrapped."""
        from sentence_transformers import SentenceTransformer

        st = getattr(self._model, "model", None)
        return st if isinstance(st, SentenceTransformer) else None

    def reads_text_only(self) -> bool:
        """True for mteb's own sentence-transformers wrapper, which encodes the ``text`` column and nothing else.

        Other encoders may read more of each row (a title, an instruction, an id), so for them a row is identified
        by all its columns and the rows themselves are passed on.

        Returns:
            Whether a row can be identified by its text alone.
        """
        from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

        model = self._model
        return (isinstance(model, SentenceTransformerEncoderWrapper) and self.sentence_transformer is not None
                and type(model).encode is SentenceTransformerEncoderWrapper.encode)

    def item_ids(self, dataset: Dataset) -> list[str] | None:
        """What identifies each row for the wrapped encoder: its text, or (see :meth:`reads_text_only`) the whole row.

        Args:
            dataset: the rows of an mteb text dataloader (a ``text`` column, maybe more).

        Returns:
            One id per row (the text, or the row as sorted-key JSON); None when a text-only encoder's ``text``
            column holds something other than strings.
        """
        if self.reads_text_only():
            texts = list(column_values(dataset["text"]))  # one batch read, not one row at a time
            return texts if all(isinstance(t, str) for t in texts) else None
        return [json.dumps(row, sort_keys=True, ensure_ascii=False, default=repr) for row in dataset.to_list()]

    def encode(
        self,
        inputs: DataLoader[BatchedInput],
        *,
        task_metadata: TaskMetadata,
        hf_split: str,
        hf_subset: str,
        prompt_type: PromptType | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """mteb's ``encode``: one vector per input row, each distinct row encoded once.

        Inputs that are not plain text rows go to the wrapped encoder unchanged.

        Args:
            inputs: mteb's dataloader of the rows to encode.
            task_metadata: the task being scored (the wrapped encoder may choose prompts by it).
            hf_split: the split being encoded, e.g. ``"test"``.
            hf_subset: the subset, ``"default"`` for medeval's tasks.
            prompt_type: query or document, for retrieval; None otherwise.
            **kwargs: passed to the wrapped encoder (``batch_size`` is the starting batch size).

        Returns:
            Embeddings [n_rows, dim] in row order (float32 for most models).
        """
        dataset = text_rows(inputs)
        ids = self.item_ids(dataset) if dataset is not None else None
        if ids is None:  # not plain text, or nothing to encode: the wrapped encoder's own path
            return self._model.encode(
                inputs, task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset, prompt_type=prompt_type, **kwargs
            )
        _, first, inverse = dedup(ids)
        vectors = self.encode_rows(
            inputs, first, task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset, prompt_type=prompt_type, **kwargs
        )
        return vectors[inverse]

    def similarity(self, embeddings1: Array, embeddings2: Array) -> Array:
        """The wrapped encoder's similarity matrix.

        Args:
            embeddings1: [n, dim] embeddings.
            embeddings2: [m, dim] embeddings.

        Returns:
            [n, m] similarities (cosine for most models).
        """
        return self._model.similarity(embeddings1, embeddings2)

    def similarity_pairwise(self, embeddings1: Array, embeddings2: Array) -> Array:
        """The wrapped encoder's row-by-row similarity.

        Args:
            embeddings1: [n, dim] embeddings.
            embeddings2: [n, dim] embeddings.

        Returns:
            [n] similarities of row i with row i.
        """
        return self._model.similarity_pairwise(embeddings1, embeddings2)

    # -- encoding -----------------------------------------------------------------------------------------
    def encode_rows(
        self,
        inputs: DataLoader[BatchedInput],
        rows: np.ndarray,
        *,
        task_metadata: TaskMetadata,
        hf_split: str,
        hf_subset: str,
        prompt_type: PromptType | None = None,
        on_chunk: Callable[[np.ndarray, np.ndarray], None] | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Encode rows ``rows`` (non-empty) of the dataloader ``inputs``, longest text first, in chunks.

        Each chunk holds :attr:`chunk_texts` rows per device; after an out-of-memory error the batch size is halved and
        kept lower for the rest of the run. Every chunk is checked (:func:`medeval.vectors.check_vectors`) before anyone
        sees it.

        Args:
            inputs: mteb's dataloader; its ``dataset`` has a ``text`` column.
            rows: int64 [k], the dataset rows to encode (e.g. the first occurrence of each distinct text).
            task_metadata: the task being scored.
            hf_split: the split, e.g. ``"test"``.
            hf_subset: the subset, ``"default"``.
            prompt_type: query or document, or None.
            on_chunk: called as ``on_chunk(positions, vectors)`` after each chunk: ``positions`` int64 indexes into
                ``rows``, ``vectors`` [len(positions), dim] (the embedding cache stores them at once).
            **kwargs: passed to the wrapped encoder.

        Returns:
            Embeddings [k, dim], row i for ``rows[i]``.

        Raises:
            MedEvalError: the wrapped encoder returned the wrong shape, or vectors that are NaN, infinite or all zeros.
        """
        dataset = inputs.dataset
        texts = list(column_values(dataset.select(rows)["text"]))
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        per_call = self.chunk_texts * max(1, len(self.devices or ()))
        text_only = self.reads_text_only()
        out: np.ndarray | None = None
        for start in range(0, len(order), per_call):
            positions = np.asarray(order[start : start + per_call], dtype=np.int64)

            def loader(batch_size: int, positions: np.ndarray = positions) -> Any:
                if text_only:  # a small text-only table: all mteb's sentence-transformers wrapper reads
                    return texts_dataloader([texts[i] for i in positions], batch_size)
                from torch.utils.data import DataLoader

                return DataLoader(dataset.select(rows[positions]), batch_size=batch_size, shuffle=False,
                                  collate_fn=inputs.collate_fn)

            vectors = self._encode_chunk(loader, task_metadata, hf_split, hf_subset, prompt_type, kwargs)
            if vectors.ndim != 2 or len(vectors) != len(positions):
                raise MedEvalError(
                    f"{type(self._model).__name__}.encode returned shape {vectors.shape} for {len(positions)} inputs"
                )
            self._check_vectors(vectors, dataset, rows[positions], task_metadata, hf_split)  # before caching/scoring
            if out is None:
                out = np.empty((len(rows), vectors.shape[1]), dtype=vectors.dtype)
            out[positions] = vectors
            if on_chunk is not None:
                on_chunk(positions, vectors)
        assert out is not None
        return out

    def _check_vectors(self, vectors: np.ndarray, dataset: Any, rows: np.ndarray, task_metadata: Any, split: str) -> None:
        """:func:`medeval.vectors.check_vectors` on one chunk; the example row is named by its ``id`` column if any."""
        from medeval.vectors import check_vectors

        def row_id(i: int) -> Any:
            row = int(rows[i])
            return dataset[row]["id"] if "id" in dataset.column_names else f"#{row}"

        meta = getattr(self._model, "mteb_model_meta", None)
        check_vectors(vectors, model=str(getattr(meta, "name", None) or type(self._model).__name__), row_ids=row_id,
                      where=f"task {getattr(task_metadata, 'name', '?')}, split {split}")

    def _encode_chunk(
        self, loader: Callable[[int], Any], task_metadata: Any, hf_split: str, hf_subset: str, prompt_type: Any,
        kwargs: dict[str, Any],
    ) -> np.ndarray:
        kwargs = dict(kwargs)
        requested = int(kwargs.pop("batch_size", 32))
        if self._batch_size is not None:
            requested = min(requested, self._batch_size)
        if self.devices:
            kwargs["pool"] = self._ensure_pool()

        def call(batch_size: int) -> np.ndarray:
            out = self._model.encode(
                loader(batch_size),
                task_metadata=task_metadata,
                hf_split=hf_split,
                hf_subset=hf_subset,
                prompt_type=prompt_type,
                batch_size=batch_size,
                **kwargs,
            )
            return to_numpy(out)

        vectors, used = call_with_batch_backoff(call, requested)
        if used < requested:
            self._batch_size = used
        return vectors

    # -- multi-process pool -------------------------------------------------------------------------------
    def _ensure_pool(self) -> dict[str, Any]:
        if self._pool is None:
            st = self.sentence_transformer
            assert st is not None and self.devices
            logger.info("starting sentence-transformers' multi-process pool on %s", ", ".join(self.devices))
            self._pool = st.start_multi_process_pool(target_devices=list(self.devices))
        return self._pool

    def close(self) -> None:
        """Stop the multi-process pool, if one was started."""
        pool, self._pool = self._pool, None
        if pool is not None:
            from sentence_transformers import SentenceTransformer

            SentenceTransformer.stop_multi_process_pool(pool)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def adapt_encoder(model: MTEBModels, devices: str | Sequence[str] | None = None) -> MTEBModels:
    """``model`` wrapped in :class:`EncoderAdapter` when it is a plain dense encoder; otherwise ``model`` itself.

    Search models (their own ``search``/``index``), cross-encoders and sparse encoders keep their own path.

    Args:
        model: a loaded mteb model.
        devices: ``--devices`` (see :func:`~medeval.batching.parse_devices`), or None.

    Returns:
        The adapter, or ``model`` unchanged.

    Raises:
        MedEvalError: ``devices`` given for a model the adapter does not handle, or invalid.
    """
    if not is_dense_encoder(model):
        if devices:
            raise MedEvalError(f"--devices does not work with {type(model).__name__}; drop --devices")
        return model
    return EncoderAdapter(model, devices=devices)


def is_dense_encoder(model: object) -> bool:
    """True for an mteb encoder whose ``encode`` returns one dense vector per text (what the adapter handles).

    Args:
        model: any object.

    Returns:
        False for non-encoders, search models, cross-encoders (``predict``) and sparse encoders.
    """
    from mteb.models.models_protocols import EncoderProtocol, SearchProtocol

    if not isinstance(model, EncoderProtocol) or isinstance(model, SearchProtocol) or hasattr(model, "predict"):
        return False
    try:
        from mteb.models.sentence_transformer_wrapper import SparseEncoderWrapper

        if isinstance(model, SparseEncoderWrapper):
            return False
    except ImportError:  # pragma: no cover
        pass
    return True
