"""Seeded sampling, splitting and capping shared by the builders. Everything is deterministic given the seed."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def rng(seed: int, *salt: str) -> random.Random:
    """A Random seeded by (seed, salt...), so independent draws do not share a stream."""
    h = hashlib.sha256(("\x00".join([str(seed), *salt])).encode()).digest()
    return random.Random(int.from_bytes(h[:8], "big"))


def sample(items: Sequence[T], k: int, seed: int, *salt: str) -> list[T]:
    """At most k items, drawn without replacement, in their original order."""
    if len(items) <= k:
        return list(items)
    idx = sorted(rng(seed, "sample", *salt).sample(range(len(items)), k))
    return [items[i] for i in idx]


def stratified_cap(rows: list[dict[str, Any]], label_key: str, cap: int, seed: int) -> list[dict[str, Any]]:
    """Cap rows at ``cap`` keeping label proportions (largest-remainder), deterministic."""
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
    """Seeded split by fractions; stratified by ``label_key`` when given (every label in every split if it can)."""
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
    """Down-sample every label to the size of the rarest one."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[label_key], []).append(r)
    n = min(len(v) for v in groups.values())
    out: list[dict[str, Any]] = []
    for k in sorted(groups, key=str):
        out += sample(groups[k], n, seed, "balance", str(k))
    return out
