"""medeval.locks: the file lock excludes another process and times out with one line."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from medeval import locks
from medeval.errors import MedEvalError


def _hold(path: str, ready: object, seconds: float) -> None:
    with locks.file_lock(path):
        ready.set()  # type: ignore[attr-defined]
        time.sleep(seconds)


def test_file_lock_excludes_another_process_and_times_out_with_a_line(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold, args=(str(tmp_path / ".x.lock"), ready, 3.0))
    proc.start()
    try:
        assert ready.wait(10)
        with pytest.raises(MedEvalError, match="another medeval process"), locks.file_lock(tmp_path / ".x.lock", timeout=0.2):
            pass
    finally:
        proc.join()
    with locks.file_lock(tmp_path / ".x.lock", timeout=1):  # free again once the holder is gone
        pass
