"""The leaderboard's tables: means, coverage, Borda ranks, tie groups, chance levels and the paper's reported rows.

    >>> from medeval.leaderboard import load_leaderboard
    >>> lb = load_leaderboard("leaderboard")
    >>> lb.summary("MedEval(v1)")                # Borda rank, strict and completed means, coverage, 95% CI, ties
    >>> lb.reported_table("MedEval(v1)")         # what the paper reports: its own table, never ranked
    >>> lb.chance                                # chance level per task (constant predictor, random encoder)

Definitions (``summary``):

* **Mean (Task)**, **Mean (TaskType)**: strict, as mteb computes them (``skipna=False``): a model missing any task of
  the benchmark gets no mean. Mean (TaskType) is the mean of the per-type means.
* **Mean (Task, completed)**, **Mean (TaskType, completed)**: the same over the tasks the model has results for;
  **Coverage** says how many ("37/51"); **Provisional** is True below full coverage.
* **Rank (Borda)**: as ``mteb.benchmarks._create_table._borda_rank_from_long`` defines it (see :func:`borda_rank`),
  over the benchmark's tasks except those *at chance* (no model beats the task's chance level by
  :data:`~medeval.leaderboard.stats.CHANCE_MARGIN`): a tie at chance says nothing about the models.
* **CI low / CI high**: the model's own bootstrap 95% interval of its completed mean (shown, never used for ties).
* **Tied group**: paired comparisons with each group's leader over the tasks both ran (see
  :func:`medeval.leaderboard.stats.tie_groups`); **vs leader** is the mean difference to that leader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from medeval.leaderboard.load import META_COLUMNS, TASK_TYPES
from medeval.leaderboard.stats import at_chance, bootstrap_ci, chance_levels, tie_groups

#: The exact model each of the MedTE paper's reported rows ran (the authors' repository and model cards), so a
#: reported row and a medeval run of the same model carry one name. None where the paper does not say which
#: checkpoint it used.
PAPER_MODEL_IDS: dict[str, str | None] = {
    "MedTE (gte-base fine-tuned)": "skyfury/CTMEDGTE-cl15-step_8000",
    "MedEmbed-base-v0.1": "abhinand/MedEmbed-base-v0.1",
    "thenlper/gte-base": "thenlper/gte-base",
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "BiomedBERT (mean pooling)": None,
}


def borda_rank(wide: pd.DataFrame) -> pd.Series:
    """Borda rank of each row (model) over the columns (tasks); NaN = the model has no result on that task.

    The same rule as mteb's "Rank (Borda)" (``mteb.benchmarks._create_table._borda_rank_from_long`` in mteb 2.26):
    within each task, models are ranked by score (best = 1, ties share the average rank); a model earns
    ``n_models - rank`` points on each task it ran and 0 on tasks it did not; the totals are ranked again, best
    first, tied totals sharing the lowest rank ("min"). ``n_models`` counts every row of ``wide``.

    Args:
        wide: models x tasks scores.

    Returns:
        An Int64 Series named ``Rank (Borda)``, indexed like ``wide``.
    """
    if wide.empty:
        return pd.Series(dtype="Int64", index=wide.index, name="Rank (Borda)")
    n = len(wide)
    per_task = wide.rank(axis=0, method="average", ascending=False)
    points = (n - per_task).sum(axis=1, skipna=True)
    return points.rank(method="min", ascending=False).astype("Int64").rename("Rank (Borda)")


def coverage_label(done: int, total: int) -> str:
    """``"done/total"``, e.g. ``"37/51"``."""
    return f"{done}/{total}"


def reported_source(benchmark: str) -> str | None:
    """Where a benchmark's reported rows come from (its YAML's ``reported.source``), or None."""
    spec = _bench_spec(benchmark)
    return spec.reported.source if spec is not None and spec.reported is not None else None


def _bench_spec(benchmark: str) -> Any:
    from medeval.benchmarks import benchmark_names, get_benchmark_spec

    return get_benchmark_spec(benchmark) if benchmark in benchmark_names() else None


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
        """The packaged benchmarks in display order (``tasks/benchmarks/*.yaml``), then any a user task names."""
        from medeval.benchmarks import benchmark_names

        names = benchmark_names()
        extra = sorted(set(self.tasks["benchmark"]) - set(names))
        return [*names, *extra]

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

    @cached_property
    def chance(self) -> pd.DataFrame:
        """Chance level per task (index: task): ``Constant``, ``Random encoder``, ``Chance`` (the higher), in [0, 1]."""
        from medeval.catalog import task_classes
        from medeval.leaderboard.descriptive import descriptive_stats

        classes = task_classes()
        specs = {t: classes[t].spec for t in self.tasks.index if t in classes}
        stats = {}
        for t in specs:
            found = descriptive_stats(t)
            stats[t] = found[1] if found and found[0] == "mteb" else None
        return chance_levels(specs, stats, self.scores)

    def tasks_at_chance(self, benchmark: str) -> list[str]:
        """The benchmark's tasks that no model beats chance on (flagged on the site and left out of ranks)."""
        return at_chance(self.wide(benchmark), self.chance["Chance"])

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

    def summary(self, benchmark: str, *, n_boot: int = 1000, seed: int = 42, reported: bool = False) -> pd.DataFrame:
        """The leaderboard table of one benchmark, best first (see the module docstring for each column).

        Args:
            benchmark: a benchmark name.
            n_boot, seed: bootstrap draws and seed (intervals and paired tie tests).
            reported: also append the paper's reported rows (``Reported = True``, never ranked). The site shows
                them in their own table (:meth:`reported_table`) instead.

        Returns:
            One row per model (then reported rows), best first.
        """
        w = self.wide(benchmark)
        n_tasks = w.shape[1]
        info = self.tasks.loc[w.columns, "task_type"]
        type_means, type_counts = self.group_means(benchmark, by="type")
        types = list(type_means.columns)
        excluded = set(self.tasks_at_chance(benchmark)) if len(w) else set()
        ranked = w[[t for t in w.columns if t not in excluded]]
        out = pd.DataFrame(index=w.index)
        out["Model"] = w.index
        out["Rank (Borda)"] = borda_rank(ranked)
        out["Mean (Task)"] = w.mean(axis=1, skipna=False)
        strict_type = pd.DataFrame({t: w[list(info[info == t].index)].mean(axis=1, skipna=False) for t in types}, index=w.index)
        out["Mean (TaskType)"] = strict_type.mean(axis=1, skipna=False) if types else np.nan
        out["Mean (Task, completed)"] = w.mean(axis=1, skipna=True)
        out["Mean (TaskType, completed)"] = type_means.mean(axis=1, skipna=True) if types else np.nan
        done = w.notna().sum(axis=1)
        out["Completed"] = done.astype(int)
        out["Tasks"] = n_tasks
        out["Coverage"] = [coverage_label(d, n_tasks) for d in done]
        out["Provisional"] = done < n_tasks
        out["Ranked tasks"] = ranked.notna().sum(axis=1).astype(int)
        for t in types:
            out[t] = type_means[t]
            out[f"{t} (n)"] = type_counts[t]
        ci = bootstrap_ci(w, n_boot=n_boot, seed=seed)
        out["CI low"], out["CI high"] = ci["CI low"], ci["CI high"]
        out = out.sort_values(["Rank (Borda)", "Mean (Task, completed)", "Model"], ascending=[True, False, True], kind="stable")
        ties = tie_groups(ranked, list(out.index), n_boot=n_boot, seed=seed)
        for col in ties.columns:
            out[col] = ties[col].reindex(out.index)
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

    def reported_rows(self, benchmark: str, types: Sequence[str] = TASK_TYPES) -> pd.DataFrame:
        """The paper's rows for a benchmark: per-type means, Mean (TaskType) from them, the exact model id.

        Returns:
            One row per reported model: ``Model`` (the exact id the paper ran where known, else the paper's name),
            ``Paper name``, ``Id``, the per-type means, ``Mean (TaskType)``, ``Reported = True`` and ``Run`` (the
            same model's name on this leaderboard, if someone ran it with medeval).
        """
        spec = _bench_spec(benchmark)
        rows = []
        run_names = {str(m).lower(): m for m in self.models.index} if len(self.models) else {}
        for r in (spec.reported_rows() if spec is not None else []):
            paper = r["Model"]
            exact = PAPER_MODEL_IDS.get(paper)
            row: dict[str, Any] = {"Model": exact or paper, "Paper name": paper, "Id": exact, "Reported": True,
                                   "Coverage": "reported", "Run": run_names.get(str(exact).lower()) if exact else None}
            vals = [r.get(t) for t in types]
            for t, v in zip(types, vals):
                row[t] = v
            if all(v is not None for v in vals):
                row["Mean (TaskType)"] = row["Mean (TaskType, completed)"] = float(np.mean(vals))
            rows.append(row)
        return pd.DataFrame(rows)

    def reported_table(self, benchmark: str) -> pd.DataFrame:
        """:meth:`reported_rows` with the four task types, best Mean (TaskType) first (never ranked)."""
        rep = self.reported_rows(benchmark, TASK_TYPES)
        if rep.empty:
            return rep
        return rep.sort_values("Mean (TaskType)", ascending=False, kind="stable", ignore_index=True)

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
