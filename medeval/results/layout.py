"""The results folder's format: which files go where, and which names are safe folder names.

This module is the one place that knows the layout ``medeval run`` writes (mteb's ``ResultCache`` layout, so mteb's
own loaders read it) and that ``medeval validate``, ``medeval submit``, the leaderboard and the site read::

    <output>/results/<org>__<model>/<revision>/<TaskName>.json     one mteb TaskResult per task
    <output>/results/<org>__<model>/<revision>/model_meta.json     the model's mteb ModelMeta
    <output>/results/<org>__<model>/<revision>/run_settings.jsonl  how each task was run (one JSON line per task)

    >>> from medeval.results import layout
    >>> layout.model_folder_name("my-lab/med-embed"), layout.model_name_of_folder("my-lab__med-embed")
    ('my-lab__med-embed', 'my-lab/med-embed')
    >>> layout.model_name_problem("../escaped") is None
    False
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: The folder under an output or leaderboard folder that holds the ``<org>__<model>/`` folders.
RESULTS = "results"
#: The model's mteb ModelMeta, one per revision folder.
MODEL_META = "model_meta.json"
#: How each task was run: one JSON object per line, keyed by ``"task"``.
RUN_SETTINGS = "run_settings.jsonl"
#: The lock file in ``<output>/results/`` that serialises run-settings updates across processes (validate allows it).
RESULTS_LOCK = ".medeval.lock"
#: The lock of ``medeval submit`` in the leaderboard folder.
SUBMIT_LOCK = ".submit.lock"
#: Files tolerated (and ignored) directly in a ``results/`` root.
ROOT_EXTRA_FILES = frozenset({"README.md", ".gitkeep", ".gitattributes", RESULTS_LOCK})
#: What replaces ``/`` of ``ORG/NAME`` in a model folder's name.
NAME_SEPARATOR = "__"

# ----------------------------------------------------------------------------------------- safe folder names
# The one rule for model names and revisions that become folder names: `medeval run` applies it before writing,
# `medeval validate` / `submit` before accepting. Nothing that passes can leave the results folder or nest in it.
_NAME_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_-])?"
#: A model name: ``ORG/NAME``, each part letters, digits, '.', '_', '-' (not ending in '.').
MODEL_NAME_RE = re.compile(rf"^{_NAME_PART}/{_NAME_PART}$")
#: A model folder: the name with '/' replaced by '__'.
MODEL_FOLDER_RE = re.compile(rf"^{_NAME_PART}__{_NAME_PART}$")
#: A revision: a commit hash, tag or version; letters, digits, '.', '_', '-', starting with a letter or digit.
REVISION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
#: Placeholders mteb writes when it does not know the model's name or revision.
NO_NAME = ("no_model_name/available", "no_model_name_available")
NO_REVISION = "no_revision_available"
NAME_RULE = "ORG/NAME, each part letters, digits, '.', '_' or '-' (e.g. my-lab/med-embed)"
REVISION_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 100 (e.g. v1.2 or a commit hash)"


def model_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a model's results folder, or None if it can.

    Args:
        name: A model name as given on the command line or found in ``model_meta.json``.

    Returns:
        One sentence naming the rule (:data:`NAME_RULE`), or None for a safe ``ORG/NAME``.

    Example:
        >>> model_name_problem("my-lab/med-embed") is None, model_name_problem("../escaped") is None
        (True, False)
    """
    if isinstance(name, str) and MODEL_NAME_RE.match(name) and ".." not in name:
        return None
    return f"{name!r} is not a model name: use {NAME_RULE}"


def revision_problem(revision: object) -> str | None:
    """Why ``revision`` cannot name a revision folder (``/``, ``..``, spaces, ...), or None if it can.

    Args:
        revision: A model revision (commit hash, tag or version).

    Returns:
        One sentence naming the rule (:data:`REVISION_RULE`), or None when it is safe.

    Example:
        >>> revision_problem("v1.2") is None, revision_problem("release/2026-01") is None
        (True, False)
    """
    if isinstance(revision, str) and REVISION_RE.match(revision):
        return None
    return f"{revision!r} is not a model revision: use {REVISION_RULE}"


def model_folder_name(name: str) -> str:
    """The folder name of a model: ``ORG/NAME`` -> ``ORG__NAME`` (what mteb's ``model_name_as_path`` gives).

    Args:
        name: The model name (``ORG/NAME``).

    Returns:
        The name with ``/`` replaced by ``__`` and spaces by ``_``.

    Example:
        >>> model_folder_name("sentence-transformers/all-MiniLM-L6-v2")
        'sentence-transformers__all-MiniLM-L6-v2'
    """
    return name.replace("/", NAME_SEPARATOR).replace(" ", "_")


