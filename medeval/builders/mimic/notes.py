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
    """The user's MIMIC files and their parsed-section cache (parsed now if this release was never parsed).

    Args:
        spec: the task (unused; the builders' common call shape).
        ctx: ``ctx.mimic_dir`` (required) and ``ctx.show_progress``.

    Returns:
        ``(files, cache)``.

    Raises:
        SourceError: no ``--mimic-dir``, or its files are missing or malformed.
    """
    files = mimic.locate(ctx.mimic_dir)
    return files, mimic_sections.section_cache(files, show_progress=ctx.show_progress)


def section_key(spec: TaskSpec, name: str) -> str:
    """The cache key of a section the YAML names.

    Args:
        spec: the task (named in the error).
        name: a YAML section name, e.g. ``"Chief Complaint"``.

    Returns:
        The short key, e.g. ``"cc"``.

    Raises:
        SpecError: not one of the four task sections.
    """
    if name not in mimic_sections.SECTIONS:
        raise SpecError(
            f"task {spec.name}: field 'construction.sections': unknown section {name!r}; use {', '.join(mimic_sections.SECTIONS)}"
        )
    return mimic_sections.SECTIONS[name]


def two_sections(spec: TaskSpec) -> tuple[str, str]:
    """The cache keys of ``construction.sections``: the query/first and the document/second section.

    Args:
        spec: the task.

    Returns:
        ``(first key, second key)``.

    Raises:
        SpecError: not exactly two sections, or an unknown one.
    """
    c = spec.construction
    assert c is not None
    if not c.sections or len(c.sections) != 2:
        raise SpecError(f"task {spec.name}: field 'construction.sections': give exactly two sections (query/first, document/second)")
    return section_key(spec, c.sections[0]), section_key(spec, c.sections[1])


def text_template(spec: TaskSpec) -> tuple[str, list[str]]:
    """``construction.params.text_template`` and the section fields it uses.

    Args:
        spec: the task.

    Returns:
        ``(template, fields)``: fields among ``CC``, ``HPI``, ``DD``, ``DI``, in first-use order, once each.

    Raises:
        SpecError: no template, a field other than those, or no field at all.
    """
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
    """One row's text: the template with the note's section texts.

    Args:
        tpl: the template, e.g. ``"Chief Complaint: {CC} History of Present Illness: {HPI}"``.
        fields: its fields (:func:`text_template`).
        texts: section key -> texts of the chosen notes (:meth:`SectionCache.take`).
        i: the note's position among them.

    Returns:
        The filled text.
    """
    return tpl.format_map({f: texts[TEMPLATE_FIELDS[f]][i] for f in fields})




def hash_rank(note_ids: np.ndarray, seed: int) -> np.ndarray:
    """Positions of ``note_ids`` ordered by a seeded hash of each id: a deterministic shuffle that does not depend on
    file order or on which other notes are present (tasks sample the same notes as far as eligibility allows).

    Args:
        note_ids: the candidates' note ids.
        seed: the task's seed.

    Returns:
        int64 positions into ``note_ids``.
    """
    keys = [hashlib.sha256(f"{seed}\x00mimic-sample\x00{nid}".encode()).digest()[:8] for nid in note_ids]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def usable_rows(spec: TaskSpec, ctx: BuildContext, cache: mimic_sections.SectionCache, mask: np.ndarray) -> np.ndarray:
    """Cache rows where ``mask`` holds, in file order; when rebuilding from a manifest, exactly the manifest's notes.

    Args:
        spec: the task (named in errors).
        ctx: ``ctx.record_ids`` for a rebuild.
        cache: the section cache.
        mask: one bool per cached note (the task's eligibility).

    Returns:
        int64 row positions.
    """
    rows = np.flatnonzero(mask)
    if ctx.record_ids is not None:
        ids = cache.columns(["note_id"])["note_id"]
        kept = restrict(rows.tolist(), ctx, lambda r: ids[r], what=f"notes of your MIMIC copy usable for {spec.name}")
        rows = np.asarray(kept, dtype=np.int64)
    return rows


def sample_rows(rows: np.ndarray, note_ids: np.ndarray, k: int, seed: int) -> np.ndarray:
    """At most ``k`` of the rows, the first by :func:`hash_rank`, returned in file order.

    Args:
        rows: eligible row positions.
        note_ids: the cache's ``note_id`` column.
        k: how many to keep.
        seed: the task's seed.

    Returns:
        The kept row positions, sorted.
    """
    if len(rows) > k:
        rows = np.sort(rows[hash_rank(note_ids[rows], seed)[:k]])
    return rows


