"""Leaderboard -> the Markdown pages (and downloads) of the site, through the Jinja2 templates in ``templates/``.

Pages are Markdown for MkDocs Material whose dynamic parts are raw HTML blocks. The Jinja environment passes every
``{{ value }}`` through :func:`medeval.site.safe.text` (HTML- and Markdown-escaped, missing -> dash) unless the value is
already :class:`~markupsafe.Markup` built here from escaped parts, so a template cannot forget to escape.

    >>> from medeval.site.render import render_docs
    >>> render_docs(leaderboard, docs_dir)          # writes index.md, tasks/*.md, models/*.md, downloads/, ...
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from medeval.leaderboard import TASK_TYPES, Leaderboard, reported_source
from medeval.site.model import (  # noqa: F401 - re-exported: plots, views and tests import them from here
    Cell,
    Column,
    Table,
    _score_cell,
    as_bool,
    bench_id,
    bench_title,
    board_table,
    fmt_bool,
    fmt_int,
    fmt_params,
    fmt_score,
    model_slugs,
    pre_text,
    slug,
    sort_value,
    source_table,
)
from medeval.site.safe import DASH, link, missing, neutral, plain_title, spreadsheet_safe, text

TEMPLATES = Path(__file__).parent / "templates"


def _jinja() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=text,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(score=fmt_score, params=fmt_params, int=fmt_int, yesno=fmt_bool, link=link, text=text, sv=sort_value)
    env.filters["pre"] = pre_text
    # an attribute value as it is ("" stays "", never the dash that finalize gives missing values)
    env.filters["attr"] = lambda v: Markup("") if missing(v) else text(v)
    env.filters["nobl"] = lambda s: Markup("\n".join(line for line in str(s).splitlines() if line.strip()))
    return env


# ----------------------------------------------------------------------------------------------- site context
class SiteData:
    """Everything the templates need, computed once from a Leaderboard."""

    def __init__(self, lb: Leaderboard, *, n_boot: int = 1000) -> None:
        self.lb = lb
        self.slugs = model_slugs(lb.models.index if len(lb.models) else [])
        self.benchmarks = [b for b in lb.benchmarks if b in set(lb.tasks["benchmark"])]
        self.summaries = {b: lb.summary(b, n_boot=n_boot) for b in self.benchmarks}
        self.at_chance = {b: lb.tasks_at_chance(b) for b in self.benchmarks}
        self.sources = {b: lb.group_means(b, by="source") for b in self.benchmarks}
        self.pages: list[tuple[str, str]] = []  # hand-written pages copied in: (title, file)
        self.by_model = {m: df for m, df in lb.ranked_scores.groupby("model", sort=False)}
        self.standing: dict[str, list[dict[str, Any]]] = {}
        for bench in self.benchmarks:
            s = self.summaries[bench]
            n_models = int((~s["Reported"].astype(bool)).sum())
            for r in s[~s["Reported"].astype(bool)].to_dict("records"):
                self.standing.setdefault(r["Model"], []).append(
                    {"bench": bench, "title": bench_title(bench), "n_models": n_models, **r})

    def model_href(self, name: str, prefix: str = "") -> str | None:
        s = self.slugs.get(name)
        return f"{prefix}models/{s}.html" if s else None

    def model_link(self, name: str, prefix: str = "") -> Markup:
        href = self.model_href(name, prefix)
        if href is None:
            return text(name)
        return Markup(f'<a href="{text(href)}">{text(name)}</a>')


# ----------------------------------------------------------------------------------------------- task pages
def _kv(label: str, value: Any) -> tuple[str, Any]:
    return (label, value)


def _bibtex_or_empty(name: str) -> str:
    """The task's BibTeX, or "" for a user task whose short YAML gives none (its page then shows no citation)."""
    from medeval.cite import cite_task
    from medeval.errors import MedEvalError

    try:
        return cite_task(name)
    except MedEvalError:
        return ""


def task_card(spec: Any) -> dict[str, list[tuple[str, Any]]]:
    """The task YAML as labelled sections (values are plain data: the template escapes them)."""
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


