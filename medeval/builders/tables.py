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
    """Record ids found under several labels, removed from every label.

    Args:
        members: label -> record ids (as found, any order).

    Returns:
        ``(kept, dropped)``: label -> its ids without those (first occurrence order, no repeats), and the dropped
        ids.

    Example::

        >>> drop_multi_label({"a": ["1", "2"], "b": ["2", "3"]})
        ({'a': ['1'], 'b': ['3']}, {'2'})
    """
    owners: dict[str, set[str]] = {}
    for label, ids in members.items():
        for i in ids:
            owners.setdefault(i, set()).add(label)
    dropped = {i for i, labels in owners.items() if len(labels) > 1}
    kept = {label: list(dict.fromkeys(i for i in ids if i not in dropped)) for label, ids in members.items()}
    return kept, dropped


def dedupe_texts(items: Sequence[Item], *, keep_multi_label: bool = False) -> list[Item]:
    """One item per distinct text (lowest id first). A text found under different labels is dropped altogether, or,
    with ``keep_multi_label``, kept once under each of its labels (the paper's PMC rule).

    Args:
        items: the labelled texts.
        keep_multi_label: keep a text under each of its labels.

    Returns:
        The kept items, sorted by id.
    """
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
    """Items de-duplicated (:func:`dedupe_texts`), then capped at ``construction.max_rows`` keeping label proportions.

    Args:
        spec: the task (its ``construction.max_rows`` and ``seed``).
        items: the labelled texts.
        keep_multi_label: as :func:`dedupe_texts`.

    Returns:
        The kept items, sorted by id.
    """
    assert spec.construction is not None
    unique = dedupe_texts(items, keep_multi_label=keep_multi_label)
    by_id = {it.id: it for it in unique}
    rows = [{"id": it.id, "label": it.label} for it in unique]
    kept = stratified_cap(rows, "label", spec.construction.max_rows, spec.construction.seed)
    return sorted((by_id[r["id"]] for r in kept), key=lambda it: it.id)


def labelled_tables(spec: TaskSpec, items: Sequence[Item], *, keep_multi_label: bool = False) -> tuple[dict[str, Rows], list[Item]]:
    """Classification or Clustering tables from labelled texts, de-duplicated and capped first (:func:`capped_items`).

    Classification: ``data/<split>`` (``text``, ``label``) split by the YAML's fractions, stratified by label.
    Clustering: one ``data/test`` table (``sentences``, ``labels``), shuffled (seeded).

    Args:
        spec: the task (type, ``construction.split``, ``max_rows``, ``seed``).
        items: the labelled texts; with ``keep_multi_label`` ids must be unique per record and label.
        keep_multi_label: as :func:`dedupe_texts`.

    Returns:
        ``(tables, items)``: the tables and the items they hold (sorted by id), for the manifest.

    Raises:
        SpecError: a Classification task without split fractions, or another task type.
    """
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
    """The two sentences of an LLM answer: a JSON object ``{"sentence1": ..., "sentence2": ...}``, with code fences
    or chatter around it allowed.

    Args:
        answer: the LLM's text.

    Returns:
        ``(sentence1, sentence2)`` whitespace-normalised, or None when there is no such object, a sentence is empty,
        or both are the same.

    Example::

        >>> parse_sentence_pair('Sure! ```json {"sentence1": "Fever  rises.", "sentence2": "Heat goes up."} ```')
        ('Fever rises.', 'Heat goes up.')
    """
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
    """The LLM's question on one line, without wrapping quotes or a ``Question:`` prefix.

    Args:
        answer: the LLM's text.

    Returns:
        The question ("" when there is none).

    Example::

        >>> clean_question('Question: "What causes  gout?"')
        'What causes gout?'
    """
    text = " ".join((answer or "").split())
    text = re.sub(r"^(?:\*\*)?question(?:\*\*)?\s*:\s*", "", text, flags=re.IGNORECASE)
    return text.strip().strip('"“”').strip()


def pair_tables(
    spec: TaskSpec, positives: Sequence[tuple[str, str, str]], *, show_progress: bool = False
) -> tuple[dict[str, Rows], dict[str, Any], list[str]]:
    """PairClassification ``data/test`` from positive pairs, each with one hard negative.

    Each positive (a, b) gets one negative (a, b') with b' drawn (seeded) from the ``hard_negatives.k`` second
    sentences of other records most similar to b under all-MiniLM-L6-v2, so positives : negatives = 1 : 1. A positive
    without a candidate is dropped with its negative.

    Args:
        spec: the task (``construction.hard_negatives``, ``params.ratio``, ``seed``).
        positives: ``(record id, sentence1, sentence2)``.
        show_progress: show the embedding progress bar.

    Returns:
        ``(tables, counts, used)``: the tables, counts for the manifest and the ids of the records used (sorted).

    Raises:
        SpecError: no ``hard_negatives``, another model than all-MiniLM-L6-v2, or a ratio other than 1:1.
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
    """Retrieval ``corpus/test``, ``queries/test``, ``qrels/test``: query ``q:<id>`` has its one document ``<id>``.

    Args:
        spec: the task (unused; kept for the builders' common call shape).
        docs: ``(id, text)`` in the order the tables keep.
        questions: document id -> its question; documents without one are left out, so the corpus is every
            document of the task.

    Returns:
        The three tables.

    Example::

        >>> retrieval_tables(spec, [("d1", "Gout is ..."), ("d2", "...")], {"d1": "What is gout?"})["qrels/test"]
        [{'query-id': 'q:d1', 'corpus-id': 'd1', 'score': 1}]
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
    """The LLM writes two related sentences from each document; they become the positives of :func:`pair_tables`.

    Args:
        spec: the task (``construction.llm`` prompt, hard negatives).
        ctx: the LLM endpoint (``llm_base_url``, ``llm_model``); answers are cached under the data folder.
        docs: ``(record id, title, text[, extra prompt fields])``.
        key: maps a record id to the key positives are sorted by (the order hard negatives are drawn in).

    Returns:
        ``(tables, pair counts, keys of the records used, the manifest's llm block)``.
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
    """The LLM writes a question for each document; :func:`retrieval_tables` pairs it with the document's text.

    Args:
        spec: the task (``construction.llm`` prompt).
        ctx: the LLM endpoint; answers are cached under the data folder.
        docs: ``(record id, title, text[, extra prompt fields])``.

    Returns:
        ``(tables, ids of the documents kept, the manifest's llm block)``.
    """
    from medeval.llm import run_llm_step

    result = run_llm_step(spec, ctx, [(d[0], _prompt_fields(d)) for d in docs])
    questions = {d[0]: clean_question(result.texts.get(d[0], "")) for d in docs}
    tables = retrieval_tables(spec, [(d[0], d[2]) for d in docs], questions)
    used = {r["id"] for r in tables["corpus/test"]}
    return tables, used, {**result.manifest, "empty_questions": sum(1 for q in questions.values() if not q)}
