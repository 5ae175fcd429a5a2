"""The CLI: listings, cards, citations, and one-line errors with a non-zero exit."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import pytest

from medeval.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_tasks_json_v1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tasks", "--benchmark", "MedEval(v1)", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 51
    assert collections.Counter(r["type"] for r in rows) == {"Classification": 15, "Clustering": 11, "PairClassification": 12, "Retrieval": 13}
    assert all(r["paper_id"] for r in rows)


def test_tasks_terms_and_type_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tasks", "-b", "MedEval-Terms(v1)", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 11
    code, out, _ = run_cli(capsys, "tasks", "-b", "MedEval(v1)", "--type", "Clustering", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 11


def test_show_prints_the_card(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "show", "WikiSyndromesClassification")
    assert code == 0
    for needle in ("paper_id: classification_wiki_syndromes_dataset", "Syndromes affecting hearing", "main_score: f1", "access: open", "bibtex:"):
        assert needle in out


def test_cite_prints_bibtex(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "cite", "WikiSyndromesClassification")
    assert code == 0
    assert out.count("@") == 2 and "@article{khodadad2025medte," in out and "@misc{wikipedia2025," in out
    code, out, _ = run_cli(capsys, "cite", "--benchmark", "MedEval-Terms(v1)")
    assert code == 0 and "@article{gargano2024hpo," in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("show", "NoSuchTask"), "unknown task 'NoSuchTask'"),
        (("tasks", "--benchmark", "MedEval(v2)"), "unknown benchmark 'MedEval(v2)'"),
        (("cite",), "give a task name or --benchmark"),
        (("run", "-t", "NoSuchTask"), "unknown task 'NoSuchTask'"),
    ],
)
def test_errors_are_one_line(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert needle in err and err.startswith("error: ") and "Traceback" not in err + out


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["run"], ["tasks"], ["build"], ["site", "build"], ["validate"], ["submit"], ["cite"], ["train"]):
        code, out, _ = run_cli(capsys, *args, "--help")
        assert code == 0 and "Usage" in out, args


def test_module_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "medeval", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout and "run" in proc.stdout
