"""The rules of :mod:`medeval.checks`: the columns each task type's tables must have, with their types, and the
checks across rows per task type. Each rule returns :class:`Finding` objects, one per problem; a finding prints as
one line naming the file, the line (JSON lines) or row (parquet, from 1), the field, what is wrong and the fix.

Types are checked with pydantic (strict) on JSON-lines rows and from the Arrow schema on parquet tables; the
checks across rows (unique ids, references, label sets) run on Arrow arrays with ``pyarrow.compute``.

See :func:`check_tables` for an example.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, StrictBool, StrictInt, StrictStr, TypeAdapter, ValidationError

Severity = Literal["error", "warning"]
SHOWN = 5  # line numbers shown per finding

# --------------------------------------------------------------------------------------------------- column kinds
#: The pydantic type each kind of column must validate against (strict: no coercion of 1.0 to 1 or "1" to 1).
_KIND_TYPES: dict[str, Any] = {
    "text": StrictStr,
    "title": Union[StrictStr, None],
    "id": Union[StrictStr, StrictInt],
    "label": Union[StrictStr, StrictInt],
    "binary": Union[Literal[0, 1], StrictBool],
    "score": Annotated[StrictInt, Field(ge=0)],
}
_KIND_FIX: dict[str, str] = {
    "text": "give every row a string (JSON \"...\"), not null, a number or a list",
    "title": "give a string title or leave it out",
    "id": "give every row a string or integer id",
    "label": "write labels as strings or integers (not null, float, bool or list)",
    "binary": "write pair labels as 0/1 or true/false (1 = the pair matches)",
    "score": "write relevance as an integer >= 0 (0 = not relevant, 1 or more = relevant)",
}

#: Columns per task type and table config: name -> kind. ``title`` is optional; all others are required.
LAYOUT: dict[str, dict[str, dict[str, str]]] = {
    "Classification": {"data": {"text": "text", "label": "label"}},
    "Clustering": {"data": {"sentences": "text", "labels": "label"}},
    "PairClassification": {"data": {"sentence1": "text", "sentence2": "text", "labels": "binary"}},
    "Retrieval": {
        "corpus": {"id": "id", "text": "text", "title": "title"},
        "queries": {"id": "id", "text": "text"},
        "qrels": {"query-id": "id", "corpus-id": "id", "score": "score"},
    },
}
OPTIONAL_COLUMNS = frozenset({"title"})


@lru_cache(maxsize=None)
def _adapter(kind: str) -> TypeAdapter[Any]:
    return TypeAdapter(list[_KIND_TYPES[kind]], config={"strict": True})


# --------------------------------------------------------------------------------------------------- findings
@dataclass(frozen=True)
class Finding:
    """One problem in a task's data.

    Args:
        file: the table file (or the task's data folder).
        field: the column ("" when the problem is the file itself).
        problem: what is wrong, with the offending values.
        fix: what to do.
        rows: 1-based line numbers (JSON lines) or row numbers (parquet) of the first offending rows.
        n_rows: how many rows have the problem (``rows`` shows at most a few).
        unit: "line" or "row".
        severity: "error" (the task is not scored) or "warning" (scored; the score may mislead).
    """

    file: str
    field: str
    problem: str
    fix: str
    rows: tuple[int, ...] = ()
    n_rows: int = 0
    unit: str = "row"
    severity: Severity = "error"
    text: str = ""  # a reader's own one-line message (it already names the file, the line and the fix)

    def __str__(self) -> str:
        if self.text:
            return self.text
        parts = [self.file]
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:SHOWN])
            more = self.n_rows - min(len(self.rows), SHOWN)
            plural = "s" if self.n_rows > 1 else ""
            parts.append(f"{self.unit}{plural} {shown}" + (f" and {more} more" if more > 0 else ""))
        if self.field:
            parts.append(f"field '{self.field}'")
        return ": ".join(parts) + f": {self.problem}; {self.fix}"


@dataclass
class Table:
    """One table as read: its file, its Arrow form for the checks and its rows for the loader.

    Args:
        name: ``"<config>/<split>"``, e.g. ``"qrels/test"``.
        path: the file (``.parquet`` or ``.jsonl``); findings name it, with lines (jsonl) or rows (parquet).
        arrow: a parquet table as read (for jsonl, the checks fill it with the checked columns).
        rows: the rows of a JSON-lines file as read.
    """

    name: str
    path: Path
    arrow: pa.Table | None = None  # parquet: as read; jsonl: the checked columns, ids and labels as strings
    rows: list[dict[str, Any]] | None = None  # jsonl rows as read (parquet rows are made after the checks)
    _lines: list[int] | None = field(default=None, repr=False)

    @property
    def unit(self) -> str:
        return "line" if self.path.suffix == ".jsonl" else "row"

    @property
    def num_rows(self) -> int:
        return self.arrow.num_rows if self.arrow is not None else len(self.rows or [])

    def numbers(self, indices: Iterable[int]) -> tuple[int, ...]:
        """0-based row indices -> the line numbers (jsonl, blank lines skipped) or 1-based row numbers."""
        indices = list(indices)[:SHOWN]
        if self.unit == "row" or not indices:
            return tuple(i + 1 for i in indices)
        if self._lines is None:
            with self.path.open("rb") as f:
                self._lines = [n for n, line in enumerate(f, 1) if line.strip()]
        return tuple(self._lines[i] if i < len(self._lines) else i + 1 for i in indices)

    def finding(self, field_: str, problem: str, fix: str, indices: Sequence[int] = (), n: int | None = None,
                severity: Severity = "error") -> Finding:
        return Finding(str(self.path), field_, problem, fix, self.numbers(indices), len(indices) if n is None else n,
                       self.unit, severity)

    def to_rows(self) -> list[dict[str, Any]]:
        return self.rows if self.rows is not None else self.arrow.to_pylist()  # type: ignore[union-attr]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(value: Any) -> str:
    if value is _MISSING:
        return "is missing"
    if value is None:
        return "is null"
    return f"is a {type(value).__name__}"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


# --------------------------------------------------------------------------------------------------- per-row types
_ARROW_OK: dict[str, Any] = {
    "text": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "title": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t),
    "id": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t),
    "label": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t),
    "binary": lambda t: pa.types.is_integer(t) or pa.types.is_boolean(t),
    "score": pa.types.is_integer,
}


def _check_parquet_types(t: Table, columns: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    schema = t.arrow.schema  # type: ignore[union-attr]
    for col, kind in columns.items():
        if col not in schema.names:
            if col not in OPTIONAL_COLUMNS:
                out.append(t.finding(col, "column is missing", f"add the column: {_KIND_FIX[kind]}"))
            continue
        arr = t.arrow.column(col)  # type: ignore[union-attr]
        if not _ARROW_OK[kind](arr.type):
            out.append(t.finding(col, f"column has type {arr.type}", _KIND_FIX[kind]))
        elif arr.null_count and kind != "title":
            idx = pc.indices_nonzero(pc.is_null(arr)).to_pylist()
            out.append(t.finding(col, "is null", _KIND_FIX[kind], idx))
        elif kind == "score" and len(arr) and pc.min(arr).as_py() < 0:
            idx = pc.indices_nonzero(pc.less(arr, 0)).to_pylist()
            out.append(t.finding(col, "is negative", _KIND_FIX[kind], idx))
    return out


def _check_row_types(t: Table, columns: Mapping[str, str]) -> list[Finding]:
    """JSON-lines rows: every column on every row, each value of its kind (pydantic, strict)."""
    out: list[Finding] = []
    rows = t.rows or []
    arrays: dict[str, pa.Array] = {}
    for col, kind in columns.items():
        values = [r.get(col, _MISSING) for r in rows]
        if col in OPTIONAL_COLUMNS and all(v is _MISSING for v in values):
            continue
        if col in OPTIONAL_COLUMNS:
            values = [None if v is _MISSING else v for v in values]
        try:
            _adapter(kind).validate_python(values)
        except ValidationError as err:
            bad = sorted({e["loc"][0] for e in err.errors(include_url=False) if e["loc"]})
            groups: dict[str, list[int]] = {}
            for i in bad:
                groups.setdefault(_describe(values[i]), []).append(i)
            for what, idx in groups.items():
                example = "" if what in ("is missing", "is null") else f" ({_short(values[idx[0]])})"
                fix = f"add it to every row: {_KIND_FIX[kind]}" if what == "is missing" else _KIND_FIX[kind]
                if what == "is missing" and len(idx) == len(values):  # no row has it: a misnamed column
                    present = sorted({k for r in rows for k in r})[:8]
                    out.append(t.finding(col, f"column is missing (the rows have {', '.join(present)})",
                                         f"name the column '{col}': {_KIND_FIX[kind]}"))
                    continue
                if kind == "binary":
                    found = sorted({_short(values[i]) for i in bad})
                    what, example = "is not binary", f" (found {', '.join(found[:10])})"
                    out.append(t.finding(col, f"{what}{example}", fix, bad))
                    break
                out.append(t.finding(col, f"{what}{example}", fix, idx))
            continue
        if kind in ("id", "label"):
            values = [str(v) for v in values]
        elif kind == "binary":
            values = [int(v) for v in values]
        arrays[col] = pa.array(values)
    if not out:
        t.arrow = pa.table(arrays) if arrays else pa.table({})
    return out


# --------------------------------------------------------------------------------------------------- across rows
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
            out.append(t.finding("id", f"duplicate {what} id(s) {', '.join(_short(v) for v in vals)} (also on an earlier {t.unit})",
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
        only = ", ".join(_short(v) for v in train_labels.to_pylist())
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
            out.append(t.finding("label", f"label(s) {', '.join(_short(v) for v in unseen[:SHOWN])} never occur in "
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
        shown = ", ".join(_short(v) for v in singles[:SHOWN])
        return [t.finding("labels", f"{len(singles)} label(s) have a single row ({shown})",
                          "give each cluster at least two rows or drop these rows", severity="warning")]
    return []


def _check_pairs(t: Table) -> list[Finding]:
    labels = t.arrow.column("labels").cast(pa.int64())  # type: ignore[union-attr]
    found = set(pc.unique(labels).to_pylist())
    if found - {0, 1}:  # an integer parquet column: its type is right, its values may not be
        bad = pc.indices_nonzero(pc.invert(pc.is_in(labels, value_set=pa.array([0, 1])))).to_pylist()
        return [t.finding("labels", f"is not binary (found {', '.join(map(str, sorted(found - {0, 1})))})",
                          _KIND_FIX["binary"], bad)]
    if found == {1}:
        return [t.finding("labels", "every pair is positive (1), so any model scores F1 = 1.0",
                          "add negative pairs (label 0)")]
    if found == {0}:
        return [t.finding("labels", "every pair is negative (0), so F1 is undefined",
                          "add positive pairs (label 1)")]
    return []


# --------------------------------------------------------------------------------------------------- entry points
def check_tables(task_type: str, tables: Mapping[str, Table], train_split: str = "train",
                 eval_splits: Sequence[str] = ("test",), cross_rows: bool = True) -> list[Finding]:
    """Every finding in a task's tables, already read (:func:`medeval.checks.read_and_check` reads them).

    Args:
        task_type: "Classification", "Clustering", "PairClassification" or "Retrieval".
        tables: :class:`Table` per ``"<config>/<split>"`` name.
        train_split: the classification training split.
        eval_splits: the scored splits.
        cross_rows: False checks rows, columns and types only (ids, references and label sets are skipped).

    Returns:
        The findings, errors and warnings; the checks across rows run only when no table has a type error.

    Example::

        >>> t = Table("data/test", Path("data/test.jsonl"), rows=[{"sentences": "a", "labels": "x"}])
        >>> print(*check_tables("Clustering", {"data/test": t}))
        data/test.jsonl: field 'labels': only one label, so every clustering scores 1.0; give the rows at least ...
    """
    out: list[Finding] = []
    for name, t in tables.items():
        columns = LAYOUT[task_type].get(name.split("/")[0], {})
        if t.num_rows == 0:
            out.append(t.finding("", "the table has no rows", "fill it in the documented layout or fix the path"))
            continue
        out += _check_parquet_types(t, columns) if t.rows is None else _check_row_types(t, columns)
    if not cross_rows or any(f.severity == "error" for f in out):
        return out  # cross-row checks only on well-typed tables
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
