"""The ClinicalTrials.gov client (medeval.sources.clinicaltrials): API v2 pages from a local folder and from a local
HTTP server (paging, resume, retries, give-up, offline). Real studies come from ../shared/datakit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from local_server import FakeCTGov

from medeval.build import BuildContext
from medeval.errors import SourceError, SpecError
from medeval.sources import clinicaltrials as ct
from medeval.sources.clinicaltrials_studies import merge, read_local, studies_in



def test_trials_local_folder_reads_v2_pages_and_classic(datakit: Path):
    studies = read_local(datakit / "clinicaltrials")
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
    merged = merge(studies_in({"studies": [thin]}) + studies_in(raw))
    assert len(merged) == 1 and merged[0].detailed_description == "D with spaces"
    assert studies_in({"entries": []}) is None  # not a study document


def test_trials_local_folder_errors(tmp_path: Path):
    with pytest.raises(SourceError, match="no such folder"):
        read_local(tmp_path / "clinicaltrials")
    (tmp_path / "clinicaltrials").mkdir()
    (tmp_path / "clinicaltrials" / "bad.json").write_text("{nope")
    with pytest.raises(SourceError, match=r"bad\.json: not valid JSON"):
        read_local(tmp_path / "clinicaltrials")


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
        assert {s.nct_id for s in read_local(tmp_path / "store")} == {s.nct_id for s in got}
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
