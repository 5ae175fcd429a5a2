"""Positive (anchor, positive) pairs per training source, read with the build pipeline's source clients.

One builder per source of the MedTE recipe (``/work/shared/spec/medeval-v1-tasks.md``, last section):

=================  ==========================================================  =====================================
source             anchor -> positive                                          records from
=================  ==========================================================  =====================================
wikipedia          an article's first lead paragraph -> its second one          :mod:`medeval.sources.mediawiki`
mimic              discharge diagnosis -> "Chief Complaint: .. History of       :mod:`medeval.sources.mimic`
                   Present Illness: .." (the template the MIMIC tasks use)
pubmed             title -> abstract                                            :mod:`medeval.sources.eutils`
biorxiv, medrxiv   title -> abstract (CC-licensed, latest version per DOI)      :mod:`medeval.sources.biorxiv`
clinicaltrials     official title -> first primary outcome                      :mod:`medeval.sources.clinicaltrials`
                   ("measure: .. description: ..", as in the trial tasks)
medmcqa            question -> explanation (``exp``; rows without one skipped)  :mod:`medeval.sources.hf_datasets`
medqa              question -> text of the correct option                       :mod:`medeval.sources.hf_datasets`
medquad            question -> answer (collections 1-9 have answers)            :mod:`medeval.sources.medquad`
=================  ==========================================================  =====================================

Records come from ``--source-dir`` (the datakit layout, read-only) or, without it, from the network exactly as
``medeval build`` fetches them (cached under ``<data folder>/sources``). MIMIC needs ``data.mimic_dir``; its text
stays in memory and in the trained weights only (never in a log, report or error: pair ids are note ids).

Each pair keeps its source record id (PMID, DOI, NCT id, note id, ...), so the leakage report can name what it
removed. After building, every source is cleaned the same way (:func:`medeval.training.pairs.clean_pairs`), then
capped at ``max_pairs`` by a seeded sample that keeps the source's record order.

    >>> from medeval.training.pair_sources import build_pairs
    >>> result = build_pairs(cfg.data)
    >>> result.pairs["medquad"][0]
    Pair(id='1_CancerGov_QA/0000001_1-1', anchor='What is (are) Adult Acute Lymphoblastic Leukemia ?', positive='Key Points ...')
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from medeval.build import BuildContext
from medeval.builders.sampling import sample
from medeval.errors import SourceError
from medeval.training.config import (
    DataConfig,
    PreprintOptions,
    PubmedOptions,
    QuestionOptions,
    SourceOptions,
    WikipediaOptions,
)
from medeval.training.pairs import PAIR_BUILDERS, Pair, PairSet, clean_pairs, collapse_whitespace, pair_builder

logger = logging.getLogger("medeval.training.pairs")  # the log name of these warnings before the split

#: The MIMIC text template of the MIMIC classification/clustering tasks (spec: "Chief Complaint: {CC} ...").
MIMIC_TEMPLATE = "Chief Complaint: {cc} History of Present Illness: {hpi}"


@pair_builder("wikipedia")
def wikipedia_pairs(opts: WikipediaOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """First lead paragraph -> second lead paragraph of every article under the categories.

    Args:
        opts: ``data.sources.wikipedia``: the categories and their recursion ``depth``.
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder` (pages are read from the MediaWiki API, :mod:`medeval.sources.mediawiki`).

    Returns:
        ``(pairs, info)``: one pair per article whose lead has two paragraphs, by page id; ``info`` names the
        categories, depth and pages read.

    Raises:
        SourceError: the MediaWiki answers are absent (offline without a cache, or not under ``--source-dir``).
    """
    from medeval.sources.mediawiki import MediaWikiClient

    wiki = MediaWikiClient.from_context(ctx)
    ids: dict[int, None] = {}
    for cat in opts.categories:
        for m in wiki.pages_in_category(cat, opts.depth):
            ids.setdefault(m.pageid, None)
    pages = wiki.pages(sorted(ids), intro_only=True)
    out = []
    for pid in sorted(pages):
        paragraphs = [p for p in pages[pid].lead.split("\n") if p.strip()]
        if len(paragraphs) >= 2:
            out.append(Pair(str(pid), paragraphs[0], paragraphs[1]))
    return out, {"origin": wiki.where, "categories": list(opts.categories), "depth": opts.depth, "pages": len(pages)}


@pair_builder("mimic")
def mimic_pairs(opts: SourceOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """Discharge diagnosis -> chief complaint + history of present illness, one pair per discharge summary.

    Only notes with all three sections count; with ``opts.max_pairs`` the rows are sampled (seeded) before any text is
    read. The text never leaves memory; pair ids are note ids.

    Args:
        opts: ``data.sources.mimic``: ``max_pairs`` caps the notes read.
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder`; ``ctx.mimic_dir`` is the credentialed MIMIC-IV-Note folder, ``seed``
            draws the row sample.

    Returns:
        ``(pairs, info)``: pairs in note order; ``info`` counts the notes and those with the sections.

    Raises:
        SourceError: no MIMIC-IV folder given, or it lacks ``note/discharge.csv.gz``.
    """
    import numpy as np

    from medeval.sources import mimic, mimic_sections

    files = mimic.locate(ctx.mimic_dir)
    cache = mimic_sections.section_cache(files, show_progress=ctx.show_progress)
    cols = cache.columns(["note_id", "len_dd", "len_cc", "len_hpi"])
    rows = np.flatnonzero((cols["len_dd"] > 0) & (cols["len_cc"] > 0) & (cols["len_hpi"] > 0)).tolist()
    if opts.max_pairs is not None:  # sample rows before reading text: only the chosen notes are read
        rows = sample(rows, opts.max_pairs, seed, "mimic-rows")
    texts = cache.take(rows, ["dd", "cc", "hpi"])
    out = [
        Pair(str(cols["note_id"][r]), texts["dd"][i], MIMIC_TEMPLATE.format(cc=texts["cc"][i], hpi=texts["hpi"][i]))
        for i, r in enumerate(rows)
    ]
    return out, {"origin": "mimic-dir", "notes": cache.num_notes, "notes_with_sections": len(out)}


@pair_builder("pubmed")
def pubmed_pairs(opts: PubmedOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """Title -> abstract of PubMed articles (pair ids: PMIDs, in PMID order).

    Args:
        opts: ``data.sources.pubmed``: online, the esearch ``terms`` and ``max_per_term`` (unused with
            ``--source-dir``, which reads every record under ``pubmed/``).
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder` (NCBI E-utilities, :mod:`medeval.sources.eutils`).

    Returns:
        ``(pairs, info)``: articles without a title or abstract give no pair; ``info`` names the origin (and terms).

    Raises:
        SourceError: no ``pubmed/`` folder under ``--source-dir``, or E-utilities unreachable without a cache.
    """
    from medeval.sources.eutils import EutilsClient
    from medeval.sources.ncbi_xml import parse_pubmed_xml
    from medeval.sources.mirror import Mirror

    records: dict[str, Any] = {}
    if ctx.source_dir is not None:
        mirror = Mirror.for_context(ctx, "pubmed")
        for path in mirror.files(".xml", ".xml.gz", exclude=("esearch",)):
            for art in parse_pubmed_xml(mirror.read_bytes(path), path):
                records.setdefault(art.pmid, art)
        origin: dict[str, Any] = {"origin": f"source-dir {mirror.root}"}
    else:
        client = EutilsClient.from_context(ctx, "pubmed")
        ids: dict[str, None] = {}
        for term in opts.terms:
            for i in client.search(term, opts.max_per_term):
                ids.setdefault(i, None)
        records = client.fetch(list(ids))
        origin = {"origin": client.where, "terms": list(opts.terms)}
    out = [Pair(pmid, a.title, a.abstract) for pmid, a in sorted(records.items(), key=lambda kv: int(kv[0])) if a.title and a.abstract]
    return out, {**origin, "records": len(records)}


def _preprint_pairs(server: str, opts: PreprintOptions, ctx: BuildContext) -> tuple[list[Pair], dict[str, Any]]:
    from medeval.sources.biorxiv import BiorxivClient, clean_abstract, is_cc_licensed, latest_versions

    client = BiorxivClient.from_context(ctx)
    listed = client.details(server, opts.start, opts.end)
    eligible = [r for r in listed if (is_cc_licensed(r) or not opts.cc_only) and str(r.get("type", "")).lower() != "withdrawn"]
    out = []
    for r in latest_versions(eligible):
        out.append(Pair(str(r["doi"]).strip().lower(), collapse_whitespace(r.get("title")), clean_abstract(str(r.get("abstract") or ""))))
    return out, {"origin": client.where, "from": opts.start, "to": opts.end, "versions_listed": len(listed), "preprints": len(out)}


@pair_builder("biorxiv")
def biorxiv_pairs(opts: PreprintOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """bioRxiv title -> abstract (pair ids: lower-case DOIs).

    Args:
        opts: ``data.sources.biorxiv``: the posting dates ``start``/``end`` and ``cc_only`` (Creative Commons only).
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder` (the bioRxiv API, :mod:`medeval.sources.biorxiv`).

    Returns:
        ``(pairs, info)``: the latest version of each preprint, withdrawn ones left out; ``info`` counts the versions
        listed and the preprints kept.

    Raises:
        SourceError: the API's answers are absent (offline without a cache, or not under ``--source-dir``).
    """
    return _preprint_pairs("biorxiv", opts, ctx)


@pair_builder("medrxiv")
def medrxiv_pairs(opts: PreprintOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """medRxiv title -> abstract: :func:`biorxiv_pairs` on the medRxiv server of the same API.

    Args:
        opts: ``data.sources.medrxiv``: posting dates and licence filter, as for bioRxiv.
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder`.

    Returns:
        ``(pairs, info)`` as :func:`biorxiv_pairs` returns them.

    Raises:
        SourceError: the medRxiv answers are absent.
    """
    return _preprint_pairs("medrxiv", opts, ctx)


@pair_builder("clinicaltrials")
def clinicaltrials_pairs(opts: SourceOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """Official title -> the first primary outcome (``measure: ... description: ...``, as in the trial tasks).

    Args:
        opts: ``data.sources.clinicaltrials``: ``max_pairs`` caps the studies read (100,000 without it).
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder` (ClinicalTrials.gov API v2, :mod:`medeval.sources.clinicaltrials`).

    Returns:
        ``(pairs, info)``: one pair per study with an official title and an outcome, by NCT id; ``info`` counts the
        studies read.

    Raises:
        SourceError: the studies are absent (offline without a cache, or no ``clinicaltrials/`` folder).
    """
    from medeval.sources.clinicaltrials import load_studies

    need = ("officialTitle", "primaryOutcomes")
    studies, origin = load_studies(ctx, need=need, limit=opts.max_pairs or 100_000)
    out = []
    for s in studies:
        first = next((o for o in s.primary_outcomes if o[0] or o[1]), None)
        if s.official_title and first is not None:
            out.append(Pair(s.nct_id, s.official_title, dataclasses.replace(s, primary_outcomes=(first,)).text("primaryOutcomes")))
    return out, {"origin": origin.get("origin"), "studies": len(studies)}


def _split_filter(questions: list[Any], splits: list[str] | None) -> list[Any]:
    return questions if splits is None else [q for q in questions if q.split in splits]


@pair_builder("medmcqa")
def medmcqa_pairs(opts: QuestionOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """Question -> explanation; questions without an explanation (e.g. the converted layout) give no pair.

    Args:
        opts: ``data.sources.medmcqa``: the ``splits`` whose questions are used (null: all).
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder` (MedMCQA, Pal et al. 2022, ``openlifescienceai/medmcqa`` via
            :mod:`medeval.sources.hf_datasets`).

    Returns:
        ``(pairs, info)``: pair ids are MedMCQA ids; ``info`` gives the dataset revision and the counts per step.

    Raises:
        SourceError: no ``medmcqa/`` rows under ``--source-dir``, or the Hub unreachable without a cache.
    """
    from medeval.sources.hf_datasets import load_medmcqa

    questions, origin = load_medmcqa(ctx)
    chosen = _split_filter(questions, opts.splits)
    out = [Pair(q.id, q.question, q.explanation) for q in chosen if q.explanation]
    return out, {"origin": origin.get("origin"), "revision": origin.get("revision"), "questions": len(questions),
                 "in_splits": len(chosen), "with_explanation": len(out), "splits": opts.splits}


@pair_builder("medqa")
def medqa_pairs(opts: QuestionOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """Question -> the text of its correct option (MedQA USMLE, 4 options; Jin et al. 2021).

    Args:
        opts: ``data.sources.medqa``: the ``splits`` whose questions are used (null: all).
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder` (``GBaker/MedQA-USMLE-4-options`` via :mod:`medeval.sources.hf_datasets`).

    Returns:
        ``(pairs, info)``: questions without a known answer give no pair; ``info`` gives the revision and counts.

    Raises:
        SourceError: no ``medqa_usmle/`` rows under ``--source-dir``, or the Hub unreachable without a cache.
    """
    from medeval.sources.hf_datasets import load_medqa

    questions, origin = load_medqa(ctx)
    chosen = _split_filter(questions, opts.splits)
    out = [Pair(q.id, q.question, q.options[q.answer]) for q in chosen if q.answer is not None]
    return out, {"origin": origin.get("origin"), "revision": origin.get("revision"), "questions": len(questions),
                 "in_splits": len(chosen), "splits": opts.splits}


@pair_builder("medquad")
def medquad_pairs(opts: SourceOptions, ctx: BuildContext, seed: int) -> tuple[list[Pair], dict[str, Any]]:
    """Question -> answer from MedQuAD (Ben Abacha and Demner-Fushman 2019), collections 1-9 (10-12 lost their answers).

    Args:
        opts: ``data.sources.medquad`` (only the common ``max_pairs``, applied by :func:`build_pairs`).
        ctx, seed: see :data:`~medeval.training.pairs.PairBuilder` (the MedQuAD XML files, :mod:`medeval.sources.medquad`).

    Returns:
        ``(pairs, info)``: pair ids are MedQuAD's document and question ids; ``info`` counts the pairs read and
        answered.

    Raises:
        SourceError: the MedQuAD files are absent.
    """
    from medeval.sources.medquad import load_pairs

    qa, origin = load_pairs(ctx)
    out = [Pair(p.id, p.question, p.answer) for p in qa if p.question and p.answer]
    return out, {"origin": origin.get("origin"), "qa_pairs": len(qa), "answered": len(out)}


# ------------------------------------------------------------------------------------------------- all sources
def build_pairs(
    data: DataConfig,
    *,
    source_dir: Path | None = None,
    mimic_dir: Path | None = None,
    show_progress: bool = False,
) -> PairSet:
    """Pairs of every source the config enables (arguments override ``data.source_dir`` / ``data.mimic_dir``).

    Each source's raw pairs are cleaned (:func:`clean_pairs`), then capped at its ``max_pairs`` by a seeded sample
    that keeps the record order. A source whose records are absent is an error naming what is missing, unless
    ``data.skip_missing``, which skips it and says why in ``PairSet.skipped``. A source that yields no pair at all is
    skipped the same way.

    Args:
        data: the config's ``data:`` block.
        source_dir: upstream records in the datakit layout (read-only); overrides ``data.source_dir``.
        mimic_dir: the credentialed MIMIC-IV folder; overrides ``data.mimic_dir``.
        show_progress: show progress bars while sources are read.

    Returns:
        A :class:`PairSet`: pairs per source, per-source info (origin, counts before and after cleaning) and skips.

    Raises:
        SourceError: ``source_dir`` is not a folder, or a source's records are absent and ``data.skip_missing`` is
            false (the message names the source and both ways out).
    """
    ctx = BuildContext(
        source_dir=source_dir or data.source_dir,
        mimic_dir=mimic_dir or data.mimic_dir,
        offline=data.offline,
        show_progress=show_progress,
    )
    if ctx.source_dir is not None and not Path(ctx.source_dir).is_dir():
        raise SourceError(f"data.source_dir / --source-dir {ctx.source_dir}: no such folder; give the folder that holds the datakit layout (pubmed/, medquad/, ...)")
    result = PairSet()
    for name, opts in data.sources.enabled().items():
        try:
            raw, info = PAIR_BUILDERS[name](opts, ctx, data.seed)
        except SourceError as err:
            if not data.skip_missing:
                raise SourceError(f"training source {name!r}: {err} (or set data.skip_missing: true, or remove {name} from data.sources)") from None
            result.skipped[name] = str(err)
            logger.warning("training source %s skipped: %s", name, err)
            continue
        pairs, dropped = clean_pairs(raw, min_chars=data.min_chars)
        capped = pairs if opts.max_pairs is None else sample(pairs, opts.max_pairs, data.seed, "train-pairs", name)
        info = {k: v for k, v in info.items() if v is not None}
        info.update(raw_pairs=len(raw), dropped=dropped, after_cleaning=len(pairs), capped_to=opts.max_pairs, pairs=len(capped))
        result.info[name] = info
        if not capped:
            result.skipped[name] = "no usable pair in the records read"
            continue
        result.pairs[name] = capped
    return result
