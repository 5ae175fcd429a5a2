"""Escaping for the site: text that ends up in Markdown pages with raw HTML inside.

Everything a result file controls (model names, metadata, URLs, file names) is rendered through :func:`text`, which
replaces HTML's special characters *and* Markdown's with numeric character references. Browsers show them as the
original characters, while neither the HTML parser nor Python-Markdown (nor a Markdown extension) can read them as
markup. Only http(s) URLs ever become links (:func:`link`). Missing values and NaN render as a dash. CSV downloads
go through :func:`spreadsheet_safe`, so a model name such as ``=HYPERLINK(...)`` stays text in a spreadsheet.

    >>> str(text("<b>*x*</b>"))
    '&#60;b&#62;&#42;x&#42;&#60;/b&#62;'
    >>> str(link("javascript:alert(1)"))
    'javascript&#58;alert&#40;1&#41;'
    >>> spreadsheet_safe(pd.DataFrame({"model": ["=1+1", "org/m"], "score": [-0.5, 0.7]}))["model"].tolist()
    ["'=1+1", 'org/m']
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from markupsafe import Markup, escape

DASH = Markup("&#8212;")  # an em dash

#: characters with a meaning in HTML or in (Python-)Markdown and its common extensions
_SPECIAL = "&<>\"'`*_{}[]()#+!|~:^$=@\\"
_TABLE = {ord(c): f"&#{ord(c)};" for c in _SPECIAL}
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`]+$", re.IGNORECASE)
#: bidirectional controls (embeddings, overrides, isolates, marks): they can make "rtl/\u202egnp.exe" read "rtl/exe.png"
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutral(v: str) -> str:
    """``v`` with every bidirectional control character shown as its code point (``[U+202E]``), so a name reads
    in the order it is stored.

    Args:
        v: a name or any text from a result file.

    Returns:
        The text with each bidirectional control replaced by ``[U+XXXX]``.

    Example:
        >>> neutral("rtl/\u202egnp.exe")
        'rtl/[U+202E]gnp.exe'
    """
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", v)


def missing(v: Any) -> bool:
    """True for None, NaN, pandas NA and empty strings.

    Args:
        v: any cell value.

    Returns:
        Whether the value counts as missing (shown as a dash).

    Example:
        >>> missing(float("nan")), missing(" "), missing(0)
        (True, True, False)
    """
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str):
        return not v.strip()
    return v is pd.NA or v is pd.NaT


def text(v: Any) -> Markup:
    """Any value as inert text (HTML- and Markdown-escaped); missing values as a dash.

    Args:
        v: any value; :class:`~markupsafe.Markup` (already safe) is returned as it is.

    Returns:
        Safe markup: each HTML or Markdown special character as a numeric entity.

    Example:
        >>> str(text("a*b"))
        'a&#42;b'
    """
    if isinstance(v, Markup):
        return v
    if missing(v):
        return DASH
    return Markup(neutral(str(v)).translate(_TABLE))


def is_http_url(v: Any) -> bool:
    """Whether ``v`` is an absolute http(s) URL without spaces, quotes, brackets or backticks (safe in ``href``).

    Args:
        v: any value.

    Returns:
        True for a string such as ``https://example.org/x``; False for ``javascript:``, relative or odd URLs.

    Example:
        >>> is_http_url("https://mteb.org"), is_http_url("javascript:alert(1)")
        (True, False)
    """
    if not isinstance(v, str) or not _SAFE_URL.match(v.strip()):
        return False
    parts = urlsplit(v.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def link(url: Any, label: Any = None) -> Markup:
    """``<a href>`` for an http(s) URL; anything else (javascript:, data:, relative) is shown as plain text.

    Args:
        url: the link target.
        label: the text shown (default: the URL).

    Returns:
        Safe markup: the link, or the escaped label.
    """
    if not is_http_url(url):
        return text(url if label is None else label)
    shown = text(url if label is None else label)
    # the URL matched _SAFE_URL (no quotes, brackets, backticks or spaces); escape() covers '&'
    return Markup(f'<a href="{escape(url.strip())}" rel="nofollow noopener">{shown}</a>')


def json_for_script(obj: Any) -> Markup:
    """JSON to embed in ``<script type="application/json">``: ``<``, ``>``, ``&`` escaped so it cannot end the tag.

    Args:
        obj: JSON-serialisable data (no NaN).

    Returns:
        Compact JSON as safe markup.

    Raises:
        ValueError: ``obj`` holds NaN or infinity.
    """
    s = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    s = s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    s = s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(s)


def plain_title(v: str, fallback: str) -> str:
    """A page title made of harmless characters only (MkDocs puts titles into <title> and the nav unescaped).

    Args:
        v: the wanted title (a model name).
        fallback: the title to use when ``v`` has any other character.

    Returns:
        ``v`` stripped, or ``fallback``.
    """
    cleaned = re.sub(r"[^A-Za-z0-9 ._/()+-]", "", v).strip()
    return cleaned if cleaned and cleaned == v.strip() else fallback


#: a cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas: those starting with ``= + - @`` or a
    tab/newline get a leading apostrophe. Numbers (a negative score) are left as they are.

    Args:
        df: a table about to be written as CSV.

    Returns:
        The safe copy (``df`` is not changed).
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out
