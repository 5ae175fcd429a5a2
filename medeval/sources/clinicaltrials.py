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

    >>> from medeval.sources.clinicaltrials import load_studies
    >>> studies, origin = load_studies(ctx, need=("officialTitle", "detailedDescription"), limit=32768)
    >>> studies[0].text("primaryOutcomes")
    'measure: Overall survival description: Time from randomisation to death'
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.errors import SourceError, SpecError
from medeval.manifest import content_sha
from medeval.sources.http import HttpClient
from medeval.sources.mirror import Mirror
from medeval.store import DataStore

if TYPE_CHECKING:
    from medeval.build import BuildContext

logger = logging.getLogger(__name__)

API = "https://clinicaltrials.gov/api/v2"
SUB = "clinicaltrials"
#: API v2 field pieces the builders need (``fields=`` keeps pages small).
FIELDS = ("NCTId", "OfficialTitle", "BriefTitle", "BriefSummary", "DetailedDescription", "PrimaryOutcome", "LastUpdatePostDate")
#: Text fields a builder may name in ``construction.params.fields``.
TEXT_FIELDS = ("officialTitle", "briefTitle", "briefSummary", "detailedDescription", "primaryOutcomes")


def clean(text: Any) -> str:
    """Whitespace runs collapsed to one space, stripped ('' for None)."""
    return " ".join(str(text).split()) if text is not None else ""


@dataclass(frozen=True)
class Study:
    """The parts of one study record the builders use."""

    nct_id: str
    last_update: str | None = None  # ISO date of the last update posted
    official_title: str = ""
    brief_title: str = ""
    brief_summary: str = ""
    detailed_description: str = ""
    primary_outcomes: tuple[tuple[str, str], ...] = ()  # (measure, description)
    file: str = field(default="", compare=False)  # where it was read (local) or fetched into

    def text(self, name: str) -> str:
        """One text field by its API name; ``primaryOutcomes`` as ``measure: ... description: ...`` lines."""
        if name == "officialTitle":
            return self.official_title
        if name == "briefTitle":
            return self.brief_title
        if name == "briefSummary":
            return self.brief_summary
        if name == "detailedDescription":
            return self.detailed_description
        if name == "primaryOutcomes":
            parts = []
            for measure, description in self.primary_outcomes:
                if measure or description:
                    parts.append(f"measure: {measure}" + (f" description: {description}" if description else ""))
            return "\n".join(parts)
        raise SpecError(f"field 'construction.params.fields': unknown ClinicalTrials.gov field {name!r}; use one of {', '.join(TEXT_FIELDS)}")

    def has(self, names: Sequence[str]) -> bool:
        return all(self.text(n) for n in names)

    def richness(self) -> int:
        return sum(bool(self.text(n)) for n in TEXT_FIELDS) + bool(self.last_update)


# ------------------------------------------------------------------------------------------------ parsing
def _iso_date(value: Any) -> str | None:
    if not value:
        return None
    value = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y-%m", "%B %d, %Y", "%B %Y"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.strftime("%Y-%m-%d" if "%d" in fmt else "%Y-%m")
    return value


def parse_v2_study(obj: Mapping[str, Any], file: str = "") -> Study | None:
    """A :class:`Study` from an API v2 study object (``{"protocolSection": ...}``); None without an NCT id."""
    ps = obj.get("protocolSection") or {}
    ident = ps.get("identificationModule") or {}
    nct = ident.get("nctId")
    if not nct:
        return None
    desc = ps.get("descriptionModule") or {}
    outcomes = (ps.get("outcomesModule") or {}).get("primaryOutcomes") or []
    status = ps.get("statusModule") or {}
    return Study(
        nct_id=str(nct),
        last_update=_iso_date((status.get("lastUpdatePostDateStruct") or {}).get("date") or status.get("lastUpdateSubmitDate")),
        official_title=clean(ident.get("officialTitle")),
        brief_title=clean(ident.get("briefTitle")),
        brief_summary=clean(desc.get("briefSummary")),
        detailed_description=clean(desc.get("detailedDescription")),
        primary_outcomes=tuple((clean(o.get("measure")), clean(o.get("description"))) for o in outcomes if isinstance(o, Mapping)),
        file=file,
    )


