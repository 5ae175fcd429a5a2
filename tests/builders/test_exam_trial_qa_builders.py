"""Builders of part 1 from the real datakit samples: MedMCQA, MedQA, ClinicalTrials.gov, MedQuAD (with a fake
OpenAI-compatible LLM on 127.0.0.1). Every build runs twice with identical hashes; changing one source record
changes the hash; ``medeval build`` on the datakit builds what the samples allow; a built task is scored with the
real all-MiniLM-L6-v2 through ``medeval run``."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from local_server import FakeCTGov, FakeOpenAI

from medeval import data as datamod
from medeval.build import BuildContext, build_task
from medeval.catalog import get_spec
from medeval.cli import main
from medeval.errors import SourceError


def _build(name: str, source_dir: Path, **kw) -> tuple[str, dict]:
    rev = build_task(get_spec(name), BuildContext(source_dir=source_dir, show_progress=False, **kw))
    return rev, datamod.read_manifest(_folder(name))


def _folder(name: str) -> Path:
    from medeval import paths

    return paths.task_data_dir(name)


def _rows(name: str, table: str) -> list[dict]:
    return datamod.read_table(_folder(name), table)


# ------------------------------------------------------------------------------------------ option pairs
@pytest.mark.parametrize("task,n_questions", [("MedQAPairClassification", 1273), ("MedMCQAPairClassification", 2802)])
def test_option_pairs_from_datakit_twice_same_hash(task: str, n_questions: int, datakit: Path, data_home: Path):
    rev1, manifest = _build(task, datakit)
    rows = _rows(task, "data/test")
    rev2, _ = _build(task, datakit)
    assert rev1 == rev2 == manifest["revision"]
    # every question with its 4 options, exactly one correct: 1 : 3
    by_q: dict[str, list[int]] = {}
    for r in rows:
        by_q.setdefault(r["sentence1"], []).append(r["labels"])
    assert len(by_q) == n_questions and all(len(v) == 4 and sum(v) == 1 for v in by_q.values())
    assert Counter(r["labels"] for r in rows) == {0: 3 * n_questions, 1: n_questions}
    src = manifest["source"]
    assert src["origin"].startswith("local:") and len(src["records"]) == n_questions
    assert all(set(r) == {"id", "sha"} for r in src["records"])
    assert manifest["tools"]["pyarrow"] and manifest["parameters"]["builder"] == get_spec(task).construction.builder
    # the manifest never holds record text
    assert rows[0]["sentence1"] not in json.dumps(manifest)


def test_medqa_correct_option_is_the_answer(datakit: Path, data_home: Path):
    _build("MedQAPairClassification", datakit)
    rows = _rows("MedQAPairClassification", "data/test")
    positives = {r["sentence1"]: r["sentence2"] for r in rows if r["labels"] == 1}
    first = json.loads((datakit / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl").read_text().splitlines()[0])
    assert positives[" ".join(first["question"].split())] == first["answer"]


def test_changing_one_source_record_changes_the_hash(datakit: Path, data_home: Path, tmp_path: Path):
    src = tmp_path / "src" / "medqa_usmle"
    src.mkdir(parents=True)
    name = "US_4_options_phrases_no_exclude_test.jsonl"
    shutil.copy(datakit / "medqa_usmle" / name, src / name)
    rev1, m1 = _build("MedQAPairClassification", tmp_path / "src")
    lines = (src / name).read_text().splitlines()
    row = json.loads(lines[5])
    row["question"] = row["question"].replace("?", " now?")
    lines[5] = json.dumps(row)
    (src / name).write_text("\n".join(lines) + "\n")
    rev2, m2 = _build("MedQAPairClassification", tmp_path / "src")
    assert rev1 != rev2
    sha1 = {r["id"]: r["sha"] for r in m1["source"]["records"]}
    sha2 = {r["id"]: r["sha"] for r in m2["source"]["records"]}
    assert [i for i in sha1 if sha1[i] != sha2[i]] == ["test-00005"]


# ------------------------------------------------------------------------------------------ MedMCQA explanations
def test_medmcqa_explanations_need_the_original_layout(datakit: Path, data_home: Path):
    with pytest.raises(SourceError, match=r"needs MedMCQA's 'exp'.*converted MedAgentsBench layout"):
        build_task(get_spec("MedMCQAExplanationRetrieval"), BuildContext(source_dir=datakit, show_progress=False))


def test_medmcqa_explanation_retrieval_from_original_layout(tmp_path: Path, data_home: Path):
    # SYNTHETIC rows in the HF layout (the datakit has no original-layout MedMCQA rows): 6 questions, one
    # without an explanation and one repeating another's explanation
    rows = [{"id": f"syn-{i}", "question": f"Synthetic question {i}?", "opa": "a", "opb": "b", "opc": "c", "opd": "d",
             "cop": i % 4, "choice_type": "single", "exp": f"Synthetic explanation {i}.", "subject_name": "Anatomy",
             "topic_name": None} for i in range(6)]
    rows[2]["exp"] = None
    rows[4]["exp"] = rows[3]["exp"]
    root = tmp_path / "src" / "medmcqa"
    root.mkdir(parents=True)
    (root / "dev.json").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ctx = BuildContext(source_dir=tmp_path / "src", show_progress=False)
    rev = build_task(get_spec("MedMCQAExplanationRetrieval"), ctx)
    assert build_task(get_spec("MedMCQAExplanationRetrieval"), ctx) == rev
    name = "MedMCQAExplanationRetrieval"
    corpus = {r["id"]: r["text"] for r in _rows(name, "corpus/test")}
    queries = {r["id"]: r["text"] for r in _rows(name, "queries/test")}
    qrels = _rows(name, "qrels/test")
    assert sorted(corpus) == ["syn-0", "syn-1", "syn-3", "syn-5"]
    assert all(corpus[q["corpus-id"]] == f"Synthetic explanation {q['corpus-id'][4:]}." for q in qrels)
    assert all(queries[q["query-id"]].endswith(f"{q['corpus-id'][4:]}?") for q in qrels)


# ------------------------------------------------------------------------------------------ ClinicalTrials.gov
def _trials_subset(datakit: Path, dest: Path, classic: int = 30) -> Path:
    """A smaller ClinicalTrials.gov folder (keeps model-based tests fast on CPU): the 8 full v2 studies and the
    first ``classic`` studies of the recorded classic-API search, all real records."""
    root = dest / "clinicaltrials"
    shutil.copytree(datakit / "clinicaltrials" / "api_v2_single_study", root / "api_v2_single_study")
    doc = json.loads((datakit / "clinicaltrials" / "classic_api_v1_full_studies" / "covid-19-search.json").read_text())
    doc["FullStudiesResponse"]["FullStudies"] = doc["FullStudiesResponse"]["FullStudies"][:classic]
    (root / "classic_api_v1_full_studies").mkdir()
    (root / "classic_api_v1_full_studies" / "covid-19-search.json").write_text(json.dumps(doc))
    return dest


def test_trials_retrieval_twice_same_hash(datakit: Path, data_home: Path):
    for task, field in (("TrialsTitleDescriptionRetrieval", "detailedDescription"), ("TrialsTitleOutcomesRetrieval", "primaryOutcomes")):
        rev1, manifest = _build(task, datakit)
        rev2, _ = _build(task, datakit)
        assert rev1 == rev2
        corpus = {r["id"]: r["text"] for r in _rows(task, "corpus/test")}
        queries = {r["id"]: r["text"] for r in _rows(task, "queries/test")}
        qrels = _rows(task, "qrels/test")
        assert len(qrels) == len(queries) == len(corpus) > 50
        assert all(r["query-id"] == f"q:{r['corpus-id']}" and r["score"] == 1 for r in qrels)
        recs = {r["id"]: r for r in manifest["source"]["records"]}
        assert set(recs) == set(corpus) and all(i.startswith("NCT") for i in recs)
        assert recs["NCT00973089"]["version"] == "2015-08-19"  # the last-update date
        if field == "primaryOutcomes":
            assert corpus["NCT00973089"] == "measure: The success of the alternative treatment of the deep carious lesion."
            assert queries["q:NCT00973089"] == "Alternative Treatment of Deep Carious Lesions Based on Biological Evidences"


def test_trials_pairs_hard_negatives_twice_same_hash(datakit: Path, data_home: Path, minilm_path: str, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    task = "TrialsTitleOutcomesPairClassification"
    src = _trials_subset(datakit, tmp_path / "src")
    rev1, manifest = _build(task, src)
    rows = _rows(task, "data/test")
    rev2, _ = _build(task, src)
    assert rev1 == rev2
    pos = [r for r in rows if r["labels"] == 1]
    neg = [r for r in rows if r["labels"] == 0]
    assert len(pos) == len(neg) == len(manifest["source"]["records"]) == 38
    positive_of = {r["sentence1"]: r["sentence2"] for r in pos}
    outcomes = set(positive_of.values())
    for r in neg:  # the negative pairs the title with another study's outcomes
        assert r["sentence2"] != positive_of[r["sentence1"]] and r["sentence2"] in outcomes
    assert manifest["source"]["pairs"]["k"] == 64
    assert "sentence-transformers" in manifest["tools"]


def test_trials_online_build_and_manifest_rebuild(datakit: Path, data_home: Path, tmp_path: Path, monkeypatch):
    """No --source-dir: pages from a local API v2 server, stored under the data folder; the manifest rebuild asks
    for exactly its NCT ids (filter.ids) and reproduces the hash."""
    from medeval.manifest import rebuild_from_manifest
    from medeval.sources import clinicaltrials as ct

    folder = datakit / "clinicaltrials" / "api_v2_single_study"
    recorded = [json.loads(p.read_text()) for p in sorted(folder.glob("NCT*.json"))]
    fake = FakeCTGov([recorded[:4], recorded[4:]])
    monkeypatch.setattr(ct, "API", fake.base_url)
    try:
        spec = get_spec("TrialsTitleOutcomesRetrieval")
        small = spec.model_copy(update={"construction": spec.construction.model_copy(update={"max_rows": 5})})
        rev = build_task(small, BuildContext(show_progress=False))
        manifest = datamod.read_manifest(_folder(small.name))
        src = manifest["source"]
        assert src["origin"] == fake.base_url and src["query"] == ct.DEFAULT_QUERY
        assert fake.requests[0]["sort"] == "StudyFirstPostDate:desc" and len(fake.requests) == 2
        assert len(src["records"]) == 5 and all(r["version"] for r in src["records"])
        assert len(list((data_home / "sources" / "clinicaltrials").rglob("page-*.json"))) == 2
        saved = tmp_path / "manifest.json"
        saved.write_text(json.dumps(manifest))
        assert rebuild_from_manifest(saved) == rev
        ids = sorted(fake.requests[-1]["filter.ids"].split(","))
        assert ids == sorted(r["id"] for r in src["records"])
    finally:
        fake.close()


# ------------------------------------------------------------------------------------------ MedQuAD + LLM
def _medquad_subset(datakit: Path, dest: Path, files: int = 3) -> Path:
    """A few real MedQuAD documents in the datakit layout (copied into a temporary folder)."""
    for folder in ("9_CDC_QA", "10_MPlus_ADAM_QA"):
        out = dest / "medquad" / folder
        out.mkdir(parents=True)
        for p in sorted((datakit / "medquad" / folder).glob("*.xml"))[:files]:
            shutil.copy(p, out / p.name)
    return dest


def test_medquad_paraphrase_retrieval_with_fake_llm(datakit: Path, data_home: Path, tmp_path: Path):
    src = _medquad_subset(datakit, tmp_path / "src")
    with FakeOpenAI() as fake:
        args = ["build", "-t", "MedQuADRetrieval", "--source-dir", str(src), "--llm-base-url", fake.base_url,
                "--llm-model", "fake-llm", "--data-dir", str(data_home)]
        assert main(args) == 0
        asked = fake.requests
        manifest = datamod.read_manifest(_folder("MedQuADRetrieval"))
        n = len(manifest["source"]["records"])
        assert asked == n > 5  # one request per pair; collection 10 has no answers and gives nothing
        prompt = fake.bodies[0]["messages"][0]["content"]
        assert prompt.startswith("Paraphrase the following answer") and "Question: " in prompt
        llm = manifest["source"]["llm"]
        spec = get_spec("MedQuADRetrieval")
        assert llm["model"] == "fake-llm" and llm["prompt"] == spec.construction.llm.prompt
        assert llm["temperature"] == spec.construction.llm.temperature
        corpus = _rows("MedQuADRetrieval", "corpus/test")
        assert all(r["text"].startswith("paraphrase-") for r in corpus)
        assert all(r["id"].startswith("9_CDC_QA/") for r in corpus)
        # a second build asks nothing and gives the same hash
        assert main(args) == 0
        assert fake.requests == asked
        assert datamod.read_manifest(_folder("MedQuADRetrieval"))["revision"] == manifest["revision"]


# ------------------------------------------------------------------------------------------ medeval build + run
def test_cli_build_from_datakit(datakit: Path, data_home: Path, capsys):
    code = main(["build", "--source-dir", str(datakit), "--data-dir", str(data_home),
                 "-t", "MedQAPairClassification", "-t", "TrialsTitleDescriptionRetrieval",
                 "-t", "MedQuADRetrieval", "-t", "MedMCQAExplanationRetrieval"])
    out = capsys.readouterr()
    assert code == 1  # MedMCQAExplanationRetrieval cannot be built from the converted MedMCQA sample
    assert "built  MedQAPairClassification: revision" in out.out
    assert "built  TrialsTitleDescriptionRetrieval: revision" in out.out
    assert "skip   MedQuADRetrieval: needs an LLM" in out.out
    assert "FAILED MedMCQAExplanationRetrieval" in out.err and "'exp'" in out.err


def test_built_tasks_score_with_minilm_through_medeval_run(datakit: Path, data_home: Path, tmp_path: Path, minilm_path: str, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from medeval.launch import run_models
    from medeval.run import RunOptions

    src = _medquad_subset(datakit, tmp_path / "src", files=4)
    with FakeOpenAI() as fake:
        assert main(["build", "-t", "MedQuADRetrieval", "--source-dir", str(src), "--llm-base-url", fake.base_url,
                     "--llm-model", "fake-llm", "--data-dir", str(data_home)]) == 0
    tasks = ["TrialsTitleOutcomesRetrieval", "TrialsTitleDescriptionPairClassification", "MedQuADRetrieval"]
    trials = _trials_subset(datakit, tmp_path / "trials")
    for t in tasks[:2]:
        build_task(get_spec(t), BuildContext(source_dir=trials, show_progress=False))
    out = tmp_path / "out"
    assert run_models(RunOptions(tasks=tasks, output_dir=out, batch_size=32, use_cache=False, show_progress=False)) == 0
    results = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*/*/*.json") if p.stem in tasks}
    assert set(results) == set(tasks)
    for t, obj in results.items():
        assert obj["dataset_revision"] == datamod.read_manifest(_folder(t))["revision"]
        score = obj["scores"]["test"][0]["main_score"]
        assert 0.0 <= score <= 1.0
    # title -> primary outcomes over 38 studies: a random ranking gives nDCG@10 of about 0.1
    assert results["TrialsTitleOutcomesRetrieval"]["scores"]["test"][0]["main_score"] > 0.3
