"""Leaderboard aggregation: mteb result folders -> one tidy pandas DataFrame -> the leaderboard's tables.

Reads the layout ``medeval run`` (mteb's ResultCache) writes::

    <leaderboard>/results/<org>__<model>/<revision>/<TaskName>.json     one mteb TaskResult per task
    <leaderboard>/results/<org>__<model>/<revision>/model_meta.json     mteb's ModelMeta.to_dict()
    <leaderboard>/results/<org>__<model>/<revision>/run_settings.jsonl  batch size and package versions (optional)

Every result file is read with mteb's own ``TaskResult.from_disk`` and scored with ``TaskResult.get_score`` on the
task's eval splits. A file that cannot be read (bad JSON, not mteb's schema, an unknown task, a score outside [0, 1])
is skipped and reported in :attr:`Leaderboard.warnings`; it never stops the others from loading. Nothing here needs
mkdocs or plotly::

    >>> from medeval.leaderboard import load_leaderboard
    >>> lb = load_leaderboard("leaderboard")
    >>> lb.scores                                # tidy: one row per (model, task)
    >>> lb.summary("MedEval(v1)")                # Borda rank, strict and completed means, coverage, 95% CI, ties
    >>> lb.group_means("MedEval(v1)", by="source")[0]   # mean per upstream source (the paper's second table)
    >>> lb.warnings                              # files skipped, and why

Definitions (``summary``):

* **Mean (Task)**, **Mean (TaskType)**: strict, as mteb computes them (``skipna=False``): a model missing any task of
  the benchmark gets no mean. Mean (TaskType) is the mean of the per-type means.
* **Mean (Task, completed)**, **Mean (TaskType, completed)**: the same over the tasks the model has results for;
  **Coverage** says how many ("37/51").
* **Rank (Borda)**: as ``mteb.benchmarks._create_table._borda_rank_from_long`` defines it (see :func:`borda_rank`).
* **CI low / CI high**: a seeded bootstrap 95% interval of the mean over completed tasks (tasks resampled with
  replacement). **Tied group**: walking down the ranking, a model joins the current group while its interval
  overlaps the group leader's; otherwise it leads a new group.
* Rows the paper reports but nobody has run with medeval (:data:`REPORTED`) are appended with ``Reported = True``;
  they carry only per-type means and never enter ranks, intervals or tie groups.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medeval.errors import ResultError

MODEL_META = "model_meta.json"
RUN_SETTINGS = "run_settings.jsonl"
TASK_TYPES = ("Classification", "Clustering", "PairClassification", "Retrieval")

#: What the MedTE paper reports on MedEval v1 (per-type means only; read off the authors' published figures,
#: +-0.01; /work/shared/spec/medeval-v1-tasks.md). Shown as "reported" rows, never ranked.
REPORTED: dict[str, list[dict[str, Any]]] = {
    "MedEval(v1)": [
        {"Model": "MedTE (gte-base fine-tuned)", "Classification": 0.72, "Clustering": 0.38, "PairClassification": 0.74, "Retrieval": 0.45},
        {"Model": "MedEmbed-base-v0.1", "Classification": 0.69, "Clustering": 0.36, "PairClassification": 0.68, "Retrieval": 0.39},
        {"Model": "thenlper/gte-base", "Classification": 0.70, "Clustering": 0.28, "PairClassification": 0.69, "Retrieval": 0.41},
        {"Model": "all-MiniLM-L6-v2", "Classification": 0.68, "Clustering": 0.28, "PairClassification": 0.66, "Retrieval": 0.34},
        {"Model": "BiomedBERT (mean pooling)", "Classification": 0.61, "Clustering": 0.12, "PairClassification": 0.64, "Retrieval": 0.13},
    ],
}
REPORTED_SOURCE = "Khodadad et al. (2025), arXiv:2507.19407: per-type means read off the published figures (+-0.01)"

#: Model metadata columns taken from model_meta.json (display name -> mteb ModelMeta field).
META_COLUMNS = {
    "Parameters": "n_parameters",
    "Embedding dim": "embed_dim",
    "Max tokens": "max_tokens",
    "Licence": "license",
    "Open weights": "open_weights",
    "Release date": "release_date",
    "Reference": "reference",
}

SCORE_COLUMNS = [
    "model", "revision", "task", "benchmark", "task_type", "source", "main_score", "score",
    "dataset_revision", "mteb_version", "date", "evaluation_time", "batch_size", "path",
]


# ----------------------------------------------------------------------------------------------- task catalogue
def task_table(names: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per known task (index: task name): benchmark, type, source group, main score, paper id."""
    from medeval.catalog import task_classes

    rows = []
    for name, cls in task_classes().items():
        if names is not None and name not in names:
            continue
        s = cls.spec
        rows.append({
            "task": name, "benchmark": s.benchmark or "(no benchmark)", "task_type": s.type, "source": s.source.group,
            "main_score": s.evaluation.main_score, "eval_splits": tuple(s.evaluation.eval_splits), "paper_id": s.paper_id,
        })
    df = pd.DataFrame(rows, columns=["task", "benchmark", "task_type", "source", "main_score", "eval_splits", "paper_id"])
    return df.set_index("task")


