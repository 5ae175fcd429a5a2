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

    Example:
        >>> neutral("rtl/\u202egnp.exe")
        'rtl/[U+202E]gnp.exe'
    """
    return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", v)


def missing(v: Any) -> bool:
    """True for None, NaN, pandas NA and empty strings."""
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, str):
        return not v.strip()
    return v is pd.NA or v is pd.NaT


def text(v: Any) -> Markup:
    """Any value as inert text (HTML- and Markdown-escaped); missing values as a dash."""
    if isinstance(v, Markup):
        return v
    if missing(v):
        return DASH
    return Markup(neutral(str(v)).translate(_TABLE))


def is_http_url(v: Any) -> bool:
    if not isinstance(v, str) or not _SAFE_URL.match(v.strip()):
        return False
    parts = urlsplit(v.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def link(url: Any, label: Any = None) -> Markup:
    """``<a href>`` for an http(s) URL; anything else (javascript:, data:, relative) is shown as plain text."""
    if not is_http_url(url):
        return text(url if label is None else label)
    shown = text(url if label is None else label)
    # the URL matched _SAFE_URL (no quotes, brackets, backticks or spaces); escape() covers '&'
    return Markup(f'<a href="{escape(url.strip())}" rel="nofollow noopener">{shown}</a>')


def json_for_script(obj: Any) -> Markup:
    """JSON to embed in ``<script type="application/json">``: ``<``, ``>``, ``&`` escaped so it cannot end the tag."""
    s = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    s = s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    s = s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(s)


def plain_title(v: str, fallback: str) -> str:
    """A page title made of harmless characters only (MkDocs puts titles into <title> and the nav unescaped)."""
    cleaned = re.sub(r"[^A-Za-z0-9 ._/()+-]", "", v).strip()
    return cleaned if cleaned and cleaned == v.strip() else fallback


#: a cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets (OWASP CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas: those starting with ``= + - @`` or a
    tab/newline get a leading apostrophe. Numbers (a negative score) are left as they are."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out
