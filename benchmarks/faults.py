"""Measure what issue 17's fault handling costs and what it prevents; prints one line per figure.

    python benchmarks/faults.py                  # 5 trials of 2 processes x 8 tasks, alias bomb, lock cost

* concurrent writers: P processes each finish N tasks into one revision folder at the same instant; how many of the
  P*N run-settings lines survive, with the file lock and with the lock switched off (the code before issue 17);
* alias bomb: time to refuse a 9-level x 10 YAML alias bomb in a task file (wall and CPU);
* cost: wall time of one ``save_result`` (model meta + run-settings line under the lock + result file).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any


def _meta() -> Any:
    from mteb.models import ModelMeta

    return ModelMeta(
        loader=None, name="bench/faults", revision="r1", release_date="2025-01-01", languages=["eng-Latn"],
        n_parameters=1, memory_usage_mb=1.0, max_tokens=8, embed_dim=8, license="mit", open_weights=True,
        public_training_code=None, public_training_data=None, framework=["Sentence Transformers"],
        similarity_fn_name="cosine", use_instructions=False, training_datasets=None,
    )


def _result(name: str) -> Any:
    import mteb
    from mteb import TaskResult

    return TaskResult.model_validate({
        "dataset_revision": "0" * 16, "task_name": name, "mteb_version": mteb.__version__, "evaluation_time": 1.0,
        "scores": {"test": [{"main_score": 0.5, "hf_subset": "default", "languages": ["eng-Latn"]}]},
        "kg_co2_emissions": None,
    })


def _writer(out: str, names: list[str], start: float, locked: bool) -> None:
    from medeval import locks
    from medeval.results import files as resmod

    if not locked:  # the code before issue 17: read-merge-replace with no lock
        locks.file_lock = lambda *a, **k: contextlib.nullcontext()  # type: ignore[assignment]
    meta = _meta()
    results = [_result(n) for n in names]
    time.sleep(max(0.0, start - time.time()))
    for r in results:
        resmod.save_result(out, meta, r, {"data_revision": "0" * 16})


def concurrent(procs: int, tasks: int, locked: bool) -> int:
    from medeval.results.files import read_run_settings
    from medeval.results.layout import revision_folder

    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as out:
        start = time.time() + 1.0
        ps = [ctx.Process(target=_writer, args=(out, [f"T{p}x{i}" for i in range(tasks)], start, locked))
              for p in range(procs)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        return len(read_run_settings(revision_folder(out, _meta())))


def alias_bomb_seconds() -> tuple[float, float]:
    from medeval.errors import SpecError
    from medeval.spec.safe_yaml import load_untrusted

    lines = ["a0: &a0 [lol]"] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    text = "\n".join(lines) + "\nname: Bomb\n"
    w0, c0 = time.perf_counter(), time.process_time()
    with contextlib.suppress(SpecError):
        load_untrusted(text, "Bomb.yaml")
    return time.perf_counter() - w0, time.process_time() - c0


def save_cost(n: int) -> float:
    from medeval.results import files as resmod

    meta = _meta()
    results = [_result(f"T{i}") for i in range(n)]
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        for r in results:
            resmod.save_result(out, meta, r, {"data_revision": "0" * 16})
        return (time.perf_counter() - t0) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=8)
    args = parser.parse_args()
    import mteb  # noqa: F401 - import once in the parent; forked writers inherit it

    total = args.procs * args.tasks
    for locked in (False, True):
        kept = [concurrent(args.procs, args.tasks, locked) for _ in range(args.trials)]
        label = "with the file lock" if locked else "without a lock (before)"
        print(f"run-settings lines kept, {args.procs} processes x {args.tasks} tasks, {label}: "
              f"{', '.join(f'{k}/{total}' for k in kept)}")
    wall, cpu = alias_bomb_seconds()
    print(f"alias bomb (9 levels x 10) refused in {wall * 1e3:.2f} ms wall, {cpu * 1e3:.2f} ms CPU")
    print(f"save_result (meta + locked run-settings line + result): {save_cost(20) * 1e3:.1f} ms per task")


if __name__ == "__main__":
    main()
