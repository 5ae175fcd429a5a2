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
    >>> records = pmc.fetch(ids)              # {"PMC3166277": PmcArticle(...), ...} (medeval.sources.ncbi_xml)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from medeval.errors import SourceError
from medeval.sources.http import HttpClient
from medeval.sources.mirror import Mirror, MirroredClient, safe_name
from medeval.sources.ncbi_xml import PARSERS, normalize_pmcid

if TYPE_CHECKING:
    from medeval.build import BuildContext

logger = logging.getLogger(__name__)

EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
Db = Literal["pubmed", "pmc"]
PUBMED_WINDOW = 9_999  # esearch cannot page past the first 9,999 PubMed hits of one query
ESEARCH_PAGE = 5_000
EFETCH_BATCH = {"pubmed": 200, "pmc": 50}  # PMC answers carry full texts: smaller batches
PMC_OPEN_ACCESS = "open access[filter]"


# ------------------------------------------------------------------------------------------------------ client
class EutilsClient(MirroredClient):
    """esearch + efetch for one database, online (rate-limited, cached) or from a ``--source-dir`` folder.

    Args:
        db: ``"pubmed"`` or ``"pmc"``.
        mirror: the ``<db>/`` folder (:meth:`~medeval.sources.mirror.Mirror.for_context`).
        http: the E-utilities client; required online, unused for a ``--source-dir`` folder.
        api_key: NCBI API key (sent with every request; 10 requests/s instead of 3).
        email: contact address NCBI asks tools to send.

    Raises:
        ValueError: another ``db``, or an online mirror without an ``http`` client.
    """

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
        super().__init__(mirror, http, sub=db)
        self.db = db
        self.api_key = api_key
        self.email = email
        self._records: dict[str, Any] | None = None

    @staticmethod
    def min_interval(api_key: str | None) -> float:
        """Seconds between requests: NCBI allows 3 requests/s without an API key and 10/s with one.

        Args:
            api_key: the NCBI API key, or None.

        Returns:
            0.11 with a key, 0.34 without.
        """
        return 0.11 if api_key else 0.34

    @classmethod
    def from_context(
        cls, ctx: BuildContext, db: Db, *, base_url: str | None = None, backoff: float = 1.0, retries: int = 4
    ) -> EutilsClient:
        """The client of a build: ``--source-dir DIR/<db>`` or E-utilities with ``NCBI_API_KEY`` / ``NCBI_EMAIL``
        from the environment.

        Args:
            ctx: the build's inputs (``source_dir``, ``offline``).
            db: ``"pubmed"`` or ``"pmc"``.
            base_url: the E-utilities URL (default :data:`EUTILS_URL`; tests point it at a local server).
            backoff: the first retry's wait in seconds.
            retries: attempts after the first.

        Returns:
            The client.

        Raises:
            SourceError: ``--source-dir`` has no ``<db>/`` folder.
        """
        api_key = os.environ.get("NCBI_API_KEY") or None
        email = os.environ.get("NCBI_EMAIL") or None
        mirror, http = cls.mirror_and_http(ctx, db, __name__, base_url or EUTILS_URL, min_interval=cls.min_interval(api_key),
                                           retries=retries, backoff=backoff)
        return cls(db, mirror, http, api_key=api_key, email=email)

    def query_for(self, term: str) -> str:
        """The esearch query a label's search term becomes.

        Args:
            term: the search term as the task YAML gives it, e.g. ``"MRI"``.

        Returns:
            ``term`` for PubMed; ``"(term) AND open access[filter]"`` for PMC (the open-access subset).
        """
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
        """Ids the term retrieves, in esearch order.

        A stored ``esearch/<term>.json`` answer is used when it holds enough ids; online, esearch is asked again
        (paging by 5,000; past PubMed's 9,999-hit window, year by year from ``max_year`` down to ``min_year``) and the
        answers are stored.

        Args:
            term: the search term (:meth:`query_for` makes the query).
            max_ids: at most this many ids.
            min_year: oldest publication year of a year-by-year PubMed search.
            max_year: newest such year (default: this year).

        Returns:
            PMIDs, or PMCIDs as ``"PMC<n>"``, without repeats.

        Raises:
            SourceError: ``--source-dir`` lacks the term's esearch file, an answer is not an esearch JSON answer or
                carries an error, or an id is not an id of the database.
        """
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
        """The records with these ids.

        Records already in the mirror (any ``*.xml``, ``*.nxml``, gzipped or not) are indexed once; online, the others
        are fetched with efetch (POST, 200 PubMed / 50 PMC ids a request) and stored under ``efetch/``. Ids the source
        lacks are left out with one warning.

        Args:
            ids: PMIDs, or PMC ids in any form (``"123"``, ``"PMC123"``, ``"PMC123.1"``).

        Returns:
            ``{id: PubmedArticle}`` or ``{"PMC<n>": PmcArticle}`` (:mod:`medeval.sources.ncbi_xml`), in the order asked.
        """
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

