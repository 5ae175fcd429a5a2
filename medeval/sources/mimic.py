"""MIMIC-IV-Note from the user's own credentialed copy: locate the files, stream and parse discharge notes, read
admissions. Note text never leaves the user's data folder: nothing here logs text, and every error names the file,
the column and the note id (or data row), never the text.

    >>> from medeval.sources import mimic
    >>> files = mimic.locate("/data/physionet")           # finds note/discharge.csv.gz and hosp/admissions.csv.gz
    >>> notes = mimic.section_cache(files)                # parses every note ONCE; reused by every MIMIC task
    >>> notes.columns(["note_id", "len_cc"])              # cheap columns (ids, section lengths, diagnosis keys)
    >>> notes.take([0, 5], ["cc", "hpi"])                 # texts of chosen rows only, streamed by row group
    >>> adm = mimic.admission_gaps(files)                 # hadm_id -> time to the patient's next admission

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

import gzip
import hashlib
import json
import os
import re
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from medeval.store import DataStore
from medeval.errors import SourceError
from medeval.fsutil import file_mode


PARSER_VERSION = "2"  # 2: lengths of Past Medical History, Brief Hospital Course, Discharge Condition
DISCHARGE = "note/discharge.csv.gz"
ADMISSIONS = "hosp/admissions.csv.gz"
DISCHARGE_COLUMNS = ("note_id", "subject_id", "hadm_id", "note_type", "text")
ADMISSIONS_COLUMNS = ("subject_id", "hadm_id", "admittime", "dischtime")
CHUNK_ROWS = 4096

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
    """Whitespace-normalised text: runs of whitespace become one space; leading/trailing space removed."""
    return " ".join(text.split())


def parse_sections(text: str) -> dict[str, str]:
    """The task sections of one discharge note, by short key (``cc``, ``hpi``, ``dd``, ``di`` and the
    :data:`LENGTH_ONLY_SECTIONS` ``pmh``, ``bhc``, ``dcond``); absent ones omitted.

    >>> parse_sections("Chief Complaint:\\nchest pain\\n \\nHPI: 3 days of pain\\nPast Medical History:\\nHTN\\nSocial History: ___")
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
    """A 64-bit hash of a section text (0 for none): finds identical texts without loading them."""
    if not text:
        return 0
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


def diagnosis_key(dd: str | None) -> str | None:
    """The label key of a Discharge Diagnosis section: whitespace-normalised and lower-cased."""
    if dd is None:
        return None
    key = normalize(dd).lower()
    return key or None


# --------------------------------------------------------------------------------------------------- locating
@dataclass(frozen=True)
class MimicFiles:
    """The input files of one ``--mimic-dir``."""

    root: Path
    discharge: Path
    admissions: Path | None

    def require_admissions(self) -> Path:
        if self.admissions is None:
            raise SourceError(
                f"{self.root}: no {ADMISSIONS} under it (MIMIC-IV hosp module); the readmission tasks need it: "
                f"download hosp/admissions.csv.gz from https://physionet.org/content/mimiciv/ into {self.root / 'hosp'}"
            )
        return self.admissions


def _find(root: Path, rel: str) -> Path | None:
    """``root/rel`` or, for PhysioNet's nested layout (``mimic-iv-note/2.2/note/...``), one copy at most 3 levels deeper
    (``.csv.gz`` or an unpacked ``.csv``); several copies -> SourceError asking which."""
    names = [rel, rel[: -len(".gz")]]
    for name in names:
        if (root / name).is_file():
            return root / name
    found = sorted(p for depth in (1, 2, 3) for name in names for p in root.glob("/".join(["*"] * depth + [name])) if p.is_file())
    if len(found) > 1:
        listing = ", ".join(str(p.relative_to(root)) for p in found[:4])
        raise SourceError(f"{root}: several copies of {rel} ({listing}); point --mimic-dir at the release you want")
    return found[0] if found else None


def locate(mimic_dir: str | Path | None) -> MimicFiles:
    """Find ``note/discharge.csv.gz`` (required) and ``hosp/admissions.csv.gz`` (readmission tasks) under a folder."""
    if mimic_dir is None:
        raise SourceError("the MIMIC-IV tasks need your credentialed copy: add --mimic-dir DIR (the folder holding note/ and hosp/)")
    root = Path(mimic_dir).expanduser()
    if not root.is_dir():
        raise SourceError(f"--mimic-dir {root}: no such folder; give the folder that holds note/discharge.csv.gz and hosp/admissions.csv.gz")
    discharge = _find(root, DISCHARGE)
    if discharge is None:
        raise SourceError(
            f"{root}: no {DISCHARGE} under it; download MIMIC-IV-Note from https://physionet.org/content/mimic-iv-note/ "
            "and point --mimic-dir at the folder that holds note/ (and hosp/)"
        )
    return MimicFiles(root=root.resolve(), discharge=discharge.resolve(), admissions=(_find(root, ADMISSIONS) or None))


