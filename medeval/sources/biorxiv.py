"""api.biorxiv.org ``details`` client for bioRxiv and medRxiv preprints, paged by cursor over a date range.

Request (https://api.biorxiv.org/)::

    GET https://api.biorxiv.org/details/{biorxiv|medrxiv}/{YYYY-MM-DD}/{YYYY-MM-DD}/{cursor}/json
        -> {"messages": [{"status": "ok", "interval": "...", "cursor": 0, "count": 100, "total": "15523", ...}],
            "collection": [{"doi": "10.1101/...", "version": "2", "title": "...", "abstract": "...",
                            "license": "cc_by", "date": "2024-01-01", "category": "...", "type": "...",
                            "server": "medRxiv", ...}, ...]}

Pages are read until ``cursor + count`` reaches ``total`` (``total`` is a string, ``count`` the page size the
server reports, which can exceed the records actually in ``collection``). A message status other than "ok"
(e.g. "no posts found") ends the listing.

``--source-dir`` layout (``<source dir>/biorxiv_medrxiv/``): any number of raw ``details`` JSON answers, anywhere in
the folder (``**/*.json``, e.g. the datakit's ``details_api_json/medrxiv_details_..._cursor0_....json``). Records
are selected by their own ``server`` field and their ``date`` (inside the requested range). Online builds store
each page as ``details/<server>_<from>_<to>_<cursor>.json`` under ``<data folder>/sources/biorxiv_medrxiv/``, so an
interrupted listing resumes at the first page not stored.

    >>> from medeval.sources.biorxiv import BiorxivClient
    >>> client = BiorxivClient.from_context(ctx)
    >>> records = client.details("medrxiv", "2018-01-01", "2022-12-20")
    >>> latest = latest_versions(r for r in records if is_cc_licensed(r))
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from typing import Any

from medeval.errors import SourceError
from medeval.sources.mirror import MirroredClient

logger = logging.getLogger(__name__)

API_URL = "https://api.biorxiv.org"
SUB = "biorxiv_medrxiv"
SERVERS = ("biorxiv", "medrxiv")
#: Creative Commons licence codes api.biorxiv.org uses ("cc_no" = no reuse without permission is not one).
CC_LICENSES = frozenset({"cc_by", "cc_by_nc", "cc_by_nd", "cc_by_nc_nd", "cc_by_sa", "cc_by_nc_sa", "cc0", "cc0_ng"})
_FLATTEN_TOKENS = re.compile(r"[OC]_(?:ST_ABS|LI|FIG|FLOATNO|TBL|TABLE|SCPLOW|LINKSMALLFIG)|[SM]_(?:FORMAT_FIGEXP|FIG)")


def _date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SourceError(f"{what}: {value!r} is not a YYYY-MM-DD date") from None


def is_cc_licensed(record: dict[str, Any]) -> bool:
    """True if the preprint is under a Creative Commons licence (``cc_no`` and an empty licence are not).

    Args:
        record: one record of a ``details`` answer's ``collection`` (its ``license`` field, e.g. ``"cc_by_nc_nd"``).

    Returns:
        Whether the licence code is one of :data:`CC_LICENSES`.

    Example::

        >>> is_cc_licensed({"license": "cc_by"}), is_cc_licensed({"license": "cc_no"})
        (True, False)
    """
    return str(record.get("license", "")).strip().lower() in CC_LICENSES


def clean_abstract(text: str) -> str:
    """An abstract without the markup-flattening tokens the API leaves in it (``O_ST_ABS``, ``C_LIO_LI``, ...).

    Args:
        text: the record's ``abstract`` field (None or "" give "").

    Returns:
        The text with those tokens removed and whitespace runs collapsed to one space.

    Example::

        >>> clean_abstract("O_ST_ABSBackgroundC_ST_ABS Sepsis  kills.")
        'Background Sepsis kills.'
    """
    return " ".join(_FLATTEN_TOKENS.sub(" ", text or "").split())


def _version(record: dict[str, Any]) -> int:
    try:
        return int(str(record.get("version", "1")).strip() or 1)
    except ValueError:
        return 1


def latest_versions(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per DOI: the highest ``version`` listed (the API lists a DOI once per version), sorted by DOI.

    Args:
        records: ``details`` records, any order; records without a DOI are dropped.

    Returns:
        The latest version of each preprint, sorted by lower-cased DOI.
    """
    best: dict[str, dict[str, Any]] = {}
    for r in records:
        doi = str(r.get("doi", "")).strip().lower()
        if doi and (doi not in best or _version(r) > _version(best[doi])):
            best[doi] = r
    return [best[d] for d in sorted(best)]


