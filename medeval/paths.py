"""Where medeval keeps things.

* data folder (built task data): ``--data-dir`` > ``$MEDEVAL_HOME`` > ``~/.cache/medeval``
* task specs shipped with the package: ``medeval/_tasks`` in a wheel, the repository's ``tasks/`` when editable.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "MEDEVAL_HOME"


def data_dir() -> Path:
    """The data folder: ``$MEDEVAL_HOME`` (set by ``--data-dir``) or ``~/.cache/medeval``; not created here.

    Use :class:`medeval.store.DataStore` for what lives inside it.

    Returns:
        The absolute folder.
    """
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    return (Path.home() / ".cache" / "medeval").resolve()


def set_data_dir(path: str | os.PathLike[str]) -> Path:
    """Point this process (and its children) at another data folder, as ``--data-dir`` does.

    Args:
        path: the folder (``~`` expanded; it need not exist yet).

    Returns:
        The absolute folder now in use.
    """
    resolved = Path(path).expanduser().resolve()
    os.environ[ENV_HOME] = str(resolved)
    return resolved


def task_data_dir(task_name: str) -> Path:
    """The folder holding one task's built data: ``<data folder>/tasks/<TaskName>``.

    The same folder as ``DataStore().task_dir(task_name)`` (:mod:`medeval.store`, which new code should use;
    ``tests/test_store.py`` checks they agree). Kept here, import-free, so paths stays a leaf module.

    Args:
        task_name: the task's name.

    Returns:
        The folder (it may not exist yet).
    """
    return data_dir() / "tasks" / task_name


def packaged_specs_dir() -> Path:
    """The folder of the task YAMLs that ship with medeval (benchmark YAMLs are in its ``benchmarks/``).

    Returns:
        ``medeval/_tasks`` in a wheel, the repository's ``tasks/`` in an editable install.

    Raises:
        FileNotFoundError: neither exists (a broken install); the message says to reinstall.
    """
    here = Path(__file__).resolve().parent
    wheel_dir = here / "_tasks"
    if wheel_dir.is_dir():
        return wheel_dir
    repo_dir = here.parent / "tasks"
    if repo_dir.is_dir():
        return repo_dir
    raise FileNotFoundError(
        f"medeval's task specs are missing: neither {wheel_dir} nor {repo_dir} exists; reinstall medeval"
    )
