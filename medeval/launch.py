"""``medeval run``'s dispatcher: every model on the selected tasks, in this process (:func:`medeval.run.run_model`)
or as (model, task) units on a Ray cluster (:mod:`medeval.ray_runner`, ``--ray``), then the same summary tables.

It sits above both: :mod:`medeval.ray_runner`'s workers call the local code path in :mod:`medeval.run`, and neither of
the two imports this module.

    >>> from medeval.launch import run_models
    >>> from medeval.run import RunOptions
    >>> run_models(RunOptions(models=[], benchmark="MedEval-Terms(v1)", output_dir=Path("out")))  # MiniLM, offline
    0
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval import os_errors
from medeval.errors import MedEvalError, ModelLoadError
from medeval.results.layout import RESULTS, revision_folder
from medeval.run import RunOptions, _prepare_encoder, run_model, select_tasks, summary_table

if TYPE_CHECKING:
    from rich.console import Console


def run_models(opts: RunOptions, *, console: Console | None = None, errors: Console | None = None) -> int:
    """Run every model on the selected tasks; returns the exit code (0 ok, 1 some task failed, 2 a model failed).

    Each task's line, each model's summary table and one ``error:`` line per problem go to the consoles the caller
    passes (``medeval run`` passes its stdout and stderr consoles).

    Args:
        opts: the run's options.
        console: where task lines, notes and summary tables go; None for a ``rich.console.Console`` on stdout.
        errors: where ``error:`` lines go; None for a ``rich.console.Console`` on stderr.

    Returns:
        0 when every task ran or was reused, 1 when some task failed or is not built, 2 when a model did not load.

    Raises:
        MedEvalError: ``--model-name``/``--model-revision`` with several models, or the output folder is not
            writable (checked before any model loads).
    """
    from rich.console import Console

    from medeval.encoding import EncoderAdapter
    from medeval.models import load_model

    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    _quiet_libraries()
    console = console if console is not None else Console(soft_wrap=True)
    errors = errors if errors is not None else Console(soft_wrap=True, stderr=True)
    if opts.ray:
        return _run_on_ray(opts, console, errors)
    tasks = select_tasks(opts)
    models = opts.models or [None]
    if (opts.model_name or opts.model_revision) and len(models) > 1:
        raise MedEvalError("--model-name/--model-revision name one local model; run several models one at a time")
    os_errors.check_writable(Path(opts.output_dir) / RESULTS, "--output-dir")  # before minutes of model loading
    code = 0
    for model_id in models:
        try:
            loaded = load_model(
                model_id, device=opts.device, trust_remote_code=opts.trust_remote_code,
                model_name=opts.model_name, model_revision=opts.model_revision, precision=opts.precision,
            )
        except ModelLoadError as err:
            errors.print(f"error: {err}", style="red", markup=False, highlight=False)
            code = 2
            continue
        for note in loaded.notes:
            console.print(f"note: {note}", markup=False, highlight=False)
        model = _prepare_encoder(loaded.model, loaded.meta, opts)
        label = f"{loaded.meta.name} @ {loaded.meta.revision}"
        console.print(f"Scoring {label} on {len(tasks)} tasks -> {revision_folder(opts.output_dir, loaded.meta)}", markup=False, highlight=False)
        try:
            outcomes = run_model(model, loaded.meta, tasks, opts, echo=lambda s: console.print(s, markup=False, highlight=False),
                                 model_fp=loaded.fingerprint)
        finally:
            if isinstance(model, EncoderAdapter):
                model.close()  # stops the --devices worker pool
        if hasattr(model, "summary"):
            console.print(model.summary(), markup=False, highlight=False)
        console.print(summary_table(label, outcomes))
        problems = [o for o in outcomes if o.status in ("failed", "not built")]
        for o in problems:
            for line in o.message.splitlines() or [o.status]:  # a data check gives one line per finding
                line = line.removeprefix(f"task {o.task}: ")  # the task is named once, at the start
                errors.print(f"error: {o.task}: {line}", style="red", markup=False, highlight=False)
        if problems and code == 0:
            code = 1
    return code


def _run_on_ray(opts: RunOptions, console: Any, errors: Any) -> int:
    """``--ray``: the (model, task) units on a Ray cluster (:mod:`medeval.ray_runner`), then the same tables."""
    from medeval.ray_runner import run_on_ray, summarize

    os_errors.check_writable(Path(opts.output_dir) / RESULTS, "--output-dir")
    code, outcomes = run_on_ray(opts, opts.ray or "auto", echo=lambda s: console.print(s, markup=False, highlight=False))
    summarize(outcomes, console)
    for o in outcomes:
        if o["status"] in ("failed", "not built"):
            for line in str(o["message"]).splitlines() or [o["status"]]:
                errors.print(f"error: {o['task']}: {line}", style="red", markup=False, highlight=False)
    return code


def _quiet_libraries() -> None:
    """No library noise between the run's task lines: transformers' weight-loading bars and info/warning logs go.

    The encoding progress bar of sentence-transformers stays (one line updated in place during a long task).
    """
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass
