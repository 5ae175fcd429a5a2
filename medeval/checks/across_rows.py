"""The checks across rows, per task type: unique ids and existing references (Retrieval), label sets
(Classification, Clustering) and both kinds of pair (PairClassification). They run on Arrow arrays with
``pyarrow.compute``, only on tables whose column types passed (:mod:`medeval.checks.column_types`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from medeval.checks.column_types import KIND_FIX
from medeval.checks.table import SHOWN, Finding, Table, short_repr

def _as_str(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def _not_in(values: pa.ChunkedArray, allowed: pa.ChunkedArray) -> list[int]:
    return pc.indices_nonzero(pc.invert(pc.is_in(values, value_set=allowed))).to_pylist()


def _encode(values: pa.ChunkedArray, others: pa.ChunkedArray) -> tuple[pa.Array, int, list[int]]:
    """One hash pass over ``values`` then ``others``: (codes of ``values``, distinct count, indices of ``others``
    not among ``values``). Codes follow first occurrence, so ``values`` are unique iff their codes are 0..n-1."""
    encoded = pc.dictionary_encode(pa.chunked_array(values.chunks + others.chunks, type=pa.string())).combine_chunks()
    codes = encoded.indices
    n = len(values)
    head = codes.slice(0, n)
    distinct = pc.max(head).as_py() + 1 if n else 0
    missing = pc.indices_nonzero(pc.greater_equal(codes.slice(n), distinct)).to_pylist()
    return head, distinct, missing


def _repeated(codes: pa.Array) -> list[int]:
    """Indices of the rows whose code occurred on an earlier row (codes in first-occurrence order)."""
    if len(codes) < 2:
        return []
    earlier_max = pc.cumulative_max(codes).slice(0, len(codes) - 1)
    return [i + 1 for i in pc.indices_nonzero(pc.less_equal(codes.slice(1), earlier_max)).to_pylist()]


def _check_retrieval(tables: Mapping[str, Table], split: str) -> list[Finding]:
    corpus, queries, qrels = (tables.get(f"{c}/{split}") for c in ("corpus", "queries", "qrels"))
    if corpus is None or queries is None or qrels is None:
        return []
    out: list[Finding] = []
    ref = {"query-id": (queries, "query"), "corpus-id": (corpus, "document")}
    for name, (t, what) in ref.items():
        ids = _as_str(t.arrow.column("id"))  # type: ignore[union-attr]
        refs = _as_str(qrels.arrow.column(name))  # type: ignore[union-attr]
        codes, distinct, missing = _encode(ids, refs)
        if distinct != len(ids):
            idx = _repeated(codes)
            vals = sorted({ids[i].as_py() for i in idx[:SHOWN]})
            out.append(t.finding("id", f"duplicate {what} id(s) {', '.join(short_repr(v) for v in vals)} (also on an earlier {t.unit})",
                                 f"give each {what} its own id (a later row with the same id replaces the earlier)",
                                 idx))
        if missing:
            bad = refs[missing[0]].as_py()
            close = [v for v in pc.unique(ids).to_pylist() if v.lower() == bad.lower()][:1]
            hint = f" (did you mean {close[0]!r}? ids are case-sensitive)" if close else ""
            out.append(qrels.finding(name, f"{bad!r} is not a {what} id in {t.name}{hint}",
                                     f"fix the id or add the {what} to {t.name}", missing))
    pair = pc.binary_join_element_wise(*(_as_str(qrels.arrow.column(c)) for c in ref), "\x1f")  # type: ignore[union-attr]
    codes = pc.dictionary_encode(pair).combine_chunks().indices
    if pc.max(codes).as_py() + 1 != len(codes):
        idx = _repeated(codes)
        shown = ", ".join("({!r}, {!r})".format(*pair[i].as_py().split("\x1f")) for i in idx[:3])
        out.append(qrels.finding("corpus-id", f"the same (query-id, corpus-id) pair is judged more than once: {shown}",
                                 "keep one row per pair (otherwise the last judgement silently wins)", idx))
    return out


def _labels(t: Table, col: str) -> pa.ChunkedArray:
    return _as_str(t.arrow.column(col))  # type: ignore[union-attr]


def _check_classification(tables: Mapping[str, Table], train_split: str, eval_splits: Sequence[str]) -> list[Finding]:
    train = tables.get(f"data/{train_split}")
    if train is None:
        return []
    out: list[Finding] = []
    train_labels = pc.unique(_labels(train, "label"))
    if len(train_labels) < 2:
        only = ", ".join(short_repr(v) for v in train_labels.to_pylist())
        out.append(train.finding("label", f"only one label ({only}) in the {train_split} split",
                                 "a classifier needs at least two labels: add rows of the other labels"))
    for split in eval_splits:
        t = tables.get(f"data/{split}")
        if t is None or t is train:
            continue
        labels = _labels(t, "label")
        idx = _not_in(labels, train_labels)
        if idx:
            unseen = sorted({labels[i].as_py() for i in idx})
            out.append(t.finding("label", f"label(s) {', '.join(short_repr(v) for v in unseen[:SHOWN])} never occur in "
                                 f"the {train.name} table, so no model can predict them",
                                 f"add {train_split} rows with these labels or drop these rows", idx))
    return out


def _check_clustering(t: Table) -> list[Finding]:
    counts = pc.value_counts(_labels(t, "labels"))
    if len(counts) < 2:
        return [t.finding("labels", "only one label, so every clustering scores 1.0",
                          "give the rows at least two different labels")]
    singles = counts.filter(pc.equal(counts.field("counts"), 1)).field("values").to_pylist()
    if len(singles) == len(counts):
        return [t.finding("labels", "every label has a single row, so every clustering scores 1.0",
                          "give each cluster at least two rows")]
    if singles:
        shown = ", ".join(short_repr(v) for v in singles[:SHOWN])
        return [t.finding("labels", f"{len(singles)} label(s) have a single row ({shown})",
                          "give each cluster at least two rows or drop these rows", severity="warning")]
    return []


def _check_pairs(t: Table) -> list[Finding]:
    labels = t.arrow.column("labels").cast(pa.int64())  # type: ignore[union-attr]
    found = set(pc.unique(labels).to_pylist())
    if found - {0, 1}:  # an integer parquet column: its type is right, its values may not be
        bad = pc.indices_nonzero(pc.invert(pc.is_in(labels, value_set=pa.array([0, 1])))).to_pylist()
        return [t.finding("labels", f"is not binary (found {', '.join(map(str, sorted(found - {0, 1})))})",
                          KIND_FIX["binary"], bad)]
    if found == {1}:
        return [t.finding("labels", "every pair is positive (1), so any model scores F1 = 1.0",
                          "add negative pairs (label 0)")]
    if found == {0}:
        return [t.finding("labels", "every pair is negative (0), so F1 is undefined",
                          "add positive pairs (label 1)")]
    return []


def check_across_rows(task_type: str, tables: Mapping[str, Table], train_split: str = "train",
                      eval_splits: Sequence[str] = ("test",)) -> list[Finding]:
    """The checks across rows of one task type, on tables whose column types passed.

    Args:
        task_type: "Classification", "Clustering", "PairClassification" or "Retrieval".
        tables: :class:`Table` per ``"<config>/<split>"`` name, each with ``arrow`` set.
        train_split: the classification training split.
        eval_splits: the scored splits.

    Returns:
        The findings (errors and warnings), in split order.
    """
    out: list[Finding] = []
    if task_type == "Retrieval":
        for split in eval_splits:
            out += _check_retrieval(tables, split)
    elif task_type == "Classification":
        out += _check_classification(tables, train_split, eval_splits)
    elif task_type == "Clustering":
        for split in eval_splits:
            if (t := tables.get(f"data/{split}")) is not None:
                out += _check_clustering(t)
    elif task_type == "PairClassification":
        for split in eval_splits:
            if (t := tables.get(f"data/{split}")) is not None:
                out += _check_pairs(t)
    return out
