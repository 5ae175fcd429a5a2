"""The model-free MIMIC builders (classification, clustering, readmission, retrieval: 19 of the 25 tasks) on a
generated fake MIMIC folder: labels against the generator's truth, de-duplicated retrieval corpora, caps,
determinism, parse-once, manifests without note text, rebuild from a manifest, and the CLI with bad inputs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from mimic_fixture import DISCHARGE_HEADER, count_parse_calls, generate, write_csv_gz

import medeval
from medeval import paths
from medeval.build import BuildContext, build_task
from medeval.cli.build_tasks import run_build
from medeval.cli import main as cli_main
from medeval.data import read_manifest, read_table
from medeval.errors import MedEvalError, SourceError
from medeval.manifest import rebuild_from_manifest
from medeval.sources import mimic, mimic_sections

TEMPLATE = "Chief Complaint: {cc} History of Present Illness: {hpi}"


def _mimic_specs(*builders: str):
    return [
        t.spec for t in medeval.get_tasks(benchmark="MedEval(v1)")  # type: ignore[attr-defined]
        if t.spec.source.group == "MIMIC-IV" and t.spec.construction.builder in builders  # type: ignore[attr-defined]
    ]


MODEL_FREE = ("mimic.diagnosis_classification", "mimic.diagnosis_clustering", "mimic.readmission_classification", "mimic.section_retrieval")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """A 3,000-note fake MIMIC folder and every model-free MIMIC task built from it in one session."""
    root = tmp_path_factory.mktemp("mimic_build")
    fx = generate(root / "mimic", n_notes=3000, seed=7)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDEVAL_HOME", str(root / "home"))
        calls = count_parse_calls(mp)
        specs = _mimic_specs(*MODEL_FREE)
        assert run_build(tasks=[s.name for s in specs], benchmark=None, mimic_dir=fx.root) == 0
        yield {"fx": fx, "home": root / "home", "specs": specs, "parse_calls": calls["n"]}


def _tables(home: Path, name: str, *tables: str) -> dict[str, list[dict]]:
    return {t: read_table(home / "tasks" / name, t) for t in tables}


def test_all_nineteen_build_and_notes_are_parsed_once(built) -> None:
    assert len(built["specs"]) == 19
    assert built["parse_calls"] == built["fx"].n_notes  # 19 tasks, one pass over the notes
    for spec in built["specs"]:
        manifest = read_manifest(built["home"] / "tasks" / spec.name)
        assert manifest is not None and manifest["builder"] == spec.construction.builder
        assert manifest["source"]["origin"] == "local:mimic-iv-note"
        assert manifest["source"]["mimic_release"]["discharge"]["sha256"] == mimic.sha256_file(built["fx"].discharge)
        assert all(set(r) == {"id", "sha"} for r in manifest["source"]["records"])


def _expected_label(fx, note_id: str, labels: dict[str, str]) -> str | None:
    dd = fx.notes[note_id]["dd"]
    return labels.get(dd.lower()) if dd else None


def test_diagnosis_labels_match_truth(built) -> None:
    fx, home = built["fx"], built["home"]
    for spec in [s for s in built["specs"] if s.construction.builder.startswith("mimic.diagnosis")]:
        labels = {s: label for label, strings in spec.construction.labels.items() for s in strings}
        # every note whose Discharge Diagnosis matches a label string exactly (case-insensitive) and that has CC + HPI
        expected: dict[str, str] = {}
        for nid, t in fx.notes.items():
            label = _expected_label(fx, nid, labels)
            if label and t["cc"] and t["hpi"]:
                expected.setdefault(TEMPLATE.format(**t), label)
        if spec.type == "Classification":
            t = _tables(home, spec.name, "data/train", "data/test")
            names = list(spec.construction.labels)  # labels are stored as the group's position
            rows = [(r["text"], names[r["label"]]) for r in t["data/train"] + t["data/test"]]
            assert not {r["text"] for r in t["data/train"]} & {r["text"] for r in t["data/test"]}
            counts = {k: len(v) for k, v in t.items()}
            assert abs(counts["data/test"] / (counts["data/train"] + counts["data/test"]) - 0.3) < 0.02
        else:
            rows = [(r["sentences"], r["labels"]) for r in _tables(home, spec.name, "data/test")["data/test"]]
        assert rows, spec.name
        assert len({text for text, _ in rows}) == len(rows)  # texts are unique
        for text, label in rows:
            assert expected[text] == label, spec.name
        # nearly every matching note is used (only texts repeated across notes are dropped)
        assert len(rows) >= 0.9 * len(expected)
        assert set(label for _, label in rows) == set(spec.construction.labels)


def test_primary_secondary_and_other_diagnoses_are_not_labelled(built) -> None:
    fx, home = built["fx"], built["home"]
    for name in ("MimicInfectiousDiseasesClassification", "MimicMortalityVsSurvivableClassification"):
        used = {r["id"] for r in read_manifest(home / "tasks" / name)["source"]["records"]}
        primary = {nid for nid, n in fx.notes.items() if n["dd"] and n["dd"].startswith("Primary:")}
        other = {nid for nid, n in fx.notes.items() if n["dd"] and n["dd"].lower() in {"sepsis", "hyponatremia", "migraine"}}
        assert primary and other and used and not used & (primary | other)


def test_duplicate_texts_dropped(built) -> None:
    manifest = read_manifest(built["home"] / "tasks" / "MimicReadmission30DayClassification")
    assert manifest["source"]["selection"]["duplicate_texts_dropped"] > 0  # the generator writes copy-forward notes


@pytest.mark.parametrize("name,days", [("MimicReadmission3DayClassification", 3), ("MimicReadmission30DayClassification", 30)])
def test_readmission_labels_match_truth(built, name: str, days: int) -> None:
    fx, home = built["fx"], built["home"]
    t = _tables(home, name, "data/train", "data/test")
    by_text: dict[str, list[str]] = {}  # text -> the notes with that text whose label is known
    for nid, n in fx.notes.items():
        # the paper's six sections; the fixture always writes PMH, hospital course and discharge condition
        if n["cc"] and n["hpi"] and n["di"] and fx.readmitted(fx.note_hadm[nid], days) is not None:
            by_text.setdefault(TEMPLATE.format(**n), []).append(nid)
    all_rows = t["data/train"] + t["data/test"]
    for split in t.values():
        counts = Counter(r["label"] for r in split)
        assert set(counts) == {0, 1} and counts[0] == counts[1]  # balanced, in both splits
    for r in all_rows:
        assert {fx.readmitted(fx.note_hadm[n], days) for n in by_text[r["text"]]} == {r["label"]}
    manifest = read_manifest(home / "tasks" / name)
    used = {r["id"] for r in manifest["source"]["records"]}
    assert len(used) == len(all_rows)
    assert {TEMPLATE.format(**fx.notes[n]) for n in used} == {r["text"] for r in all_rows}
    assert not {fx.note_hadm[n] for n in used} & fx.no_dischtime  # notes without dischtime never appear
    assert all(fx.notes[n]["di"] for n in used)  # a note without Discharge Instructions is not one of the six-section notes
    assert manifest["source"]["window_days"] == days
    assert manifest["source"]["mimic_release"]["admissions"]["file"] == "hosp/admissions.csv.gz"


def test_retrieval_corpus_deduplicated(built) -> None:
    fx, home = built["fx"], built["home"]
    for spec in [s for s in built["specs"] if s.type == "Retrieval"]:
        a, b = (mimic_sections.SECTIONS[x] for x in spec.construction.sections)
        t = _tables(home, spec.name, "corpus/test", "queries/test", "qrels/test")
        corpus = {d["id"]: d["text"] for d in t["corpus/test"]}
        assert len(set(corpus.values())) == len(corpus)  # one document per distinct text
        queries = {q["id"]: q["text"] for q in t["queries/test"]}
        eligible = [nid for nid, n in fx.notes.items() if n[a] and n[b]]
        assert set(queries) == set(eligible)  # below the cap: every note with both sections
        rel: dict[str, list[str]] = {}
        for r in t["qrels/test"]:
            rel.setdefault(r["query-id"], []).append(r["corpus-id"])
        for qid, text in queries.items():
            assert text == fx.notes[qid][a]
            assert len(rel[qid]) == 1 and corpus[rel[qid][0]] == fx.notes[qid][b]
        if b == "cc":
            assert len(corpus) < len(queries) / 5  # chief complaints repeat a lot: merged


def test_manifest_and_stats_hold_no_note_text(built) -> None:
    fx, home = built["fx"], built["home"]
    # a distinctive start of every section text (the first 24 characters) must occur in no manifest, stats or card
    probes = {n[k][:24] for n in fx.notes.values() for k in ("cc", "hpi", "dd", "di") if n[k] and len(n[k]) >= 4}
    assert len(probes) > 100
    for spec in built["specs"]:
        folder = home / "tasks" / spec.name
        blob = (folder / "manifest.json").read_text() + (folder / "stats.json").read_text() + (folder / "README.md").read_text()
        yaml_strings = json.dumps(spec.construction.model_dump(mode="json")).lower()  # diagnosis strings of the YAML may appear
        leaked = [p for p in probes if p in blob and p.lower() not in yaml_strings]
        assert leaked == [], f"{spec.name}: note text in the manifest/stats: {len(leaked)} probes"
        assert "___" not in blob  # the de-identification mark of note text
    cache = home / "mimic_cache"
    assert all(p.suffix in (".parquet", ".json") for p in cache.iterdir())  # only the cache, no temporary leftovers


def test_deterministic_across_sessions_and_chunk_sizes(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path / "home2"))
    monkeypatch.setattr(mimic_sections, "CHUNK_ROWS", 333)
    monkeypatch.setattr(mimic_sections, "_MEMO", {})
    monkeypatch.setattr(mimic, "_ADM_MEMO", {})
    for name in ("MimicNeurologicalClassification", "MimicReadmission3DayClassification", "MimicPresentIllnessDiagnosisRetrieval", "MimicCancerVsChronicClustering"):
        spec = medeval.get_spec(name)
        rev = build_task(spec, BuildContext(mimic_dir=built["fx"].root, show_progress=False))
        assert rev == read_manifest(built["home"] / "tasks" / name)["revision"], name


def test_caps_and_seed(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDEVAL_HOME", str(built["home"]))
    ctx = BuildContext(mimic_dir=built["fx"].root, show_progress=False)

    def capped(name: str, **changes) -> tuple[str, Path]:
        spec = medeval.get_spec(name)
        spec = spec.model_copy(update={"construction": spec.construction.model_copy(update=changes)})
        folder = tmp_path / f"{name}-{changes}"
        return build_task(spec, ctx, folder=folder), folder

    name = "MimicInfectiousDiseasesClassification"
    full = read_manifest(built["home"] / "tasks" / name)["source"]["selection"]["kept_per_label"]
    _, f = capped(name, max_rows=60)
    rows = read_table(f, "data/train") + read_table(f, "data/test")
    assert len(rows) == 60
    names = list(medeval.get_spec(name).construction.labels)
    got = Counter(names[r["label"]] for r in rows)
    for label, n in full.items():  # label proportions kept
        assert abs(got[label] - 60 * n / sum(full.values())) < 1, (label, got)
    _, f = capped("MimicReadmission30DayClassification", max_rows=40)
    rows = read_table(f, "data/train") + read_table(f, "data/test")
    assert len(rows) == 40 and Counter(r["label"] for r in rows) == {0: 20, 1: 20}
    rev1, f = capped("MimicChiefComplaintInstructionsRetrieval", max_rows=50)
    assert len(read_table(f, "queries/test")) == 50
    rev2, _ = capped("MimicChiefComplaintInstructionsRetrieval", max_rows=50, seed=43)
    rev3, _ = capped("MimicChiefComplaintInstructionsRetrieval", max_rows=50, seed=42)
    assert rev1 == rev3 != rev2


def test_rebuild_from_manifest(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDEVAL_HOME", str(built["home"]))
    for name in ("MimicReadmission3DayClassification", "MimicChiefComplaintDiagnosisRetrieval", "MimicAbdominalConditionsClustering"):
        manifest = built["home"] / "tasks" / name / "manifest.json"
        rev = rebuild_from_manifest(manifest, mimic_dir=built["fx"].root, folder=tmp_path / name)
        assert rev == json.loads(manifest.read_text())["revision"]
    # a manifest naming a note the copy does not have: a clear error naming the note id, nothing replaced
    data = json.loads((built["home"] / "tasks" / "MimicNeurologicalClassification" / "manifest.json").read_text())
    data["source"]["records"].append({"id": "99999999-DS-9"})
    bad = tmp_path / "bad_manifest.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(MedEvalError, match="99999999-DS-9"):
        rebuild_from_manifest(bad, mimic_dir=built["fx"].root, folder=tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_cli_bad_inputs_one_line_and_nothing_written(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MEDEVAL_HOME", str(home))
    secret = "Qwerty planted note text 0815"
    header = [c for c in DISCHARGE_HEADER if c != "text"]
    write_csv_gz(tmp_path / "bad" / "note" / "discharge.csv.gz", header, [["1-DS-1", 1, 2, "DS", 1, "", secret]])
    rc = cli_main(["build", "-t", "MimicNeurologicalClassification", "-t", "MimicChiefComplaintDiagnosisRetrieval", "--mimic-dir", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert rc == 1
    lines = [line for line in err.splitlines() if line.startswith("FAILED")]
    assert len(lines) == 2 and all("discharge.csv.gz: missing column 'text'" in line for line in lines)
    assert secret not in err
    assert not (home / "tasks").exists() or not any((home / "tasks").iterdir())
    assert not (home / "mimic_cache").exists() or not any((home / "mimic_cache").iterdir())
    # without --mimic-dir the MIMIC tasks are skipped with the reason
    rc = cli_main(["build", "-t", "MimicNeurologicalClassification"])
    assert rc == 0 and "needs your MIMIC-IV copy: add --mimic-dir DIR" in capsys.readouterr().out
    # readmission without hosp/admissions: names the missing file; a diagnosis task still builds
    (tmp_path / "notes_only" / "note").mkdir(parents=True)
    (tmp_path / "notes_only" / "note" / "discharge.csv.gz").write_bytes(built["fx"].discharge.read_bytes())
    rc = cli_main(["build", "-t", "MimicReadmission3DayClassification", "-t", "MimicNeurologicalClassification", "--mimic-dir", str(tmp_path / "notes_only")])
    captured = capsys.readouterr()
    assert rc == 1 and "no hosp/admissions.csv.gz under it" in captured.err
    assert "built  MimicNeurologicalClassification" in captured.out
    assert not (paths.data_dir() / "tasks" / "MimicReadmission3DayClassification").exists()


def test_builder_refuses_bad_specs(built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDEVAL_HOME", str(built["home"]))
    ctx = BuildContext(mimic_dir=built["fx"].root, show_progress=False)
    spec = medeval.get_spec("MimicNeurologicalClassification")

    def with_(**changes):
        return spec.model_copy(update={"construction": spec.construction.model_copy(update=changes)})

    with pytest.raises(MedEvalError, match="text_template"):
        build_task(with_(params={"text_template": "Chief Complaint: {XX}"}), ctx)
    with pytest.raises(MedEvalError, match="is in both"):
        build_task(with_(labels={"A": ["seizure"], "B": ["Seizure "]}), ctx)
    with pytest.raises(MedEvalError, match="at least two"):
        build_task(with_(labels={"A": ["seizure"], "B": ["no such diagnosis anywhere"]}), ctx)
    with pytest.raises(SourceError, match="--mimic-dir"):
        build_task(spec, BuildContext(mimic_dir=None))
