"""``python -m medeval.cli.descriptive_stats``: write the committed descriptive statistics of task data
(``tasks/descriptive_stats/<Task>.json``, :mod:`medeval.leaderboard.descriptive`) and print one line per task.

    MEDEVAL_HOME=/tmp/medeval-home python -m medeval.cli.descriptive_stats     # every offline task (or -b / -t)
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Write ``tasks/descriptive_stats/<Task>.json`` for the given tasks, a benchmark's tasks, or every offline task.

    A task whose data is not built is skipped with one line; each file is written atomically.

    Args:
        argv: command-line arguments (``-b BENCHMARK``, ``-t TASK`` repeated, ``--out FOLDER``); None reads
            ``sys.argv``.

    Returns:
        The exit status, 0.
    """
    from medeval.leaderboard.descriptive import select_tasks, write_stats

    ap = argparse.ArgumentParser(description=(main.__doc__ or "").splitlines()[0])
    ap.add_argument("-b", "--benchmark", default=None)
    ap.add_argument("-t", "--task", action="append", default=[])
    ap.add_argument("--out", type=Path, default=None, help="folder (default: tasks/descriptive_stats)")
    args = ap.parse_args(argv)
    for line in write_stats(select_tasks(args.task, args.benchmark), args.out):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
