"""What a task's page shows beside its scores: the task YAML as a card, the data's statistics, its citation and
how to build its data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from medeval.site.safe import link, missing

if TYPE_CHECKING:
    from medeval.spec import TaskSpec


def _kv(label: str, value: Any) -> tuple[str, Any]:
    return (label, value)


def task_card(spec: TaskSpec) -> dict[str, list[tuple[str, Any]]]:
    """The task YAML as labelled sections (values are plain data: the template escapes them).

    Args:
        spec: the task's spec; a user task's short YAML (no source, dates or construction) works too.

    Returns:
        Section title (``Task``, ``Source``, ``Construction``, ``Protocol``, ``Deviations from the paper``) ->
        ``(label, value)`` pairs; missing values are left out.

    Example:
        >>> from medeval.catalog import get_spec
        >>> dict(task_card(get_spec("WikiSyndromesClassification"))["Protocol"])["Main score"]
        'f1'
    """
    src = spec.source
    ev = spec.evaluation
    card: dict[str, list[tuple[str, Any]]] = {
        "Task": [
            _kv("Benchmark", spec.benchmark), _kv("Type", spec.type), _kv("Paper id", spec.paper_id),
            _kv("Languages", ", ".join(spec.languages or [])), _kv("Domains", ", ".join(spec.domains or [])),
            _kv("Reference", link(spec.reference)), _kv("Licence of the built data", link(spec.license)),
            _kv("Dates covered", f"{spec.date[0]} to {spec.date[1]}" if spec.date else None),  # optional for user tasks
            _kv("Pinned data revision", spec.dataset.revision), _kv("Hub dataset", spec.dataset.path),
        ],
    }
    if src is not None:  # a user task's short YAML may have no source block
        card["Source"] = [
            _kv("Name", src.name), _kv("Group", src.group), _kv("Builder reads", src.upstream), _kv("Version", src.version),
            _kv("Licence", link(src.license)), _kv("Access", src.access), _kv("URL", link(src.url)),
        ]
    c = spec.construction
    if c is not None:
        rows = [_kv("Builder", c.builder), _kv("Seed", c.seed), _kv("Size cap", f"{c.max_rows:,}"),
                _kv("Split", ", ".join(f"{k} {v:g}" for k, v in c.split.items()) if c.split else None),
                _kv("Balance", c.balance), _kv("Sections", ", ".join(c.sections) if c.sections else None)]
        if c.hard_negatives is not None:
            hn = c.hard_negatives
            rows.append(_kv("Hard negatives", f"top-{hn.k} by {hn.model}" + (f", {hn.restrict}" if hn.restrict else "")))
        if c.llm is not None:
            rows.append(_kv("LLM-written text", f"{c.llm.purpose} (paper: {c.llm.reference_model}, temperature {c.llm.temperature:g})"))
        for k, v in sorted(c.params.items()):
            rows.append(_kv(f"params.{k}", json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v))
        card["Construction"] = rows
    proto = [_kv("Main score", ev.main_score), _kv("Eval splits", ", ".join(ev.eval_splits))]
    if ev.samples_per_label is not None:
        proto.append(_kv("Training samples per label", ev.samples_per_label))
    if ev.n_experiments is not None:
        proto.append(_kv("Experiments", ev.n_experiments))
    if ev.clustering is not None:
        cl = ev.clustering
        proto.append(_kv("Clustering", f"every row once; mini-batch k-means (batch {cl.kmeans_batch_size}), "
                                       f"mean and spread over {cl.kmeans_seeds} seeds"))
    if ev.k_values:
        proto.append(_kv("k values", ", ".join(str(k) for k in ev.k_values)))
    card["Protocol"] = proto
    if getattr(spec, "deviations", None):
        card["Deviations from the paper"] = [_kv(d.what, d.why) for d in spec.deviations]
    return {k: [(lab, v) for lab, v in rows if not missing(v)] for k, rows in card.items()}


def stats_rows(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Per table: rows, text lengths and label counts (the 12 most frequent labels, then 'N more').

    Args:
        stats: a build's ``stats.json``: table name -> its statistics.

    Returns:
        One row per table: ``table``, ``rows``, ``lengths``, ``labels``, ``n_labels`` and ``queries``.
    """
    out = []
    for name, entry in sorted(stats.items()):
        if not isinstance(entry, dict):
            continue
        lengths = []
        for k, v in entry.items():
            if k.endswith("_length") and isinstance(v, dict):
                lengths.append(f"{k[:-7]}: {v.get('min')}/{v.get('mean')}/{v.get('max')}")
        labels = entry.get("label_counts") if isinstance(entry.get("label_counts"), dict) else {}
        top = sorted(labels.items(), key=lambda kv: (-kv[1] if isinstance(kv[1], (int, float)) else 0, kv[0]))
        shown = ", ".join(f"{k} ({v})" for k, v in top[:12]) + (f", {len(top) - 12} more" if len(top) > 12 else "")
        out.append({"table": name, "rows": entry.get("num_rows"), "lengths": "; ".join(lengths) or None,
                    "labels": shown or None, "n_labels": len(labels) or None,
                    "queries": entry.get("num_queries_with_relevant")})
    return out


def bibtex_or_empty(name: str) -> str:
    """The task's BibTeX, or "" for a user task whose short YAML gives none (its page then shows no citation).

    Args:
        name: the task's name.

    Returns:
        BibTeX entries (the source's and the paper's), or ``""``.
    """
    from medeval.cite import cite_task
    from medeval.errors import MedEvalError

    try:
        return cite_task(name)
    except MedEvalError:
        return ""


def build_hint(spec: TaskSpec) -> tuple[str, str]:
    """How a reader gets the task's data: the command line and a note on its inputs.

    Args:
        spec: the task's spec.

    Returns:
        :func:`medeval.loaders.build_requirements`' ``(command, note)``; the note is "" when the build needs no
        input. A user task with its own ``data:`` folder has no command: ``("", where to put its tables)``.
    """
    from medeval.loaders import build_requirements, how_to_build

    if spec.data is not None:
        return "", how_to_build(spec)
    return build_requirements(spec)
