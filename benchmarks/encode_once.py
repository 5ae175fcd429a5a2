"""Benchmark: does ``medeval run`` encode each text once, and what does that save against plain mteb?

    python benchmarks/encode_once.py                                   # MedEval-Terms(v1), all-MiniLM-L6-v2
    python benchmarks/encode_once.py -t ClinicTriage -t SymptomSearch --include-path examples/my_tasks
    python benchmarks/encode_once.py -b "MedEval(v1)" --data-dir /data/medeval --model org/name --json out.json

Each phase runs in its own Python process, one after the other, on the same machine and the same built task data:

* ``plain``  - ``mteb.evaluate`` on every task (the same mteb encoder medeval loads, no cache);
* ``cold``   - ``medeval run`` with an empty embedding cache;
* ``warm``   - ``medeval run`` again: the cache is filled, the results folder is fresh, so every task re-scores;
* ``lower``  - the lower bound: every distinct text of the task set (per prompt, as the cache keys them), encoded
  once with the same model and batch size. It scores nothing, so the script also prints the cold run against
  "lower bound + warm run" (encoding once plus mteb's own scoring, which every run pays). The texts are collected first by evaluating the tasks with a recording
  encoder (untimed); they stay in memory, never on disk.

"work" is the wall time of the phase after its model is loaded (imports and model loading are the same in every
phase and left out; for the lower bound it is the encoding alone), "cpu" the CPU time of that part (less sensitive
to other load on a shared machine); "process" is the phase's whole process as the parent sees it. Texts encoded are counted at
``SentenceTransformer.encode``. At the end the scores of the three scoring phases are compared: every numeric score
must agree to 1e-6 (medeval stores scores rounded to 6 decimals, as mteb does). The data folder's ``tasks/`` is
linked into a fresh folder so the phases start from an empty cache without touching the user's one.
Exit code 0 when the scores agree, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOLERANCE = 1e-6
PHASES = ("plain", "cold", "warm", "lower")


# ------------------------------------------------------------------------------------------------ in a phase
def _count_encoded() -> dict[str, int]:
    """Count every text that reaches SentenceTransformer.encode (encode_query/encode_document call it too)."""
    from sentence_transformers import SentenceTransformer

    counter = {"texts": 0, "calls": 0}
    original = SentenceTransformer.encode

    def encode(self: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        counter["calls"] += 1
        counter["texts"] += 1 if isinstance(inputs, str) else len(inputs)
        return original(self, inputs, *args, **kwargs)

    SentenceTransformer.encode = encode  # type: ignore[method-assign]
    return counter


def _setup(args: argparse.Namespace) -> Any:
    from medeval import catalog
    from medeval.run import RunOptions

    for folder in args.include_path or []:
        catalog.add_include_path(folder)
    return RunOptions(
        models=[args.model] if args.model else [], benchmark=args.benchmark, tasks=args.task or [],
        batch_size=args.batch_size, show_progress=False,
    )


def _scores(task_result: Any) -> dict[str, Any]:
    return {split: entries for split, entries in task_result.scores.items()}


def phase_plain(args: argparse.Namespace, out: dict[str, Any]) -> None:
    import mteb

    from medeval.models import load_model
    from medeval.run import select_tasks

    opts = _setup(args)
    tasks = select_tasks(opts)
    counter = _count_encoded()
    loaded = load_model(args.model)
    t0, c0 = time.perf_counter(), time.process_time()
    scores = {}
    for task in tasks:
        res = mteb.evaluate(loaded.model, task, cache=None, encode_kwargs={"batch_size": args.batch_size, "show_progress_bar": False},
                            raise_error=True, show_progress_bar=False)
        scores[task.metadata.name] = _scores(res.task_results[0])
        task.unload_data()
        print(f"{task.metadata.name}: done at {time.perf_counter() - t0:.0f} s, {counter['texts']:,} texts encoded", flush=True)
    out.update(work=time.perf_counter() - t0, cpu=time.process_time() - c0, encoded=counter["texts"], scores=scores)


def phase_run(args: argparse.Namespace, out: dict[str, Any]) -> None:
    from medeval.results import files as resmod
    from medeval.results.layout import RESULTS, is_result_file
    from medeval.launch import run_models
    from medeval.run import select_tasks

    opts = _setup(args)
    opts.output_dir = Path(args.output)
    import medeval.models

    load = {"wall": 0.0, "cpu": 0.0}
    real_load = medeval.models.load_model

    def timed_load(*a: Any, **k: Any) -> Any:  # model loading is left out of "work", as in the other phases
        t, c = time.perf_counter(), time.process_time()
        try:
            return real_load(*a, **k)
        finally:
            load["wall"] += time.perf_counter() - t
            load["cpu"] += time.process_time() - c

    medeval.models.load_model = timed_load  # type: ignore[assignment]
    per_task = _time_each_task()
    counter = _count_encoded()
    t0, c0 = time.perf_counter(), time.process_time()
    code = run_models(opts)
    work, cpu = time.perf_counter() - t0 - load["wall"], time.process_time() - c0 - load["cpu"]
    if code != 0:
        raise SystemExit(f"medeval run failed with exit code {code}")
    scores = {}
    for path in Path(args.output).glob(f"{RESULTS}/*/*/*.json"):
        if is_result_file(path.name):
            res = resmod.load_result(path)
            scores[res.task_name] = _scores(res)
    out.update(work=work, cpu=cpu, encoded=counter["texts"], scores=scores, tasks=[t.metadata.name for t in select_tasks(opts)],
               per_task=per_task, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _peak_rss_mb(reset: bool = False) -> float | None:
    """This process's peak resident memory (VmHWM) in MB; ``reset`` starts a new peak (Linux /proc/self/clear_refs)."""
    try:
        if reset:
            Path("/proc/self/clear_refs").write_text("5")
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _time_each_task() -> dict[str, dict[str, float | None]]:
    """Wall and CPU seconds and the peak RSS of each task's evaluation (medeval.run.evaluate_task): in the warm
    phase every vector comes from the cache, so this is mteb's scoring (search and metrics, classifiers, k-means)."""
    import medeval.run

    real = medeval.run.evaluate_task
    stats: dict[str, dict[str, float | None]] = {}

    def timed(model: Any, task: Any, opts: Any) -> Any:
        _peak_rss_mb(reset=True)
        t, c = time.perf_counter(), time.process_time()
        try:
            return real(model, task, opts)
        finally:
            stats[task.metadata.name] = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c,
                                         "peak_rss_mb": _peak_rss_mb()}

    medeval.run.evaluate_task = timed  # type: ignore[assignment]
    return stats


