"""Checking a task's data folder: read every table, run the rules (column types, then the checks across rows) and
keep the stamp that lets a later load of unchanged built data skip the checks across rows
(``benchmarks/check_overhead.py`` measures what the checks add to a load).

    >>> from medeval.checks import read_checked_tables
    >>> tables = read_checked_tables(folder, "Retrieval", ["corpus/test", "queries/test", "qrels/test"])
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from medeval import data as datamod
from medeval.checks.across_rows import check_across_rows
from medeval.checks.column_types import LAYOUT, check_parquet_types, check_row_types
from medeval.checks.table import Finding, Table
from medeval.errors import DataCheckError, MedEvalError
from medeval.fsutil import atomic_write_json
from medeval.jsonl import iter_jsonl

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------- reading
def _read(folder: Path, name: str) -> tuple[Table | None, list[Finding]]:
    try:
        path = datamod.table_path(folder, name)
    except MedEvalError as err:  # the table in two files: its own line names both and the fix
        return None, [Finding(str(folder / name), "", "", "", text=str(err))]
    if path is None:
        return None, [Finding(str(folder / name), "", f"missing table '{name}'",
                              f"add {name}.parquet or {name}.jsonl (layout: see medeval.data)")]
    if path.suffix == ".parquet":
        try:
            return Table(name, path, arrow=pq.read_table(path)), []
        except (pa.ArrowException, OSError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            return None, [Finding(str(path), "", f"unreadable parquet ({first})", "rebuild or re-export the table")]
    try:
        rows = list(iter_jsonl(path))
    except UnicodeDecodeError:
        return None, [_utf8_finding(path)]
    except MedEvalError as err:  # iter_jsonl's own line: file, line, what is wrong and the fix
        return None, [Finding(str(path), "", "", "", text=str(err))]
    except OSError as err:
        return None, [Finding(str(path), "", f"cannot read ({err.strerror or type(err).__name__})",
                              "check the file's permissions")]
    return Table(name, path, rows=rows), []


def _utf8_finding(path: Path) -> Finding:
    """The first line of ``path`` that is not UTF-8, as a finding that says how to re-encode the file."""
    fix = f"re-encode the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 {path.name} > fixed.jsonl`)"
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                problem = f"not UTF-8 text (byte 0x{line[err.start]:02x} at column {err.start + 1})"
                return Finding(str(path), "", problem, fix, (lineno,), 1, "line")
    return Finding(str(path), "", "not UTF-8 text", fix)


def check_tables(task_type: str, tables: Mapping[str, Table], train_split: str = "train",
                 eval_splits: Sequence[str] = ("test",), cross_rows: bool = True) -> list[Finding]:
    """Every finding in a task's tables, already read (:func:`read_and_check` reads them).

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
        out += check_parquet_types(t, columns) if t.rows is None else check_row_types(t, columns)
    if not cross_rows or any(f.severity == "error" for f in out):
        return out  # cross-row checks only on well-typed tables
    return out + check_across_rows(task_type, tables, train_split, eval_splits)


CHECKS_VERSION = 2  # raise when a check is added or changed: every stamp is then stale
STAMP = ".checked.json"


def _stamp(folder: Path, tables: Mapping[str, Table]) -> dict[str, Any] | None:
    """What a clean check of built data is valid for: the checks' version and each file's size, mtime and inode."""
    if not (folder / datamod.MANIFEST).is_file() or any(t.rows is not None for t in tables.values()):
        return None  # only built (parquet) data; a user's own folder is checked every time and never written to
    try:
        stats = {n: t.path.stat() for n, t in tables.items()}
    except OSError:
        return None
    return {"checks": CHECKS_VERSION,
            "tables": {n: [st.st_size, st.st_mtime_ns, st.st_ino] for n, st in sorted(stats.items())}}


def _stamp_matches(folder: Path, stamp: dict[str, Any] | None) -> bool:
    if stamp is None:
        return False
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8")) == stamp
    except (OSError, ValueError):
        return False


