"""NCBI E-utilities client for PubMed and PubMed Central: esearch (ids per search term) + efetch (XML records).

Requests (https://www.ncbi.nlm.nih.gov/books/NBK25499/)::

    esearch.fcgi?db=pubmed|pmc&term=...&retmode=json&retstart=N&retmax=M
        -> {"header": {...}, "esearchresult": {"count": "123", "retmax": "20", "retstart": "0", "idlist": ["1", ...]}}
    efetch.fcgi (POST) db=pubmed&retmode=xml&rettype=abstract&id=1,2,...  -> <PubmedArticleSet><PubmedArticle>...
    efetch.fcgi (POST) db=pmc&retmode=xml&id=123,...                     -> <pmc-articleset><article>... (JATS)

Every request carries ``tool=medeval`` and, when set, ``email`` (env ``NCBI_EMAIL``) and ``api_key``
(env ``NCBI_API_KEY``). Requests are spaced to NCBI's limits: 3 per second without a key, 10 with one.
PMC searches are restricted to the open-access subset (``AND open access[filter]``). PubMed lets esearch page
through only the first 9,999 hits of a query; asking for more splits the search by publication year, newest first.

``--source-dir`` layout (``<source dir>/pubmed/`` or ``<source dir>/pmc/``)::

    <db>/esearch/<term>.json   the esearch JSON answer(s) for the search term (one answer, or a JSON list of the
                               paged answers in order); the ids, in order, are what the term "retrieved".
                               Term file names: spaces as "_", e.g. pmc/esearch/CT_scan.json (see mirror.safe_name)
    <db>/**/*.xml, *.nxml, *.xml.gz
                               the records, anywhere else in the folder: efetch PubmedArticleSet XML (also NLM
                               baseline files) for pubmed; efetch pmc-articleset XML or bare OA-package JATS
                               <article> files for pmc. Records are found by their own ids (PMID; PMCID).

A search term is needed to label records; a folder of records that is not organised by search (such as the
datakit samples) gets its terms from an esearch file written for it (the ids of the records meant to be
"retrieved" by that term). A term without an esearch file is an error naming the file to add.
Online builds store the same layout (efetch answers gzipped) under ``<data folder>/sources/<db>/``.

    >>> from medeval.sources.eutils import EutilsClient
    >>> pmc = EutilsClient.from_context(ctx, "pmc")
    >>> ids = pmc.search("MRI", max_ids=2000)
    >>> records = pmc.fetch(ids)              # {"PMC3166277": PmcArticle(...), ...}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from medeval.errors import SourceError
from medeval.sources.http import HttpClient
from medeval.sources.mirror import Mirror, safe_name

if TYPE_CHECKING:
    from medeval.build import BuildContext

logger = logging.getLogger(__name__)

EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
Db = Literal["pubmed", "pmc"]
PUBMED_WINDOW = 9_999  # esearch cannot page past the first 9,999 PubMed hits of one query
ESEARCH_PAGE = 5_000
EFETCH_BATCH = {"pubmed": 200, "pmc": 50}  # PMC answers carry full texts: smaller batches
PMC_OPEN_ACCESS = "open access[filter]"
XLINK = "{http://www.w3.org/1999/xlink}href"


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _text(el: ET.Element | None) -> str:
    return _clean("".join(el.itertext())) if el is not None else ""


@dataclass(frozen=True)
class PubmedArticle:
    """One PubMed citation: PMID (+ its version), title, abstract (all AbstractText parts), DOI, and the MeSH
    descriptor names and author keywords (the paper's LLM prompts pass both)."""

    pmid: str
    version: str
    title: str
    abstract: str
    doi: str | None
    mesh_terms: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.pmid


@dataclass(frozen=True)
class PmcArticle:
    """One PMC article: PMCID (+ version when the XML has it), PMID, DOI, title, first abstract paragraph, licence."""

    pmcid: str
    version: str | None
    pmid: str | None
    doi: str | None
    title: str
    abstract_first_paragraph: str
    license: str | None

    @property
    def id(self) -> str:
        return self.pmcid


def normalize_pmcid(value: str) -> str:
    """``"3166277"``, ``"PMC3166277"`` or ``"PMC3166277.1"`` -> ``"PMC3166277"``."""
    m = re.fullmatch(r"\s*(?:PMC)?(\d+)(?:\.\d+)?\s*", str(value), flags=re.I)
    if not m:
        raise ValueError(f"not a PMC id: {value!r}")
    return f"PMC{m.group(1)}"


# ----------------------------------------------------------------------------------------------------- parsing
def parse_pubmed_xml(data: bytes, where: Any = "<xml>") -> list[PubmedArticle]:
    """PubmedArticle records of a PubmedArticleSet document (efetch answer or baseline file)."""
    root = _parse(data, where)
    if root.tag == "eFetchResult":
        raise SourceError(f"{where}: efetch error: {_text(root.find('ERROR')) or _text(root)}")
    if root.tag != "PubmedArticleSet":
        raise SourceError(f"{where}: expected a <PubmedArticleSet> document, found <{root.tag}>")
    out = []
    for art in root.iter("PubmedArticle"):
        cit = art.find("MedlineCitation")
        pmid_el = cit.find("PMID") if cit is not None else None
        if pmid_el is None or not _clean(pmid_el.text):
            raise SourceError(f"{where}: a PubmedArticle without MedlineCitation/PMID")
        article = cit.find("Article")
        title = _text(article.find("ArticleTitle")) if article is not None else ""
        parts = [_text(a) for a in article.iterfind("Abstract/AbstractText")] if article is not None else []
        doi = None
        for aid in art.iterfind("PubmedData/ArticleIdList/ArticleId"):
            if aid.get("IdType") == "doi" and _clean(aid.text):
                doi = _clean(aid.text)
                break
        if doi is None and article is not None:
            for loc in article.iterfind("ELocationID"):
                if loc.get("EIdType") == "doi" and _clean(loc.text):
                    doi = _clean(loc.text)
                    break
        mesh = tuple(t for t in (_text(d) for d in cit.iterfind("MeshHeadingList/MeshHeading/DescriptorName")) if t)
        keywords = tuple(t for t in (_text(k) for k in cit.iterfind("KeywordList/Keyword")) if t)
        out.append(PubmedArticle(_clean(pmid_el.text), pmid_el.get("Version", "1"), title, " ".join(p for p in parts if p), doi,
                                 mesh, keywords))
    return out


def _first_abstract(meta: ET.Element) -> ET.Element | None:
    abstracts = meta.findall("abstract")
    for a in abstracts:
        if a.get("abstract-type") is None:
            return a
    for a in abstracts:
        if a.get("abstract-type") not in {"graphical", "teaser", "toc", "short", "web-summary"}:
            return a
    return abstracts[0] if abstracts else None


def _first_paragraph(abstract: ET.Element | None) -> str:
    if abstract is None:
        return ""
    for p in abstract.iter("p"):
        text = _text(p)
        if text:
            return text
    return _text(abstract)


def _pmc_article(art: ET.Element, where: Any) -> PmcArticle | None:
    meta = art.find("front/article-meta")
    if meta is None:
        return None
    ids: dict[str, str] = {}
    for aid in meta.iterfind("article-id"):
        kind, value = aid.get("pub-id-type", ""), _clean(aid.text)
        if value and kind not in ids:
            ids[kind] = value
    raw = ids.get("pmcid") or ids.get("pmc")
    if raw is None:
        logger.warning("%s: an <article> without a pmc/pmcid article-id is skipped", where)
        return None
    try:
        pmcid = normalize_pmcid(raw)
    except ValueError:
        raise SourceError(f"{where}: article-id {raw!r} is not a PMC id") from None
    version = ids.get("pmcid-ver")
    if version is None:
        for v in meta.iterfind("article-version"):
            if v.get("article-version-type") == "pmc-version" and _clean(v.text):
                version = f"{pmcid}.{_clean(v.text)}"
    lic = meta.find("permissions/license")
    license_ = None
    if lic is not None:
        ref = next((_clean(e.text) for e in lic.iter() if e.tag.endswith("license_ref") and _clean(e.text)), None)
        license_ = lic.get(XLINK) or ref or lic.get("license-type") or _text(lic)[:120] or None
    return PmcArticle(pmcid, version, ids.get("pmid"), ids.get("doi"), _text(meta.find("title-group/article-title")),
                      _first_paragraph(_first_abstract(meta)), license_)


def parse_pmc_xml(data: bytes, where: Any = "<xml>") -> list[PmcArticle]:
    """Articles of an efetch ``<pmc-articleset>`` answer or of a bare JATS ``<article>`` (OA package .nxml)."""
    root = _parse(data, where)
    if root.tag == "eFetchResult":
        raise SourceError(f"{where}: efetch error: {_text(root.find('ERROR')) or _text(root)}")
    if root.tag == "article":
        arts = [root]
    elif root.tag == "pmc-articleset":
        arts = root.findall("article")
    else:
        raise SourceError(f"{where}: expected <pmc-articleset> or a JATS <article>, found <{root.tag}>")
    return [a for a in (_pmc_article(art, where) for art in arts) if a is not None]


def _parse(data: bytes, where: Any) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        raise SourceError(f"{where}: not well-formed XML ({err}); replace the file with the raw efetch answer") from None


PARSERS = {"pubmed": parse_pubmed_xml, "pmc": parse_pmc_xml}


# ------------------------------------------------------------------------------------------------------ client
class EutilsClient:
    """esearch + efetch for one database, online (rate-limited, cached) or from a ``--source-dir`` folder."""

    def __init__(
        self,
        db: Db,
        mirror: Mirror,
        http: HttpClient | None = None,
        *,
        api_key: str | None = None,
        email: str | None = None,
    ) -> None:
        if db not in PARSERS:
            raise ValueError(f"db must be 'pubmed' or 'pmc', not {db!r}")
        if http is None and not mirror.local_only:
            raise ValueError("an online EutilsClient needs an HttpClient")
        self.db = db
        self.mirror = mirror
        self.http = None if mirror.local_only else http
        self.api_key = api_key
        self.email = email
        self._records: dict[str, Any] | None = None

    @staticmethod
    def min_interval(api_key: str | None) -> float:
        """Seconds between requests: NCBI allows 3 requests/s without an API key and 10/s with one."""
        return 0.11 if api_key else 0.34

    @classmethod
    def from_context(
        cls, ctx: BuildContext, db: Db, *, base_url: str | None = None, backoff: float = 1.0, retries: int = 4
    ) -> EutilsClient:
        mirror = Mirror.for_context(ctx, db, __name__)
        api_key = os.environ.get("NCBI_API_KEY") or None
        email = os.environ.get("NCBI_EMAIL") or None
        http = None
        if not mirror.local_only:
            http = HttpClient(base_url or EUTILS_URL, min_interval=cls.min_interval(api_key), retries=retries, backoff=backoff,
                              offline=ctx.offline or None)
        return cls(db, mirror, http, api_key=api_key, email=email)

    @property
    def where(self) -> str:
        """Where the records come from, for the build manifest's ``origin``: the API URL or ``local:<db>``."""
        return f"local:{self.db}" if self.mirror.local_only else (self.http.base_url if self.http else "?")

    def query_for(self, term: str) -> str:
        """The esearch query a label's search term becomes (PMC: restricted to the open-access subset)."""
        return f"({term}) AND {PMC_OPEN_ACCESS}" if self.db == "pmc" else term

    def _params(self, **extra: Any) -> dict[str, Any]:
        p: dict[str, Any] = {"db": self.db, "tool": "medeval", **extra}
        if self.email:
            p["email"] = self.email
        if self.api_key:
            p["api_key"] = self.api_key
        return p

    # -- esearch -----------------------------------------------------------------------------------------------------
    def _esearch_page(self, term: str, retstart: int, retmax: int, year: int | None) -> dict[str, Any]:
        assert self.http is not None
        extra: dict[str, Any] = {"term": self.query_for(term), "retmode": "json", "retstart": retstart, "retmax": retmax}
        if year is not None:
            extra.update(datetype="pdat", mindate=str(year), maxdate=str(year))
        answer = self.http.get_json("esearch.fcgi", params=self._params(**extra))
        _esearch_result(answer, f"{self.http.base_url}/esearch.fcgi (term {term!r})")
        return answer

    def _esearch_online(self, term: str, max_ids: int, min_year: int, max_year: int) -> list[dict[str, Any]]:
        window = PUBMED_WINDOW if self.db == "pubmed" else 10**9
        answers: list[dict[str, Any]] = []
        got = 0

        def run(year: int | None, budget: int) -> tuple[int, int]:
            nonlocal got
            count, start = None, 0
            while start < min(budget, window) and (count is None or start < count):
                size = min(ESEARCH_PAGE, budget - start, window - start)
                answer = self._esearch_page(term, start, size, year)
                answers.append(answer)
                res = answer["esearchresult"]
                count = int(res.get("count", 0))
                n = len(res.get("idlist", []))
                got += n
                start += n
                if n == 0:
                    break
            return (count or 0), start

        count, _ = run(None, max_ids)
        if got < max_ids and count > window:  # PubMed: the rest only through year-by-year searches
            answers.clear()
            got = 0
            for year in range(max_year, min_year - 1, -1):
                run(year, max_ids - got)
                if got >= max_ids:
                    break
        return answers

    def search(self, term: str, max_ids: int, *, min_year: int = 1950, max_year: int | None = None) -> list[str]:
        """Ids (PMIDs; PMCIDs as ``PMC<n>``) the term retrieves, in esearch order, at most ``max_ids``."""
        rel = f"esearch/{safe_name(term)}.json"
        path = self.mirror.path(rel)
        answers: Any = None
        if path.is_file():
            answers = self.mirror.read_json(path)
            ids = self._ids_of(answers, path)
            total = int(_esearch_result((answers if isinstance(answers, list) else [answers])[0], path).get("count", 0) or 0)
            if not self.mirror.local_only and len(ids) < max_ids and len(ids) < total:
                answers = None  # a smaller search was stored: search again
        elif self.mirror.local_only:
            raise SourceError(
                f"{path}: missing; --source-dir needs the esearch JSON answer for the search term {term!r} there "
                f"(its esearchresult.idlist says which records the term retrieved)"
            )
        if answers is None:
            answers = self._esearch_online(term, max_ids, min_year, max_year or dt.date.today().year)
            self.mirror.write_json(rel, answers)
        return self._ids_of(answers, path)[:max_ids]

    def _ids_of(self, answers: Any, where: Any) -> list[str]:
        seen: dict[str, None] = {}
        for answer in answers if isinstance(answers, list) else [answers]:
            for raw in _esearch_result(answer, where).get("idlist", []):
                try:
                    seen.setdefault(normalize_pmcid(raw) if self.db == "pmc" else str(int(raw)), None)
                except ValueError:
                    raise SourceError(f"{where}: esearch id {raw!r} is not a {self.db} id") from None
        return list(seen)

    # -- efetch ------------------------------------------------------------------------------------------------------
    def _index(self) -> dict[str, Any]:
        if self._records is None:
            self._records = {}
            for path in self.mirror.files(".xml", ".nxml", ".xml.gz", ".nxml.gz", exclude=("esearch",)):
                self._add(self.mirror.read_bytes(path), path)
        return self._records

    def _add(self, data: bytes, where: Any) -> None:
        assert self._records is not None
        for rec in PARSERS[self.db](data, where):
            self._records.setdefault(rec.id, rec)

    def fetch(self, ids: Iterable[str]) -> dict[str, Any]:
        """Records by id (``PubmedArticle`` / ``PmcArticle``); ids the source does not have are left out (warning)."""
        wanted = list(dict.fromkeys(normalize_pmcid(i) if self.db == "pmc" else str(i) for i in ids))
        index = self._index()
        todo = [i for i in wanted if i not in index]
        if todo and not self.mirror.local_only:
            assert self.http is not None
            step = EFETCH_BATCH[self.db]
            for k in range(0, len(todo), step):
                batch = todo[k : k + step]
                uids = [b.removeprefix("PMC") for b in batch]
                extra: dict[str, Any] = {"retmode": "xml", "id": ",".join(uids)}
                if self.db == "pubmed":
                    extra["rettype"] = "abstract"
                resp = self.http.request("POST", "efetch.fcgi", data=self._params(**extra))
                digest = hashlib.sha1(",".join(batch).encode()).hexdigest()[:16]
                rel = f"efetch/{uids[0]}-{digest}.xml.gz"
                self._add(resp.content, f"{self.http.base_url}/efetch.fcgi")
                self.mirror.write_bytes(rel, resp.content)
        out = {i: index[i] for i in wanted if i in index}
        missing = [i for i in wanted if i not in index]
        if missing:
            logger.warning("%d of %d %s records are not in %s (first: %s); they are left out",
                           len(missing), len(wanted), self.db, self.where, missing[0])
        return out


def _esearch_result(answer: Any, where: Any) -> dict[str, Any]:
    res = answer.get("esearchresult") if isinstance(answer, dict) else None
    if not isinstance(res, dict):
        raise SourceError(f"{where}: not an esearch JSON answer (no 'esearchresult'); request retmode=json")
    if "ERROR" in res:
        raise SourceError(f"{where}: esearch error: {res['ERROR']}")
    return res

