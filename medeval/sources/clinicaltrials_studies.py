"""ClinicalTrials.gov study records as the builders use them: :class:`Study`, parsed from API v2 JSON (single
studies and ``/studies`` pages) and from the retired classic API's ``FullStudiesResponse``, merged one per NCT id,
and read from a local folder (the layout :mod:`medeval.sources.clinicaltrials` documents).

    >>> from medeval.sources.clinicaltrials_studies import read_local
    >>> studies = read_local(Path("../shared/datakit/clinicaltrials"))
    >>> studies[0].nct_id, studies[0].text("officialTitle")[:40]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from medeval.errors import SourceError, SpecError
from medeval.manifest import content_sha
from medeval.sources.text import clean

logger = logging.getLogger(__name__)

#: Text fields a builder may name in ``construction.params.fields``.
TEXT_FIELDS = ("officialTitle", "briefTitle", "briefSummary", "detailedDescription", "primaryOutcomes")


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
        """One text field by its API v2 name.

        Args:
            name: one of :data:`TEXT_FIELDS`.

        Returns:
            The field's text ("" when absent); ``primaryOutcomes`` as one ``measure: ... description: ...`` line per
            outcome.

        Raises:
            SpecError: another name (named as ``construction.params.fields`` in the task YAML).
        """
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
        """Whether every named text field is non-empty.

        Args:
            names: API v2 field names (:data:`TEXT_FIELDS`).

        Returns:
            True if all have text.
        """
        return all(self.text(n) for n in names)

    def richness(self) -> int:
        """How complete the record is, to choose among copies of one study.

        Returns:
            The number of non-empty :data:`TEXT_FIELDS`, plus one for a last-update date.
        """
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


#: Where each :class:`Study` field sits in a study object, as key paths under its protocol section: API v2
#: (camelCase) and the retired classic API (PascalCase). ``last_update`` lists paths tried in order; ``outcome``
#: names an outcome's (measure, description) keys.
_PATHS: dict[str, dict[str, Any]] = {
    "v2": {
        "section": "protocolSection",
        "nct_id": ("identificationModule", "nctId"),
        "last_update": (("statusModule", "lastUpdatePostDateStruct", "date"), ("statusModule", "lastUpdateSubmitDate")),
        "official_title": ("identificationModule", "officialTitle"),
        "brief_title": ("identificationModule", "briefTitle"),
        "brief_summary": ("descriptionModule", "briefSummary"),
        "detailed_description": ("descriptionModule", "detailedDescription"),
        "outcomes": ("outcomesModule", "primaryOutcomes"),
        "outcome": ("measure", "description"),
    },
    "classic": {
        "section": "ProtocolSection",
        "nct_id": ("IdentificationModule", "NCTId"),
        "last_update": (("StatusModule", "LastUpdatePostDateStruct", "LastUpdatePostDate"),),
        "official_title": ("IdentificationModule", "OfficialTitle"),
        "brief_title": ("IdentificationModule", "BriefTitle"),
        "brief_summary": ("DescriptionModule", "BriefSummary"),
        "detailed_description": ("DescriptionModule", "DetailedDescription"),
        "outcomes": ("OutcomesModule", "PrimaryOutcomeList", "PrimaryOutcome"),
        "outcome": ("PrimaryOutcomeMeasure", "PrimaryOutcomeDescription"),
    },
}


def _dig(obj: Any, path: Sequence[str]) -> Any:
    """``obj[path[0]][path[1]]...``; None where a step is missing or empty."""
    for key in path:
        obj = (obj or {}).get(key) if isinstance(obj or {}, Mapping) else None
    return obj


def _parse_study(obj: Mapping[str, Any], api: str, file: str) -> Study | None:
    paths = _PATHS[api]
    ps = obj.get(paths["section"]) or {}
    nct = _dig(ps, paths["nct_id"])
    if not nct:
        return None
    last = next((v for v in (_dig(ps, p) for p in paths["last_update"]) if v), None)
    measure, description = paths["outcome"]
    outcomes = _dig(ps, paths["outcomes"]) or []
    return Study(
        nct_id=str(nct),
        last_update=_iso_date(last),
        official_title=clean(_dig(ps, paths["official_title"])),
        brief_title=clean(_dig(ps, paths["brief_title"])),
        brief_summary=clean(_dig(ps, paths["brief_summary"])),
        detailed_description=clean(_dig(ps, paths["detailed_description"])),
        primary_outcomes=tuple((clean(o.get(measure)), clean(o.get(description))) for o in outcomes if isinstance(o, Mapping)),
        file=file,
    )


def parse_v2_study(obj: Mapping[str, Any], file: str = "") -> Study | None:
    """A :class:`Study` from an API v2 study object.

    Args:
        obj: ``{"protocolSection": {...}, ...}`` (a single-study answer, or one entry of a ``/studies`` page).
        file: where it was read (kept in :attr:`Study.file`).

    Returns:
        The study, or None without an NCT id.
    """
    return _parse_study(obj, "v2", file)


def parse_classic_study(obj: Mapping[str, Any], file: str = "") -> Study | None:
    """A :class:`Study` from a retired classic-API object (``FullStudies[i].Study``, PascalCase modules).

    Args:
        obj: ``{"ProtocolSection": {...}, ...}``.
        file: where it was read.

    Returns:
        The study, or None without an NCT id.
    """
    return _parse_study(obj, "classic", file)


def studies_in(doc: Any, file: str = "") -> list[Study] | None:
    """The studies of one JSON document of any supported shape.

    Args:
        doc: a single API v2 study, an API v2 ``/studies`` page, or a classic ``FullStudiesResponse``.
        file: where it was read.

    Returns:
        Its studies (possibly []), or None when the document is none of those shapes (e.g. a capture receipt).
    """
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
    """One study per NCT id: the richest copy (:meth:`Study.richness`; ties keep the first), sorted by NCT id.

    Args:
        studies: studies from any number of files or pages.

    Returns:
        The merged studies.
    """
    best: dict[str, Study] = {}
    for s in studies:
        cur = best.get(s.nct_id)
        if cur is None or s.richness() > cur.richness():
            best[s.nct_id] = s
    return [best[k] for k in sorted(best)]


def study_record(s: Study, used: Sequence[str]) -> dict[str, str]:
    """The build manifest's entry of a study (never its text).

    Args:
        s: the study.
        used: the text fields the task used.

    Returns:
        ``{"id": NCT id, "sha": hash of the used texts}``, plus ``"version"``: the last-update date when known.
    """
    out = {"id": s.nct_id, "sha": content_sha([s.text(n) for n in used])}
    if s.last_update:
        out["version"] = s.last_update
    return out


# -------------------------------------------------------------------------------------------- local folders
def read_local(root: Path) -> list[Study]:
    """All studies in the JSON files under a ``clinicaltrials/`` folder, merged and sorted by NCT id.

    Args:
        root: the folder (``--source-dir DIR/clinicaltrials``); files of other shapes are skipped.

    Returns:
        The studies (:func:`merge`).

    Raises:
        SourceError: no such folder, a file that is not valid JSON, or no study at all.
    """
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