# --------------------------------------------------------------------------------------------------- identity
def file_signature(path: Path) -> dict[str, Any]:
    """Cheap identity of an input file: size, mtime and sha256 of its first MiB (the cache key)."""
    st = path.stat()
    with path.open("rb") as f:
        head = hashlib.sha256(f.read(1 << 20)).hexdigest()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256_first_mib": head}


_SHA256: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """Full sha256 of a file (memoised per process by path, size and mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SHA256:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        _SHA256[key] = h.hexdigest()
    return _SHA256[key]


def _release_hint(path: Path, root: Path) -> dict[str, Any]:
    """What the distribution says about its release: a version folder in the path, PhysioNet's SHA256SUMS.txt."""
    out: dict[str, Any] = {}
    for parent in path.parents:
        if parent != root and root not in parent.parents:
            break
        if re.fullmatch(r"\d+(?:\.\d+)+", parent.name) and "version_folder" not in out:
            out["version_folder"] = f"{parent.parent.name}/{parent.name}"
        sums = parent / "SHA256SUMS.txt"
        if sums.is_file() and "listed_in_SHA256SUMS" not in out:
            rel = path.relative_to(parent).as_posix()
            listed = {}
            for line in sums.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 2:
                    listed[parts[1].lstrip("*")] = parts[0].lower()
            if rel in listed:
                out["listed_in_SHA256SUMS"] = listed[rel] == sha256_file(path)
        for name in ("LICENSE.txt", "LICENSE", "README.md", "README.txt", "VERSION", "version.txt"):
            if (parent / name).is_file() and f"{name}_sha256" not in out:
                out[f"{name}_sha256"] = sha256_file(parent / name)
    return out


def release_info(files: MimicFiles, *, admissions: bool = True) -> dict[str, Any]:
    """The MIMIC release, as the build manifest records it: per file its path, size, sha256 and release hints."""
    out: dict[str, Any] = {}
    items = [("discharge", files.discharge)] + ([("admissions", files.admissions)] if admissions and files.admissions else [])
    for name, path in items:
        try:
            rel = path.relative_to(files.root).as_posix()
        except ValueError:
            rel = path.name
        out[name] = {"file": rel, "bytes": path.stat().st_size, "sha256": sha256_file(path), **_release_hint(path, files.root)}
    return out


# --------------------------------------------------------------------------------------------------- reading
_SAFE_PARSER_MSG = re.compile(r"Expected \d+ fields in line \d+, saw \d+|EOF inside string starting at row \d+")


def _read_error(path: Path, err: BaseException, where: str) -> SourceError:
    """A SourceError for an unreadable CSV that never quotes file content."""
    detail = type(err).__name__
    m = _SAFE_PARSER_MSG.search(str(err)) if isinstance(err, pd.errors.ParserError) else None
    if m:
        detail += f": {m.group(0)}"
    return SourceError(f"{path}: malformed or truncated file {where} ({detail}); re-download it from PhysioNet")


def check_header(path: Path, needed: Sequence[str]) -> list[str]:
    """The file's column names; SourceError naming the file and every missing column."""
    try:
        cols = list(pd.read_csv(path, nrows=0, compression="infer").columns)
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise SourceError(f"{path}: empty file (no header row); re-download it from PhysioNet") from None
    except (pd.errors.ParserError, OSError, EOFError, zlib.error, UnicodeDecodeError, gzip.BadGzipFile) as err:
        raise _read_error(path, err, "in its header") from None
    missing = [c for c in needed if c not in cols]
    if missing:
        which = ", ".join(repr(c) for c in missing)
        raise SourceError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {which} (this file needs {', '.join(needed)}); "
            "is it the MIMIC-IV file of that name? Columns are matched by name."
        )
    return cols