def task_stats(cls: Any) -> dict[str, Any] | None:
    """The built data's stats.json (if this machine has built the task), else None."""
    try:
        path = cls.descriptive_stats_path()
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
    return None


def stats_rows(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Per table: rows, text lengths and label counts (the 12 most frequent labels, then 'N more')."""
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


def task_scores_table(site: SiteData, task: str, prefix: str = "../") -> Table:
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


# ----------------------------------------------------------------------------------------------- model pages
def model_scores_table(site: SiteData, model: str, bench: str) -> Table:
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


def model_standing(site: SiteData, model: str) -> list[dict[str, Any]]:
    """The model's row of each benchmark's leaderboard (benchmarks it has no score on are left out)."""
    return site.standing.get(model, [])


# ----------------------------------------------------------------------------------------------- writing
def _front_matter(title: str, search: bool = True, hide: tuple[str, ...] = ("navigation",)) -> str:
    meta: dict[str, Any] = {"title": title}
    if hide:
        meta["hide"] = list(hide)
    if not search:
        meta["search"] = {"exclude": True}
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=False) + "---\n\n"


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def write_downloads(lb: Leaderboard, site: SiteData, folder: Path) -> list[tuple[str, str]]:
    """CSV and JSON files of every score, each leaderboard and the model metadata; returns (file, description)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, str]] = []
    tidy = lb.scores.drop(columns=["path"])
    spreadsheet_safe(tidy).to_csv(folder / "scores.csv", index=False)
    (folder / "scores.json").write_text(tidy.to_json(orient="records", indent=1, force_ascii=False), encoding="utf-8")
    files += [("scores.csv", ("every score: one row per model x task (model, revision, task, benchmark, type, source, "
                             "main score name, score, data revision, mteb version, date, evaluation time, batch size)")),
              ("scores.json", "the same, as JSON records")]
    for bench in site.benchmarks:
        bid = bench_id(bench)
        spreadsheet_safe(site.summaries[bench]).to_csv(folder / f"leaderboard-{bid}.csv", index=False)
        site.summaries[bench].to_json(folder / f"leaderboard-{bid}.json", orient="records", indent=1, force_ascii=False)
        files += [(f"leaderboard-{bid}.csv", f"the {bench_title(bench)} leaderboard table (ranks, means, intervals, metadata)"),
                  (f"leaderboard-{bid}.json", "the same, as JSON records")]
        rep = lb.reported_table(bench)
        if len(rep):
            spreadsheet_safe(rep).to_csv(folder / f"reported-{bid}.csv", index=False)
            files.append((f"reported-{bid}.csv", f"what the MedTE paper reports for {bench_title(bench)} (per-type means, exact model ids; never ranked)"))
    models = lb.models.drop(columns=["Folder"]) if "Folder" in lb.models else lb.models
    spreadsheet_safe(models).to_csv(folder / "models.csv", index=False)
    files.append(("models.csv", "model metadata (from each model_meta.json) and how each model was run"))
    return files


