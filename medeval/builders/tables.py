"""Turn source records into task tables, the same way for every source: labelled texts into Classification /
Clustering tables, LLM-written sentence pairs into PairClassification tables with hard negatives, LLM-written
questions into Retrieval tables. Used by the Wikipedia, PubMed, PMC and bioRxiv/medRxiv builders.

    >>> from medeval.builders.tables import Item, labelled_tables
    >>> tables = labelled_tables(spec, [Item("123", "text ...", "Cardiology"), ...])
    >>> tables["data/test"][0]
    {'text': '...', 'label': 'Cardiology'}
    >>> tables, pairs, used, llm = llm_pair_tables(spec, ctx, [("123", "title", "abstract"), ...])
    >>> tables, used, llm = llm_question_tables(spec, ctx, [("123", "title", "abstract"), ...])
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medeval.builders.sampling import rng, split_rows, stratified_cap
from medeval.errors import SpecError
from medeval.spec import TaskSpec

if TYPE_CHECKING:
    from medeval.build import BuildContext

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Item:
    """One record's text and label; ``id`` orders records (so results never depend on listing order)."""

    id: str
    text: str
    label: str


def drop_multi_label(members: Mapping[str, Sequence[str]]) -> tuple[dict[str, list[str]], set[str]]:
    """``{label: ids}`` -> the same without ids that occur under several labels, and the set of dropped ids."""
    owners: dict[str, set[str]] = {}
    for label, ids in members.items():
        for i in ids:
            owners.setdefault(i, set()).add(label)
    dropped = {i for i, labels in owners.items() if len(labels) > 1}
    kept = {label: list(dict.fromkeys(i for i in ids if i not in dropped)) for label, ids in members.items()}
    return kept, dropped


def dedupe_texts(items: Sequence[Item], *, keep_multi_label: bool = False) -> list[Item]:
    """Keep one item per distinct text (lowest id first); a text found under different labels is dropped altogether,
    or, with ``keep_multi_label``, kept once under each of its labels (the paper's PMC rule)."""
    labels: dict[str, set[str]] = {}
    for it in items:
        labels.setdefault(it.text, set()).add(it.label)
    seen: set[tuple[str, str]] = set()
    out = []
    for it in sorted(items, key=lambda x: x.id):
        key = (it.text, it.label if keep_multi_label else "")
        if (keep_multi_label or len(labels[it.text]) == 1) and key not in seen:
            seen.add(key)
            out.append(it)
    return out


def capped_items(spec: TaskSpec, items: Sequence[Item], *, keep_multi_label: bool = False) -> list[Item]:
    """De-duplicated (:func:`dedupe_texts`), then capped at ``max_rows`` keeping label proportions (seeded)."""
    assert spec.construction is not None
    unique = dedupe_texts(items, keep_multi_label=keep_multi_label)
    by_id = {it.id: it for it in unique}
    rows = [{"id": it.id, "label": it.label} for it in unique]
    kept = stratified_cap(rows, "label", spec.construction.max_rows, spec.construction.seed)
    return sorted((by_id[r["id"]] for r in kept), key=lambda it: it.id)


def labelled_tables(spec: TaskSpec, items: Sequence[Item], *, keep_multi_label: bool = False) -> tuple[dict[str, Rows], list[Item]]:
    """Classification: ``data/<split>`` (text, label) split by the YAML's fractions, stratified by label;
    Clustering: one ``data/test`` table (sentences, labels). Items are de-duplicated and capped first
    (``keep_multi_label``: see :func:`dedupe_texts`; item ids must then be unique per record and label).

    Returns the tables and the items they hold (sorted by id), for the manifest."""
    c = spec.construction
    assert c is not None
    chosen = capped_items(spec, items, keep_multi_label=keep_multi_label)
    if spec.type == "Classification":
        if not c.split:
            raise SpecError(f"task {spec.name}: field 'construction.split': a Classification task needs split fractions, e.g. {{train: 0.7, test: 0.3}}")
        rows = [{"text": it.text, "label": it.label} for it in chosen]
        parts = split_rows(rows, dict(c.split), c.seed, label_key="label")
        return {f"data/{name}": part for name, part in parts.items()}, chosen
    if spec.type == "Clustering":
        rows = [{"sentences": it.text, "labels": it.label} for it in chosen]
        rng(c.seed, "order", "test").shuffle(rows)
        return {"data/test": rows}, chosen
    raise SpecError(f"task {spec.name}: a labelled-text builder makes Classification or Clustering tasks, not {spec.type}")


# ------------------------------------------------------------------------------------------------ LLM-written text
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_sentence_pair(answer: str) -> tuple[str, str] | None:
    """``{"sentence1": ..., "sentence2": ...}`` from an LLM answer (code fences and chatter around it allowed)."""
    m = _JSON_OBJECT.search(answer or "")
    if not m:
        return None
    try:
        obj = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    s1, s2 = obj.get("sentence1"), obj.get("sentence2")
    if not isinstance(s1, str) or not isinstance(s2, str):
        return None
    s1, s2 = " ".join(s1.split()), " ".join(s2.split())
    if not s1 or not s2 or s1 == s2:
        return None
    return s1, s2


def clean_question(answer: str) -> str:
    """The LLM's question on one line, without wrapping quotes or a 'Question:' prefix."""
    text = " ".join((answer or "").split())
    text = re.sub(r"^(?:\*\*)?question(?:\*\*)?\s*:\s*", "", text, flags=re.IGNORECASE)
    return text.strip().strip('"“”').strip()


