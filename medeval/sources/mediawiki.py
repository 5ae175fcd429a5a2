"""MediaWiki Action API client (English Wikipedia): category members with recursion depth, page lead texts.

Requests (https://www.mediawiki.org/wiki/API:Categorymembers, https://www.mediawiki.org/wiki/Extension:TextExtracts)::

    action=query&list=categorymembers&cmtitle=Category:X&cmtype=page|subcat&cmprop=ids|title|type&cmlimit=max
        -> {"batchcomplete": "", "continue": {"cmcontinue": "...", "continue": "-||"},
            "query": {"categorymembers": [{"pageid": 1, "ns": 0, "title": "..."}, ...]}}      (ns 14 = sub-category)
    action=query&prop=extracts|info&explaintext=1&exsectionformat=wiki&exintro=1&exlimit=max&pageids=1|2|...
        -> {"batchcomplete": "", "query": {"pages": {"1": {"pageid": 1, "ns": 0, "title": "...",
            "lastrevid": 123, "extract": "plain text, == Heading == lines between sections"}, ...}}}

Both are followed through ``continue`` until the answer is complete. ``formatversion=2`` answers (pages as a list)
are read too. An ``{"error": {...}}`` answer is a :class:`~medeval.errors.SourceError`.

``--source-dir`` layout (``<source dir>/wikipedia/``), raw API answers as above, one JSON answer per file or a JSON
list of answers (the continuation pages, in order)::

    wikipedia/categorymembers/<Category name>.json   answer(s) of list=categorymembers for "Category:<name>"
                                                     (spaces as "_", e.g. categorymembers/Cardiovascular_diseases.json;
                                                     other unsafe characters %-escaped, see mirror.safe_name)
    wikipedia/pages/*.json                           answer(s) of prop=extracts|info, any file names; every page of
                                                     every file is indexed by its pageid

A category with no file counts as empty only if it is a sub-category (a logged warning); a missing top-level
category is an error. An extract holding the whole article (no ``exintro``) is fine: the lead is the text
before the first ``==`` heading. Online builds store the same layout under ``<data folder>/sources/wikipedia/``.

    >>> from medeval.sources.mediawiki import MediaWikiClient
    >>> wiki = MediaWikiClient.from_context(ctx)
    >>> members = wiki.pages_in_category("Category:Cardiology", depth=1)
    >>> pages = wiki.pages([m.pageid for m in members])
    >>> pages[members[0].pageid].lead
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from medeval.errors import SourceError
from medeval.sources.http import HttpClient
from medeval.sources.mirror import Mirror, MirroredClient, safe_name

logger = logging.getLogger(__name__)

API_URL = "https://en.wikipedia.org/w/api.php"
SUB = "wikipedia"
NS_ARTICLE = 0
NS_CATEGORY = 14
EXTRACTS_PER_REQUEST = 20  # TextExtracts' exlimit maximum (intro extracts)

_HEADING = re.compile(r"^\s*(={2,6})\s*(.*?)\s*\1\s*$")


@dataclass(frozen=True)
class Member:
    """An article found under a category: the shallowest depth it was reached at and through which category."""

    pageid: int
    title: str
    depth: int
    via: str


@dataclass(frozen=True)
class Page:
    """One article's plain text (``extract``) and the revision it came from."""

    pageid: int
    title: str
    revid: int | None
    extract: str

    @property
    def sections(self) -> list[tuple[str, str]]:
        """``[(heading, text), ...]`` of the extract (:func:`split_sections`); the lead has heading ``""``."""
        return split_sections(self.extract)

    @property
    def lead(self) -> str:
        """The lead section (text before the first heading), paragraphs joined by newlines."""
        secs = self.sections
        return secs[0][1] if secs and secs[0][0] == "" else ""


def split_sections(extract: str) -> list[tuple[str, str]]:
    """Sections of a plain-text extract whose headings are ``== Heading ==`` lines (any level, ``==`` to ``======``).

    Blank lines are dropped and lines stripped; sections without text are left out.

    Args:
        extract: a TextExtracts ``extract`` (``explaintext=1``, ``exsectionformat=wiki``).

    Returns:
        ``[(heading, text), ...]`` in article order; the lead (text before the first heading) has heading ``""``;
        a section's paragraphs are joined by newlines.

    Example::

        >>> split_sections("Lead.\n\n== Signs ==\nFever.\n=== Rare ===\n")
        [('', 'Lead.'), ('Signs', 'Fever.')]
    """
    out: list[tuple[str, str]] = []
    heading, lines = "", []

    def flush() -> None:
        text = "\n".join(line for line in lines if line)
        if text:
            out.append((heading, text))

    for raw in extract.splitlines():
        m = _HEADING.match(raw)
        if m:
            flush()
            heading, lines = m.group(2), []
        else:
            lines.append(raw.strip())
    flush()
    return out


