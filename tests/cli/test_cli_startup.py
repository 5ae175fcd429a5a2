"""``medeval tasks``, ``show`` and ``cite`` answer from the task YAMLs without importing mteb, torch or scikit-learn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO

HEAVY = ("mteb", "torch", "sklearn")


def _modules_after(argv: list[str], home: Path) -> tuple[int, list[str], str]:
    """Run the CLI's ``main(argv)`` in a fresh interpreter; its exit code, which of :data:`HEAVY` got imported and stdout."""
    code = textwrap.dedent(f"""
        import contextlib, io, json, sys
        from medeval.cli.main import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main({argv!r})
        print(json.dumps([code, sorted(m for m in {HEAVY!r} if m in sys.modules), out.getvalue()]))
    """)
    env = {k: v for k, v in os.environ.items() if k != "MEDEVAL_INCLUDE_PATH"}
    env.update(MEDEVAL_HOME=str(home), HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rc, loaded, stdout = json.loads(proc.stdout.strip().splitlines()[-1])
    return rc, loaded, stdout


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["tasks"], "\nWikiSyndromesClassification\tClassification\t"),  # piped: tab-separated rows
        (["tasks", "-b", "terms", "--type", "Retrieval", "--format", "json"], '"name": "HPOLaypersonRetrieval"'),
        (["show", "retrieval_medquad_dataset"], "name: MedQuADRetrieval"),
        (["cite", "WikiSyndromesClassification", "HPOLaypersonRetrieval"], "@article{khodadad2025medte"),
        (["cite", "-b", "MedEval-Terms(v1)"], "@article{muennighoff2022mteb"),
    ],
)
def test_catalogue_commands_import_no_mteb(tmp_path: Path, argv: list[str], needle: str) -> None:
    rc, loaded, stdout = _modules_after(argv, tmp_path)
    assert rc == 0 and needle in stdout, (rc, stdout[-1000:])
    assert loaded == [], f"medeval {' '.join(argv)} imported {loaded}"
    if argv == ["tasks"]:  # a header line, then every packaged task
        assert len(stdout.strip().splitlines()) == 1 + len(list((REPO / "tasks").glob("*.yaml")))


def test_user_tasks_still_go_through_the_catalogue(tmp_path: Path, examples_dir: Path) -> None:
    """A user task folder is checked against mteb's metadata rules, so there mteb is imported (and the task listed)."""
    rc, loaded, stdout = _modules_after(["tasks", "--include-path", str(examples_dir), "--format", "json"], tmp_path)
    assert rc == 0 and "mteb" in loaded
    assert '"name": "ClinicTriage"' in stdout and '"name": "SymptomSearch"' in stdout, stdout[-1000:]
