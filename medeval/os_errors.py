"""What an ``OSError`` means, in one line naming the path, the cause and the fix, and a check that an output folder
can be written before any long work starts.

    >>> from medeval.os_errors import describe_os_error
    >>> import errno
    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device"), "out/x.json", "free space")
    'out/x.json: cannot write (no space left on the device); free space'
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

from medeval.errors import MedEvalError


_CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a file is in the way where a folder is needed",
    errno.EEXIST: "a file is in the way where a folder is needed",
    errno.EISDIR: "a folder is in the way where a file is needed",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "input/output error (failing disk?)",
    errno.ENAMETOOLONG: "file name too long",
}


def describe_os_error(err: OSError, path: str | Path | None = None, fix: str = "", action: str = "write") -> str:
    """One line for an ``OSError``: the path, the cause in words and the fix, e.g.
    ``out/results/x.json: cannot write (no space left on the device); free space or choose another --output-dir``.

    Args:
        err: The error.
        path: The path to name when ``err`` does not carry one (``err.filename`` wins when set).
        fix: What the user should do; a default fitting the cause is used when empty.
        action: The verb for the message (``"write"``, ``"read"``).

    Returns:
        The message, one line, no traceback.
    """
    where = err.filename if getattr(err, "filename", None) else path
    if err.errno is None and (m := re.search(r"\[errno (\d+)\]", str(err), re.IGNORECASE)):
        err = OSError(int(m.group(1)), os.strerror(int(m.group(1))))  # pyarrow puts the errno in its message only
    cause = _CAUSES.get(err.errno or -1) or err.strerror or (str(err).splitlines() or [type(err).__name__])[0]
    if not fix:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = "free space, or choose a folder on another disk"
        elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            fix = "make the folder writable, or choose another folder"
        elif err.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
            fix = "move the file away, or choose another folder"
        else:
            fix = "check the folder, or choose another one"
    return f"{where if where is not None else '(unknown path)'}: cannot {action} ({cause}); {fix}"


def check_writable(folder: str | Path, option: str) -> Path:
    """Create ``folder`` if needed and prove a file can be written there (and removed), before any long work.

    Args:
        folder: The output folder.
        option: The command-line option that chooses it (for the fix, e.g. ``"--output-dir"``).

    Returns:
        ``folder``.

    Raises:
        MedEvalError: One line naming the folder, the cause and ``option`` as the fix.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".write-check.{os.getpid()}.", suffix=".tmp", dir=folder)
        try:
            os.write(fd, b"ok")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            fix = f"free space, or choose a folder on another disk with {option}"
        else:
            fix = f"choose a writable folder with {option}"
        raise MedEvalError(describe_os_error(err, folder, fix)) from None
    return folder