def _category_title(name: str) -> str:
    name = name.strip()
    return name if name.startswith("Category:") else f"Category:{name}"


class MediaWikiClient(MirroredClient):
    """Category members and page texts from the API, or from a local folder of recorded API answers
    (the ``wikipedia/`` mirror; arguments, errors and :meth:`from_context`: :class:`~medeval.sources.mirror.MirroredClient`)."""

    SUB = SUB
    MIN_INTERVAL = 0.1

    def __init__(self, mirror: Mirror, http: HttpClient | None = None) -> None:
        super().__init__(mirror, http)
        self._page_index: dict[int, dict[str, Any]] | None = None

    @classmethod
    def default_url(cls) -> str:
        """The ``api.php`` URL, read when a client is made.

        Returns:
            :data:`API_URL`.
        """
        return API_URL

    def _query(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """All answers of one query, following ``continue``."""
        assert self.http is not None
        answers: list[dict[str, Any]] = []
        cont: dict[str, Any] = {}
        for _ in range(10_000):
            answer = self.http.get_json(self.http.base_url, params={"action": "query", "format": "json", **params, **cont})
            _check_answer(answer, self.http.base_url)
            answers.append(answer)
            cont = answer.get("continue") or {}
            if not cont:
                return answers
        raise SourceError(f"{self.http.base_url}: more than 10,000 continuation pages for {params}; narrow the query")

    # -- categories ------------------------------------------------------------------------------------------------
    def category_members(self, category: str, *, required: bool = True) -> list[dict[str, Any]]:
        """Every member (page, sub-category) of one category, in API order.

        Read from ``categorymembers/<name>.json`` in the mirror; online, fetched (following ``continue``) and stored there
        first.

        Args:
            category: ``"Category:X"`` or ``"X"``.
            required: from a ``--source-dir`` folder, whether a missing file is an error (True) or an empty
                sub-category (False, with a warning).

        Returns:
            ``[{"pageid": int, "ns": int, "title": str}, ...]``; ``ns`` 0 is an article, 14 a sub-category.

        Raises:
            SourceError: a required file is missing, or an answer is not a ``list=categorymembers`` answer.
        """
        title = _category_title(category)
        rel = f"categorymembers/{safe_name(title.removeprefix('Category:'))}.json"
        path = self.mirror.path(rel)
        if path.is_file():
            answers = self.mirror.read_json(path)
        elif self.mirror.local_only:
            if required:
                raise SourceError(
                    f"{path}: missing; --source-dir needs the API's list=categorymembers answer(s) for {title!r} there"
                )
            logger.warning("%s: missing; sub-category %r counted as empty", path, title)
            return []
        else:
            answers = self._query({"list": "categorymembers", "cmtitle": title, "cmtype": "page|subcat",
                                   "cmprop": "ids|title|type", "cmlimit": "max"})
            self.mirror.write_json(rel, answers)
        out: list[dict[str, Any]] = []
        for answer in answers if isinstance(answers, list) else [answers]:
            _check_answer(answer, path)
            members = (answer.get("query") or {}).get("categorymembers")
            if members is None:
                if "query" in answer:
                    raise SourceError(f"{path}: answer has no query.categorymembers; is it a list=categorymembers answer?")
                continue  # an answer with only "batchcomplete" (empty category)
            for m in members:
                try:
                    out.append({"pageid": int(m["pageid"]), "ns": int(m["ns"]), "title": str(m["title"])})
                except (KeyError, TypeError, ValueError):
                    raise SourceError(f"{path}: category member {m!r} lacks pageid/ns/title; request cmprop=ids|title|type") from None
        return out

    def pages_in_category(self, category: str, depth: int) -> list[Member]:
        """Articles (namespace 0) in ``category`` and its sub-categories down to ``depth`` levels.

        Breadth first, each category visited once (category graphs have cycles); an article reached several times
        keeps its shallowest depth. Sub-categories missing from a ``--source-dir`` folder count as empty.

        Args:
            category: the root category (``"Category:X"`` or ``"X"``).
            depth: sub-category levels to walk; 0 is the category only.

        Returns:
            One :class:`Member` per article, sorted by pageid.

        Raises:
            ValueError: a negative depth.
            SourceError: the root category is missing from ``--source-dir``, or an answer is malformed.
        """
        if depth < 0:
            raise ValueError("depth must be >= 0")
        root = _category_title(category)
        seen_cats = {root}
        frontier = [root]
        found: dict[int, Member] = {}
        for d in range(depth + 1):
            nxt: list[str] = []
            for cat in frontier:
                for m in self.category_members(cat, required=(d == 0)):
                    if m["ns"] == NS_ARTICLE:
                        if m["pageid"] not in found:
                            found[m["pageid"]] = Member(m["pageid"], m["title"], d, cat)
                    elif m["ns"] == NS_CATEGORY and d < depth and m["title"] not in seen_cats:
                        seen_cats.add(m["title"])
                        nxt.append(m["title"])
            frontier = nxt
        return [found[k] for k in sorted(found)]

    # -- page texts --------------------------------------------------------------------------------------------------
    def _index(self) -> dict[int, dict[str, Any]]:
        if self._page_index is None:
            self._page_index = {}
            for path in self.mirror.files(".json", under="pages"):
                self._add_answers(self.mirror.read_json(path), path)
        return self._page_index

    def _add_answers(self, answers: Any, where: Any) -> None:
        assert self._page_index is not None
        for answer in answers if isinstance(answers, list) else [answers]:
            _check_answer(answer, where)
            pages = (answer.get("query") or {}).get("pages")
            if pages is None:
                raise SourceError(f"{where}: answer has no query.pages; is it a prop=extracts|info answer?")
            for p in pages.values() if isinstance(pages, dict) else pages:
                if "missing" in p or "invalid" in p or "pageid" not in p:
                    continue
                entry = self._page_index.setdefault(int(p["pageid"]), {})
                for key, value in p.items():  # continuation answers add fields (e.g. the extract) to a page
                    if value not in (None, "") or key not in entry:
                        entry[key] = value

    def pages(self, pageids: Iterable[int], *, intro_only: bool = True) -> dict[int, Page]:
        """Plain text and revision id of each page.

        Pages already in the mirror (``pages/*.json``) are read from it; online, the others are fetched (20 intros per
        request, or one whole article per request) and stored. Pages the wiki no longer has, or a ``--source-dir``
        lacks, are left out with one warning.

        Args:
            pageids: the pages wanted (any order, repeats allowed).
            intro_only: online, ask only for the lead (``exintro``); the builders ask for whole articles.

        Returns:
            ``{pageid: Page}`` for the pages found.
        """
        wanted = sorted(set(int(p) for p in pageids))
        index = self._index()
        todo = [p for p in wanted if "extract" not in index.get(p, {})]
        if todo and not self.mirror.local_only:
            step = EXTRACTS_PER_REQUEST if intro_only else 1
            for i in range(0, len(todo), step):
                batch = todo[i : i + step]
                params: dict[str, Any] = {"prop": "extracts|info", "explaintext": 1, "exsectionformat": "wiki",
                                          "exlimit": "max", "pageids": "|".join(map(str, batch))}
                if intro_only:
                    params["exintro"] = 1
                answers = self._query(params)
                digest = hashlib.sha1("|".join(map(str, batch)).encode()).hexdigest()[:16]
                self.mirror.write_json(f"pages/{batch[0]}-{digest}.json", answers)
                self._add_answers(answers, self.http.base_url if self.http else "?")
        out: dict[int, Page] = {}
        missing: list[int] = []
        for pid in wanted:
            p = index.get(pid)
            if not p or "extract" not in p:
                missing.append(pid)
                continue
            rev = p.get("lastrevid")
            out[pid] = Page(pid, str(p.get("title", "")), int(rev) if rev not in (None, "") else None, str(p["extract"] or ""))
        if missing:
            where = f"{self.mirror.path('pages')}" if self.mirror.local_only else "the API"
            logger.warning("%d of %d pages have no text in %s (first: pageid %d); they are left out", len(missing), len(wanted), where, missing[0])
        return out


def _check_answer(answer: Any, where: Any) -> None:
    if not isinstance(answer, dict):
        raise SourceError(f"{where}: expected a MediaWiki API JSON object, got {type(answer).__name__}")
    if "error" in answer:
        err = answer["error"] or {}
        raise SourceError(f"{where}: MediaWiki API error {err.get('code', '?')}: {err.get('info', '')}; check the query")