def parse_classic_study(obj: Mapping[str, Any], file: str = "") -> Study | None:
    """A :class:`Study` from a retired classic-API ``FullStudies[i].Study`` object (PascalCase modules)."""
    ps = obj.get("ProtocolSection") or {}
    ident = ps.get("IdentificationModule") or {}
    nct = ident.get("NCTId")
    if not nct:
        return None
    desc = ps.get("DescriptionModule") or {}
    outcomes = ((ps.get("OutcomesModule") or {}).get("PrimaryOutcomeList") or {}).get("PrimaryOutcome") or []
    status = ps.get("StatusModule") or {}
    return Study(
        nct_id=str(nct),
        last_update=_iso_date((status.get("LastUpdatePostDateStruct") or {}).get("LastUpdatePostDate")),
        official_title=clean(ident.get("OfficialTitle")),
        brief_title=clean(ident.get("BriefTitle")),
        brief_summary=clean(desc.get("BriefSummary")),
        detailed_description=clean(desc.get("DetailedDescription")),
        primary_outcomes=tuple(
            (clean(o.get("PrimaryOutcomeMeasure")), clean(o.get("PrimaryOutcomeDescription"))) for o in outcomes if isinstance(o, Mapping)
        ),
        file=file,
    )


def studies_in(doc: Any, file: str = "") -> list[Study] | None:
    """The studies of one JSON document of any supported shape, or None if it is not a study document."""
    if isinstance(doc, Mapping):
        if "protocolSection" in doc:
            s = parse_v2_study(doc, file)
            return [s] if s else []
        if isinstance(doc.get("studies"), list):
            return [s for s in (parse_v2_study(x, file) for x in doc["studies"] if isinstance(x, Mapping)) if s]
        classic = doc.get("FullStudiesResponse")
        if isinstance(classic, Mapping):
            out = []
            for entry in classic.get("FullStudies") or []:
                s = parse_classic_study((entry or {}).get("Study") or {}, file)
                if s:
                    out.append(s)
            return out
    return None


def merge(studies: Sequence[Study]) -> list[Study]:
    """One study per NCT id (the richest copy; ties keep the first), sorted by NCT id."""
    best: dict[str, Study] = {}
    for s in studies:
        cur = best.get(s.nct_id)
        if cur is None or s.richness() > cur.richness():
            best[s.nct_id] = s
    return [best[k] for k in sorted(best)]


def study_record(s: Study, used: Sequence[str]) -> dict[str, str]:
    """The manifest entry of a study: NCT id, last-update date, hash of the used fields."""
    out = {"id": s.nct_id, "sha": content_sha([s.text(n) for n in used])}
    if s.last_update:
        out["version"] = s.last_update
    return out


# -------------------------------------------------------------------------------------------- local folders
def read_local(root: Path) -> list[Study]:
    """All studies in the JSON files under ``root`` (the ``clinicaltrials/`` folder), merged and sorted."""
    import json

    if not root.is_dir():
        raise SourceError(
            f"{root}: no such folder; --source-dir must hold a 'clinicaltrials/' folder of API v2 JSON "
            "(single studies or /studies pages), see medeval.sources.clinicaltrials"
        )
    found: list[Study] = []
    files = sorted((p for p in root.rglob("*.json") if not p.name.startswith(".")), key=lambda p: p.relative_to(root).as_posix())
    for path in files:
        rel = path.relative_to(root).as_posix()
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SourceError(f"{path}: not valid JSON ({err}); replace it with the API's raw answer") from None
        got = studies_in(doc, rel)
        if got is None:
            logger.debug("skipping %s: not a study, a /studies page or a classic FullStudiesResponse", path)
            continue
        found += got
    if not found:
        raise SourceError(f"{root}: no ClinicalTrials.gov studies in its *.json files; see medeval.sources.clinicaltrials for the layout")
    return merge(found)


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
        """Yield the raw list pages of one query, following ``nextPageToken`` (resuming from stored pages)."""
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
        """Studies of a query that have every ``need`` field, until ``limit`` of them (in API order)."""
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
        """Exactly these studies (``filter.ids``), as the API serves them today."""
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
    """The candidate studies of a build, sorted by NCT id, and where they came from (for the manifest).

    ``--source-dir``: every study of ``DIR/clinicaltrials``. Rebuild (``ctx.record_ids``): exactly those NCT ids.
    Otherwise the first ``limit`` usable studies of ``query`` (default :data:`DEFAULT_QUERY`) from the API.
    The builder then calls :func:`medeval.manifest.restrict`, drops studies lacking a ``need`` field, and samples.
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
