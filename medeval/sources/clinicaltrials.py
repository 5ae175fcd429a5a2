"""ClinicalTrials.gov: study records from the API v2 (paged JSON with ``nextPageToken``) or a local folder of them.

What the builders use of a study: ``nctId``, ``officialTitle``, ``detailedDescription``, ``primaryOutcomes``
(``measure`` + ``description``) and the last-update date (``lastUpdatePostDateStruct.date``), which the build
manifest records as the study's version.

Network (no ``--source-dir``): ``GET https://clinicaltrials.gov/api/v2/studies`` with ``fields=`` trimmed to those
pieces, ``pageSize=1000``, following ``nextPageToken``. Every page is stored as it arrives under
``<data folder>/sources/clinicaltrials/api_v2_studies_search_pages/<query hash>/page-00001.json`` (atomically),
so an interrupted download resumes and the folder can be reused as ``--source-dir <data folder>/sources``.
A rebuild from a manifest asks for exactly its NCT ids (``filter.ids``), stored under ``api_v2_studies_by_id/``.
Retries with back-off on 429/5xx come from :class:`medeval.sources.http.HttpClient`; ``--offline`` without a
source folder is a clear error.

Local layout (``--source-dir DIR`` reads ``DIR/clinicaltrials/``, the datakit layout), every ``*.json`` below it::

    clinicaltrials/
      api_v2_single_study/NCT00973089.json        one study: {"protocolSection": {...}, "derivedSection": ...}
      api_v2_studies_search_pages/page.json       a list page: {"studies": [...], "nextPageToken": ..., "totalCount": ...}
      classic_api_v1_full_studies/search.json     the retired classic API: {"FullStudiesResponse": {"FullStudies": [...]}}

Files of another shape (e.g. capture receipts) are skipped. A study present in several files is kept once: the
copy with the most of the used fields (ties: the first file in path order). Studies come out sorted by NCT id, so
the order never depends on paging or file names.

    >>> from medeval.sources.clinicaltrials import load_studies       # records: medeval.sources.clinicaltrials_studies
    >>> studies, origin = load_studies(ctx, need=("officialTitle", "detailedDescription"), limit=32768)
    >>> studies[0].text("primaryOutcomes")
    'measure: Overall survival description: Time from randomisation to death'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.errors import SourceError, SpecError
from medeval.manifest import content_sha
from medeval.sources.clinicaltrials_studies import TEXT_FIELDS, Study, merge, parse_v2_study, read_local
from medeval.sources.http import HttpClient
from medeval.sources.mirror import Mirror
from medeval.store import DataStore

if TYPE_CHECKING:
    from medeval.build import BuildContext

API = "https://clinicaltrials.gov/api/v2"
SUB = "clinicaltrials"
#: API v2 field pieces the builders need (``fields=`` keeps pages small).
FIELDS = ("NCTId", "OfficialTitle", "BriefTitle", "BriefSummary", "DetailedDescription", "PrimaryOutcome", "LastUpdatePostDate")


# ---------------------------------------------------------------------------------------------------- network
class ClinicalTrialsClient:
    """The API v2 ``/studies`` endpoint: pages following ``nextPageToken``, stored as they arrive.

    ``store`` is a folder (the ``clinicaltrials/`` mirror) pages are written to and resumed from; ``backoff``
    and ``retries`` go to :class:`HttpClient` (tests make them small).

    >>> client = ClinicalTrialsClient(store=Path("~/.cache/medeval/sources/clinicaltrials").expanduser())
    >>> for page in client.pages({"query.cond": "asthma"}, max_pages=2): ...
    """

    def __init__(
        self,
        base_url: str = API,
        *,
        store: Path | None = None,
        page_size: int = 1000,
        retries: int = 4,
        backoff: float = 2.0,
        min_interval: float = 0.2,
        timeout: float = 120.0,
        offline: bool = False,
    ) -> None:
        self.http = HttpClient(base_url, retries=retries, backoff=backoff, min_interval=min_interval, timeout=timeout, offline=offline)
        self.store = Path(store) if store is not None else None
        self.page_size = page_size
        self.requests = 0

    def _page_path(self, kind: str, params: Mapping[str, Any], n: int) -> Path | None:
        if self.store is None:
            return None
        return self.store / kind / content_sha(sorted(params.items())) / f"page-{n:05d}.json"

    def pages(self, params: Mapping[str, Any], *, kind: str = "api_v2_studies_search_pages", max_pages: int | None = None) -> Iterator[dict[str, Any]]:
        """The raw list pages of one query, following ``nextPageToken``; stored pages are reused (a damaged one is
        fetched again).

        Args:
            params: API v2 query parameters (``query.cond``, ``filter.ids``, ...); ``fields``, ``format`` and
                ``pageSize`` are added.
            kind: the store's sub-folder for this kind of query.
            max_pages: stop after this many pages (default: all).

        Yields:
            Each page as decoded JSON (``{"studies": [...], "nextPageToken": ...}``).

        Raises:
            SourceError: as :meth:`HttpClient.request`, or an answer that is not a list page.
        """
        import json

        base = {"format": "json", "pageSize": self.page_size, "fields": ",".join(FIELDS), **params}
        token: str | None = None
        n = 0
        while max_pages is None or n < max_pages:
            n += 1
            path = self._page_path(kind, base, n)
            page: Any = None
            if path is not None and path.is_file():
                try:
                    page = json.loads(path.read_text(encoding="utf-8"))
                except (json.JSONDecodeError, UnicodeDecodeError):
                    page = None  # a damaged page is fetched again
            if page is None:
                query = dict(base)
                if token:
                    query["pageToken"] = token
                page = self.http.get_json("studies", params=query)
                self.requests += 1
                if not isinstance(page, Mapping) or not isinstance(page.get("studies"), list):
                    raise SourceError(f"{self.http.base_url}/studies: page {n} is not an API v2 list page (no 'studies' list)")
                if path is not None and self.store is not None:
                    Mirror(self.store, writable=True).write_json(path.relative_to(self.store).as_posix(), page)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return

    def search(self, params: Mapping[str, Any], *, need: Sequence[str], limit: int) -> list[Study]:
        """Studies of a query that have every ``need`` field, in API order, until ``limit`` of them.

        Args:
            params: API v2 query parameters.
            need: text fields a study must have (:data:`~medeval.sources.clinicaltrials_studies.TEXT_FIELDS`).
            limit: how many to collect.

        Returns:
            At most ``limit`` studies, without repeats.
        """
        out: list[Study] = []
        seen: set[str] = set()
        for n, page in enumerate(self.pages(params), 1):
            for raw in page["studies"]:
                s = parse_v2_study(raw, f"page-{n:05d}") if isinstance(raw, Mapping) else None
                if s and s.nct_id not in seen and s.has(need):
                    seen.add(s.nct_id)
                    out.append(s)
            if len(out) >= limit:
                break
        return out[:limit]

    def by_ids(self, ids: Sequence[str], chunk: int = 200) -> list[Study]:
        """Exactly these studies as the API serves them today (``filter.ids``), for a rebuild from a manifest.

        Args:
            ids: NCT ids.
            chunk: ids per query.

        Returns:
            The studies found (ids the API no longer has are absent).
        """
        out: list[Study] = []
        ids = sorted(set(ids))
        for i in range(0, len(ids), chunk):
            part = ids[i : i + chunk]
            for page in self.pages({"filter.ids": ",".join(part)}, kind="api_v2_studies_by_id"):
                out += [s for s in (parse_v2_study(x) for x in page["studies"] if isinstance(x, Mapping)) if s]
        return out


# ------------------------------------------------------------------------------------------------ for builders
#: The default query of a fresh online build: studies first posted in the task's date range, newest first.
#: Bounded by dates, so later registrations never enter the pool; ``construction.params.query`` overrides it.
DEFAULT_QUERY = {"filter.advanced": "AREA[StudyFirstPostDate]RANGE[2000-02-29,2025-07-25]", "sort": "StudyFirstPostDate:desc"}


def load_studies(
    ctx: BuildContext,
    *,
    need: Sequence[str],
    limit: int,
    query: Mapping[str, Any] | None = None,
    client: ClinicalTrialsClient | None = None,
) -> tuple[list[Study], dict[str, Any]]:
    """The candidate studies of a build, sorted by NCT id, and where they came from.

    ``--source-dir``: every study of ``DIR/clinicaltrials``. Rebuild (``ctx.record_ids``): exactly those NCT ids.
    Otherwise the first ``limit`` usable studies of ``query`` from the API, stored under the data folder. The
    builder then calls :func:`medeval.manifest.restrict`, drops studies lacking a ``need`` field, and samples.

    Args:
        ctx: the build's inputs (``source_dir``, ``record_ids``, ``offline``).
        need: text fields the task uses (each must be one of ``TEXT_FIELDS``).
        limit: how many usable studies to fetch online.
        query: API v2 query parameters (default :data:`DEFAULT_QUERY`).
        client: the client to use (tests pass one pointed at a local server).

    Returns:
        ``(studies, origin)``: origin is the manifest's account (``origin`` and the query or the files read).

    Raises:
        SpecError: an unknown field in ``need``.
        SourceError: ``--offline`` without ``--source-dir``, or the folder or the API fails.
    """

    for n in need:
        if n not in TEXT_FIELDS:
            raise SpecError(f"field 'construction.params.fields': unknown ClinicalTrials.gov field {n!r}; use one of {', '.join(TEXT_FIELDS)}")
    if ctx.source_dir is not None:
        root = Path(ctx.source_dir) / SUB
        studies = read_local(root)
        origin: dict[str, Any] = {"origin": f"local:{SUB}", "files": sorted({s.file for s in studies})}
    else:
        if ctx.offline:
            raise SourceError("ClinicalTrials.gov: --offline without --source-dir; give --source-dir DIR with a clinicaltrials/ folder of API v2 JSON")
        client = client or ClinicalTrialsClient(API, store=DataStore().subdir("sources", SUB))
        if ctx.record_ids is not None:
            studies = client.by_ids(sorted(ctx.record_ids))
            origin = {"origin": client.http.base_url, "query": {"filter.ids": "the manifest's records"}}
        else:
            q = dict(query or DEFAULT_QUERY)
            studies = client.search(q, need=need, limit=limit)
            origin = {"origin": client.http.base_url, "query": q}
        studies = merge(studies)
    return studies, origin
