"""Reading the leaderboard: mteb result folders -> a tidy scores table and one metadata row per model.

Reads the layout ``medeval run`` (mteb's ResultCache) writes::

    <leaderboard>/results/<org>__<model>/<revision>/<TaskName>.json     one mteb TaskResult per task
    <leaderboard>/results/<org>__<model>/<revision>/model_meta.json     mteb's ModelMeta.to_dict()
    <leaderboard>/results/<org>__<model>/<revision>/run_settings.jsonl  versions, batch size, protocol (optional)

Every result file is read with mteb's own ``TaskResult.from_disk`` and scored with ``TaskResult.get_score`` on the
task's eval splits. A file that cannot be read (bad JSON, not mteb's schema, an unknown task, a score outside [0, 1])
is skipped and reported in :attr:`Leaderboard.warnings`; it never stops the others from loading. Model names compare
case-insensitively (as ``medeval validate`` does): ``Case/Model`` and ``case/model`` are one model, and only the
result set with most tasks is shown (the other is a warning).

    >>> from medeval.leaderboard import load_leaderboard
    >>> lb = load_leaderboard("leaderboard")
    >>> lb.scores.columns[:3].tolist()
    ['model', 'revision', 'task']
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from medeval.leaderboard.columns import SCORE_COLUMNS
from medeval.results.files import parse_run_settings
from medeval.results.layout import MODEL_META, RUN_SETTINGS, model_name_of_folder, result_files, results_root

if TYPE_CHECKING:
    from medeval.leaderboard.aggregate import Leaderboard



# ----------------------------------------------------------------------------------------------- task catalogue
def task_table(names: Iterable[str] | None = None) -> pd.DataFrame:
    """The task catalogue: one row per registered task, with what the leaderboard needs to know about it.

    Args:
        names: only these tasks (names not registered are ignored); None for every task medeval registered.

    Returns:
        DataFrame indexed by task name, columns benchmark (``"(no benchmark)"`` for a user task outside one),
        task_type, source (the upstream group, e.g. ``"MIMIC-IV"``), main_score, eval_splits (tuple), paper_id and
        protocol (the fingerprint results must record to be shown, :func:`medeval.identity.protocol_fingerprint`).
    """
    from medeval.catalog import task_classes
    from medeval.identity import protocol_fingerprint

    rows = []
    for name, cls in task_classes().items():
        if names is not None and name not in names:
            continue
        s = cls.spec
        rows.append({
            "task": name, "benchmark": s.benchmark or "(no benchmark)", "task_type": s.type, "source": s.source.group,
            "main_score": s.evaluation.main_score, "eval_splits": tuple(s.evaluation.eval_splits), "paper_id": s.paper_id,
            "protocol": protocol_fingerprint(s),
        })
    df = pd.DataFrame(rows, columns=["task", "benchmark", "task_type", "source", "main_score", "eval_splits", "paper_id",
                                     "protocol"])
    return df.set_index("task")


# ----------------------------------------------------------------------------------------------- loading
@dataclass
class _Run:
    """One revision folder: a model's results at one revision."""

    name: str
    revision: str
    folder: Path
    meta: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    settings: list[dict[str, Any]] = field(default_factory=list)  # per result: device, precision, package versions

    @property
    def n_scored(self) -> int:
        return sum(1 for r in self.rows if not _isnan(r["score"]))

    @property
    def latest(self) -> str:
        return max((r["date"] or "" for r in self.rows), default="")


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    msg = text[0] if text else type(err).__name__
    if len(text) > 1 and "validation error" in msg:  # pydantic: say which field
        msg = f"{msg}: {text[1].strip()}"
    return msg[:300]


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) and v > 0 else None


def _embed_dim(v: Any) -> float | None:
    if isinstance(v, list):  # Matryoshka models list several sizes; mteb shows the largest
        nums = [n for n in (_number(x) for x in v) if n is not None]
        return max(nums) if nums else None
    return _number(v)


def _text(v: Any) -> str | None:
    return v.strip() if isinstance(v, str) and v.strip() else None


