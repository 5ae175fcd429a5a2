"""What the task and benchmark schemas share: the strict base model, the field checks (BibTeX, licence ids, URLs)
and the one-line-per-problem wording of a validation error."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from medeval.spec.mteb_literals import literal_values

_BIBTEX_HEAD = re.compile(r"^\s*@[A-Za-z]+\s*\{\s*[^,\s{}]+\s*,", re.S)
_URL = re.compile(r"^https?://\S+$")


class StrictModel(BaseModel):
    """A frozen pydantic model that refuses unknown fields (a typo in a YAML is an error, not ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_url(value: str) -> str:
    """Return ``value`` if it is an http(s) URL.

    Args:
        value: the field's text.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: not an ``http://`` or ``https://`` URL without spaces.

    Example:
        >>> check_url("https://icd.who.int")
        'https://icd.who.int'
    """
    if not _URL.match(value):
        raise ValueError("must be an http(s) URL")
    return value


def check_bibtex(text: str) -> str:
    """Check that ``text`` is one or more BibTeX entries with balanced braces.

    Args:
        text: BibTeX source, one or more ``@type{key, ...}`` entries.

    Returns:
        The text stripped, with one trailing newline.

    Raises:
        ValueError: empty text, an entry without an ``@type{key,`` head, or unbalanced braces.

    Example:
        >>> check_bibtex("@misc{k, title={T}}")
        '@misc{k, title={T}}\\n'
    """
    text = text.strip()
    if not text:
        raise ValueError("empty BibTeX; give an entry such as '@misc{key, title={...}}'")
    entries = re.split(r"\n(?=\s*@)", text)
    for entry in entries:
        if not _BIBTEX_HEAD.match(entry):
            raise ValueError(f"not a BibTeX entry (expected '@type{{key, ...'): {entry[:40]!r}")
        depth = 0
        for ch in entry:
            depth += ch == "{"
            depth -= ch == "}"
            if depth < 0:
                break
        if depth != 0:
            raise ValueError(f"unbalanced braces in BibTeX entry {entry.split(',')[0].strip()}")
    return text + "\n"


@lru_cache(maxsize=1)
def _mteb_licenses() -> tuple[str, ...]:
    """mteb's licence ids, read from its installed source (no import: mteb costs seconds of CPU to import); if that
    source has changed shape, from mteb itself."""
    ids = literal_values("mteb.abstasks.task_metadata", "Licenses")
    if ids:
        return ids
    from mteb.abstasks.task_metadata import Licenses

    return tuple(get_args(Licenses))


def check_license(value: str) -> str:
    """An mteb licence id (any case: ``MIT`` -> ``mit``) or an http(s) URL.

    The ids are mteb's (``mteb.abstasks.task_metadata.Licenses``), read once from mteb's source without importing
    mteb (:mod:`medeval.spec.mteb_literals`).

    Args:
        value: the YAML's ``license`` field.

    Returns:
        The licence id as mteb spells it, or the URL unchanged.

    Raises:
        ValueError: neither a licence id nor a URL; the message names close ids.

    Example:
        >>> check_license("CC-BY-4.0")
        'cc-by-4.0'
    """
    if _URL.match(value):
        return value
    ids = _mteb_licenses()
    lowered = {i.lower(): i for i in ids}
    key = value.strip().lower().replace(" ", "-")
    if key in lowered:
        return lowered[key]
    close = difflib.get_close_matches(key, list(lowered), n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ValueError(f"{value!r} is not a licence id; {hint}use an id such as mit, apache-2.0, cc-by-4.0 or "
                     "cc-by-nc-sa-4.0 (any case), 'not specified', or the licence's http(s) URL")


#: A string field holding BibTeX (:func:`check_bibtex`; stored stripped, with one trailing newline).
BibTeX = Annotated[str, AfterValidator(check_bibtex)]
#: A string field holding an http(s) URL (:func:`check_url`).
WebUrl = Annotated[str, AfterValidator(check_url)]
#: A string field holding an mteb licence id or a licence URL (:func:`check_license`; ids lower-cased).
LicenceId = Annotated[str, AfterValidator(check_license)]


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def format_validation_error(path: Path | str, err: ValidationError, model: type[BaseModel]) -> str:
    """One line per problem: ``file: field 'a.b': what is wrong (allowed: ...)``.

    Args:
        path: the file the data came from.
        err: pydantic's error for that data.
        model: the schema validated against, to list its top-level fields when one is unknown.

    Returns:
        The message, one line per problem.

    Example:
        >>> from pydantic import ValidationError
        >>> class M(StrictModel):
        ...     a: int
        >>> try:
        ...     M.model_validate({"b": 1})
        ... except ValidationError as err:
        ...     print(format_validation_error("m.yaml", err, M))
        m.yaml: field 'a': required field is missing
        m.yaml: field 'b': unknown field (allowed top-level fields: a)
    """
    lines = []
    for e in err.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            fields = sorted(model.model_fields) if len(e["loc"]) == 1 else None
            msg = "unknown field" + (f" (allowed top-level fields: {', '.join(fields)})" if fields else "")
        elif e["type"] == "missing":
            msg = "required field is missing"
        # a check across fields (a model validator) has no location: its message names the fields itself
        lines.append(f"{path}: field '{_format_loc(e['loc'])}': {msg}" if e["loc"] else f"{path}: {msg}")
    return "\n".join(lines)
