"""Copy a validated run into the leaderboard: ``medeval submit RUN_DIR --leaderboard leaderboard``.

The run is checked first (:func:`medeval.results.validate.validate`); then every file is planned (``added``,
``replaced``, ``unchanged``, ``kept``, ``merged`` or ``conflict``) and, only when nothing conflicts, written with
:func:`medeval.fsutil.atomic_write_bytes`. Submissions are all-or-nothing: nothing is copied unless every file of the
run is valid and no existing file would change without ``force``. One submit at a time per leaderboard
(``<leaderboard>/.submit.lock``), and a leaderboard file changed between the plan and the write is a conflict.
The function returns a :class:`SubmitReport` and prints nothing; the command line prints its lines.

    >>> from medeval.results.submit import submit
    >>> report = submit("my_run", "leaderboard", force=False)
    >>> report.exit_code          # 0 copied (or already there), 1 refused
    0
    >>> print("\n".join(report.lines()))
    added     leaderboard/results/my-org__med-embed/1a2b3c4d/DemoChapterClassification.json
    ...
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medeval.errors import MedEvalError
from medeval.fsutil import atomic_write_bytes
from medeval.locks import file_lock
from medeval.os_errors import describe_os_error
from medeval.results.layout import MODEL_META, RESULTS, RUN_SETTINGS, SUBMIT_LOCK
from medeval.results.report import RevisionFolder, ValidationReport, clean, status_line
from medeval.results.validate import validate


@dataclass
class Action:
    """What a submit does (or would do) with one file.

    Args:
        kind: ``added``, ``replaced``, ``unchanged``, ``kept``, ``merged`` or ``conflict``.
        dest: The file in the leaderboard.
        data: The bytes to write (None: nothing is written).
        note: Why, for ``replaced``, ``kept``, ``merged`` and ``conflict``.
        prior: sha256 of the file the plan saw at ``dest`` (None: there was none).
    """

    kind: str
    dest: Path
    data: bytes | None = None
    note: str = ""
    prior: str | None = None

    def line(self) -> str:
        """The line ``medeval submit`` prints for this file, with the path and note made printable.

        Returns:
            ``kind dest: note`` (:func:`~medeval.results.report.status_line`).
        """
        return status_line(self.kind, clean(self.dest), clean(self.note) if self.note else "")


@dataclass
class SubmitReport:
    """What :func:`submit` found and did.

    Args:
        validation: The check of the run.
        leaderboard: The leaderboard folder.
        results_dir: The submitted folder.
        actions: One planned action per file (empty when validation failed).
        changed: Actions whose target another writer changed between the plan and the write.
    """

    validation: ValidationReport
    leaderboard: Path
    results_dir: Path
    actions: list[Action] = field(default_factory=list)
    changed: list[Action] = field(default_factory=list)

    @property
    def dest_root(self) -> Path:
        """``<leaderboard>/results``."""
        return self.leaderboard / RESULTS

    @property
    def conflicts(self) -> list[Action]:
        """The planned actions that refuse the submission."""
        return [a for a in self.actions if a.kind == "conflict"]

    @property
    def copied(self) -> bool:
        """True when the files were written (or were all there already)."""
        return bool(self.validation.folders) and not self.validation.errors and not self.conflicts and not self.changed

    @property
    def exit_code(self) -> int:
        """0 when everything was copied (or already there), else 1 (nothing was written)."""
        return 0 if self.copied else 1

    def lines(self) -> list[str]:
        """What ``medeval submit`` prints: the validation's problems, one line per file and the outcome.

        Returns:
            The lines, without newlines.
        """
        out = [p.line() for p in self.validation.problems]
        if self.validation.errors:
            return out + [f"{self.validation.summary()}; nothing copied: fix the errors above, then submit again"]
        if not self.validation.folders:
            return out + [f"nothing to submit: no results under {self.results_dir} (run `medeval run` first)"]
        out += [a.line() for a in self.actions]
        if self.conflicts:
            return out + [f"refused: {len(self.conflicts)} conflict(s); nothing copied"]
        out += [f"conflict  {clean(a.dest)}: changed by another writer while this submit was planned" for a in self.changed]
        if self.changed:
            return out + [f"refused: {len(self.changed)} conflict(s); nothing copied; run `medeval submit` again"]
        counts = {k: sum(a.kind == k for a in self.actions) for k in ("added", "replaced", "merged", "unchanged", "kept")}
        return out + [
            "submitted: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" in {self.dest_root}",
            f"next: `medeval validate {self.leaderboard}`, commit {self.dest_root} and open a pull request",
        ]
#: Why a result of a user task (``--include-path``, ``$MEDEVAL_INCLUDE_PATH``) is not copied into the leaderboard.
OWN_TASK_NOTE = ("your own task (--include-path), not one of `medeval tasks`: the leaderboard takes only medeval's "
                 "tasks; leave this file out, or add the task to medeval first (docs/adding-a-task.md)")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _changed_since_plan(actions: list[Action]) -> list[Action]:
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


def _settings_lines(raw: bytes) -> list[tuple[str, str]]:
    """``(task, line)`` for each non-blank line of ``run_settings.jsonl`` bytes, in order; ``task`` is ``""`` for a line
    that is not a JSON object with a string ``"task"`` (the lines themselves are kept as written)."""
    out = []
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.strip():
            try:
                task = json.loads(line).get("task")
            except (ValueError, AttributeError, RecursionError):
                task = None
            out.append((task if isinstance(task, str) else "", line))
    return out


def _merged_run_settings(old: bytes, new: bytes, written_tasks: set[str]) -> bytes:
    """Lines of ``old`` for tasks not written now, then ``new``'s lines for the written tasks (mteb's keyed jsonl)."""
    old_rows, new_rows = _settings_lines(old), _settings_lines(new)
    old_tasks = {t for t, _ in old_rows}
    keep = [line for t, line in old_rows if t not in written_tasks]
    add = [line for t, line in new_rows if t in written_tasks or t not in old_tasks]
    merged = list(dict.fromkeys(keep + add))
    return ("\n".join(merged) + "\n").encode("utf-8")


def _only_tasks(raw: bytes, allowed: set[str] | None) -> bytes:
    """``run_settings.jsonl`` bytes keeping only the lines of ``allowed`` tasks (lines without a task name stay, for
    validation to judge); unchanged when ``allowed`` is None or nothing is dropped."""
    if allowed is None:
        return raw
    rows = _settings_lines(raw)
    kept = [line for task, line in rows if not task or task in allowed]
    return ("\n".join(kept) + "\n").encode("utf-8") if len(kept) < len(rows) else raw


def _plan_folder(rev: RevisionFolder, dest_dir: Path, force: bool, skip: set[str],
                 allowed: set[str] | None = None) -> list[Action]:
    """The actions for one revision folder's files (``skip``: task files not to copy; ``allowed``: the tasks whose
    ``run_settings.jsonl`` lines may travel, None for all)."""
    actions: list[Action] = []
    written: set[str] = set()
    names = sorted(set(rev.task_files) - skip) + [MODEL_META]
    for name in names:
        src = rev.path / name
        dest = dest_dir / name
        data = src.read_bytes()
        if hashlib.sha256(data).hexdigest() != rev.digests.get(name):
            raise MedEvalError(f"{src}: changed while submitting; nothing copied, run `medeval submit` again")
        if dest.is_symlink() or (os.path.lexists(dest) and not dest.is_file()):
            actions.append(Action("conflict", dest, note="is a symbolic link or not a regular file; remove it"))
            continue
        if not dest.exists():
            actions.append(Action("added", dest, data))
            written.add(name[: -len(".json")])
            continue
        old = dest.read_bytes()
        if old == data:
            actions.append(Action("unchanged", dest))
            continue
        if name == MODEL_META:
            what = f"model metadata differs ({_changed_keys(old, data)})"
        else:
            changes = _score_changes(old, data)
            if changes == []:
                if force:
                    actions.append(Action("replaced", dest, data, "same scores; other fields differ (--force)", _sha(old)))
                    written.add(name[: -len(".json")])
                else:
                    actions.append(Action("kept", dest, note=f"same scores, other fields differ ({_changed_keys(old, data)}); "
                                                              "kept the existing file (--force replaces it)"))
                continue
            what = "; ".join(changes) if changes else "the existing file is unreadable"
        if force:
            actions.append(Action("replaced", dest, data, f"{what} (--force)", _sha(old)))
            if name != MODEL_META:
                written.add(name[: -len(".json")])
        else:
            actions.append(Action("conflict", dest, note=f"{what}; re-run with --force to replace it"))
    if RUN_SETTINGS in rev.digests:
        src = rev.path / RUN_SETTINGS
        dest = dest_dir / RUN_SETTINGS
        data = _only_tasks(src.read_bytes(), allowed)
        if dest.is_symlink():
            actions.append(Action("conflict", dest, note="is a symbolic link; remove it"))
        elif not dest.exists():
            actions.append(Action("added", dest, data))
        else:
            old = dest.read_bytes()
            merged = _merged_run_settings(old, data, written)
            if merged == old or old == data:
                actions.append(Action("unchanged", dest))
            else:
                actions.append(Action("merged", dest, merged, "settings of the newly written tasks added", _sha(old)))
    return actions


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True



def submit(results_dir: str | os.PathLike[str], leaderboard: str | os.PathLike[str], force: bool = False) -> SubmitReport:
    """Validate a run's results, then copy them into ``<leaderboard>/results/``.

    Args:
        results_dir: The run's output folder, its ``results/`` folder, a model folder or a revision folder.
        leaderboard: The leaderboard folder (it must exist; ``results/`` is created in it).
        force: Replace leaderboard files whose scores or metadata differ (each is reported as ``replaced``).

    Returns:
        The report; :attr:`SubmitReport.exit_code` is 0 when everything was copied (or already there), 1 when
        validation failed or an existing file would change without ``force`` (then nothing is written).

    Raises:
        MedEvalError: The leaderboard folder is missing, a symbolic link is in the way, a source file changed while
            submitting, or a write failed (each file is whole or absent; submitting again completes the copy).
    """
    results_dir, leaderboard = Path(results_dir), Path(leaderboard)
    if not leaderboard.is_dir():
        raise MedEvalError(f"{leaderboard}: --leaderboard folder does not exist; give the repository's leaderboard/ folder")
    dest_root = leaderboard / RESULTS
    if dest_root.is_symlink() or (dest_root.exists() and not dest_root.is_dir()):
        raise MedEvalError(f"{dest_root}: must be a real folder, not a symbolic link or a file")
    report = SubmitReport(validate([results_dir]), leaderboard, results_dir)
    if report.validation.errors or not report.validation.folders:
        return report

    # one submit at a time per leaderboard: plan (what exists, what conflicts) and write see the same files
    with file_lock(leaderboard / SUBMIT_LOCK, what=f"the leaderboard {leaderboard}"):
        report.actions = _plan(report.validation.folders, dest_root, force)
        if report.conflicts:
            return report
        report.changed = _changed_since_plan(report.actions)
        if report.changed:
            return report
        for a in report.actions:
            if a.data is not None:
                try:
                    atomic_write_bytes(a.dest, a.data)
                except OSError as err:  # each file is whole or absent; submitting again completes the copy
                    raise MedEvalError(describe_os_error(
                        err, a.dest, "free space or make the leaderboard folder writable, then submit again")) from None
    return report


def _plan(folders: list[RevisionFolder], dest_root: Path, force: bool) -> list[Action]:
    """The actions for every file of ``folders``, refusing a second revision of a model for a task it already has
    and any result of the user's own tasks (``--include-path``), which the leaderboard's validation would reject."""
    from medeval.catalog import task_classes, user_task_names

    existing = validate([dest_root]) if dest_root.is_dir() else ValidationReport()
    own = set(user_task_names())  # --include-path tasks validate a run, but the leaderboard has only medeval's
    packaged = set(task_classes()) - own  # run settings of any other task never reach the leaderboard
    taken: dict[tuple[str, str], Path] = {}
    for rev in existing.folders:
        for fname in rev.task_files:
            taken[(rev.model_folder.lower(), fname)] = rev.path
    actions: list[Action] = []
    for rev in folders:
        dest_dir = dest_root / rev.model_folder / rev.revision
        for part in (dest_root / rev.model_folder, dest_dir):
            if part.is_symlink():
                raise MedEvalError(f"{part}: is a symbolic link in the leaderboard; remove it")
        if not _inside(dest_dir, dest_root):
            raise MedEvalError(f"{dest_dir}: resolves outside {dest_root}; refusing to write there")
        skip = {fname for fname in rev.task_files if Path(fname).stem in own}
        actions += [Action("conflict", rev.path / fname, note=OWN_TASK_NOTE) for fname in sorted(skip)]
        if os.path.realpath(dest_dir) == os.path.realpath(rev.path):
            actions += [Action("unchanged", dest_dir / n) for n in sorted(set(rev.digests) - skip)]
            continue
        for fname in rev.task_files:
            if fname in skip:
                continue
            other = taken.get((rev.model_folder.lower(), fname))
            if other is not None and os.path.realpath(other) != os.path.realpath(dest_dir):
                skip.add(fname)
                actions.append(Action("conflict", dest_dir / fname,
                                      note=f"the leaderboard already has this model's result for this task in {other}; "
                                           "if the new revision replaces it, delete the old file first (git rm), "
                                           "else publish the new weights under their own model name"))
        actions += _plan_folder(rev, dest_dir, force, skip, packaged)
    return actions
