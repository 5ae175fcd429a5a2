"""Built task data on disk: one Hub-layout folder per task, written atomically, identified by a content hash.

Layout of ``<data folder>/tasks/<TaskName>/`` (the same layout a Hub dataset repo of the task has, and the
layout a user's own task folder must have; each table as ``<config>/<split>.parquet`` or ``.jsonl``, not both)::

    Classification       data/train.parquet, data/test.parquet        columns: text, label
    Clustering           data/test.parquet                            columns: sentences, labels
    PairClassification   data/test.parquet                            columns: sentence1, sentence2, labels (0/1)
    Retrieval            corpus/test.parquet    columns: id, text (title optional)
                         queries/test.parquet   columns: id, text
                         qrels/test.parquet     columns: query-id, corpus-id, score
    manifest.json        content hash, builder parameters, source record ids and versions, tool versions
    stats.json           descriptive statistics (sizes, label counts, text lengths)
    README.md            Hub dataset card: configs pointing at the parquet files

The content hash covers the rows only (canonical JSON, sorted table names), so it does not depend on the
parquet writer: the same rows always give the same revision.

    >>> from medeval.data import write_task_data, read_table
    >>> rev = write_task_data(folder, {"data/test": rows}, manifest={"builder": "demo"})  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from medeval.errors import DataNotBuiltError, SourceError
from medeval.fsutil import staged_dir
from medeval.jsonl import iter_jsonl

MANIFEST = "manifest.json"
STATS = "stats.json"

#: Columns each task type's tables must have.
REQUIRED_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "Classification": {"data": ("text", "label")},
    "Clustering": {"data": ("sentences", "labels")},
    "PairClassification": {"data": ("sentence1", "sentence2", "labels")},
    "Retrieval": {"corpus": ("id", "text"), "queries": ("id", "text"), "qrels": ("query-id", "corpus-id", "score")},
}

Rows = list[dict[str, Any]]


def _canonical(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def content_hash(tables: Mapping[str, Rows]) -> str:
    """sha256 over the rows of every table, in canonical form; the first 16 hex digits are the revision.

    Rows are written as compact JSON with sorted keys, tables in sorted name order, so the hash depends on the rows
    only (not on dict order or the parquet writer).

    Args:
        tables: ``"<config>/<split>"`` -> rows (JSON-able dicts; NaN is refused).

    Returns:
        16 hex digits: the task's data revision.

    Raises:
        ValueError: a row holds NaN or infinity.
        TypeError: a row holds a value JSON cannot write.

    Example:
        >>> a = content_hash({"data/test": [{"text": "a", "label": 0}]})
        >>> a == content_hash({"data/test": [{"label": 0, "text": "a"}]}), len(a)
        (True, 16)
    """
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(f"\x00table:{name}\n".encode())
        for row in tables[name]:
            h.update(_canonical(row).encode("utf-8"))
            h.update(b"\n")
    return h.hexdigest()[:16]


def _write_parquet(rows: Rows, path: Path) -> None:
    import pyarrow as pa  # here, not at the top: reading a manifest (``medeval tasks``) needs no pyarrow
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    # fixed writer options: the same rows with the same pyarrow give byte-identical files
    pq.write_table(table, path, compression="zstd", use_dictionary=True, write_statistics=False)


def _dataset_card(task_name: str, tables: Iterable[str], revision: str) -> str:
    configs: dict[str, list[str]] = {}
    for name in sorted(tables):
        config, split = name.split("/")
        configs.setdefault(config, []).append(split)
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        hub_config = "default" if config == "data" else config
        lines.append(f"- config_name: {hub_config}")
        lines.append("  data_files:")
        for split in splits:
            lines.append(f"  - split: {split}")
            lines.append(f"    path: {config}/{split}.parquet")
    lines += ["---", "", f"# {task_name}", "", f"Built by medeval; content hash `{revision}`. See manifest.json.", ""]
    return "\n".join(lines)


def write_task_data(
    folder: str | Path,
    tables: Mapping[str, Rows],
    *,
    manifest: Mapping[str, Any],
    stats: Mapping[str, Any] | None = None,
) -> str:
    """Write a task's tables atomically into ``folder`` and return the content-hash revision.

    The folder is assembled in a temporary sibling and swapped in with a rename, so a crash never leaves half a task.
    It gets one parquet file per table (zstd, fixed writer options), ``manifest.json`` (task, revision, tables and the
    given manifest), ``stats.json`` when ``stats`` is given, and a Hub dataset card (``README.md``).

    Args:
        folder: the task's folder, ``<data folder>/tasks/<TaskName>`` (its name is the task name); replaced if it
            exists.
        tables: ``"<config>/<split>"`` (e.g. ``"data/test"``, ``"corpus/test"``) -> rows.
        manifest: builder parameters, source record ids and versions, tool versions.
        stats: descriptive statistics (:func:`describe`), or None.

    Returns:
        The revision, :func:`content_hash` of ``tables``.

    Raises:
        ValueError: a table name is not ``<config>/<split>``.
        OSError: the folder cannot be written.
    """
    folder = Path(folder)
    for name in tables:
        if name.count("/") != 1:
            raise ValueError(f"table name {name!r} must be '<config>/<split>'")
    revision = content_hash(tables)
    with staged_dir(folder) as tmp:  # folder modes follow the umask (shared data folders stay readable)
        for name, rows in tables.items():
            _write_parquet(list(rows), tmp / f"{name}.parquet")
        full_manifest = {"task": folder.name, "revision": revision, "tables": sorted(tables), **manifest}
        full_manifest["revision"] = revision
        (tmp / MANIFEST).write_text(json.dumps(full_manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        if stats is not None:
            (tmp / STATS).write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
        (tmp / "README.md").write_text(_dataset_card(folder.name, tables, revision))
    return revision


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The task's manifest, or None if the folder holds no built data.

    Args:
        folder: a task folder.

    Returns:
        The parsed ``manifest.json`` (``revision``, ``tables``, builder parameters, sources, versions), or None.

    Raises:
        DataNotBuiltError: the manifest is not valid JSON (the message says how to rebuild).
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataNotBuiltError(
            f"{path}: corrupt manifest ({err.msg} at line {err.lineno}); rebuild the task with `medeval build -t {Path(folder).name}`"
        ) from None


def table_path(folder: str | Path, name: str) -> Path | None:
    """The file of table ``<config>/<split>`` (parquet or jsonl), or None.

    Args:
        folder: a task folder.
        name: the table, e.g. ``"qrels/test"``.

    Returns:
        ``<folder>/<name>.parquet`` or ``<folder>/<name>.jsonl``, whichever exists, else None.

    Raises:
        SourceError: both exist (which one holds the task's rows would be a guess); the message names both files
            and says to keep one.
    """
    found = [p for p in (Path(folder) / f"{name}.parquet", Path(folder) / f"{name}.jsonl") if p.is_file()]
    if len(found) == 2:
        raise SourceError(f"{found[0]} and {found[1]} both hold table '{name}'; keep one of the two files "
                          "(delete or move the other)")
    return found[0] if found else None


def read_table(folder: str | Path, name: str) -> Rows:
    """Rows of table ``<config>/<split>`` from parquet or jsonl.

    Args:
        folder: a task folder (built, or a user's own task folder).
        name: the table, e.g. ``"data/test"``.

    Returns:
        The rows as dicts, in file order.

    Raises:
        DataNotBuiltError: neither ``<name>.parquet`` nor ``<name>.jsonl`` exists.
        SourceError: the file cannot be read, or both exist (the message names the files).
    """
    path = table_path(folder, name)
    if path is None:
        raise DataNotBuiltError(f"{folder}: missing table '{name}' (expected {name}.parquet or {name}.jsonl)")
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except (pa.ArrowInvalid, OSError) as err:
            raise SourceError(f"{path}: unreadable parquet ({err}); rebuild or re-export the table") from None
    return list(iter_jsonl(path))


def check_columns(folder: str | Path, task_type: str, tables: Mapping[str, Rows]) -> None:
    """Raise SourceError if a table lacks a column its task type needs (:data:`REQUIRED_COLUMNS`; first row checked).

    Args:
        folder: the task folder, named in the message.
        task_type: ``"Classification"``, ``"Clustering"``, ``"PairClassification"`` or ``"Retrieval"``.
        tables: ``"<config>/<split>"`` -> rows.

    Raises:
        SourceError: one line naming the table, the missing columns and the columns needed.
        KeyError: ``task_type`` is not one of the four.
    """
    for name, rows in tables.items():
        config = name.split("/")[0]
        need = REQUIRED_COLUMNS[task_type].get(config)
        if need is None or not rows:
            continue
        missing = [c for c in need if c not in rows[0]]
        if missing:
            raise SourceError(
                f"{Path(folder) / name}: missing column(s) {', '.join(missing)}; a {task_type} table '{config}' needs {', '.join(need)}"
            )


def describe(task_type: str, tables: Mapping[str, Rows]) -> dict[str, Any]:
    """Descriptive statistics: per table its size, label counts and text lengths (medeval's ``stats.json``).

    Args:
        task_type: the task type, recorded as ``task_type``.
        tables: ``"<config>/<split>"`` -> rows.

    Returns:
        Per table ``{"num_rows", "<column>_length": {"min", "mean", "max"} (characters), "label_counts"}``, plus
        ``num_queries_with_relevant`` for a qrels table, and ``"task_type"``.

    Example:
        >>> describe("Classification", {"data/test": [{"text": "ab", "label": 1}]})["data/test"]
        {'num_rows': 1, 'text_length': {'min': 2, 'mean': 2.0, 'max': 2}, 'label_counts': {'1': 1}}
    """

    def lengths(values: list[str]) -> dict[str, float]:
        n = [len(v) for v in values] or [0]
        return {"min": min(n), "mean": round(sum(n) / len(n), 2), "max": max(n)}

    out: dict[str, Any] = {}
    for name, rows in sorted(tables.items()):
        entry: dict[str, Any] = {"num_rows": len(rows)}
        if rows:
            for col in ("text", "sentences", "sentence1", "sentence2"):
                if col in rows[0]:
                    entry[f"{col}_length"] = lengths([str(r[col]) for r in rows])
            for col in ("label", "labels"):
                if col in rows[0]:
                    counts: dict[str, int] = {}
                    for r in rows:
                        counts[str(r[col])] = counts.get(str(r[col]), 0) + 1
                    entry["label_counts"] = dict(sorted(counts.items()))
            if name.startswith("qrels/"):
                entry["num_queries_with_relevant"] = len({r["query-id"] for r in rows})
        out[name] = entry
    out["task_type"] = task_type
    return out
