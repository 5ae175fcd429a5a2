"""Check result folders before they reach the leaderboard, and copy a run's results into it.

``medeval validate PATH...`` is the check the CI of a results pull request runs; ``medeval submit RUN_DIR`` runs the
same check on a finished run, then copies its files into ``leaderboard/results/`` without losing or silently
overwriting anything.

    >>> from medeval.submit import validate_paths, validate_cli, submit_cli
    >>> problems = validate_paths(["leaderboard"])          # [] when everything is fine
    >>> validate_cli(["leaderboard/results"])               # prints one line per problem; 0 ok, 1 errors
    >>> submit_cli("my_run", "leaderboard", force=False)    # validate, then copy; 0 ok, 1 refused

Layout (what ``medeval run`` / mteb write)::

    results/<org>__<name>/<revision>/model_meta.json     mteb ModelMeta of the model (name, revision, ...)
    results/<org>__<name>/<revision>/<TaskName>.json     one mteb TaskResult per task
    results/<org>__<name>/<revision>/run_settings.jsonl  (optional) encode settings mteb records per task

A PATH may be a leaderboard folder (holding ``results/``), a ``results/`` root, an ``<org>__<name>`` folder, a
revision folder, or a file (its revision folder is checked). What is checked, per revision folder:

* layout: folder names ``<org>__<name>/<revision>/``; only the files above; no subfolders, no symlinks, nothing that
  is not a regular file, no file over 10 MB (:data:`MAX_FILE_BYTES`);
* ``model_meta.json``: present, parses, passes mteb's ``ModelMeta`` validation, its ``name`` and ``revision`` name
  the folders (``no_model_name_available`` / ``no_revision_available`` are rejected: re-run with
  ``--model-name`` / ``--model-revision``);
* every ``<TaskName>.json``: parses (mteb's ``TaskResult`` validation, its exceptions turned into problem lines),
  ``task_name`` equals the file name and is a known task (``--include-path`` adds your own), every eval split and
  subset of the task is present, each ``main_score`` is a finite number in the metric's range ([0, 1] for every
  medeval main score) and agrees with the named metric in the same entry;
* ``dataset_revision``: a medeval content hash, equal to the task's current hash: the YAML's pinned
  ``dataset.revision`` if it is a content hash, else the manifest of the data built on this machine. If neither
  exists the check cannot run and one *warning* per revision folder says so (``medeval build`` or pinning the
  revision turns it into a real check);
* duplicates: one result per (model, task) on the leaderboard. The same model (names compared case-insensitively,
  as on the Hub) with the same task in two revision folders is an error on both files: if a new revision replaces
  the old one, delete the old file in the same pull request (git keeps its history); if both must be listed, the
  new weights are a different model and get their own name.

Warnings never fail the check; errors do. Submissions are all-or-nothing: nothing is copied unless every file of
the run is valid and no existing file would change without ``--force``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from medeval.errors import MedEvalError
from medeval.results import MODEL_FOLDER_RE, MODEL_NAME_RE, NO_NAME, NO_REVISION, REVISION_RE
from medeval.fsutil import atomic_write_bytes, describe_os_error, file_lock, is_temp_file
from medeval.results import RESULTS_LOCK

MAX_FILE_BYTES = 10_000_000  # 10 MB: a result file of one task is a few kB
MODEL_META = "model_meta.json"
RUN_SETTINGS = "run_settings.jsonl"
#: The lock of `medeval submit` in the leaderboard folder (``<output>/results/`` has results.RESULTS_LOCK).
SUBMIT_LOCK = ".submit.lock"
RESULTS = "results"
#: Plausible ranges of model_meta.json numbers: field -> (lowest, highest, what it counts).
META_RANGES: dict[str, tuple[int, int, str]] = {
    "n_parameters": (0, 10**13, "parameter count"),  # 0: lexical and random baselines (mteb records 0 for its own)
    "embed_dim": (1, 2**20, "embedding dimension"),
    "max_tokens": (1, 10**8, "maximum input length in tokens"),
    "memory_usage_mb": (0, 10**8, "memory use in MB"),
}
EARLIEST_RELEASE = date(1990, 1, 1)
#: Files tolerated (and ignored) directly in a results/ root.
ROOT_EXTRA_FILES = frozenset({"README.md", ".gitkeep", ".gitattributes", RESULTS_LOCK})  # + the lock concurrent runs share
# MODEL_NAME_RE, MODEL_FOLDER_RE, REVISION_RE, NO_NAME, NO_REVISION: the one folder-name rule, in medeval.results
CONTENT_HASH_RE = re.compile(r"^[0-9a-f]{16}$")

_RERUN = "re-run the task with `medeval run -m MODEL -t {task} --overwrite` to regenerate the file"


def metric_range(metric: str) -> tuple[float, float]:
    """The range a main score must lie in: [0, 1] for every main score medeval tasks use (see spec.MAIN_SCORES)."""
    return (0.0, 1.0)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a submission: where (file, field), what, and how to fix it."""

    path: str
    field: str
    message: str
    fix: str
    severity: str = "error"  # "error" fails the check, "warning" is reported only

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def line(self) -> str:
        """``path: field: message; fix`` (warnings start with ``warning: ``), always a single line."""
        text = f"{_clean(self.path)}: {_clean(self.field)}: {_clean(self.message)}; {_clean(self.fix)}"
        return text if self.is_error else f"warning: {text}"


