"""Installed library versions, the one place that looks them up (results, build manifests, training, ``--version``).

medeval is installed as the distribution ``medeval-mteb`` (:data:`medeval.DIST_NAME`); the label ``"medeval"`` in
every record means that distribution.

    >>> package_versions(["medeval", "mteb"])          # doctest: +SKIP
    {'medeval': '0.1.0', 'mteb': '2.26.24'}
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed.

    Args:
        name: a distribution name as on PyPI (``"mteb"``, ``"sentence-transformers"``); ``"medeval"`` means medeval's
            own distribution, ``medeval-mteb``.

    Returns:
        The version string (e.g. ``"2.26.24"``), or None.
    """
    from medeval import DIST_NAME

    dist = DIST_NAME if name == "medeval" else name
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions(names: Iterable[str], missing: str | None = None) -> dict[str, str | None]:
    """Versions of several distributions, keyed by the names given.

    Args:
        names: distribution names (see :func:`installed_version`).
        missing: the value recorded for a distribution that is not installed (None, or e.g. ``"not installed"``).

    Returns:
        ``{name: version}`` in the order given.
    """
    out: dict[str, str | None] = {}
    for name in names:
        version = installed_version(name)
        out[name] = version if version is not None else missing
    return out
