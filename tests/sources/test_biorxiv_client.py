"""The api.biorxiv.org client (medeval.sources.biorxiv) on the real datakit medRxiv records, served by a local HTTP
server (cursor paging, resume) and in ``--source-dir`` mode; licence and abstract-cleaning rules."""

from __future__ import annotations


import pytest
from local_server import LocalServer, biorxiv_api, bio_client

from medeval.build import BuildContext
from medeval.errors import SourceError
from medeval.sources.biorxiv import (
    BiorxivClient,
    clean_abstract,
    is_cc_licensed,
    latest_versions,
)


pytestmark = pytest.mark.usefixtures("offline_source_env")


def test_biorxiv_cursor_paging_and_resume(medrxiv_records, tmp_path):
    with LocalServer(biorxiv_api(medrxiv_records, fail_from=30)) as server:
        with pytest.raises(SourceError, match="gave up after 3 attempts"):
            bio_client(server, retries=2).details("medrxiv", "2024-01-01", "2024-12-31")
    with LocalServer(biorxiv_api(medrxiv_records)) as server:
        recs = bio_client(server).details("medrxiv", "2024-01-01", "2024-12-31")
        cursors = [r[1].split("/")[-2] for r in server.requests]
    assert cursors == ["30", "60"]  # cursor 0 was stored by the interrupted run: resumed after it
    assert [r["doi"] for r in recs] == [r["doi"] for r in medrxiv_records]
    stored = sorted(p.name for p in (tmp_path / "home" / "sources" / "biorxiv_medrxiv" / "details").iterdir())
    assert stored == [f"medrxiv_2024-01-01_2024-12-31_{c}.json" for c in (0, 30, 60)]


def test_biorxiv_source_dir_datakit(datakit):
    client = BiorxivClient.from_context(BuildContext(source_dir=datakit))
    med = client.details("medrxiv", "2024-01-01", "2024-12-31")
    bio = client.details("biorxiv", "2024-01-01", "2024-12-31")
    assert (len(med), len(bio)) == (72, 61)  # PROVENANCE.md: 72 medRxiv + 61 bioRxiv CC-licensed records
    assert client.details("medrxiv", "2018-01-01", "2022-12-20") == []  # the datakit holds 2024 postings only
    assert all(is_cc_licensed(r) for r in med + bio)
    latest = latest_versions(med)
    assert len(latest) == 71  # one DOI appears twice (two versions)
    twice = [r for r in med if r["doi"] == "10.1101/2024.01.02.24300691"]
    assert max(int(r["version"]) for r in twice) == int(next(r for r in latest if r["doi"] == twice[0]["doi"])["version"])


def test_biorxiv_licence_and_cleaning_rules():
    assert is_cc_licensed({"license": "cc_by_nc_nd"}) and is_cc_licensed({"license": "cc0"})
    assert not is_cc_licensed({"license": "cc_no"}) and not is_cc_licensed({"license": ""})
    assert clean_abstract("O_ST_ABSBackgroundC_ST_ABS Text C_LIO_LIitem") == "Background Text item"
    assert latest_versions([{"doi": "10.1/x", "version": "1"}, {"doi": "10.1/X", "version": "3"}, {"doi": "10.1/x", "version": "2"}]) == [
        {"doi": "10.1/X", "version": "3"}]
