"""The leaderboard's statistics: bootstrap intervals, paired comparisons, tie groups and chance levels.

Everything is seeded, and no seed depends on a model's name: two models with the same scores on the same tasks get
the same interval, whatever they are called and whoever else is on the board.

* :func:`bootstrap_ci`: a model's own percentile interval of its mean over tasks (tasks resampled). Its width
  mostly reflects how tasks differ in difficulty, so it is shown, but never used to say two models are tied.
* :func:`paired_difference`: the mean task-by-task difference between two models over the tasks both ran, with a
  paired percentile bootstrap interval (the same task resampled for both models). Two models are *separated* when
  that interval excludes 0.
* :func:`tie_groups`: walking down the ranking, a model joins the current group while a paired comparison with the
  group's leader does not separate them; otherwise it leads a new group.
* :func:`constant_chance`: the score of the best constant predictor (one label for every text, or "positive" for
  every pair), from the task's descriptive statistics; :func:`chance_levels` adds mteb's random encoder.

    >>> import pandas as pd
    >>> wide = pd.DataFrame({"t1": [0.61, 0.60], "t2": [0.42, 0.40], "t3": [0.82, 0.80]}, index=["a", "b"])
    >>> d = paired_difference(wide.loc["a"], wide.loc["b"])
    >>> round(d.mean, 3), d.separated
    (0.017, True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from medeval.spec import TaskSpec

#: The model whose scores are mteb's random-encoder chance level (a submitted result like any other).
RANDOM_ENCODER = "mteb/baseline-random-encoder"
#: A task is "at chance" when no model (other than the random encoder) beats its chance level by this much
#: (one point on the site's x100 scale).
CHANCE_MARGIN = 0.01
#: Fewer tasks in common than this and a paired comparison separates nothing.
MIN_PAIRED_TASKS = 3


def _draw_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Bootstrap resamples of ``range(n)``: the same for every model (or pair) with ``n`` tasks."""
    rng = np.random.default_rng([seed, n])
    return rng.integers(0, n, size=(n_boot, n))


def bootstrap_ci(wide: pd.DataFrame, *, n_boot: int = 1000, seed: int = 42, level: float = 0.95) -> pd.DataFrame:
    """Percentile bootstrap interval of each row's mean over its non-missing columns (tasks resampled).

    Args:
        wide: models x tasks scores (NaN where a model has no score).
        n_boot: number of bootstrap draws.
        seed: the seed; with the number of tasks it fixes the draws (never the model's name).
        level: coverage of the interval.

    Returns:
        A DataFrame indexed like ``wide`` with columns ``CI low`` and ``CI high`` (NaN for a model without scores).

    Example:
        >>> ci = bootstrap_ci(pd.DataFrame({"t1": [0.5, 0.5], "t2": [0.7, 0.7]}, index=["x", "y"]))
        >>> ci.loc["x"].tolist() == ci.loc["y"].tolist()
        True
    """
    lo_q, hi_q = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out = {}
    for model, row in wide.iterrows():
        vals = row.dropna().to_numpy(dtype=float)
        if len(vals) == 0:
            out[model] = (np.nan, np.nan)
            continue
        draws = vals[_draw_indices(len(vals), n_boot, seed)].mean(axis=1)
        out[model] = (float(np.percentile(draws, lo_q)), float(np.percentile(draws, hi_q)))
    return pd.DataFrame.from_dict(out, orient="index", columns=["CI low", "CI high"]).reindex(wide.index)


@dataclass(frozen=True)
class PairedDifference:
    """The paired comparison of model A with model B (A - B) over the tasks both ran (see :func:`paired_difference`).

    Attributes:
        n_tasks: tasks both models have a score on.
        mean: mean of the per-task differences A - B, in main-score units (NaN without common tasks).
        low: lower end of the percentile bootstrap interval of ``mean`` (NaN with fewer than
            :data:`MIN_PAIRED_TASKS` tasks).
        high: upper end of that interval (NaN likewise).
        wins: tasks on which A scores higher than B.
        losses: tasks on which A scores lower than B.
    """

    n_tasks: int
    mean: float
    low: float
    high: float
    wins: int
    losses: int

    @property
    def separated(self) -> bool:
        """True when the interval excludes 0: the data say which of the two models is better."""
        return not (math.isnan(self.low) or math.isnan(self.high)) and (self.low > 0 or self.high < 0)


