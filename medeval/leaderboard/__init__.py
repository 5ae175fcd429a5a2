"""The leaderboard: mteb result folders -> tidy pandas tables -> ranks, intervals, tie groups and chance levels.

Three modules, one stage each: :mod:`~medeval.leaderboard.load` reads result folders (broken files become warnings),
:mod:`~medeval.leaderboard.aggregate` builds the tables (means, coverage, Borda ranks, reported rows) and
:mod:`~medeval.leaderboard.stats` holds the statistics (bootstrap intervals, paired comparisons, tie groups, chance
levels); :mod:`~medeval.leaderboard.descriptive` reads the committed descriptive statistics of task data. Nothing
here needs mkdocs or plotly::

    >>> from medeval.leaderboard import load_leaderboard
    >>> lb = load_leaderboard("leaderboard")
    >>> lb.scores.columns[:3].tolist()           # tidy: one row per (model, task)
    ['model', 'revision', 'task']
    >>> table = lb.summary("MedEval(v1)")        # Borda rank, means, coverage, 95% CI, paired tie groups
    >>> by_source, counts = lb.group_means("MedEval(v1)", by="source")   # mean per upstream source (paper, table 2)
    >>> skipped = lb.warnings                    # files skipped, and why
"""

from medeval.leaderboard.aggregate import PAPER_MODEL_IDS, Leaderboard, borda_rank, coverage_label, reported_source
from medeval.leaderboard.columns import META_COLUMNS, SCORE_COLUMNS, TASK_TYPES
from medeval.leaderboard.load import MODEL_META, RUN_SETTINGS, load_leaderboard, results_root, task_table
from medeval.leaderboard.stats import (
    CHANCE_MARGIN,
    RANDOM_ENCODER,
    PairedDifference,
    bootstrap_ci,
    constant_chance,
    normalise_to_chance,
    paired_difference,
    tie_groups,
)

__all__ = [
    "CHANCE_MARGIN", "META_COLUMNS", "MODEL_META", "PAPER_MODEL_IDS", "RANDOM_ENCODER", "RUN_SETTINGS", "SCORE_COLUMNS",
    "TASK_TYPES", "Leaderboard", "PairedDifference", "bootstrap_ci", "borda_rank", "constant_chance", "coverage_label",
    "load_leaderboard", "normalise_to_chance", "paired_difference", "reported_source", "results_root", "task_table",
    "tie_groups",
]
