"""The leaderboard's tables: means, coverage, Borda ranks, tie groups, chance levels and the paper's reported rows.

    >>> from medeval.leaderboard import load_leaderboard
    >>> lb = load_leaderboard("leaderboard")
    >>> table = lb.summary("MedEval(v1)")        # Borda rank, strict and completed means, coverage, 95% CI, ties
    >>> table.columns[:4].tolist()
    ['Model', 'Rank (Borda)', 'Mean (Task)', 'Mean (TaskType)']
    >>> paper = lb.reported_table("MedEval(v1)")  # what the paper reports: its own table, never ranked
    >>> lb.chance.columns.tolist()               # chance level per task (constant predictor, random encoder)
    ['Constant', 'Random encoder', 'Chance']

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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from medeval.leaderboard.columns import META_COLUMNS, TASK_TYPES
from medeval.leaderboard.stats import at_chance, bootstrap_ci, chance_levels, tie_groups

if TYPE_CHECKING:
    from medeval.spec import BenchmarkSpec

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
    """Format how many of a benchmark's tasks a model completed, as the site's Coverage column shows it.

    Args:
        done: tasks the model has a score on.
        total: tasks in the benchmark.

    Returns:
        ``"done/total"``.

    Example:
        >>> coverage_label(37, 51)
        '37/51'
    """
    return f"{done}/{total}"


def reported_source(benchmark: str) -> str | None:
    """Where a benchmark's reported rows come from (its YAML's ``reported.source``, e.g. the MedTE paper's table).

    Args:
        benchmark: a benchmark name, e.g. ``"MedEval(v1)"``; an unknown name is not an error.

    Returns:
        The ``reported.source`` text (paper, table, precision), or None when the benchmark is unknown or reports none.
    """
    spec = _bench_spec(benchmark)
    return spec.reported.source if spec is not None and spec.reported is not None else None


def _bench_spec(benchmark: str) -> BenchmarkSpec | None:
    from medeval.benchmarks import benchmark_names, get_benchmark_spec

    return get_benchmark_spec(benchmark) if benchmark in benchmark_names() else None


@dataclass
class Leaderboard:
    """Loaded results of many models, and the tables the site shows (made by :func:`load_leaderboard`).

    Args:
        scores: tidy table, one row per (model, task), columns :data:`~medeval.leaderboard.SCORE_COLUMNS`; ``score``
            is the task's main score in [0, 1] (NaN when the result file lacks it).
        models: one row per model (index: model name): its model_meta.json fields
            (:data:`~medeval.leaderboard.META_COLUMNS`) and what its run_settings.jsonl recorded (device, versions,
            protocol).
        tasks: the task catalogue (index: task name), as :func:`~medeval.leaderboard.task_table` returns it.
        warnings: one line per file or folder that was skipped, and why.
    """

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
        """The benchmark's tasks, ordered by task type (as :data:`TASK_TYPES`), then name.

        Args:
            benchmark: a benchmark name from :attr:`benchmarks`.

        Returns:
            Task names; empty when no loaded task belongs to ``benchmark``.
        """
        t = self.tasks[self.tasks["benchmark"] == benchmark]
        order = {name: i for i, name in enumerate(TASK_TYPES)}
        return sorted(t.index, key=lambda n: (order.get(t.loc[n, "task_type"], len(order)), n))

    def wide(self, benchmark: str) -> pd.DataFrame:
        """Scores as models x tasks (every task of the benchmark a column; NaN where a model has no score).

        Models without a single score on the benchmark are left out (as mteb drops all-null rows).

        Args:
            benchmark: a benchmark name from :attr:`benchmarks`.

        Returns:
            float DataFrame [n_models, n_tasks]: index model names, columns :meth:`benchmark_tasks`, main scores
            in [0, 1].
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
        """The benchmark's tasks that no model beats chance on (flagged on the site and left out of ranks).

        A task is at chance when no model's score exceeds the task's :attr:`chance` level by
        :data:`~medeval.leaderboard.CHANCE_MARGIN`.

        Args:
            benchmark: a benchmark name from :attr:`benchmarks`.

        Returns:
            Task names, in :meth:`benchmark_tasks` order.
        """
        return at_chance(self.wide(benchmark), self.chance["Chance"])

    def group_means(self, benchmark: str, by: str = "type") -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per-model means over completed tasks of each task type (``by="type"``) or source group (``by="source"``).

        Args:
            benchmark: a benchmark name from :attr:`benchmarks`.
            by: ``"type"`` (columns in the order Classification, Clustering, PairClassification, Retrieval) or
                ``"source"`` (the upstream source group, e.g. ``"PubMed"``; the biggest group first, as the paper's
                table).

        Returns:
            ``(means, counts)``, both [n_models, n_groups]: ``means`` the mean main score over the tasks of the group
            the model completed (NaN if none), ``counts`` (Int64) how many of them; the groups' sizes are in
            ``counts.attrs["sizes"]``.

        Raises:
            KeyError: ``by`` is neither ``"type"`` nor ``"source"``.
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
            benchmark: a benchmark name from :attr:`benchmarks`.
            n_boot: bootstrap draws for the 95% intervals and the paired tie tests.
            seed: seed of those draws (the same seed gives the same table).
            reported: also append the paper's reported rows (``Reported = True``, never ranked). The site shows
                them in their own table (:meth:`reported_table`) instead.

        Returns:
            One row per model (then reported rows), best first: Model, Rank (Borda), the strict and completed means,
            Completed, Tasks, Coverage, Provisional, per-type means and counts, CI low/high, Tied group, vs leader,
            Reported and the :data:`~medeval.leaderboard.META_COLUMNS`.
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

        The rows come from the benchmark YAML's ``reported`` block (for MedEval(v1): the MedTE paper, arXiv 2507.19407);
        model ids from :data:`PAPER_MODEL_IDS`.

        Args:
            benchmark: a benchmark name; one without reported rows (or unknown) gives an empty table.
            types: the task-type columns to fill (a type the paper does not report is None).

        Returns:
            One row per reported model: ``Model`` (the exact id the paper ran where known, else the paper's name),
            ``Paper name``, ``Id``, the per-type means, ``Mean (TaskType)`` (only when every type in ``types`` is
            reported), ``Reported = True`` and ``Run`` (the same model's name on this leaderboard, if someone ran it
            with medeval).
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
        """:meth:`reported_rows` with the four task types, best Mean (TaskType) first (never ranked).

        Args:
            benchmark: a benchmark name.

        Returns:
            The reported rows sorted by Mean (TaskType), descending; empty when the benchmark reports none.
        """
        rep = self.reported_rows(benchmark, TASK_TYPES)
        if rep.empty:
            return rep
        return rep.sort_values("Mean (TaskType)", ascending=False, kind="stable", ignore_index=True)

    def task_scores(self, task: str) -> pd.DataFrame:
        """Every model's score on one task, best first, with the model's rank on it (ties share the lowest rank).

        Args:
            task: a task name, e.g. ``"HPOLaypersonRetrieval"``.

        Returns:
            Columns model, revision, score, date, mteb_version, rank (Int64; NA for a missing score); empty when no
            model ran ``task``.
        """
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
        """One model's score on every task it ran, with its rank among the models that ran the task.

        Args:
            model: a model name as in ``scores["model"]``, e.g. ``"sentence-transformers/all-MiniLM-L6-v2"``.

        Returns:
            The model's rows of :attr:`ranked_scores` (with ``rank`` and ``of``), sorted by benchmark, type and task.
        """
        r = self.ranked_scores
        return r[r["model"] == model].reset_index(drop=True)
