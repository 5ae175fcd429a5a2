"""How one encode call is cut up: each text once, text rows from mteb's dataloader, batch-size back-off on
out-of-memory, the ``--devices`` list, and outputs as numpy. :class:`medeval.encoding.EncoderAdapter` is built on these.

    >>> from medeval.batching import dedup, call_with_batch_backoff
    >>> distinct, first, inverse = dedup(["b", "a", "b"])          # encode ``distinct``, index with ``inverse``
    >>> vectors, used = call_with_batch_backoff(encode_at, 64)  # 64 -> 32 -> ... on out-of-memory  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from medeval.errors import MedEvalError

if TYPE_CHECKING:
    import numpy.typing as npt
    import torch
    from datasets import Dataset
    from mteb.types import BatchedInput
    from torch.utils.data import DataLoader

logger = logging.getLogger("medeval.encoding")  # the adapter's log name, as before the split

#: Columns of an mteb dataloader that mean "not a plain text input": such calls pass through untouched.
NON_TEXT_COLUMNS = frozenset({"image", "audio", "video", "conversation"})


# ------------------------------------------------------------------------------------------------ out of memory
def is_out_of_memory(err: BaseException) -> bool:
    """True for an accelerator out-of-memory error (CUDA, ROCm, MPS, or one re-raised by a pool worker).

    Args:
        err: the caught exception.

    Returns:
        True for ``torch.OutOfMemoryError`` or a ``RuntimeError`` whose message says "out of memory".

    Example:
        >>> is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
        True
        >>> is_out_of_memory(ValueError("bad value"))
        False
    """
    try:
        import torch

        if isinstance(err, torch.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):  # pragma: no cover - torch always present in medeval-mteb
        pass
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _free_accelerator_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if hasattr(torch, "mps") and torch.backends.mps.is_available():
            torch.mps.empty_cache()
    except Exception:  # noqa: BLE001 - freeing memory is best effort
        pass


def call_with_batch_backoff(fn: Callable[[int], Any], batch_size: int) -> tuple[Any, int]:
    """``fn(batch_size)``, halving ``batch_size`` after each out-of-memory error.

    Any other error, or running out of memory at batch size 1, is raised unchanged.

    Args:
        fn: the work, given the batch size to use.
        batch_size: the size to try first (values below 1 count as 1).

    Returns:
        ``(fn's result, the batch size that worked)``.

    Example:
        >>> def work(size):
        ...     if size > 8:
        ...         raise RuntimeError("out of memory")
        ...     return size * 2
        >>> call_with_batch_backoff(work, 32)
        (16, 8)
    """
    size = max(1, int(batch_size))
    while True:
        try:
            return fn(size), size
        except Exception as err:  # noqa: BLE001 - filtered just below
            if not is_out_of_memory(err) or size == 1:
                raise
            smaller = size // 2
            logger.warning("out of memory at batch size %d; retrying with batch size %d", size, smaller)
            del err
            _free_accelerator_memory()
            size = smaller


# ------------------------------------------------------------------------------------------------ devices
def parse_devices(spec: str | Sequence[str] | None) -> list[str] | None:
    """``"cuda:0,cuda:1"`` or ``"cpu,cpu"`` -> a list for sentence-transformers' multi-process pool; None for no pool.

    Args:
        spec: ``--devices``: a comma-separated string or a list, two or more of ``cpu``, ``cuda`` and ``cuda:N``;
            None or ``""`` for no pool.

    Returns:
        The devices, one pool worker each, or None.

    Raises:
        MedEvalError: fewer than two devices, an unknown device, or a CUDA device torch cannot see (one line saying
            what to give instead).

    Example:
        >>> parse_devices("cpu, cpu"), parse_devices(None)
        (['cpu', 'cpu'], None)
    """
    if spec is None or spec == "":
        return None
    items = [d.strip() for d in (spec.split(",") if isinstance(spec, str) else spec)]
    if any(not d for d in items) or len(items) < 2:
        raise MedEvalError(
            f"--devices {spec!r}: list two or more devices separated by commas, e.g. cuda:0,cuda:1 or cpu,cpu "
            "(for one device use --device)"
        )
    for d in items:
        if d != "cpu" and not (d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit())):
            raise MedEvalError(f"--devices {spec!r}: {d!r} is not cpu, cuda or cuda:N")
    if any(d.startswith("cuda") for d in items):
        import torch

        if not torch.cuda.is_available():
            raise MedEvalError(f"--devices {spec!r}: no CUDA GPU is visible to torch; use cpu,cpu")
        n = torch.cuda.device_count()
        for d in items:
            if d.startswith("cuda:") and int(d[5:]) >= n:
                raise MedEvalError(f"--devices {spec!r}: {d} does not exist (torch sees {n} GPU(s): cuda:0..cuda:{n - 1})")
    return items


# ------------------------------------------------------------------------------------------------ inputs
def text_rows(inputs: DataLoader[BatchedInput]) -> Dataset | None:
    """The ``datasets.Dataset`` behind an mteb text dataloader; None for anything else (images, audio, conversations).

    Args:
        inputs: what mteb passes to ``encode``.

    Returns:
        The dataset (it has a ``text`` column and at least one row), or None: an empty dataset, one with an image,
        audio, video or conversation column, or an input without a dataset.
    """
    dataset = getattr(inputs, "dataset", None)
    columns = getattr(dataset, "column_names", None)
    if columns is None or "text" not in columns or NON_TEXT_COLUMNS & set(columns) or not len(dataset):
        return None
    return dataset


def dedup(items: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The distinct items of a list, where each first occurs, and where each item's distinct value is.

    Args:
        items: n texts (or row ids).

    Returns:
        ``(distinct, first, inverse)``: the m distinct items in first-seen order; int64 [m], the position of each
        one's first occurrence; int64 [n], the index into ``distinct`` of every item (so ``distinct[inverse[i]] ==
        items[i]``).

    Example:
        >>> distinct, first, inverse = dedup(["b", "a", "b"])
        >>> distinct, first.tolist(), inverse.tolist()
        (['b', 'a'], [0, 1], [0, 1, 0])
    """
    index: dict[str, int] = {}
    inverse = np.fromiter((index.setdefault(t, len(index)) for t in items), dtype=np.int64, count=len(items))
    first = np.full(len(index), -1, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(items) - 1, -1, -1)
    return list(index), first, inverse


def texts_dataloader(texts: Sequence[str], batch_size: int) -> DataLoader[BatchedInput]:
    """An mteb-style text dataloader (a ``datasets.Dataset`` with a ``text`` column) over ``texts``.

    Args:
        texts: the texts, in order.
        batch_size: texts per batch.

    Returns:
        A torch ``DataLoader`` (not shuffled) yielding ``{"text": [...]}`` batches.
    """
    from datasets import Dataset
    from torch.utils.data import DataLoader

    return DataLoader(Dataset.from_dict({"text": list(texts)}), batch_size=batch_size, shuffle=False)


def to_numpy(embeddings: torch.Tensor | npt.ArrayLike) -> np.ndarray:
    """A dense numpy array of an encoder's output (torch tensors are moved to CPU; bf16 becomes float32).

    Args:
        embeddings: a torch tensor (dense or sparse, any device), a numpy array or a nested list, [n_texts, dim].

    Returns:
        A numpy array [n_texts, dim]; float16/32/64 tensors keep their dtype, other dtypes become float32.

    Example:
        >>> import torch
        >>> to_numpy(torch.ones(2, 3, dtype=torch.bfloat16)).dtype
        dtype('float32')
    """
    try:
        import torch

        if isinstance(embeddings, torch.Tensor):
            t = embeddings.detach().cpu()
            if t.is_sparse:
                t = t.to_dense()
            if t.dtype not in (torch.float16, torch.float32, torch.float64):
                t = t.float()
            return t.numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(embeddings)
