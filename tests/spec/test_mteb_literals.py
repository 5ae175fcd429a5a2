"""mteb's licence ids, read from its source without importing it, are exactly the ids mteb itself has."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import get_args

import pytest

from medeval.spec.mteb_literals import literal_values


def test_licence_ids_equal_mtebs_own() -> None:
    from mteb.abstasks.task_metadata import Licenses

    assert literal_values("mteb.abstasks.task_metadata", "Licenses") == get_args(Licenses)


def test_reading_them_imports_nothing_of_mteb() -> None:
    code = textwrap.dedent("""
        import sys
        from medeval.spec import check_license
        assert check_license("Apache-2.0") == "apache-2.0"
        print(sorted(m for m in ("mteb", "torch", "sklearn") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]


def test_follows_imports_and_gives_up_on_other_shapes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "fakepkg_literals"
    (pkg / "types").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('never executed')\n")
    (pkg / "types" / "__init__.py").write_text("from ._meta import Colours as Colours, Sizes\n")
    (pkg / "types" / "_meta.py").write_text("from typing import Literal\nColours = Literal['red', 'blue']\nSizes = int\n")
    (pkg / "user.py").write_text("from fakepkg_literals.types import Colours, Sizes\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert literal_values("fakepkg_literals.user", "Colours") == ("red", "blue")
    assert literal_values("fakepkg_literals.user", "Sizes") is None          # not a Literal: the caller imports instead
    assert literal_values("fakepkg_literals.user", "Missing") is None
    assert literal_values("no_such_package_anywhere.mod", "Colours") is None
    assert "fakepkg_literals" not in sys.modules
