"""The MediaWiki client (medeval.sources.mediawiki) against a local HTTP server serving a SYNTHETIC fixture in the
MediaWiki API's answer format (tests/local_server.py: made-up pages, not Wikipedia content), and in
``--source-dir`` mode: paging / continuation, category depth and cycles, the stored layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from local_server import LocalServer, wiki_extract, wiki_api, wiki_client

from medeval.build import BuildContext
from medeval.errors import SourceError
from medeval.sources.mediawiki import MediaWikiClient, split_sections
from medeval.sources.mirror import safe_name


pytestmark = pytest.mark.usefixtures("offline_source_env")


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
