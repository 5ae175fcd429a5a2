"""``medeval run``'s local code path: select the tasks, score one model on them with mteb (results in mteb's
layout) and summarise; :func:`medeval.launch.run_models` runs every model this way, or on Ray.

    >>> from medeval.run import RunOptions, run_model, select_tasks
    >>> outcomes = run_model(model, meta, select_tasks(RunOptions(tasks=["HPOLaypersonRetrieval"])), RunOptions())

Each task's result is written atomically as soon as the task finishes, so Ctrl-C loses at most the task in
progress, and a second run skips every task whose stored result was computed from the same model (fingerprint),
data revision, protocol and precision (:func:`medeval.identity.reuse_problem`); any other is scored again, with a
line saying why.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval import identity, os_errors
from medeval.results import files as resfiles
from medeval.results.layout import result_path, revision_folder
from medeval.build import stale_reason
from medeval.progress import RunProgress, task_weights, texts_encoded
from medeval.errors import DataNotBuiltError, MedEvalError

if TYPE_CHECKING:
    from mteb.abstasks import AbsTask
    from mteb.models import ModelMeta
    from mteb.models.models_protocols import MTEBModels
    from mteb.results import TaskResult
    from rich.table import Table

logger = logging.getLogger(__name__)

DEFAULT_BENCHMARK = "MedEval-Terms(v1)"


@dataclass
class RunOptions:
    """What ``medeval run`` was asked to do: the models, the tasks and how to score them (one field per CLI option).

    Attributes:
        models: Hub ids or local folders; empty for the default model (all-MiniLM-L6-v2, offline from PyPI).
        benchmark: ``-b``, e.g. ``"MedEval(v1)"``; None for MedEval-Terms(v1) when no task is named.
        tasks: ``-t``: task names, paper ids or YAML paths (within ``benchmark`` when both are given).
        output_dir: results go to ``<output_dir>/results/<org>__<model>/<revision>/``.
        batch_size: texts per batch to start with (halved on out-of-memory).
        device: ``cpu``, ``cuda`` or ``mps``; None lets sentence-transformers choose.
        devices: ``--devices`` (two or more, e.g. ``cuda:0,cuda:1``): a multi-process encoding pool.
        precision: ``fp32``, ``fp16`` or ``bf16`` (None: fp32), recorded with each result.
        use_cache: reuse embeddings from the content-addressed embedding cache.
        trust_remote_code: allow a model repository's own code to run (off unless asked).
        model_name: ``ORG/NAME`` to file a local folder's results under.
        model_revision: the revision to load (Hub) or record (local folder).
        co2: track emissions with codecarbon.
        overwrite: score again even when a stored result may be reused.
        show_progress: show encoding progress bars.
        ray: a Ray cluster address (or ``"auto"``): run the (model, task) units there.
        search_backend: retrieval search: ``auto`` (FAISS if installed), ``faiss``, ``blocked`` or ``plain``.
    """
    models: list[str] = field(default_factory=list)
    benchmark: str | None = None
    tasks: list[str] = field(default_factory=list)
    output_dir: Path = Path(".")
    batch_size: int = 32
    device: str | None = None
    devices: str | None = None
    precision: str | None = None
    use_cache: bool = True
    trust_remote_code: bool = False
    model_name: str | None = None
    model_revision: str | None = None
    co2: bool = False
    overwrite: bool = False
    show_progress: bool = True
    ray: str | None = None  # a Ray cluster address (or "auto"): run the (model, task) units there
    search_backend: str | None = None  # retrieval search: auto (FAISS if installed), faiss, blocked or plain


@dataclass
class TaskOutcome:
    """One task's outcome in a run (a line of the summary table).

    Attributes:
        task: the task name.
        task_type: Classification, Clustering, PairClassification or Retrieval (``"?"`` when unknown).
        status: ``"ran"``, ``"cached"`` (a stored result reused), ``"failed"`` or ``"not built"``.
        score: the main score in [0, 1], or None.
        seconds: wall time of the evaluation (or of the stored one), or None.
        message: why it failed, one line per finding; empty otherwise.
    """
    task: str
    task_type: str
    status: str  # "ran", "cached", "failed", "not built"
    score: float | None = None
    seconds: float | None = None
    message: str = ""


def select_tasks(opts: RunOptions) -> list[AbsTask]:
    """mteb task objects for ``-t``/``-b`` (default: MedEval-Terms).

    Args:
        opts: the run's options (``tasks``, ``benchmark``).

    Returns:
        The tasks, each once (a task named twice, by name and by path, is scored once).

    Raises:
        MedEvalError: none of the named tasks is in the benchmark.
        TaskNotFoundError: an unknown task or benchmark name (from :func:`medeval.catalog.get_tasks`).
    """
    from medeval.catalog import get_tasks

    if opts.tasks:
        tasks = get_tasks(names=opts.tasks, benchmark=opts.benchmark)
        if not tasks:
            raise MedEvalError(f"none of the tasks {', '.join(opts.tasks)} is in benchmark {opts.benchmark!r}")
        unique: dict[str, AbsTask] = {}
        for task in tasks:  # a task named twice (by name and by path, or twice) is scored and averaged once
            unique.setdefault(task.metadata.name, task)
        return list(unique.values())
    return get_tasks(benchmark=opts.benchmark or DEFAULT_BENCHMARK)


def current_revision(task: AbsTask) -> str:
    """The content hash of the task's data as it is now (building or downloading it if that needs no input).

    The built data's manifest (:meth:`medeval.store.DataStore.built_revision`); a user task's own folder has none,
    so it is loaded and hashed.

    Args:
        task: a medeval task (it has ``ensure_data``).

    Returns:
        16 hex digits (:func:`medeval.data.content_hash`).

    Raises:
        DataNotBuiltError: the data is not built and building it needs an input (credentials, an LLM, the network).
        MedEvalError: building or downloading the data failed.
    """
    from medeval.store import DataStore

    task.ensure_data()
    revision = DataStore().built_revision(task)
    if revision is not None:
        return revision
    task.load_data()
    return str(task.metadata.revision)


def _encode_kwargs(opts: RunOptions) -> dict[str, Any]:
    return {"batch_size": opts.batch_size, "show_progress_bar": opts.show_progress}


#: Task types whose search goes through :func:`medeval.search.search_model` (mteb's full-corpus search).
RETRIEVAL_TYPES = frozenset({"Retrieval"})


def _search_types() -> tuple[type, ...]:
    """mteb's search-model and cross-encoder protocols (they keep their own search)."""
    from mteb.models.models_protocols import CrossEncoderProtocol, SearchProtocol

    return (SearchProtocol, CrossEncoderProtocol)


