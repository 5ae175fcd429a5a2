"""How the MedEval-Terms builders turn terminology records into task rows, the same way for every terminology.

* records are read in a fixed order (sorted, or the upstream file's own order), never in set/dict-hash order;
* identical texts are stored once: a classification text seen under two labels is dropped, a retrieval corpus
  holds each text once and every record with that text is relevant;
* classification and clustering rows are sampled per label with an equal share of ``max_rows`` (labels with fewer
  records give all of them, the rest is spread evenly), then split 70/30 stratified by label;
* pair tasks take ``max_rows / 2`` positives and one hard negative each, drawn with
  :func:`~medeval.builders.negatives.hard_negative_indices` over character 3-5-gram TF-IDF vectors
  (:func:`~medeval.builders.negatives.tfidf_embed`), so no model is needed to build them.

    >>> from medeval.builders.terms.rows import equal_share
    >>> equal_share({"a": 10, "b": 100, "c": 100}, 100)
    {'a': 10, 'b': 45, 'c': 45}
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from medeval.build import BuilderParams
from medeval.builders.sampling import rng, sample, split_rows
from medeval.builders.negatives import hard_negative_indices, tfidf_embed
from medeval.errors import MedEvalError
from medeval.spec import Construction, TaskSpec

#: mteb's few-shot classification draws this many training rows per label; labels with fewer are dropped.
MIN_TRAIN_PER_LABEL = 8

Rows = list[dict[str, Any]]


def clean(text: str) -> str:
    """A terminology text as compared and stored: whitespace runs collapsed to one space.

    Args:
        text: any value (converted with ``str``).

    Returns:
        The collapsed text.
    """
    return " ".join(str(text).split())


def text_id(prefix: str, text: str) -> str:
    """A deterministic id for a text without an upstream id of its own.

    Args:
        prefix: what kind of text, e.g. ``"q"`` (query) or ``"exp"`` (expansion).
        text: the text.

    Returns:
        ``"<prefix>-<first 12 hex digits of its sha256>"``.
    """
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


# ---------------------------------------------------------------------------------------------------------------
# shared row assembly
# ---------------------------------------------------------------------------------------------------------------
def unique_labelled(records: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Texts grouped by label, each text once; a text seen under more than one label is dropped (it would contradict).

    Args:
        records: ``(text, label)`` in any order; texts are cleaned (:func:`clean`), empty ones skipped.

    Returns:
        label -> its unique texts, sorted.
    """
    labels_of: dict[str, set[str]] = defaultdict(set)
    for text, label in records:
        text = clean(text)
        if text:
            labels_of[text].add(label)
    groups: dict[str, list[str]] = defaultdict(list)
    for text in sorted(labels_of):
        if len(labels_of[text]) == 1:
            groups[next(iter(labels_of[text]))].append(text)
    return dict(groups)


def equal_share(sizes: dict[str, int], cap: int) -> dict[str, int]:
    """Per-label quotas summing to ``min(cap, total)``: small labels take all they have, the rest share evenly.

    Args:
        sizes: label -> how many texts it has.
        cap: the task's row cap.

    Returns:
        label -> quota, labels sorted.

    Example::

        >>> equal_share({"a": 10, "b": 100, "c": 100}, 100)
        {'a': 10, 'b': 45, 'c': 45}
    """
    alloc: dict[str, int] = {}
    pending = sorted(sizes, key=lambda k: (sizes[k], k))
    remaining = cap
    while pending and sizes[pending[0]] <= remaining // len(pending):
        k = pending.pop(0)
        alloc[k] = sizes[k]
        remaining -= sizes[k]
    if pending:
        share, extra = divmod(remaining, len(pending))
        for i, k in enumerate(sorted(pending)):
            alloc[k] = share + (1 if i < extra else 0)
    return {k: alloc[k] for k in sorted(alloc)}


