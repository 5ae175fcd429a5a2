"""MIMIC-IV readmission tasks: ``mimic.readmission_classification`` (the paper's rule; see
:mod:`medeval.builders.mimic` and :func:`readmission_labels`).

    $ medeval build -t MIMICReadmission30DaysClassification --mimic-dir DIR
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.mimic.notes import classification_tables, inputs, labelled_rows, manifest_sources
from medeval.errors import MedEvalError, SpecError
from medeval.sources import mimic, mimic_sections
from medeval.spec import TaskSpec

#: The sections the paper requires of a readmission note (its text uses the first two).
READMISSION_SECTIONS = ("Chief Complaint", "History of Present Illness", "Brief Hospital Course", "Past Medical History",
                        "Discharge Instructions", "Discharge Condition")


class ReadmissionParams(BuilderParams):
    """``construction.params`` of ``mimic.readmission_classification``."""

    window_days: int = Field(gt=0, strict=True, description="N: readmitted when the next noted admission is <= N whole days later")
    text_template: str = Field(description="row text, e.g. 'Chief Complaint: {CC} History of Present Illness: {HPI}'")
    require_sections: list[str] = Field(default=list(READMISSION_SECTIONS), description="a note needs every one (the paper: six)")


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


def _has_sections(spec: TaskSpec, cache: mimic_sections.SectionCache, names: list[str], n: int) -> np.ndarray:
    """Per cached note: True when every named section is present and non-empty."""
    keys = {**mimic_sections.SECTIONS, **mimic_sections.LENGTH_ONLY_SECTIONS}
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
    """``mimic.readmission_classification``: the note's template text -> readmitted within ``window_days`` whole days
    (1) or not (0), by the paper's rule (:func:`readmission_labels`); notes need the six
    ``params.require_sections``; classes balanced by down-sampling, then capped and split 70/30.

    Args:
        spec: the task; ``params`` is :class:`ReadmissionParams`.
        ctx: ``ctx.mimic_dir`` with ``hosp/admissions`` (required), ``ctx.record_ids`` for a rebuild.

    Returns:
        ``data/train``, ``data/test`` and the manifest's ``source`` (both files' release, counts, salted records).

    Raises:
        SpecError: ``window_days`` is not a positive whole number.
        MedEvalError: fewer than 2 notes in a class, or one class left after de-duplication.
    """
    c = spec.construction
    assert c is not None
    window = c.params.get("window_days")
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        raise SpecError(f"task {spec.name}: field 'construction.params.window_days' must be a positive whole number of days")
    files, cache = inputs(spec, ctx)
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
    rows, records, stats = labelled_rows(spec, ctx, files, cache, label_of, known, balance=c.balance == "downsample")
    for r in rows:
        r["label"] = int(r["label"])
    if len({r["label"] for r in rows}) < 2:
        raise MedEvalError(f"task {spec.name}: after de-duplication only one class is left; check --mimic-dir")
    tables, sizes = classification_tables(spec, rows)
    sources = manifest_sources(files, cache, records, admissions=True, selection={**counts, **stats, "split": sizes}, window_days=window)
    return BuiltTask(tables=tables, sources=sources, packages=["pandas"])
