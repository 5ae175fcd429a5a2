"""Source clients for Wikipedia (MediaWiki API), PubMed/PMC (E-utilities) and bioRxiv/medRxiv (api.biorxiv.org).

Every client is tested against a local HTTP server on 127.0.0.1 started by the test (paging / continuation,
a 429 then success, a 500 repeated until the client gives up, resuming from stored pages) and in
``--source-dir`` mode. The E-utilities and bioRxiv servers answer with real records from the shared datakit
(/work/shared/datakit; tests skip without it). Wikipedia has no real samples: its server answers with a
SYNTHETIC fixture in the MediaWiki API's answer format, written below (made-up pages, not Wikipedia content).
"""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import shared_dir
from local_server import Answer, LocalServer

from medeval.build import BuildContext
from medeval.errors import SourceError
from medeval.sources import biorxiv as biorxiv_mod
from medeval.sources import eutils as eutils_mod
from medeval.sources import mediawiki as mediawiki_mod
from medeval.sources.biorxiv import (
    BiorxivClient,
    clean_abstract,
    is_cc_licensed,
    latest_versions,
)
from medeval.sources.eutils import EutilsClient
from medeval.sources.ncbi_xml import parse_pmc_xml, parse_pubmed_xml
from medeval.sources.mediawiki import MediaWikiClient, split_sections
from medeval.sources.mirror import Mirror, safe_name