def phase_lower(args: argparse.Namespace, out: dict[str, Any]) -> None:
    import mteb
    import numpy as np

    from medeval.embedding_cache import CachedEncoder
    from medeval.batching import text_rows, texts_dataloader
    from medeval.models import load_model
    from medeval.run import select_tasks

    opts = _setup(args)
    tasks = select_tasks(opts)
    loaded = load_model(args.model)
    keys = CachedEncoder(loaded.model, loaded.meta, folder=Path(args.output) / "unused")  # only for its namespace()
    groups: dict[bytes, dict[str, Any]] = {}

    class Recorder:
        """Records what mteb asks to encode; answers with random vectors (this part is not timed)."""

        mteb_model_meta = loaded.meta

        def __init__(self) -> None:
            self.rng = np.random.default_rng(0)
            self.asked = 0

        def encode(self, inputs: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, prompt_type: Any = None, **kwargs: Any) -> Any:
            rows = text_rows(inputs)
            if rows is None:
                raise SystemExit(f"{task_metadata.name}: not a text task; the lower bound only handles text")
            texts = list(rows["text"])
            ns = keys.namespace(task_metadata, prompt_type, hf_split, hf_subset, kwargs)
            group = groups.setdefault(ns, {"call": (task_metadata, hf_split, hf_subset, prompt_type), "texts": {}})
            group["texts"].update(dict.fromkeys(texts))
            self.asked += len(texts)
            return self.rng.standard_normal((len(texts), 384)).astype(np.float32)

        def similarity(self, a: Any, b: Any) -> Any:
            return loaded.model.similarity(a, b)

        def similarity_pairwise(self, a: Any, b: Any) -> Any:
            return loaded.model.similarity_pairwise(a, b)

    recorder = Recorder()
    for task in tasks:
        mteb.evaluate(recorder, task, cache=None, encode_kwargs={"batch_size": args.batch_size, "show_progress_bar": False},
                      raise_error=True, show_progress_bar=False)
        task.unload_data()
    counter = _count_encoded()
    t1, c1 = time.perf_counter(), time.process_time()
    for group in groups.values():
        task_metadata, hf_split, hf_subset, prompt_type = group["call"]
        loaded.model.encode(texts_dataloader(list(group["texts"]), args.batch_size), task_metadata=task_metadata,
                            hf_split=hf_split, hf_subset=hf_subset, prompt_type=prompt_type,
                            batch_size=args.batch_size, show_progress_bar=False)
    encode_seconds, encode_cpu = time.perf_counter() - t1, time.process_time() - c1
    out.update(work=encode_seconds, cpu=encode_cpu, encoded=counter["texts"],
               asked=recorder.asked, groups=len(groups))


