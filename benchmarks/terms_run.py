"""Time a whole MedEval-Terms run for one model and print per-task times and peak memory.

    python benchmarks/terms_run.py                       # all-MiniLM-L6-v2 from PyPI, offline
    python benchmarks/terms_run.py -m ./my-model --batch-size 64

Runs ``medeval run`` in a child process with a fresh output folder (so every task is scored) and the data folder
you use (builds the terms tasks first if needed, timed separately). Peak RSS is the child's maximum resident set.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", default=None, help="model (default: all-MiniLM-L6-v2 from PyPI)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--benchmark", default="MedEval-Terms(v1)")
    ap.add_argument("--no-cache", action="store_true", help="pass --no-cache to medeval run")
    args = ap.parse_args()

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "medeval", "build", "-b", args.benchmark], check=True, capture_output=True)
    build_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "medeval", "run", "-b", args.benchmark, "-o", out, "--batch-size", str(args.batch_size), "--offline"]
        if args.model:
            cmd += ["-m", args.model]
        if args.no_cache:
            cmd += ["--no-cache"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        run_s = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            return proc.returncode
        from medeval.results.files import read_run_settings
        from medeval.results.layout import RESULTS, RUN_SETTINGS, result_files

        folder = next(Path(out).glob(f"{RESULTS}/*/*/{RUN_SETTINGS}")).parent
        rows = list(read_run_settings(folder).values())
        scores = {}
        for f in result_files(folder):
            obj = json.loads(f.read_text())
            scores[obj["task_name"]] = obj["scores"]["test"][0]["main_score"]
    print(f"model: {args.model or 'all-MiniLM-L6-v2 (PyPI)'}   batch size {args.batch_size}   cache {'off' if args.no_cache else 'on'}")
    print(f"{'task':45s} {'seconds':>8s} {'score':>8s}")
    for r in sorted(rows, key=lambda r: -r["wall_seconds"]):
        print(f"{r['task']:45s} {r['wall_seconds']:8.1f} {scores.get(r['task'], float('nan')):8.4f}")
    print(f"build (if needed): {build_s:.1f} s")
    print(f"medeval run total (incl. model load and start-up): {run_s:.1f} s; sum of task times {sum(r['wall_seconds'] for r in rows):.1f} s")
    print(f"peak RSS of the run: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
