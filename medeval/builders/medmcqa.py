"""MedMCQA builders (Indian medical entrance exam questions). Source: :mod:`medeval.sources.hf_datasets`.

* ``medmcqa.option_pairs`` (MedMCQAPairClassification): every sampled question paired with each of its four
  options, label 1 for the correct one (``cop``), so positives : negatives = 1 : 3 (the wrong options are the
  negatives; no hard-negative mining). ``max_rows`` counts pairs, so ``max_rows // 4`` questions are drawn.
  Only questions with a known answer, four non-empty and distinct options are used. Works with both the
  original HF layout and the converted MedAgentsBench layout.
* ``medmcqa.explanation_retrieval`` (MedMCQAExplanationRetrieval): question -> its explanation (``exp``); the
  corpus is the explanations of all sampled questions. Needs the original layout: the converted layout has no
  ``exp`` and the build stops with an error saying so.

The option-pair logic is shared with :mod:`medeval.builders.medqa` (:func:`option_pairs_task`). Questions whose
text repeats an earlier one are skipped (first in source order wins), as are explanations that repeat.
Optional params: ``revision`` (Hub commit; default: ``main`` resolved and recorded), ``cop_base`` (0/1, only for
original-release JSON whose ``cop`` numbering cannot be detected), ``splits`` (default: all).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.sampling import first_per_key, rng, sample
from medeval.builders.tables import retrieval_tables
from medeval.errors import SourceError, SpecError
from medeval.manifest import restrict
from medeval.sources.hf_datasets import Question, load_medmcqa
from medeval.spec import TaskSpec



class ExplanationParams(BuilderParams):
    """``construction.params`` of ``medmcqa.explanation_retrieval``."""

    revision: str | None = Field(default=None, description="Hub commit of the dataset (default: main, resolved and recorded)")
    cop_base: Literal[0, 1] | None = Field(default=None, description="numbering of 'cop' in original-release JSON")
    splits: list[str] | None = Field(default=None, description="dataset splits used (default: all)")


class OptionPairParams(ExplanationParams):
    """``construction.params`` of the option-pair builders (MedMCQA, MedQA)."""

    options: list[str] | None = Field(default=None, description="the option fields / letters (default: A-D)")
    ratio: str | None = Field(default=None, description="positives : negatives, '1:<options - 1>'")
    require_known_answer: Literal[True] = True


def _splits(spec: TaskSpec, questions: list[Question]) -> list[Question]:
    assert spec.construction is not None
    wanted = spec.construction.params.get("splits")
    if wanted is None:
        return questions
    if not isinstance(wanted, list):
        raise SpecError(f"task {spec.name}: field 'construction.params.splits' must be a list such as [train, validation]")
    return [q for q in questions if q.split in wanted]


def option_pairs_task(spec: TaskSpec, ctx: BuildContext, questions: list[Question], origin: dict[str, Any], source: str) -> BuiltTask:
    """Option pairs of multiple-choice questions (shared by MedMCQA and MedQA): (question, each option), label 1 for
    the correct option, so positives : negatives = 1 : options - 1. Only questions with a known answer and distinct
    non-empty options count; a repeated question text is kept once; at most ``max_rows`` pairs.

    Args:
        spec: the task (``params.options``, ``ratio``, ``splits``, ``max_rows``, ``seed``).
        ctx: ``ctx.record_ids`` for a rebuild.
        questions: the loaded questions (:func:`~medeval.sources.hf_datasets.load_medmcqa` / ``load_medqa``).
        origin: the loader's origin block.
        source: the dataset's name for messages and seeds, ``"MedMCQA"`` or ``"MedQA"``.

    Returns:
        ``data/test`` (shuffled) and the manifest's ``source`` (origin, counts, question records).

    Raises:
        SpecError: a ratio other than 1:(options - 1), or ``require_known_answer: false``.
        SourceError: no usable question.
    """
    c = spec.construction
    assert c is not None
    names = c.params.get("options") or ["A", "B", "C", "D"]
    n_opt = len(names)
    ratio = str(c.params.get("ratio", f"1:{n_opt - 1}")).replace(" ", "")
    if ratio != f"1:{n_opt - 1}":
        raise SpecError(f"task {spec.name}: field 'construction.params.ratio': with {n_opt} options the ratio is '1:{n_opt - 1}', not {ratio!r}")
    if c.params.get("require_known_answer") is False:
        raise SpecError(f"task {spec.name}: field 'construction.params.require_known_answer': a pair task needs the answer key; it must be true")
    questions = restrict(questions, ctx, lambda q: q.id, what=f"{source} records")
    usable = [
        q for q in _splits(spec, questions)
        if q.answer is not None and q.question and len(q.options) == n_opt and all(q.options)
        and len({o.casefold() for o in q.options}) == n_opt
    ]
    usable = first_per_key(usable, lambda q: q.question)
    if not usable:
        raise SourceError(f"task {spec.name}: no {source} question has a known answer and {n_opt} distinct options")
    chosen = sample(usable, c.max_rows // n_opt, c.seed, source, "option_pairs")
    rows = [
        {"sentence1": q.question, "sentence2": opt, "labels": int(k == q.answer)}
        for q in chosen for k, opt in enumerate(q.options)
    ]
    rng(c.seed, "order", "pairs").shuffle(rows)
    records = [{"id": q.id, "sha": q.fingerprint()} for q in chosen]
    info = {"questions": len(chosen), "positives": len(chosen), "negatives": len(rows) - len(chosen)}
    return BuiltTask({"data/test": rows}, sources={**origin, "pairs": info, "records": records})


def _load(spec: TaskSpec, ctx: BuildContext) -> tuple[list[Question], dict[str, Any]]:
    assert spec.construction is not None
    p = spec.construction.params
    return load_medmcqa(ctx, revision=p.get("revision"), cop_base=p.get("cop_base"))


@builder("medmcqa.option_pairs", params=OptionPairParams, needs={"network"})
def option_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``medmcqa.option_pairs``: MedMCQA questions paired with each of their four options (:func:`option_pairs_task`).

    Args:
        spec: the task; ``params`` is :class:`OptionPairParams` (Hub ``revision``, ``cop_base``, ``splits``).
        ctx: ``--source-dir DIR/medmcqa`` or the Hub; ``record_ids`` for a rebuild.

    Returns:
        The pair table and the manifest's ``source``.
    """
    questions, origin = _load(spec, ctx)
    return option_pairs_task(spec, ctx, questions, origin, "MedMCQA")