def model_name_of_folder(folder: str) -> str:
    """The model name a folder is filed under: ``ORG__NAME`` -> ``ORG/NAME`` (the first ``__`` only).

    Args:
        folder: A model folder's name.

    Returns:
        The model name, used when ``model_meta.json`` is missing.

    Example:
        >>> model_name_of_folder("my-lab__med__embed")
        'my-lab/med__embed'
    """
    return folder.replace(NAME_SEPARATOR, "/", 1)


def revision_folder(output_dir: str | Path, meta: Any) -> Path:
    """``<output>/results/<org>__<name>/<revision>`` for an mteb ModelMeta.

    Args:
        output_dir: The run's output folder (``--output-dir``).
        meta: The model's mteb ``ModelMeta`` (its ``name`` and ``revision``; None for either is filed under mteb's
            placeholders).

    Returns:
        The revision folder (not created).

    Raises:
        ResultError: the name or revision would not make one safe folder name each (see :func:`model_name_problem`,
            :func:`revision_problem`); nothing is written outside ``<output>/results/``.

    Example:
        >>> from mteb.models import ModelMeta
        >>> revision_folder("out", ModelMeta.create_empty(overwrites={"name": "my-lab/med-embed", "revision": "v1"}))
        PosixPath('out/results/my-lab__med-embed/v1')
    """
    from medeval.errors import ResultError

    name = getattr(meta, "name", None)
    if name is not None and (why := model_name_problem(name)):
        raise ResultError(f"model name {why}")
    revision = getattr(meta, "revision", None) or NO_REVISION
    if why := revision_problem(revision):
        raise ResultError(f"model revision {why}")
    folder = meta.model_name_as_path() if name is not None else NO_NAME[1]
    return Path(output_dir) / RESULTS / folder / revision


def result_path(output_dir: str | Path, meta: Any, task_name: str) -> Path:
    """``<output>/results/<org>__<name>/<revision>/<TaskName>.json``: where one task's result is written.

    Args:
        output_dir: The run's output folder.
        meta: The model's mteb ``ModelMeta``.
        task_name: The task's name (mteb's ``TaskMetadata.name``).

    Returns:
        The result file's path (not created).

    Raises:
        ResultError: as :func:`revision_folder`.
    """
    return revision_folder(output_dir, meta) / f"{task_name}.json"


def is_result_file(name: str) -> bool:
    """True for a ``<TaskName>.json`` file name in a revision folder (not ``model_meta.json``, not hidden).

    Args:
        name: A file name (no folder).

    Returns:
        Whether the file holds one task's result.

    Example:
        >>> is_result_file("HPOLaypersonRetrieval.json"), is_result_file("model_meta.json")
        (True, False)
    """
    return name.endswith(".json") and name != MODEL_META and not name.startswith(".")


def result_files(folder: str | Path) -> list[Path]:
    """The ``<TaskName>.json`` files of a revision folder, sorted by name (empty when there is none).

    Args:
        folder: A revision folder.

    Returns:
        Paths of the result files (see :func:`is_result_file`).
    """
    return sorted(p for p in Path(folder).glob("*.json") if is_result_file(p.name))


def results_root(path: str | Path) -> Path:
    """The folder holding ``<org>__<model>/<revision>/`` folders: ``path/results`` if it exists, else ``path``.

    Args:
        path: A leaderboard folder (holding ``results/``) or a ``results/`` root.

    Returns:
        The results root.

    Raises:
        ResultError: ``path`` is not a folder.
    """
    from medeval.errors import ResultError

    path = Path(path)
    if not path.is_dir():
        raise ResultError(f"{path}: no such results folder; give the leaderboard folder (the one holding results/)")
    return path / RESULTS if (path / RESULTS).is_dir() else path


def revision_folders_under(paths: list[Path]) -> list[Path]:
    """Every folder under ``paths`` that holds result files (a leaderboard, results/ root, model or revision folder).

    Hidden folders are skipped and symbolic links to folders are not followed.

    Args:
        paths: Folders to search.

    Returns:
        The revision folders found, sorted.

    Raises:
        ResultError: a path does not exist.
    """
    import os

    from medeval.errors import ResultError

    found: set[Path] = set()
    for root in paths:
        if not root.exists():
            raise ResultError(f"{root}: no such folder; give a leaderboard, results/, model or revision folder")
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            if any(f.endswith(".json") and f != MODEL_META for f in filenames):
                found.add(Path(dirpath))
    return sorted(found)


def classify(path: Path) -> str:
    """What kind of results folder ``path`` is, from its name and contents.

    Args:
        path: A folder.

    Returns:
        ``"leaderboard"`` (it holds ``results/``), ``"results"`` (a results root), ``"revision"`` (it holds JSON
        files) or ``"model"`` (its subfolders do).
    """
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