def evaluate_task(model: MTEBModels, task: AbsTask, opts: RunOptions) -> TaskResult:
    """Plain ``mteb.evaluate`` on one task, no mteb cache (medeval writes the result itself, atomically).

    A retrieval task's search runs through :func:`medeval.search.search_model` (exact, bounded memory).

    Args:
        model: the loaded mteb model (usually inside the encoder adapter or the embedding cache).
        task: the task, its data ready.
        opts: the run's options (batch size, progress bars, co2, search backend).

    Returns:
        mteb's ``TaskResult`` of the task.

    Raises:
        MedEvalError: mteb returned no result.
    """
    import mteb

    if task.metadata.type in RETRIEVAL_TYPES and not isinstance(model, _search_types()):
        from medeval.search import search_model

        model = search_model(model, backend=opts.search_backend)  # exact search in bounded memory (FAISS if installed)
    result = mteb.evaluate(
        model,
        task,
        cache=None,
        encode_kwargs=_encode_kwargs(opts),
        co2_tracker=opts.co2,
        raise_error=True,
        show_progress_bar=opts.show_progress,
    )
    if not result.task_results:
        raise MedEvalError(f"task {task.metadata.name}: mteb returned no result")
    return result.task_results[0]


def _device_of(model: object) -> str:
    """The device a loaded model runs on (``cpu``, ``cuda:0``, ``mps``), for the run settings; ``auto`` if unknown.

    Args:
        model: the mteb encoder, possibly wrapped (``.model``/``._model`` chains: cache, adapter, sentence-transformers
            wrapper).

    Returns:
        The first ``device`` found along the ``.model`` chain, as a string, or ``"auto"``.
    """
    seen = 0
    while model is not None and seen < 6:
        device = getattr(model, "device", None)
        if device is not None and not callable(device):
            return str(device)
        model, seen = getattr(model, "model", None) or getattr(model, "_model", None), seen + 1
    return "auto"


