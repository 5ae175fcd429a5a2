"""What the data checks work on and produce: a :class:`Table` as read (Arrow for the checks, rows for the loader)
and a :class:`Finding`, one problem that prints as one line naming the file, the line or row, the field and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

Severity = Literal["error", "warning"]
SHOWN = 5  # line numbers shown per finding


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
        """``"line"`` for a JSON-lines file, ``"row"`` for parquet: how findings count places in it."""
        return "line" if self.path.suffix == ".jsonl" else "row"

    @property
    def num_rows(self) -> int:
        """How many rows the table has."""
        return self.arrow.num_rows if self.arrow is not None else len(self.rows or [])

    def numbers(self, indices: Iterable[int]) -> tuple[int, ...]:
        """0-based row indices -> the line numbers (jsonl, blank lines skipped) or 1-based row numbers.

        Args:
            indices: 0-based row indices; only the first :data:`SHOWN` are converted.

        Returns:
            The numbers a reader finds in an editor (jsonl) or a dataframe viewer counting from 1 (parquet).
        """
        indices = list(indices)[:SHOWN]
        if self.unit == "row" or not indices:
            return tuple(i + 1 for i in indices)
        if self._lines is None:
            with self.path.open("rb") as f:
                self._lines = [n for n, line in enumerate(f, 1) if line.strip()]
        return tuple(self._lines[i] if i < len(self._lines) else i + 1 for i in indices)

    def finding(self, field_: str, problem: str, fix: str, indices: Sequence[int] = (), n: int | None = None,
                severity: Severity = "error") -> Finding:
        """A finding in this table.

        Args:
            field_: the column ("" for the table itself).
            problem: what is wrong.
            fix: what to do.
            indices: 0-based indices of the offending rows.
            n: how many rows have the problem (default ``len(indices)``).
            severity: "error" or "warning".

        Returns:
            The :class:`Finding`, naming the file and the first offending lines or rows.
        """
        return Finding(str(self.path), field_, problem, fix, self.numbers(indices), len(indices) if n is None else n,
                       self.unit, severity)

    def to_rows(self) -> list[dict[str, Any]]:
        """The rows for the loader: a JSON-lines file's rows as read, or the parquet table's rows.

        Returns:
            One dict per row, column name -> value.
        """
        return self.rows if self.rows is not None else self.arrow.to_pylist()  # type: ignore[union-attr]


def short_repr(value: Any) -> str:
    """A value's ``repr`` cut to at most 40 characters, for a finding's message.

    Args:
        value: any value found in a table.

    Returns:
        ``repr(value)``, or its first 37 characters and ``...``.

    Example:
        >>> short_repr("x" * 50)
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
