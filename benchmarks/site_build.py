"""Time `medeval site build` on a big synthetic leaderboard: 200 models x all 62 tasks (12,400 mteb result files).

    python benchmarks/site_build.py                     # 200 models, every task, temporary folders
    python benchmarks/site_build.py --models 50 --keep /tmp/lb-bench   # keep the results and the site

The result files are written in mteb's format by :mod:`medeval.site.demo` (random, seeded scores); the timed part
is exactly what `medeval site build` does: load + aggregate (pandas), render (Jinja2), MkDocs Material build.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--coverage", type=float, default=1.0, help="share of tasks each model ran (1.0 = all 62)")
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep results/ and site/ in")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import medeval
    from medeval.leaderboard import load_leaderboard
    from medeval.results.layout import result_files, revision_folders_under
    from medeval.site import build_site
    from medeval.site.demo import write_demo_results

    n_tasks = len(medeval.task_classes())
    print(f"import medeval: {time.perf_counter() - t0:.1f}s")
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        results, site = base / "leaderboard", base / "site"
        t = time.perf_counter()
        write_demo_results(results, n_models=args.models, coverage=args.coverage, seed=0)
        n_files = sum(len(result_files(folder)) for folder in revision_folders_under([results]))
        print(f"wrote {n_files} result files ({args.models} models x {n_tasks} tasks): {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        lb = load_leaderboard(results)
        for b in ("MedEval(v1)", "MedEval-Terms(v1)"):
            lb.summary(b)
        print(f"load + aggregate (pandas, 1000 bootstrap draws per model): {time.perf_counter() - t:.1f}s")
        t, cpu = time.perf_counter(), time.process_time()
        message = build_site(results, site)
        elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        print(message.splitlines()[0])
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        pages = sum(1 for _ in site.rglob("*.html"))
        print(f"site build (load + render + mkdocs): {elapsed:.1f}s wall, {cpu:.1f}s CPU; {pages} pages, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
