"""The one file lock medeval's writers share: runs writing to one results folder, submits to one leaderboard.

    >>> from medeval.locks import file_lock
    >>> with file_lock("out/results/.medeval.lock", what="out/results"):  # doctest: +SKIP
    ...     ...                                                         # one process at a time
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from medeval.errors import MedEvalError
from medeval.fsutil import file_mode

#: Seconds a writer waits for another process's lock before giving up with a message.
LOCK_TIMEOUT = 120.0


@contextlib.contextmanager
def file_lock(path: str | Path, timeout: float = LOCK_TIMEOUT, what: str = "") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (an OS lock via :mod:`filelock`, released on exit or when the process dies).

    Args:
        path: The lock file; created if missing and left in place (it is empty).
        timeout: Seconds to wait for another process to release it.
        what: What the lock protects, for the message when it times out.

    Returns:
        A context manager holding the lock for its block.

    Raises:
        MedEvalError: The lock stayed taken for ``timeout`` seconds.

    Example:
        >>> with file_lock("leaderboard/.submit.lock", what="the leaderboard"):      # doctest: +SKIP
        ...     ...
    """
    from filelock import FileLock, Timeout

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=timeout, mode=file_mode())
    try:
        lock.acquire()
    except Timeout:
        raise MedEvalError(
            f"{path}: another medeval process has held this lock on {what or path.parent} for {timeout:.0f}s; "
            "wait for it to finish and try again"
        ) from None
    try:
        yield
    finally:
        lock.release()
