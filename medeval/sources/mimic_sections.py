"""Sections of MIMIC-IV-Note discharge summaries: parse them, and cache the parsed sections once per release. The
files come from :func:`medeval.sources.mimic.locate`. Nothing here logs note text; errors name file, column and
note id.

    >>> from medeval.sources import mimic, mimic_sections
    >>> notes = mimic_sections.section_cache(mimic.locate("/data/physionet"))   # parses every note ONCE
    >>> notes.columns(["note_id", "len_cc"])              # cheap columns (ids, section lengths, diagnosis keys)
    >>> notes.take([0, 5], ["cc", "hpi"])                 # texts of chosen rows only, streamed by row group

Parsing: each discharge summary (``note_type == "DS"``; addenda ``AD`` are skipped) is split at the known section
headers (:data:`HEADERS`: the MIMIC-IV discharge template headers and the variants real notes use, e.g.
``HPI:``, ``CHIEF COMPLAINT:``, ``Discharge Diagnoses:``), a header being one at the start of a line, any case,
followed by a colon. A section runs to the next known header. When a header occurs more than once, the first
occurrence with a non-empty body is used. Section text is whitespace-normalised (runs of whitespace -> one space,
stripped); the diagnosis key is that text lower-cased.

Cache: the parsed sections are written once to ``<data folder>/mimic_cache/sections-<key>.parquet`` (atomically),
keyed by the discharge file's size, mtime and the sha256 of its first MiB plus :data:`PARSER_VERSION`; the
25 MIMIC tasks read columns from it instead of re-reading the notes. Delete the folder to free the space.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medeval.errors import SourceError
from medeval.fsutil import file_mode
from medeval.sources.mimic import CHUNK_ROWS, DISCHARGE_COLUMNS, MimicFiles, file_signature, int_column, read_chunks, safe_id
from medeval.store import DataStore

PARSER_VERSION = "2"  # 2: lengths of Past Medical History, Brief Hospital Course, Discharge Condition

#: The sections medeval's tasks use: YAML name -> short key (cache column, text-template field).
SECTIONS: dict[str, str] = {
    "Chief Complaint": "cc",
    "History of Present Illness": "hpi",
    "Discharge Diagnosis": "dd",
    "Discharge Instructions": "di",
}

#: Sections whose presence some builders check (the paper's readmission task needs six sections) but whose text no
#: task uses: YAML name -> short key; the cache keeps only their lengths (``len_<key>``).
LENGTH_ONLY_SECTIONS: dict[str, str] = {
    "Past Medical History": "pmh",
    "Brief Hospital Course": "bhc",
    "Discharge Condition": "dcond",
}

#: Header regexes (matched case-insensitively at the start of a line, before a colon). The four sections above
#: come first; the rest only end the section before them. From the MIMIC-IV discharge template
#: (../shared/datakit/mimic-iv-note/SCHEMA.md) and the variants real notes use.
HEADERS: dict[str, tuple[str, ...]] = {
    "cc": (r"chief\s+complaints?",),
    "hpi": (r"history\s+of\s+(?:the\s+)?present\s+illness", r"hpi"),
    "dd": (r"discharge\s+diagnos[ie]s",),
    "di": (r"discharge\s+instructions?",),
    "pmh": (r"past\s+medical\s+history", r"pmh"),
    "bhc": (r"(?:brief\s+)?hospital\s+course",),
    "dcond": (r"discharge\s+condition",),
    "_other": (
        r"name", r"unit\s+no", r"admission\s+date", r"discharge\s+date", r"date\s+of\s+birth", r"sex", r"service",
        r"allergies", r"attending", r"major\s+surgical\s+or\s+invasive\s+procedures?", r"past\s+surgical\s+history",
        r"social\s+history", r"family\s+history", r"review\s+of\s+systems",
        r"ros", r"(?:admission\s+|discharge\s+)?physical\s+exam(?:ination)?", r"pertinent\s+results",
        r"medications\s+on\s+admission", r"discharge\s+medications",
        r"discharge\s+disposition", r"follow(?:\s|-)?up\s+instructions",
    ),
}

_HEADER_RE = re.compile(
    r"^[ \t]*(?:"
    + "|".join(f"(?P<{key.lstrip('_')}>{'|'.join(alts)})" for key, alts in HEADERS.items()).replace(r"\s", r"[ \t]")
    + r")[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)


def normalize(text: str) -> str:
    """Section text as stored: runs of whitespace become one space, leading and trailing space removed.

    Args:
        text: raw note text.

    Returns:
        The normalised text.
    """
    return " ".join(text.split())


def parse_sections(text: str) -> dict[str, str]:
    """The task sections of one discharge note, by short key.

    Args:
        text: the note's ``text`` column.

    Returns:
        ``{key: normalised text}`` for the sections present and non-empty: ``cc``, ``hpi``, ``dd``, ``di`` and the
        :data:`LENGTH_ONLY_SECTIONS` ``pmh``, ``bhc``, ``dcond``; the first non-empty occurrence of a repeated header.

    Example::

        >>> parse_sections("Chief Complaint:\nchest pain\n \nHPI: 3 days of pain\nPast Medical History:\nHTN\nSocial History: ___")
        {'cc': 'chest pain', 'hpi': '3 days of pain', 'pmh': 'HTN'}
    """
    out: dict[str, str] = {}
    matches = list(_HEADER_RE.finditer(text))
    for m, nxt in zip(matches, matches[1:] + [None]):
        key = m.lastgroup
        if key is None or key == "other" or key in out:
            continue
        body = normalize(text[m.end(): nxt.start() if nxt is not None else len(text)])
        if body:
            out[key] = body
    return out


def text_hash(text: str | None) -> int:
    """A 64-bit hash of a section text, to find identical texts without loading them.

    Args:
        text: a section text, or None.

    Returns:
        A signed 64-bit blake2b hash; 0 for no text.
    """
    if not text:
        return 0
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def diagnosis_key(dd: str | None) -> str | None:
    """The label key of a Discharge Diagnosis section (and of a ``construction.labels`` string).

    Args:
        dd: the section text, or None.

    Returns:
        The text whitespace-normalised and lower-cased; None when there is none.

    Example::

        >>> diagnosis_key("  Acute  Appendicitis ")
        'acute appendicitis'
    """
    if dd is None:
        return None
    key = normalize(dd).lower()
    return key or None



# --------------------------------------------------------------------------------------------------- the section cache
_SCHEMA = pa.schema([
    ("note_id", pa.string()), ("subject_id", pa.int64()), ("hadm_id", pa.int64()),
    ("cc", pa.string()), ("hpi", pa.string()), ("dd", pa.string()), ("di", pa.string()), ("dd_key", pa.string()),
    ("len_cc", pa.int32()), ("len_hpi", pa.int32()), ("len_dd", pa.int32()), ("len_di", pa.int32()),
    ("h_cc", pa.int64()), ("h_hpi", pa.int64()), ("h_dd", pa.int64()), ("h_di", pa.int64()),
    ("len_pmh", pa.int32()), ("len_bhc", pa.int32()), ("len_dcond", pa.int32()),
])
TEXT_COLUMNS = ("cc", "hpi", "dd", "di")
LENGTH_COLUMNS = tuple(LENGTH_ONLY_SECTIONS.values())


def _parse_chunk(chunk: pd.DataFrame, path: Path) -> pa.Table:
    for col in ("note_id", "note_type"):
        if chunk[col].isna().any():
            raise SourceError(f"{path}: column {col!r} is empty at data row {int(chunk[col].isna().idxmax()) + 1}")
    chunk = chunk[chunk["note_type"].str.strip().str.upper() == "DS"]
    subject = int_column(chunk, "subject_id", path)
    hadm = int_column(chunk, "hadm_id", path)
    cols: dict[str, list[Any]] = {k: [] for k in TEXT_COLUMNS}
    lengths: dict[str, list[int]] = {k: [] for k in LENGTH_COLUMNS}
    for text in chunk["text"].tolist():
        secs = parse_sections(text) if isinstance(text, str) else {}
        for k in TEXT_COLUMNS:
            cols[k].append(secs.get(k))
        for k in LENGTH_COLUMNS:
            lengths[k].append(len(secs.get(k) or ""))
    dd_key = [diagnosis_key(d) for d in cols["dd"]]
    data: dict[str, Any] = {"note_id": chunk["note_id"].str.strip().tolist(), "subject_id": subject, "hadm_id": hadm}
    data.update(cols)
    data["dd_key"] = dd_key
    for k in TEXT_COLUMNS:
        data[f"len_{k}"] = np.fromiter((len(t) if t else 0 for t in cols[k]), dtype=np.int32, count=len(cols[k]))
        data[f"h_{k}"] = np.fromiter((text_hash(t) for t in cols[k]), dtype=np.int64, count=len(cols[k]))
    for k in LENGTH_COLUMNS:
        data[f"len_{k}"] = np.asarray(lengths[k], dtype=np.int32)
    return pa.table(data, schema=_SCHEMA)


class SectionCache:
    """The parsed sections of every discharge summary, one row per note in file order (a parquet file)."""

    def __init__(self, path: Path, info: dict[str, Any]):
        self.path = path
        self.info = info  # counts and the input signature; never text
        self._cols: dict[str, np.ndarray] = {}

    @property
    def num_notes(self) -> int:
        """How many discharge summaries the cache holds (one row each)."""
        return int(self.info["counts"]["notes"])

    def columns(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole columns as numpy arrays (object arrays for strings), memoised; for ids, keys, lengths and hashes.

        Args:
            names: column names (``note_id``, ``hadm_id``, ``dd_key``, ``len_<key>``, ``h_<key>``, ...).

        Returns:
            ``{name: array}``, one entry per cached note.
        """
        todo = [n for n in names if n not in self._cols]
        if todo:
            table = pq.read_table(self.path, columns=todo)
            for n in todo:
                self._cols[n] = table.column(n).to_numpy(zero_copy_only=False)
        return {n: self._cols[n] for n in names}

    def take(self, rows: Sequence[int], names: Sequence[str]) -> dict[str, list[Any]]:
        """The values of chosen rows, reading one parquet row group at a time (texts of other rows are never loaded).

        Args:
            rows: row positions, any order, repeats allowed.
            names: columns (e.g. section texts ``cc``, ``hpi``).

        Returns:
            ``{name: [value per row, in the order asked]}``.
        """
        order = np.asarray(rows, dtype=np.int64)
        want = np.unique(order)
        got: dict[str, dict[int, Any]] = {n: {} for n in names}
        pf = pq.ParquetFile(self.path)
        offset = 0
        for rg in range(pf.num_row_groups):
            n = pf.metadata.row_group(rg).num_rows
            lo, hi = np.searchsorted(want, [offset, offset + n])
            if hi > lo:
                local = want[lo:hi] - offset
                table = pf.read_row_group(rg, columns=list(names)).take(pa.array(local))
                for name in names:
                    for r, v in zip(want[lo:hi].tolist(), table.column(name).to_pylist()):
                        got[name][r] = v
            offset += n
        return {name: [got[name][int(r)] for r in order] for name in names}