# ------------------------------------------------------------------------------------------------ the driver
def _leaves(obj: Any, prefix: str = "") -> dict[str, float]:
    """Every numeric leaf of a scores structure, by path."""
    if isinstance(obj, bool):
        return {}
    if isinstance(obj, (int, float)):
        return {prefix: float(obj)}
    if isinstance(obj, dict):
        out: dict[str, float] = {}
        for k, v in obj.items():
            out.update(_leaves(v, f"{prefix}/{k}"))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_leaves(v, f"{prefix}[{i}]"))
        return out
    return {}


def compare(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, int, list[str]]:
    """(largest |difference| over numeric scores present in both, how many compared, problems)."""
    worst, n, problems = 0.0, 0, []
    for task in sorted(set(a) | set(b)):
        if task not in a or task not in b:
            problems.append(f"{task}: scored in only one of the two runs")
            continue
        la, lb = _leaves(a[task]), _leaves(b[task])
        for key in la.keys() & lb.keys():
            if la[key] != la[key] and lb[key] != lb[key]:  # both NaN
                continue
            d = abs(la[key] - lb[key])
            n += 1
            worst = max(worst, d)
            if d > TOLERANCE:
                problems.append(f"{task}{key}: {la[key]!r} vs {lb[key]!r}")
    return worst, n, problems


def _main_scores(scores: dict[str, Any]) -> dict[str, float]:
    out = {}
    for task, splits in scores.items():
        vals = [e["main_score"] for entries in splits.values() for e in entries if "main_score" in e]
        if vals:
            out[task] = sum(vals) / len(vals)
    return out