def render_docs(lb: Leaderboard, docs: Path, *, n_boot: int = 1000, results_root: Path | None = None) -> SiteData:
    """Write every page of the site as Markdown into ``docs`` (plus downloads); returns the computed data."""
    from medeval.benchmarks import benchmark_names
    from medeval.catalog import task_classes
    from medeval.cite import (
        MEDEVAL_BIBTEX,
        MTEB_BIBTEX,
        PAPER_BIBTEX,
        cite_benchmark,
        cite_task,
    )
    from medeval.site.plots import benchmark_figures
    from medeval.leaderboard.descriptive import descriptive_stats
    from medeval.site.views import compare_data, matrix_table, model_extras, mteb_stats_rows, reported_table, task_chance

    env = _jinja()
    site = SiteData(lb, n_boot=n_boot)
    classes = task_classes()
    names = benchmark_names()
    common = {"bench_titles": {b: bench_title(b) for b in names}, "bench_ids": {b: bench_id(b) for b in names},
              "warnings": lb.warnings}

    boards = []
    for bench in site.benchmarks:
        table, data = board_table(site, bench)
        s = site.summaries[bench]
        boards.append({
            "name": bench, "id": bench_id(bench), "title": bench_title(bench),
            "n_tasks": len(lb.benchmark_tasks(bench)), "n_models": int((~s["Reported"].astype(bool)).sum()),
            "has_reported": bool(len(lb.reported_table(bench))), "reported_table": reported_table(site, bench),
            "at_chance": site.at_chance.get(bench, []), "table": table, "data": data,
            "types": [t for t in TASK_TYPES if t in set(lb.tasks.loc[lb.benchmark_tasks(bench), "task_type"])],
            "sources": list(site.sources[bench][0].columns), "source_table": source_table(site, bench),
            "description": _bench_description(bench),
        })
    _write(docs / "index.md", _front_matter("Leaderboard", search=False, hide=("navigation", "toc")) + env.get_template("home.md.j2").render(
        boards=boards, reported_source=next((src for b in site.benchmarks if (src := reported_source(b))), ""),
        **common))

    # tasks
    task_rows = []
    for bench in site.benchmarks:
        for t in lb.benchmark_tasks(bench):
            ts = lb.task_scores(t)
            best = ts.dropna(subset=["score"]).head(1)
            task_rows.append({"bench": bench, "task": t, "type": lb.tasks.loc[t, "task_type"], "source": lb.tasks.loc[t, "source"],
                              "main_score": lb.tasks.loc[t, "main_score"], "n": int(ts["score"].notna().sum()),
                              "best": None if best.empty else best.iloc[0]["score"],
                              "best_model": None if best.empty else site.model_link(best.iloc[0]["model"], "../"),
                              "best_name": None if best.empty else neutral(str(best.iloc[0]["model"]))})
    _write(docs / "tasks" / "index.md", _front_matter("Tasks") + env.get_template("tasks_index.md.j2").render(rows=task_rows, **common))
    tmpl = env.get_template("task.md.j2")
    for name, cls in classes.items():
        if name not in lb.tasks.index:
            continue
        found = descriptive_stats(name)
        stats = None
        if found is not None:
            stats = {"kind": found[0], "rows": mteb_stats_rows(found[1]) if found[0] == "mteb" else stats_rows(found[1])}
        _write(docs / "tasks" / f"{name}.md", _front_matter(name) + tmpl.render(
            spec=cls.spec, card=task_card(cls.spec), stats=stats, chance=task_chance(site, name),
            bibtex=_bibtex_or_empty(name), scores=task_scores_table(site, name), n_models=int(lb.task_scores(name)["score"].notna().sum()),
            how_to_build=_how_to_build(cls.spec), **common))

    # models
    cards_dir = results_root.parent / "models" if results_root is not None else None
    tmpl = env.get_template("model.md.j2")
    model_rows = []
    for name, s in site.slugs.items():
        meta = lb.models.loc[name].to_dict()
        folder = meta.get("Folder")
        if folder and results_root is not None:
            try:
                folder = str(Path(folder).resolve().relative_to(results_root.resolve().parent))
            except ValueError:
                folder = Path(folder).name
        tables = [(bench_title(b), model_scores_table(site, name, b)) for b in site.benchmarks]
        _write(docs / "models" / f"{s}.md", _front_matter(plain_title(name, f"Model {s}"), search=False, hide=("navigation", "toc")) + tmpl.render(
            name=name, meta=meta, folder=folder, standing=model_standing(site, name),
            extras=model_extras(site, name, meta, cards_dir),
            tables=[(t, tb) for t, tb in tables if tb.rows], **common))
        done = {x["bench"]: (x["Coverage"], x["Completed"]) for x in model_standing(site, name)}
        coverage = {b: done.get(b, (None, None)) for b in site.benchmarks}
        model_rows.append({"link": site.model_link(name, "../"), "name": name, "meta": meta, "coverage": coverage})
    _write(docs / "models" / "index.md", _front_matter("Models", search=False, hide=("navigation", "toc")) + env.get_template("models_index.md.j2").render(
        rows=model_rows, benchmarks=site.benchmarks, **common))

    # matrix and comparison
    matrices = [{"bench": b, "title": bench_title(b), "id": bench_id(b), "table": matrix_table(site, b, ""),
                 "at_chance": site.at_chance.get(b, [])} for b in site.benchmarks]
    _write(docs / "matrix.md", _front_matter("Matrix", search=False, hide=("navigation", "toc")) + env.get_template("matrix.md.j2").render(
        matrices=matrices, **common))
    _write(docs / "compare.md", _front_matter("Compare", search=False, hide=("navigation", "toc")) + env.get_template("compare.md.j2").render(
        data=compare_data(site), **common))

    # plots, downloads, static pages
    figures = {b: benchmark_figures(site, b) for b in site.benchmarks}
    _write(docs / "plots.md", _front_matter("Plots", search=False) + env.get_template("plots.md.j2").render(
        figures=figures, **common))
    files = write_downloads(lb, site, docs / "downloads")
    _write(docs / "downloads.md", _front_matter("Downloads") + env.get_template("downloads.md.j2").render(files=files, **common))
    bench_bib = {b: cite_benchmark(b) for b in site.benchmarks if b in names}  # user tasks' benchmarks are not registered
    _write(docs / "cite.md", _front_matter("Cite") + env.get_template("cite.md.j2").render(
        paper=PAPER_BIBTEX, medeval=MEDEVAL_BIBTEX, mteb=MTEB_BIBTEX, bench_bib=bench_bib, **common))
    site.pages = copy_pages(docs)
    if lb.warnings:
        _write(docs / "warnings.md", _front_matter("Warnings", search=False) + env.get_template("warnings.md.j2").render(**common))
    return site


