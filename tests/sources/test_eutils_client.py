"""The E-utilities client (medeval.sources.eutils) and the PubMed/PMC XML parsers (medeval.sources.ncbi_xml) on
the real datakit records (/work/shared/datakit; skipped without it), served by a local HTTP server: esearch paging,
efetch, resume from the stored layout, rate limits, the 9,999-hit window, ``--source-dir`` mode."""

from __future__ import annotations

import gzip
import json

import pytest
from local_server import LocalServer, eutils_api, eutils_client

from medeval.build import BuildContext
from medeval.errors import SourceError
from medeval.sources import eutils as eutils_mod
from medeval.sources.eutils import EutilsClient
from medeval.sources.ncbi_xml import parse_pmc_xml, parse_pubmed_xml


pytestmark = pytest.mark.usefixtures("offline_source_env")


def test_parse_datakit_pubmed_and_pmc(datakit):
    arts = []
    for path in sorted((datakit / "pubmed").rglob("*.xml*")):
        data = path.read_bytes()
        arts += parse_pubmed_xml(gzip.decompress(data) if path.suffix == ".gz" else data, path)
    assert len(arts) == 194 and sum(1 for a in arts if a.abstract) == 124  # the counts PROVENANCE.md states
    asthma = next(a for a in arts if a.pmid == "29768149")
    assert asthma.title.startswith("Inhaled Combined Budesonide-Formoterol") and "β 2-agonist" in asthma.abstract  # <sub> text kept (the file is pretty-printed)
    pmc = []
    for path in sorted((datakit / "pmc").rglob("*.*xml")):
        pmc += parse_pmc_xml(path.read_bytes(), path)
    assert len(pmc) == 11
    by_id = {a.pmcid: a for a in pmc}
    assert by_id["PMC3460867"].pmid == "23029536" and by_id["PMC3460867"].title.startswith("MmPPOX Inhibits")
    assert by_id["PMC13016435"].version == "PMC13016435.1" and by_id["PMC13016435"].license.endswith("/by/4.0/")
    assert by_id["PMC8435807"].abstract_first_paragraph == ""  # a correction notice without abstract


def test_eutils_search_paging_fetch_and_resume(pubmed_records, monkeypatch):
    monkeypatch.setattr(eutils_mod, "ESEARCH_PAGE", 4)
    monkeypatch.setenv("NCBI_API_KEY", "test-key")
    monkeypatch.setenv("NCBI_EMAIL", "dev@example.org")
    with LocalServer(eutils_api(pubmed_records)) as server:
        client = eutils_client(server)
        ids = client.search("medicine", 10)
        records = client.fetch(ids)
        searches = [r for r in server.requests if r[1].endswith("esearch.fcgi")]
        assert ids == sorted(pubmed_records, key=int)[:10]
        assert [r[2]["retstart"] for r in searches] == ["0", "4", "8"] and searches[-1][2]["retmax"] == "2"
        assert all(r[2]["api_key"] == "test-key" and r[2]["email"] == "dev@example.org" for r in server.requests)
        assert sorted(records) == sorted(ids) and all(records[i].title for i in ids)
        # a second client on the same cache asks nothing
        before = len(server.requests)
        again = eutils_client(server)
        assert again.search("medicine", 10) == ids and sorted(again.fetch(ids)) == sorted(ids)
        assert len(server.requests) == before
        # asking for more than the stored search holds searches again
        assert len(again.search("medicine", 12)) == 12
        assert len(server.requests) > before
    cache = client.mirror.root
    assert (cache / "esearch" / "medicine.json").is_file() and list((cache / "efetch").glob("*.xml.gz"))


def test_eutils_rate_limits_follow_api_key(monkeypatch):
    ctx = BuildContext()
    assert EutilsClient.from_context(ctx, "pubmed").http.min_interval == pytest.approx(0.34)  # 3 requests/s
    monkeypatch.setenv("NCBI_API_KEY", "k")
    assert EutilsClient.from_context(ctx, "pmc").http.min_interval == pytest.approx(0.11)  # 10 requests/s


def test_eutils_pubmed_window_splits_by_year(pubmed_records, monkeypatch):
    monkeypatch.setattr(eutils_mod, "PUBMED_WINDOW", 4)
    with LocalServer(eutils_api(pubmed_records, count=100_000, per_year=3)) as server:
        ids = eutils_client(server).search("medicine", 8, max_year=2030)
        years = [r[2].get("mindate") for r in server.requests if r[1].endswith("esearch.fcgi")]
    pool = sorted(pubmed_records, key=int)
    assert years[0] is None and years[1:] == ["2030", "2029", "2028"]
    assert ids == pool[:8]


def test_eutils_source_dir_needs_an_esearch_file(tmp_path, datakit):
    (tmp_path / "src" / "pmc" / "esearch").mkdir(parents=True)
    (tmp_path / "src" / "pmc" / "records").symlink_to(datakit / "pmc")
    (tmp_path / "src" / "pmc" / "esearch" / "CT_scan.json").write_text(json.dumps(
        [{"esearchresult": {"count": "3", "idlist": ["3166277", "PMC2329613"]}}, {"esearchresult": {"count": "3", "idlist": ["3166277", "9"]}}]))
    client = EutilsClient.from_context(BuildContext(source_dir=tmp_path / "src"), "pmc")
    assert client.http is None
    assert client.search("CT scan", 10) == ["PMC3166277", "PMC2329613", "PMC9"]
    got = client.fetch(["PMC3166277", "PMC9"])
    assert list(got) == ["PMC3166277"]  # PMC9 is not in the folder: left out
    with pytest.raises(SourceError, match=r"esearch/MRI\.json: missing; --source-dir needs the esearch JSON"):
        client.search("MRI", 10)