# ----------------------------------------------------------------------------------------------- loading
@dataclass
class _Run:
    """One revision folder: a model's results at one revision."""

    name: str
    revision: str
    folder: Path
    meta: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    settings: list[dict[str, Any]] = field(default_factory=list)  # per result: device, precision, package versions

    @property
    def n_scored(self) -> int:
        return sum(1 for r in self.rows if not _isnan(r["score"]))

    @property
    def latest(self) -> str:
        return max((r["date"] or "" for r in self.rows), default="")


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    msg = text[0] if text else type(err).__name__
    if len(text) > 1 and "validation error" in msg:  # pydantic: say which field
        msg = f"{msg}: {text[1].strip()}"
    return msg[:300]


def results_root(path: str | Path) -> Path:
    """The folder holding ``<org>__<model>/<revision>/`` folders: ``path/results`` if it exists, else ``path``."""
    path = Path(path)
    if not path.is_dir():
        raise ResultError(f"{path}: no such results folder; give the leaderboard folder (the one holding results/)")
    return path / "results" if (path / "results").is_dir() else path


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) and v > 0 else None


def _embed_dim(v: Any) -> float | None:
    if isinstance(v, list):  # Matryoshka models list several sizes; mteb shows the largest
        nums = [n for n in (_number(x) for x in v) if n is not None]
        return max(nums) if nums else None
    return _number(v)


def _text(v: Any) -> str | None:
    return v.strip() if isinstance(v, str) and v.strip() else None


def _join(v: Any) -> str | None:
    return ", ".join(x for x in v if isinstance(x, str)) or None if isinstance(v, list) else None


def _read_meta(folder: Path, warnings: list[str]) -> dict[str, Any]:
    path = folder / MODEL_META
    if not path.is_file():
        warnings.append(f"{path}: missing; the model's name is taken from the folder name and its metadata shown as '—'")
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        warnings.append(f"{path}: unreadable ({_first_line(err)}); metadata shown as '—'")
        return {}
    if not isinstance(meta, dict):
        warnings.append(f"{path}: expected a JSON object (mteb's ModelMeta), got {type(meta).__name__}; metadata shown as '—'")
        return {}
    return meta


def _read_run_settings(folder: Path, warnings: list[str]) -> dict[str, dict[str, Any]]:
    path = folder / RUN_SETTINGS
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        warnings.append(f"{path}: unreadable ({_first_line(err)}); batch size not shown")
        return out
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            warnings.append(f"{path}:{lineno}: invalid JSON ({err.msg}); line ignored")
            continue
        if isinstance(entry, dict) and isinstance(entry.get("task"), str):
            out[entry["task"]] = entry
    return out


