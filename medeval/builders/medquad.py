"""MedQuAD builder: ``medquad.paraphrase_retrieval`` (MedQuADRetrieval). Source: :mod:`medeval.sources.medquad`.

Query = a MedQuAD consumer-health question; its one relevant document = its answer *paraphrased by an LLM* so
that it avoids the question's keywords (prompt and temperature in ``construction.llm``; see :mod:`medeval.llm`).
The corpus is the paraphrased answers of all sampled questions.

Pairs come from the collections in ``construction.params.collections`` (default 1-9: the others have no
answers). A pair is skipped when its question or answer is empty, or when its question text repeats an earlier
pair's (MedQuAD repeats e.g. "What is (are) X ?" with different answer parts; keeping one keeps a single right
answer per query) or its answer repeats. At most ``max_rows`` questions are drawn (seeded); the LLM step runs on
those only and is cached, so a rebuild asks the endpoint nothing. Without ``--llm-base-url``/``--llm-model`` the
task is skipped by ``medeval build`` (it needs an LLM); a rebuild from a manifest reads the LLM cache.
The manifest lists each pair's id (``<collection folder>/<file>#<qid>``) and a hash of question + answer.
"""

from __future__ import annotations

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.sampling import first_per_key, sample
from medeval.builders.tables import retrieval_tables
from medeval.errors import SourceError
from medeval.llm import run_llm_step
from medeval.manifest import restrict
from medeval.sources.medquad import load_pairs, parse_collections
from medeval.spec import TaskSpec



class MedQuADParams(BuilderParams):
    """``construction.params`` of ``medquad.paraphrase_retrieval``."""

    collections: str | list[int | str] | None = Field(default=None, description="collections used (default: 1-9, those with answers)")
    commit: str | None = Field(default=None, description="git commit of the MedQuAD repository")


@builder("medquad.paraphrase_retrieval", params=MedQuADParams, needs={"network", "llm"})
def paraphrase_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``medquad.paraphrase_retrieval``: the LLM paraphrases each sampled answer; the question is the query and the
    paraphrase its relevant document. Pairs without a question or answer, and repeated questions or answers, are
    left out.

    Args:
        spec: the task; ``params`` is :class:`MedQuADParams` (collections, commit); ``construction.llm`` the prompt.
        ctx: ``--source-dir DIR/medquad`` or the pinned GitHub commit; the LLM endpoint (answers cached).

    Returns:
        The retrieval tables and the manifest's ``source`` (records, the LLM step).

    Raises:
        SourceError: fewer than two usable pairs.
    """
    c = spec.construction
    assert c is not None
    pairs, origin = load_pairs(ctx, collections=parse_collections(c.params.get("collections")), commit=c.params.get("commit"))
    pairs = restrict(pairs, ctx, lambda p: p.id, what="MedQuAD pairs")
    usable = first_per_key(first_per_key([p for p in pairs if p.question and p.answer], lambda p: p.question), lambda p: p.answer)
    if len(usable) < 2:
        raise SourceError(f"task {spec.name}: only {len(usable)} MedQuAD pairs have a question and an answer; a task needs at least 2")
    chosen = sample(usable, c.max_rows, c.seed, "MedQuAD", "paraphrase_retrieval")
    llm = run_llm_step(spec, ctx, [(p.id, {"question": p.question, "answer": p.answer}) for p in chosen])
    docs = [(p.id, " ".join(llm.texts[p.id].split())) for p in chosen]
    tables = retrieval_tables(spec, docs, {p.id: p.question for p in chosen})
    records = [{"id": p.id, "sha": p.fingerprint(), **({"version": origin["commit"]} if "commit" in origin else {})} for p in chosen]
    return BuiltTask(tables, sources={**origin, "records": records, "llm": llm.manifest})
