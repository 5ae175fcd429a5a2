"""The page writers: Leaderboard -> the Markdown pages (and downloads) of the site, through the Jinja2 templates
in ``templates/``. What the pages show comes from :mod:`~medeval.site.context` (the computed data),
:mod:`~medeval.site.model` (the tables), :mod:`~medeval.site.views`, :mod:`~medeval.site.task_page` and
:mod:`~medeval.site.plots`.

Pages are Markdown for MkDocs Material whose dynamic parts are raw HTML blocks. The Jinja environment passes every
``{{ value }}`` through :func:`medeval.site.safe.text` (HTML- and Markdown-escaped, missing -> dash) unless the value is
already :class:`~markupsafe.Markup` built here from escaped parts, so a template cannot forget to escape.

    >>> from medeval.site.pages import render_docs
    >>> render_docs(leaderboard, docs_dir)          # writes index.md, tasks/*.md, models/*.md, downloads/, ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from medeval.leaderboard import TASK_TYPES, Leaderboard, reported_source
from medeval.site.context import SiteData, model_standing
from medeval.site.formatting import bench_id, bench_title, fmt_bool, fmt_int, fmt_params, fmt_score, pre_text, sort_value
from medeval.site.model import board_table, model_scores_table, source_table, task_scores_table
from medeval.site.safe import link, missing, neutral, plain_title, spreadsheet_safe, text
from medeval.site.task_page import bibtex_or_empty, build_hint, stats_rows, task_card

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
    """CSV and JSON files of every score, each leaderboard and the model metadata.

    Text cells are made spreadsheet-safe (:func:`medeval.site.safe.spreadsheet_safe`).

    Args:
        lb: the leaderboard.
        site: the site's data (its summaries are the leaderboard tables).
        folder: where the files go (created).

    Returns:
        ``(file name, description)`` per file written, for the downloads page.
    """
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
    """Write every page of the site as Markdown into ``docs`` (plus downloads).

    Args:
        lb: the leaderboard (:func:`medeval.leaderboard.load_leaderboard`).
        docs: the MkDocs ``docs_dir`` to write into.
        n_boot: bootstrap resamples of each model's 95% interval.
        results_root: the ``results/`` folder the leaderboard came from: model pages name folders relative to it
            and find model cards beside it (``../models``).

    Returns:
        The computed :class:`~medeval.site.context.SiteData` (its ``pages`` lists the hand-written pages copied).
    """
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
            bibtex=bibtex_or_empty(name), scores=task_scores_table(site, name), n_models=int(lb.task_scores(name)["score"].notna().sum()),
            build_hint=build_hint(cls.spec), **common))

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


#: The files and folders :func:`render_docs` writes; a hand-written page of the same name is not copied.
GENERATED = ("index.md", "tasks", "models", "plots.md", "downloads.md", "downloads", "cite.md", "warnings.md", "assets",
             "matrix.md", "compare.md")


def pages_dir() -> Path | None:
    """The hand-written pages: ``medeval/site/pages`` in a wheel, the repository's ``site/`` folder in a checkout.

    Returns:
        The folder, or None when neither exists.
    """
    here = Path(__file__).resolve().parent
    for cand in (here / "pages", here.parents[1] / "site"):
        if cand.is_dir():
            return cand
    return None


def copy_pages(docs: Path) -> list[tuple[str, str]]:
    """Copy every hand-written ``*.md`` page (not README.md, not a generated page's name).

    Args:
        docs: the MkDocs ``docs_dir``.

    Returns:
        ``(title, file name)`` per page copied; the title is the page's first ``# `` heading.
    """
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
    """Leaderboard, Tasks, Models, Plots, Downloads, How to submit, Cite, the other hand-written pages, Warnings.

    Args:
        site: the site's data (its ``pages`` are the hand-written pages).
        has_warnings: whether the warnings page was written.

    Returns:
        MkDocs ``nav`` entries, ``{title: file}`` each.
    """
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
