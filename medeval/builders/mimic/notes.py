"""Choosing MIMIC-IV notes for a task from the parsed-section cache, and what the manifest records of them: text
templates, seeded sampling by note id, de-duplication, classification splits, salted record hashes (never text).

    >>> from medeval.builders.mimic.notes import hash_rank
    >>> hash_rank(np.array(["n1", "n2", "n3"]), seed=42)      # a seeded, order-independent shuffle
    array([...])
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

import numpy as np

from medeval.build import BuildContext
from medeval.builders import sampling
from medeval.errors import MedEvalError, SpecError
from medeval.manifest import record, restrict
from medeval.sources import mimic, mimic_sections
from medeval.spec import TaskSpec

#: text-template fields -> section keys of the cache
TEMPLATE_FIELDS = {"CC": "cc", "HPI": "hpi", "DD": "dd", "DI": "di"}


def inputs(spec: TaskSpec, ctx: BuildContext) -> tuple[mimic.MimicFiles, mimic_sections.SectionCache]:
    files = mimic.locate(ctx.mimic_dir)
    return files, mimic_sections.section_cache(files, show_progress=ctx.show_progress)


def section_key(spec: TaskSpec, name: str) -> str:
    if name not in mimic_sections.SECTIONS:
        raise SpecError(
            f"task {spec.name}: field 'construction.sections': unknown section {name!r}; use {', '.join(mimic_sections.SECTIONS)}"
        )
    return mimic_sections.SECTIONS[name]


def two_sections(spec: TaskSpec) -> tuple[str, str]:
    c = spec.construction
    assert c is not None
    if not c.sections or len(c.sections) != 2:
        raise SpecError(f"task {spec.name}: field 'construction.sections': give exactly two sections (query/first, document/second)")
    return section_key(spec, c.sections[0]), section_key(spec, c.sections[1])


def text_template(spec: TaskSpec) -> tuple[str, list[str]]:
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


def fill_template(tpl: str, fields: list[str], texts: dict[str, list[Any]], i: int) -> str:
    return tpl.format_map({f: texts[TEMPLATE_FIELDS[f]][i] for f in fields})




def hash_rank(note_ids: np.ndarray, seed: int) -> np.ndarray:
    """Positions of ``note_ids`` ordered by a seeded hash of each id (a deterministic shuffle that does not depend on
    file order or on which other notes are present)."""
    keys = [hashlib.sha256(f"{seed}\x00mimic-sample\x00{nid}".encode()).digest()[:8] for nid in note_ids]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def usable_rows(spec: TaskSpec, ctx: BuildContext, cache: mimic_sections.SectionCache, mask: np.ndarray) -> np.ndarray:
    """Rows where ``mask`` holds, in file order; when rebuilding from a manifest, exactly the manifest's notes
    (a SourceError names the ones that are missing or no longer usable)."""
    rows = np.flatnonzero(mask)
    if ctx.record_ids is not None:
        ids = cache.columns(["note_id"])["note_id"]
        kept = restrict(rows.tolist(), ctx, lambda r: ids[r], what=f"notes of your MIMIC copy usable for {spec.name}")
        rows = np.asarray(kept, dtype=np.int64)
    return rows


def sample_rows(rows: np.ndarray, note_ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """At most k of the rows (by hash rank), returned in file order."""
    if len(rows) > k:
        rows = np.sort(rows[hash_rank(note_ids[rows], seed)[:k]])
    return rows


def dedupe_texts(records: list[dict[str, Any]], hashes: list[np.ndarray]) -> tuple[list[dict[str, Any]], int]:
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


def note_records(files: mimic.MimicFiles, note_ids: list[str], *contents: list[Any]) -> list[dict[str, str]]:
    """Manifest records: the note id and a salted hash of the fields used (never the text)."""
    salt = mimic.record_salt(files)
    return [record(nid, content=[salt, *(c[i] for c in contents)]) for i, nid in enumerate(note_ids)]


def manifest_sources(files: mimic.MimicFiles, cache: mimic_sections.SectionCache, records: list[dict[str, str]], *, admissions: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "origin": "local:mimic-iv-note",
        "mimic_release": mimic.release_info(files, admissions=admissions),
        "parser_version": mimic_sections.PARSER_VERSION,
        "parsed_notes": cache.info["counts"],
        **extra,
        "records": records,
    }


def keep_keys(rows: list[dict[str, Any]], *keep: str) -> list[dict[str, Any]]:
    return [{k: r[k] for k in keep} for r in rows]


def need_rows(spec: TaskSpec, n: int, what: str, minimum: int = 2) -> None:
    if n < minimum:
        raise MedEvalError(
            f"task {spec.name}: only {n} note(s) {what} in your MIMIC copy; the task needs at least {minimum}. "
            "Check that --mimic-dir holds the full note/discharge.csv.gz"
        )



def labelled_rows(
    spec: TaskSpec, ctx: BuildContext, files: mimic.MimicFiles, cache: mimic_sections.SectionCache, label_of: np.ndarray, eligible: np.ndarray,
    *, balance: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    """Template text + label rows for the eligible notes: de-duplicated, optionally balanced, capped (label
    proportions kept), in file order; with their manifest records and selection counts."""
    c = spec.construction
    assert c is not None
    tpl, fields = text_template(spec)
    keys = [TEMPLATE_FIELDS[f] for f in fields]
    cols = cache.columns(["note_id", *(f"len_{k}" for k in keys), *(f"h_{k}" for k in keys)])
    mask = eligible.copy()
    for k in keys:
        mask &= cols[f"len_{k}"] > 0
    rows = usable_rows(spec, ctx, cache, mask)
    records = [{"row": int(r), "label": label_of[r]} for r in rows]
    records, dropped = dedupe_texts(records, [cols[f"h_{k}"] for k in keys])
    stats: dict[str, Any] = {"eligible": len(rows), "duplicate_texts_dropped": dropped}
    if balance and records:
        records = sampling.balance_downsample(records, "label", c.seed)
    capped = sampling.stratified_cap(records, "label", c.max_rows, c.seed)
    capped.sort(key=lambda r: r["row"])
    texts = cache.take([r["row"] for r in capped], keys)
    note_ids = [str(cols["note_id"][r["row"]]) for r in capped]
    out = [
        {"text": fill_template(tpl, fields, texts, i), "label": r["label"], "note_id": note_ids[i]}
        for i, r in enumerate(capped)
    ]
    stats["kept"] = len(out)
    records_out = note_records(files, note_ids, *(texts[k] for k in keys), [r["label"] for r in capped])
    return out, records_out, stats


def classification_tables(spec: TaskSpec, rows: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    c = spec.construction
    assert c is not None
    split = c.split or {"train": 0.7, "test": 0.3}
    parts = sampling.split_rows(rows, split, c.seed, label_key="label")
    tables = {f"data/{name}": keep_keys(part, "text", "label") for name, part in parts.items()}
    return tables, {name: len(part) for name, part in parts.items()}
