"""MIMIC-IV from the user's own credentialed copy: locate the files, identify the release, stream the CSVs and read
admissions. Note text never leaves the user's data folder: nothing here logs text, and every error names the file,
the column and the note id (or data row), never the text. Discharge-note sections are parsed and cached by
:mod:`medeval.sources.mimic_sections`.

    >>> from medeval.sources import mimic, mimic_sections
    >>> files = mimic.locate("/data/physionet")           # finds note/discharge.csv.gz and hosp/admissions.csv.gz
    >>> mimic.release_info(files)["discharge"]["sha256"]  # what the build manifest records of the release
    >>> notes = mimic_sections.section_cache(files)       # parses every note ONCE; reused by every MIMIC task
    >>> adm = mimic.admission_gaps(files)                 # hadm_id -> time to the patient's next admission
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medeval.errors import SourceError

DISCHARGE = "note/discharge.csv.gz"
ADMISSIONS = "hosp/admissions.csv.gz"
DISCHARGE_COLUMNS = ("note_id", "subject_id", "hadm_id", "note_type", "text")
ADMISSIONS_COLUMNS = ("subject_id", "hadm_id", "admittime", "dischtime")
CHUNK_ROWS = 4096


# --------------------------------------------------------------------------------------------------- locating
@dataclass(frozen=True)
class MimicFiles:
    """The input files of one ``--mimic-dir``."""

    root: Path
    discharge: Path
    admissions: Path | None

    def require_admissions(self) -> Path:
        """The admissions file, which the readmission tasks need.

        Returns:
            ``hosp/admissions.csv.gz`` (or ``.csv``) under the ``--mimic-dir``.

        Raises:
            SourceError: it is not there; the message says where to download it.
        """
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
    """Find the MIMIC-IV files under the user's folder: ``root/note/discharge.csv.gz`` or PhysioNet's nested layout
    (``mimic-iv-note/2.2/note/...``, at most 3 levels deeper; ``.csv`` unpacked copies too).

    Args:
        mimic_dir: the ``--mimic-dir`` folder (``~`` expanded).

    Returns:
        The resolved paths; ``admissions`` is None when ``hosp/admissions.csv.gz`` is absent.

    Raises:
        SourceError: no ``--mimic-dir``, no such folder, no discharge file, or several copies of one file.
    """
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
    """A cheap identity of an input file, the section cache's key.

    Args:
        path: the file.

    Returns:
        ``{"bytes": size, "mtime_ns": ..., "sha256_first_mib": hex}``.
    """
    st = path.stat()
    with path.open("rb") as f:
        head = hashlib.sha256(f.read(1 << 20)).hexdigest()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256_first_mib": head}


_SHA256: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """The full sha256 of a file, memoised per process by path, size and mtime.

    Args:
        path: the file (read in 4 MiB blocks).

    Returns:
        The hex digest.
    """
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
    """The MIMIC release as the build manifest records it.

    Args:
        files: the located files.
        admissions: include the admissions file (readmission tasks).

    Returns:
        Per file (``discharge``, ``admissions``): its path under ``--mimic-dir``, size, sha256 and release hints (a
        version folder such as ``mimic-iv-note/2.2``, whether PhysioNet's ``SHA256SUMS.txt`` lists that hash).
    """
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
    """The CSV file's column names, checked for the ones a reader needs.

    Args:
        path: a (gzip) CSV file.
        needed: column names that must be present (matched by name).

    Returns:
        All column names, in file order.

    Raises:
        SourceError: no such file, an empty or unreadable file (worded by ``_read_error``), or missing columns
            (each named); never file content.
    """
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
    """Stream a (gzip) CSV in chunks of the given columns, all read as strings ("" as missing).

    Args:
        path: the file.
        columns: the columns to read (checked first, :func:`check_header`).
        chunksize: rows per chunk; bounds memory.

    Yields:
        DataFrames whose index is the 0-based data row number in the file.

    Raises:
        SourceError: missing columns, or a malformed or truncated file (worded by ``_read_error``: the data row,
            never its text).
    """
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
    """``value`` if it looks like an id, so that an error may print it.

    A misaligned CSV can put note text in an id column, and errors must never quote text.

    Args:
        value: a cell.

    Returns:
        The value when it is 1-25 letters, digits, ``_`` or ``-``; else None.
    """
    return value if isinstance(value, str) and _ID_SHAPE.match(value) else None


def int_column(chunk: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    """A column of integer ids as int64.

    Args:
        chunk: a chunk from :func:`read_chunks`.
        col: the column (``subject_id``, ``hadm_id``).
        path: the file, named in errors.

    Returns:
        The values, aligned with the chunk's rows.

    Raises:
        SourceError: a missing or non-integer value, naming the note id (if id-shaped) or the data row.
    """
    values = pd.to_numeric(chunk[col], errors="coerce")
    bad = values.isna() | (values != values.round())
    if bad.any():
        row = bad.idxmax()
        ident = safe_id(chunk.at[row, "note_id"]) if "note_id" in chunk else None
        where = f"note_id {ident}" if ident else f"data row {int(row) + 1}"
        raise SourceError(f"{path}: column {col!r} must hold integer ids; missing or non-integer value at {where}")
    return values.to_numpy(dtype=np.int64)



# --------------------------------------------------------------------------------------------------- record salt
_SALT: dict[tuple[str, int, int], str] = {}


def record_salt(files: MimicFiles) -> str:
    """A salt only holders of the discharge file can compute: sha256 of a tag and the file's first MiB (not published).

    Manifest record hashes mix it in, so a shared manifest does not let anyone confirm guessed note text.

    Args:
        files: the located files.

    Returns:
        The hex salt (memoised per process).
    """
    st = files.discharge.stat()
    key = (str(files.discharge), st.st_size, st.st_mtime_ns)
    if key not in _SALT:
        with files.discharge.open("rb") as f:
            _SALT[key] = hashlib.sha256(b"medeval mimic record salt\x00" + f.read(1 << 20)).hexdigest()
    return _SALT[key]


# --------------------------------------------------------------------------------------------------- admissions
_ADM_MEMO: dict[tuple[str, int, int], pd.DataFrame] = {}


def admission_gaps(files: MimicFiles) -> pd.DataFrame:
    """Per admission, the time from its discharge to the start of the same patient's next admission.

    Every admission in the file counts as a possible next admission, with or without a note; the next one is by
    ``admittime``. A next admission that starts before this discharge (overlapping records) has a negative gap.

    Args:
        files: the located files (with ``hosp/admissions``).

    Returns:
        A DataFrame indexed by ``hadm_id`` with ``subject_id``, ``admittime``, ``dischtime`` and ``gap`` (NaT when
        there is no next admission or no ``dischtime``); memoised per process.

    Raises:
        SourceError: no admissions file, a missing or unreadable timestamp (naming the data row), or a repeated
            ``hadm_id``.
    """
    path = files.require_admissions()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _ADM_MEMO:
        return _ADM_MEMO[key]
    parts = []
    for chunk in read_chunks(path, ADMISSIONS_COLUMNS, chunksize=1 << 17):
        df = pd.DataFrame({
            "subject_id": int_column(chunk, "subject_id", path),
            "hadm_id": int_column(chunk, "hadm_id", path),
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