_MEMO: dict[str, SectionCache] = {}


def cache_dir() -> Path:
    """``<data folder>/mimic_cache``: the only place parsed note text is kept.

    Returns:
        The folder (created).
    """
    return DataStore().subdir("mimic_cache")


def cache_key(files: MimicFiles) -> str:
    """The cache key of a release: a hash of the discharge file's signature (:func:`file_signature`) and
    :data:`PARSER_VERSION`.

    Args:
        files: the located files.

    Returns:
        16 hex digits.
    """
    sig = {"discharge": file_signature(files.discharge), "parser": PARSER_VERSION}
    return hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()[:16]


def section_cache(files: MimicFiles, *, chunksize: int | None = None, show_progress: bool = False) -> SectionCache:
    """The parsed sections of every discharge summary: parsed once per release, reused after (also across processes).

    Args:
        files: the located files.
        chunksize: notes parsed at a time (default :data:`CHUNK_ROWS`); bounds memory.
        show_progress: a progress bar while parsing.

    Returns:
        The :class:`SectionCache` (a parquet file under :func:`cache_dir`, written atomically).

    Raises:
        SourceError: the discharge file is missing columns, malformed, holds a repeated note id, or has no
            discharge summary.
    """
    chunksize = chunksize or CHUNK_ROWS
    key = cache_key(files)
    folder = cache_dir()
    path = folder / f"sections-{key}.parquet"
    meta = folder / f"sections-{key}.json"
    memo_key = str(path)
    if memo_key in _MEMO and path.is_file():
        return _MEMO[memo_key]
    if path.is_file() and meta.is_file():
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            cache = SectionCache(path, info)
            _MEMO[memo_key] = cache
            return cache
        except json.JSONDecodeError:
            pass  # rebuild below
    info = _write_cache(files, path, meta, chunksize=chunksize, show_progress=show_progress)
    cache = SectionCache(path, info)
    _MEMO[memo_key] = cache
    return cache


