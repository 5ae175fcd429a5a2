"""medeval.os_errors: one line per OSError (path, cause, fix) and the writable-folder check."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from medeval import os_errors
from medeval.errors import MedEvalError


def test_describe_os_error_names_path_cause_and_fix(tmp_path: Path) -> None:
    err = OSError(errno.ENOSPC, "No space left on device")
    line = os_errors.describe_os_error(err, tmp_path / "x.json", "free space, or choose another --output-dir")
    assert line == f"{tmp_path / 'x.json'}: cannot write (no space left on the device); free space, or choose another --output-dir"
    arrow_style = OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
    assert "no space left on the device" in os_errors.describe_os_error(arrow_style, "data/T")
    assert "\n" not in os_errors.describe_os_error(OSError("a\nb"), "p")


def test_check_writable_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("I am a file")
    with pytest.raises(MedEvalError) as info:
        os_errors.check_writable(blocker / "results", "--output-dir")
    msg = str(info.value)
    assert "\n" not in msg and str(blocker) in msg and "--output-dir" in msg
    assert os_errors.check_writable(tmp_path / "ok" / "results", "--output-dir").is_dir()
    assert list((tmp_path / "ok" / "results").iterdir()) == []  # the probe file is gone
