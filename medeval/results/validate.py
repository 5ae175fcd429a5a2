"""Check result folders before they reach the leaderboard: ``medeval validate PATH...``.

This is the check the CI of a results pull request runs, and the one ``medeval submit``
(:mod:`medeval.results.submit`) runs on a finished run before copying anything. It returns a
:class:`~medeval.results.report.ValidationReport` and prints nothing; the command line prints its lines.

    >>> from medeval.results.validate import validate, validate_paths
    >>> problems = validate_paths(["leaderboard"])          # [] when everything is fine
    >>> report = validate(["leaderboard/results"])
    >>> report.exit_code, report.summary()
    (0, 'OK: 40 result file(s) in 5 revision folder(s); 0 error(s), 0 warning(s)')

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

Warnings never fail the check; errors do. The checks of the files themselves are in
:mod:`medeval.results.file_checks`; this module walks the folders and checks the layout, protocols and duplicates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from medeval.fsutil import is_temp_file
from medeval.results.file_checks import FileChecks
from medeval.results.layout import (
    MODEL_FOLDER_RE,
    MODEL_META,
    NO_REVISION,
    RESULTS,
    REVISION_RE,
    ROOT_EXTRA_FILES,
    RUN_SETTINGS,
    classify,
)
from medeval.results.report import Problem, RevisionFolder, ValidationReport, clean, short

#: The largest file a revision folder may hold (10 MB: a result file of one task is a few kB).
MAX_FILE_BYTES = 10_000_000


class _Checker(FileChecks):
    """Walks result folders and checks each revision folder's layout, files, protocols and duplicates."""

    def __init__(self) -> None:
        from medeval.catalog import task_classes

        super().__init__(task_classes(), ValidationReport())
        self._seen: set[str] = set()

    # -- walking ---------------------------------------------------------------------------------------------
    def check_path(self, path: Path) -> None:
        """Check whatever ``path`` is: a leaderboard, a results root, a model or revision folder, a result file."""
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
        kind = classify(path)
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
        """Check every ``<org>__<name>/`` folder in a results root; only a few known files may sit beside them."""
        for entry in self._entries(root):
            if self._is_symlink(entry):
                continue
            if entry.is_dir(follow_symlinks=False):
                self.check_model_folder(Path(entry.path))
            elif entry.name not in ROOT_EXTRA_FILES:
                self.add(entry.path, "path", "unexpected file in the results folder",
                         "results go in <org>__<name>/<revision>/<TaskName>.json; move or delete it")

    def check_model_folder(self, folder: Path) -> None:
        """Check an ``<org>__<name>/`` folder's name and each revision folder in it."""
        name = folder.absolute().name
        if not MODEL_FOLDER_RE.match(name):
            self.add(folder, "folder name", f"{short(name)} is not <org>__<name>",
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
        """Check a revision folder's names and files once (symbolic links and temp files are findings too)."""
        real = os.path.realpath(folder)
        if real in self._seen:
            return
        self._seen.add(real)
        absolute = folder.absolute()
        rev = RevisionFolder(path=folder, model_folder=absolute.parent.name, revision=absolute.name)
        n_errors = len(self.scan.errors)
        if rev.revision == NO_REVISION:
            self.add(folder, "folder name", f"revision folder is {NO_REVISION!r} (the model's revision was unknown)",
                     "re-run with `medeval run -m MODEL --model-revision REV` (REV: a commit hash or version tag of the weights)")
        elif not REVISION_RE.match(rev.revision):
            self.add(folder, "folder name", f"{short(rev.revision)} is not a model revision",
                     "name the folder after the model's revision: letters, digits, '.', '_' or '-' (e.g. a commit hash)")
        if not parent_checked and not MODEL_FOLDER_RE.match(rev.model_folder):
            self.add(folder, "folder name", f"parent folder {short(rev.model_folder)} is not <org>__<name>",
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
                     f"run the benchmark first (`{rev.rerun_command()}`) or remove the empty folder", "warning")
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
        from medeval.results.files import read_run_settings

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
                         f"re-run with `{rev.rerun_command(task)}`; results scored under the task's "
                         f"current protocol can be stamped with `medeval results migrate {folder}`")
            elif recorded != current:
                self.add(folder / fname, "protocol",
                         f"scored under protocol {clean(recorded, 40)}; the task is now {current} "
                         f"({identity.describe_change(entry.get('protocol_params'), params)})",
                         f"run it again: `{rev.rerun_command(task)}`")


    # -- across folders --------------------------------------------------------------------------------------
    def check_duplicates(self) -> None:
        """One result per (model, task) across every folder seen (names compared case-insensitively)."""
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



def validate(paths: Iterable[str | os.PathLike[str]]) -> ValidationReport:
    """Check every result folder under ``paths``.

    Args:
        paths: Leaderboard folders (holding ``results/``), ``results/`` roots, ``<org>__<name>`` folders, revision
            folders or result files (their revision folder is checked).

    Returns:
        The report: problems (sorted by path, errors before warnings), the revision folders seen with the digests
        of the bytes checked, and :attr:`~ValidationReport.exit_code`.

    Example:
        >>> report = validate(["leaderboard"])
        >>> print("\n".join(report.lines()))
        OK: 40 result file(s) in 5 revision folder(s); 0 error(s), 0 warning(s)
    """
    paths = list(paths)
    checker = _Checker()
    for p in paths:
        checker.check_path(Path(p))
    checker.check_duplicates()
    report = checker.scan
    report.paths = [os.fspath(p) for p in paths]
    report.problems = sorted(set(report.problems), key=lambda p: (p.path, p.severity != "error", p.field, p.message))
    return report


def validate_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Problem]:
    """Problems (errors and warnings) of the result folders under ``paths``; empty when all is well.

    Args:
        paths: As :func:`validate`.

    Returns:
        :attr:`ValidationReport.problems`.
    """
    return validate(paths).problems
