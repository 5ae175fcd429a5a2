"""``medeval run --ray ADDRESS``: the run's (model, task) units as Ray tasks on a cluster.

    medeval run -m A -m B -b "MedEval(v1)" --ray auto          # the cluster this machine belongs to (``ray start``)
    medeval run --ray 10.0.0.5:6379 --device cuda -o /shared/out # a head node's address; one GPU per unit

How it works: the driver (the machine you type on) selects the tasks and builds or checks their data once, so
no two workers build the same task. Each (model, task) pair then becomes one Ray task that asks for one GPU
(``--device cuda``, or a cluster with GPUs and no ``--device``) or one CPU. A worker loads the model (once per
worker process and model), runs the task through :func:`medeval.run.run_model` - the same code as a local run, so
a result that already covers the task's current data is skipped and a re-run resumes - and writes the result
atomically into the shared output folder. Workers share the embedding cache: its shards are written to a temp file
and renamed, one file per writer, so concurrent writers never corrupt one another.

Every worker must see the same output folder, data folder and Python environment (a shared filesystem, or one
machine). Paths are made absolute before they are sent. Ray is an optional extra: ``pip install
'medeval-mteb[ray]'``.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from pathlib import Path
from types import ModuleType
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from medeval.errors import MedEvalError
from medeval.run import RunOptions, TaskOutcome

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask
    from rich.console import Console

#: Environment variables a worker takes over from the driver (data folder, offline mode, user task folders).
FORWARDED_ENV = ("MEDEVAL_HOME", "MEDEVAL_INCLUDE_PATH", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HOME",
                 "MEDEVAL_SEARCH_BACKEND")

_LOADED: dict[tuple[Any, ...], Any] = {}  # per worker process: loaded models, by how they were loaded


def _ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise MedEvalError("--ray needs Ray: pip install 'medeval-mteb[ray]'") from None
    return ray


def connect(address: str) -> ModuleType:
    """Connect this process to the Ray cluster at ``address`` (``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``).

    Args:
        address: what ``ray.init(address=...)`` takes; an already connected process keeps its connection.

    Returns:
        The ``ray`` module, connected.

    Raises:
        MedEvalError: Ray is not installed or no cluster answers at ``address``.
    """
    ray = _ray()
    if ray.is_initialized():
        return ray
    _probe(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level="WARNING")
    except (ConnectionError, RuntimeError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise MedEvalError(f"--ray {address}: no Ray cluster there ({first}); start one with `ray start --head` "
                           "or pass its address, e.g. --ray 10.0.0.5:6379") from None
    return ray


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail at once when nothing listens at ``HOST:PORT`` (Ray itself retries for about a minute first).

    Args:
        address: ``auto`` (not probed), ``HOST:PORT`` or ``ray://HOST:PORT``.
        timeout_s: seconds to wait for the TCP connection.

    Raises:
        MedEvalError: the address has no port, or no TCP connection to it opens within ``timeout_s``.
    """
    import socket

    target = address.split("://", 1)[-1]
    if address == "auto" or not target:
        return
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise MedEvalError(f"--ray {address}: expected auto, HOST:PORT or ray://HOST:PORT, e.g. --ray 10.0.0.5:6379")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise MedEvalError(f"--ray {address}: nothing answers there ({err.strerror or err}); start a cluster with "
                           "`ray start --head` or pass its address, e.g. --ray 10.0.0.5:6379") from None


def unit_resources(opts: RunOptions, cluster: dict[str, float]) -> dict[str, float]:
    """What one (model, task) unit asks Ray for: one GPU for CUDA runs, else one CPU.

    Args:
        opts: the run's options (``device`` decides; no device on a cluster with GPUs means a GPU).
        cluster: ``ray.cluster_resources()``.

    Returns:
        Keyword arguments for ``.options()``: ``{"num_gpus": 1, "num_cpus": 1}`` or ``{"num_cpus": 1}``.

    Raises:
        MedEvalError: ``--device cuda`` on a cluster without GPUs.
    """
    device = (opts.device or "").lower()
    gpus = float(cluster.get("GPU", 0))
    if device.startswith("cuda") or (not device and gpus > 0):
        if gpus <= 0:
            raise MedEvalError(f"--device {opts.device}: the Ray cluster has no GPUs; use --device cpu")
        return {"num_gpus": 1, "num_cpus": 1}
    return {"num_cpus": 1}


def _absolute(opts: RunOptions) -> RunOptions:
    tasks = [str(Path(t).resolve()) if t.endswith((".yaml", ".yml")) and Path(t).exists() else t for t in opts.tasks]
    models = [str(Path(m).expanduser().resolve()) if Path(m).expanduser().exists() else m for m in opts.models]
    return dataclasses.replace(opts, output_dir=Path(opts.output_dir).resolve(), tasks=tasks, models=models,
                               show_progress=False)


def _worker_env() -> dict[str, str]:
    from medeval import paths

    env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
    env["MEDEVAL_HOME"] = str(paths.data_dir())
    return env