def _join(v: Any) -> str | None:
    return ", ".join(x for x in v if isinstance(x, str)) or None if isinstance(v, list) else None


def _read_meta(folder: Path, warnings: list[str]) -> dict[str, Any]:
    path = folder / MODEL_META
    if not path.is_file():
        warnings.append(f"{path}: missing; the model's name is taken from the folder name and its metadata shown as '—'")
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:  # ValueError: bad JSON, not UTF-8, a 5000-digit integer
        warnings.append(f"{path}: unreadable ({_first_line(err)}); metadata shown as '—'")
        return {}
    if not isinstance(meta, dict):
        warnings.append(f"{path}: expected a JSON object (mteb's ModelMeta), got {type(meta).__name__}; metadata shown as '—'")
        return {}
    return meta


def _read_run_settings(folder: Path, warnings: list[str]) -> dict[str, dict[str, Any]]:
    path = folder / RUN_SETTINGS
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as err:
        warnings.append(f"{path}: unreadable ({_first_line(err)}); batch size not shown")
        return out
    out, bad = parse_run_settings(text)
    warnings.extend(f"{path}:{lineno}: invalid JSON ({why[:300]}); line ignored" for lineno, why in bad)
    return out


def _result_row(path: Path, tasks: Mapping[str, Mapping[str, Any]], warnings: list[str]) -> dict[str, Any] | None:
    from mteb import TaskResult

    try:
        res = TaskResult.from_disk(path)
    except Exception as err:  # noqa: BLE001 - any broken file is reported and skipped, never fatal
        warnings.append(f"{path}: not a readable mteb result ({_first_line(err)}); skipped")
        return None
    name = res.task_name
    if name not in tasks:
        warnings.append(f"{path}: task {name!r} is not a medeval task (see `medeval tasks`); skipped")
        return None
    if path.stem != name:
        warnings.append(f"{path}: holds task {name!r} but is named {path.stem!r}; rename it to {name}.json; skipped")
        return None
    info = tasks[name]
    splits = [s for s in info["eval_splits"] if s in res.scores]
    if len(splits) != len(info["eval_splits"]):
        missing = sorted(set(info["eval_splits"]) - set(res.scores))
        warnings.append(f"{path}: no scores for eval split(s) {', '.join(missing)}; re-run the task; skipped")
        return None
    try:
        score = float(res.get_score(splits=splits))
    except Exception as err:  # noqa: BLE001
        warnings.append(f"{path}: no main score ({_first_line(err)}); skipped")
        return None
    if not math.isfinite(score):
        warnings.append(f"{path}: main score is {score}; shown as '—'")
        score = float("nan")
    elif not 0.0 <= score <= 1.0:
        warnings.append(f"{path}: main score {score} is outside [0, 1]; skipped")
        return None
    metric = info["main_score"]
    for split in splits:  # never show a value under a metric it was not computed as
        for entry in res.scores[split]:
            named, value = entry.get(metric), entry.get("main_score")
            if isinstance(value, (int, float)) and math.isfinite(value) and not (
                    isinstance(named, (int, float)) and math.isclose(named, value, abs_tol=1e-6)):
                warnings.append(f"{path}: its main score {value} is not the task's main score {metric} "
                                f"({named}); scored under another protocol, not shown; re-run the task")
                return None
    date = res.date.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if isinstance(res.date, datetime) else None
    return {
        "task": name, "benchmark": info["benchmark"], "task_type": info["task_type"], "source": info["source"],
        "main_score": info["main_score"], "score": score, "dataset_revision": res.dataset_revision,
        "mteb_version": res.mteb_version, "date": date, "evaluation_time": res.evaluation_time, "path": str(path),
    }


