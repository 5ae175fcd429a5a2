"""The site's table model: cells, columns and tables, and the tables the pages show: the leaderboard of each
benchmark (home page), the mean per upstream source, a task's scores and a model's scores. Values are formatted by
:mod:`medeval.site.formatting`.

A :class:`Table` is plain data (each cell's escaped HTML, its sort value and classes); the ``_macros.j2`` template
turns it into HTML and the site's script sorts, filters and pins it.

    >>> from medeval.site.model import Cell, Column, Table
    >>> Table(id="demo", columns=[Column("Model", "text")], rows=[{"cells": [Cell("A", "a")], "attrs": {}, "cls": ""}]).id
    'demo'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from medeval.leaderboard import TASK_TYPES, reported_source
from medeval.site.formatting import as_bool, bench_id, fmt_bool, fmt_int, fmt_params, fmt_score, slug, sort_value
from medeval.site.safe import DASH, json_for_script, missing, neutral, text

if TYPE_CHECKING:
    from medeval.site.context import SiteData


@dataclass
class Cell:
    """One table cell.

    Args:
        html: what the cell shows (safe markup or a value the template escapes).
        v: the value it sorts by (:func:`sort_value`).
        cls: CSS classes (``num`` right-aligns).
        title: a tooltip.
    """

    html: Any
    v: str = ""
    cls: str = ""
    title: Any = None


@dataclass
class Column:
    """One table column.

    Args:
        label: the header text.
        kind: ``num`` (best = highest), ``rank`` (best = lowest) or ``text``: how the column sorts.
        help: the header's tooltip.
        cls: CSS classes of the header cell.
    """

    label: str
    kind: str = "num"  # num (best = highest), rank (best = lowest), text
    help: str = ""
    cls: str = ""


@dataclass
class Table:
    """A sortable HTML table as the templates render it.

    Args:
        id: the ``<table>`` id (unique on its page).
        columns: the columns.
        rows: ``{"cells": [Cell, ...], "attrs": {...}, "cls": str}`` per row.
        caption: the caption.
        cls: extra classes of the ``<table>``, e.g. ``mv-pin`` (Rank and Model stay in view when scrolling).
        head_attrs: extra attributes per header cell.
    """

    id: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)  # {"cells": [...], "attrs": {...}, "cls": str}
    caption: str = ""
    cls: str = ""  # extra classes of the <table>, e.g. "mv-pin" (Rank and Model stay in view when scrolling)
    head_attrs: list[dict[str, str]] = field(default_factory=list)  # extra attributes per header cell



def _score_cell(v: Any, *, n: Any = None, size: int | None = None, reported: bool = False) -> Cell:
    partial = size is not None and not missing(n) and not missing(v) and int(n) < size
    title = f"{int(n)}/{size} tasks" if size is not None and not missing(n) else ("reported in the paper" if reported and not missing(v) else None)
    cls = "num" + (" mv-partial" if partial else "") + (" mv-rep" if reported else "")
    return Cell(fmt_score(v, 0 if reported else 2), sort_value(v), cls, title)


def board_table(site: SiteData, bench: str, prefix: str = "") -> tuple[Table, Markup]:
    """The home page leaderboard of one benchmark, and the JSON the filter script recomputes means from.

    Args:
        site: the site's data.
        bench: the benchmark's name.
        prefix: the path back to the site root from the page.

    Returns:
        ``(table, data)``: the sortable table (ranked models, then the paper's reported rows) and the per-task
        scores as JSON for ``<script type="application/json">``.
    """
    s = site.summaries[bench]
    lb = site.lb
    types = [t for t in TASK_TYPES if t in s.columns]
    tasks = lb.benchmark_tasks(bench)
    n_tasks = len(tasks)
    type_sizes = {t: int((lb.tasks.loc[tasks, "task_type"] == t).sum()) for t in types}
    cols = [
        Column("Rank (Borda)", "rank", "Borda count over the tasks some model beats chance on, as mteb ranks models; "
                                       "p = provisional (the model has not run every task)"),
        Column("Model", "text"),
        Column("Rank (selection)", "rank", "Borda rank over the selected tasks", "mv-sel"),
        Column("Mean (selection)", "num", "mean over the tasks of the selected types and sources the model ran", "mv-sel"),
        Column("Mean (Task)", "num", f"mean over all {n_tasks} tasks; empty unless the model ran every task (strict, as mteb)"),
        Column("Mean (TaskType)", "num", "mean of the per-type means; empty unless the model ran every task (strict)"),
        Column("Mean (Task, completed)", "num", "mean over the tasks the model ran"),
        Column("Mean (TaskType, completed)", "num", "mean of the per-type means over the tasks the model ran"),
        Column("Coverage", "num", "tasks with a result / tasks in the benchmark"),
        Column("95% CI", "num", "bootstrap 95% interval of Mean (Task, completed), tasks resampled (1000 draws)"),
        Column("Tied group", "rank", "models a paired comparison does not separate from the group's leader (see About)"),
        Column("Paired \u0394 to leader", "num", "mean task-by-task difference to the tie group's leader, with its paired 95% interval"),
        *[Column(t, "num", f"mean over the {type_sizes[t]} {t} tasks the model ran") for t in types],
        Column("Parameters", "num"),
        Column("Embedding dim", "num"),
        Column("Max tokens", "num"),
        Column("Licence", "text"),
        Column("Open weights", "text"),
        Column("Release date", "text"),
    ]
    table = Table(id=f"board-{bench_id(bench)}", columns=cols, cls="mv-pin mv-board")
    wide = lb.wide(bench)
    data_rows: list[list[float | None]] = []
    for i, r in enumerate(s.to_dict("records")):
        rep = bool(r.get("Reported"))
        name = r["Model"]
        model_html = text(name) if rep else site.model_link(name, prefix)
        if rep:
            src = text(reported_source(bench) or "")
            model_html = Markup(f'{model_html} <span class="mv-badge" title="{src}">reported</span>')
        ci = DASH if missing(r.get("CI low")) else Markup(f"{fmt_score(r['CI low'])}&#8211;{fmt_score(r['CI high'])}")
        prov = bool(r.get("Provisional")) and not rep
        rank_html = DASH if missing(r.get("Rank (Borda)")) else Markup(str(int(r["Rank (Borda)"])))
        if prov and not missing(r.get("Rank (Borda)")):
            rank_html = Markup(f'{rank_html}<sup class="mv-prov" title="provisional: {text(r.get("Coverage"))} tasks">p</sup>')
        delta = DASH
        if not missing(r.get("vs leader")):
            lo, hi = r.get("vs leader low"), r.get("vs leader high")
            band = "" if missing(lo) else Markup(f" [{fmt_score(-hi)}, {fmt_score(-lo)}]")
            delta = Markup(f"{fmt_score(-r['vs leader'])}{band}")
        cells = [
            Cell(rank_html, sort_value(r.get("Rank (Borda)")), "num mv-rank"),
            Cell(model_html, str(name).lower(), "mv-model"),
            Cell(DASH, "", "num mv-sel"),
            Cell(DASH, "", "num mv-sel"),
            _score_cell(r.get("Mean (Task)"), reported=rep),
            _score_cell(r.get("Mean (TaskType)"), reported=rep),
            _score_cell(r.get("Mean (Task, completed)"), reported=rep),
            _score_cell(r.get("Mean (TaskType, completed)"), reported=rep),
            Cell(text(r.get("Coverage")), sort_value(r.get("Completed")), "num"),
            Cell(ci, sort_value(r.get("CI low")), "num mv-ci"),
            Cell(DASH if missing(r.get("Tied group")) else Markup(str(int(r["Tied group"]))), sort_value(r.get("Tied group")), "num"),
            Cell(delta, sort_value(None if missing(r.get("vs leader")) else -r["vs leader"]), "num",
                 None if missing(r.get("vs leader")) else f"over {int(r['vs leader tasks'])} tasks both ran"),
            *[_score_cell(r.get(t), n=None if rep else r.get(f"{t} (n)"), size=None if rep else type_sizes[t], reported=rep) for t in types],
            Cell(fmt_params(r.get("Parameters")), sort_value(r.get("Parameters")), "num"),
            Cell(fmt_int(r.get("Embedding dim")), sort_value(r.get("Embedding dim")), "num"),
            Cell(fmt_int(r.get("Max tokens")), sort_value(r.get("Max tokens")), "num"),
            Cell(text(r.get("Licence")), "" if missing(r.get("Licence")) else str(r["Licence"]).lower()),
            Cell(fmt_bool(r.get("Open weights")), sort_value(r.get("Open weights"))),
            Cell(text(r.get("Release date")), "" if missing(r.get("Release date")) else str(r["Release date"])),
        ]
        group = r.get("Tied group")
        row_cls = "mv-reported" if rep else f"mv-g{int(group) % 2}" if not missing(group) else ""
        attrs = {
            "data-row": str(i),
            "data-params": sort_value(r.get("Parameters")),
            "data-open": {True: "1", False: "0", None: ""}[as_bool(r.get("Open weights"))],
            "data-reported": "1" if rep else "0",
            "data-name": neutral(str(name)).lower(),
        }
        table.rows.append({"cells": cells, "attrs": attrs, "cls": row_cls})
        if rep or name not in wide.index:
            data_rows.append(None)  # type: ignore[arg-type]
        else:
            data_rows.append([None if math.isnan(x) else round(float(x), 6) for x in wide.loc[name, tasks]])
    info = [[t, lb.tasks.loc[t, "task_type"], lb.tasks.loc[t, "source"]] for t in tasks]
    excluded = set(site.at_chance.get(bench, []))
    return table, json_for_script({"tasks": info, "rows": data_rows, "ranked": [t not in excluded for t in tasks]})


def source_table(site: SiteData, bench: str, prefix: str = "") -> Table:
    """Mean per upstream source over the tasks each model ran (the paper's second table), in leaderboard order.

    Args:
        site: the site's data.
        bench: the benchmark's name.
        prefix: the path back to the site root from the page.

    Returns:
        The table: model, completed mean, one column per source (a partly covered source is marked).
    """
    means, counts = site.sources[bench]
    sizes = counts.attrs.get("sizes", {})
    s = site.summaries[bench]
    s = s[~s["Reported"].astype(bool)]
    cols = [Column("Model", "text"), Column("Mean (Task, completed)", "num")]
    cols += [Column(f"{g} ({sizes.get(g, 0)})", "num", f"mean over the {sizes.get(g, 0)} {g} tasks the model ran") for g in means.columns]
    table = Table(id=f"sources-{bench_id(bench)}", columns=cols)
    for r in s.to_dict("records"):
        name = r["Model"]
        cells = [Cell(site.model_link(name, prefix), str(name).lower(), "mv-model"), _score_cell(r.get("Mean (Task, completed)"))]
        for g in means.columns:
            cells.append(_score_cell(means.loc[name, g], n=counts.loc[name, g], size=sizes.get(g)))
        table.rows.append({"cells": cells, "attrs": {}, "cls": ""})
    return table


def task_scores_table(site: SiteData, task: str, prefix: str = "../") -> Table:
    """A task page's table: every model's score, rank and distance from chance on the task.

    Args:
        site: the site's data.
        task: the task's name.
        prefix: the path back to the site root from the task page.

    Returns:
        The sortable table, best score first.
    """
    from medeval.leaderboard import normalise_to_chance

    chance = site.lb.chance["Chance"].get(task, math.nan) if task in site.lb.chance.index else math.nan
    cols = [Column("Rank", "rank"), Column("Model", "text"), Column("Score", "num"),
            Column("vs chance", "num", "(score - chance) / (1 - chance): 0 at chance, 100 at a perfect score"),
            Column("Revision", "text"), Column("Date", "text"), Column("mteb", "text")]
    table = Table(id=f"task-{slug(task)}", columns=cols, cls="mv-pin")
    for r in site.lb.task_scores(task).to_dict("records"):
        norm = normalise_to_chance(r["score"], chance)
        table.rows.append({"cells": [
            Cell(DASH if missing(r["rank"]) else Markup(str(int(r["rank"]))), sort_value(r["rank"]), "num"),
            Cell(site.model_link(r["model"], prefix), str(r["model"]).lower(), "mv-model"),
            _score_cell(r["score"]),
            Cell(fmt_score(norm), sort_value(norm), "num"),
            Cell(text(r["revision"]), str(r["revision"])),
            Cell(text(r["date"]), sort_value(r["date"])),
            Cell(text(r["mteb_version"]), sort_value(r["mteb_version"])),
        ], "attrs": {}, "cls": ""})
    return table


def model_scores_table(site: SiteData, model: str, bench: str) -> Table:
    """A model page's table for one benchmark: the model's score and rank on each task.

    Args:
        site: the site's data.
        model: the model's name.
        bench: the benchmark's name.

    Returns:
        The sortable table (no rows when the model has no score on the benchmark).
    """
    cols = [Column("Task", "text"), Column("Type", "text"), Column("Source", "text"), Column("Score", "num"),
            Column("Rank on task", "rank"), Column("Date", "text")]
    table = Table(id=f"scores-{bench_id(bench)}", columns=cols)
    s = site.by_model.get(model)
    if s is None:
        return table
    for r in s[s["benchmark"] == bench].to_dict("records"):
        rank = DASH if missing(r["rank"]) else Markup(f"{int(r['rank'])}/{int(r['of'])}")
        table.rows.append({"cells": [
            Cell(Markup(f'<a href="../tasks/{text(r["task"])}.html">{text(r["task"])}</a>'), r["task"].lower()),
            Cell(text(r["task_type"]), r["task_type"]), Cell(text(r["source"]), r["source"]),
            _score_cell(r["score"]),
            Cell(rank, sort_value(r["rank"]), "num"),
            Cell(text(r["date"]), sort_value(r["date"])),
        ], "attrs": {}, "cls": ""})
    return table