def select_per_label(groups: dict[str, list[str]], cap: int, seed: int, min_per_label: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """``(text, label)`` rows: labels with at least ``min_per_label`` texts, each sampled (seeded) to its equal share of
    ``cap`` (:func:`equal_share`).

    Args:
        groups: label -> texts (:func:`unique_labelled`).
        cap: the task's ``max_rows``.
        seed: the task's seed.
        min_per_label: labels with fewer texts are left out.

    Returns:
        ``(rows, available)``: the rows by label, and label -> texts available (for the manifest).

    Raises:
        MedEvalError: no label is large enough.
    """
    kept = {k: v for k, v in groups.items() if len(v) >= min_per_label}
    if not kept:
        raise MedEvalError(f"no label has at least {min_per_label} texts; lower the task's minimum")
    quotas = equal_share({k: len(v) for k, v in kept.items()}, cap)
    out: list[tuple[str, str]] = []
    for label in sorted(kept):
        out += [(t, label) for t in sample(kept[label], quotas[label], seed, "terms-label", label)]
    return out, {k: len(v) for k, v in sorted(groups.items())}


def classification_tables(spec: TaskSpec, selected: list[tuple[str, str]]) -> dict[str, Rows]:
    """Classification ``data/train`` and ``data/test`` from ``(text, label)`` rows, split stratified by label (the
    YAML's ``split``, default 70/30); labels with fewer than :data:`MIN_TRAIN_PER_LABEL` training rows are dropped
    from both splits (mteb's few-shot sampling needs them).

    Args:
        spec: the task (``construction.split``, ``seed``).
        selected: ``(text, label)`` rows (:func:`select_per_label`).

    Returns:
        ``{"data/<split>": [{"text", "label"}, ...]}``.
    """
    c = construction_of(spec)
    fractions = c.split or {"train": 0.7, "test": 0.3}
    rows = [{"text": t, "label": label} for t, label in selected]
    parts = split_rows(rows, fractions, c.seed, label_key="label")
    train = parts.get("train", [])
    counts: dict[str, int] = defaultdict(int)
    for r in train:
        counts[r["label"]] += 1
    too_small = {k for k in {r["label"] for r in rows} if counts[k] < MIN_TRAIN_PER_LABEL}
    return {f"data/{name}": [r for r in part if r["label"] not in too_small] for name, part in sorted(parts.items())}


def clustering_tables(spec: TaskSpec, selected: list[tuple[str, str]]) -> dict[str, Rows]:
    """Clustering ``data/test`` (``sentences``, ``labels``) from ``(text, label)`` rows, shuffled (seeded).

    Args:
        spec: the task (``construction.seed``).
        selected: ``(text, label)`` rows.

    Returns:
        ``{"data/test": rows}``.
    """
    rows = [{"sentences": t, "labels": label} for t, label in selected]
    rng(construction_of(spec).seed, "terms-clustering-order").shuffle(rows)
    return {"data/test": rows}


@dataclass
class RetrievalRows:
    """Collects a retrieval task: corpus texts stored once, queries stored once, qrels as (query text, doc text)."""

    doc_ids: dict[str, str] = field(default_factory=dict)  # doc text -> id (first id offered wins)
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (query text, doc text)

    def add_doc(self, text: str, doc_id: str) -> None:
        """Add a corpus text (stored once: the first id offered for a text wins).

        Args:
            text: the document text.
            doc_id: its id (e.g. the code).
        """
        self.doc_ids.setdefault(text, doc_id)

    def relate(self, query: str, doc_text: str) -> None:
        """Mark a document text as relevant to a query text.

        Args:
            query: the query text.
            doc_text: a text already added with :meth:`add_doc`.

        Raises:
            ValueError: the text is not in the corpus (a builder bug).
        """
        if doc_text not in self.doc_ids:
            raise ValueError(f"relevant text {doc_text!r} is not in the corpus")
        self.pairs.add((query, doc_text))

    def tables(self, spec: TaskSpec, query_prefix: str) -> tuple[dict[str, Rows], dict[str, int]]:
        """The task's tables: at most ``max_rows`` queries drawn (seeded) from the related ones, ids from their text.

        Args:
            spec: the task (``construction.max_rows``, ``seed``).
            query_prefix: the query-id prefix (:func:`text_id`).

        Returns:
            ``(tables, counts)``: ``corpus/test``, ``queries/test``, ``qrels/test`` sorted by id, and counts for the
            manifest.

        Raises:
            MedEvalError: two query texts share an id or two corpus texts an id (a medeval bug to report).
        """
        c = construction_of(spec)
        queries = sorted({q for q, _ in self.pairs})
        chosen = set(sample(queries, c.max_rows, c.seed, "terms-queries"))
        qid = {q: text_id(query_prefix, q) for q in chosen}
        if len(set(qid.values())) != len(qid):
            raise MedEvalError(f"task {spec.name}: query id collision; report this as a medeval bug")
        ids = list(self.doc_ids.values())
        if len(set(ids)) != len(ids):
            raise MedEvalError(f"task {spec.name}: duplicate corpus ids; report this as a medeval bug")
        corpus = sorted(({"id": i, "text": t} for t, i in self.doc_ids.items()), key=lambda r: r["id"])
        qrows = sorted(({"id": i, "text": q} for q, i in qid.items()), key=lambda r: r["id"])
        qrels = sorted(
            ({"query-id": qid[q], "corpus-id": self.doc_ids[d], "score": 1} for q, d in self.pairs if q in chosen),
            key=lambda r: (r["query-id"], r["corpus-id"]),
        )
        stats = {"corpus": len(corpus), "queries_available": len(queries), "queries": len(qrows), "qrels": len(qrels)}
        return {"corpus/test": corpus, "queries/test": qrows, "qrels/test": qrels}, stats


def one_per_first(pairs: Iterable[tuple[str, str]], seed: int) -> list[tuple[str, str]]:
    """One ``(a, b)`` per distinct ``a`` (a seeded choice among its ``b``), so each ``a`` gets one positive and one
    negative.

    Args:
        pairs: ``(a, b)`` candidate positives, any order, repeats allowed.
        seed: the task's seed.

    Returns:
        The chosen pairs, sorted by ``a``.
    """
    bs: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        bs[a].add(b)
    return [(a, rng(seed, "terms-one-per-first", a).choice(sorted(bs[a]))) for a in sorted(bs)]


def tfidf_pair_tables(
    spec: TaskSpec,
    positives: list[tuple[str, str]],
    allowed: Callable[[int, int], bool],
) -> tuple[dict[str, Rows], dict[str, int]]:
    """PairClassification ``data/test``: each positive ``(a_i, b_i)`` and one hard negative ``(a_i, b_j)``, ``b_j``
    drawn among the ``hard_negatives.k`` most TF-IDF-similar allowed ``b`` (:func:`~medeval.builders.negatives.tfidf_embed`).

    A row whose ``b`` repeats an earlier row's is never a candidate (each distinct text counts once among the k);
    positives without a candidate are dropped.

    Args:
        spec: the task (``construction.hard_negatives.k``, ``seed``).
        positives: ``(a, b)`` with distinct ``a`` (:func:`one_per_first`).
        allowed: ``allowed(i, j)``: whether ``b_j`` may be the negative of row ``i``.

    Returns:
        ``(tables, counts)``: the shuffled 1:1 rows, and positives / negatives / dropped counts.

    Raises:
        ValueError: repeated first texts (a builder bug).
        MedEvalError: the YAML has no ``construction.hard_negatives``.
    """
    c = construction_of(spec)
    if len({a for a, _ in positives}) != len(positives):
        raise ValueError("pair positives must have distinct first texts (use one_per_first)")
    if c.hard_negatives is None:
        raise MedEvalError(f"task {spec.name}: construction.hard_negatives is required for a pair task")
    b_texts = [b for _, b in positives]
    first_row: dict[str, int] = {}
    for i, b in enumerate(b_texts):
        first_row.setdefault(b, i)

    def ok(i: int, j: int) -> bool:
        return first_row[b_texts[j]] == j and b_texts[j] != b_texts[i] and allowed(i, j)

    neg = hard_negative_indices(tfidf_embed(b_texts), k=c.hard_negatives.k, seed=c.seed, allowed=ok)
    rows: Rows = []
    for i, (a, b) in enumerate(positives):
        j = neg[i]
        if j is None:
            continue
        rows.append({"sentence1": a, "sentence2": b, "labels": 1})
        rows.append({"sentence1": a, "sentence2": b_texts[j], "labels": 0})
    rng(c.seed, "terms-pairs-order").shuffle(rows)
    return {"data/test": rows}, {"positives": len(rows) // 2, "negatives": len(rows) // 2, "dropped_without_negative": neg.count(None)}


def construction_of(spec: TaskSpec) -> Construction:
    """The task's ``construction`` block.

    Args:
        spec: the task.

    Returns:
        ``spec.construction``.

    Raises:
        MedEvalError: the YAML has none.
    """
    if spec.construction is None:
        raise MedEvalError(f"task {spec.name}: its YAML has no 'construction' section")
    return spec.construction


class PairParams(BuilderParams):
    """``construction.params`` of the terminology pair builders (positives : negatives)."""

    ratio: Literal["1:1"] = "1:1"



def param_of(spec: TaskSpec, name: str, default: Any) -> Any:
    """One ``construction.params`` value.

    Args:
        spec: the task.
        name: the parameter.
        default: the value when the YAML leaves it out.

    Returns:
        The YAML's value or ``default``.
    """
    return construction_of(spec).params.get(name, default)