def _clean(text: object, limit: int = 300) -> str:
    """Printable, single-line, bounded text: a submission controls file names and JSON values."""
    s = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    s = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _short(value: object, limit: int = 60) -> str:
    return _clean(repr(value), limit)


# --------------------------------------------------------------------------------------------------- scanning
@dataclass
class RevisionFolder:
    """A checked ``<org>__<name>/<revision>/`` folder and the digests of the files read while checking it."""

    path: Path
    model_folder: str
    revision: str
    digests: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of the checked bytes
    task_files: list[str] = field(default_factory=list)  # names of <TaskName>.json files
    errors: int = 0


@dataclass
class Scan:
    """Everything :func:`scan_paths` found."""

    problems: list[Problem] = field(default_factory=list)
    folders: list[RevisionFolder] = field(default_factory=list)
    n_task_files: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


class _Checker:
    def __init__(self) -> None:
        from medeval.catalog import task_classes

        self.classes = task_classes()
        self.scan = Scan()
        self._seen: set[str] = set()
        self._current: dict[str, tuple[str | None, str]] = {}

    # -- reporting -------------------------------------------------------------------------------------------
    def add(self, path: Path | str, fld: str, message: str, fix: str, severity: str = "error") -> None:
        self.scan.problems.append(Problem(os.fspath(path), fld, message, fix, severity))

    # -- walking ---------------------------------------------------------------------------------------------
    def check_path(self, path: Path) -> None:
        if not os.path.lexists(path):
            self.add(path, "path", "does not exist", "give a leaderboard folder, a results/ folder, a model folder or a revision folder")
            return
        if path.is_file():
            if path.suffix not in (".json", ".jsonl"):  # README.md, a zip...: never "validate" the folder it sits in
                self.add(path, "path", "is a file, not a result folder or result file",
                         "give a leaderboard folder, a results/ folder, a model folder or a revision folder")
                return
            path = path.parent  # a result file: check its revision folder
        if not path.is_dir():
            self.add(path, "path", "is not a folder", "give a leaderboard folder, a results/ folder, a model folder or a revision folder")
            return
        kind = _classify(path)
        if kind == "leaderboard":
            self.check_results_root(path / RESULTS)
        elif kind == "results":
            self.check_results_root(path)
        elif kind == "model":
            self.check_model_folder(path)
        else:
            self.check_revision_folder(path)

    def _entries(self, folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as it:
                return sorted(it, key=lambda e: e.name)
        except OSError as err:
            self.add(folder, "path", f"cannot list the folder ({err.strerror or type(err).__name__})", "check its permissions")
            return []

    def _is_symlink(self, entry: os.DirEntry[str]) -> bool:
        if entry.is_symlink():
            self.add(entry.path, "path", "is a symbolic link (it could point outside the results folder)",
                     "replace it with the real file or folder")
            return True
        return False

    def check_results_root(self, root: Path) -> None:
        for entry in self._entries(root):
            if self._is_symlink(entry):
                continue
            if entry.is_dir(follow_symlinks=False):
                self.check_model_folder(Path(entry.path))
            elif entry.name not in ROOT_EXTRA_FILES:
                self.add(entry.path, "path", "unexpected file in the results folder",
                         "results go in <org>__<name>/<revision>/<TaskName>.json; move or delete it")

    def check_model_folder(self, folder: Path) -> None:
        name = folder.absolute().name
        if not MODEL_FOLDER_RE.match(name):
            self.add(folder, "folder name", f"{_short(name)} is not <org>__<name>",
                     "name the folder after the model's Hub id with '/' replaced by '__' (e.g. my-org__my-model)")
        for entry in self._entries(folder):
            if self._is_symlink(entry):
                continue
            if entry.is_dir(follow_symlinks=False):
                self.check_revision_folder(Path(entry.path), parent_checked=True)
            else:
                self.add(entry.path, "path", "unexpected file in a model folder",
                         "result files go one level down, in <org>__<name>/<revision>/; move it there")

    def check_revision_folder(self, folder: Path, parent_checked: bool = False) -> None:
        real = os.path.realpath(folder)
        if real in self._seen:
            return
        self._seen.add(real)
        absolute = folder.absolute()
        rev = RevisionFolder(path=folder, model_folder=absolute.parent.name, revision=absolute.name)
        n_errors = len(self.scan.errors)
        if rev.revision == NO_REVISION:
            self.add(folder, "folder name", f"revision folder is {NO_REVISION!r} (the model's revision was unknown)",
                     "re-run with `medeval run --model-revision REV` (a commit hash or version tag of the weights)")
        elif not REVISION_RE.match(rev.revision):
            self.add(folder, "folder name", f"{_short(rev.revision)} is not a model revision",
                     "name the folder after the model's revision: letters, digits, '.', '_' or '-' (e.g. a commit hash)")
        if not parent_checked and not MODEL_FOLDER_RE.match(rev.model_folder):
            self.add(folder, "folder name", f"parent folder {_short(rev.model_folder)} is not <org>__<name>",
                     "keep the layout <org>__<name>/<revision>/ (e.g. results/my-org__my-model/1a2b3c4/)")
        unverified: list[str] = []
        meta_seen = False
        for entry in self._entries(folder):
            path = Path(entry.path)
            if self._is_symlink(entry):
                continue
            if entry.is_dir(follow_symlinks=False):
                self.add(path, "path", "unexpected subfolder in a revision folder (experiment folders are not accepted)",
                         "submit the run with the model's default settings; remove the subfolder")
                continue
            if not entry.is_file(follow_symlinks=False):
                self.add(path, "path", "not a regular file", "remove it")
                continue
            if is_temp_file(entry.name):
                self.add(path, "path", "temp file of an interrupted write (it is not submitted)",
                         "run the same `medeval run` command again (it removes it and completes the folder) or delete it",
                         "warning")
                continue
            try:
                size = entry.stat(follow_symlinks=False).st_size
            except OSError as err:
                self.add(path, "path", f"cannot read ({err.strerror})", "check its permissions")
                continue
            if size > MAX_FILE_BYTES:
                self.add(path, "size", f"{size / 1e6:.1f} MB is over the {MAX_FILE_BYTES // 1_000_000} MB limit",
                         "submit only mteb's result JSON (a task's result is a few kB); remove predictions or other data")
                continue
            if entry.name == MODEL_META:
                meta_seen = True
                self.check_model_meta(path, rev)
            elif entry.name == RUN_SETTINGS:
                self.check_run_settings(path, rev)
            elif entry.name.endswith(".json"):
                self.scan.n_task_files += 1
                rev.task_files.append(entry.name)
                task = self.check_task_file(path, rev)
                if task is not None:
                    unverified.append(task)
            else:
                self.add(path, "path", "unexpected file in a revision folder",
                         f"a revision folder holds only {MODEL_META}, {RUN_SETTINGS} and <TaskName>.json files; remove it")
        if not meta_seen:
            self.add(folder / MODEL_META, "model_meta.json", "missing",
                     "run the same `medeval run` command again (a run killed mid-write leaves it out): it writes "
                     "model_meta.json without re-running finished tasks")
        if not rev.task_files:
            self.add(folder, "path", "no result files (<TaskName>.json) in this revision folder",
                     "run the benchmark first (`medeval run -m MODEL`) or remove the empty folder", "warning")
        # a user task's own data: folder is never built by medeval; what works is pinning its content hash
        user = sorted(t for t in unverified if getattr(self.classes.get(t), "spec", None) and self.classes[t].spec.data)
        for group, where, fix in (
            ([t for t in unverified if t not in user], "task not built here",
             "build the tasks (`medeval build -t TASK`) or pin dataset.revision in their YAML, then validate again"),
            (user, "user task with its own data folder, no pinned revision",
             "pin the data's content hash in the task YAML (`dataset: {revision: HASH}`; `medeval check TASK` prints "
             "HASH), then validate again with --include-path FOLDER-OF-THE-YAML"),
        ):
            if group:
                shown = ", ".join(sorted(group)[:6]) + (f" and {len(group) - 6} more" if len(group) > 6 else "")
                self.add(folder, "dataset_revision",
                         f"cannot verify that {len(group)} result(s) used the current task data ({where}): {shown}",
                         fix, "warning")
        self.check_protocols(folder, rev)
        rev.errors = len(self.scan.errors) - n_errors
        self.scan.folders.append(rev)

    def check_protocols(self, folder: Path, rev: RevisionFolder) -> None:
        """Each result's protocol fingerprint (its line in run_settings.jsonl) must be the task's current one."""
        from medeval import identity
        from medeval.results import read_run_settings

        settings = read_run_settings(folder) if rev.task_files else {}
        for fname in rev.task_files:
            cls = self.classes.get(fname[: -len(".json")])
            if cls is None:
                continue  # unknown task: reported by check_task_file
            task = cls.spec.name
            params = identity.protocol_params(cls.spec)
            current = identity.fingerprint_of_params(params)
            entry = settings.get(task) or {}
            recorded = entry.get("protocol")
            if not isinstance(recorded, str):
                self.add(folder / fname, "protocol",
                         f"no protocol fingerprint recorded for {task} in {RUN_SETTINGS} (written before protocols were recorded?)",
                         f"re-run with `medeval run -m MODEL -t {task} --overwrite`; results scored under the task's "
                         f"current protocol can be stamped with `medeval results migrate {folder}`")
            elif recorded != current:
                self.add(folder / fname, "protocol",
                         f"scored under protocol {_clean(recorded, 40)}; the task is now {current} "
                         f"({identity.describe_change(entry.get('protocol_params'), params)})",
                         f"run it again: `medeval run -m MODEL -t {task} --overwrite`")

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
            self.add(path, "name", f"model name is {_short(name)} (mteb did not know the model's Hub id)",
                     "re-run with `medeval run --model-name ORG/NAME` (required for local model folders)")
        elif not isinstance(name, str) or not MODEL_NAME_RE.match(name) or ".." in name:
            self.add(path, "name", f"{_short(name)} is not a model id of the form ORG/NAME",
                     "set \"name\" to the model's Hub id, e.g. \"my-org/my-model\" (letters, digits, '.', '_', '-')")
        else:
            expected = name.replace("/", "__").replace(" ", "_")
            if rev.model_folder != expected:
                self.add(path, "name", f"model {name!r} does not match its folder {_short(rev.model_folder)}",
                         f"rename the folder to {expected!r} (or fix \"name\")")
        if revision is None or revision == NO_REVISION:
            self.add(path, "revision", f"model revision is {_short(revision)} (mteb did not know which weights were run)",
                     "re-run with `medeval run --model-revision REV` (a commit hash or version tag)")
        elif not isinstance(revision, str) or not REVISION_RE.match(revision):
            self.add(path, "revision", f"{_short(revision)} is not a model revision",
                     "set \"revision\" to the commit hash or tag of the weights (letters, digits, '.', '_', '-')")
        elif revision != rev.revision:
            self.add(path, "revision", f"revision {revision!r} does not match its folder {_short(rev.revision)}",
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
                    self.add(path, fld, f"{_short(v)} is not a plausible {unit} (allowed: {low:,} to {high:,})", fix)
                    break
        released = data.get("release_date")
        if released is not None:
            latest = date.today() + timedelta(days=366)
            try:
                day = date.fromisoformat(released) if isinstance(released, str) and len(released) == 10 else None
            except ValueError:
                day = None  # not a date at all: mteb's schema check reports it
            if day is not None and not EARLIEST_RELEASE <= day <= latest:
                self.add(path, "release_date", f"{_short(released)} is not a plausible release date "
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
        """Check one result file; return the task name if its data revision could not be verified here."""
        stem = path.name[: -len(".json")]
        fix = _RERUN.format(task=_clean(stem, 80))
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
            self.add(path, "task_name", f"missing or not a string ({_short(task_name)})", fix)
            reported.add("task_name")
        else:
            if task_name != stem:
                self.add(path, "task_name", f"{_short(task_name)} does not match the file name {_short(path.name)}",
                         f"rename the file to {_clean(task_name, 80)}.json or fix task_name")
                reported.add("task_name")
            cls = self.classes.get(task_name)
            if cls is None:
                close = difflib.get_close_matches(task_name, list(self.classes), n=2)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                self.add(path, "task_name", f"unknown task {_short(task_name)}{hint}",
                         "use a task `medeval tasks` lists, or pass --include-path with your task YAMLs")
                reported.add("task_name")

        # dataset_revision: a content hash, the current one
        unverified = None
        revision = data.get("dataset_revision")
        if not isinstance(revision, str):
            self.add(path, "dataset_revision", f"missing or not a string ({_short(revision)})", fix)
            reported.add("dataset_revision")
        elif not CONTENT_HASH_RE.match(revision):
            self.add(path, "dataset_revision", f"{_short(revision)} is not a medeval data content hash (16 hex digits)",
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
            self.add(path, "scores", f"missing or not an object of splits ({_short(scores)})", fix)
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
                    self.add(path, f"{where}.hf_subset", f"missing or not a string ({_short(subset)})", fix)
                    continue
                where = f"scores.{split}[{_clean(subset, 40)}]"
                if subset in seen:
                    self.add(path, where, f"subset {subset!r} appears twice in split {split!r}", fix)
                seen.add(subset)
                if subsets and subset not in subsets:
                    self.add(path, where, f"unknown subset {_short(subset)} (the task has {', '.join(subsets)})", fix)
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
            self.add(path, f"{where}.main_score", f"not a number ({_short(value)})", fix)
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
                         f"{value} is not the task's main score {metric} = {_short(named)}: scored when the task's "
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

    # -- the current data revision of a task -----------------------------------------------------------------
    def current_revision(self, cls: Any) -> tuple[str | None, str]:
        """(hash, where it comes from), or (None, why not): the pinned YAML hash, else the local build's manifest."""
        name = cls.spec.name
        if name not in self._current:
            self._current[name] = current_revision(cls)
        return self._current[name]

    # -- across folders --------------------------------------------------------------------------------------
    def check_duplicates(self) -> None:
        by_key: dict[tuple[str, str], list[Path]] = {}
        for rev in self.scan.folders:
            for fname in rev.task_files:
                task = fname[: -len(".json")]
                if task in self.classes:
                    by_key.setdefault((rev.model_folder.lower(), task), []).append(rev.path / fname)
        for (_, task), files in sorted(by_key.items()):
            if len(files) < 2:
                continue
            for f in files:
                others = ", ".join(os.fspath(o) for o in files if o != f)
                self.add(f, "task_name", f"duplicate result for the same model and task {task} (also in {others})",
                         "keep one revision per model and task: delete the superseded file (git keeps its history), "
                         "or publish different weights under their own model name")


def current_revision(cls: Any) -> tuple[str | None, str]:
    """The content hash results of task class ``cls`` must record, and where it comes from.

    The YAML's pinned ``dataset.revision`` when it is a content hash; else the manifest of the data built here
    (``medeval.data.read_manifest(cls.data_folder())``); else ``(None, reason)``: the check cannot run.
    See :meth:`medeval.store.DataStore.expected_revision`.
    """
    from medeval.store import DataStore

    return DataStore().expected_revision(cls)


def _classify(path: Path) -> str:
    """'leaderboard' (has results/), 'results', 'revision' (holds JSON files) or 'model' (its subfolders do)."""
    results = path / RESULTS
    if results.is_dir() and not results.is_symlink():
        return "leaderboard"
    name = path.absolute().name
    if name == RESULTS:
        return "results"
    try:
        children = list(path.iterdir())
    except OSError:
        return "results"
    if any(c.suffix in (".json", ".jsonl") and not c.is_dir() for c in children):
        return "revision"
    if MODEL_FOLDER_RE.match(name):
        return "model"
    for c in children:
        if c.is_dir() and not c.is_symlink():
            try:
                if any(g.suffix == ".json" for g in c.iterdir()):
                    return "model"
            except OSError:
                continue
    return "results"


def scan_paths(paths: Iterable[str | os.PathLike[str]]) -> Scan:
    """Check every result folder under ``paths``; return the problems and the revision folders seen."""
    checker = _Checker()
    for p in paths:
        checker.check_path(Path(p))
    checker.check_duplicates()
    checker.scan.problems = sorted(set(checker.scan.problems), key=lambda p: (p.path, p.severity != "error", p.field, p.message))
    return checker.scan


def validate_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Problem]:
    """Problems (errors and warnings) of the result folders under ``paths``; empty when all is well."""
    return scan_paths(paths).problems


def _summary(scan: Scan) -> str:
    n_err = len(scan.errors)
    n_warn = len(scan.problems) - n_err
    where = f"{scan.n_task_files} result file(s) in {len(scan.folders)} revision folder(s)"
    verdict = "FAILED" if n_err else "OK"
    return f"{verdict}: {where}; {n_err} error(s), {n_warn} warning(s)"


def validate_cli(paths: Sequence[str | os.PathLike[str]]) -> int:
    """``medeval validate``: print one line per problem and a summary; 0 if there are no errors, else 1."""
    scan = scan_paths(paths)
    for p in scan.problems:
        print(p.line())
    if not scan.folders and not scan.errors:
        shown = ", ".join(os.fspath(p) for p in paths)
        print(f"OK: no results under {shown} yet (expected results/<org>__<name>/<revision>/<TaskName>.json)")
        return 0
    print(_summary(scan))
    return 1 if scan.errors else 0


# --------------------------------------------------------------------------------------------------- submit
@dataclass
class _Action:
    kind: str  # added, replaced, unchanged, kept, merged, conflict
    dest: Path
    data: bytes | None = None  # what to write (None: nothing)
    note: str = ""
    prior: str | None = None  # sha256 of the file the plan saw at ``dest`` (None: there was none)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _changed_since_plan(actions: list[_Action]) -> list[_Action]:
    """Actions whose target file is no longer what the plan saw (another writer got there between plan and write)."""
    out = []
    for a in actions:
        if a.data is None:
            continue
        try:
            now: str | None = _sha(a.dest.read_bytes())
        except FileNotFoundError:
            now = None
        except OSError:
            now = "unreadable"
        if now != a.prior:
            out.append(a)
    return out


def _main_scores(raw: bytes) -> dict[tuple[str, str], Any] | None:
    try:
        data = json.loads(raw)
        return {
            (split, str(e.get("hf_subset"))): e.get("main_score")
            for split, entries in data["scores"].items()
            for e in entries
        }
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def _score_changes(old: bytes, new: bytes) -> list[str] | None:
    """Changed main scores as 'split/subset: a -> b' (empty: same scores), or None if either file is unreadable."""
    a, b = _main_scores(old), _main_scores(new)
    if a is None or b is None:
        return None
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        same = x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        if not same:
            out.append(f"{key[0]}/{key[1]} main_score {x} -> {y}")
    return out


def _changed_keys(old: bytes, new: bytes) -> str:
    try:
        a, b = json.loads(old), json.loads(new)
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return ", ".join(keys) or "formatting"
    except (ValueError, AttributeError, TypeError, RecursionError):
        return "unreadable file"


def _merge_run_settings(old: bytes, new: bytes, written_tasks: set[str]) -> bytes:
    """Lines of ``old`` for tasks not written now, then ``new``'s lines for the written tasks (mteb's keyed jsonl)."""

    def rows(raw: bytes) -> list[tuple[str, str]]:
        out = []
        for line in raw.decode("utf-8", "replace").splitlines():
            if line.strip():
                try:
                    task = json.loads(line).get("task")
                except (ValueError, AttributeError, RecursionError):
                    task = None
                out.append((task if isinstance(task, str) else "", line))
        return out

    old_rows, new_rows = rows(old), rows(new)
    old_tasks = {t for t, _ in old_rows}
    keep = [line for t, line in old_rows if t not in written_tasks]
    add = [line for t, line in new_rows if t in written_tasks or t not in old_tasks]
    merged = list(dict.fromkeys(keep + add))
    return ("\n".join(merged) + "\n").encode("utf-8")


def _plan_folder(rev: RevisionFolder, dest_dir: Path, force: bool, skip: set[str]) -> list[_Action]:
    actions: list[_Action] = []
    written: set[str] = set()
    names = sorted(set(rev.task_files) - skip) + [MODEL_META]
    for name in names:
        src = rev.path / name
        dest = dest_dir / name
        data = src.read_bytes()
        if hashlib.sha256(data).hexdigest() != rev.digests.get(name):
            raise MedEvalError(f"{src}: changed while submitting; nothing copied, run `medeval submit` again")
        if dest.is_symlink() or (os.path.lexists(dest) and not dest.is_file()):
            actions.append(_Action("conflict", dest, note="is a symbolic link or not a regular file; remove it"))
            continue
        if not dest.exists():
            actions.append(_Action("added", dest, data))
            written.add(name[: -len(".json")])
            continue
        old = dest.read_bytes()
        if old == data:
            actions.append(_Action("unchanged", dest))
            continue
        if name == MODEL_META:
            what = f"model metadata differs ({_changed_keys(old, data)})"
        else:
            changes = _score_changes(old, data)
            if changes == []:
                if force:
                    actions.append(_Action("replaced", dest, data, "same scores; other fields differ (--force)", _sha(old)))
                    written.add(name[: -len(".json")])
                else:
                    actions.append(_Action("kept", dest, note=f"same scores, other fields differ ({_changed_keys(old, data)}); "
                                                              "kept the existing file (--force replaces it)"))
                continue
            what = "; ".join(changes) if changes else "the existing file is unreadable"
        if force:
            actions.append(_Action("replaced", dest, data, f"{what} (--force)", _sha(old)))
            if name != MODEL_META:
                written.add(name[: -len(".json")])
        else:
            actions.append(_Action("conflict", dest, note=f"{what}; re-run with --force to replace it"))
    if RUN_SETTINGS in rev.digests:
        src = rev.path / RUN_SETTINGS
        dest = dest_dir / RUN_SETTINGS
        data = src.read_bytes()
        if dest.is_symlink():
            actions.append(_Action("conflict", dest, note="is a symbolic link; remove it"))
        elif not dest.exists():
            actions.append(_Action("added", dest, data))
        else:
            old = dest.read_bytes()
            merged = _merge_run_settings(old, data, written)
            if merged == old or old == data:
                actions.append(_Action("unchanged", dest))
            else:
                actions.append(_Action("merged", dest, merged, "settings of the newly written tasks added", _sha(old)))
    return actions


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def submit_cli(results_dir: str | os.PathLike[str], leaderboard: str | os.PathLike[str], force: bool = False) -> int:
    """``medeval submit``: validate a run's results, then copy them into ``<leaderboard>/results/``.

    Returns 0 when everything was copied (or already there), 1 when validation failed or an existing file would
    change without ``--force``; in both failure cases nothing is written.
    """
    results_dir, leaderboard = Path(results_dir), Path(leaderboard)
    if not leaderboard.is_dir():
        raise MedEvalError(f"{leaderboard}: --leaderboard folder does not exist; give the repository's leaderboard/ folder")
    dest_root = leaderboard / RESULTS
    if dest_root.is_symlink() or (dest_root.exists() and not dest_root.is_dir()):
        raise MedEvalError(f"{dest_root}: must be a real folder, not a symbolic link or a file")
    scan = scan_paths([results_dir])
    for p in scan.problems:
        print(p.line())
    if scan.errors:
        print(f"{_summary(scan)}; nothing copied: fix the errors above, then submit again")
        return 1
    if not scan.folders:
        print(f"nothing to submit: no results under {results_dir} (run `medeval run` first)")
        return 1

    # one submit at a time per leaderboard: plan (what exists, what conflicts) and write see the same files
    with file_lock(leaderboard / SUBMIT_LOCK, what=f"the leaderboard {leaderboard}"):
        # the leaderboard must not get a second revision of a model for a task it already has
        existing = scan_paths([dest_root]) if dest_root.is_dir() else Scan()
        taken: dict[tuple[str, str], Path] = {}
        for rev in existing.folders:
            for fname in rev.task_files:
                taken[(rev.model_folder.lower(), fname)] = rev.path
        actions: list[_Action] = []
        for rev in scan.folders:
            dest_dir = dest_root / rev.model_folder / rev.revision
            for part in (dest_root / rev.model_folder, dest_dir):
                if part.is_symlink():
                    raise MedEvalError(f"{part}: is a symbolic link in the leaderboard; remove it")
            if not _inside(dest_dir, dest_root):
                raise MedEvalError(f"{dest_dir}: resolves outside {dest_root}; refusing to write there")
            if os.path.realpath(dest_dir) == os.path.realpath(rev.path):
                actions += [_Action("unchanged", dest_dir / n) for n in sorted(rev.digests)]
                continue
            skip: set[str] = set()
            for fname in rev.task_files:
                other = taken.get((rev.model_folder.lower(), fname))
                if other is not None and os.path.realpath(other) != os.path.realpath(dest_dir):
                    skip.add(fname)
                    actions.append(_Action("conflict", dest_dir / fname,
                                           note=f"the leaderboard already has this model's result for this task in {other}; "
                                                "if the new revision replaces it, delete the old file first (git rm), "
                                                "else publish the new weights under their own model name"))
            actions += _plan_folder(rev, dest_dir, force, skip)

        conflicts = [a for a in actions if a.kind == "conflict"]
        for a in actions:
            print(f"{a.kind:<9} {_clean(a.dest)}" + (f": {_clean(a.note)}" if a.note else ""))
        if conflicts:
            print(f"refused: {len(conflicts)} conflict(s); nothing copied")
            return 1
        changed = _changed_since_plan(actions)
        for a in changed:
            print(f"conflict  {_clean(a.dest)}: changed by another writer while this submit was planned")
        if changed:
            print(f"refused: {len(changed)} conflict(s); nothing copied; run `medeval submit` again")
            return 1
        for a in actions:
            if a.data is not None:
                try:
                    atomic_write_bytes(a.dest, a.data)
                except OSError as err:  # each file is whole or absent; submitting again completes the copy
                    raise MedEvalError(describe_os_error(
                        err, a.dest, "free space or make the leaderboard folder writable, then submit again")) from None
    counts = {k: sum(a.kind == k for a in actions) for k in ("added", "replaced", "merged", "unchanged", "kept")}
    print("submitted: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" in {dest_root}")
    print(f"next: `medeval validate {leaderboard}`, commit {dest_root} and open a pull request")
    return 0