def run_unit(model_id: str | None, task_name: str, opts: RunOptions, env: dict[str, str]) -> dict[str, Any]:
    """One (model, task) unit, in a Ray worker: load the model (once per process), run or skip the task.

    Args:
        model_id: a Hub id or local folder (None for the default model).
        task_name: a task name or absolute YAML path.
        opts: the run's options, with absolute paths.
        env: environment variables to set first (data folder, offline mode).

    Returns:
        The task's :class:`~medeval.run.TaskOutcome` as a dict, plus ``model`` (name @ revision) and ``worker``
        (host:pid).
    """
    os.environ.update(env)
    from medeval.catalog import get_tasks
    from medeval.errors import ModelLoadError
    from medeval.run import _prepare_encoder, run_model

    worker = f"{socket.gethostname()}:{os.getpid()}"
    key = (model_id, opts.device, opts.precision, opts.trust_remote_code, opts.model_name, opts.model_revision,
           opts.use_cache, opts.devices)
    try:
        if key not in _LOADED:
            from medeval.models import load_model

            loaded = load_model(model_id, device=opts.device, trust_remote_code=opts.trust_remote_code,
                                model_name=opts.model_name, model_revision=opts.model_revision,
                                precision=opts.precision)
            _LOADED[key] = (loaded, _prepare_encoder(loaded.model, loaded.meta, opts))
        loaded, model = _LOADED[key]
        task = get_tasks(names=[task_name])[0]
    except (ModelLoadError, MedEvalError) as err:
        out = dataclasses.asdict(TaskOutcome(task_name, "?", "failed", message=str(err)))
        return {**out, "model": model_id or "default", "worker": worker}
    outcome = run_model(model, loaded.meta, [task], opts, echo=lambda s: None, model_fp=loaded.fingerprint)[0]
    return {**dataclasses.asdict(outcome), "model": f"{loaded.meta.name} @ {loaded.meta.revision}", "worker": worker}


def run_on_ray(opts: RunOptions, address: str, echo: Callable[[str], object] = print) -> tuple[int, list[dict[str, Any]]]:
    """Run every (model, task) unit of ``opts`` on the Ray cluster at ``address``.

    Args:
        opts: the run's options (models, tasks, output folder ...), as for :func:`medeval.launch.run_models`.
        address: the cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``); see :func:`connect`.
        echo: prints one line per finished unit.

    Returns:
        (exit code: 0 ok, 1 some task failed or was not built, 2 a model failed to load; one outcome dict per
        unit, in the order the units were planned).

    Raises:
        MedEvalError: Ray missing, no cluster at ``address``, or no GPU for ``--device cuda``.
    """
    from medeval.errors import DataNotBuiltError
    from medeval.run import current_revision, select_tasks

    opts = _absolute(opts)
    tasks = select_tasks(opts)
    ready: list[str] = []
    early: list[dict[str, Any]] = []
    for task in tasks:  # build or check each task's data once, here, so that no two workers build the same task
        name = task.metadata.name
        try:
            current_revision(task)
            ready.append(unit_task_id(task))
        except DataNotBuiltError as err:
            early.append(dataclasses.asdict(TaskOutcome(name, task.metadata.type, "not built", message=str(err))))
        except MedEvalError as err:
            early.append(dataclasses.asdict(TaskOutcome(name, task.metadata.type, "failed", message=str(err))))
        finally:
            task.unload_data()
    ray = connect(address)
    resources = unit_resources(opts, ray.cluster_resources())
    remote = ray.remote(max_retries=1)(run_unit).options(**resources)
    env = _worker_env()
    models = opts.models or [None]
    refs = {remote.remote(m, t, opts, env): (m, t) for m in models for t in ready}
    echo(f"Ray: {len(refs)} units ({len(models)} model(s) x {len(ready)} task(s)) on {address}, each asking for "
         + ", ".join(f"{v:g} {k[4:].upper()}" for k, v in resources.items()))
    done: dict[tuple[Any, str], dict[str, Any]] = {}
    pending = list(refs)
    t0 = time.perf_counter()
    while pending:
        finished, pending = ray.wait(pending, num_returns=1)
        out = ray.get(finished[0])
        done[refs[finished[0]]] = out
        score = "-" if out["score"] is None else f"{out['score']:.4f}"
        echo(f"[{len(done)}/{len(refs)}] {out['model']} {out['task']}: {out['status']} {score} "
             f"({time.perf_counter() - t0:.0f} s) {out['message']}".rstrip())
    outcomes = [done[(m, t)] for m in models for t in ready] + early
    code = 0
    if any(o["status"] == "failed" and o["task_type"] == "?" for o in outcomes):
        code = 2
    elif any(o["status"] in ("failed", "not built") for o in outcomes):
        code = 1
    return code, outcomes


def unit_task_id(task: AbsTask) -> str:
    """How a worker looks a task up: a packaged task by its name, any other (a user's YAML) by its absolute path.

    Args:
        task: an mteb task object of medeval.

    Returns:
        The task's name, or the path of its YAML.
    """
    from medeval import paths

    spec_path = getattr(type(task), "spec_path", None)
    if spec_path is None or Path(spec_path).parent == paths.packaged_specs_dir().resolve():
        return str(task.metadata.name)
    return str(spec_path)


def summarize(outcomes: list[dict[str, Any]], console: Console) -> None:
    """One summary table per model, as a local run prints.

    Args:
        outcomes: the per-(model, task) outcome dicts the workers returned (:class:`medeval.run.TaskOutcome` fields
            plus ``model``).
        console: a ``rich.console.Console`` to print to.
    """
    from medeval.run import summary_table

    by_model: dict[str, list[TaskOutcome]] = {}
    for o in outcomes:
        fields = {f.name for f in dataclasses.fields(TaskOutcome)}
        by_model.setdefault(o.get("model", "?"), []).append(TaskOutcome(**{k: v for k, v in o.items() if k in fields}))
    for label, items in by_model.items():
        console.print(summary_table(label, items))
