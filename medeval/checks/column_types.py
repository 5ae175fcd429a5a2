"""The columns each task type's tables must have, and their kinds (text, id, label, binary, relevance score),
checked per row: with pydantic (strict) on JSON-lines rows and from the Arrow schema on parquet tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, StrictBool, StrictInt, StrictStr, TypeAdapter, ValidationError

from medeval.checks.table import Finding, Table, short_repr

#: The pydantic type each kind of column must validate against (strict: no coercion of 1.0 to 1 or "1" to 1).
_KIND_TYPES: dict[str, Any] = {
    "text": StrictStr,
    "title": Union[StrictStr, None],
    "id": Union[StrictStr, StrictInt],
    "label": Union[StrictStr, StrictInt],
    "binary": Union[Literal[0, 1], StrictBool],
    "score": Annotated[StrictInt, Field(ge=0)],
}
#: What to do about a value of the wrong kind, per kind (the fix part of a finding).
KIND_FIX: dict[str, str] = {
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


_ARROW_OK: dict[str, Any] = {
    "text": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    "title": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t),
    "id": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t),
    "label": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t),
    "binary": lambda t: pa.types.is_integer(t) or pa.types.is_boolean(t),
    "score": pa.types.is_integer,
}


def check_parquet_types(t: Table, columns: Mapping[str, str]) -> list[Finding]:
    """A parquet table's columns against the layout, from its Arrow schema: present, of their kind, no nulls.

    Args:
        t: the table as read (``t.arrow`` set).
        columns: column name -> kind, from :data:`LAYOUT`.

    Returns:
        One finding per column that is missing, of the wrong type, null somewhere or (relevance) negative.
    """
    out: list[Finding] = []
    schema = t.arrow.schema  # type: ignore[union-attr]
    for col, kind in columns.items():
        if col not in schema.names:
            if col not in OPTIONAL_COLUMNS:
                out.append(t.finding(col, "column is missing", f"add the column: {KIND_FIX[kind]}"))
            continue
        arr = t.arrow.column(col)  # type: ignore[union-attr]
        if not _ARROW_OK[kind](arr.type):
            out.append(t.finding(col, f"column has type {arr.type}", KIND_FIX[kind]))
        elif arr.null_count and kind != "title":
            idx = pc.indices_nonzero(pc.is_null(arr)).to_pylist()
            out.append(t.finding(col, "is null", KIND_FIX[kind], idx))
        elif kind == "score" and len(arr) and pc.min(arr).as_py() < 0:
            idx = pc.indices_nonzero(pc.less(arr, 0)).to_pylist()
            out.append(t.finding(col, "is negative", KIND_FIX[kind], idx))
    return out


def check_row_types(t: Table, columns: Mapping[str, str]) -> list[Finding]:
    """JSON-lines rows: every column on every row, each value of its kind (pydantic, strict).

    When every value is right, ``t.arrow`` is filled with the checked columns (ids and labels as strings), for the
    checks across rows.

    Args:
        t: the table as read (``t.rows`` set).
        columns: column name -> kind, from :data:`LAYOUT`.

    Returns:
        One finding per column and kind of problem (missing, null, wrong type), naming the first lines.
    """
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
                example = "" if what in ("is missing", "is null") else f" ({short_repr(values[idx[0]])})"
                fix = f"add it to every row: {KIND_FIX[kind]}" if what == "is missing" else KIND_FIX[kind]
                if what == "is missing" and len(idx) == len(values):  # no row has it: a misnamed column
                    present = sorted({k for r in rows for k in r})[:8]
                    out.append(t.finding(col, f"column is missing (the rows have {', '.join(present)})",
                                         f"name the column '{col}': {KIND_FIX[kind]}"))
                    continue
                if kind == "binary":
                    found = sorted({short_repr(values[i]) for i in bad})
                    what, example = "is not binary", f" (found {', '.join(found[:10])})"
                    out.append(t.finding(col, f"{what}{example}", fix, bad))
                    break
                out.append(t.finding(col, f"{what}{example}", fix, idx))
            continue
        if kind == "label":
            texts = [i for i, v in enumerate(values) if isinstance(v, str)]
            if texts and len(texts) != len(values):  # 1 and "1" would become one class when loaded
                numbers = [i for i, v in enumerate(values) if not isinstance(v, str)]
                out.append(t.finding(col, f"mixes text labels ({short_repr(values[texts[0]])}) and numbers "
                                          f"({short_repr(values[numbers[0]])})",
                                     "write every label the same way: all text or all integers", numbers))
                continue
        if kind in ("id", "label"):
            values = [str(v) for v in values]
        elif kind == "binary":
            values = [int(v) for v in values]
        arrays[col] = pa.array(values)
    if not out:
        t.arrow = pa.table(arrays) if arrays else pa.table({})
    return out