def _load_run(folder: Path, tasks: Mapping[str, Mapping[str, Any]], warnings: list[str]) -> _Run | None:
    meta = _read_meta(folder, warnings)
    fallback = model_name_of_folder(folder.parent.name)
    name = _text(meta.get("name")) or fallback
    revision = _text(meta.get("revision")) or folder.name
    settings = _read_run_settings(folder, warnings)
    run = _Run(name=name, revision=revision, folder=folder, meta=meta)
    files = result_files(folder)
    if not files:
        warnings.append(f"{folder}: no result files (<TaskName>.json); skipped")
        return None
    for path in files:
        row = _result_row(path, tasks, warnings)
        if row is None:
            continue
        entry = settings.get(row["task"], {})
        recorded, current = _text(entry.get("protocol")), tasks[row["task"]].get("protocol")
        if recorded is not None and current is not None and recorded != current:
            warnings.append(f"{path}: scored under protocol {recorded}; the task is now {current}; not shown; re-run the task")
            continue
        row["protocol"] = recorded
        enc = entry.get("encode_kwargs")
        bs = enc.get("batch_size") if isinstance(enc, dict) else None
        row.update(model=name, revision=revision, batch_size=bs if isinstance(bs, int) and not isinstance(bs, bool) else None)
        versions = entry.get("version") if isinstance(entry.get("version"), dict) else {}
        run.settings.append({"device": _text(entry.get("device")), "precision": _text(entry.get("precision")),
                             "medeval": _text(versions.get("medeval")), "torch": _text(versions.get("torch")),
                             "sentence-transformers": _text(versions.get("sentence-transformers")),
                             "versions": {str(k): v for k, v in versions.items() if _text(v)},
                             "protocol": _text(entry.get("protocol")), "model_fingerprint": _text(entry.get("model_fingerprint"))})
        run.rows.append(row)
    return run


def _versions(settings: list[dict[str, Any]]) -> str | None:
    """Every library version recorded in run_settings.jsonl, e.g. ``"mteb 2.26.24, torch 2.13.0+cpu"``."""
    found: dict[str, set[str]] = {}
    for s in settings:
        for lib, v in s["versions"].items():
            found.setdefault(lib, set()).add(str(v).strip())
    return ", ".join(f"{lib} {' / '.join(sorted(vs))}" for lib, vs in sorted(found.items())) or None


def _meta_row(run: _Run) -> dict[str, Any]:
    m = run.meta
    release = _text(m.get("release_date"))
    open_weights = m.get("open_weights")
    rows = pd.DataFrame(run.rows)
    versions = sorted({v for v in rows.get("mteb_version", []) if isinstance(v, str)}) if len(rows) else []
    batch = sorted({int(v) for v in rows.get("batch_size", []) if not _isnan(v)}) if len(rows) else []
    dates = sorted(d for d in rows.get("date", []) if isinstance(d, str)) if len(rows) else []
    times = [t for t in rows.get("evaluation_time", []) if isinstance(t, (int, float)) and math.isfinite(t)] if len(rows) else []
    return {
        "Model": run.name,
        "Revision": run.revision,
        "Folder": str(run.folder),
        "Parameters": _number(m.get("n_parameters")),
        "Embedding dim": _embed_dim(m.get("embed_dim")),
        "Max tokens": _number(m.get("max_tokens")),
        "Licence": _text(m.get("license")),
        "Open weights": open_weights if isinstance(open_weights, bool) else None,
        "Release date": release[:10] if release else None,
        "Reference": _text(m.get("reference")),
        "Framework": _join(m.get("framework")),
        "Similarity": _text(m.get("similarity_fn_name")),
        "mteb version": ", ".join(versions) or None,
        "Batch size": ", ".join(str(b) for b in batch) or None,
        **{label: ", ".join(sorted({s[key] for s in run.settings if s[key]})) or None
           for label, key in (("Device", "device"), ("Precision", "precision"), ("medeval version", "medeval"),
                              ("torch version", "torch"), ("sentence-transformers version", "sentence-transformers"))},
        "Library versions": _versions(run.settings),
        "Protocol": ", ".join(sorted({x["protocol"] for x in run.settings if x["protocol"]})) or None,
        "Model fingerprint": ", ".join(sorted({x["model_fingerprint"] for x in run.settings if x["model_fingerprint"]})) or None,
        "First result": dates[0] if dates else None,
        "Last result": dates[-1] if dates else None,
        "Evaluation time (s)": round(sum(times), 1) if times else None,
        "Results": run.n_scored,
    }