def paired_difference(a: pd.Series, b: pd.Series, *, n_boot: int = 1000, seed: int = 42, level: float = 0.95) -> PairedDifference:
    """Paired bootstrap of the mean per-task difference ``a - b`` over the tasks both have a score on.

    Args:
        a: model A's main score per task (index: task names; NaN = no score).
        b: model B's, indexed the same way (tasks only one model ran are left out).
        n_boot: number of bootstrap draws.
        seed: the seed; with the number of common tasks it fixes the draws (never the models' names).
        level: coverage of the interval, e.g. 0.95.

    Returns:
        A :class:`PairedDifference`.

    Example:
        >>> paired_difference(pd.Series({"t1": 0.5}), pd.Series({"t1": 0.4})).separated   # one task: too few
        False
    """
    both = pd.concat([a, b], axis=1, keys=["a", "b"]).dropna()
    d = (both["a"] - both["b"]).to_numpy(dtype=float)
    n = len(d)
    if n == 0:
        return PairedDifference(0, math.nan, math.nan, math.nan, 0, 0)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    if n < MIN_PAIRED_TASKS:
        return PairedDifference(n, float(d.mean()), math.nan, math.nan, wins, losses)
    draws = d[_draw_indices(n, n_boot, seed)].mean(axis=1)
    lo, hi = np.percentile(draws, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return PairedDifference(n, float(d.mean()), float(lo), float(hi), wins, losses)


def tie_groups(wide: pd.DataFrame, order: Sequence[str], *, n_boot: int = 1000, seed: int = 42,
               level: float = 0.95) -> pd.DataFrame:
    """Tie groups by paired comparisons with each group's leader, walking down the ranking ``order``.

    A model joins the current group while the paired bootstrap interval of (leader - model) over the tasks both ran
    contains 0; otherwise it leads a new group. Groups are numbered from 1.

    Args:
        wide: models x tasks scores (the tasks the ranking uses), float [n_models, n_tasks], NaN = no score.
        order: the models (index labels of ``wide``), best first.
        n_boot: bootstrap draws per comparison (:func:`paired_difference`).
        seed: the seed of those draws.
        level: coverage of the paired intervals.

    Returns:
        A DataFrame indexed by model with ``Tied group`` (Int64) and, against the model's group leader,
        ``vs leader`` (mean difference leader - model), ``vs leader low`` / ``vs leader high`` and
        ``vs leader tasks`` (the tasks compared); NaN for a group leader.

    Example:
        >>> w = pd.DataFrame([[0.9, 0.8, 0.7, 0.6], [0.8, 0.7, 0.6, 0.5]], index=["a", "b"], columns=list("wxyz"))
        >>> tie_groups(w, ["a", "b"])["Tied group"].tolist()    # b is 0.1 worse on every task
        [1, 2]
    """
    rows: dict[Any, dict[str, Any]] = {}
    group, leader = 0, None
    for model in order:
        joins = False
        if leader is not None:
            d = paired_difference(wide.loc[leader], wide.loc[model], n_boot=n_boot, seed=seed, level=level)
            joins = not d.separated  # too few common tasks separate nothing
            rec = {"vs leader": d.mean, "vs leader low": d.low, "vs leader high": d.high, "vs leader tasks": d.n_tasks}
        if not joins:
            group += 1
            leader = model
            rec = {"vs leader": math.nan, "vs leader low": math.nan, "vs leader high": math.nan, "vs leader tasks": math.nan}
        rows[model] = {"Tied group": group, **rec}
    out = pd.DataFrame.from_dict(rows, orient="index",
                                 columns=["Tied group", "vs leader", "vs leader low", "vs leader high", "vs leader tasks"])
    out["Tied group"] = out["Tied group"].astype("Int64")
    return out


# ----------------------------------------------------------------------------------------------- chance levels
def _ratio_share(ratio: Any) -> float | None:
    """The positive share of a ``"1:3"`` positives : negatives ratio (0.25), else None."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*", str(ratio)) if ratio is not None else None
    if not m:
        return None
    pos, neg = float(m.group(1)), float(m.group(2))
    return pos / (pos + neg) if pos + neg > 0 else None


def _label_counts(stats: Mapping[str, Any] | None, split: str) -> dict[str, int]:
    """Label -> count in ``split`` from mteb's descriptive statistics (``label_statistics.labels``)."""
    entry = stats.get(split) if isinstance(stats, Mapping) else None
    if not isinstance(entry, Mapping):
        return {}
    for key in ("label_statistics", "labels_statistics"):
        labels = entry.get(key, {}).get("labels") if isinstance(entry.get(key), Mapping) else None
        if isinstance(labels, Mapping):
            return {str(k): int(v["count"]) for k, v in labels.items() if isinstance(v, Mapping) and isinstance(v.get("count"), int)}
    return {}


def constant_chance(spec: TaskSpec, stats: Mapping[str, Any] | None = None) -> float | None:
    """The main score of the best constant predictor on a task, or None where none is defined here.

    * Classification (macro-F1): predicting one label ``c`` for every text gives F1 ``2p/(1+p)`` on ``c`` (``p`` its
      share of the test texts) and 0 on the other ``K - 1`` labels, so macro-F1 ``2p/(1+p)/K``; the best ``c`` counts.
      Needs the test label counts (descriptive statistics).
    * PairClassification (best-threshold F1): calling every pair positive gives ``2p/(1+p)``, ``p`` the positive
      share (from the statistics, else the YAML's ``ratio``, e.g. 1:3 -> 0.400).
    * Clustering (V-measure): one cluster for everything scores 0.
    * Retrieval: None (a constant ranking is no baseline; mteb's random encoder is).

    Args:
        spec: the task's :class:`medeval.spec.TaskSpec`.
        stats: the task's descriptive statistics in mteb's format (``{split: {...}}``), if known.

    Returns:
        The chance score in [0, 1], or None.
    """
    split = spec.evaluation.eval_splits[0]
    if spec.type == "Clustering":
        return 0.0
    counts = _label_counts(stats, split)
    if spec.type == "Classification" and counts:
        total = sum(counts.values())
        best = max(counts.values()) / total if total else 0.0
        return 2 * best / (1 + best) / len(counts) if total else None
    if spec.type == "PairClassification":
        p = None
        if counts and sum(counts.values()):
            p = counts.get("1", 0) / sum(counts.values())
        if p is None:
            c = spec.construction
            ratio = None
            if c is not None:
                ratio = c.params.get("ratio") or (getattr(c.hard_negatives, "ratio", None) if c.hard_negatives else None)
            p = _ratio_share(ratio)
        return 2 * p / (1 + p) if p else None
    return None


def chance_levels(specs: Mapping[str, TaskSpec], stats: Mapping[str, Mapping[str, Any] | None], scores: pd.DataFrame) -> pd.DataFrame:
    """Chance levels per task: the constant predictor, mteb's random encoder (when its results are on the board).

    Args:
        specs: task name -> :class:`medeval.spec.TaskSpec`.
        stats: task name -> descriptive statistics or None (mteb's format,
            :func:`medeval.leaderboard.descriptive.descriptive_stats`).
        scores: the tidy scores (``model``, ``task``, ``score``); the random encoder's rows
            (:data:`RANDOM_ENCODER`) give the ``Random encoder`` column.

    Returns:
        A DataFrame indexed by task: ``Constant``, ``Random encoder`` and ``Chance`` (the higher of the two; NaN
        where neither is known).
    """
    rand = scores[scores["model"].str.lower() == RANDOM_ENCODER].set_index("task")["score"] if len(scores) else pd.Series(dtype=float)
    rows = {}
    for name, spec in specs.items():
        const = constant_chance(spec, stats.get(name))
        r = rand.get(name, math.nan)
        vals = [v for v in (const, r) if v is not None and not math.isnan(v)]
        rows[name] = {"Constant": math.nan if const is None else const, "Random encoder": float(r),
                      "Chance": max(vals) if vals else math.nan}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["Constant", "Random encoder", "Chance"])


