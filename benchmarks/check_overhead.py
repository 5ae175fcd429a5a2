"""What the data checks (medeval/checks/) add to loading a task: load_data with the checks, and without them.

    python benchmarks/check_overhead.py                              # ICD10CMAbbreviatedTitleRetrieval, 15 rounds
    python benchmarks/check_overhead.py -t ICD10CMChapterClustering --rounds 9

The task must be built in the data folder (``MEDEVAL_HOME``; ``medeval build -t TASK``). Each round loads a fresh
task object three times, in rotating order: without checks (``check_tables`` replaced by a no-op: same reading,
same conversion to rows), with every check (``cold``: the stamp of a clean check removed first, as on the first
load after a build or after any change to the files) and with the stamp in place (``warm``: types and nulls only).
It prints the medians of wall and CPU time, ``check_tables`` alone on the tables as read, and the overheads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

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
    stamp = Path(task.data_folder()) / checks.STAMP
    _load(args.task)  # warm imports and the OS file cache
    times: dict[str, list[tuple[float, float]]] = {"off": [], "cold": [], "warm": []}
    alone: list[tuple[float, float]] = []
    modes = list(times)
    for i in range(args.rounds):
        for mode in modes[i % 3:] + modes[: i % 3]:
            checks.check_tables = real if mode != "off" else (lambda *a, **k: [])  # type: ignore[assignment]
            if mode == "cold":
                stamp.unlink(missing_ok=True)
            elif mode == "warm" and not stamp.is_file():
                _load(args.task)  # writes the stamp
            times[mode].append(_load(args.task))
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
        off, cold, warm, a = (med(times["off"], k), med(times["cold"], k), med(times["warm"], k), med(alone, k))
        print(f"{what:>4}: load without checks {off * 1000:7.1f} ms; first load, every check {cold * 1000:7.1f} ms "
              f"(+{(cold - off) / off * 100:4.1f}%); later loads (stamp) {warm * 1000:7.1f} ms "
              f"(+{(warm - off) / off * 100:4.1f}%); check_tables alone {a * 1000:5.1f} ms ({a / off * 100:4.1f}%)")


if __name__ == "__main__":
    main()
