"""Benchmark files (tasks/benchmarks/*.yaml): one loader, aliases, membership checks, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from medeval import benchmarks
from medeval.benchmarks import (
    benchmark_names,
    canonical_name,
    check_membership,
    get_benchmark_spec,
)
from medeval.errors import SpecError, TaskNotFoundError
from medeval.paths import packaged_specs_dir
from medeval.spec import load_spec
from medeval.spec.benchmark import load_benchmark_spec

GOOD = """\
name: Demo(v1)
id: demo
title: Demo
order: 3
aliases: [dm]
description: A demo benchmark of two tasks for the loader's tests.
reference: https://example.org/demo
citation: |
  @misc{demo2026, title = {Demo}}
tasks: [TaskA, TaskB]
reported:
  source: a made-up table
  rows:
    - model: m1
      scores: {Classification: 0.5, Retrieval: 0.25}
"""


def _write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_benchmarks_in_display_order() -> None:
    assert benchmark_names() == ["MedEval(v1)", "MedEval-Terms(v1)"]
    v1 = get_benchmark_spec("MedEval(v1)")
    assert (v1.id, v1.title, len(v1.tasks)) == ("v1", "MedEval v1", 51)
    assert len(get_benchmark_spec("MedEval-Terms(v1)").tasks) == 11


@pytest.mark.parametrize("alias,expected", [
    ("medeval(v1)", "MedEval(v1)"), ("  V1 ", "MedEval(v1)"), ("medeval", "MedEval(v1)"),
    ("terms", "MedEval-Terms(v1)"), ("MEDEVAL-TERMS", "MedEval-Terms(v1)"), ("MedEval-Terms(v1)", "MedEval-Terms(v1)"),
])
def test_aliases_resolve(alias: str, expected: str) -> None:
    assert canonical_name(alias) == expected


def test_unknown_benchmark_suggests_the_closest() -> None:
    with pytest.raises(TaskNotFoundError, match=r"did you mean 'MedEval\(v1\)'"):
        canonical_name("MedEval(v2)")


def test_every_listed_task_names_its_benchmark() -> None:
    """The task list in each benchmark file and the 'benchmark:' field of each packaged task YAML agree."""
    tasks = {p.stem: load_spec(p).benchmark for p in packaged_specs_dir().glob("*.yaml")}
    check_membership(tasks)  # raises on any disagreement
    listed = [t for b in benchmarks.all_benchmarks() for t in b.tasks]
    assert sorted(listed) == sorted(t for t, b in tasks.items() if b is not None)


def test_membership_disagreement_names_file_field_and_task() -> None:
    tasks = {p.stem: load_spec(p).benchmark for p in packaged_specs_dir().glob("*.yaml")}
    tasks["WikiSyndromesClassification"] = "MedEval-Terms(v1)"
    with pytest.raises(SpecError) as err:
        check_membership(tasks)
    lines = str(err.value).splitlines()
    assert any("MedEval-v1.yaml: field 'tasks': WikiSyndromesClassification says" in line for line in lines)
    assert any("MedEval-Terms-v1.yaml: field 'tasks': WikiSyndromesClassification names this benchmark but is not listed"
               in line for line in lines)


def test_reported_rows_flatten(tmp_path: Path) -> None:
    spec = load_benchmark_spec(_write(tmp_path, GOOD))
    assert spec.reported_rows() == [{"Model": "m1", "Classification": 0.5, "Retrieval": 0.25}]
    v1 = get_benchmark_spec("v1").reported_rows()
    assert v1 and all(0 <= v <= 1 for row in v1 for k, v in row.items() if k != "Model")


@pytest.mark.parametrize("edit,message", [
    (("id: demo", "id: Demo Bench"), "field 'id': must be lower-case"),
    (("tasks: [TaskA, TaskB]", "tasks: [TaskA, TaskA]"), "tasks listed twice: TaskA"),
    (("Retrieval: 0.25", "Retrieval: 25"), "field 'reported.rows.0.scores'"),
    (("Retrieval: 0.25", "Search: 0.25"), "unknown task type(s) Search"),
    (("order: 3", "order: 3\ncolour: red"), "field 'colour': unknown field (allowed top-level fields: aliases"),
    (("  @misc{demo2026, title = {Demo}}", "  not bibtex"), "field 'citation'"),
])
def test_bad_field_is_one_line_naming_file_and_field(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = _write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(SpecError) as err:
        load_benchmark_spec(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"demo.yaml: line \d+, column \d+: invalid YAML"):
        load_benchmark_spec(_write(tmp_path, "name: [unclosed\n"))
    with pytest.raises(SpecError, match="no such benchmark file"):
        load_benchmark_spec(tmp_path / "absent.yaml")


def test_alias_clash_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "benchmarks").mkdir()
    _write(tmp_path / "benchmarks", GOOD, "a.yaml")
    _write(tmp_path / "benchmarks", GOOD.replace("name: Demo(v1)", "name: Other(v1)").replace("id: demo", "id: other"), "b.yaml")
    monkeypatch.setattr("medeval.paths.packaged_specs_dir", lambda: tmp_path)
    benchmarks._registry.cache_clear()
    try:
        with pytest.raises(SpecError, match=r"b.yaml: field 'aliases': 'dm' already names 'Demo\(v1\)'"):
            benchmarks.all_benchmarks()
    finally:
        benchmarks._registry.cache_clear()
