"""The wheel ships the task YAMLs, and an installed (non-editable) medeval finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="hatchling (dev extra) builds the wheel offline")
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-w", str(out), "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return next(out.glob("medeval_mteb-*.whl"))


def test_wheel_contains_all_task_yamls(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    yamls = [n for n in names if n.startswith("medeval/_tasks/") and n.endswith(".yaml") and n.count("/") == 2]
    assert len(yamls) == len(list((REPO / "tasks").glob("*.yaml")))  # every packaged task
    benchmarks = {n.rsplit("/", 1)[1] for n in names if n.startswith("medeval/_tasks/benchmarks/")}
    assert benchmarks == {"MedEval-v1.yaml", "MedEval-Terms-v1.yaml"}
    assert "medeval/cli/__init__.py" in names
    assert not any(n.startswith("tests/") for n in names)


def test_unpacked_wheel_finds_its_tasks(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = "import medeval, medeval.paths as p; print(p.packaged_specs_dir()); print(len(medeval.get_tasks()))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    folder, count = proc.stdout.split()[-2:]
    assert folder == str(tmp_path / "medeval" / "_tasks") and count == str(len(list((REPO / "tasks").glob("*.yaml"))))
