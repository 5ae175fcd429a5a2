"""How the site shows values: scores x100, parameter counts, integers, booleans, text for ``<pre>``, the values
cells sort by, and the names pages and anchors get (benchmark ids and titles, slugs, model file names).

    >>> from medeval.site.formatting import fmt_score, fmt_params
    >>> str(fmt_score(0.4213)), str(fmt_params(109_482_240))
    ('42.13', '109M')
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
from markupsafe import Markup

from medeval.site.safe import DASH, missing, text


def bench_id(bench: str) -> str:
    """A benchmark's short id for anchors and file names: ``id`` in its benchmark YAML, else a slug of the name.

    Args:
        bench: the benchmark's name (a user task may name one with no benchmark file).

    Returns:
        e.g. ``"v1"`` for ``"MedEval(v1)"``.
    """
    from medeval.benchmarks import benchmark_names, get_benchmark_spec

    return get_benchmark_spec(bench).id if bench in benchmark_names() else slug(bench)


def bench_title(bench: str) -> str:
    """A benchmark's display title: ``title`` in its benchmark YAML, else the name itself.

    Args:
        bench: the benchmark's name.

    Returns:
        e.g. ``"MedEval v1"``.
    """
    from medeval.benchmarks import benchmark_names, get_benchmark_spec

    return get_benchmark_spec(bench).title if bench in benchmark_names() else bench


def fmt_score(v: Any, digits: int = 2) -> Markup:
    """A score in [0, 1] shown x100 (as mteb's leaderboard does); missing -> dash.

    Args:
        v: the score, in [0, 1].
        digits: decimals shown.

    Returns:
        Safe markup, e.g. ``72.31``.

    Example:
        >>> str(fmt_score(0.72314))
        '72.31'
    """
    if missing(v):
        return DASH
    return Markup(f"{float(v) * 100:.{digits}f}")


def fmt_params(v: Any) -> Markup:
    """A parameter count with a unit (``110M``, ``1.5B``); missing -> dash.

    Args:
        v: the number of parameters.

    Returns:
        Safe markup with three significant digits.

    Example:
        >>> str(fmt_params(22_713_216))
        '22.7M'
    """
    if missing(v):
        return DASH
    v = float(v)
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if v >= div:
            return Markup(f"{v / div:.3g}{unit}")
    return Markup(f"{v:.0f}")


def fmt_int(v: Any) -> Markup:
    """A count rounded to an integer with thousands separators; missing -> dash.

    Args:
        v: a number.

    Returns:
        Safe markup, e.g. ``1,024``.
    """
    if missing(v):
        return DASH
    return Markup(f"{round(float(v)):,}")


def as_bool(v: Any) -> bool | None:
    """True/False for Python and numpy booleans, None for anything else (missing, NaN, strings).

    Args:
        v: a cell value.

    Returns:
        The boolean, or None.
    """
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return None


def fmt_bool(v: Any) -> Markup:
    """``yes``/``no`` for a boolean (see :func:`as_bool`), a dash for anything else.

    Args:
        v: a cell value.

    Returns:
        Safe markup.
    """
    v = as_bool(v)
    if v is not None:
        return Markup("yes" if v else "no")
    return DASH


def pre_text(v: Any) -> Markup:
    """Escaped text for a <pre> block, with blank lines kept as character references (the page's raw HTML blocks
    must not contain blank lines, which would end them for Markdown).

    Args:
        v: the text (e.g. BibTeX or a command line).

    Returns:
        Safe markup for inside ``<pre>``.
    """
    return Markup(re.sub(r"\n(?=\n)", "&#10;", str(text(v)).replace("\r\n", "\n")))


def sort_value(v: Any) -> str:
    """The ``data-v`` a cell sorts by: a number, or '' for missing (always sorted last).

    Args:
        v: the cell's value.

    Returns:
        ``repr(float(v))`` for numbers, ``"1"``/``"0"`` for booleans, ``""`` for missing, else ``str(v)``.
    """
    if missing(v):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(float(v))
    return str(v)


def slug(text_: str) -> str:
    """Lower-case letters, digits and single dashes, for anchors and ids.

    Args:
        text_: any text.

    Returns:
        The slug.

    Example:
        >>> slug("MedEval (v1)")
        'medeval-v1'
    """
    return re.sub(r"[^A-Za-z0-9]+", "-", text_).strip("-").lower()


def model_slugs(names: Iterable[str]) -> dict[str, str]:
    """File names for model pages: readable, safe on every file system, unique even ignoring case.

    Args:
        names: model names (``org/name``).

    Returns:
        Model name -> file stem: ``org__name`` where that is safe and unique, else a cleaned name plus 8 hex
        digits of its SHA-1.
    """
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(names):
        plain = name.replace("/", "__")
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", plain).strip("-.")[:80] or "model"
        s = base
        if s != plain or s.lower() in taken:
            s = f"{base}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"
        taken.add(s.lower())
        out[name] = s
    return out
