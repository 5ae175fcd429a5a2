"""The mteb encoder that reads and fills the embedding cache: each distinct text is encoded once per model.

    >>> from medeval.embedding_cache.encoder import cached_encoder
    >>> model = cached_encoder(loaded.model, loaded.meta)           # an mteb encoder; mteb.evaluate(model, task)
    >>> model.summary()
    'embedding cache: 120 texts encoded, 0 reused from ...'

Vectors are looked up by key (:mod:`medeval.embedding_cache.keys`) in the model revision's shard folder
(:mod:`medeval.embedding_cache.shards`); the texts it lacks are encoded by
:class:`~medeval.encoding.EncoderAdapter` (de-duplicated, length-sorted, batch size halved on out-of-memory) and
stored chunk by chunk, so an interrupted run keeps what it encoded. A full disk never ends a run: it goes on without
storing. Texts are never stored, only their hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medeval.batching import dedup, text_rows
from medeval.embedding_cache import keys as keymod
from medeval.embedding_cache.folders import model_folder
from medeval.embedding_cache.shards import ShardStore
from medeval.encoding import EncoderAdapter, is_dense_encoder
from medeval.errors import MedEvalError

logger = logging.getLogger("medeval.embedding_cache")


class CachedEncoder(EncoderAdapter):
    """An mteb encoder that takes vectors from the cache and encodes (then stores) only the texts it lacks.

    ``stats`` counts texts asked for, distinct texts, texts found in the cache and texts encoded.

    Args:
        model: The mteb encoder to wrap (e.g. mteb's sentence-transformers wrapper).
        meta: Its mteb ``ModelMeta`` (default: ``model.mteb_model_meta``); name and revision choose the folder.
        devices: Devices for sentence-transformers' multi-process encoding (``"cuda:0,cuda:1"``), or None.
        folder: The shard folder (default: :func:`medeval.embedding_cache.folders.model_folder` of ``meta``).
    """

    def __init__(self, model: Any, meta: Any | None = None, devices: str | Sequence[str] | None = None,
                 folder: Path | None = None) -> None:
        super().__init__(model, devices=devices)
        self.meta = meta if meta is not None else model.mteb_model_meta
        self.folder = Path(folder) if folder is not None else model_folder(self.meta)
        self.store = ShardStore(self.folder)
        self.stats = {"texts": 0, "distinct": 0, "cached": 0, "encoded": 0}
        self._identity = keymod.encoder_identity(self._model, self.meta, self.sentence_transformer)
        self._namespaces: dict[str, bytes] = {}
        self._write_ok = True

    @property
    def mteb_model_meta(self) -> Any:
        """The wrapped model's mteb ``ModelMeta``: results are filed under its name and revision."""
        return self.meta

    # -- keys -----------------------------------------------------------------------------------------------
    def _has_router(self) -> bool:
        st = self.sentence_transformer
        return st is not None and any(type(m).__name__ == "Router" for m in st.modules())

    def effective_prompt(self, task_metadata: Any, prompt_type: Any) -> str:
        """The prompt sentence-transformers will prepend for this task and prompt type ("" for none).

        Args:
            task_metadata: mteb's ``TaskMetadata`` of the call.
            prompt_type: mteb's ``PromptType`` or None.

        Returns:
            :func:`medeval.embedding_cache.keys.effective_prompt`.
        """
        return keymod.effective_prompt(self._model, self.sentence_transformer, task_metadata, prompt_type)

    def namespace(self, task_metadata: Any, prompt_type: Any, hf_split: str, hf_subset: str, kwargs: dict[str, Any]) -> bytes:
        """The 32-byte prefix of every key of one encode call (memoised per call description).

        Args:
            task_metadata: mteb's ``TaskMetadata`` of the call.
            prompt_type: mteb's ``PromptType`` or None.
            hf_split: The split encoded.
            hf_subset: The subset encoded.
            kwargs: The encode keyword arguments.

        Returns:
            :func:`medeval.embedding_cache.keys.namespace` of this encoder and call.
        """
        text_only = self.reads_text_only()
        call = keymod.call_description(
            text_only=text_only, prompt=self.effective_prompt(task_metadata, prompt_type) if text_only else "",
            has_router=text_only and self._has_router(), task_metadata=task_metadata, prompt_type=prompt_type,
            hf_split=hf_split, hf_subset=hf_subset, kwargs=kwargs)
        memo = keymod.canonical(call).decode()
        if memo not in self._namespaces:
            self._namespaces[memo] = keymod.namespace(self._identity, call)
        return self._namespaces[memo]

    # -- encoding -------------------------------------------------------------------------------------------
    def encode(self, inputs: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, prompt_type: Any = None,
               **kwargs: Any) -> np.ndarray:
        """mteb's ``encode``: vectors from the cache, the rest encoded (each distinct input once) and stored.

        Args:
            inputs: mteb's DataLoader of input rows.
            task_metadata: mteb's ``TaskMetadata`` of the call.
            hf_split: The split encoded.
            hf_subset: The subset encoded.
            prompt_type: mteb's ``PromptType`` or None.
            **kwargs: Encode settings passed on to the model (``batch_size``, ...).

        Returns:
            ``[n_inputs, dim]`` vectors in input order.

        Raises:
            MedEvalError: The cached vectors have another dimension than the model gives (clear the cache).
        """
        dataset = text_rows(inputs)
        ids = self.item_ids(dataset) if dataset is not None else None
        if ids is None:  # images, conversations...: not cached
            return self._model.encode(inputs, task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset,
                                      prompt_type=prompt_type, **kwargs)
        unique, first, inverse = dedup(ids)
        keys = keymod.text_keys(self.namespace(task_metadata, prompt_type, hf_split, hf_subset, kwargs), unique)
        found, cached = self.store.get(keys)
        missing = np.setdiff1d(np.arange(len(unique)), found, assume_unique=True)
        self.stats["texts"] += len(ids)
        self.stats["distinct"] += len(unique)
        self.stats["cached"] += len(found)
        self.stats["encoded"] += len(missing)
        fresh = None
        if len(missing):

            def store_chunk(positions: np.ndarray, vectors: np.ndarray) -> None:
                self._store([keys[i] for i in missing[positions]], vectors)

            fresh = self.encode_rows(inputs, first[missing], task_metadata=task_metadata, hf_split=hf_split,
                                     hf_subset=hf_subset, prompt_type=prompt_type, on_chunk=store_chunk, **kwargs)
        if cached is None:
            assert fresh is not None
            return fresh[inverse]  # nothing was cached: missing is every position, in order
        if fresh is not None and fresh.shape[1] != cached.shape[1]:
            raise MedEvalError(f"embedding cache {self.folder}: cached vectors have {cached.shape[1]} dimensions, "
                               f"the model gives {fresh.shape[1]}; run `medeval cache clear --model {self.meta.name}`")
        parts = [(found, cached)] + ([(missing, fresh)] if fresh is not None else [])
        return _assemble(len(unique), parts)[inverse]

    def _store(self, keys: list[bytes], vectors: np.ndarray) -> None:
        if not self._write_ok:
            return
        try:
            self.store.put(keys, vectors)
        except (OSError, ValueError) as err:  # a full disk must not end the run: go on without storing
            self._write_ok = False
            logger.warning("embedding cache: cannot write to %s (%s); continuing without storing", self.folder, err)

    def summary(self) -> str:
        """What the cache did in this process.

        Returns:
            One line: texts encoded, reused from the folder, asked for and distinct per call.
        """
        s = self.stats
        return (f"embedding cache: {s['encoded']:,} texts encoded, {s['cached']:,} reused from {self.folder} "
                f"({s['texts']:,} asked for, {s['distinct']:,} distinct per call)")


def _assemble(n: int, parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    dim = parts[0][1].shape[1]
    out = np.empty((n, dim), dtype=np.result_type(*[v.dtype for _, v in parts]))
    for positions, vectors in parts:
        out[positions] = vectors
    return out


def cached_encoder(model: Any, meta: Any | None = None, devices: str | Sequence[str] | None = None) -> Any:
    """``model`` with the embedding cache (and :class:`~medeval.encoding.EncoderAdapter`'s encoding) around it.

    Encoders the cache cannot serve (search models, cross-encoders, sparse encoders) are returned unchanged.

    Args:
        model: An mteb encoder.
        meta: Its mteb ``ModelMeta`` (default: ``model.mteb_model_meta``).
        devices: Devices for multi-process encoding, or None.

    Returns:
        A :class:`CachedEncoder`, or ``model`` itself.

    Raises:
        MedEvalError: ``devices`` was given for an encoder the cache cannot serve.
    """
    if not is_dense_encoder(model):
        logger.info("embedding cache: %s is not a dense encoder; running without the cache", type(model).__name__)
        if devices:
            raise MedEvalError(f"--devices does not work with {type(model).__name__}; drop --devices")
        return model
    return CachedEncoder(model, meta, devices=devices)
