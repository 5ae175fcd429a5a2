"""The data store: the one object that knows the data folder, where each task's data is, whether it is built and
what revision it has (in the spirit of mteb's ``ResultCache``, for task data instead of results).

Layout of the data folder (``--data-dir`` > ``$MEDEVAL_HOME`` > ``~/.cache/medeval``; see :mod:`medeval.paths`)::

    <root>/tasks/<TaskName>/      built task data: <config>/<split>.parquet, manifest.json, stats.json (medeval.data)
    <root>/sources/<source>/      raw upstream answers kept so an interrupted build resumes
    <root>/mimic_cache/           MIMIC-IV-Note parsed once, reused by every MIMIC task (never leaves this folder)
    <root>/llm_cache/             answers of the LLM steps
    <root>/embeddings/            the content-addressed embedding cache

A user task whose YAML names its own ``data:`` folder keeps its data there; the store resolves it relative to the
YAML. Nothing here creates folders or reads the environment at import time. Example::

    >>> from medeval.store import DataStore
    >>> store = DataStore()                                   # the data folder this process uses
    >>> store.task_dir("ICD10CMChapterClassification")        # ~/.cache/medeval/tasks/ICD10CMChapterClassification
    >>> store.is_built("ICD10CMChapterClassification"), store.built_revision("ICD10CMChapterClassification")
    (True, 'b3c1...')
    >>> DataStore("/data/medeval").subdir("sources", "mediawiki")
    PosixPath('/data/medeval/sources/mediawiki')
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from medeval import paths
from medeval.errors import MedEvalError

if TYPE_CHECKING:
    from medeval.loaders import MedEvalTaskMixin
    from medeval.task_index import TaskEntry

#: A revision that is a content hash of built data (the 16 hex digits :func:`medeval.data.content_hash` returns).
CONTENT_HASH_RE = re.compile(r"^[0-9a-f]{16}$")

#: Something that names a task's data: a task name, or an mteb task class / object of medeval or a task index entry
#: (each has ``spec`` and ``spec_path``, so a user task's own ``data:`` folder resolves relative to its YAML).
TaskRef = Union[str, "MedEvalTaskMixin", "type[MedEvalTaskMixin]", "TaskEntry"]


class DataStore:
    """The data folder and the task data in it.

    Args:
        root: the data folder. ``None`` (the default) follows :func:`medeval.paths.data_dir` at each use, so a store
            made before ``--data-dir`` was applied (``paths.set_data_dir``) still sees the chosen folder.

    Example::

        >>> store = DataStore(tmp_path)
        >>> store.task_dir("MyTask")
        PosixPath('.../tasks/MyTask')
        >>> store.manifest("MyTask") is None          # nothing built yet
        True
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = Path(root).expanduser().resolve() if root is not None else None

    def __repr__(self) -> str:
        return f"DataStore({str(self.root)!r})"

    # -- folders ---------------------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The data folder (not created here)."""
        return self._root if self._root is not None else paths.data_dir()

    def subdir(self, *parts: str) -> Path:
        """A folder inside the data folder, e.g. ``subdir("sources", "mediawiki")`` (not created here).

        Args:
            parts: path components below the data folder; none may be absolute or contain ``..``.

        Returns:
            ``<root>/<parts...>``.

        Raises:
            ValueError: a component would leave the data folder.
        """
        for p in parts:
            if not p or Path(p).is_absolute() or ".." in Path(p).parts:
                raise ValueError(f"data folder part {p!r} must be a relative name inside {self.root}")
        return self.root.joinpath(*parts)

    def task_dir(self, task: TaskRef) -> Path:
        """Where a task's data is: ``<root>/tasks/<TaskName>``, or a user task's own ``data:`` folder.

        Args:
            task: a task name, or a medeval task class or object (see :data:`TaskRef`).

        Returns:
            The folder (it may not exist yet).
        """
        if isinstance(task, str):
            return self.root / "tasks" / task
        spec = task.spec
        if spec.data is not None:
            spec_path = getattr(task, "spec_path", None)
            base = spec_path.parent if spec_path is not None else Path.cwd()
            return (base / spec.data).resolve()
        return self.root / "tasks" / spec.name

    # -- state -----------------------------------------------------------------------------------------------
    def manifest(self, task: TaskRef) -> dict[str, Any] | None:
        """The build manifest of a task's data (``manifest.json``), or None when it is not built.

        Args:
            task: a task name, or a medeval task class or object.

        Returns:
            The parsed manifest (``revision``, ``tables``, builder parameters, sources, versions), or None.

        Raises:
            DataNotBuiltError: the manifest exists but is corrupt (the message says how to rebuild).
        """
        from medeval.data import read_manifest

        return read_manifest(self.task_dir(task))

    def is_built(self, task: TaskRef) -> bool:
        """True when the task's data is there: a built folder with a manifest, or a user task's existing folder.

        Args:
            task: a task name, or a medeval task class or object.

        Returns:
            Whether the task can load its data without a build.

        Raises:
            DataNotBuiltError: the manifest exists but is corrupt.
        """
        if not isinstance(task, str) and task.spec.data is not None:
            return self.task_dir(task).is_dir()
        return self.manifest(task) is not None

    def built_revision(self, task: TaskRef) -> str | None:
        """The content hash of the data built here (its manifest's ``revision``), or None when not built.

        A user task's own folder has no manifest: its revision is the content hash of its tables, which only
        loading computes (``task.load_data()`` then ``task.metadata.revision``).

        Args:
            task: a task name, or a medeval task class or object.

        Returns:
            16 hex digits (:func:`medeval.data.content_hash`), or None.

        Raises:
            DataNotBuiltError: corrupt manifest.
        """
        manifest = self.manifest(task)
        if manifest is None or not isinstance(manifest.get("revision"), str):
            return None
        return manifest["revision"]

    def expected_revision(self, task: MedEvalTaskMixin | type[MedEvalTaskMixin]) -> tuple[str | None, str]:
        """The data revision a result of this task must record, and where that comes from.

        Args:
            task: a medeval task class or object.

        Returns:
            ``(hash, "pinned in the task YAML")`` when the YAML pins a content hash; else ``(hash, "built here")``
            from the local build's manifest; else ``(None, why)``: the check cannot run (not built, unreadable or
            corrupt manifest).
        """
        pinned = task.spec.dataset.revision
        if pinned and CONTENT_HASH_RE.match(pinned):
            return pinned, "pinned in the task YAML"
        try:
            revision = self.built_revision(task)
        except MedEvalError:
            return None, "the local build's manifest is corrupt"
        except OSError:
            return None, "the local build cannot be read"
        if revision is not None:
            return revision, "built here"
        return None, "task not built here"