def _write_cache(files: MimicFiles, path: Path, meta: Path, *, chunksize: int, show_progress: bool) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".sections-", suffix=".parquet.tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp_name, file_mode())  # mkstemp makes 0600; the cache follows the umask like the rest of the data folder
    tmp = Path(tmp_name)
    counts = {"rows_read": 0, "notes": 0, "skipped_not_DS": 0, **{f"with_{k}": 0 for k in TEXT_COLUMNS}}
    seen: set[str] = set()
    from tqdm.auto import tqdm

    bar = tqdm(unit=" notes", desc=f"parsing {files.discharge.name} (once per release)", disable=not show_progress, mininterval=2.0)
    try:
        with bar, pq.ParquetWriter(tmp, _SCHEMA, compression="zstd") as writer:
            for chunk in read_chunks(files.discharge, DISCHARGE_COLUMNS, chunksize):
                counts["rows_read"] += len(chunk)
                table = _parse_chunk(chunk, files.discharge)
                counts["skipped_not_DS"] += len(chunk) - table.num_rows
                for nid in table.column("note_id").to_pylist():
                    if nid in seen:
                        raise SourceError(f"{files.discharge}: column 'note_id' has the duplicate id {safe_id(nid) or '(not id-shaped)'}; the file must hold each note once")
                    seen.add(nid)
                counts["notes"] += table.num_rows
                for k in TEXT_COLUMNS:
                    counts[f"with_{k}"] += int(table.column(f"len_{k}").to_numpy().astype(bool).sum())
                writer.write_table(table)
                bar.update(len(chunk))
        if counts["notes"] == 0:
            raise SourceError(f"{files.discharge}: no discharge summaries (rows with note_type 'DS'); is this note/discharge.csv.gz?")
        info = {"counts": counts, "signature": file_signature(files.discharge), "parser_version": PARSER_VERSION}
        meta_tmp = meta.with_name(meta.name + ".tmp")
        meta_tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        os.replace(meta_tmp, meta)
        return info
    except BaseException:
        tmp.unlink(missing_ok=True)
        meta.with_name(meta.name + ".tmp").unlink(missing_ok=True)
        raise

