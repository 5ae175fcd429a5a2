"""medeval.fsutil: atomic writes, folder swaps and modes under the umask, stale temp files."""

from __future__ import annotations

import errno
import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from medeval import fsutil


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_replaces_whole_file_with_umask_mode(tmp_path: Path, umask022: None) -> None:
    path = tmp_path / "sub" / "a.json"
    fsutil.atomic_write_json(path, {"a": 1})
    fsutil.atomic_write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert mode(path) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["a.json"]  # no temp file left


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", full)
    with pytest.raises(OSError):
        fsutil.atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_staged_dir_gets_0755_under_umask_022(tmp_path: Path, umask022: None) -> None:
    dest = tmp_path / "site"
    with fsutil.staged_dir(dest) as stage:
        (stage / "sub").mkdir()
        (stage / "sub" / "f.txt").write_text("x")
    assert mode(dest) == 0o755 and mode(dest / "sub") == 0o755 and mode(dest / "sub" / "f.txt") == 0o644
    with fsutil.staged_dir(dest) as stage:  # replacing keeps the mode and drops the old content
        (stage / "g.txt").write_text("y")
    assert mode(dest) == 0o755 and sorted(p.name for p in dest.iterdir()) == ["g.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_staged_dir_failure_keeps_the_old_folder(tmp_path: Path) -> None:
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "keep.txt").write_text("k")
    with pytest.raises(RuntimeError), fsutil.staged_dir(dest) as stage:
        (stage / "half.txt").write_text("h")
        raise RuntimeError("builder crashed")
    assert [p.name for p in tmp_path.iterdir()] == ["data"] and (dest / "keep.txt").exists()


def test_umask_027_is_followed_too(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert fsutil.current_umask() == 0o027
        with fsutil.staged_dir(tmp_path / "d") as stage:
            (stage / "f").write_text("x")
        fsutil.atomic_write_text(tmp_path / "g", "x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "d") == 0o750 and mode(tmp_path / "g") == 0o640


def _dead_pid() -> int:
    proc = multiprocessing.get_context("fork").Process(target=lambda: None)
    proc.start()
    proc.join()
    return int(proc.pid)  # type: ignore[arg-type]


def test_remove_stale_temps_keeps_live_writers(tmp_path: Path) -> None:
    dead = tmp_path / f".model_meta.json.{_dead_pid()}.ab12cd_e.tmp"
    live = tmp_path / f".model_meta.json.{os.getpid()}.zz12cd_e.tmp"
    old_style = tmp_path / ".run_settings.jsonl.k3j4h5g6.tmp"  # older medeval: no pid in the name
    fresh_old_style = tmp_path / ".Task.json.q1w2e3r4.tmp"
    other = tmp_path / "Task.json"
    for p in (dead, live, old_style, fresh_old_style, other):
        p.write_text("x")
    past = time.time() - 2 * fsutil.STALE_TEMP_AGE
    os.utime(old_style, (past, past))
    removed = fsutil.remove_stale_temps(tmp_path)
    assert removed == sorted([dead, old_style])
    assert live.exists() and fresh_old_style.exists() and other.exists()


def test_built_task_data_folder_is_0755_under_umask_022(tmp_path: Path, umask022: None) -> None:
    from medeval.data import write_task_data

    folder = tmp_path / "tasks" / "DemoTask"
    write_task_data(folder, {"data/test": [{"text": "a", "label": "x"}]}, manifest={"builder": "demo"})
    assert mode(folder) == 0o755 and mode(folder / "data") == 0o755 and mode(folder / "manifest.json") == 0o644
    assert sorted(p.name for p in folder.parent.iterdir()) == ["DemoTask"]  # no stage folder left


def test_stage_folders_of_killed_builds_are_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    left = [tmp_path / f".T.{dead}.ab_12cde.stage", tmp_path / f".T.old-{dead}"]
    live = tmp_path / f".T.{os.getpid()}.zz_12cde.stage"
    other = tmp_path / f".U.{dead}.ab_12cde.stage"
    for p in (*left, live, other):
        (p / "sub").mkdir(parents=True)
    with fsutil.staged_dir(tmp_path / "T") as stage:
        (stage / "f").write_text("x")
    assert not any(p.exists() for p in left) and live.exists() and other.exists() and (tmp_path / "T" / "f").exists()
