"""Build manifests and ``medeval build --from-manifest``: exact record restriction, hash verification naming the
missing / changed records, pinned dataset commits, the LLM cache on rebuild; and ``medeval push-data`` /
Hub download refusals (no network: MIMIC data and unbuilt tasks are refused before any upload)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from local_server import FakeOpenAI

from medeval import data as datamod
from medeval import paths
from medeval.build import BuildContext, build_task
from medeval.catalog import get_spec
from medeval.cli import main
from medeval.errors import DataNotBuiltError, MedEvalError
from medeval.manifest import (
    compare_records,
    read_manifest_file,
    rebuild_from_manifest,
    record,
    restrict,
)

TRIALS = "TrialsTitleOutcomesRetrieval"


def _small(name: str, max_rows: int):
    spec = get_spec(name)
    return spec.model_copy(update={"construction": spec.construction.model_copy(update={"max_rows": max_rows})})


def _trials_src(datakit: Path, dest: Path, classic: int) -> Path:
    root = dest / "clinicaltrials"
    root.mkdir(parents=True)
    doc = json.loads((datakit / "clinicaltrials" / "classic_api_v1_full_studies" / "covid-19-search.json").read_text())
    doc["FullStudiesResponse"]["FullStudies"] = doc["FullStudiesResponse"]["FullStudies"][:classic]
    (root / "search.json").write_text(json.dumps(doc))
    return dest


def _studies(src: Path) -> dict:
    return json.loads((src / "clinicaltrials" / "search.json").read_text())


def test_record_helpers():
    assert record("NCT1", version="2020-01-01", content=["a", "b"]) == {"id": "NCT1", "version": "2020-01-01", "sha": record("x", content=["a", "b"])["sha"]}
    assert record("x", content="a")["sha"] != record("x", content="b")["sha"]

    class Ctx:
        record_ids = frozenset({"a", "c"})

    assert restrict(["a", "b", "c"], Ctx(), str) == ["a", "c"]
    Ctx.record_ids = frozenset({"a", "z"})
    with pytest.raises(MedEvalError, match="1 of the 2 records the manifest lists are not in the source: z"):
        restrict(["a", "b"], Ctx(), str)
    old = {"source": {"records": [{"id": "a", "sha": "1"}, {"id": "b", "sha": "2"}, {"id": "c", "sha": "3"}]}}
    new = {"source": {"records": [{"id": "a", "sha": "1"}, {"id": "b", "sha": "9"}, {"id": "d", "sha": "4"}]}}
    assert compare_records(old, new) == "1 missing or no longer usable: c; 1 changed upstream: b; 1 extra: d"
    assert compare_records(old, old) == ""


def test_rebuild_uses_exactly_the_manifest_records_even_when_the_source_grows(datakit: Path, data_home: Path, tmp_path: Path):
    src = _trials_src(datakit, tmp_path / "src", classic=40)
    rev = build_task(_small(TRIALS, 12), BuildContext(source_dir=src, show_progress=False))
    manifest_path = paths.task_data_dir(TRIALS) / "manifest.json"
    saved = tmp_path / "manifest.json"
    shutil.copy(manifest_path, saved)
    ids = [r["id"] for r in json.loads(saved.read_text())["source"]["records"]]
    assert len(ids) == 12
    # upstream grows: 60 more studies; a fresh build samples differently, the manifest rebuild does not
    bigger = _trials_src(datakit, tmp_path / "bigger", classic=100)
    fresh = build_task(_small(TRIALS, 12), BuildContext(source_dir=bigger, show_progress=False))
    assert fresh != rev
    assert rebuild_from_manifest(saved, source_dir=bigger) == rev
    assert datamod.read_manifest(paths.task_data_dir(TRIALS))["revision"] == rev  # the data folder holds it again
    assert sorted(r["id"] for r in datamod.read_manifest(paths.task_data_dir(TRIALS))["source"]["records"]) == sorted(ids)
    # twice from the same manifest: the same hash
    assert rebuild_from_manifest(saved, source_dir=bigger) == rev


def test_rebuild_names_changed_and_missing_records(datakit: Path, data_home: Path, tmp_path: Path):
    src = _trials_src(datakit, tmp_path / "src", classic=30)
    rev = build_task(_small(TRIALS, 10), BuildContext(source_dir=src, show_progress=False))
    saved = tmp_path / "manifest.json"
    shutil.copy(paths.task_data_dir(TRIALS) / "manifest.json", saved)
    used = [r["id"] for r in json.loads(saved.read_text())["source"]["records"]]
    doc = _studies(src)
    studies = doc["FullStudiesResponse"]["FullStudies"]
    target = next(s for s in studies if s["Study"]["ProtocolSection"]["IdentificationModule"]["NCTId"] == used[3])
    target["Study"]["ProtocolSection"]["IdentificationModule"]["OfficialTitle"] += " (amended)"
    (src / "clinicaltrials" / "search.json").write_text(json.dumps(doc))
    with pytest.raises(MedEvalError, match=rf"gave revision \w+, not the manifest's {rev}: 1 changed upstream: {used[3]}$"):
        rebuild_from_manifest(saved, source_dir=src)
    assert datamod.read_manifest(paths.task_data_dir(TRIALS))["revision"] == rev  # nothing replaced
    assert not list(paths.task_data_dir(TRIALS).parent.glob(".*rebuild*"))  # no scratch left behind
    # a record gone from the source
    doc["FullStudiesResponse"]["FullStudies"] = [s for s in studies if s is not target]
    (src / "clinicaltrials" / "search.json").write_text(json.dumps(doc))
    with pytest.raises(MedEvalError, match=rf"1 of the 10 records the manifest lists are not in the ClinicalTrials.gov records: {used[3]}"):
        rebuild_from_manifest(saved, source_dir=src)


def test_cli_from_manifest(datakit: Path, data_home: Path, tmp_path: Path, capsys):
    src = _trials_src(datakit, tmp_path / "src", classic=20)
    assert main(["build", "-t", TRIALS, "--source-dir", str(src), "--data-dir", str(data_home)]) == 0
    saved = tmp_path / "manifest.json"
    shutil.copy(paths.task_data_dir(TRIALS) / "manifest.json", saved)
    rev = json.loads(saved.read_text())["revision"]
    capsys.readouterr()
    assert main(["build", "--from-manifest", str(saved), "--source-dir", str(src), "--data-dir", str(data_home)]) == 0
    assert f"revision {rev} (matches the manifest)" in capsys.readouterr().out
    (src / "clinicaltrials" / "search.json").write_text((src / "clinicaltrials" / "search.json").read_text().replace("COVID", "Covid"))
    assert main(["build", "--from-manifest", str(saved), "--source-dir", str(src), "--data-dir", str(data_home)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: rebuild of TrialsTitleOutcomesRetrieval") and "changed upstream: NCT" in err


def test_bad_manifest_files(tmp_path: Path):
    with pytest.raises(MedEvalError, match="no such manifest file"):
        read_manifest_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(MedEvalError, match=r"bad\.json: not a JSON manifest"):
        read_manifest_file(bad)
    bad.write_text(json.dumps({"task": "X", "revision": "0" * 16, "builder": "b"}))
    with pytest.raises(MedEvalError, match="field 'parameters' is missing"):
        read_manifest_file(bad)
    bad.write_text(json.dumps({"task": "X", "revision": "0" * 16, "builder": "b", "parameters": {}, "source": {"records": ["NCT1"]}}))
    with pytest.raises(MedEvalError, match="'source.records' must be a list of objects"):
        read_manifest_file(bad)


def test_rebuild_uses_the_pinned_dataset_commit(datakit: Path, data_home: Path, tmp_path: Path):
    # a Hub snapshot already downloaded at a commit (files of GBaker/MedQA-USMLE-4-options's jind11 origin)
    sha = "a" * 40
    snap = data_home / "sources" / "hf" / "GBaker__MedQA-USMLE-4-options" / sha
    snap.mkdir(parents=True)
    shutil.copy(datakit / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl", snap / "test.jsonl")
    (snap / ".complete").write_text("x")
    spec = _small("MedQAPairClassification", 40)
    spec = spec.model_copy(update={"construction": spec.construction.model_copy(update={"params": {**spec.construction.params, "revision": sha}})})
    rev = build_task(spec, BuildContext(offline=True, show_progress=False))
    m = datamod.read_manifest(paths.task_data_dir("MedQAPairClassification"))
    assert m["source"]["origin"] == "hf:GBaker/MedQA-USMLE-4-options" and m["source"]["pins"] == {"revision": sha}
    # drop the revision from the parameters: the rebuild still finds the commit in source.pins (offline)
    del m["parameters"]["params"]["revision"]
    saved = tmp_path / "manifest.json"
    saved.write_text(json.dumps(m))
    assert rebuild_from_manifest(saved, offline=True) == rev


def test_llm_task_rebuild_reads_the_cache(datakit: Path, data_home: Path, tmp_path: Path):
    src = tmp_path / "src" / "medquad" / "9_CDC_QA"
    src.mkdir(parents=True)
    for p in sorted((datakit / "medquad" / "9_CDC_QA").glob("*.xml"))[:2]:
        shutil.copy(p, src / p.name)
    with FakeOpenAI() as fake:
        ctx = BuildContext(source_dir=tmp_path / "src", llm_base_url=fake.base_url, llm_model="fake", show_progress=False)
        rev = build_task(get_spec("MedQuADRetrieval"), ctx)
        asked = fake.requests
        assert asked > 0
        saved = tmp_path / "manifest.json"
        shutil.copy(paths.task_data_dir("MedQuADRetrieval") / "manifest.json", saved)
        # no endpoint given: everything comes from the cache, nothing is asked
        assert rebuild_from_manifest(saved, source_dir=tmp_path / "src") == rev
        assert fake.requests == asked
    shutil.rmtree(data_home / "llm_cache")
    with pytest.raises(MedEvalError, match=r"not in the cache .*add --llm-base-url"):
        rebuild_from_manifest(saved, source_dir=tmp_path / "src")


# --------------------------------------------------------------------------------------------------- the Hub
def test_push_data_refuses_mimic_data(data_home: Path, capsys):
    task = "MimicReadmission3DayClassification"
    datamod.write_task_data(paths.task_data_dir(task), {"data/test": [{"text": "synthetic", "label": "x"}]},
                            manifest={"source": {"name": "MIMIC-IV-Note"}})
    assert main(["push-data", task, "--repo", "someone/mimic", "--data-dir", str(data_home)]) == 2
    assert "must never be redistributed" in capsys.readouterr().err


def test_push_data_refuses_unbuilt_tasks(data_home: Path, capsys):
    assert main(["push-data", "MedQAPairClassification", "--repo", "someone/medqa", "--data-dir", str(data_home)]) == 2
    err = capsys.readouterr().err
    assert "nothing built" in err and "medeval build -t MedQAPairClassification" in err


def test_download_task_data_offline_is_a_clear_error(data_home: Path, monkeypatch):
    import huggingface_hub.constants as hc

    from medeval.hub import download_task_data
    from medeval.spec import DatasetRef

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    spec = get_spec("MedQAPairClassification").model_copy(
        update={"dataset": DatasetRef(path="medeval/medqa-pairs", revision="0123456789abcdef")}
    )
    folder = paths.task_data_dir(spec.name)
    with pytest.raises(DataNotBuiltError, match=r"cannot download its data from the Hub repo 'medeval/medqa-pairs'.*medeval build -t MedQAPairClassification"):
        download_task_data(spec, folder)
    assert not folder.exists() and not list(folder.parent.glob(f".{spec.name}.*"))
