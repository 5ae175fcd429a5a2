"""PubMed Central builders: open-access articles labelled by the search term that retrieved them.

``pmc.search_classification`` / ``pmc.search_clustering``
    For each label, each of its search terms (``construction.labels``) is run through esearch (db=pmc, open-access
    subset) for at most ``params.max_articles_per_term`` ids; the records are fetched with efetch (JATS XML). As
    in the paper, the text is ``"title: <title> abstract: <first abstract paragraph>"`` with every character
    other than ASCII letters, digits, whitespace and ``:`` removed, whitespace collapsed and lower-cased
    (:func:`article_text`), and an article retrieved by terms of several labels is kept under each of them.
    Articles without an abstract are dropped; structured abstracts are kept (their first paragraph). Rows are
    capped at ``max_rows`` (16,384 in the paper) keeping label proportions and (classification) split 70/30
    stratified by label.

The manifest lists every article used (``source.records``): PMCID (with version when the XML has one), a
fingerprint of its text, PMID, DOI, licence, label. ``--from-manifest`` rebuilds use only those articles.

    $ medeval build -t PMCImagingModalityClassification                   # E-utilities (NCBI_API_KEY, NCBI_EMAIL)
    $ medeval build -t PMCImagingModalityClassification --source-dir DIR  # DIR/pmc/ (see medeval.sources.eutils)
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.tables import Item, labelled_tables
from medeval.errors import SpecError
from medeval.manifest import record, restrict
from medeval.sources.eutils import EutilsClient
from medeval.sources.ncbi_xml import PmcArticle
from medeval.spec import TaskSpec


_NOT_KEPT = re.compile(r"[^a-zA-Z0-9\s:]")



class SearchParams(BuilderParams):
    """``construction.params`` of the PMC search builders."""

    max_articles_per_term: int | None = Field(default=None, gt=0, description="esearch ids per search term (default: max_rows)")


def clean_text(text: str) -> str:
    """The paper's PMC text cleaning: drop every character but ASCII letters, digits, whitespace and ``:``, collapse
    whitespace, lower-case.

    Args:
        text: the text.

    Returns:
        The cleaned text.

    Example::

        >>> clean_text("title: MRI-guided  Biopsy (n=12) abstract: Résumé")
        'title: mriguided biopsy n12 abstract: rsum'
    """
    return " ".join(_NOT_KEPT.sub("", text).split()).lower()


def article_text(a: PmcArticle) -> str:
    """A PMC article's row text as the paper builds it.

    Args:
        a: the article.

    Returns:
        ``clean_text("title: <title> abstract: <first abstract paragraph>")``; "" when it has no abstract.
    """
    if not a.abstract_first_paragraph:
        return ""
    return clean_text(f"title: {a.title or ''} abstract: {a.abstract_first_paragraph}")


@builder("pmc.search_classification", params=SearchParams, needs={"network"})
@builder("pmc.search_clustering", params=SearchParams, needs={"network"})
def search_task(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """PMC articles labelled by the search term that retrieved them: ``pmc.search_classification`` (70/30
    train/test) and ``pmc.search_clustering`` (one test set); the task's type picks the tables.

    Args:
        spec: the task; ``construction.labels`` maps each label to its search terms, ``params`` is
            :class:`SearchParams`.
        ctx: where records come from (``--source-dir DIR/pmc`` or E-utilities) and ``record_ids`` for a rebuild.

    Returns:
        The tables and the manifest's ``source`` block (queries, counts, every article used).

    Raises:
        SpecError: no labels.
        SourceError: a search term without its esearch answer in ``--source-dir``, or an unreadable record.
    """
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
    owners: dict[str, int] = {}
    for ids in members.values():
        for i in ids:
            owners[i] = owners.get(i, 0) + 1
    records = pmc.fetch(list(dict.fromkeys(i for ids in members.values() for i in ids)))
    items = []
    for n, (label, ids) in enumerate(members.items()):
        for i in ids:
            a = records.get(i)
            text = article_text(a) if a is not None else ""
            if text:
                items.append(Item(f"{int(i.removeprefix('PMC')):012d}-{n:02d}", text, label))
    tables, used = labelled_tables(spec, items, keep_multi_label=True)
    by_key = {f"{int(k.removeprefix('PMC')):012d}": v for k, v in records.items()}
    return BuiltTask(
        tables=tables,
        sources={
            "origin": pmc.where,
            "database": "pmc",
            "queries": {label: [pmc.query_for(t) for t in terms] for label, terms in c.labels.items()},
            "articles_found_per_label": found,
            "articles_in_several_labels_kept": sum(1 for k in owners.values() if k > 1),
            "records": [article_record(by_key[it.id.split("-")[0]], it.label) for it in used],
        },
    )


def article_record(a: PmcArticle, label: str) -> dict[str, Any]:
    """The build manifest's entry of an article (never its text).

    Args:
        a: the article.
        label: the label it was used under.

    Returns:
        PMCID (with version when known), a fingerprint of the text used, PMID, DOI, licence and label.
    """
    return {**record(a.pmcid, version=a.version, content=article_text(a)), "pmid": a.pmid, "doi": a.doi, "license": a.license, "label": label}
