"""Checks of the files in a revision folder: ``model_meta.json``, ``run_settings.jsonl`` and ``<TaskName>.json``.

:class:`FileChecks` is the half of the results-folder check (:mod:`medeval.results.validate`) that reads files; the
other half walks folders. Each finding is one :class:`~medeval.results.report.Problem` naming the file, the field
and the fix. What is checked:

* ``model_meta.json``: parses, passes mteb's ``ModelMeta`` validation, its ``name`` and ``revision`` name the
  folders (mteb's placeholders are rejected), its numbers and release date are plausible (:data:`META_RANGES`);
* ``run_settings.jsonl``: one JSON object with a ``"task"`` per line;
* every ``<TaskName>.json``: parses (mteb's ``TaskResult`` validation), ``task_name`` equals the file name and is a
  known task, every eval split and subset is present, each ``main_score`` is a finite number in the metric's range
  and equals the task's main metric, ``dataset_revision`` is the task's current content hash.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from medeval.results.layout import MODEL_NAME_RE, NO_NAME, NO_REVISION, REVISION_RE, model_folder_name
from medeval.results.report import Problem, RevisionFolder, ValidationReport, clean, short
from medeval.store import CONTENT_HASH_RE

#: Plausible ranges of model_meta.json numbers: field -> (lowest, highest, what it counts).
META_RANGES: dict[str, tuple[int, int, str]] = {
    "n_parameters": (0, 10**13, "parameter count"),  # 0: lexical and random baselines (mteb records 0 for its own)
    "embed_dim": (1, 2**20, "embedding dimension"),
    "max_tokens": (1, 10**8, "maximum input length in tokens"),
    "memory_usage_mb": (0, 10**8, "memory use in MB"),
}
#: The earliest plausible release date of a model.
EARLIEST_RELEASE = date(1990, 1, 1)

_RERUN = "re-run the task with `{command}` to regenerate the file"


def metric_range(metric: str) -> tuple[float, float]:
    """The range a main score must lie in: [0, 1] for every main score medeval tasks use (see spec.MAIN_SCORES).

    Args:
        metric: The main score's name (``"ndcg_at_10"``, ``"v_measure"``, ...).

    Returns:
        ``(lowest, highest)``.
    """
    return (0.0, 1.0)


class FileChecks:
    """Checks of one revision folder's files; findings go to :meth:`add`.

    Args:
        classes: The known task classes by name (:func:`medeval.catalog.task_classes`).
        report: The report findings are added to.
    """

    def __init__(self, classes: dict[str, Any], report: ValidationReport) -> None:
        self.classes = classes
        self.scan = report
        self._current: dict[str, tuple[str | None, str]] = {}

    def add(self, path: Path | str, fld: str, message: str, fix: str, severity: str = "error") -> None:
        """Record one finding.

        Args:
            path: The file or folder.
            fld: The field, line or aspect.
            message: What is wrong.
            fix: What to do about it.
            severity: ``"error"`` or ``"warning"``.
        """
        self.scan.problems.append(Problem(os.fspath(path), fld, message, fix, severity))

    # -- files -----------------------------------------------------------------------------------------------
    def _read_json(self, path: Path, rev: RevisionFolder, fix: str) -> Any:
        """Parsed JSON, or None after reporting why it cannot be read."""
        try:
            raw = path.read_bytes()
        except OSError as err:
            self.add(path, "file", f"cannot read ({err.strerror or type(err).__name__})", "check its permissions")
            return None
        rev.digests[path.name] = hashlib.sha256(raw).hexdigest()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            self.add(path, "file", f"not UTF-8 text (byte {err.start})", fix)
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            where = f"line {err.lineno} column {err.colno}"
            self.add(path, "file", f"invalid JSON ({err.msg} at {where}; truncated or edited by hand?)", fix)
        except RecursionError:
            self.add(path, "file", "invalid JSON (nested too deeply)", fix)
        except ValueError as err:  # e.g. integers with too many digits
            self.add(path, "file", f"invalid JSON ({err})", fix)
        return None

    def check_model_meta(self, path: Path, rev: RevisionFolder) -> None:
        """Check ``model_meta.json``: JSON object, name and revision matching the folders, mteb's schema, ranges.

        Args:
            path: The file.
            rev: Its revision folder (the sha256 of the bytes read is recorded there).
        """
        fix = "restore the model_meta.json `medeval run` wrote (re-run the model if needed)"
        data = self._read_json(path, rev, fix)
        if data is None:
            return
        if not isinstance(data, dict):
            self.add(path, "file", f"expected a JSON object, got {type(data).__name__}", fix)
            return
        name = data.get("name")
        revision = data.get("revision")
        if name is None or name in NO_NAME:
            self.add(path, "name", f"model name is {short(name)} (mteb did not know the model's Hub id)",
                     "re-run with `medeval run --model-name ORG/NAME` (required for local model folders)")
        elif not isinstance(name, str) or not MODEL_NAME_RE.match(name) or ".." in name:
            self.add(path, "name", f"{short(name)} is not a model id of the form ORG/NAME",
                     "set \"name\" to the model's Hub id, e.g. \"my-org/my-model\" (letters, digits, '.', '_', '-')")
        else:
            expected = model_folder_name(name)
            if rev.model_folder != expected:
                self.add(path, "name", f"model {name!r} does not match its folder {short(rev.model_folder)}",
                         f"rename the folder to {expected!r} (or fix \"name\")")
        if revision is None or revision == NO_REVISION:
            self.add(path, "revision", f"model revision is {short(revision)} (mteb did not know which weights were run)",
                     "re-run with `medeval run -m MODEL --model-revision REV` (REV: a commit hash or version tag)")
        elif not isinstance(revision, str) or not REVISION_RE.match(revision):
            self.add(path, "revision", f"{short(revision)} is not a model revision",
                     "set \"revision\" to the commit hash or tag of the weights (letters, digits, '.', '_', '-')")
        elif revision != rev.revision:
            self.add(path, "revision", f"revision {revision!r} does not match its folder {short(rev.revision)}",
                     f"rename the folder to {revision!r} (or fix \"revision\")")
        self._check_model_meta_schema(path, data)
        self._check_model_meta_ranges(path, data)

    def _check_model_meta_ranges(self, path: Path, data: dict[str, Any]) -> None:
        """Numbers and dates a real model can have (the site shows them); ``null`` is always allowed."""
        fix = "correct the value in model_meta.json (or set it to null if unknown)"
        for fld, (low, high, unit) in META_RANGES.items():
            value = data.get(fld)
            values = value if isinstance(value, list) and fld == "embed_dim" else [value]
            for v in values:
                if v is None or (fld == "max_tokens" and v == math.inf):
                    continue  # unknown, or no limit (mteb writes Infinity for lexical models)
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    continue  # a wrong type is mteb's schema check's to report
                if not math.isfinite(v) or not low <= v <= high:
                    self.add(path, fld, f"{short(v)} is not a plausible {unit} (allowed: {low:,} to {high:,})", fix)
                    break
        released = data.get("release_date")
        if released is not None:
            latest = date.today() + timedelta(days=366)
            try:
                day = date.fromisoformat(released) if isinstance(released, str) and len(released) == 10 else None
            except ValueError:
                day = None  # not a date at all: mteb's schema check reports it
            if day is not None and not EARLIEST_RELEASE <= day <= latest:
                self.add(path, "release_date", f"{short(released)} is not a plausible release date "
                         f"(allowed: YYYY-MM-DD from {EARLIEST_RELEASE} to {latest})", fix)

    def _check_model_meta_schema(self, path: Path, data: dict[str, Any]) -> None:
        from mteb.models import ModelMeta
        from pydantic import ValidationError

        payload = {k: v for k, v in data.items() if k not in ("is_cross_encoder",)}
        payload["loader"] = None  # written as the loader's name; not needed to describe the model
        try:
            ModelMeta.model_validate(payload)
        except ValidationError as err:
            for e in err.errors():
                loc = ".".join(str(p) for p in e["loc"][:1]) or "model_meta"
                if loc in ("name", "revision"):
                    continue  # reported above, with the fix
                if e["type"] in ("extra_forbidden", "missing"):
                    what = "unknown field" if e["type"] == "extra_forbidden" else "field missing"
                    self.add(path, loc, f"{what} for mteb's ModelMeta (written by another mteb version?)",
                             "re-run with the mteb version medeval pins, or fix the field", "warning")
                else:
                    self.add(path, loc, f"mteb rejects the value: {e['msg']}",
                             "fix the value (see mteb.models.ModelMeta) or re-run the model")
        except Exception as err:  # noqa: BLE001 - mteb's validators may raise anything on odd input
            self.add(path, "model_meta", f"mteb cannot read it ({type(err).__name__}: {err})", "restore the file `medeval run` wrote")

    def check_run_settings(self, path: Path, rev: RevisionFolder) -> None:
        """Check ``run_settings.jsonl``: UTF-8, one JSON object with a ``"task"`` name per line.

        Args:
            path: The file.
            rev: Its revision folder (the sha256 of the bytes read is recorded there).
        """
        try:
            raw = path.read_bytes()
        except OSError as err:
            self.add(path, "file", f"cannot read ({err.strerror})", "check its permissions")
            return
        rev.digests[path.name] = hashlib.sha256(raw).hexdigest()
        fix = "restore the run_settings.jsonl mteb wrote, or delete it (it is optional)"
        try:
            lines = raw.decode("utf-8").splitlines()
        except UnicodeDecodeError as err:
            self.add(path, "file", f"not UTF-8 text (byte {err.start})", fix)
            return
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                self.add(path, f"line {lineno}", "invalid JSON", fix)
                return
            if not isinstance(row, dict) or not isinstance(row.get("task"), str):
                self.add(path, f"line {lineno}", "each line must be a JSON object with a \"task\" name", fix)
                return

    def check_task_file(self, path: Path, rev: RevisionFolder) -> str | None:
        """Check one ``<TaskName>.json`` file: task name, data revision, scores and mteb's ``TaskResult`` schema.

        Args:
            path: The file.
            rev: Its revision folder (the sha256 of the bytes read is recorded there).

        Returns:
            The task name if its data revision could not be verified here (not built, nothing pinned), else None.
        """
        stem = path.name[: -len(".json")]
        fix = _RERUN.format(command=rev.rerun_command(stem if stem in self.classes else "TASK"))
        data = self._read_json(path, rev, fix)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.add(path, "file", f"expected a JSON object (an mteb TaskResult), got {type(data).__name__}", fix)
            return None
        reported: set[str] = set()  # top-level fields with a problem already

        # task_name: matches the file, names a known task
        task_name = data.get("task_name")
        cls = None
        if not isinstance(task_name, str):
            self.add(path, "task_name", f"missing or not a string ({short(task_name)})", fix)
            reported.add("task_name")
        else:
            if task_name != stem:
                self.add(path, "task_name", f"{short(task_name)} does not match the file name {short(path.name)}",
                         f"rename the file to {clean(task_name, 80)}.json or fix task_name")
                reported.add("task_name")
            cls = self.classes.get(task_name)
            if cls is None:
                close = difflib.get_close_matches(task_name, list(self.classes), n=2)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                self.add(path, "task_name", f"unknown task {short(task_name)}{hint}",
                         "use a task `medeval tasks` lists, or pass --include-path with your task YAMLs")
                reported.add("task_name")

        # dataset_revision: a content hash, the current one
        unverified = None
        revision = data.get("dataset_revision")
        if not isinstance(revision, str):
            self.add(path, "dataset_revision", f"missing or not a string ({short(revision)})", fix)
            reported.add("dataset_revision")
        elif not CONTENT_HASH_RE.match(revision):
            self.add(path, "dataset_revision", f"{short(revision)} is not a medeval data content hash (16 hex digits)",
                     f"evaluate with medeval's task loader, which records the built data's hash: {fix}")
            reported.add("dataset_revision")
        elif cls is not None:
            current, source = self.current_revision(cls)
            if current is None:
                unverified = cls.spec.name
            elif current != revision:
                self.add(path, "dataset_revision",
                         f"results of stale data: {revision} is not the current data of {cls.spec.name} ({current}, {source})",
                         f"re-run on the current data: `medeval build -t {cls.spec.name}`, then {fix[0].lower()}{fix[1:]}")
                reported.add("dataset_revision")

        # scores: every eval split and subset, finite main scores in range
        scores = data.get("scores")
        if not isinstance(scores, dict):
            self.add(path, "scores", f"missing or not an object of splits ({short(scores)})", fix)
            reported.add("scores")
        else:
            if self._check_scores(path, scores, cls, fix):
                reported.add("scores")

        # everything else mteb's own model checks (types of mteb_version, evaluation_time, ...)
        self._check_task_result_schema(path, data, reported, fix)
        return unverified

    def _check_scores(self, path: Path, scores: dict[str, Any], cls: Any, fix: str) -> bool:
        n_before = len(self.scan.problems)
        if cls is not None:
            splits = list(cls.metadata.eval_splits)
            subsets = list(cls.metadata.hf_subsets) or ["default"]
            metric = cls.metadata.main_score
        else:
            splits, subsets, metric = list(scores), [], None
        lo, hi = metric_range(metric or "")
        for split in splits:
            entries = scores.get(split)
            if entries is None:
                self.add(path, f"scores.{split}", f"eval split {split!r} is missing (removed splits are not accepted)", fix)
                continue
            if not isinstance(entries, list):
                self.add(path, f"scores.{split}", f"expected a list of subset scores, got {type(entries).__name__}", fix)
                continue
            seen: set[str] = set()
            for i, entry in enumerate(entries):
                where = f"scores.{split}[{i}]"
                if not isinstance(entry, dict):
                    self.add(path, where, f"expected an object of scores, got {type(entry).__name__}", fix)
                    continue
                subset = entry.get("hf_subset")
                if not isinstance(subset, str):
                    self.add(path, f"{where}.hf_subset", f"missing or not a string ({short(subset)})", fix)
                    continue
                where = f"scores.{split}[{clean(subset, 40)}]"
                if subset in seen:
                    self.add(path, where, f"subset {subset!r} appears twice in split {split!r}", fix)
                seen.add(subset)
                if subsets and subset not in subsets:
                    self.add(path, where, f"unknown subset {short(subset)} (the task has {', '.join(subsets)})", fix)
                if not isinstance(entry.get("languages"), list):
                    self.add(path, f"{where}.languages", "missing or not a list", fix)
                self._check_main_score(path, where, entry, metric, lo, hi, fix)
            for subset in subsets:
                if subset not in seen:
                    self.add(path, f"scores.{split}", f"subset {subset!r} is missing", fix)
        if cls is not None and not splits:
            self.add(path, "scores", "the task has no eval splits", "fix the task YAML's evaluation.eval_splits")
        return len(self.scan.problems) > n_before

    def _check_main_score(self, path: Path, where: str, entry: dict[str, Any], metric: str | None,
                          lo: float, hi: float, fix: str) -> None:
        if "main_score" not in entry:
            self.add(path, f"{where}.main_score", "missing", fix)
            return
        value = entry["main_score"]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(path, f"{where}.main_score", f"not a number ({short(value)})", fix)
            return
        if not math.isfinite(value):
            self.add(path, f"{where}.main_score", f"is {value} (the evaluation produced no score)", fix)
            return
        if not lo <= value <= hi:
            self.add(path, f"{where}.main_score", f"{value} is outside [{lo:g}, {hi:g}], the range of {metric or 'the metric'}", fix)
            return
        if metric is not None and metric in entry:
            named = entry[metric]
            if isinstance(named, bool) or not isinstance(named, (int, float)) or not math.isclose(named, value, abs_tol=1e-6):
                self.add(path, f"{where}.main_score",
                         f"{value} is not the task's main score {metric} = {short(named)}: scored when the task's "
                         "main score was another metric (or edited by hand)", fix)

    def _check_task_result_schema(self, path: Path, data: dict[str, Any], reported: set[str], fix: str) -> None:
        from mteb import TaskResult
        from pydantic import ValidationError

        try:
            TaskResult.model_validate(copy.deepcopy(data))
        except ValidationError as err:
            for e in err.errors():
                top = str(e["loc"][0]) if e["loc"] else "file"
                if top in reported:
                    continue
                loc = ".".join(str(p) for p in e["loc"]) or "file"
                msg = "required field is missing" if e["type"] == "missing" else e["msg"]
                self.add(path, loc, f"mteb rejects it: {msg}", fix)
                reported.add(top)
        except RecursionError:
            if "file" not in reported:
                self.add(path, "file", "mteb cannot read it (nested too deeply)", fix)
        except Exception as err:  # noqa: BLE001 - mteb's validators may raise anything on odd input
            self.add(path, "file", f"mteb cannot read it ({type(err).__name__}: {err})", fix)

    def current_revision(self, cls: Any) -> tuple[str | None, str]:
        """The content hash results of task class ``cls`` must record, and where it comes from (cached per task).

        Args:
            cls: A medeval task class.

        Returns:
            :meth:`medeval.store.DataStore.expected_revision`: the YAML's pinned hash, else the local build's
            manifest, else ``(None, why)``.
        """
        from medeval.store import DataStore

        name = cls.spec.name
        if name not in self._current:
            self._current[name] = DataStore().expected_revision(cls)
        return self._current[name]

