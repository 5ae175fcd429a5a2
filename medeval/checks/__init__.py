"""Checks of a task's data, per task type, before any model sees it: one line per finding, never a silent score.

Every table of a task is read and checked when the task's data loads (user data and built data alike), and on its
own by ``medeval check TASK...``. A finding names the file, the line (JSON lines) or row (parquet, counted from 1),
the field, what is wrong and the fix::

    data/qrels/test.jsonl: line 3: field 'corpus-id': 'D4' is not an id in corpus/test (did you mean 'd4'?); ...

What is checked (the layouts are those of :mod:`medeval.data`):

* every table: it has rows; every column the layout documents is on every row, with its type (texts are strings,
  ids strings or integers, labels strings or integers, relevance scores integers >= 0); JSON-lines files decode
  as UTF-8 and hold one JSON object per line.
* Classification: at least two labels in train; every label of an evaluation split occurs in train.
* Clustering: at least two labels; not every cluster a single row (a warning when some are).
* PairClassification: labels are binary (0/1 or true/false); both positive and negative pairs occur.
* Retrieval: unique document and query ids; every qrels row names an existing query and document; one judgement
  per (query, document) pair.

Modules: :mod:`~medeval.checks.table` (a table as read, a finding), :mod:`~medeval.checks.column_types` (the
columns per task type and their kinds, checked per row), :mod:`~medeval.checks.across_rows` (ids, references and
label sets) and :mod:`~medeval.checks.task_folder` (reading a task's folder, running the rules, the stamp that lets
a later load of unchanged built data skip the checks across rows).

    >>> from medeval.checks import read_checked_tables
    >>> tables = read_checked_tables(folder, "Retrieval", ["corpus/test", "queries/test", "qrels/test"])
"""

from __future__ import annotations

from medeval.checks.column_types import LAYOUT
from medeval.checks.table import Finding, Table
from medeval.checks.task_folder import (
    CHECKS_VERSION,
    STAMP,
    check_tables,
    check_task,
    read_and_check,
    read_checked_tables,
)

__all__ = ["CHECKS_VERSION", "LAYOUT", "STAMP", "Finding", "Table", "check_tables", "check_task", "read_and_check",
           "read_checked_tables"]