def run_model(model: MTEBModels, meta: ModelMeta, tasks: list[AbsTask], opts: RunOptions,
              echo: Callable[[str], object] = print, model_fp: str | None = None) -> list[TaskOutcome]:
    """Run (or reuse) every task for one loaded model; returns one outcome per task.

    A stored result is reused only when its data revision, protocol fingerprint, model fingerprint and precision
    match this run (:func:`medeval.identity.reuse_problem`); otherwise the task is scored again and one line says
    why. A task that fails (data, evaluation or writing) is reported and the run goes on with the next.

    Args:
        model: the encoder mteb calls.
        meta: the model's ModelMeta (name and revision choose the results folder).
        tasks: the tasks, in order.
        opts: the run's options.
        echo: prints one progress line (the CLI's console; ``print`` by default).
        model_fp: :func:`medeval.identity.model_fingerprint` of the model (None: not checked).

    Returns:
        One :class:`TaskOutcome` per task, in order.
    """
    outcomes: list[TaskOutcome] = []
    progress, started = RunProgress(task_weights(tasks)), time.perf_counter()
    try:
        for note in resfiles.heal_folder(opts.output_dir, meta):
            echo(f"{revision_folder(opts.output_dir, meta)}: {note} (left by an interrupted run)")
    except OSError as err:
        echo(f"warning: {os_errors.describe_os_error(err, fix='free space or choose another --output-dir')}")
    for i, task in enumerate(tasks, 1):
        _report_progress(progress, outcomes, model, started, echo)
        name, ttype = task.metadata.name, task.metadata.type
        prefix = f"[{i}/{len(tasks)}] {name}"
        try:
            if not task.is_built():
                echo(f"{prefix}: building its data (first use)...")
            elif why := stale_reason(task.spec):
                echo(f"{prefix}: rebuilding its data ({why})...")
            revision = current_revision(task)
        except DataNotBuiltError as err:
            outcomes.append(TaskOutcome(name, ttype, "not built", message=str(err)))
            echo(f"{prefix}: not built: {err}")
            continue
        except MedEvalError as err:
            outcomes.append(TaskOutcome(name, ttype, "failed", message=str(err)))
            echo(f"{prefix}: failed: {err}")
            continue
        except OSError as err:  # a full, read-only or misplaced data folder: this task fails, the run goes on
            msg = os_errors.describe_os_error(err, task.data_folder(), "free space, or choose another data folder with --data-dir")
            outcomes.append(TaskOutcome(name, ttype, "failed", message=msg))
            echo(f"{prefix}: failed: {msg}")
            continue
        except Exception as err:  # noqa: BLE001 - one bad task's data never stops the others
            logger.debug("task %s: data failed to load:\n%s", name, traceback.format_exc())
            msg = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            outcomes.append(TaskOutcome(name, ttype, "failed", message=msg))
            echo(f"{prefix}: failed: {msg}")
            continue
        path = result_path(opts.output_dir, meta, name)
        existing = resfiles.load_result(path)
        params = identity.protocol_params(task.spec)
        protocol = identity.fingerprint_of_params(params)
        why = identity.reuse_problem(
            existing, resfiles.read_run_settings(path.parent).get(name), eval_splits=list(task.metadata.eval_splits),
            data_revision=revision, protocol=protocol, params=params, model_fp=model_fp, precision=opts.precision or "fp32",
        )
        if not opts.overwrite and why is None:
            outcomes.append(TaskOutcome(name, ttype, "cached", resfiles.main_score(existing), existing.evaluation_time))
            echo(f"{prefix}: done earlier (data {revision}, protocol {protocol}), skipped")
            continue
        if existing is not None and not opts.overwrite:
            echo(f"{prefix}: scoring again: {why}")
        echo(f"{prefix}: running ({ttype}, data {revision})")
        t0 = time.perf_counter()
        try:
            task_result = evaluate_task(model, task, opts)
        except KeyboardInterrupt:
            raise
        except MedEvalError as err:
            outcomes.append(TaskOutcome(name, ttype, "failed", message=str(err)))
            echo(f"{prefix}: failed: {err}")
            continue
        except Exception as err:  # noqa: BLE001 - one broken task must not end the run
            logger.debug("task %s failed:\n%s", name, traceback.format_exc())
            msg = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            outcomes.append(TaskOutcome(name, ttype, "failed", message=msg))
            echo(f"{prefix}: failed: {msg}")
            continue
        finally:
            if getattr(task, "data_loaded", False):  # mteb.evaluate unloads it itself; a second unload only warns
                task.unload_data()
        seconds = time.perf_counter() - t0
        run_info = {"encode_kwargs": {"batch_size": opts.batch_size}, "device": opts.device or _device_of(model),
                    "precision": opts.precision or "fp32", "data_revision": revision, "wall_seconds": round(seconds, 2),
                    "protocol": protocol, "protocol_params": params, "model_fingerprint": model_fp}
        score = resfiles.main_score(task_result)
        try:
            resfiles.save_result(opts.output_dir, meta, task_result, run_info)
        except OSError as err:  # the score is shown, the run goes on; a rerun runs this task again
            msg = os_errors.describe_os_error(err, path, "free space, or choose another --output-dir") + (
                f" (score {score:.4f} not saved)" if score is not None else " (result not saved)")
            outcomes.append(TaskOutcome(name, ttype, "failed", None, seconds, message=msg))
            echo(f"{prefix}: failed: {msg}")
            continue
        outcomes.append(TaskOutcome(name, ttype, "ran", score, seconds))
    _report_progress(progress, outcomes, model, started, echo)
    return outcomes