def run_phase(name: str, argv: list[str], work: Path, env: dict[str, str], output: Path) -> dict[str, Any]:
    result_file = work / f"{name}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--phase-result", str(result_file),
           "--output", str(output), *argv]
    log = work / f"{name}.log"
    print(f"--- {name}: {' '.join(cmd[2:])}  (output: {log})", flush=True)
    t0 = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.run(cmd, check=False, env=env, stdout=f, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        print(log.read_text()[-4000:])
        raise SystemExit(f"phase {name} failed (exit code {proc.returncode})")
    res = json.loads(result_file.read_text())
    res["process"] = seconds
    print(f"    {name}: work {res['work']:.1f} s (cpu {res['cpu']:.1f} s), process {seconds:.1f} s, "
          f"texts encoded {res['encoded']:,}", flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-b", "--benchmark", default=None, help='benchmark (default "MedEval-Terms(v1)" unless -t is given)')
    p.add_argument("-t", "--task", action="append", help="task name or YAML path (repeatable)")
    p.add_argument("--include-path", action="append", help="folder of user task YAMLs (repeatable)")
    p.add_argument("-m", "--model", default=None, help="model (default: all-MiniLM-L6-v2 from PyPI)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--data-dir", default=None, help="data folder with built tasks (default $MEDEVAL_HOME or ~/.cache/medeval)")
    p.add_argument("--work", default=None, help="scratch folder (default: a new temporary folder)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset of plain,cold,warm,lower")
    p.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    p.add_argument("--phase-result", help=argparse.SUPPRESS)
    p.add_argument("--output", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.phase:  # inside one phase's process
        out: dict[str, Any] = {"phase": args.phase}
        {"plain": phase_plain, "cold": phase_run, "warm": phase_run, "lower": phase_lower}[args.phase](args, out)
        Path(args.phase_result).write_text(json.dumps(out, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        return 0

    from medeval import paths

    data = Path(args.data_dir).expanduser().resolve() if args.data_dir else paths.data_dir()
    work = Path(args.work or tempfile.mkdtemp(prefix="medeval-encode-once-")).resolve()
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    if (data / "tasks").is_dir() and not (home / "tasks").exists():
        (home / "tasks").symlink_to(data / "tasks", target_is_directory=True)
    if (home / "embeddings").exists():
        raise SystemExit(f"{home / 'embeddings'} exists: pass a fresh --work folder so the cold run starts empty")
    env = {**os.environ, "MEDEVAL_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    passed: list[str] = ["--batch-size", str(args.batch_size)]
    if args.benchmark or not args.task:
        passed += ["--benchmark", args.benchmark or "MedEval-Terms(v1)"]
    for t in args.task or []:
        passed += ["-t", t]
    for inc in args.include_path or []:
        passed += ["--include-path", str(Path(inc).resolve())]
    if args.model:
        passed += ["-m", args.model]

    wanted = [ph for ph in args.phases.split(",") if ph]
    res: dict[str, dict[str, Any]] = {}
    for name in PHASES:
        if name in wanted:
            res[name] = run_phase(name, passed, work, env, work / f"out_{name}")

    print()
    print(f"{'phase':<10}{'work s':>10}{'cpu s':>10}{'process s':>12}{'texts encoded':>15}"
          f"{'work/lower':>12}{'cpu/lower':>11}{'work/plain':>12}{'cpu/plain':>11}")
    for name in PHASES:
        if name not in res:
            continue
        r = res[name]

        def ratio(key: str, base: str, r: dict[str, Any] = r) -> str:
            return f"{r[key] / res[base][key]:.2f}" if base in res else "-"

        print(f"{name:<10}{r['work']:>10.1f}{r['cpu']:>10.1f}{r['process']:>12.1f}{r['encoded']:>15,}"
              f"{ratio('work', 'lower'):>12}{ratio('cpu', 'lower'):>11}{ratio('work', 'plain'):>12}{ratio('cpu', 'plain'):>11}")
    if "warm" in res and res["warm"].get("per_task"):
        cold_tasks = res.get("cold", {}).get("per_task", {})
        print()
        print(f"{'task (per-task figures: cold = encode + score, warm = score only)':<58}{'cold s':>9}{'warm s':>9}"
              f"{'warm cpu s':>11}{'warm peak RSS MB':>18}")
        for task, w in sorted(res["warm"]["per_task"].items(), key=lambda kv: -kv[1]["seconds"]):
            c = cold_tasks.get(task, {}).get("seconds")
            rss = w.get("peak_rss_mb")
            print(f"{task:<58}{'-' if c is None else f'{c:.1f}':>9}{w['seconds']:>9.1f}{w['cpu']:>11.1f}"
                  f"{'-' if rss is None else f'{rss:,.0f}':>18}")
        print(f"peak RSS of the whole process: " + ", ".join(
            f"{k} {res[k]['peak_rss_mb']:,.0f} MB" for k in ("cold", "warm") if res.get(k, {}).get("peak_rss_mb")))
    if "lower" in res:
        lo = res["lower"]
        print(f"lower bound: {lo['encoded']:,} distinct texts in {lo['groups']} prompt group(s) "
              f"(mteb asked for {lo['asked']:,} texts)")

    ok = True
    summary: dict[str, Any] = {"phases": {k: {kk: vv for kk, vv in v.items() if kk != "scores"} for k, v in res.items()}}
    pairs = [(a, b) for a, b in (("plain", "cold"), ("plain", "warm"), ("cold", "warm")) if a in res and b in res]
    for a, b in pairs:
        worst, n, problems = compare(res[a]["scores"], res[b]["scores"])
        status = "OK" if not problems else "MISMATCH"
        ok &= not problems
        print(f"scores {a} vs {b}: {n:,} numbers compared, largest |difference| {worst:.2e} -> {status} (tolerance {TOLERANCE:g})")
        for line in problems[:10]:
            print(f"    {line}")
        summary[f"{a}_vs_{b}"] = {"compared": n, "max_abs_diff": worst, "problems": problems}
    if "plain" in res:
        summary["main_scores"] = {k: {"plain": v} for k, v in _main_scores(res["plain"]["scores"]).items()}
        for name in ("cold", "warm"):
            for task, v in _main_scores(res.get(name, {}).get("scores", {})).items():
                summary["main_scores"].setdefault(task, {})[name] = v
    if {"cold", "plain", "lower", "warm"} <= res.keys():
        cold, plain, lower, warm = (res[k]["work"] for k in ("cold", "plain", "lower", "warm"))
        print(f"plain / cold = {plain / cold:.2f} (> 1: the cold run is faster than plain mteb); "
              f"cold / lower bound = {cold / lower:.2f} (target <= 1.2); warm / cold = {warm / cold:.2f}")
        summary["ratios"] = {"plain_over_cold": plain / cold, "cold_over_lower": cold / lower, "warm_over_cold": warm / cold,
                             "cold_over_lower_plus_scoring": cold / (lower + warm),
                             "cold_encoding_over_lower": (cold - warm) / lower}
        # The lower bound encodes and never scores; every run also pays mteb's scoring (kNN search with top-1000
        # heaps, logistic regressions, k-means), which is what the warm run does with every vector at hand.
        print(f"with scoring: cold / (lower bound + warm) = {cold / (lower + warm):.2f}; "
              f"encoding part of the cold run (cold - warm) / lower bound = {(cold - warm) / lower:.2f}")
        cold_c, plain_c, lower_c, warm_c = (res[k]["cpu"] for k in ("cold", "plain", "lower", "warm"))
        print(f"by CPU time: plain / cold = {plain_c / cold_c:.2f}; cold / lower = {cold_c / lower_c:.2f}; "
              f"warm / cold = {warm_c / cold_c:.2f}")
        summary["ratios_cpu"] = {"plain_over_cold": plain_c / cold_c, "cold_over_lower": cold_c / lower_c,
                                 "warm_over_cold": warm_c / cold_c}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"scratch folder: {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