def at_chance(wide: pd.DataFrame, chance: pd.Series, margin: float = CHANCE_MARGIN) -> list[str]:
    """Tasks (columns of ``wide``) on which no model beats ``chance`` by ``margin``; tasks nobody ran are not listed.

    The random encoder's own row never counts as beating chance.

    Args:
        wide: models x tasks main scores (NaN = no score).
        chance: chance level per task (index: task names; NaN = unknown, never at chance), e.g. the ``Chance``
            column of :func:`chance_levels`.
        margin: how much a model must beat chance by, in main-score units (0.01 = one point on the site's x100 scale).

    Returns:
        Task names in ``wide``'s column order.

    Example:
        >>> w = pd.DataFrame({"t1": [0.30, 0.80], "t2": [0.50, 0.505]}, index=["a", "b"])
        >>> at_chance(w, pd.Series({"t1": 0.25, "t2": 0.5}))
        ['t2']
    """
    w = wide.loc[[m for m in wide.index if str(m).lower() != RANDOM_ENCODER]]
    out = []
    for task in w.columns:
        c = chance.get(task, math.nan)
        best = w[task].max(skipna=True)
        if not (math.isnan(c) or pd.isna(best)) and best < c + margin:
            out.append(task)
    return out


def normalise_to_chance(score: float, chance: float) -> float:
    """Rescale a score so that chance is 0 and a perfect score 1: ``(score - chance) / (1 - chance)``.

    Args:
        score: a main score in [0, 1] (None or NaN gives NaN).
        chance: the task's chance level in [0, 1) (None, NaN or >= 1 gives NaN).

    Returns:
        The normalised score: 0 at chance, 1 at a perfect score, negative below chance; NaN if either is unknown.

    Example:
        >>> normalise_to_chance(0.625, 0.25)
        0.5
    """
    if chance is None or math.isnan(chance) or score is None or math.isnan(score) or chance >= 1:
        return math.nan
    return (score - chance) / (1 - chance)
