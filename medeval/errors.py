"""Errors medeval raises for bad input.

Every error names the file (or task / model), the field and the fix, in one line, so that the CLI can print
``error: <message>`` and exit non-zero instead of a traceback.
"""

from __future__ import annotations


class MedEvalError(Exception):
    """Base class: a problem the user can fix; its message says how."""


class SpecError(MedEvalError):
    """A task YAML is malformed."""


class TaskNotFoundError(MedEvalError, KeyError):
    """No task or benchmark of that name."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not want that
        return str(self.args[0]) if self.args else ""


class DataNotBuiltError(MedEvalError):
    """A task's data has not been built in the data folder."""


class SourceError(MedEvalError):
    """An upstream source file or API answer is missing or malformed."""


class ModelLoadError(MedEvalError):
    """A model id or folder cannot be loaded."""


class LLMError(MedEvalError):
    """The LLM endpoint failed, answered badly, or a needed text is not cached (:mod:`medeval.llm`)."""


class ResultError(MedEvalError):
    """A result file or folder is malformed."""


class DataCheckError(SourceError):
    """A task's data fails its checks (:mod:`medeval.checks`); one line per finding: file, line, field, fix."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = list(findings)
        super().__init__("\n".join(self.findings))