def _report_progress(progress: RunProgress, outcomes: list[TaskOutcome], model: Any, started: float, echo: Any) -> None:
    """Mark the tasks that have an outcome as done; after a task that ran, print the overall progress line."""
    newly = [i for i in range(len(outcomes)) if i not in progress.done]
    for i in newly:
        progress.finish_task(i, outcomes[i].seconds, ran=outcomes[i].status == "ran")
    if newly and outcomes[newly[-1]].status == "ran":
        echo(progress.line(texts_encoded(model), time.perf_counter() - started))


def summary_table(model_label: str, outcomes: list[TaskOutcome]) -> Table:
    """A rich Table: score per task, mean per type, mean over tasks, time per task.

    Args:
        model_label: the table's title, e.g. ``"org/model @ revision"``.
        outcomes: the run's outcomes (:func:`run_model`).

    Returns:
        A ``rich.table.Table``: one row per task (sorted by type, then name), then Mean per type, Mean (Task) with the
        total seconds of tasks that ran, and Mean (TaskType).
    """
    from rich.table import Table

    table = Table(title=f"{model_label}", show_footer=False)
    for col, justify in (("Task", "left"), ("Type", "left"), ("Score", "right"), ("Time (s)", "right"), ("Status", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for o in sorted(outcomes, key=lambda o: (o.task_type, o.task)):
        score = "-" if o.score is None else f"{o.score:.4f}"
        secs = "-" if o.seconds is None else f"{o.seconds:.1f}"
        table.add_row(o.task, o.task_type, score, secs, o.status)
    scored = [o for o in outcomes if o.score is not None]
    by_type: dict[str, list[float]] = {}
    for o in scored:
        by_type.setdefault(o.task_type, []).append(o.score)  # type: ignore[arg-type]
    table.add_section()
    for ttype in sorted(by_type):
        vals = by_type[ttype]
        table.add_row(f"Mean {ttype}", f"{len(vals)} tasks", f"{sum(vals) / len(vals):.4f}", "", "")
    if scored:
        mean = sum(o.score for o in scored) / len(scored)  # type: ignore[misc]
        type_mean = sum(sum(v) / len(v) for v in by_type.values()) / len(by_type)
        total = sum(o.seconds or 0 for o in outcomes if o.status == "ran")
        table.add_row("Mean (Task)", f"{len(scored)}/{len(outcomes)}", f"{mean:.4f}", f"{total:.1f}", "")
        table.add_row("Mean (TaskType)", f"{len(by_type)} types", f"{type_mean:.4f}", "", "")
    return table


def _prepare_encoder(model: Any, meta: Any, opts: RunOptions) -> Any:
    """The encoder mteb calls: medeval.encoding's adapter (each text once per call, length-sorted chunks,
    batch size halved on out-of-memory, ``--devices`` pool), inside the embedding cache unless ``--no-cache``."""
    if opts.use_cache:
        from medeval.embedding_cache import cached_encoder

        return cached_encoder(model, meta, devices=opts.devices)
    from medeval.encoding import adapt_encoder

    return adapt_encoder(model, devices=opts.devices)