def _bench_description(bench: str) -> str | None:
    from medeval.catalog import get_benchmark

    try:
        return get_benchmark(bench).description
    except Exception:  # noqa: BLE001 - a user task's benchmark is not registered
        return None


def _how_to_build(spec: Any) -> str:
    from medeval.loaders import how_to_build

    return how_to_build(spec)


GENERATED = ("index.md", "tasks", "models", "plots.md", "downloads.md", "downloads", "cite.md", "warnings.md", "assets",
             "matrix.md", "compare.md")


def pages_dir() -> Path | None:
    """The hand-written pages: ``medeval/site/pages`` in a wheel, the repository's ``site/`` folder in a checkout."""
    here = Path(__file__).resolve().parent
    for cand in (here / "pages", here.parents[1] / "site"):
        if cand.is_dir():
            return cand
    return None


def copy_pages(docs: Path) -> list[tuple[str, str]]:
    """Copy every hand-written ``*.md`` page (not README.md, not a generated page's name); returns (title, file)."""
    folder = pages_dir()
    out: list[tuple[str, str]] = []
    if folder is None:
        return out
    for page in sorted(folder.glob("*.md")):
        if page.name == "README.md" or page.name in GENERATED:
            continue
        text_ = page.read_text(encoding="utf-8")
        title = next((line[2:].strip() for line in text_.splitlines() if line.startswith("# ")), page.stem.replace("-", " "))
        (docs / page.name).write_text(text_, encoding="utf-8")
        out.append((title, page.name))
    return out


def nav(site: SiteData, has_warnings: bool) -> list[dict[str, str]]:
    """Leaderboard, Tasks, Models, Plots, Downloads, How to submit, Cite, the other hand-written pages, Warnings."""
    pages = {file: title for title, file in site.pages}
    items = [{"Leaderboard": "index.md"}, {"Matrix": "matrix.md"}, {"Compare": "compare.md"}, {"Tasks": "tasks/index.md"},
             {"Models": "models/index.md"}, {"Plots": "plots.md"}, {"Downloads": "downloads.md"}]
    if "submit.md" in pages:
        items.append({pages.pop("submit.md"): "submit.md"})
    items.append({"Cite": "cite.md"})
    items += [{title: file} for file, title in pages.items()]
    if has_warnings:
        items.append({"Warnings": "warnings.md"})
    return items
