"""Sanity checks on embeddings before they are cached or scored.

A model with broken weights (NaN in its word embeddings, an overflow in fp16) returns NaN, infinite or all-zero
vectors. Scored, they give a number that means nothing (retrieval still ranks them) or a scikit-learn error that
does not name the model; cached, they would be reused by every later run. :func:`check_vectors` stops the task
instead, with one line naming the model, how many texts are affected and one example row.

    >>> import numpy as np
    >>> check_vectors(np.ones((2, 3)), model="my-lab/m")               # fine: returns None
    >>> check_vectors(np.zeros((2, 3)), model="my-lab/m", row_ids=["a", "b"])
    Traceback (most recent call last):
    medeval.vectors.BadVectorsError: model my-lab/m gave unusable embeddings for 2 of 2 texts (2 all-zero), e.g. row 'a'; ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from medeval.errors import MedEvalError


class BadVectorsError(MedEvalError):
    """A model returned NaN, infinite or all-zero embeddings; the task fails and nothing is cached."""


def bad_rows(vectors: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Indices of rows that are not usable embeddings, and how many of each kind.

    Args:
        vectors: ``[n, dim]`` float array.

    Returns:
        (sorted row indices, ``{"NaN": a, "infinite": b, "all-zero": c}`` with only non-zero counts). A row with
        both NaN and infinite values counts as NaN.
    """
    values = np.asarray(vectors)
    if values.ndim != 2 or values.dtype.kind not in "fc":
        return np.empty(0, dtype=np.int64), {}
    nan = np.isnan(values).any(axis=1)
    inf = np.isinf(values).any(axis=1) & ~nan
    zero = ~(values != 0).any(axis=1) if values.shape[1] else np.ones(len(values), dtype=bool)
    kinds = {"NaN": int(nan.sum()), "infinite": int(inf.sum()), "all-zero": int(zero.sum())}
    return np.flatnonzero(nan | inf | zero), {k: v for k, v in kinds.items() if v}


def check_vectors(
    vectors: np.ndarray,
    *,
    model: str,
    row_ids: Callable[[int], Any] | list[Any] | None = None,
    where: str = "",
) -> None:
    """Raise :class:`BadVectorsError` if any row of ``vectors`` is NaN, infinite or all zeros.

    Args:
        vectors: ``[n, dim]`` embeddings of ``n`` texts.
        model: the model's name, for the message.
        row_ids: what identifies each row for the user (a list, or a function of the row index, called only for
            the example row); default: the row index.
        where: where the texts come from, e.g. ``"task ClinicTriage, split test"`` (never the text itself).

    Raises:
        BadVectorsError: one line: the model, how many texts, one example row id, what to do.
    """
    rows, kinds = bad_rows(vectors)
    if not len(rows):
        return
    first = int(rows[0])
    if callable(row_ids):
        example = row_ids(first)
    elif row_ids is not None:
        example = row_ids[first]
    else:
        example = first
    what = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    place = f" of {where}" if where else ""
    raise BadVectorsError(
        f"model {model} gave unusable embeddings for {len(rows)} of {len(vectors)} texts{place} ({what}), "
        f"e.g. row {example!r}; nothing was scored or cached: check the model's weights (NaN/inf), its pooling "
        "and --precision"
    )
