"""What every training source's pairs share: the :class:`Pair` type, the :class:`PairSet` of a build, the registry
of per-source builders (:func:`pair_builder`; the builders are in :mod:`medeval.training.pair_sources`) and the one
cleaning all sources get: whitespace collapsed, pairs with a text shorter than ``data.min_chars`` or with
anchor == positive dropped, repeats of a (anchor, positive) dropped.

    >>> from medeval.training.pairs import Pair, clean_pairs
    >>> clean_pairs([Pair("1", " a  b ", "c d"), Pair("2", "a b", "c d")], min_chars=1)
    ([Pair(id='1', anchor='a b', positive='c d')], {'short': 0, 'self': 0, 'repeat': 1})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from medeval.build import BuildContext
from medeval.training.config import SourceOptions


@dataclass(frozen=True)
class Pair:
    """One positive pair; ``id`` is the source record it came from (never text)."""

    id: str
    anchor: str
    positive: str


@dataclass
class PairSet:
    """What :func:`~medeval.training.pair_sources.build_pairs` returns: pairs per source, what each source read, and sources skipped (why)."""

    pairs: dict[str, list[Pair]] = field(default_factory=dict)
    info: dict[str, dict[str, Any]] = field(default_factory=dict)  # per source: origin, counts (no text)
    skipped: dict[str, str] = field(default_factory=dict)


#: A training source's pair builder: ``fn(opts, ctx, seed) -> (pairs, info)``. ``opts`` is the source's options from
#: the config; ``ctx`` says where records come from (``ctx.source_dir``: the datakit layout, read-only; else the
#: network, cached under the data folder; ``ctx.mimic_dir``: MIMIC-IV); ``seed`` is ``data.seed``. It returns the raw
#: pairs in the source's record order and what it read (origin and counts, never text), and raises
#: :class:`~medeval.errors.SourceError` when the records are absent. Cleaning and the ``max_pairs`` cap are
#: :func:`~medeval.training.pair_sources.build_pairs`' job.
PairBuilder = Callable[[SourceOptions, BuildContext, int], tuple[list[Pair], dict[str, Any]]]
PAIR_BUILDERS: dict[str, PairBuilder] = {}
_B = TypeVar("_B", bound=Callable[..., tuple[list[Pair], dict[str, Any]]])


def pair_builder(name: str) -> Callable[[_B], _B]:
    """Register a function as the pair builder of one training source (a key of ``data.sources``).

    Args:
        name: the source name, e.g. ``"pubmed"``.

    Returns:
        A decorator that stores the function in :data:`PAIR_BUILDERS` and returns it unchanged.
    """
    def register(fn: _B) -> _B:
        PAIR_BUILDERS[name] = fn
        return fn

    return register


def collapse_whitespace(text: Any) -> str:
    """``text`` with every run of whitespace (newlines included) made one space, stripped; None becomes ``""``.

    Args:
        text: a record field (any value; non-strings are ``str()``-ed).

    Returns:
        The collapsed text.

    Example:
        >>> collapse_whitespace("  Title  of a   paper ")
        'Title of a paper'
    """
    return " ".join(str(text).split()) if text is not None else ""


def clean_pairs(pairs: list[Pair], *, min_chars: int) -> tuple[list[Pair], dict[str, int]]:
    """Whitespace-collapsed pairs without short texts, self-pairs or repeated (anchor, positive); and the counts.

    Args:
        pairs: one source's raw pairs.
        min_chars: a pair whose anchor or positive has fewer characters (after collapsing whitespace) is dropped.

    Returns:
        ``(kept, dropped)``: the kept pairs in their order, and ``{"short": n, "self": n, "repeat": n}``.

    Example:
        >>> kept, dropped = clean_pairs([Pair("1", " a  b ", "c d"), Pair("2", "a b", "c d"), Pair("3", "x", "x")],
        ...                             min_chars=1)
        >>> kept, dropped
        ([Pair(id='1', anchor='a b', positive='c d')], {'short': 0, 'self': 1, 'repeat': 1})
    """
    out: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    counts = {"short": 0, "self": 0, "repeat": 0}
    for p in pairs:
        a, b = collapse_whitespace(p.anchor), collapse_whitespace(p.positive)
        if len(a) < min_chars or len(b) < min_chars:
            counts["short"] += 1
        elif a == b:
            counts["self"] += 1
        elif (a, b) in seen:
            counts["repeat"] += 1
        else:
            seen.add((a, b))
            out.append(Pair(p.id, a, b))
    return out, counts