def load_leaderboard(results_dir: str | Path) -> Leaderboard:
    """Read every ``<org>__<model>/<revision>/`` folder under ``results_dir`` (or ``results_dir/results``).

    One revision per model is shown: the one with most scored tasks (then the newest); the others are listed in
    the warnings. Broken files are skipped with a warning naming the file and the problem. Importing medeval
    registers its tasks with mteb first, so the result files can be read with mteb's ``TaskResult``.

    Args:
        results_dir: a leaderboard folder (e.g. the repository's ``leaderboard/``) or a results folder.

    Returns:
        A :class:`~medeval.leaderboard.Leaderboard`: scores, models, tasks and warnings (paths in warnings are
        relative to the results folder).

    Raises:
        ResultError: ``results_dir`` is not a folder.

    Example:
        >>> lb = load_leaderboard("leaderboard")
        >>> lb.scores.columns[:3].tolist()
        ['model', 'revision', 'task']
    """
    import medeval  # noqa: F401 - registers medeval's tasks with mteb before results are read
    from medeval.leaderboard.aggregate import Leaderboard

    root = results_root(results_dir)
    tasks = task_table()
    task_info = tasks.to_dict("index")
    warnings: list[str] = []
    runs: dict[str, list[_Run]] = {}
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        revisions = sorted(p for p in model_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not revisions:
            warnings.append(f"{model_dir}: no <revision>/ folders inside; expected <org>__<model>/<revision>/<Task>.json")
        for folder in revisions:
            try:
                run = _load_run(folder, task_info, warnings)
            except Exception as err:  # noqa: BLE001 - a file that breaks reading is listed under Warnings, never fatal
                warnings.append(f"{folder}: could not be read ({type(err).__name__}: {_first_line(err)}); skipped")
                continue
            if run is not None:
                runs.setdefault(run.name, []).append(run)
    # names compare case-insensitively (as `medeval validate` does): Case/Model and case/model are one model
    by_key: dict[str, list[_Run]] = {}
    for name, candidates in runs.items():
        by_key.setdefault(name.casefold(), []).extend(candidates)
    chosen: list[_Run] = []
    for candidates in by_key.values():
        candidates.sort(key=lambda r: (r.n_scored, r.latest, r.revision, r.name), reverse=True)
        best = candidates[0]
        chosen.append(best)
        for other in candidates[1:]:
            same = "" if other.name == best.name else f" (names differ only by case: {other.name!r})"
            warnings.append(
                f"{other.folder}: another result set for {best.name!r}{same} ({other.n_scored} tasks); showing "
                f"{best.folder} ({best.n_scored} tasks); remove the folder you do not want shown"
            )
    rows = [r for run in chosen for r in run.rows]
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    scores["score"] = scores["score"].astype(float)
    models = pd.DataFrame([_meta_row(run) for run in chosen])
    if len(models):
        models["Open weights"] = models["Open weights"].astype(object)  # True / False / None, never numpy bools
        models = models.sort_values("Model").set_index("Model", drop=False)
        models.index.name = None
    # the site is public: paths relative to the results root, never the builder's /home/<user>/...
    warnings = [_relative_to(w, root) for w in warnings]
    # the board lists the benchmarks' tasks, plus any other task (a user's, from --include-path) that has results;
    # a task merely registered in this process (a user folder read earlier) gets no empty board of its own
    scored = set(scores["task"])
    tasks = tasks[(tasks["benchmark"] != "(no benchmark)") | tasks.index.isin(scored)]
    return Leaderboard(scores=scores.sort_values(["model", "task"], ignore_index=True), models=models, tasks=tasks, warnings=warnings)


def _relative_to(message: str, root: Path) -> str:
    """``message`` with the results root (as given and resolved) removed from the paths in it."""
    for prefix in {str(root), str(root.resolve()), str(root.absolute())}:
        message = message.replace(prefix + os.sep, "").replace(prefix, ".")
    return message