def _result_row(path: Path, tasks: Mapping[str, Mapping[str, Any]], warnings: list[str]) -> dict[str, Any] | None:
    from mteb import TaskResult

    try:
        res = TaskResult.from_disk(path)
    except Exception as err:  # noqa: BLE001 - any broken file is reported and skipped, never fatal
        warnings.append(f"{path}: not a readable mteb result ({_first_line(err)}); skipped")
        return None
    name = res.task_name
    if name not in tasks:
        warnings.append(f"{path}: task {name!r} is not a medeval task (see `medeval tasks`); skipped")
        return None
    if path.stem != name:
        warnings.append(f"{path}: holds task {name!r} but is named {path.stem!r}; rename it to {name}.json; skipped")
        return None
    info = tasks[name]
    splits = [s for s in info["eval_splits"] if s in res.scores]
    if len(splits) != len(info["eval_splits"]):
        missing = sorted(set(info["eval_splits"]) - set(res.scores))
        warnings.append(f"{path}: no scores for eval split(s) {', '.join(missing)}; re-run the task; skipped")
        return None
    try:
        score = float(res.get_score(splits=splits))
    except Exception as err:  # noqa: BLE001
        warnings.append(f"{path}: no main score ({_first_line(err)}); skipped")
        return None
    if not math.isfinite(score):
        warnings.append(f"{path}: main score is {score}; shown as '—'")
        score = float("nan")
    elif not 0.0 <= score <= 1.0:
        warnings.append(f"{path}: main score {score} is outside [0, 1]; skipped")
        return None
    date = res.date.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if isinstance(res.date, datetime) else None
    return {
        "task": name, "benchmark": info["benchmark"], "task_type": info["task_type"], "source": info["source"],
        "main_score": info["main_score"], "score": score, "dataset_revision": res.dataset_revision,
        "mteb_version": res.mteb_version, "date": date, "evaluation_time": res.evaluation_time, "path": str(path),
    }


def _load_run(folder: Path, tasks: Mapping[str, Mapping[str, Any]], warnings: list[str]) -> _Run | None:
    meta = _read_meta(folder, warnings)
    fallback = folder.parent.name.replace("__", "/", 1)
    name = _text(meta.get("name")) or fallback
    revision = _text(meta.get("revision")) or folder.name
    settings = _read_run_settings(folder, warnings)
    run = _Run(name=name, revision=revision, folder=folder, meta=meta)
    files = sorted(p for p in folder.glob("*.json") if p.name != MODEL_META)
    if not files:
        warnings.append(f"{folder}: no result files (<TaskName>.json); skipped")
        return None
    for path in files:
        row = _result_row(path, tasks, warnings)
        if row is None:
            continue
        entry = settings.get(row["task"], {})
        enc = entry.get("encode_kwargs")
        bs = enc.get("batch_size") if isinstance(enc, dict) else None
        row.update(model=name, revision=revision, batch_size=bs if isinstance(bs, int) and not isinstance(bs, bool) else None)
        versions = entry.get("version") if isinstance(entry.get("version"), dict) else {}
        run.settings.append({"device": _text(entry.get("device")), "precision": _text(entry.get("precision")),
                             "medeval": _text(versions.get("medeval")), "torch": _text(versions.get("torch")),
                             "sentence-transformers": _text(versions.get("sentence-transformers"))})
        run.rows.append(row)
    return run


def _meta_row(run: _Run) -> dict[str, Any]:
    m = run.meta
    release = _text(m.get("release_date"))
    open_weights = m.get("open_weights")
    rows = pd.DataFrame(run.rows)
    versions = sorted({v for v in rows.get("mteb_version", []) if isinstance(v, str)}) if len(rows) else []
    batch = sorted({int(v) for v in rows.get("batch_size", []) if not _isnan(v)}) if len(rows) else []
    dates = sorted(d for d in rows.get("date", []) if isinstance(d, str)) if len(rows) else []
    times = [t for t in rows.get("evaluation_time", []) if isinstance(t, (int, float)) and math.isfinite(t)] if len(rows) else []
    return {
        "Model": run.name,
        "Revision": run.revision,
        "Folder": str(run.folder),
        "Parameters": _number(m.get("n_parameters")),
        "Embedding dim": _embed_dim(m.get("embed_dim")),
        "Max tokens": _number(m.get("max_tokens")),
        "Licence": _text(m.get("license")),
        "Open weights": open_weights if isinstance(open_weights, bool) else None,
        "Release date": release[:10] if release else None,
        "Reference": _text(m.get("reference")),
        "Framework": _join(m.get("framework")),
        "Similarity": _text(m.get("similarity_fn_name")),
        "mteb version": ", ".join(versions) or None,
        "Batch size": ", ".join(str(b) for b in batch) or None,
        **{label: ", ".join(sorted({s[key] for s in run.settings if s[key]})) or None
           for label, key in (("Device", "device"), ("Precision", "precision"), ("medeval version", "medeval"),
                              ("torch version", "torch"), ("sentence-transformers version", "sentence-transformers"))},
        "First result": dates[0] if dates else None,
        "Last result": dates[-1] if dates else None,
        "Evaluation time (s)": round(sum(times), 1) if times else None,
        "Results": run.n_scored,
    }


