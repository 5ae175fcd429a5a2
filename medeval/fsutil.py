"""File-system helpers every writer in medeval shares: one atomic write, one folder swap, the cleanup of temp files a
killed writer left, and one file-mode policy (files and folders follow the umask, like ``open`` and ``mkdir`` do).
The file lock is :func:`medeval.locks.file_lock`; what an ``OSError`` means, in one line, is
:func:`medeval.os_errors.describe_os_error`.

    >>> from medeval import fsutil
    >>> fsutil.atomic_write_json("out/results/x.json", {"a": 1})  # readers see old or new  # doctest: +SKIP
    >>> with fsutil.staged_dir("data/tasks/MyTask") as stage:  # build a folder, swap it in at the end  # doctest: +SKIP
    ...     (stage / "a.txt").write_text("hello")
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


#: Temp files this module writes: ``.<target name>.<pid>.<random>.tmp`` next to the target.
_TEMP_RE = re.compile(r"^\.(?P<target>.+?)\.(?:(?P<pid>\d+)\.)?[A-Za-z0-9_]+\.tmp$")
#: A temp file without a readable pid counts as stale once it is this old (seconds).
STALE_TEMP_AGE = 600.0


# --------------------------------------------------------------------------------------------------- modes
def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (``/proc/self/status``).

    Returns:
        The umask as an int, e.g. ``0o022``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: the classic read (not thread-safe, but only on such systems)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Mode a new file gets from ``open()`` under the current umask.

    Returns:
        ``0o666 & ~umask``: ``0o644`` under umask 022.
    """
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """Mode a new folder gets from ``mkdir`` under the current umask.

    Returns:
        ``0o777 & ~umask``: ``0o755`` under umask 022.
    """
    return 0o777 & ~current_umask()


def make_dirs(folder: str | Path) -> Path:
    """``mkdir -p``.

    Args:
        folder: the folder to create, with its parents (an existing one is fine).

    Returns:
        ``folder`` as a :class:`~pathlib.Path`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------------------------------- writes
def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of it.

    The bytes go to a temp file in the same folder (named ``.<name>.<pid>.<random>.tmp``, so a later run can tell a
    dead process's leftover from a live writer's), are fsynced, get the umask's file mode (``mkstemp`` would leave
    0600) and are renamed over ``path``. On any error the temp file is removed and the error propagates.

    Args:
        path: The file to write; its folder is created if missing.
        data: The full new contents.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OSError: The folder cannot be created or written (full disk, read-only, permissions).

    Example:
        >>> atomic_write_bytes("out/a.bin", b"\\x00\\x01")  # doctest: +SKIP
        PosixPath('out/a.bin')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded as UTF-8.

    Args:
        path: the file to write; its folder is created if missing.
        text: the full new contents.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any, **kwargs: Any) -> Path:
    """:func:`atomic_write_text` of ``json.dumps(obj, indent=2, default=str, **kwargs)`` plus a final newline.

    Args:
        path: the file to write; its folder is created if missing.
        obj: any JSON-serialisable object (other values are written as ``str(value)``).
        **kwargs: more ``json.dumps`` options (``sort_keys``, ``ensure_ascii``, ``indent``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    kwargs.setdefault("indent", 2)
    return atomic_write_text(path, json.dumps(obj, default=str, **kwargs) + "\n")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def remove_stale_temps(folder: str | Path, now: float | None = None) -> list[Path]:
    """Delete the temp files :func:`atomic_write_bytes` left in ``folder`` when its process died (kill -9, power loss).

    A temp file is stale when the process id in its name no longer runs, or, for names without one (older medeval),
    when it is older than :data:`STALE_TEMP_AGE` seconds. Live writers' temp files are left alone.

    Args:
        folder: The folder to clean (not recursive).
        now: The current time (for tests); default ``time.time()``.

    Returns:
        The paths removed, sorted.
    """
    folder = Path(folder)
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if not m or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if m.group("pid"):
                stale = not _pid_alive(int(m.group("pid")))
            else:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_AGE
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return sorted(removed)


def is_temp_file(name: str) -> bool:
    """True for a temp-file name :func:`atomic_write_bytes` (or an older medeval) writes.

    Args:
        name: a file name (not a path).

    Returns:
        Whether ``name`` looks like ``.<target>.<pid>.<random>.tmp`` (the pid may be missing).

    Example:
        >>> is_temp_file(".x.json.123.abc_9.tmp"), is_temp_file("x.json")
        (True, False)
    """
    return bool(_TEMP_RE.match(name))


# --------------------------------------------------------------------------------------------------- folders
def _remove_stale_stages(dest: Path) -> None:
    """Drop the stage and swap folders of ``dest`` that a killed process left (its pid no longer runs)."""
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.(?:(\d+)\.\w+\.stage|old-(\d+))$")
    try:
        entries = list(os.scandir(dest.parent))
    except OSError:
        return
    for entry in entries:
        m = pattern.match(entry.name)
        if m and entry.is_dir(follow_symlinks=False) and not _pid_alive(int(m.group(1) or m.group(2))):
            shutil.rmtree(entry.path, ignore_errors=True)


def stage_dir(dest: str | Path) -> Path:
    """A new empty sibling folder of ``dest`` to assemble it in, with the umask's folder mode (not mkdtemp's 0700).

    Stage folders a killed build left next to ``dest`` are removed first.

    Args:
        dest: the folder that will be replaced (it need not exist).

    Returns:
        The stage folder, ``.<dest name>.<pid>.<random>.stage`` next to ``dest``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(dest)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".stage", dir=dest.parent))
    os.chmod(stage, dir_mode())
    return stage


def replace_dir(stage: str | Path, dest: str | Path) -> Path:
    """Swap the fully written folder ``stage`` in at ``dest`` (same file system) with renames, then drop the old one.

    Readers see the old folder or the new one, never a mix. ``stage`` gets the umask's folder mode first, so a
    ``tempfile.mkdtemp`` folder does not end up readable by its owner only.

    Args:
        stage: The complete new folder (usually from :func:`stage_dir`).
        dest: Where it goes; an existing folder there is replaced.

    Returns:
        ``dest``.

    Raises:
        OSError: A rename failed (``dest`` is then unchanged).
    """
    stage, dest = Path(stage), Path(dest)
    os.chmod(stage, dir_mode())
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
        os.replace(dest, old)
    try:
        os.replace(stage, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


@contextlib.contextmanager
def staged_dir(dest: str | Path) -> Iterator[Path]:
    """Assemble a folder in a sibling and swap it in at ``dest`` when the block ends without an error.

    On an error the stage is removed and ``dest`` is left as it was.

    Args:
        dest: the folder to write (replaced if it exists).

    Returns:
        A context manager yielding the stage folder (:func:`stage_dir`) to write into.

    Example:
        >>> with staged_dir("site_build") as stage:      # doctest: +SKIP
        ...     (stage / "index.html").write_text("<html></html>")
    """
    stage = stage_dir(dest)
    try:
        yield stage
        replace_dir(stage, dest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def set_tree_modes(root: str | Path) -> None:
    """Give every folder under ``root`` (and ``root``) the umask's folder mode and every file its file mode.

    Symbolic links are left alone.

    Args:
        root: the folder to walk.
    """
    root = Path(root)
    os.chmod(root, dir_mode())
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), dir_mode())
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, file_mode())
