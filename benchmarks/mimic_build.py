"""Time and peak memory of building the MIMIC tasks from a MIMIC-sized discharge file (fake notes, never real data).

Generates a fake ``note/discharge.csv.gz`` + ``hosp/admissions.csv.gz`` with ``tests/mimic_fixture.py`` (default
300,000 notes of ~9 kB, like MIMIC-IV-Note's 331,793), then, in a fresh process so the figures cover only the
build, parses the notes once and builds the 19 model-free MIMIC tasks (classification, clustering, readmission,
retrieval) and optionally one hard-negative pair task with a smaller cap (MiniLM on CPU). Prints wall time per step
and the peak RSS (``resource.getrusage(...).ru_maxrss``) of the build process.

    python benchmarks/mimic_build.py                          # 300k notes, model-free tasks
    python benchmarks/mimic_build.py --notes 30000 --pairs-cap 1024
    python benchmarks/mimic_build.py --workdir /tmp/mimic300k --keep   # reuse the generated files next time
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def build(mimic_dir: Path, home: Path, pairs_cap: int | None, pairs_task: str) -> dict:
    """Runs in the child: parse once, build every model-free MIMIC task (and one pair task); return the figures."""
    os.environ["MEDEVAL_HOME"] = str(home)
    t0 = time.perf_counter()
    import medeval
    from medeval.build import BuildContext, build_task
    from medeval.sources import mimic, mimic_sections

    out: dict = {"import_s": round(time.perf_counter() - t0, 1), "rss_after_import_mb": round(_rss_mb())}
    files = mimic.locate(mimic_dir)
    t = time.perf_counter()
    cache = mimic_sections.section_cache(files)
    out["parse_s"] = round(time.perf_counter() - t, 1)
    out["rss_after_parse_mb"] = round(_rss_mb())
    out["parsed"] = cache.info["counts"]
    out["cache_mb"] = round(cache.path.stat().st_size / 1e6)
    ctx = BuildContext(mimic_dir=mimic_dir, show_progress=False)
    specs = [t.spec for t in medeval.get_tasks(benchmark="MedEval(v1)") if t.spec.source.group == "MIMIC-IV"]  # type: ignore[attr-defined]
    tasks: dict[str, float] = {}
    t = time.perf_counter()
    for spec in specs:
        if spec.construction.builder == "mimic.section_pairs":
            continue
        ts = time.perf_counter()
        build_task(spec, ctx)
        tasks[spec.name] = round(time.perf_counter() - ts, 1)
    out["model_free_tasks"] = len(tasks)
    out["model_free_build_s"] = round(time.perf_counter() - t, 1)
    out["per_task_s"] = tasks
    out["rss_after_model_free_mb"] = round(_rss_mb())
    if pairs_cap:
        spec = medeval.get_spec(pairs_task)
        spec = spec.model_copy(update={"construction": spec.construction.model_copy(update={"max_rows": pairs_cap})})
        ts = time.perf_counter()
        build_task(spec, ctx, folder=home / "bench_pairs")
        out["pair_task"] = {"task": spec.name, "max_rows": pairs_cap, "seconds": round(time.perf_counter() - ts, 1)}
        out["rss_after_pairs_mb"] = round(_rss_mb())
    out["peak_rss_mb"] = round(_rss_mb())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=300_000)
    ap.add_argument("--filler", type=int, default=4, help="paragraphs per long section (4 gives ~9 kB notes)")
    ap.add_argument("--pairs-cap", type=int, default=0, help="also build one MiniLM pair task capped at this many pairs")
    ap.add_argument("--pairs-task", default="MimicChiefComplaintInstructionsPairClassification",
                    help="the pair task to time (default: one whose second section is long, the slowest to embed)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the fake MIMIC folder goes (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files (and reuse them when present)")
    ap.add_argument("--child", nargs=2, metavar=("MIMIC_DIR", "HOME"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(build(Path(args.child[0]), Path(args.child[1]), args.pairs_cap or None, args.pairs_task)))
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="mimic-bench-"))
    mimic_dir = work / "mimic"
    report: dict = {"notes": args.notes, "filler": args.filler}
    try:
        marker = mimic_dir / "GENERATED.json"
        if marker.is_file() and json.loads(marker.read_text()) == {"notes": args.notes, "filler": args.filler}:
            report["generate_s"] = "reused"
        else:
            sys.path.insert(0, str(REPO / "tests"))
            from mimic_fixture import generate

            t = time.perf_counter()
            fx = generate(mimic_dir, args.notes, seed=0, filler=args.filler, compresslevel=1, keep_truth=False)
            report["generate_s"] = round(time.perf_counter() - t, 1)
            marker.write_text(json.dumps({"notes": args.notes, "filler": args.filler}))
            report["addenda"] = fx.n_addenda
        report["discharge_gz_mb"] = round((mimic_dir / "note" / "discharge.csv.gz").stat().st_size / 1e6)
        home = work / "home"
        shutil.rmtree(home, ignore_errors=True)  # always parse afresh
        t = time.perf_counter()
        cmd = [sys.executable, __file__, "--child", str(mimic_dir), str(home), "--pairs-task", args.pairs_task]
        cmd += ["--pairs-cap", str(args.pairs_cap)] if args.pairs_cap else []
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
        if proc.returncode != 0:
            sys.exit(f"build failed:\n{proc.stderr[-3000:]}")
        report["build_process_wall_s"] = round(time.perf_counter() - t, 1)
        report.update(json.loads(proc.stdout.strip().splitlines()[-1]))
        report["peak_rss_children_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    per_task = report.pop("per_task_s", {})
    print(json.dumps(report, indent=2))
    print("slowest tasks (s):", dict(sorted(per_task.items(), key=lambda kv: -kv[1])[:5]))


if __name__ == "__main__":
    main()
