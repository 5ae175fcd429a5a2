"""Whitespace normalisation shared by the source readers: upstream records (XML, JSON, CSV) are compared and stored
with runs of whitespace collapsed to one space."""

from __future__ import annotations

from typing import Any


def clean(text: Any) -> str:
    """Text as the source readers compare and store it.

    Args:
        text: any value from a record (None gives "").

    Returns:
        ``str(text)`` with every run of whitespace (newlines, tabs) collapsed to one space, stripped.

    Example::

        >>> clean("  Chest\\n pain "), clean(None)
        ('Chest pain', '')
    """
    return " ".join(str(text).split()) if text is not None else ""