def load_leaderboard(results_dir: str | Path) -> Leaderboard:
    """Read every ``<org>__<model>/<revision>/`` folder under ``results_dir`` (or ``results_dir/results``).

    One revision per model is shown: the one with most scored tasks (then the newest); the others are listed in
    the warnings. Broken files are skipped with a warning naming the file and the problem.
    """
    import medeval  # noqa: F401 - registers medeval's tasks with mteb before results are read

    root = results_root(results_dir)
    tasks = task_table()
    task_info = tasks.to_dict("index")
    warnings: list[str] = []
    runs: dict[str, list[_Run]] = {}
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        revisions = sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not revisions:
            warnings.append(f"{model_dir}: no <revision>/ folders inside; expected <org>__<model>/<revision>/<Task>.json")
        for folder in revisions:
            run = _load_run(folder, task_info, warnings)
            if run is not None:
                runs.setdefault(run.name, []).append(run)
    chosen: list[_Run] = []
    for name, candidates in runs.items():
        candidates.sort(key=lambda r: (r.n_scored, r.latest, r.revision), reverse=True)
        chosen.append(candidates[0])
        for other in candidates[1:]:
            warnings.append(
                f"{other.folder}: another result set for {name!r} ({other.n_scored} tasks); showing {candidates[0].folder} "
                f"({candidates[0].n_scored} tasks); remove the folder you do not want shown"
            )
    rows = [r for run in chosen for r in run.rows]
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    scores["score"] = scores["score"].astype(float)
    models = pd.DataFrame([_meta_row(run) for run in chosen])
    if len(models):
        models["Open weights"] = models["Open weights"].astype(object)  # True / False / None, never numpy bools
        models = models.sort_values("Model").set_index("Model", drop=False)
        models.index.name = None
    return Leaderboard(scores=scores.sort_values(["model", "task"], ignore_index=True), models=models, tasks=tasks, warnings=warnings)


# ----------------------------------------------------------------------------------------------- aggregation
def borda_rank(wide: pd.DataFrame) -> pd.Series:
    """Borda rank of each row (model) over the columns (tasks); NaN = the model has no result on that task.

    The same rule as mteb's "Rank (Borda)" (``mteb.benchmarks._create_table._borda_rank_from_long`` in mteb 2.26):
    within each task, models are ranked by score (best = 1, ties share the average rank); a model earns
    ``n_models - rank`` points on each task it ran and 0 on tasks it did not; the totals are ranked again, best
    first, tied totals sharing the lowest rank ("min"). ``n_models`` counts every row of ``wide``.
    """
    if wide.empty:
        return pd.Series(dtype="Int64", index=wide.index, name="Rank (Borda)")
    n = len(wide)
    per_task = wide.rank(axis=0, method="average", ascending=False)
    points = (n - per_task).sum(axis=1, skipna=True)
    return points.rank(method="min", ascending=False).astype("Int64").rename("Rank (Borda)")


def bootstrap_ci(wide: pd.DataFrame, *, n_boot: int = 1000, seed: int = 42, level: float = 0.95) -> pd.DataFrame:
    """Percentile bootstrap interval of each row's mean over its non-missing columns (tasks resampled with replacement).

    Each model's draws come from a generator seeded by ``seed`` and the model's name, so a model's interval does not
    depend on which other models are on the board.
    """
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out = {}
    for model, row in wide.iterrows():
        vals = row.dropna().to_numpy(dtype=float)
        if len(vals) == 0:
            out[model] = (np.nan, np.nan)
            continue
        rng = np.random.default_rng([seed, zlib.crc32(str(model).encode("utf-8"))])
        draws = vals[rng.integers(0, len(vals), size=(n_boot, len(vals)))].mean(axis=1)
        out[model] = (float(np.percentile(draws, lo_q)), float(np.percentile(draws, hi_q)))
    return pd.DataFrame.from_dict(out, orient="index", columns=["CI low", "CI high"]).reindex(wide.index)