def read_and_check(folder: str | Path, task_type: str, names: Sequence[str], train_split: str = "train",
                   eval_splits: Sequence[str] = ("test",),
                   use_stamp: bool = True) -> tuple[dict[str, list[dict[str, Any]]], list[Finding]]:
    """Read a task's tables and check them; rows are returned only when no finding is an error.

    Built data (a folder with ``manifest.json``) that passed every check gets a stamp (``.checked.json``: the
    checks' version and each table file's size, mtime and inode); while the stamp matches, later loads check the
    column types and nulls only (from the parquet schema, microseconds) and skip the checks across rows. Any change
    to a file, or a new version of the checks, runs them all again.

    Args:
        folder: the task's data folder (layout: :mod:`medeval.data`).
        task_type: "Classification", "Clustering", "PairClassification" or "Retrieval".
        names: the tables, as ``"<config>/<split>"`` (e.g. ``["data/train", "data/test"]``).
        train_split: the classification training split.
        eval_splits: the splits that are scored.
        use_stamp: skip the checks across rows of built data whose stamp matches, and stamp a clean check
            (``medeval check`` passes False: it runs every check and writes nothing).

    Returns:
        ``(tables, findings)``: rows per table name (empty if any finding is an error) and every finding.
    """
    folder = Path(folder)
    read: dict[str, Table] = {}
    findings: list[Finding] = []
    for name in names:
        table, problems = _read(folder, name)
        findings += problems
        if table is not None:
            read[name] = table
    if findings:
        return {}, findings
    stamp = _stamp(folder, read)
    fresh = use_stamp and _stamp_matches(folder, stamp)
    findings = check_tables(task_type, read, train_split, eval_splits, cross_rows=not fresh)
    if any(f.severity == "error" for f in findings):
        return {}, findings
    if use_stamp and stamp is not None and not fresh and not findings:
        try:
            atomic_write_json(folder / STAMP, stamp)
        except OSError as err:  # a read-only shared data folder: check again next time
            logger.debug("cannot write %s: %s", folder / STAMP, err)
    return {name: t.to_rows() for name, t in read.items()}, findings


def read_checked_tables(folder: str | Path, task_type: str, names: Sequence[str], train_split: str = "train",
                        eval_splits: Sequence[str] = ("test",)) -> dict[str, list[dict[str, Any]]]:
    """Read and check a task's tables: the rows per table, warnings logged.

    Args:
        folder: the task's data folder (layout: :mod:`medeval.data`).
        task_type: "Classification", "Clustering", "PairClassification" or "Retrieval".
        names: the tables, as ``"<config>/<split>"``.
        train_split: the classification training split.
        eval_splits: the splits that are scored.

    Returns:
        Table name -> its rows (dicts), when no finding is an error.

    Raises:
        DataCheckError: one line per finding when any is an error (``err.findings`` holds them).

    Example::

        >>> rows = read_checked_tables("my_tasks/data/ClinicTriage", "Classification", ["data/train", "data/test"])
        >>> rows["data/test"][0]
        {'text': 'crushing chest pain on exertion', 'label': 'cardiac'}
    """
    tables, findings = read_and_check(folder, task_type, names, train_split, eval_splits)
    errors = [f for f in findings if f.severity == "error"]
    for f in findings:
        if f.severity == "warning":
            logger.warning("%s", f)
    if errors:
        raise DataCheckError([str(f) for f in errors])
    return tables


def check_task(task: Any) -> tuple[list[Finding], dict[str, int], str | None]:
    """Check one medeval task's data without loading a model; ``medeval check`` runs this per task.

    Args:
        task: an mteb task object from :func:`medeval.get_task` (its class has ``spec`` and ``data_folder``).

    Returns:
        ``(findings, sizes, revision)``: every finding, the rows per table and the data's content hash (the built
        manifest's, or the hash of a user task's tables: what its YAML may pin as ``dataset.revision``); sizes and
        revision are empty when an error was found.
    """
    folder = Path(task.data_folder())
    tables, findings = read_and_check(folder, task.spec.type, task.table_names(),
                                      getattr(task, "train_split", "train"), list(task.metadata.eval_splits),
                                      use_stamp=False)
    if not tables:
        return findings, {}, None
    manifest = datamod.read_manifest(folder)
    revision = str(manifest["revision"]) if manifest else datamod.content_hash(tables)
    return findings, {name: len(rows) for name, rows in tables.items()}, revision
