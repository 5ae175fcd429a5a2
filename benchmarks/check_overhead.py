"""What the data checks (medeval/checks.py) add to loading a task: load_data with the checks, and without them.

    python benchmarks/check_overhead.py                              # ICD10CMAbbreviatedTitleRetrieval, 15 rounds
    python benchmarks/check_overhead.py -t ICD10CMChapterClustering --rounds 9

The task must be built in the data folder (``MEDEVAL_HOME``; ``medeval build -t TASK``). Each round loads a fresh
task object twice, once with the checks and once with ``check_tables`` replaced by a no-op (same reading, same
conversion to rows), in alternating order; the script prints the medians of wall and CPU time, the checks alone
(``check_tables`` timed on the tables as read), and the overhead in percent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _load(name: str) -> tuple[float, float]:
    import medeval

    task = medeval.get_task(name)
    w, c = time.perf_counter(), time.process_time()
    task.load_data()
    return time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--task", default="ICD10CMAbbreviatedTitleRetrieval")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()

    import medeval
    from medeval import checks

    real = checks.check_tables
    task = medeval.get_task(args.task)
    if not task.is_built():
        raise SystemExit(f"{args.task} is not built in this data folder; run `medeval build -t {args.task}` first")
    _load(args.task)  # warm imports and the OS file cache
    on: list[tuple[float, float]] = []
    off: list[tuple[float, float]] = []
    alone: list[tuple[float, float]] = []
    for i in range(args.rounds):
        for checked in ((True, False) if i % 2 == 0 else (False, True)):
            checks.check_tables = real if checked else (lambda *a, **k: [])  # type: ignore[assignment]
            (on if checked else off).append(_load(args.task))
        checks.check_tables = real  # type: ignore[assignment]
        read = {n: checks._read(task.data_folder(), n)[0] for n in task.table_names()}
        w, c = time.perf_counter(), time.process_time()
        findings = real(task.spec.type, read, getattr(task, "train_split", "train"), list(task.metadata.eval_splits))
        alone.append((time.perf_counter() - w, time.process_time() - c))
        assert not [f for f in findings if f.severity == "error"], findings

    def med(xs: list[tuple[float, float]], k: int) -> float:
        return statistics.median(x[k] for x in xs)

    sizes = {n: t.num_rows for n, t in read.items() if t is not None}
    print(f"task {args.task}: {sizes}; {args.rounds} rounds, medians")
    for k, what in ((0, "wall"), (1, "CPU")):
        a, b, c = med(off, k), med(on, k), med(alone, k)
        print(f"{what:>4}: load without checks {a * 1000:8.1f} ms, with checks {b * 1000:8.1f} ms "
              f"(+{(b - a) / a * 100:5.1f}%); check_tables alone {c * 1000:6.1f} ms ({c / a * 100:4.1f}% of the load)")


if __name__ == "__main__":
    main()
