"""bioRxiv / medRxiv builder: an LLM-written question per preprint -> the preprint's abstract.

``biorxiv.llm_question_retrieval`` (``params.server``: ``biorxiv`` or ``medrxiv``; ``params.from`` / ``params.to``)
    Lists every preprint version the server posted in the date range (api.biorxiv.org ``details``), keeps only
    Creative-Commons-licensed ones (``cc_by``, ``cc_by_nc``, ``cc_by_nd``, ``cc_by_nc_nd``, ``cc0``, ...; never
    ``cc_no``), not withdrawn, with title and abstract; one record per DOI (its highest version in the range);
    abstracts cleaned of the API's markup-flattening tokens and de-duplicated; at most ``max_rows`` preprints drawn
    (seeded, from the DOI-sorted list). An LLM writes one question per preprint; the corpus is the abstracts of
    all preprints in the task, and the abstract the question was written from is the relevant document.

The manifest lists every preprint used (``source.records``): DOI, version, a fingerprint of title + abstract,
licence, date. ``--from-manifest`` rebuilds use only those DOIs.

    $ medeval build -t MedrxivQuestionRetrieval --llm-base-url URL --llm-model MODEL
    $ medeval build -t MedrxivQuestionRetrieval --source-dir DIR ...    # DIR/biorxiv_medrxiv/ (medeval.sources.biorxiv)
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.sampling import sample
from medeval.builders.tables import llm_question_tables
from medeval.errors import SourceError, SpecError
from medeval.manifest import record, restrict
from medeval.sources.biorxiv import (
    SERVERS,
    BiorxivClient,
    clean_abstract,
    is_cc_licensed,
    latest_versions,
)
from medeval.spec import TaskSpec



class PreprintParams(BuilderParams):
    """``construction.params`` of ``biorxiv.llm_question_retrieval``."""

    server: Literal["biorxiv", "medrxiv"]
    from_: str | None = Field(default=None, alias="from", description="first posting date, YYYY-MM-DD (default: the task's date)")
    to: str | None = Field(default=None, description="last posting date, YYYY-MM-DD (default: the task's date)")


def _doi(r: dict) -> str:
    return str(r.get("doi", "")).strip().lower()


@builder("biorxiv.llm_question_retrieval", params=PreprintParams, needs={"network", "llm"})
def llm_question_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``biorxiv.llm_question_retrieval``: an LLM writes a question per preprint (the query); the preprint's abstract
    is relevant, and the corpus is the abstracts of all preprints in the task. Preprints: CC-licensed, not
    withdrawn, posted between ``params.from`` and ``params.to``, latest version per DOI, distinct abstracts, at most
    ``max_rows`` drawn (seeded).

    Args:
        spec: the task; ``params`` is :class:`PreprintParams` (server, date range); ``construction.llm`` the prompt.
        ctx: ``--source-dir DIR/biorxiv_medrxiv`` or api.biorxiv.org; the LLM endpoint; ``record_ids`` for a rebuild.

    Returns:
        The retrieval tables and the manifest's ``source`` (listing counts, every preprint used, the LLM step).

    Raises:
        SpecError: a server other than biorxiv or medrxiv.
        SourceError: no usable preprint in the range.
    """
    c = spec.construction
    assert c is not None
    server = str(c.params.get("server", "")).lower()
    if server not in SERVERS:
        raise SpecError(f"task {spec.name}: field 'construction.params.server' must be one of {', '.join(SERVERS)}, not {server!r}")
    start, end = str(c.params.get("from", spec.date[0])), str(c.params.get("to", spec.date[1]))
    client = BiorxivClient.from_context(ctx)
    listed = client.details(server, start, end)
    eligible = [r for r in listed if is_cc_licensed(r) and str(r.get("type", "")).lower() != "withdrawn"]
    latest = latest_versions(eligible)
    kept = set(restrict([_doi(r) for r in latest], ctx, str, what=f"{server} listing {start}..{end} ({client.where})"))
    latest = [r for r in latest if _doi(r) in kept]
    seen: set[str] = set()
    docs = []
    for r in latest:
        title, abstract = " ".join(str(r.get("title", "")).split()), clean_abstract(str(r.get("abstract", "")))
        if title and abstract and abstract not in seen:
            seen.add(abstract)
            docs.append((r, title, abstract))
    if not docs:
        raise SourceError(
            f"task {spec.name}: no CC-licensed {server} preprint with an abstract between {start} and {end} "
            f"({client.where}; {len(listed)} versions listed)"
        )
    docs = sample(docs, c.max_rows, c.seed, "biorxiv", server)
    ids = [_doi(r) for r, _, _ in docs]
    tables, used, llm = llm_question_tables(spec, ctx, [(i, t, a) for i, (_, t, a) in zip(ids, docs, strict=True)])
    return BuiltTask(
        tables=tables,
        sources={
            "origin": client.where,
            "server": server,
            "from": start,
            "to": end,
            "versions_listed": len(listed),
            "cc_licensed_versions": len(eligible),
            "records": [
                {**record(i, version=str(r.get("version")), content=[t, a]), "license": r.get("license"), "date": r.get("date")}
                for i, (r, t, a) in zip(ids, docs, strict=True)
                if i in used
            ],
            "llm": llm,
        },
    )
