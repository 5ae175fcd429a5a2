"""Seeded sampling, splitting and capping shared by the builders. Everything is deterministic given the seed."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def rng(seed: int, *salt: str) -> random.Random:
    """A ``random.Random`` seeded by the seed and salt strings, so independent draws never share a stream.

    Args:
        seed: the task's ``construction.seed``.
        salt: strings naming the draw (e.g. ``"sample"``, a label).

    Returns:
        A generator seeded from the first 8 bytes of sha256(seed, salt...): the same in every process and on every
        machine (no ``PYTHONHASHSEED`` dependence).
    """
    h = hashlib.sha256(("\x00".join([str(seed), *salt])).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def sample(items: Sequence[T], k: int, seed: int, *salt: str) -> list[T]:
    """At most ``k`` items, drawn without replacement, kept in their original order.

    Args:
        items: the candidates, in a fixed (e.g. sorted) order.
        k: how many to keep; all when there are no more than ``k``.
        seed: the task's seed.
        salt: strings naming the draw.

    Returns:
        The drawn items, in ``items`` order.

    Example::

        >>> sample(list(range(10)), 3, 42, "demo") == sample(list(range(10)), 3, 42, "demo")
        True
    """
    if len(items) <= k:
        return list(items)
    idx = sorted(rng(seed, "sample", *salt).sample(range(len(items)), k))
    return [items[i] for i in idx]


def stratified_cap(rows: list[dict[str, Any]], label_key: str, cap: int, seed: int) -> list[dict[str, Any]]:
    """Rows capped at ``cap`` keeping label proportions (largest remainder; ties by label), drawn seeded per label.

    Args:
        rows: the rows, each with ``row[label_key]``.
        label_key: the label column.
        cap: at most this many rows.
        seed: the task's seed.

    Returns:
        ``rows`` itself when it has no more than ``cap``; else the kept rows grouped by label (labels sorted).
    """
    if len(rows) <= cap:
        return rows
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[label_key], []).append(r)
    total = len(rows)
    quotas = {k: cap * len(v) / total for k, v in groups.items()}
    alloc = {k: int(q) for k, q in quotas.items()}
    rest = cap - sum(alloc.values())
    for k in sorted(quotas, key=lambda k: (-(quotas[k] - alloc[k]), str(k)))[:rest]:
        alloc[k] += 1
    out: list[dict[str, Any]] = []
    for k in sorted(groups, key=str):
        out += sample(groups[k], alloc[k], seed, "cap", str(k))
    return out


def split_rows(rows: list[dict[str, Any]], fractions: dict[str, float], seed: int, label_key: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """A seeded split by fractions, stratified by label when ``label_key`` is given (every label in every split when
    it has enough rows). The last split takes the remainder; each split's rows are shuffled.

    Args:
        rows: the rows.
        fractions: split name -> fraction, e.g. ``{"train": 0.7, "test": 0.3}``.
        seed: the task's seed.
        label_key: the label column to stratify by (None: one group).

    Returns:
        ``{split name: rows}`` (``train`` first).
    """
    names = sorted(fractions, key=lambda s: (s != "train", s))
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[label_key] if label_key else None, []).append(r)
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for key in sorted(groups, key=str):
        g = list(groups[key])
        rng(seed, "split", str(key)).shuffle(g)
        start = 0
        for i, n in enumerate(names):
            end = len(g) if i == len(names) - 1 else start + round(len(g) * fractions[n])
            out[n] += g[start:end]
            start = end
    for n in names:
        rng(seed, "order", n).shuffle(out[n])
    return out


def balance_downsample(rows: list[dict[str, Any]], label_key: str, seed: int) -> list[dict[str, Any]]:
    """Every label down-sampled (seeded) to the size of the rarest one.

    Args:
        rows: the rows, each with ``row[label_key]``.
        label_key: the label column.
        seed: the task's seed.

    Returns:
        The kept rows, grouped by label (labels sorted).
    """
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[label_key], []).append(r)
    n = min(len(v) for v in groups.values())
    out: list[dict[str, Any]] = []
    for k in sorted(groups, key=str):
        out += sample(groups[k], n, seed, "balance", str(k))
    return out


def first_per_key(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The first item of each key, in the items' order (later items with a key already seen are dropped).

    Args:
        items: the items, in a fixed order (records sorted by id, questions by split and file).
        key: what makes two items the same, e.g. their question text.

    Returns:
        The kept items.

    Example::

        >>> first_per_key(["b1", "a1", "b2"], key=lambda s: s[0])
        ['b1', 'a1']
    """
    seen: set[Hashable] = set()
    out = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out
