"""PubMed Central builders: open-access articles labelled by the search term that retrieved them.

``pmc.search_classification`` / ``pmc.search_clustering``
    For each label, each of its search terms (``construction.labels``) is run through esearch (db=pmc, open-access
    subset) for at most ``params.max_articles_per_term`` ids; articles retrieved by terms of several labels are
    dropped; the records are fetched with efetch (JATS XML) and the text is ``title + "\\n" + first abstract
    paragraph`` (articles without an abstract are dropped, as are texts shared by several labels); rows are capped
    at ``max_rows`` keeping label proportions and (classification) split 70/30 stratified by label.

The manifest lists every article used (``source.records``): PMCID (with version when the XML has one), a
fingerprint of its text, PMID, DOI, licence, label. ``--from-manifest`` rebuilds use only those articles.

    $ medeval build -t PMCImagingModalityClassification                   # E-utilities (NCBI_API_KEY, NCBI_EMAIL)
    $ medeval build -t PMCImagingModalityClassification --source-dir DIR  # DIR/pmc/ (see medeval.sources.eutils)
"""

from __future__ import annotations

from typing import Any

from medeval.build import BuildContext, BuiltTask, builder
from medeval.builders.shapes import Item, drop_multi_label, labelled_tables
from medeval.errors import SpecError
from medeval.manifest import record, restrict
from medeval.sources.eutils import EutilsClient, PmcArticle
from medeval.spec import TaskSpec


def article_text(a: PmcArticle) -> str:
    """``title + "\\n" + first abstract paragraph`` ("" when the article has no abstract)."""
    if not a.abstract_first_paragraph:
        return ""
    return f"{a.title}\n{a.abstract_first_paragraph}" if a.title else a.abstract_first_paragraph


def _search_task(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    c = spec.construction
    assert c is not None
    if not c.labels:
        raise SpecError(f"task {spec.name}: field 'construction.labels' must map each label to its PMC search terms")
    per_term = int(c.params.get("max_articles_per_term", c.max_rows))
    pmc = EutilsClient.from_context(ctx, "pmc")
    members: dict[str, list[str]] = {}
    found: dict[str, int] = {}
    for label, terms in c.labels.items():
        ids: dict[str, None] = {}
        for term in terms:
            for i in pmc.search(term, per_term):
                ids.setdefault(i, None)
        members[label] = list(ids)
        found[label] = len(ids)
    every = list(dict.fromkeys(i for ids in members.values() for i in ids))
    kept = set(restrict(every, ctx, str, what=f"PMC searches ({pmc.where})"))
    members = {label: [i for i in ids if i in kept] for label, ids in members.items()}
    members, dropped = drop_multi_label(members)
    records = pmc.fetch([i for ids in members.values() for i in ids])
    items = []
    for label, ids in members.items():
        for i in ids:
            a = records.get(i)
            text = article_text(a) if a is not None else ""
            if text:
                items.append(Item(f"{int(i.removeprefix('PMC')):012d}", text, label))
    tables, used = labelled_tables(spec, items)
    by_key = {f"{int(k.removeprefix('PMC')):012d}": v for k, v in records.items()}
    return BuiltTask(
        tables=tables,
        sources={
            "origin": pmc.where,
            "database": "pmc",
            "queries": {label: [pmc.query_for(t) for t in terms] for label, terms in c.labels.items()},
            "articles_found_per_label": found,
            "articles_in_several_labels_dropped": len(dropped),
            "records": [article_record(by_key[it.id], it.label) for it in used],
        },
    )


def article_record(a: PmcArticle, label: str) -> dict[str, Any]:
    """Manifest entry: PMCID (version when known), fingerprint of the text used, PMID, DOI, licence, label."""
    return {**record(a.pmcid, version=a.version, content=article_text(a)), "pmid": a.pmid, "doi": a.doi, "license": a.license, "label": label}


@builder("pmc.search_classification")
def search_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """PMC articles labelled by search term; 70/30 train/test."""
    return _search_task(spec, ctx)


@builder("pmc.search_clustering")
def search_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """PMC articles clustered by search term; one test set."""
    return _search_task(spec, ctx)
