"""The one place medeval touches mteb internals (medeval/_mteb_registry.py): check mteb's own lookups see our tasks.

If a minor mteb release moves its registries, these tests fail first and point at the workaround to update.
"""

from __future__ import annotations

import json
from pathlib import Path

import mteb
import pytest

import medeval  # noqa: F401  (registers the tasks)

TASKS = ["ICD10CMChapterClustering", "MedicalAbbreviationRetrieval"]


def test_mteb_get_task_and_get_tasks_find_medeval_tasks() -> None:
    task = mteb.get_task("WikiSyndromesClassification")
    assert task.metadata.name == "WikiSyndromesClassification"
    assert type(task).__module__ == "medeval.tasks"
    found = mteb.get_tasks(tasks=["MedQuADRetrieval", "HPOLaypersonRetrieval"])
    assert [t.metadata.name for t in found] == ["MedQuADRetrieval", "HPOLaypersonRetrieval"]
    medical = {t.metadata.name for t in mteb.get_tasks(domains=["Medical"], task_types=["PairClassification"], exclude_private=False)}
    assert "MimicChiefComplaintDiagnosisPairClassification" in medical


def test_mteb_get_benchmark() -> None:
    bench = mteb.get_benchmark("MedEval(v1)")
    assert len(bench.tasks) == 51
    assert len(mteb.get_benchmark("MedEval-Terms(v1)").tasks) == 11
    assert medeval.get_benchmark("terms") is mteb.get_benchmark("MedEval-Terms(v1)")


def _write_result(folder: Path, task: str, score: float, revision: str = "abc") -> None:
    t = medeval.get_task(task)
    key = t.metadata.main_score
    obj = {
        "dataset_revision": revision, "task_name": task, "mteb_version": mteb.__version__,
        "scores": {"test": [{"hf_subset": "default", "languages": ["eng-Latn"], "main_score": score, key: score}]},
        "evaluation_time": 1.0, "kg_co2_emissions": None,
    }
    (folder / f"{task}.json").write_text(json.dumps(obj))


def test_result_loaders_and_benchmark_get_score(tmp_path: Path) -> None:
    meta = mteb.get_model_meta("sentence-transformers/all-MiniLM-L6-v2")
    folder = tmp_path / "results" / meta.model_name_as_path() / meta.revision
    folder.mkdir(parents=True)
    (folder / "model_meta.json").write_text(json.dumps(meta.to_dict(), default=str))
    for task, score in zip(TASKS, (0.5, 0.7)):
        _write_result(folder, task, score)
    tr = mteb.TaskResult.from_disk(folder / f"{TASKS[0]}.json")
    assert tr.task_name == TASKS[0] and tr.get_score() == pytest.approx(0.5)
    cache = mteb.ResultCache(cache_path=tmp_path)
    res = cache.load_results(tasks=mteb.get_tasks(tasks=TASKS), include_remote=False)
    names = {r.task_name for m in res.model_results for r in m.task_results}
    assert names == set(TASKS)
    bench = mteb.Benchmark(name="tiny", tasks=mteb.get_tasks(tasks=TASKS))
    scores = bench.get_score(res)
    model_scores = next(iter(scores.values()))
    assert model_scores["Mean(Task)"] == pytest.approx(0.6)


def _python(code: str) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_import_medeval_loads_neither_mteb_nor_a_task_yaml() -> None:
    out = _python("import sys, medeval; print('mteb' in sys.modules, 'medeval.catalog' in sys.modules, "
                  "'medeval.spec' in sys.modules)")
    assert out == "False False False"


def test_mteb_lookups_work_whichever_is_imported_first() -> None:
    lookup = "print(mteb.get_task('HPOLaypersonRetrieval').metadata.name, mteb.get_benchmark('MedEval-Terms(v1)').name)"
    expected = "HPOLaypersonRetrieval MedEval-Terms(v1)"
    assert _python("import medeval, mteb; " + lookup) == expected  # mteb imported later: the import hook registers
    assert _python("import medeval.catalog, mteb; " + lookup) == expected  # the catalogue imported mteb itself