def read_chunks(path: Path, columns: Sequence[str], chunksize: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Stream a (gzip) CSV in chunks of the given columns, all read as strings. Errors name the file and rows."""
    check_header(path, columns)
    reader = pd.read_csv(
        path, usecols=list(columns), dtype=str, keep_default_na=False, na_values=[""], chunksize=chunksize, compression="infer",
    )
    start = 0
    with reader:
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                return
            except (pd.errors.ParserError, OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as err:
                raise _read_error(path, err, f"after data row {start}") from None
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            yield chunk


_ID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,25}$")


def safe_id(value: Any) -> str | None:
    """``value`` if it looks like an id (so that an error may print it), else None: a misaligned CSV can put
    note text in an id column, and errors must never quote text."""
    return value if isinstance(value, str) and _ID_SHAPE.match(value) else None


def _int_column(chunk: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(chunk[col], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        row = bad.idxmax()
        ident = safe_id(chunk.at[row, "note_id"]) if "note_id" in chunk else None
        where = f"note_id {ident}" if ident else f"data row {int(row) + 1}"
        raise SourceError(f"{path}: column {col!r} must hold integer ids; missing or non-integer value at {where}")
    return values.to_numpy(dtype=np.int64)


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
    subject = _int_column(chunk, "subject_id", path)
    hadm = _int_column(chunk, "hadm_id", path)
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
        return int(self.info["counts"]["notes"])

    def columns(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole columns as numpy arrays (object arrays for strings); memoised. Use for ids, keys and lengths."""
        todo = [n for n in names if n not in self._cols]
        if todo:
            table = pq.read_table(self.path, columns=todo)
            for n in todo:
                self._cols[n] = table.column(n).to_numpy(zero_copy_only=False)
        return {n: self._cols[n] for n in names}

    def take(self, rows: Sequence[int], names: Sequence[str]) -> dict[str, list[Any]]:
        """Values of the given rows (in the given order) for the given columns, reading one row group at a time."""
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
_SALT: dict[tuple[str, int, int], str] = {}


def record_salt(files: MimicFiles) -> str:
    """A salt only holders of the discharge file can compute (sha256 of a tag + its first MiB, not published):
    manifest record hashes mix it in, so a shared manifest does not let anyone confirm guessed note text."""
    st = files.discharge.stat()
    key = (str(files.discharge), st.st_size, st.st_mtime_ns)
    if key not in _SALT:
        with files.discharge.open("rb") as f:
            _SALT[key] = hashlib.sha256(b"medeval mimic record salt\x00" + f.read(1 << 20)).hexdigest()
    return _SALT[key]


def cache_dir() -> Path:
    """``<data folder>/mimic_cache``: the only place parsed note text is kept."""
    return DataStore().subdir("mimic_cache")


def cache_key(files: MimicFiles) -> str:
    sig = {"discharge": file_signature(files.discharge), "parser": PARSER_VERSION}
    return hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()[:16]


def section_cache(files: MimicFiles, *, chunksize: int | None = None, show_progress: bool = False) -> SectionCache:
    """Parse the discharge notes once (or reuse the cache for the same file) and return the section table.

    ``chunksize`` (default :data:`CHUNK_ROWS`) bounds memory: one chunk of raw notes is in memory at a time.
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


# --------------------------------------------------------------------------------------------------- admissions
_ADM_MEMO: dict[tuple[str, int, int], pd.DataFrame] = {}


def admission_gaps(files: MimicFiles) -> pd.DataFrame:
    """Per admission (index ``hadm_id``): ``subject_id``, ``admittime``, ``dischtime`` and ``gap``, the time from this discharge
    to the start of the same patient's next admission (by ``admittime``; NaT when there is none or when this
    admission has no ``dischtime``). Every admission in the file counts as a possible next admission, with or
    without a note. A next admission that starts before this discharge (overlapping records) has a negative gap.
    """
    path = files.require_admissions()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _ADM_MEMO:
        return _ADM_MEMO[key]
    parts = []
    for chunk in read_chunks(path, ADMISSIONS_COLUMNS, chunksize=1 << 17):
        df = pd.DataFrame({
            "subject_id": _int_column(chunk, "subject_id", path),
            "hadm_id": _int_column(chunk, "hadm_id", path),
        })
        for col in ("admittime", "dischtime"):
            values = pd.to_datetime(chunk[col].to_numpy(), errors="coerce", format="ISO8601")
            bad = values.isna() & chunk[col].notna().to_numpy()
            if col == "admittime":
                bad |= chunk[col].isna().to_numpy()
            if bad.any():
                row = int(chunk.index[np.argmax(bad)]) + 1
                raise SourceError(f"{path}: column {col!r} has a missing or unreadable timestamp at data row {row} (expected 'YYYY-MM-DD HH:MM:SS')")
            df[col] = values
        parts.append(df)
    adm = pd.concat(parts, ignore_index=True)
    dup = adm["hadm_id"].duplicated()
    if dup.any():
        raise SourceError(f"{path}: column 'hadm_id' has the duplicate id {int(adm.loc[dup.idxmax(), 'hadm_id'])}; each admission must appear once")
    adm = adm.sort_values(["subject_id", "admittime", "hadm_id"], kind="stable")
    nxt = adm.groupby("subject_id", sort=False)["admittime"].shift(-1)
    adm["gap"] = nxt - adm["dischtime"]
    out = adm.set_index("hadm_id")[["subject_id", "admittime", "dischtime", "gap"]]
    _ADM_MEMO[key] = out
    return out