# ------------------------------------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def datakit() -> Path:
    """The shared datakit, for this module's module-scoped fixtures (conftest's ``datakit`` is per test)."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("the shared datakit (../shared/datakit or /work/shared/datakit) is not available")
    return shared / "datakit"


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    """Online caches go to a temporary data folder; no test uses the real network."""
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDEVAL_OFFLINE", raising=False)
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.delenv("NCBI_EMAIL", raising=False)


def json_answer(obj: Any, status: int = 200) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(obj).encode()


def xml_answer(text: bytes) -> Answer:
    return 200, {"Content-Type": "text/xml"}, text


def flaky(handle: Callable[..., Answer], first: int) -> Callable[..., Answer]:
    """Answer the first request with status ``first`` (429 with Retry-After: 0), then delegate."""
    state = {"n": 0}

    def wrapped(*args: Any) -> Answer:
        state["n"] += 1
        if state["n"] == 1:
            return first, {"Retry-After": "0"}, b"slow down"
        return handle(*args)

    return wrapped


def always(status: int) -> Callable[..., Answer]:
    return lambda *args: (status, {}, b"server error")


# ------------------------------------------------------------------------------- MediaWiki: synthetic fixture
# FIXTURE (synthetic): made-up categories and pages, shaped exactly like MediaWiki Action API answers
# (list=categorymembers; prop=extracts|info). It is not real Wikipedia content.
WIKI_CATEGORIES: dict[str, list[tuple[int, int, str]]] = {
    "Category:Pain": [(101, 0, "Fixture pain page A"), (14001, 14, "Category:Fixture headaches"), (102, 0, "Fixture pain page B"),
                      (500, 0, "Fixture page in both"), (103, 0, "Fixture pain page C")],
    "Category:Fixture headaches": [(104, 0, "Fixture headache page"), (14000, 14, "Category:Pain"),
                                   (14002, 14, "Category:Fixture deep"), (101, 0, "Fixture pain page A")],
    "Category:Fixture deep": [(106, 0, "Fixture deep page")],
    "Category:Fever": [(201, 0, "Fixture fever page A"), (202, 0, "Fixture fever page B"), (500, 0, "Fixture page in both"),
                       (203, 0, "Fixture fever page C")],
}


def wiki_extract(pageid: int, title: str) -> str:
    return (f"{title} is a synthetic fixture page number {pageid} used to test the medeval MediaWiki client.\n"
            f"It has a second lead paragraph about item {pageid}.\n\n== Signs ==\nSection text {pageid}.\n\n=== Detail ===\nMore.")


WIKI_PAGES = {pid: title for members in WIKI_CATEGORIES.values() for pid, ns, title in members if ns == 0}


def wiki_api(page_size: int = 2, extracts_per_answer: int = 2) -> Callable[..., Answer]:
    """A fake api.php answering list=categorymembers (paged by cmcontinue) and prop=extracts|info (excontinue)."""

    def handle(method: str, path: str, p: dict[str, str], body: bytes) -> Answer:
        assert path.endswith("/w/api.php") and p.get("action") == "query" and p.get("format") == "json"
        if p.get("list") == "categorymembers":
            members = WIKI_CATEGORIES.get(p["cmtitle"], [])
            start = int(p.get("cmcontinue", "0"))
            chunk = members[start : start + page_size]
            answer: dict[str, Any] = {"batchcomplete": "", "query": {"categorymembers": [
                {"pageid": pid, "ns": ns, "title": title, "type": "subcat" if ns == 14 else "page"} for pid, ns, title in chunk]}}
            if start + page_size < len(members):
                answer["continue"] = {"cmcontinue": str(start + page_size), "continue": "-||"}
                answer.pop("batchcomplete")
            return json_answer(answer)
        if p.get("prop") == "extracts|info":
            assert p.get("explaintext") == "1" and p.get("exintro") == "1"
            ids = [int(x) for x in p["pageids"].split("|")]
            offset = int(p.get("excontinue", "0"))
            pages: dict[str, Any] = {}
            for k, pid in enumerate(ids):
                if pid not in WIKI_PAGES:
                    pages[str(-k - 1)] = {"pageid": pid, "missing": ""}
                    continue
                entry: dict[str, Any] = {"pageid": pid, "ns": 0, "title": WIKI_PAGES[pid], "contentmodel": "wikitext",
                                         "lastrevid": 900000 + pid, "length": 1234}
                if offset <= k < offset + extracts_per_answer:
                    entry["extract"] = wiki_extract(pid, WIKI_PAGES[pid]).split("\n\n==")[0]  # exintro: the lead only
                pages[str(pid)] = entry
            answer = {"batchcomplete": "", "query": {"pages": pages}}
            if offset + extracts_per_answer < len(ids):
                answer = {"continue": {"excontinue": offset + extracts_per_answer, "continue": "||info"}, "query": {"pages": pages}}
            return json_answer(answer)
        return json_answer({"error": {"code": "badparams", "info": f"unexpected {p}"}})

    return handle


def wiki_client(server: LocalServer, **kw: Any) -> MediaWikiClient:
    client = MediaWikiClient.from_context(BuildContext(), base_url=f"{server.url}/w/api.php", backoff=0.01, **kw)
    assert client.http is not None
    client.http.min_interval = 0
    return client


def test_split_sections_lead_and_headings():
    secs = split_sections(wiki_extract(7, "T"))
    assert secs[0][0] == "" and secs[0][1].startswith("T is a synthetic") and "\n" in secs[0][1]
    assert [h for h, _ in secs] == ["", "Signs", "Detail"]


def test_mediawiki_category_paging_depth_and_cycles():
    with LocalServer(wiki_api()) as server:
        wiki = wiki_client(server)
        d0 = wiki.pages_in_category("Category:Pain", depth=0)
        d1 = wiki.pages_in_category("Pain", depth=1)
        d2 = wiki.pages_in_category("Category:Pain", depth=2)
    assert [m.pageid for m in d0] == [101, 102, 103, 500]
    assert [m.pageid for m in d1] == [101, 102, 103, 104, 500]  # the cycle back to Category:Pain is not re-walked
    assert [m.pageid for m in d2] == [101, 102, 103, 104, 106, 500]
    assert {m.pageid: m.depth for m in d2}[101] == 0 and {m.pageid: m.depth for m in d2}[106] == 2
    # 5 members in pages of 2 -> 3 answers followed through cmcontinue
    pain_calls = [r for r in server.requests if r[2].get("cmtitle") == "Category:Pain"]
    assert [r[2].get("cmcontinue") for r in pain_calls] == [None, "2", "4"]
    # each category was asked for once: later walks read the stored answers
    assert sum(1 for r in server.requests if r[2].get("cmtitle") == "Category:Fixture headaches") == 2


def test_mediawiki_extracts_continuation_store_and_source_dir(tmp_path):
    with LocalServer(wiki_api(extracts_per_answer=2)) as server:
        wiki = wiki_client(server)
        pages = wiki.pages([101, 102, 103, 104, 999])  # 999 does not exist
        n_requests = len(server.requests)
    assert sorted(pages) == [101, 102, 103, 104]
    assert pages[103].revid == 900103 and pages[103].title == "Fixture pain page C"
    assert pages[104].lead.startswith("Fixture headache page is a synthetic") and "Signs" not in pages[104].lead
    assert n_requests == 3  # 5 pages, 2 extracts per answer -> excontinue twice
    # the raw answers were stored in the --source-dir layout; read them back without a network
    stored = Path(wiki.mirror.root)
    assert stored == tmp_path / "home" / "sources" / "wikipedia"
    offline = MediaWikiClient.from_context(BuildContext(source_dir=stored.parent))
    assert offline.http is None
    again = offline.pages([101, 102, 103, 104])
    assert {k: (v.revid, v.lead) for k, v in again.items()} == {k: (v.revid, v.lead) for k, v in pages.items()}


def test_mediawiki_source_dir_layout_and_errors(tmp_path):
    root = tmp_path / "src" / "wikipedia"
    (root / "categorymembers").mkdir(parents=True)
    (root / "pages").mkdir()
    # a categorymembers file holding two continuation answers, and a pages answer in formatversion=2 shape
    (root / "categorymembers" / "Fever.json").write_text(json.dumps([
        {"continue": {"cmcontinue": "x", "continue": "-||"}, "query": {"categorymembers": [{"pageid": 201, "ns": 0, "title": "A"}]}},
        {"batchcomplete": "", "query": {"categorymembers": [{"pageid": 202, "ns": 0, "title": "B"}]}},
    ]))
    (root / "pages" / "batch.json").write_text(json.dumps(
        {"batchcomplete": True, "query": {"pages": [{"pageid": 201, "ns": 0, "title": "A", "lastrevid": 5, "extract": "Lead A.\n== H ==\nx"},
                                                    {"ns": 0, "title": "Gone", "missing": True}]}}))
    wiki = MediaWikiClient.from_context(BuildContext(source_dir=tmp_path / "src"))
    assert [m.pageid for m in wiki.pages_in_category("Category:Fever", 1)] == [201, 202]
    got = wiki.pages([201, 202])
    assert list(got) == [201] and got[201].lead == "Lead A." and got[201].revid == 5
    with pytest.raises(SourceError, match=r"categorymembers/Pain\.json: missing; --source-dir needs"):
        wiki.pages_in_category("Category:Pain", 1)
    with pytest.raises(SourceError, match="must hold a 'wikipedia/' folder"):
        MediaWikiClient.from_context(BuildContext(source_dir=tmp_path / "nowhere"))
    (root / "categorymembers" / "Bad.json").write_text(json.dumps({"error": {"code": "maxlag", "info": "Waiting"}}))
    with pytest.raises(SourceError, match="MediaWiki API error maxlag"):
        wiki.category_members("Category:Bad")


def test_safe_name_escapes_separators():
    assert safe_name("CT scan") == "CT_scan"
    assert safe_name("a/b") == "a%2Fb" and "/" not in safe_name("../x")


# ----------------------------------------------------------------------------------------- E-utilities
@pytest.fixture(scope="module")
def pubmed_records(datakit) -> dict[str, bytes]:
    """PMID -> the serialized <PubmedArticle> element, from the datakit's real PubMed XML."""
    out: dict[str, bytes] = {}
    for path in sorted((datakit / "pubmed").rglob("*.xml*")):
        data = path.read_bytes()
        root = ET.fromstring(gzip.decompress(data) if path.suffix == ".gz" else data)
        for art in root.iter("PubmedArticle"):
            out.setdefault(art.findtext("MedlineCitation/PMID"), ET.tostring(art))
    return out


