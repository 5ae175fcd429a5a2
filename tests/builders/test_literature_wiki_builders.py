"""Builders for the Wikipedia, PMC, PubMed and bioRxiv/medRxiv tasks, from ``--source-dir`` folders.

PMC, PubMed and bioRxiv/medRxiv tasks are built from the real datakit records (/work/shared/datakit; skipped
without it). The datakit is not organised by search term, so each test writes the esearch JSON answer that says
which (real) records a term "retrieved", next to symlinks to the datakit files: a test-written mapping, not data.
Wikipedia has no real samples: its tests use a SYNTHETIC fixture in the MediaWiki API's answer format (made-up
pages, not Wikipedia content; tests/fixtures.py), read from a folder and served by a local HTTP server on 127.0.0.1.
LLM tasks talk to a fake OpenAI-compatible server on 127.0.0.1 that derives its answers from the prompt.

Each task is built twice (identical content hash); changing one source record changes the hash.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures import WIKI_CATS, WIKI_TITLES, cm_answers, wiki_article, write_wiki_source
from local_server import Answer, LocalServer, json_headers

from medeval.build import BuildContext, build_task
from medeval.catalog import get_spec
from medeval.data import read_manifest, read_table
from medeval.errors import SourceError
from medeval.manifest import rebuild_from_manifest
from medeval.sources import mediawiki as mediawiki_mod
from medeval.spec import TaskSpec


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path / "home"))  # online caches and the LLM cache
    monkeypatch.delenv("MEDEVAL_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def with_params(spec: TaskSpec, **changes: Any) -> TaskSpec:
    """The spec with some construction fields / params replaced (the spec models are frozen)."""
    c = spec.construction
    assert c is not None
    params = {**c.params, **changes.pop("params", {})}
    return spec.model_copy(update={"construction": c.model_copy(update={"params": params, **changes})})


def link_tree(src: Path, dst: Path, modify: dict[str, Callable[[bytes], bytes]] | None = None) -> None:
    """``dst`` mirrors ``src`` with one symlink per file; files named in ``modify`` are modified copies instead."""
    modify = modify or {}
    for path in sorted(src.rglob("*")):
        if path.is_dir():
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.name in modify:
            target.write_bytes(modify[path.name](path.read_bytes()))
        else:
            target.symlink_to(path)


def esearch_answer(ids: list[str]) -> dict[str, Any]:
    """An esearch JSON answer (retmode=json) listing ``ids``: written by the tests to map terms to datakit records."""
    return {"header": {"type": "esearch", "version": "0.3"},
            "esearchresult": {"count": str(len(ids)), "retmax": str(len(ids)), "retstart": "0", "idlist": ids}}


def build_twice(spec: TaskSpec, ctx: BuildContext, out: Path) -> tuple[str, Path]:
    a = build_task(spec, ctx, folder=out / "a" / spec.name)
    b = build_task(spec, ctx, folder=out / "b" / spec.name)
    assert a == b, "building the same records twice must give the same content hash"
    return a, out / "a" / spec.name


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s.strip()]


PROMPTS: list[str] = []  # every prompt the fake LLM was sent


def fake_llm(method: str, path: str, params: dict[str, str], body: bytes) -> Answer:
    """A fake OpenAI-compatible /v1/chat/completions: answers derived from the record text in the prompt."""
    assert method == "POST" and path == "/v1/chat/completions"
    prompt = json.loads(body)["messages"][0]["content"]
    PROMPTS.append(prompt)
    # the record's text: after "Abstract:" (up to the MeSH terms) or after the title line
    text = prompt.split("Abstract:", 1)[1] if "Abstract:" in prompt else prompt.split("\nTitle:", 1)[1].split("\n", 1)[1]
    text = text.split("\nMeSH terms:", 1)[0]
    if '"sentence1"' in prompt:  # the sentence-pair prompt: first and last sentence of the text
        sents = _sentences(text) or ["(empty)"]
        answer = "```json\n" + json.dumps({"sentence1": sents[0], "sentence2": sents[-1] + " (paraphrased)"}) + "\n```"
    else:  # the question prompt
        words = text.split()[:8]
        answer = f"Question: What is known about {' '.join(words)}?"
    reply = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]}
    return 200, json_headers(), json.dumps(reply).encode()


@pytest.fixture
def llm():
    with LocalServer(fake_llm) as server:
        yield server


def llm_ctx(source_dir: Path, server: LocalServer) -> BuildContext:
    return BuildContext(source_dir=source_dir, llm_base_url=f"{server.url}/v1", llm_model="fake-model", show_progress=False)


def llm_calls(server: LocalServer) -> int:
    return sum(1 for _, p, _ in server.requests if p.endswith("/chat/completions"))


# ------------------------------------------------------------------------------------------------------ PMC
# Test-written term -> ids mapping over the 11 real datakit articles (PMC8435807 has no abstract; PMC3166277 is
# "retrieved" by two labels and, as in the paper, kept under both).
PMC_TERMS = {
    "MRI": ["13014283", "13016435", "3166277"],
    "CT scan": ["13015887", "2329613", "3166277"],
    "Ultrasound": ["2599765", "3574550"],
    "X-ray": ["3585041", "1790863", "8435807"],
    "PET scan": ["3460867"],
}


def pmc_source(tmp: Path, datakit: Path, modify: dict[str, Callable[[bytes], bytes]] | None = None) -> Path:
    root = tmp / "pmc"
    link_tree(datakit / "pmc", root / "records", modify)
    (root / "esearch").mkdir(parents=True)
    for term, ids in PMC_TERMS.items():
        (root / "esearch" / f"{term.replace(' ', '_')}.json").write_text(json.dumps(esearch_answer(ids)))
    return tmp


def test_pmc_classification_and_clustering(tmp_path, datakit):
    src = pmc_source(tmp_path / "src", datakit)
    ctx = BuildContext(source_dir=src, show_progress=False)
    spec = get_spec("PMCImagingModalityClassification")
    rev, folder = build_twice(spec, ctx, tmp_path / "cls")
    train, test = read_table(folder, "data/train"), read_table(folder, "data/test")
    assert len(train) + len(test) == 11  # 11 articles - 1 without abstract + 1 retrieved by two labels, kept twice
    manifest = read_manifest(folder)
    recs = {r["id"]: r for r in manifest["source"]["records"]}
    assert "PMC8435807" not in recs
    assert sorted(r["label"] for r in manifest["source"]["records"] if r["id"] == "PMC3166277") == ["CT scan", "MRI"]
    twice = [r for r in train + test if r["text"].startswith("title: ") and r["label"] in ("MRI", "CT scan")]
    assert len({r["text"] for r in twice}) == len(twice) - 1  # one text, under both labels
    assert recs["PMC13016435"]["version"] == "PMC13016435.1" and recs["PMC13016435"]["label"] == "MRI"
    assert recs["PMC3460867"]["pmid"] == "23029536" and len(recs["PMC3460867"]["sha"]) == 12
    assert manifest["source"]["articles_in_several_labels_kept"] == 1
    assert manifest["source"]["queries"]["MRI"] == ["(MRI) AND open access[filter]"]
    texts = {r["text"]: r["label"] for r in train + test}
    mmppox = next(t for t in texts if t.startswith("title: mmppox inhibits"))
    # the paper's form: "title: ... abstract: ...", lower-cased, only [a-z0-9 :] and single spaces
    assert texts[mmppox] == "PET scan" and " abstract: " in mmppox
    assert all(re.fullmatch(r"title: [a-z0-9 :]* abstract: [a-z0-9 :]+", t) for t in texts)
    assert not any("MmPPOX" in json.dumps(r) for r in manifest["source"]["records"])  # never text in the manifest
    # every label with >= 2 articles is in both splits (stratified 70/30)
    for label in ("MRI", "CT scan", "Ultrasound", "X-ray"):
        assert label in {r["label"] for r in train} and label in {r["label"] for r in test}

    crev, cfolder = build_twice(get_spec("PMCImagingModalityClustering"), ctx, tmp_path / "clu")
    rows = read_table(cfolder, "data/test")
    assert len(rows) == 11 and set(rows[0]) == {"sentences", "labels"}

    # one changed record (its title) changes both hashes
    def retitle(data: bytes) -> bytes:
        out = data.replace(b"PPOX Inhibits", b"PPOX Strongly Inhibits", 1)
        assert out != data
        return out

    src2 = pmc_source(tmp_path / "src2", datakit, {"pone.0046493.nxml": retitle})
    ctx2 = BuildContext(source_dir=src2, show_progress=False)
    assert build_task(spec, ctx2, folder=tmp_path / "cls2") != rev
    assert build_task(get_spec("PMCImagingModalityClustering"), ctx2, folder=tmp_path / "clu2") != crev

    # rebuild from the manifest: same records, same revision
    assert rebuild_from_manifest(folder / "manifest.json", source_dir=src, folder=tmp_path / "re" / spec.name) == rev


def test_pmc_missing_term_file_is_a_clear_error(tmp_path, datakit):
    src = tmp_path / "src"
    link_tree(datakit / "pmc", src / "pmc" / "records")
    with pytest.raises(SourceError, match=r"pmc/esearch/diagnostic\.json: missing"):
        build_task(get_spec("PMCDiagnosticVsTherapeuticClassification"), BuildContext(source_dir=src), folder=tmp_path / "x")


# --------------------------------------------------------------------------------------------------- PubMed
def pubmed_ids(datakit: Path) -> list[str]:
    """The PMIDs of every datakit PubMed record, in file order."""
    ids: list[str] = []
    for path in sorted((datakit / "pubmed").rglob("*.xml*")):
        data = path.read_bytes()
        text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
        ids += re.findall(r"<MedlineCitation[^>]*>\s*<PMID[^>]*>(\d+)</PMID>", text)
    return ids


def pubmed_source(tmp: Path, datakit: Path, modify: dict[str, Callable[[bytes], bytes]] | None = None) -> Path:
    root = tmp / "pubmed"
    link_tree(datakit / "pubmed", root / "records", modify)
    (root / "esearch").mkdir(parents=True)
    (root / "esearch" / "medicine.json").write_text(json.dumps(esearch_answer(pubmed_ids(datakit))))
    return tmp


def _change_abstract(data: bytes) -> bytes:
    out = data.replace(b"are found in 50% of patients", b"are found in half of the patients", 1)  # 1st sentence
    assert out != data
    return out


def test_pubmed_question_retrieval(tmp_path, datakit, llm):
    src = pubmed_source(tmp_path / "src", datakit)
    spec = get_spec("PubMedQuestionRetrieval")
    ctx = llm_ctx(src, llm)
    rev, folder = build_twice(spec, ctx, tmp_path / "ret")
    corpus, queries, qrels = (read_table(folder, f"{t}/test") for t in ("corpus", "queries", "qrels"))
    assert 100 <= len(corpus) <= 124 and len(queries) == len(corpus) == len(qrels)  # 124 datakit abstracts, de-duplicated
    assert llm_calls(llm) == len(corpus)  # the second build read every question from the cache
    melanoma = next(r for r in corpus if r["id"] == "22663011")
    assert melanoma["text"].startswith("Activating mutations in serine-threonine protein kinase B-RAF")
    q = next(r for r in queries if r["id"] == "q:22663011")
    assert q["text"] == "What is known about Activating mutations in serine-threonine protein kinase B-RAF (BRAF)?"  # "Question: " prefix stripped
    assert {"query-id": "q:22663011", "corpus-id": "22663011", "score": 1} in qrels
    manifest = read_manifest(folder)
    assert manifest["source"]["origin"] == "local:pubmed" and manifest["source"]["llm"]["model"] == "fake-model"
    rec = next(r for r in manifest["source"]["records"] if r["id"] == "22663011")
    assert rec["version"] == "1" and rec["doi"] == "10.1056/NEJMoa1203421"
    # the paper's inputs and constraint: MeSH terms and keywords in the prompt, no reuse of the source's terms
    sent = next(p for p in PROMPTS if "Activating mutations in serine-threonine" in p)
    assert "MeSH terms: Adult; Aged; Aged, 80 and over; Antineoplastic Agents" in sent and "Keywords: none" in sent
    assert "do not reuse the key terms or phrases" in sent

    src2 = pubmed_source(tmp_path / "src2", datakit, {"biomcp_efetch_citation_22663011.xml": _change_abstract})
    assert build_task(spec, llm_ctx(src2, llm), folder=tmp_path / "ret2") != rev

    # rebuild from the manifest with no LLM endpoint: exact PMIDs, questions from the cache
    assert rebuild_from_manifest(folder / "manifest.json", source_dir=src, folder=tmp_path / "re" / spec.name) == rev


def test_pubmed_pair_classification(tmp_path, datakit, llm, minilm_path):
    src = pubmed_source(tmp_path / "src", datakit)
    spec = with_params(get_spec("PubMedPairClassification"), max_rows=48)  # small: MiniLM runs on CPU
    rev, folder = build_twice(spec, llm_ctx(src, llm), tmp_path / "pairs")
    rows = read_table(folder, "data/test")
    pos = [r for r in rows if r["labels"] == 1]
    neg = [r for r in rows if r["labels"] == 0]
    assert 10 <= len(pos) == len(neg) <= 24 and len(rows) <= 48  # max_rows caps pairs (positives + negatives)
    second_of = {r["sentence1"]: r["sentence2"] for r in pos}
    assert all(r["sentence2"] != second_of[r["sentence1"]] for r in neg)  # a negative never repeats its positive
    assert {r["sentence2"] for r in neg} <= {r["sentence2"] for r in pos}  # drawn from other articles' sentences
    info = read_manifest(folder)["source"]["pairs"]
    assert info["k"] == 64 and info["positives"] == len(pos)
    src2 = pubmed_source(tmp_path / "src2", datakit, {"biomcp_efetch_citation_22663011.xml": _change_abstract})
    assert build_task(spec, llm_ctx(src2, llm), folder=tmp_path / "pairs2") != rev


# ------------------------------------------------------------------------------------------ bioRxiv / medRxiv
def bio_spec(name: str) -> TaskSpec:
    # the datakit holds 2024 postings; the YAML's 2018-01-01..2022-12-20 range is tested for its error below
    return with_params(get_spec(name), params={"from": "2024-01-01", "to": "2024-12-31"})


@pytest.mark.parametrize(("task", "n_records", "n_dois"), [("MedrxivQuestionRetrieval", 72, 71), ("BiorxivQuestionRetrieval", 61, None)])
def test_biorxiv_medrxiv_question_retrieval(tmp_path, datakit, llm, task, n_records, n_dois):
    src = tmp_path / "src"
    link_tree(datakit / "biorxiv_medrxiv", src / "biorxiv_medrxiv")
    spec = bio_spec(task)
    rev, folder = build_twice(spec, llm_ctx(src, llm), tmp_path / "ret")
    corpus = read_table(folder, "corpus/test")
    manifest = read_manifest(folder)
    recs = manifest["source"]["records"]
    assert manifest["source"]["versions_listed"] == n_records
    if n_dois is not None:
        assert len(corpus) == n_dois  # one DOI posted in two versions counts once
    assert len({r["id"] for r in recs}) == len(recs) == len(corpus)
    assert all(r["license"].startswith("cc") and r["license"] != "cc_no" for r in recs)
    assert all(r["id"].startswith("10.") and r["version"].isdigit() for r in recs)
    assert not any(re.search(r"[OC]_ST_ABS|C_LIO_LI", r["text"]) for r in corpus)

    # one changed abstract changes the hash
    name = next(p.name for p in (datakit / "biorxiv_medrxiv" / "details_api_json").iterdir() if p.name.startswith(task[:7].lower()))

    def edit(data: bytes) -> bytes:
        obj = json.loads(data)
        obj["collection"][0]["abstract"] = "Edited. " + obj["collection"][0]["abstract"]
        return json.dumps(obj).encode()

    src2 = tmp_path / "src2"
    link_tree(datakit / "biorxiv_medrxiv", src2 / "biorxiv_medrxiv", {name: edit})
    assert build_task(spec, llm_ctx(src2, llm), folder=tmp_path / "ret2") != rev


def test_biorxiv_yaml_range_without_records_is_a_clear_error(tmp_path, datakit, llm):
    src = tmp_path / "src"
    link_tree(datakit / "biorxiv_medrxiv", src / "biorxiv_medrxiv")
    with pytest.raises(SourceError, match=r"no CC-licensed medrxiv preprint with an abstract between 2018-01-01 and 2022-12-20"):
        build_task(get_spec("MedrxivQuestionRetrieval"), llm_ctx(src, llm), folder=tmp_path / "x")


def test_llm_task_without_llm_is_a_clear_error(tmp_path, datakit):
    src = tmp_path / "src"
    link_tree(datakit / "biorxiv_medrxiv", src / "biorxiv_medrxiv")
    with pytest.raises(Exception, match="needs an LLM: add --llm-base-url"):
        build_task(bio_spec("MedrxivQuestionRetrieval"), BuildContext(source_dir=src), folder=tmp_path / "x")


# -------------------------------------------------------------------------------- Wikipedia (synthetic fixture)
PAIN_FEVER = {"Pain": ["Category:Pain"], "Fever": ["Category:Fever"]}


def test_wikipedia_classification_and_clustering_from_source_dir(tmp_path):
    src = write_wiki_source(tmp_path / "src")
    ctx = BuildContext(source_dir=src, show_progress=False)
    spec = get_spec("WikiPainVsFeverClassification")
    rev, folder = build_twice(spec, ctx, tmp_path / "cls")
    rows = read_table(folder, "data/train") + read_table(folder, "data/test")
    manifest = read_manifest(folder)
    recs = {int(r["id"]): r for r in manifest["source"]["records"]}
    assert sorted(recs) == [101, 102, 103, 104, 105, 106, 201, 202, 203, 204, 205]  # no 500 (both labels), no 107 (depth 2)
    assert recs[105]["label"] == "Pain" and recs[105]["version"] == "7105" and recs[105]["title"] == "Epsilon ache"
    assert manifest["source"]["pages_in_several_labels_dropped"] == 1
    # the paper's rule: one row per non-lead section longer than 50 characters, lower-cased, whitespace collapsed
    assert len(rows) == 2 * 11
    assert not any("fixture article" in r["text"] or "too short" in r["text"] for r in rows)  # no lead, no short section
    assert "the made-up cause of fixture 101 is described here. it spans two lines." in {r["text"] for r in rows}
    assert all(r["text"] == r["text"].lower() for r in rows)
    assert {r["label"] for r in read_table(folder, "data/test")} == {"Pain", "Fever"}

    clu = with_params(get_spec("WikiBroadTopicsClustering"), labels=PAIN_FEVER)
    crev, cfolder = build_twice(clu, ctx, tmp_path / "clu")
    assert sorted(r["labels"] for r in read_table(cfolder, "data/test")) == ["Fever"] * 10 + ["Pain"] * 12

    src2 = write_wiki_source(tmp_path / "src2", changed={203: " (revised)"})
    ctx2 = BuildContext(source_dir=src2, show_progress=False)
    assert build_task(spec, ctx2, folder=tmp_path / "cls2") != rev
    assert build_task(clu, ctx2, folder=tmp_path / "clu2") != crev


def test_wikipedia_online_build_caches_the_source_dir_layout(tmp_path, monkeypatch):
    """Build against a local MediaWiki API server, then rebuild offline from what the build stored."""

    def api(method: str, path: str, p: dict[str, str], body: bytes) -> Answer:
        if p.get("list") == "categorymembers":
            answers = cm_answers(WIKI_CATS.get(p["cmtitle"], []), page=3)
            k = int(p.get("cmcontinue", "page|0").split("|")[1]) // 3
            return 200, json_headers(), json.dumps(answers[k] if answers else {"batchcomplete": "", "query": {"categorymembers": []}}).encode()
        ids = [int(i) for i in p["pageids"].split("|")]
        text = (lambda i: wiki_article(i).split("\n\n==")[0]) if p.get("exintro") else wiki_article  # exintro: the lead only
        pages = {str(i): {"pageid": i, "ns": 0, "title": WIKI_TITLES[i], "lastrevid": 7000 + i, "extract": text(i)} for i in ids}
        return 200, json_headers(), json.dumps({"batchcomplete": "", "query": {"pages": pages}}).encode()

    spec = get_spec("WikiPainVsFeverClassification")
    with LocalServer(api) as server:
        monkeypatch.setattr(mediawiki_mod, "API_URL", f"{server.url}/w/api.php")
        rev = build_task(spec, BuildContext(show_progress=False), folder=tmp_path / "online")
        assert any(p.endswith("/w/api.php") for _, p, _ in server.requests)
    cache = tmp_path / "home" / "sources"
    assert (cache / "wikipedia" / "categorymembers" / "Pain_by_site.json").is_file()
    assert read_manifest(tmp_path / "online")["source"]["origin"].endswith("/w/api.php")
    offline = build_task(spec, BuildContext(source_dir=cache, offline=True, show_progress=False), folder=tmp_path / "offline")
    assert offline == rev
    with pytest.raises(SourceError, match="offline mode; use --source-dir"):
        build_task(get_spec("WikiCoreSpecialtiesClassification"), BuildContext(offline=True), folder=tmp_path / "x")


def test_wikipedia_llm_pairs(tmp_path, llm, minilm_path):
    src = write_wiki_source(tmp_path / "src")
    spec = get_spec("WikiDiseasesPairClassification")
    rev, folder = build_twice(spec, llm_ctx(src, llm), tmp_path / "pairs")
    rows = read_table(folder, "data/test")
    assert sum(r["labels"] for r in rows) == 6 and len(rows) == 12  # pages 301..306 (depth 2), 1 : 1
    assert llm_calls(llm) == 6
    recs = read_manifest(folder)["source"]["records"]
    assert sorted(int(r["id"]) for r in recs) == [301, 302, 303, 304, 305, 306]
    pos = {r["sentence1"]: r["sentence2"] for r in rows if r["labels"] == 1}
    assert all(pos[r["sentence1"]] != r["sentence2"] for r in rows if r["labels"] == 0)
    src2 = write_wiki_source(tmp_path / "src2", changed={304: " of the kidney"})
    assert build_task(spec, llm_ctx(src2, llm), folder=tmp_path / "pairs2") != rev