class BiorxivClient(MirroredClient):
    """The ``details`` endpoint, online (paged, cached) or from a folder of recorded answers
    (the ``biorxiv_medrxiv/`` mirror; arguments, errors and :meth:`from_context`: :class:`~medeval.sources.mirror.MirroredClient`)."""

    SUB = SUB
    MIN_INTERVAL = 0.2

    @classmethod
    def default_url(cls) -> str:
        """The API's URL, read when a client is made.

        Returns:
            :data:`API_URL`.
        """
        return API_URL

    def details(self, server: str, start: str, end: str) -> list[dict[str, Any]]:
        """Every record (all versions) the server lists for posting dates ``start``..``end`` (inclusive).

        Online, pages are read by cursor and stored under ``details/`` in the mirror (a stored page is reused); from a
        ``--source-dir`` folder every ``*.json`` answer is read and records are kept by their own ``server`` and ``date``.

        Args:
            server: ``"biorxiv"`` or ``"medrxiv"`` (any case).
            start: first posting date, ``YYYY-MM-DD``.
            end: last posting date, ``YYYY-MM-DD``.

        Returns:
            The raw records (dicts with ``doi``, ``version``, ``title``, ``abstract``, ``license``, ``date``, ...), in
            page order.

        Raises:
            SourceError: an unknown server, a date that is not ``YYYY-MM-DD``, a folder without answers, or an answer
                that is not a ``details`` answer.
        """
        server = server.lower()
        if server not in SERVERS:
            raise SourceError(f"server must be one of {', '.join(SERVERS)}, not {server!r}")
        d0, d1 = _date(start, "from"), _date(end, "to")
        if self.mirror.local_only:
            answers = [(p, self.mirror.read_json(p)) for p in self.mirror.files(".json")]
            if not answers:
                raise SourceError(f"{self.mirror.root}: no details JSON answers (*.json) in this --source-dir folder")
        else:
            answers = self._pages_online(server, start, end)
        out = []
        for where, answer in answers:
            for r in _collection(answer, where):
                if str(r.get("server", server)).lower() != server:
                    continue
                if not (d0 <= _date(str(r.get("date")), f"{where}: record {r.get('doi')} field 'date'") <= d1):
                    continue
                out.append(r)
        return out

    def _pages_online(self, server: str, start: str, end: str) -> list[tuple[Any, dict[str, Any]]]:
        assert self.http is not None
        pages: list[tuple[Any, dict[str, Any]]] = []
        cursor = 0
        while True:
            rel = f"details/{server}_{start}_{end}_{cursor}.json"
            path = self.mirror.path(rel)
            if path.is_file():
                answer = self.mirror.read_json(path)
            else:
                answer = self.http.get_json(f"details/{server}/{start}/{end}/{cursor}/json")
                _collection(answer, rel)
                self.mirror.write_json(rel, answer)
            pages.append((path, answer))
            msg = (answer.get("messages") or [{}])[0]
            if str(msg.get("status", "")).lower() != "ok":
                break
            try:
                count, total = int(msg.get("count", 0)), int(msg.get("total", 0))
            except (TypeError, ValueError):
                raise SourceError(f"{path}: messages[0] count/total are not numbers: {msg!r}") from None
            if count <= 0 or cursor + count >= total:
                break
            cursor += count
        return pages


def _collection(answer: Any, where: Any) -> list[dict[str, Any]]:
    if not isinstance(answer, dict) or not isinstance(answer.get("messages"), list):
        raise SourceError(f"{where}: not an api.biorxiv.org details answer (no 'messages' list)")
    coll = answer.get("collection", [])
    if not isinstance(coll, list) or not all(isinstance(r, dict) for r in coll):
        raise SourceError(f"{where}: 'collection' must be a list of records")
    return coll