def eutils_api(records: dict[str, bytes], *, count: int | None = None, per_year: int | None = None) -> Callable[..., Answer]:
    """A fake esearch.fcgi (term -> all PMIDs, paged by retstart/retmax) and efetch.fcgi (POST ids -> XML)."""
    ids = sorted(records, key=int)

    def handle(method: str, path: str, p: dict[str, str], body: bytes) -> Answer:
        assert p.get("tool") == "medeval" and p.get("db") == "pubmed"
        if path.endswith("/esearch.fcgi"):
            assert p["retmode"] == "json"
            start, size = int(p["retstart"]), int(p["retmax"])
            pool = ids
            if "mindate" in p:  # a year slice: a different, smaller list per year
                year = int(p["mindate"])
                assert p["maxdate"] == p["mindate"] and p["datetype"] == "pdat"
                pool = ids[(2030 - year) * per_year : (2031 - year) * per_year] if per_year else []
            total = len(pool) if count is None or "mindate" in p else count
            return json_answer({"header": {"type": "esearch", "version": "0.3"}, "esearchresult": {
                "count": str(total), "retmax": str(size), "retstart": str(start), "idlist": pool[start : start + size],
                "translationset": [], "querytranslation": p["term"]}})
        if path.endswith("/efetch.fcgi"):
            assert method == "POST" and p["retmode"] == "xml" and p["rettype"] == "abstract"
            parts = [records[i] for i in p["id"].split(",") if i in records]
            return xml_answer(b'<?xml version="1.0" ?>\n<PubmedArticleSet>' + b"".join(parts) + b"</PubmedArticleSet>")
        return 404, {}, b"no"

    return handle


def eutils_client(server: LocalServer, db: str = "pubmed", **kw: Any) -> EutilsClient:
    client = EutilsClient.from_context(BuildContext(), db, base_url=f"{server.url}/entrez/eutils", backoff=0.01, **kw)
    assert client.http is not None
    client.http.min_interval = 0
    return client


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


# --------------------------------------------------------------------------------------------- bioRxiv
@pytest.fixture(scope="module")
def medrxiv_records(datakit) -> list[dict[str, Any]]:
    path = datakit / "biorxiv_medrxiv" / "details_api_json" / "medrxiv_details_2024-01-01_2024-12-31_cursor0_cc-licensed-only.json"
    return json.loads(path.read_text())["collection"]


