"""MIMIC-IV diagnosis tasks: ``mimic.diagnosis_classification`` and ``mimic.diagnosis_clustering`` (notes labelled
by the label group whose strings contain their Discharge Diagnosis; see :mod:`medeval.builders.mimic`).

    $ medeval build -t MIMICDiagnosisClassification --mimic-dir DIR
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders import sampling
from medeval.builders.mimic.notes import classification_tables, inputs, labelled_rows, manifest_sources
from medeval.errors import MedEvalError, SpecError
from medeval.sources import mimic, mimic_sections
from medeval.spec import TaskSpec

logger = logging.getLogger(__name__)


class DiagnosisParams(BuilderParams):
    """``construction.params`` of the diagnosis classification / clustering builders."""

    text_template: str = Field(description="row text, e.g. 'Chief Complaint: {CC} History of Present Illness: {HPI}'")
    label_section: Literal["Discharge Diagnosis"] = "Discharge Diagnosis"


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
            key = mimic_sections.diagnosis_key(s)
            if key is None:
                raise SpecError(f"task {spec.name}: field 'construction.labels.{label}': empty diagnosis string")
            if key in out and out[key] != label:
                raise SpecError(f"task {spec.name}: field 'construction.labels': {s!r} is in both {out[key]!r} and {label!r}")
            out[key] = label
    return out


def _diagnosis_rows(spec: TaskSpec, ctx: BuildContext) -> tuple[mimic.MimicFiles, mimic_sections.SectionCache, list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    c = spec.construction
    assert c is not None
    files, cache = inputs(spec, ctx)
    labels = _label_map(spec)
    keys = cache.columns(["dd_key"])["dd_key"]
    label_of = np.array([labels.get(k) if k is not None else None for k in keys.tolist()], dtype=object)
    rows, records, stats = labelled_rows(spec, ctx, files, cache, label_of, pd.notna(label_of))
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


@builder("mimic.diagnosis_classification", params=DiagnosisParams, needs={"mimic_dir"})
def diagnosis_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``mimic.diagnosis_classification``: the note's template text (e.g. Chief Complaint + HPI) labelled by the
    ``construction.labels`` group whose strings contain its Discharge Diagnosis; 70/30 split stratified by label.
    Labels are stored as integers, the group's position in the YAML (mteb's binary scoring needs them).

    Args:
        spec: the task; ``params`` is :class:`DiagnosisParams`; ``construction.labels`` maps groups to diagnoses.
        ctx: ``ctx.mimic_dir`` (required), ``ctx.record_ids`` for a rebuild.

    Returns:
        ``data/train``, ``data/test`` and the manifest's ``source`` (release, counts, ``label_ids``, salted records).
    """
    assert spec.construction is not None and spec.construction.labels is not None
    files, cache, rows, records, stats = _diagnosis_rows(spec, ctx)
    # integer labels, in the YAML's group order: mteb's binary classification scoring needs them (pos_label=1)
    index = {label: i for i, label in enumerate(spec.construction.labels)}
    for r in rows:
        r["label"] = index[r["label"]]
    tables, sizes = classification_tables(spec, rows)
    selection = {**stats, "split": sizes, "label_ids": {str(i): label for label, i in index.items()}}
    return BuiltTask(tables=tables, sources=manifest_sources(files, cache, records, selection=selection), packages=["pandas"])


@builder("mimic.diagnosis_clustering", params=DiagnosisParams, needs={"mimic_dir"})
def diagnosis_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``mimic.diagnosis_clustering``: the same rows as :func:`diagnosis_classification`, to be clustered by label
    group (group names as labels, one shuffled test set).

    Args:
        spec: the task; ``params`` is :class:`DiagnosisParams`.
        ctx: ``ctx.mimic_dir`` (required), ``ctx.record_ids`` for a rebuild.

    Returns:
        ``data/test`` (``sentences``, ``labels``) and the manifest's ``source``.
    """
    assert spec.construction is not None
    files, cache, rows, records, stats = _diagnosis_rows(spec, ctx)
    sampling.rng(spec.construction.seed, "order", "test").shuffle(rows)
    tables = {"data/test": [{"sentences": r["text"], "labels": r["label"]} for r in rows]}
    return BuiltTask(tables=tables, sources=manifest_sources(files, cache, records, selection=stats), packages=["pandas"])
