"""MedQA builder (USMLE-style questions, 4 options). Source: :mod:`medeval.sources.hf_datasets`
(``GBaker/MedQA-USMLE-4-options`` on the Hub, or ``--source-dir DIR/medqa_usmle`` with the jind11 jsonl files).

* ``medqa.option_pairs`` (MedQAPairClassification): every sampled question paired with each option named in
  ``construction.params.options`` (A-D), label 1 for ``answer_idx``: positives : negatives = 1 : 3, the wrong
  options being the negatives. ``max_rows`` counts pairs. Same rules as MedMCQA
  (:func:`medeval.builders.medmcqa.option_pairs_task`). Record ids are ``<split>-<row number>``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.medmcqa import option_pairs_task
from medeval.errors import SpecError
from medeval.sources.hf_datasets import load_medqa
from medeval.spec import TaskSpec


class MedQAParams(BuilderParams):
    """``construction.params`` of ``medqa.option_pairs``."""

    options: list[str] | None = Field(default=None, description="option letters (default: A-D)")
    ratio: str | None = Field(default=None, description="positives : negatives, '1:<options - 1>'")
    require_known_answer: Literal[True] = True
    revision: str | None = Field(default=None, description="Hub commit of the dataset (default: main, resolved and recorded)")
    splits: list[str] | None = Field(default=None, description="dataset splits used (default: all)")


@builder("medqa.option_pairs", params=MedQAParams, needs={"network"})
def option_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``medqa.option_pairs``: MedQA (USMLE) questions paired with each option
    (:func:`~medeval.builders.medmcqa.option_pairs_task`).

    Args:
        spec: the task; ``params`` is :class:`MedQAParams` (option letters, Hub ``revision``, ``splits``).
        ctx: ``--source-dir DIR/medqa_usmle`` or the Hub; ``record_ids`` for a rebuild.

    Returns:
        The pair table and the manifest's ``source``.

    Raises:
        SpecError: ``params.options`` is not a list of single letters.
    """
    c = spec.construction
    assert c is not None
    letters = c.params.get("options") or ["A", "B", "C", "D"]
    if not isinstance(letters, list) or not all(isinstance(x, str) and len(x) == 1 for x in letters):
        raise SpecError(f"task {spec.name}: field 'construction.params.options' must list option letters, e.g. [A, B, C, D]")
    questions, origin = load_medqa(ctx, revision=c.params.get("revision"), letters=letters)
    return option_pairs_task(spec, ctx, questions, origin, "MedQA")