def biorxiv_api(records: list[dict[str, Any]], page: int = 30, fail_from: int | None = None) -> Callable[..., Answer]:
    """A fake /details/{server}/{from}/{to}/{cursor}/json serving real records in pages of ``page``."""

    def handle(method: str, path: str, p: dict[str, str], body: bytes) -> Answer:
        m = re.fullmatch(r"/details/(\w+)/(\d{4}-\d\d-\d\d)/(\d{4}-\d\d-\d\d)/(\d+)/json", path)
        assert m, path
        cursor = int(m.group(4))
        if fail_from is not None and cursor >= fail_from:
            return 500, {}, b"down"
        chunk = records[cursor : cursor + page]
        if not chunk:
            return json_answer({"messages": [{"status": "no posts found"}], "collection": []})
        msg = {"status": "ok", "category": "all", "interval": f"{m.group(2)}:{m.group(3)}", "cursor": cursor,
               "count": page, "count_new_papers": str(len(records)), "total": str(len(records))}
        return json_answer({"messages": [msg], "collection": chunk})

    return handle


def bio_client(server: LocalServer, **kw: Any) -> BiorxivClient:
    client = BiorxivClient.from_context(BuildContext(), base_url=server.url, backoff=0.01, **kw)
    assert client.http is not None
    client.http.min_interval = 0
    return client


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


# ------------------------------------------------------------------------- retries, give-up, offline (all clients)
def _wiki_call(server: LocalServer, **kw: Any) -> Any:
    return wiki_client(server, **kw).category_members("Category:Fever")


def _eutils_call(server: LocalServer, **kw: Any) -> Any:
    return eutils_client(server, **kw).search("medicine", 3)


def _bio_call(server: LocalServer, **kw: Any) -> Any:
    return bio_client(server, **kw).details("medrxiv", "2024-01-01", "2024-12-31")


@pytest.fixture
def apis(pubmed_records, medrxiv_records) -> dict[str, tuple[Callable[..., Answer], Callable[..., Any]]]:
    return {
        "mediawiki": (wiki_api(page_size=10), _wiki_call),
        "eutils": (eutils_api(pubmed_records), _eutils_call),
        "biorxiv": (biorxiv_api(medrxiv_records, page=100), _bio_call),
    }


@pytest.mark.parametrize("api", ["mediawiki", "eutils", "biorxiv"])
def test_429_then_success(api, apis):
    handle, call = apis[api]
    with LocalServer(flaky(handle, 429)) as server:
        result = call(server)
    assert result and len(server.requests) == 2  # the 429 was retried once, then the answer was used


@pytest.mark.parametrize("api", ["mediawiki", "eutils", "biorxiv"])
def test_500_repeated_gives_up_with_clear_message(api, apis):
    _, call = apis[api]
    with LocalServer(always(500)) as server, pytest.raises(SourceError) as err:
        call(server, retries=2)
    assert len(server.requests) == 3
    msg = str(err.value)
    assert server.url in msg and "gave up after 3 attempts (HTTP 500)" in msg and "--source-dir" in msg


@pytest.mark.parametrize("api", ["mediawiki", "eutils", "biorxiv"])
def test_offline_mode_is_a_clear_error(api, monkeypatch):
    monkeypatch.setattr(mediawiki_mod, "API_URL", "http://127.0.0.1:9/w/api.php")
    monkeypatch.setattr(eutils_mod, "EUTILS_URL", "http://127.0.0.1:9/eutils")
    monkeypatch.setattr(biorxiv_mod, "API_URL", "http://127.0.0.1:9")
    ctx = BuildContext(offline=True)
    calls = {
        "mediawiki": lambda: MediaWikiClient.from_context(ctx).category_members("Category:Fever"),
        "eutils": lambda: EutilsClient.from_context(ctx, "pubmed").search("medicine", 3),
        "biorxiv": lambda: BiorxivClient.from_context(ctx).details("medrxiv", "2024-01-01", "2024-12-31"),
    }
    with pytest.raises(SourceError, match="offline mode; use --source-dir"):
        calls[api]()


def test_unreachable_server_is_a_clear_error():
    with LocalServer(always(200)) as server:
        url = server.url
    client = MediaWikiClient.from_context(BuildContext(), base_url=f"{url}/w/api.php", backoff=0.01, retries=1)
    client.http.min_interval = 0
    with pytest.raises(SourceError, match=r"gave up after 2 attempts \(cannot connect"):
        client.category_members("Category:Fever")


def test_mirror_is_read_only_for_source_dirs(tmp_path):
    mirror = Mirror(tmp_path, writable=False)
    with pytest.raises(SourceError, match="read-only"):
        mirror.write_json("x.json", {})
    assert not (tmp_path / "x.json").exists()