def dedupe_texts(records: list[dict[str, Any]], hashes: list[np.ndarray]) -> tuple[list[dict[str, Any]], int]:
    """One note per distinct text (the first in file order); a text under several labels is dropped altogether, so
    that no text is in both splits or under two labels. Texts are compared by their section hashes.

    Args:
        records: ``{"row": cache row, "label": ...}`` in file order.
        hashes: the ``h_<key>`` columns of the sections the text uses.

    Returns:
        ``(kept records, how many were dropped)``.
    """
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
    """The build manifest's records: each note id with a hash of the fields used, salted with
    :func:`~medeval.sources.mimic.record_salt` (never the text).

    Args:
        files: the located files (for the salt).
        note_ids: the notes used.
        contents: per field, the values aligned with ``note_ids``.

    Returns:
        One ``{"id", "sha"}`` record per note.
    """
    salt = mimic.record_salt(files)
    return [record(nid, content=[salt, *(c[i] for c in contents)]) for i, nid in enumerate(note_ids)]


def manifest_sources(files: mimic.MimicFiles, cache: mimic_sections.SectionCache, records: list[dict[str, str]], *, admissions: bool = False, **extra: Any) -> dict[str, Any]:
    """The build manifest's ``source`` block of a MIMIC task.

    Args:
        files: the located files.
        cache: the section cache (its parse counts).
        records: :func:`note_records`.
        admissions: record the admissions file's release too.
        extra: task-specific entries (``selection`` counts, ...).

    Returns:
        Origin, the release (:func:`~medeval.sources.mimic.release_info`), parser version, counts, ``extra`` and
        the records.
    """
    return {
        "origin": "local:mimic-iv-note",
        "mimic_release": mimic.release_info(files, admissions=admissions),
        "parser_version": mimic_sections.PARSER_VERSION,
        "parsed_notes": cache.info["counts"],
        **extra,
        "records": records,
    }


def keep_keys(rows: list[dict[str, Any]], *keep: str) -> list[dict[str, Any]]:
    """The rows with only the given keys.

    Args:
        rows: dict rows.
        keep: the keys to keep.

    Returns:
        New dicts, in the same order.
    """
    return [{k: r[k] for k in keep} for r in rows]


def need_rows(spec: TaskSpec, n: int, what: str, minimum: int = 2) -> None:
    """Stop with one clear line when the user's MIMIC copy gives too few notes.

    Args:
        spec: the task (named in the error).
        n: how many notes qualified.
        what: what they had to have, e.g. ``"with both Chief Complaint and Discharge Diagnosis"``.
        minimum: the least the task needs.

    Raises:
        MedEvalError: ``n < minimum``.
    """
    if n < minimum:
        raise MedEvalError(
            f"task {spec.name}: only {n} note(s) {what} in your MIMIC copy; the task needs at least {minimum}. "
            "Check that --mimic-dir holds the full note/discharge.csv.gz"
        )



def labelled_rows(
    spec: TaskSpec, ctx: BuildContext, files: mimic.MimicFiles, cache: mimic_sections.SectionCache, label_of: np.ndarray, eligible: np.ndarray,
    *, balance: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    """Template-text + label rows for the eligible notes: de-duplicated (:func:`dedupe_texts`), optionally balanced,
    capped at ``max_rows`` keeping label proportions, in file order.

    Args:
        spec: the task (text template, ``max_rows``, ``seed``).
        ctx: ``ctx.record_ids`` for a rebuild.
        files: the located files.
        cache: the section cache.
        label_of: one label per cached note (None where unlabelled).
        eligible: one bool per cached note.
        balance: down-sample every label to the rarest first.

    Returns:
        ``(rows, records, stats)``: ``{"text", "label", "note_id"}`` rows, their manifest records and selection counts.
    """
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
    """Classification ``data/<split>`` tables (``text``, ``label``), split by the YAML's fractions (default 70/30),
    stratified by label.

    Args:
        spec: the task.
        rows: :func:`labelled_rows` rows.

    Returns:
        ``(tables, rows per split)``.
    """
    c = spec.construction
    assert c is not None
    split = c.split or {"train": 0.7, "test": 0.3}
    parts = sampling.split_rows(rows, split, c.seed, label_key="label")
    tables = {f"data/{name}": keep_keys(part, "text", "label") for name, part in parts.items()}
    return tables, {name: len(part) for name, part in parts.items()}
