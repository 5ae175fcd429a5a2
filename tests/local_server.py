"""One local HTTP server for the tests of every network client (MediaWiki, E-utilities, bioRxiv, ClinicalTrials.gov,
the OpenAI-compatible LLM endpoint): a thread on 127.0.0.1, never the real network; and the fake upstream APIs
several test modules share on top of it (:class:`FakeOpenAI`, :class:`FakeCTGov`, :func:`wiki_api` with its
SYNTHETIC MediaWiki fixture, :func:`eutils_api` and :func:`biorxiv_api` serving real datakit records).

    >>> def handle(method, path, params, body):
    ...     return 200, {"Content-Type": "application/json"}, b"{}"
    >>> with LocalServer(handle) as server:
    ...     client = SomeClient(base_url=server.url)
    ...     server.requests            # [(method, path, params), ...] in arrival order

``params`` holds the query string's values (last one wins) and, for a form-encoded POST, the form's; ``body`` is
the raw request body.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from medeval.build import BuildContext
from medeval.sources.biorxiv import BiorxivClient
from medeval.sources.eutils import EutilsClient
from medeval.sources.mediawiki import MediaWikiClient

Answer = tuple[int, dict[str, str], bytes]
Handle = Callable[[str, str, dict[str, str], bytes], Answer]


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json"}


class LocalServer:
    """A threaded HTTP server on 127.0.0.1; ``handle(method, path, params, body) -> (status, headers, body)``."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.log: list[tuple[str, str, dict[str, str]]] = []  # (method, path, params) of every request
        self.headers: list[dict[str, str]] = []  # the request headers, in the same order
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self, method: str) -> None:
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if method == "POST" and body and "form" in (self.headers.get("Content-Type") or ""):
                    params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
                with outer._lock:
                    outer.log.append((method, parts.path, params))
                    outer.headers.append(dict(self.headers.items()))
                status, headers, payload = outer.handle(method, parts.path, params, body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def requests(self) -> Any:
        """``[(method, path, params), ...]`` in arrival order (the fake APIs below give a view that fits them)."""
        return self.log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ----------------------------------------------------------------------------------- fake upstream APIs
class FakeOpenAI(LocalServer):
    """A local OpenAI-compatible chat endpoint. ``script`` is a list of HTTP statuses answered before succeeding.

    Answers are a deterministic function of the prompt ("paraphrase-<hash>"), so tests can check what was asked.
    ``requests`` counts every POST (failed ones included); ``bodies`` keeps the JSON bodies.
    """

    def __init__(self, script: list[int] | None = None, fail_always: int | None = None, content: str | None = None) -> None:
        self.script = list(script or [])
        self.fail_always = fail_always
        self.content = content
        self.bodies: list[dict] = []
        self._answer_lock = threading.Lock()
        super().__init__(self._handle)

    def _handle(self, method: str, path: str, params: dict[str, str], body: bytes) -> Answer:
        data = json.loads(body)
        with self._answer_lock:
            self.bodies.append(data)
            status = self.script.pop(0) if self.script else (self.fail_always or 200)
        if path != "/v1/chat/completions":
            status = 404
        if status != 200:
            return status, ({"Retry-After": "0"} if status == 429 else {}), b""
        prompt = data["messages"][0]["content"]
        text = self.content if self.content is not None else fake_llm_answer(prompt)
        reply = {"id": "x", "object": "chat.completion", "model": data["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": f"  {text}\n"}}]}
        return 200, json_headers(), json.dumps(reply).encode()

    @property
    def requests(self) -> int:
        """How many requests arrived (failed ones included)."""
        return len(self.log)

    @property
    def auth(self) -> list[str | None]:
        return [h.get("Authorization") for h in self.headers]

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


def fake_llm_answer(prompt: str) -> str:
    """What :class:`FakeOpenAI` answers to ``prompt`` by default: ``"paraphrase-<10 hex digits of its sha256>"``."""
    return "paraphrase-" + hashlib.sha256(prompt.encode()).hexdigest()[:10]


class FakeCTGov(LocalServer):
    """A local API v2 ``/studies`` server: recorded-format pages chained by nextPageToken, scripted failures."""

    def __init__(self, pages: list[list[dict]], statuses: list[int] | None = None, fail_always: int | None = None):
        self.pages = pages
        self.statuses = list(statuses or [])
        self.fail_always = fail_always
        self.studies = {s["protocolSection"]["identificationModule"]["nctId"]: s for p in pages for s in p}
        super().__init__(self._handle)
        self.__enter__()
        self.base_url = f"{self.url}/api/v2"

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
        return [params for _, _, params in self.log]

    def close(self) -> None:
        self.__exit__(None, None, None)


# ----------------------------------------------------------------------------- MediaWiki, E-utilities, bioRxiv
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


def datakit_pubmed_records(datakit: Path) -> dict[str, bytes]:
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


def datakit_medrxiv_records(datakit: Path) -> list[dict[str, Any]]:
    """The real medRxiv records of the datakit's ``details`` answer."""
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