def pair_tables(
    spec: TaskSpec, positives: Sequence[tuple[str, str, str]], *, show_progress: bool = False
) -> tuple[dict[str, Rows], dict[str, Any], list[str]]:
    """PairClassification ``data/test`` from positive pairs ``(record id, sentence1, sentence2)``.

    Returns the tables, counts for the manifest and the ids of the records used (sorted).

    Each positive (a, b) gets one negative (a, b') with b' drawn (seeded) from the k second sentences of other
    records most similar to b under all-MiniLM-L6-v2 (``construction.hard_negatives``), so positives :
    negatives = 1 : 1. A positive without a candidate is dropped with its negative.
    """
    c = spec.construction
    assert c is not None
    hn = c.hard_negatives
    if hn is None:
        raise SpecError(f"task {spec.name}: field 'construction.hard_negatives' is required (model and k)")
    from medeval.builders.negatives import MINILM, hard_negative_indices, minilm_embed

    if hn.model != MINILM:
        raise SpecError(f"task {spec.name}: field 'construction.hard_negatives.model': only {MINILM} is supported, not {hn.model!r}")
    ratio = str(c.params.get("ratio", "1:1")).replace(" ", "")
    if ratio != "1:1":
        raise SpecError(f"task {spec.name}: field 'construction.params.ratio': only '1:1' is supported, not {ratio!r}")
    pos = sorted(positives, key=lambda p: p[0])
    if len(pos) < 2:
        return {"data/test": []}, {"positives": 0, "negatives": 0, "k": hn.k}, []
    second = [b for _, _, b in pos]
    emb = minilm_embed(second, show_progress=show_progress)
    idx = hard_negative_indices(emb, hn.k, c.seed, allowed=lambda i, j: second[j] != second[i])
    rows: Rows = []
    used: list[str] = []
    for (rid, a, b), j in zip(pos, idx, strict=True):
        if j is None:
            continue
        used.append(rid)
        rows.append({"sentence1": a, "sentence2": b, "labels": 1})
        rows.append({"sentence1": a, "sentence2": second[j], "labels": 0})
    rng(c.seed, "order", "pairs").shuffle(rows)
    info = {"positives": len(used), "negatives": len(used), "k": hn.k, "model": hn.model}
    return {"data/test": rows}, info, used


def retrieval_tables(spec: TaskSpec, docs: Sequence[tuple[str, str]], questions: Mapping[str, str]) -> dict[str, Rows]:
    """Retrieval ``corpus/test``, ``queries/test``, ``qrels/test``: query ``q:<id>`` -> its one document ``<id>``.

    ``docs`` are ``(id, text)`` in the order the tables keep; only documents with a question are kept, so the
    corpus is every document of the task.
    """
    corpus, queries, qrels = [], [], []
    for doc_id, text in docs:
        q = questions.get(doc_id)
        if not q:
            continue
        corpus.append({"id": doc_id, "text": text})
        queries.append({"id": f"q:{doc_id}", "text": q})
        qrels.append({"query-id": f"q:{doc_id}", "corpus-id": doc_id, "score": 1})
    return {"corpus/test": corpus, "queries/test": queries, "qrels/test": qrels}


# ------------------------------------------------------------------------------------------------ LLM step -> tables
def _prompt_fields(doc: Sequence[Any]) -> dict[str, Any]:
    """``{title}``, ``{text}`` and any extra prompt fields of a ``(record id, title, text[, extra])`` document."""
    extra = dict(doc[3]) if len(doc) > 3 else {}
    return {"title": doc[1], "text": doc[2], **extra}


def llm_pair_tables(
    spec: TaskSpec, ctx: BuildContext, docs: Sequence[tuple[Any, ...]], *, key: Callable[[str], str] = str
) -> tuple[dict[str, Rows], dict[str, Any], list[str], dict[str, Any]]:
    """The LLM writes two related sentences from each ``(record id, title, text[, extra prompt fields])``; they
    become the positives of :func:`pair_tables` under ``key(record id)`` (the order hard negatives are drawn in).

    Returns the tables, the pair counts, the keys of the records used and the manifest's ``llm`` block.
    """
    from medeval.llm import run_llm_step

    result = run_llm_step(spec, ctx, [(d[0], _prompt_fields(d)) for d in docs])
    positives, unparsed = [], 0
    for i, *_ in docs:
        pair = parse_sentence_pair(result.texts.get(i, ""))
        if pair is None:
            unparsed += 1
        else:
            positives.append((key(i), *pair))
    tables, info, used = pair_tables(spec, positives, show_progress=ctx.show_progress)
    return tables, info, used, {**result.manifest, "answers_not_parsed": unparsed}


def llm_question_tables(
    spec: TaskSpec, ctx: BuildContext, docs: Sequence[tuple[Any, ...]]
) -> tuple[dict[str, Rows], set[str], dict[str, Any]]:
    """The LLM writes a question for each ``(record id, title, text[, extra prompt fields])``; :func:`retrieval_tables`
    pairs it with the text. Returns the tables, the ids of the documents kept and the manifest's ``llm`` block."""
    from medeval.llm import run_llm_step

    result = run_llm_step(spec, ctx, [(d[0], _prompt_fields(d)) for d in docs])
    questions = {d[0]: clean_question(result.texts.get(d[0], "")) for d in docs}
    tables = retrieval_tables(spec, [(d[0], d[2]) for d in docs], questions)
    used = {r["id"] for r in tables["corpus/test"]}
    return tables, used, {**result.manifest, "empty_questions": sum(1 for q in questions.values() if not q)}
