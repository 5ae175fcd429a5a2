"""Source clients of part 1: ClinicalTrials.gov API v2 (local folder + a local HTTP server), MedMCQA / MedQA files
(HF and converted layouts), the MedQuAD XML collection. Real records come from ../shared/datakit; a few
hand-made rows (marked SYNTHETIC) cover layouts the datakit lacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from local_server import Answer, LocalServer, json_headers

from medeval.build import BuildContext
from medeval.errors import SourceError, SpecError
from medeval.sources import clinicaltrials as ct
from medeval.sources.hf_datasets import hub_snapshot, read_medmcqa, read_medqa, split_of
from medeval.sources.medquad import parse_collections, read_collection


# ------------------------------------------------------------------------------------------ ClinicalTrials.gov
def test_trials_local_folder_reads_v2_pages_and_classic(datakit: Path):
    studies = ct.read_local(datakit / "clinicaltrials")
    ids = [s.nct_id for s in studies]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    by_id = {s.nct_id: s for s in studies}
    # a full v2 single study
    s = by_id["NCT00973089"]
    assert s.official_title == "Alternative Treatment of Deep Carious Lesions Based on Biological Evidences"
    assert s.last_update == "2015-08-19"
    assert s.text("primaryOutcomes") == "measure: The success of the alternative treatment of the deep carious lesion."
    assert s.detailed_description.startswith("The treatment provided today for deep carious lesions")
    # a search-page study (field-filtered: no official title) and a classic-API study with a textual date
    assert by_id["NCT02710084"].brief_title.startswith("Piloting Treatment With Intranasal Oxytocin")
    classic = by_id["NCT04780763"]
    assert classic.official_title and classic.last_update and classic.last_update[:4].isdigit()
    assert sum(s.has(("officialTitle", "detailedDescription")) for s in studies) >= 80
    with pytest.raises(SpecError, match="unknown ClinicalTrials.gov field 'title'"):
        s.text("title")


def test_trials_duplicate_keeps_richest_copy():
    raw = {"protocolSection": {"identificationModule": {"nctId": "NCT1", "officialTitle": "T"},
                               "descriptionModule": {"detailedDescription": "D  with\n spaces"}}}
    thin = {"protocolSection": {"identificationModule": {"nctId": "NCT1", "briefTitle": "b"}}}
    merged = ct.merge(ct.studies_in({"studies": [thin]}) + ct.studies_in(raw))
    assert len(merged) == 1 and merged[0].detailed_description == "D with spaces"
    assert ct.studies_in({"entries": []}) is None  # not a study document


def test_trials_local_folder_errors(tmp_path: Path):
    with pytest.raises(SourceError, match="no such folder"):
        ct.read_local(tmp_path / "clinicaltrials")
    (tmp_path / "clinicaltrials").mkdir()
    (tmp_path / "clinicaltrials" / "bad.json").write_text("{nope")
    with pytest.raises(SourceError, match=r"bad\.json: not valid JSON"):
        ct.read_local(tmp_path / "clinicaltrials")


class FakeCTGov:
    """A local API v2 ``/studies`` server: recorded-format pages chained by nextPageToken, scripted failures."""

    def __init__(self, pages: list[list[dict]], statuses: list[int] | None = None, fail_always: int | None = None):
        self.pages = pages
        self.statuses = list(statuses or [])
        self.fail_always = fail_always
        self.studies = {s["protocolSection"]["identificationModule"]["nctId"]: s for p in pages for s in p}
        self.server = LocalServer(self._handle).__enter__()
        self.base_url = f"{self.server.url}/api/v2"

    def _handle(self, method: str, path: str, q: dict[str, str], body: bytes) -> Answer:
        status = self.statuses.pop(0) if self.statuses else (self.fail_always or 200)
        if status != 200:
            return status, {"Retry-After": "0"}, b""
        if path != "/api/v2/studies":
            return 404, {}, b""
        if "filter.ids" in q:
            answer = {"studies": [self.studies[i] for i in q["filter.ids"].split(",") if i in self.studies]}
        else:
            n = int(q.get("pageToken", "tok-0").split("-")[1])
            answer = {"studies": self.pages[n], "totalCount": sum(map(len, self.pages))}
            if n + 1 < len(self.pages):
                answer["nextPageToken"] = f"tok-{n + 1}"
        return 200, json_headers(), json.dumps(answer).encode()

    @property
    def requests(self) -> list[dict[str, str]]:
        """The query parameters of every request, in arrival order."""
        return [params for _, _, params in self.server.requests]

    def close(self):
        self.server.__exit__(None, None, None)


@pytest.fixture
def recorded_studies(datakit: Path) -> list[dict]:
    folder = datakit / "clinicaltrials" / "api_v2_single_study"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("NCT*.json"))]


def test_trials_api_pages_follow_next_page_token_and_resume(recorded_studies: list[dict], tmp_path: Path):
    pages = [recorded_studies[0:3], recorded_studies[3:6], recorded_studies[6:]]
    fake = FakeCTGov(pages)
    try:
        client = ct.ClinicalTrialsClient(fake.base_url, store=tmp_path / "store", page_size=3, backoff=0.01, min_interval=0)
        got = client.search({"query.term": "x"}, need=("officialTitle",), limit=100)
        assert len(fake.requests) == 3
        assert "pageToken" not in fake.requests[0] and fake.requests[1]["pageToken"] == "tok-1"
        assert fake.requests[2]["pageToken"] == "tok-2"
        assert fake.requests[0]["fields"].split(",")[0] == "NCTId" and fake.requests[0]["pageSize"] == "3"
        assert {s.nct_id for s in got} == {s["protocolSection"]["identificationModule"]["nctId"] for s in recorded_studies}
        stored = sorted((tmp_path / "store").rglob("page-*.json"))
        assert len(stored) == 3
        # a second client resumes from the stored pages: no request at all
        again = ct.ClinicalTrialsClient(fake.base_url, store=tmp_path / "store", page_size=3, backoff=0.01, min_interval=0)
        assert again.search({"query.term": "x"}, need=("officialTitle",), limit=100) == got
        assert len(fake.requests) == 3 and again.requests == 0
        # the stored pages are a valid --source-dir layout
        assert {s.nct_id for s in ct.read_local(tmp_path / "store")} == {s.nct_id for s in got}
        # limit stops paging early
        fresh = ct.ClinicalTrialsClient(fake.base_url, page_size=3, backoff=0.01, min_interval=0)
        assert len(fresh.search({"query.term": "y"}, need=("officialTitle",), limit=2)) == 2
        assert fresh.requests == 1
        # by_ids asks with filter.ids
        some = fresh.by_ids(["NCT00973089", "NCT03475563"])
        assert sorted(s.nct_id for s in some) == ["NCT00973089", "NCT03475563"]
        assert fake.requests[-1]["filter.ids"] == "NCT00973089,NCT03475563"
    finally:
        fake.close()


def test_trials_api_retries_429_then_succeeds(recorded_studies: list[dict]):
    fake = FakeCTGov([recorded_studies[:2]], statuses=[429, 503])
    try:
        client = ct.ClinicalTrialsClient(fake.base_url, backoff=0.01, min_interval=0)
        got = client.search({}, need=("officialTitle",), limit=10)
        assert len(got) == 2 and len(fake.requests) == 3
    finally:
        fake.close()


def test_trials_api_gives_up_on_repeated_500_with_a_clear_message(recorded_studies: list[dict]):
    fake = FakeCTGov([recorded_studies[:2]], fail_always=500)
    try:
        client = ct.ClinicalTrialsClient(fake.base_url, retries=2, backoff=0.01, min_interval=0)
        with pytest.raises(SourceError, match=r"/studies: gave up after 3 attempts \(HTTP 500\).*--source-dir"):
            client.search({}, need=("officialTitle",), limit=10)
        assert len(fake.requests) == 3
    finally:
        fake.close()


def test_trials_offline_without_source_dir_is_clear():
    with pytest.raises(SourceError, match="--offline without --source-dir"):
        ct.load_studies(BuildContext(offline=True), need=("officialTitle",), limit=10)


def test_trials_load_studies_online_uses_the_manifest_ids(recorded_studies: list[dict], tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path))
    fake = FakeCTGov([recorded_studies])
    try:
        client = ct.ClinicalTrialsClient(fake.base_url, backoff=0.01, min_interval=0)
        ctx = BuildContext(record_ids=frozenset({"NCT05594173", "NCT00763412"}))
        studies, origin = ct.load_studies(ctx, need=("officialTitle",), limit=10, client=client)
        assert [s.nct_id for s in studies] == ["NCT00763412", "NCT05594173"]
        assert "filter.ids" in fake.requests[-1] and origin["origin"] == fake.base_url
    finally:
        fake.close()


# --------------------------------------------------------------------------------------------- MedMCQA / MedQA
def test_medmcqa_converted_layout(datakit: Path):
    qs = read_medmcqa(datakit / "medmcqa")
    assert len(qs) == 2816 and len({q.id for q in qs}) == 2816
    first = qs[0]
    assert first.id == "b64a9cd7-d076-4c55-8be1-f9c44fece6cc" and first.split == "validation"
    assert first.answer == 2 and first.options[2].startswith("Amniotic fluid samples")
    assert first.layout == "converted" and first.explanation is None


def _synthetic_medmcqa_rows(base: int) -> list[dict]:
    # SYNTHETIC rows in the original MedMCQA layout (the datakit has none); ``base`` = numbering of 'cop'.
    return [
        {"id": f"syn-{i}", "question": f"Synthetic question {i}?", "opa": f"a{i}", "opb": f"b{i}", "opc": f"c{i}",
         "opd": f"d{i}", "cop": (i % 4) + base, "choice_type": "single", "exp": f"Synthetic explanation {i}.",
         "subject_name": "Anatomy", "topic_name": None}
        for i in range(8)
    ]


def test_medmcqa_original_layouts_and_cop_numbering(tmp_path: Path):
    root = tmp_path / "medmcqa"
    (root / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(_synthetic_medmcqa_rows(0)), root / "data" / "validation-00000-of-00001.parquet")
    qs = read_medmcqa(root)
    assert [q.answer for q in qs[:4]] == [0, 1, 2, 3] and qs[0].explanation == "Synthetic explanation 0."
    assert qs[0].split == "validation" and qs[0].layout == "original"
    # the original release numbers cop 1-4 (detected from the 4), JSON lines
    shutil.rmtree(root)
    root.mkdir()
    rows = [{**r, "id": f"rel-{r['id']}"} for r in _synthetic_medmcqa_rows(1)]
    (root / "train.json").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert [q.answer for q in read_medmcqa(root)[:4]] == [0, 1, 2, 3]
    # only 1-3 present: ambiguous, unless params.cop_base says
    (root / "train.json").write_text("\n".join(json.dumps(r) for r in rows[:3]) + "\n")
    with pytest.raises(SourceError, match=r"train\.json: field 'cop'.*cop_base"):
        read_medmcqa(root)
    assert [q.answer for q in read_medmcqa(root, cop_base=1)] == [0, 1, 2]


def test_medmcqa_errors_name_the_file(tmp_path: Path):
    root = tmp_path / "medmcqa"
    root.mkdir()
    (root / "dev.jsonl").write_text('{"question": "q", "opa": "a"}\nnot json\n')
    with pytest.raises(SourceError, match=r"dev\.jsonl:2: invalid JSON"):
        read_medmcqa(root)
    with pytest.raises(SourceError, match="no such folder"):
        read_medmcqa(tmp_path / "nothing")


def test_medqa_reads_4_option_file_and_skips_5_option_release(datakit: Path):
    qs = read_medqa(datakit / "medqa_usmle")
    assert len(qs) == 1273  # the 5-option file holds the same questions and is skipped
    assert qs[0].id == "test-00000" and qs[-1].id == "test-01272"
    assert qs[0].options[qs[0].answer] == "Tell the attending that he cannot fail to disclose this mistake"
    assert all(len(q.options) == 4 and q.answer is not None for q in qs)


def test_medqa_two_files_for_one_split_is_an_error(datakit: Path, tmp_path: Path):
    root = tmp_path / "medqa_usmle"
    root.mkdir()
    src = datakit / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl"
    shutil.copy(src, root / "a_test.jsonl")
    shutil.copy(src, root / "b_test.jsonl")
    with pytest.raises(SourceError, match="several files hold the MedQA test split"):
        read_medqa(root)


def test_split_names():
    assert split_of(Path("data/validation-00000-of-00001.parquet")) == "validation"
    assert split_of(Path("medagentsbench_medmcqa_dev_single_choice.jsonl")) == "validation"
    assert split_of(Path("US_4_options_phrases_no_exclude_test.jsonl")) == "test"
    assert split_of(Path("questions.jsonl")) == "unknown"


def test_hub_download_offline_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path))
    with pytest.raises(SourceError, match="--offline and no downloaded copy"):
        hub_snapshot("openlifescienceai/medmcqa", None, offline=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    with pytest.raises(SourceError, match=r"openlifescienceai/medmcqa@main: (offline|cannot download).*--source-dir"):
        hub_snapshot("openlifescienceai/medmcqa", None)


def test_hub_download_reuses_a_complete_pinned_copy(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path))
    sha = "0" * 40
    folder = tmp_path / "sources" / "hf" / "GBaker__MedQA-USMLE-4-options" / sha
    folder.mkdir(parents=True)
    (folder / ".complete").write_text("x")
    assert hub_snapshot("GBaker/MedQA-USMLE-4-options", sha, offline=True) == (folder, sha)


# --------------------------------------------------------------------------------------------------- MedQuAD
def test_medquad_collection(datakit: Path):
    pairs = read_collection(datakit / "medquad", collections=[7, 9])
    assert len(pairs) == 769 + 270
    # CDC has one <DiseaseFile> document, read like the others
    assert any(p.file == "9_CDC_QA/0000397.xml" and p.focus == "Parasites - Taeniasis" for p in pairs)
    assert len({p.id for p in pairs}) == len(pairs)
    first = pairs[0]
    assert first.id == "7_SeniorHealth_QA/0000001.xml#0000001-1" and first.file == "7_SeniorHealth_QA/0000001.xml"
    assert first.question == "What is (are) Age-related Macular Degeneration ?" and first.qtype == "information"
    assert first.answer.startswith("Age-related macular degeneration, also known as AMD")
    assert "&apos;" not in " ".join(p.answer for p in pairs)  # XML entities decoded
    # collections 10-12 have their answers removed upstream
    adam = read_collection(datakit / "medquad", collections=[12])
    assert adam and not any(p.answer for p in adam)
    # NINDS has lower-case <doc>/<pair>/<question> files; CancerGov repeats qids across files: ids stay unique
    ninds = read_collection(datakit / "medquad", collections=[1, 6])
    assert len({p.id for p in ninds}) == len(ninds)
    assert any(p.file == "6_NINDS_QA/0000007.xml" and p.question == "what is holmes-adie syndrome ?" and p.answer for p in ninds)


def test_medquad_collections_param_and_errors(tmp_path: Path):
    assert parse_collections("all with answers (sets 1-9)") == tuple(range(1, 10))
    assert parse_collections([2, "7_SeniorHealth_QA"]) == (2, 7)
    with pytest.raises(SpecError, match="collections"):
        parse_collections("everything")
    with pytest.raises(SourceError, match="no MedQuAD collection folders"):
        read_collection(tmp_path)
    (tmp_path / "9_CDC_QA").mkdir()
    (tmp_path / "9_CDC_QA" / "0000001.xml").write_text("<Document><QAPairs>")
    with pytest.raises(SourceError, match=r"0000001\.xml: not valid XML"):
        read_collection(tmp_path)
