"""Built-data layout: content hash, atomic writes, parquet round trip, descriptive stats."""

from __future__ import annotations

from pathlib import Path

import pytest

from medeval import data as datamod

ROWS = {"data/test": [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}], "data/train": [{"text": "c", "label": "x"}]}


def test_hash_depends_on_rows_only() -> None:
    h = datamod.content_hash(ROWS)
    assert len(h) == 16
    assert datamod.content_hash(dict(reversed(list(ROWS.items())))) == h
    changed = {**ROWS, "data/test": [{"text": "a", "label": "x"}, {"text": "B", "label": "y"}]}
    assert datamod.content_hash(changed) != h
    reordered = {**ROWS, "data/test": list(reversed(ROWS["data/test"]))}
    assert datamod.content_hash(reordered) != h  # row order is part of the data


def test_write_read_roundtrip_and_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "A" / "Task", tmp_path / "B" / "Task"
    ra = datamod.write_task_data(a, ROWS, manifest={"builder": "x"}, stats=datamod.describe("Classification", ROWS))
    rb = datamod.write_task_data(b, ROWS, manifest={"builder": "x"}, stats=datamod.describe("Classification", ROWS))
    assert ra == rb
    for name in ("data/test.parquet", "data/train.parquet", "manifest.json", "stats.json", "README.md"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert datamod.read_table(a, "data/test") == ROWS["data/test"]
    assert datamod.read_manifest(a)["revision"] == ra
    assert "config_name: default" in (a / "README.md").read_text()


def test_failed_write_leaves_old_data(tmp_path: Path) -> None:
    folder = tmp_path / "Task"
    rev = datamod.write_task_data(folder, ROWS, manifest={})
    with pytest.raises(ValueError):
        datamod.write_task_data(folder, {"data/test": [{"text": float("nan"), "label": 1}]}, manifest={})
    assert datamod.read_manifest(folder)["revision"] == rev
    assert [p.name for p in tmp_path.iterdir()] == ["Task"]  # no temp folders left behind


def test_describe_counts_labels() -> None:
    stats = datamod.describe("Classification", ROWS)
    assert stats["data/test"]["label_counts"] == {"x": 1, "y": 1}
    assert stats["data/test"]["text_length"] == {"min": 1, "mean": 1.0, "max": 1}


def test_atomic_writes_are_readable_by_others(tmp_path: Path) -> None:
    import os
    import stat

    from medeval.fsutil import atomic_write_json

    old = os.umask(0o022)
    try:
        path = atomic_write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_table_in_both_formats_is_an_error_naming_both(tmp_path: Path) -> None:
    """data/test.jsonl beside data/test.parquet: which one the task reads would be a guess, so neither is read."""
    from medeval.errors import SourceError

    datamod.write_task_data(tmp_path / "t", {"data/test": [{"text": "a", "label": "x"}]}, manifest={"task": "T"})
    (tmp_path / "t" / "data" / "test.jsonl").write_text('{"text": "b", "label": "y"}\n', encoding="utf-8")
    for call in (datamod.table_path, datamod.read_table):
        with pytest.raises(SourceError) as info:
            call(tmp_path / "t", "data/test")
        message = str(info.value)
        assert "\n" not in message and "test.parquet" in message and "test.jsonl" in message
        assert "keep one of the two files" in message
    (tmp_path / "t" / "data" / "test.parquet").unlink()
    assert datamod.read_table(tmp_path / "t", "data/test") == [{"text": "b", "label": "y"}]