@builder("medmcqa.explanation_retrieval", params=ExplanationParams, needs={"network"})
def explanation_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``medmcqa.explanation_retrieval``: a question is the query, its explanation (``exp``) the relevant document;
    repeated questions and explanations are kept once; at most ``max_rows`` questions.

    Args:
        spec: the task; ``params`` is :class:`ExplanationParams`.
        ctx: ``--source-dir DIR/medmcqa`` (original layout: the converted one has no ``exp``) or the Hub.

    Returns:
        The retrieval tables and the manifest's ``source``.

    Raises:
        SourceError: no question with an explanation (the message says when the folder holds only the converted
            layout).
    """
    c = spec.construction
    assert c is not None
    questions, origin = _load(spec, ctx)
    questions = restrict(questions, ctx, lambda q: q.id, what="MedMCQA records")
    questions = _splits(spec, questions)
    usable = [q for q in questions if q.question and q.explanation]
    if not usable:
        layouts = sorted({q.layout for q in questions})
        where = f"--source-dir {ctx.source_dir}/medmcqa" if ctx.source_dir else origin.get("origin", "the source")
        if layouts == ["converted"]:
            raise SourceError(
                f"task {spec.name}: needs MedMCQA's 'exp' (explanation) field, but {where} holds only the converted "
                "MedAgentsBench layout (question, options, answer_idx: no 'exp'); add the original rows "
                "(openlifescienceai/medmcqa: question, opa..opd, cop, exp) or build without --source-dir"
            )
        raise SourceError(f"task {spec.name}: no MedMCQA question in {where} has an explanation ('exp')")
    usable = first_per_key(first_per_key(usable, lambda q: q.question), lambda q: q.explanation)
    chosen = sample(usable, c.max_rows, c.seed, "MedMCQA", "explanation_retrieval")
    tables = retrieval_tables(spec, [(q.id, q.explanation or "") for q in chosen], {q.id: q.question for q in chosen})
    records = [{"id": q.id, "sha": q.fingerprint(with_explanation=True)} for q in chosen]
    return BuiltTask(tables, sources={**origin, "records": records})