def tied_groups(order: Sequence[Any], ci_low: Mapping[Any, float], ci_high: Mapping[Any, float]) -> pd.Series:
    """Group adjacent models (in rank ``order``) whose interval overlaps the group leader's; groups numbered from 1."""
    groups: dict[Any, int] = {}
    group = 0
    leader: tuple[float, float] | None = None
    for model in order:
        lo, hi = ci_low[model], ci_high[model]
        joins = leader is not None and not (_isnan(lo) or _isnan(hi)) and lo <= leader[1] and hi >= leader[0]
        if not joins:
            group += 1
            leader = None if (_isnan(lo) or _isnan(hi)) else (lo, hi)
        groups[model] = group
    return pd.Series(groups, dtype="Int64", name="Tied group")


def coverage_label(done: int, total: int) -> str:
    return f"{done}/{total}"


@dataclass
class Leaderboard:
    """Loaded results: ``scores`` (tidy, one row per model x task), ``models`` (metadata), ``tasks`` (catalogue)."""

    scores: pd.DataFrame
    models: pd.DataFrame
    tasks: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    # -- views ------------------------------------------------------------------------------------------
    @property
    def benchmarks(self) -> list[str]:
        from medeval.catalog import BENCHMARK_NAMES

        extra = sorted(set(self.tasks["benchmark"]) - set(BENCHMARK_NAMES))
        return [*BENCHMARK_NAMES, *extra]

    def benchmark_tasks(self, benchmark: str) -> list[str]:
        """The benchmark's tasks, ordered by type then name."""
        t = self.tasks[self.tasks["benchmark"] == benchmark]
        order = {name: i for i, name in enumerate(TASK_TYPES)}
        return sorted(t.index, key=lambda n: (order.get(t.loc[n, "task_type"], len(order)), n))

    def wide(self, benchmark: str) -> pd.DataFrame:
        """Scores as models x tasks (every task of the benchmark a column; NaN where a model has no score).

        Models without a single score on the benchmark are left out (as mteb drops all-null rows).
        """
        cols = self.benchmark_tasks(benchmark)
        s = self.scores[self.scores["task"].isin(cols)]
        w = s.pivot_table(index="model", columns="task", values="score", aggfunc="mean", dropna=False)
        w = w.reindex(columns=cols)
        w = w[w.notna().any(axis=1)]
        w.columns.name = None
        w.index.name = None
        return w.astype(float)

    def group_means(self, benchmark: str, by: str = "type") -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per-model means over completed tasks of each task type (``by="type"``) or source group (``by="source"``).

        Returns ``(means, counts)``: counts hold how many of the group's tasks the model completed; the groups'
        sizes are in ``counts.attrs["sizes"]``.
        """
        col = {"type": "task_type", "source": "source"}[by]
        w = self.wide(benchmark)
        info = self.tasks.loc[w.columns, col]
        groups = list(dict.fromkeys(info.sort_values().tolist())) if by == "source" else [t for t in TASK_TYPES if t in set(info)]
        if by == "source":  # biggest source first, as the paper's table
            sizes = info.value_counts()
            groups = sorted(groups, key=lambda g: (-sizes[g], g))
        means = pd.DataFrame(index=w.index, columns=groups, dtype=float)
        counts = pd.DataFrame(index=w.index, columns=groups, dtype="Int64")
        for g in groups:
            sub = w[list(info[info == g].index)]
            means[g] = sub.mean(axis=1, skipna=True)
            counts[g] = sub.notna().sum(axis=1).astype("Int64")
        counts.attrs["sizes"] = {g: int((info == g).sum()) for g in groups}
        return means, counts

    def summary(self, benchmark: str, *, n_boot: int = 1000, seed: int = 42, reported: bool = True) -> pd.DataFrame:
        """The leaderboard table of one benchmark, best first (see the module docstring for each column)."""
        w = self.wide(benchmark)
        n_tasks = w.shape[1]
        info = self.tasks.loc[w.columns, "task_type"]
        type_means, type_counts = self.group_means(benchmark, by="type")
        types = list(type_means.columns)
        out = pd.DataFrame(index=w.index)
        out["Model"] = w.index
        out["Rank (Borda)"] = borda_rank(w)
        out["Mean (Task)"] = w.mean(axis=1, skipna=False)
        strict_type = pd.DataFrame({t: w[list(info[info == t].index)].mean(axis=1, skipna=False) for t in types}, index=w.index)
        out["Mean (TaskType)"] = strict_type.mean(axis=1, skipna=False) if types else np.nan
        out["Mean (Task, completed)"] = w.mean(axis=1, skipna=True)
        out["Mean (TaskType, completed)"] = type_means.mean(axis=1, skipna=True) if types else np.nan
        done = w.notna().sum(axis=1)
        out["Completed"] = done.astype(int)
        out["Tasks"] = n_tasks
        out["Coverage"] = [coverage_label(d, n_tasks) for d in done]
        for t in types:
            out[t] = type_means[t]
            out[f"{t} (n)"] = type_counts[t]
        ci = bootstrap_ci(w, n_boot=n_boot, seed=seed)
        out["CI low"], out["CI high"] = ci["CI low"], ci["CI high"]
        out = out.sort_values(["Rank (Borda)", "Mean (Task, completed)", "Model"], ascending=[True, False, True], kind="stable")
        out["Tied group"] = tied_groups(list(out.index), out["CI low"], out["CI high"]).reindex(out.index)
        out["Reported"] = False
        for disp in META_COLUMNS:
            out[disp] = self.models[disp].reindex(out.index) if disp in self.models else None
        if reported:
            rep = self.reported_rows(benchmark, types or list(TASK_TYPES))
            if len(rep):
                out = pd.concat([out, rep], ignore_index=True)
        out = out.reset_index(drop=True)
        out["Rank (Borda)"] = out["Rank (Borda)"].astype("Int64")
        out["Tied group"] = out["Tied group"].astype("Int64")
        return out

    def reported_rows(self, benchmark: str, types: Sequence[str]) -> pd.DataFrame:
        """The paper's rows for a benchmark: per-type means, Mean (TaskType) from them, everything else missing."""
        rows = []
        for r in REPORTED.get(benchmark, []):
            row: dict[str, Any] = {"Model": r["Model"], "Reported": True, "Coverage": "reported"}
            vals = [r.get(t) for t in types]
            for t, v in zip(types, vals):
                row[t] = v
            if all(v is not None for v in vals):
                row["Mean (TaskType)"] = row["Mean (TaskType, completed)"] = float(np.mean(vals))
            rows.append(row)
        return pd.DataFrame(rows)

    def task_scores(self, task: str) -> pd.DataFrame:
        """Every model's score on one task, best first, with the model's rank on it (ties share the lowest rank)."""
        s = self.scores[self.scores["task"] == task][["model", "revision", "score", "date", "mteb_version"]].copy()
        s["rank"] = s["score"].rank(method="min", ascending=False).astype("Int64")
        return s.sort_values(["rank", "model"], na_position="last", ignore_index=True)

    @cached_property
    def ranked_scores(self) -> pd.DataFrame:
        """``scores`` plus each model's ``rank`` on the task (ties share the lowest) and ``of`` (models scored)."""
        ranked = self.scores.assign(rank=self.scores.groupby("task")["score"].rank(method="min", ascending=False))
        ranked["rank"] = ranked["rank"].astype("Int64")
        ranked["of"] = ranked.groupby("task")["score"].transform("count")
        return ranked.sort_values(["model", "benchmark", "task_type", "task"], ignore_index=True)

    def model_scores(self, model: str) -> pd.DataFrame:
        """One model's score on every task it ran, with its rank among the models that ran the task."""
        r = self.ranked_scores
        return r[r["model"] == model].reset_index(drop=True)
