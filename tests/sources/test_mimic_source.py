"""MIMIC-IV-Note reading and section parsing (medeval.sources.mimic) on generated fake MIMIC files: header variants,
the parse-once cache, readmission gaps at the day boundaries, and clear, text-free errors for missing or malformed
files with nothing half-written. Never uses real MIMIC data."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pandas as pd
import pytest
from mimic_fixture import ADMISSIONS_HEADER, DISCHARGE_HEADER, count_parse_calls, generate, write_csv_gz

from medeval.builders.mimic.readmission import readmission_labels
from medeval.errors import SourceError
from medeval.sources import mimic, mimic_sections
from medeval.sources.mimic_sections import diagnosis_key, parse_sections

SECRET = "Zyxwv secret note words 4711"  # planted in note text; must never surface in an error


# --------------------------------------------------------------------------------------------------- parser
@pytest.mark.parametrize(
    "header,key",
    [
        ("Chief Complaint:", "cc"), ("CHIEF COMPLAINT:", "cc"), ("chief complaint :", "cc"), ("Chief Complaints:", "cc"),
        ("History of Present Illness:", "hpi"), ("HISTORY OF PRESENT ILLNESS:", "hpi"), ("HPI:", "hpi"),
        ("History of the Present Illness:", "hpi"), ("Discharge Diagnosis:", "dd"), ("Discharge Diagnoses:", "dd"),
        ("DISCHARGE DIAGNOSIS:", "dd"), ("DISCHARGE DIAGNOSES:", "dd"), ("Discharge Instructions:", "di"),
        ("DISCHARGE INSTRUCTIONS:", "di"), ("  Discharge instructions:", "di"),
        # only their presence is used (the paper's six-section readmission rule)
        ("Past Medical History:", "pmh"), ("PMH:", "pmh"), ("Brief Hospital Course:", "bhc"), ("Hospital Course:", "bhc"),
        ("Discharge Condition:", "dcond"),
    ],
)
def test_header_variants(header: str, key: str) -> None:
    text = f" \nService: MEDICINE\n \n{header}\nthe  body\n of it\n \nFollowup Instructions:\n___\n"
    assert parse_sections(text) == {key: "the body of it"}


@pytest.mark.parametrize(
    "next_header",
    ["Major Surgical or Invasive Procedure:", "Past Medical History:", "PMH:", "Physical Exam:", "ADMISSION PHYSICAL EXAM:",
     "Pertinent Results:", "Brief Hospital Course:", "Discharge Condition:", "Follow-up Instructions:", "Discharge Medications:",
     "HPI:", "Discharge Diagnosis:"],
)
def test_section_ends_at_next_known_header(next_header: str) -> None:
    sections = parse_sections(f"Chief Complaint:\nchest pain\n{next_header}\nsomething else\n")
    assert sections["cc"] == "chest pain"


def test_parser_details() -> None:
    # body on the header line; CRLF line ends; a header mid-line is text, not a header
    assert parse_sections("Chief Complaint: fever\r\nsee HPI: below\r\nPast Medical History:\r\nnone") == {"cc": "fever see HPI: below", "pmh": "none"}
    # the first non-empty occurrence of a repeated header wins
    assert parse_sections("Chief Complaint:\n \nChief Complaint:\ncough\nHPI: x\nChief Complaint: later\n")["cc"] == "cough"
    # no colon, no header
    assert parse_sections("Chief Complaint\ncough\n") == {}
    assert parse_sections("") == {}
    # sub-lists stay inside the Discharge Diagnosis; the label key is lower-cased and whitespace-normalised
    dd = parse_sections("Discharge Diagnosis:\nPrimary: Pneumonia\nSecondary:  CHF\nDischarge Condition:\nstable")["dd"]
    assert dd == "Primary: Pneumonia Secondary: CHF"
    assert diagnosis_key("  Small  Bowel\nObstruction \n") == "small bowel obstruction"
    assert diagnosis_key("   ") is None and diagnosis_key(None) is None


# --------------------------------------------------------------------------------------------------- fixture + cache
@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory):
    return generate(tmp_path_factory.mktemp("mimic") / "physionet", n_notes=3000, seed=1)


def test_cache_matches_fixture_truth_and_parses_once(fx, data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_parse_calls(monkeypatch)
    monkeypatch.setattr(mimic_sections, "CHUNK_ROWS", 700)  # several chunks
    files = mimic.locate(fx.root)
    cache = mimic_sections.section_cache(files)
    assert calls["n"] == fx.n_notes  # DS notes only; addenda are skipped
    assert cache.info["counts"]["notes"] == fx.n_notes
    assert cache.info["counts"]["skipped_not_DS"] == fx.n_addenda > 0
    assert cache.path.parent == data_home / "mimic_cache"
    ids = cache.columns(["note_id"])["note_id"].tolist()
    assert set(ids) == set(fx.notes)
    got = cache.take(range(len(ids)), list(mimic_sections.TEXT_COLUMNS))
    mismatches = [(nid, k) for i, nid in enumerate(ids) for k in mimic_sections.TEXT_COLUMNS if got[k][i] != fx.notes[nid][k]]
    assert mismatches == []
    # every header variant the generator writes occurs, and sections are sometimes missing
    assert 0 < cache.info["counts"]["with_dd"] < fx.n_notes
    # rows come back in the order asked for
    assert cache.take([5, 2, 5], ["note_id"])["note_id"] == [ids[5], ids[2], ids[5]]
    # a second session (new process: memo cleared) reuses the parquet cache: nothing is parsed again
    mtime = cache.path.stat().st_mtime_ns
    monkeypatch.setattr(mimic_sections, "_MEMO", {})
    again = mimic_sections.section_cache(files)
    assert calls["n"] == fx.n_notes and again.path == cache.path and cache.path.stat().st_mtime_ns == mtime
    # the cache is keyed by the input file: another file gets another cache
    assert mimic_sections.cache_key(files) == cache.path.stem.split("-", 1)[1]


def test_cache_identical_for_any_chunk_size(fx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = []
    for i, rows in enumerate((97, 4096)):
        monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path / f"home{i}"))
        monkeypatch.setattr(mimic_sections, "_MEMO", {})
        cache = mimic_sections.section_cache(mimic.locate(fx.root), chunksize=rows)
        tables.append(pd.read_parquet(cache.path))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_locate_nested_physionet_layout_and_release(fx, tmp_path: Path) -> None:
    root = tmp_path / "physionet.org" / "files"
    note = root / "mimic-iv-note" / "2.2" / "note"
    hosp = root / "mimiciv" / "3.1" / "hosp"
    note.mkdir(parents=True)
    hosp.mkdir(parents=True)
    (note / "discharge.csv.gz").write_bytes(fx.discharge.read_bytes())
    (hosp / "admissions.csv.gz").write_bytes(fx.admissions.read_bytes())
    digest = hashlib.sha256(fx.discharge.read_bytes()).hexdigest()
    (note.parent / "SHA256SUMS.txt").write_text(f"{digest} note/discharge.csv.gz\n{'0' * 64} note/radiology.csv.gz\n")
    (hosp.parent / "SHA256SUMS.txt").write_text(f"{'0' * 64} hosp/admissions.csv.gz\n")
    (note.parent / "LICENSE.txt").write_text("PhysioNet Credentialed Health Data License 1.5.0\n")
    files = mimic.locate(root)
    assert files.discharge == (note / "discharge.csv.gz").resolve() and files.admissions == (hosp / "admissions.csv.gz").resolve()
    rel = mimic.release_info(files)
    assert rel["discharge"]["file"] == "mimic-iv-note/2.2/note/discharge.csv.gz"
    assert rel["discharge"]["version_folder"] == "mimic-iv-note/2.2"
    assert rel["discharge"]["sha256"] == digest and rel["discharge"]["listed_in_SHA256SUMS"] is True
    assert "LICENSE.txt_sha256" in rel["discharge"]
    assert rel["admissions"]["version_folder"] == "mimiciv/3.1"
    assert rel["admissions"]["listed_in_SHA256SUMS"] is False  # the file differs from the listed checksum
    # two copies of the notes: ask the user to choose
    (root / "other" / "note").mkdir(parents=True)
    (root / "other" / "note" / "discharge.csv.gz").write_bytes(b"")
    with pytest.raises(SourceError, match="several copies of note/discharge.csv.gz"):
        mimic.locate(root)


def test_locate_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="--mimic-dir"):
        mimic.locate(None)
    with pytest.raises(SourceError, match="no such folder"):
        mimic.locate(tmp_path / "nope")
    with pytest.raises(SourceError, match=r"no note/discharge\.csv\.gz under it"):
        mimic.locate(tmp_path)
    (tmp_path / "note").mkdir()
    write_csv_gz(tmp_path / "note" / "discharge.csv.gz", DISCHARGE_HEADER, [])
    files = mimic.locate(tmp_path)
    assert files.admissions is None
    with pytest.raises(SourceError, match=r"no hosp/admissions\.csv\.gz under it"):
        mimic.admission_gaps(files)


# --------------------------------------------------------------------------------------------------- readmission gaps
def _adm(subject: int, hadm: int, admit: str, disch: str) -> list[object]:
    row: list[object] = [""] * len(ADMISSIONS_HEADER)
    row[:4] = [subject, hadm, admit, disch]
    return row


def test_readmission_window_boundaries(tmp_path: Path) -> None:
    rows = [  # written out of order on purpose
        _adm(1, 105, "2150-03-15 00:00:01", "2150-03-20 00:00:00"),  # last admission -> 0
        _adm(1, 101, "2150-01-01 00:00:00", "2150-01-02 00:00:00"),  # next starts exactly 3 days later
        _adm(1, 102, "2150-01-05 00:00:00", "2150-01-06 00:00:00"),  # next 3 days + 1 s later: 3 whole days
        _adm(1, 103, "2150-01-09 00:00:01", "2150-01-10 00:00:00"),  # next exactly 30 days later
        _adm(1, 104, "2150-02-09 00:00:00", "2150-02-13 00:00:00"),  # next 30 days + 1 s later: 30 whole days
        _adm(2, 201, "2160-01-01 00:00:00", "2160-01-05 00:00:00"),  # overlapping next admission (negative gap)
        _adm(2, 202, "2160-01-04 00:00:00", ""),  # no dischtime: unknown
        _adm(2, 203, "2160-01-06 00:00:00", "2160-01-07 00:00:00"),  # only when 202 has no dischtime
        _adm(3, 301, "2170-01-01 00:00:00", "2170-01-02 00:00:00"),  # a different patient's admission is not "next"
    ]
    (tmp_path / "note").mkdir()
    write_csv_gz(tmp_path / "note" / "discharge.csv.gz", DISCHARGE_HEADER, [])
    write_csv_gz(tmp_path / "hosp" / "admissions.csv.gz", ADMISSIONS_HEADER, rows)
    gaps = mimic.admission_gaps(mimic.locate(tmp_path))
    hadm = pd.Series([101, 102, 103, 104, 105, 201, 202, 203, 301, 999]).to_numpy()
    label3, known, counts = readmission_labels(hadm, gaps, 3)
    label30, _, _ = readmission_labels(hadm, gaps, 30)
    assert gaps.loc[101, "gap"] == pd.Timedelta(days=3) and gaps.loc[104, "gap"] == pd.Timedelta(days=30, seconds=1)
    assert known.tolist() == [True, True, True, True, True, True, False, True, True, False]
    assert counts == {"no_admission_record": 1, "no_dischtime": 1}
    # the paper's rule compares whole days (the gap rounded down): 3 days + 1 s is within 3 days
    assert label3[:6].tolist() == [1, 1, 0, 0, 0, 1]
    assert label30[:6].tolist() == [1, 1, 1, 1, 0, 1]
    assert label3[[7, 8]].tolist() == [0, 0] and label30[[7, 8]].tolist() == [0, 0]


def test_readmission_gaps_match_fixture_truth(fx) -> None:
    gaps = mimic.admission_gaps(mimic.locate(fx.root))
    hadm = pd.Series(sorted(fx.note_hadm.values())).to_numpy()
    for days in (3, 30):
        label, known, _ = readmission_labels(hadm, gaps, days)
        expected = [fx.readmitted(int(h), days) for h in hadm]
        assert [int(v) if k else None for v, k in zip(label, known)] == expected
    # the boundary gaps occur among the notes' admissions, on both sides
    gap_values = {fx.gaps[h] for h in fx.note_hadm.values() if h not in fx.no_dischtime}
    assert {3 * 86400, 3 * 86400 + 1, 30 * 86400, 30 * 86400 + 1, -7200} <= gap_values


# --------------------------------------------------------------------------------------------------- malformed input
def _no_partial_cache(home: Path) -> None:
    folder = home / "mimic_cache"
    left = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    assert left == [], f"half-written cache files left behind: {left}"


def _note_row(note_id: str, subject: object, hadm: object, text: str = f"Chief Complaint:\n{SECRET}\n") -> list[object]:
    return [note_id, subject, hadm, "DS", 1, "2150-01-01 00:00:00", "", text]


@pytest.mark.parametrize("missing", ["text", "hadm_id", "note_type"])
def test_missing_discharge_column(tmp_path: Path, data_home: Path, missing: str) -> None:
    header = [c for c in DISCHARGE_HEADER if c != missing]
    row = _note_row("10000001-DS-1", 10000001, 20000001)
    write_csv_gz(tmp_path / "note" / "discharge.csv.gz", header, [[v for c, v in zip(DISCHARGE_HEADER, row) if c != missing]])
    with pytest.raises(SourceError) as err:
        mimic_sections.section_cache(mimic.locate(tmp_path))
    msg = str(err.value)
    assert "discharge.csv.gz" in msg and f"missing column '{missing}'" in msg and SECRET not in msg
    _no_partial_cache(data_home)


def test_missing_admissions_column(fx, tmp_path: Path) -> None:
    (tmp_path / "note").mkdir()
    (tmp_path / "note" / "discharge.csv.gz").write_bytes(fx.discharge.read_bytes())
    header = [c for c in ADMISSIONS_HEADER if c != "dischtime"]
    write_csv_gz(tmp_path / "hosp" / "admissions.csv.gz", header, [[1, 2, "2150-01-01 00:00:00"] + [""] * (len(header) - 3)])
    with pytest.raises(SourceError, match=r"admissions\.csv\.gz: missing column 'dischtime'"):
        mimic.admission_gaps(mimic.locate(tmp_path))


def test_truncated_and_non_gzip_files(fx, tmp_path: Path, data_home: Path) -> None:
    # a download cut off half way: the error names the file, the cache is not written
    data = fx.discharge.read_bytes()
    (tmp_path / "cut" / "note").mkdir(parents=True)
    (tmp_path / "cut" / "note" / "discharge.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"discharge\.csv\.gz: malformed or truncated file") as err:
        mimic_sections.section_cache(mimic.locate(tmp_path / "cut"), chunksize=200)
    assert "re-download" in str(err.value)
    _no_partial_cache(data_home)
    # not gzip at all
    (tmp_path / "plain" / "note").mkdir(parents=True)
    (tmp_path / "plain" / "note" / "discharge.csv.gz").write_text(f"note_id,text\n1,{SECRET}\n")
    with pytest.raises(SourceError, match=r"discharge\.csv\.gz: malformed or truncated file") as err:
        mimic_sections.section_cache(mimic.locate(tmp_path / "plain"))
    assert SECRET not in str(err.value)
    # empty
    (tmp_path / "empty" / "note").mkdir(parents=True)
    with gzip.open(tmp_path / "empty" / "note" / "discharge.csv.gz", "wb"):
        pass
    with pytest.raises(SourceError, match="empty file"):
        mimic_sections.section_cache(mimic.locate(tmp_path / "empty"))
    _no_partial_cache(data_home)


def test_bad_ids_never_quote_text(tmp_path: Path, data_home: Path) -> None:
    good = [_note_row(f"1000000{i}-DS-1", 10000000 + i, 20000000 + i) for i in range(5)]
    # a shifted row: note text landed in the id columns
    bad = [SECRET, SECRET, SECRET, "DS", 1, "", "", "x"]
    write_csv_gz(tmp_path / "a" / "note" / "discharge.csv.gz", DISCHARGE_HEADER, good + [bad])
    with pytest.raises(SourceError) as err:
        mimic_sections.section_cache(mimic.locate(tmp_path / "a"))
    msg = str(err.value)
    assert "column 'subject_id' must hold integer ids" in msg and "data row 6" in msg and SECRET not in msg
    # an id-shaped note id is named
    write_csv_gz(tmp_path / "b" / "note" / "discharge.csv.gz", DISCHARGE_HEADER, good + [_note_row("10000009-DS-1", 10000009, "x12")])
    with pytest.raises(SourceError, match=r"column 'hadm_id' must hold integer ids; missing or non-integer value at note_id 10000009-DS-1"):
        mimic_sections.section_cache(mimic.locate(tmp_path / "b"))
    # a duplicate note id
    write_csv_gz(tmp_path / "c" / "note" / "discharge.csv.gz", DISCHARGE_HEADER, good + [good[0]])
    with pytest.raises(SourceError, match=r"duplicate id 10000000-DS-1"):
        mimic_sections.section_cache(mimic.locate(tmp_path / "c"))
    # an unreadable admission time names the column and row, not the value
    write_csv_gz(tmp_path / "c" / "hosp" / "admissions.csv.gz", ADMISSIONS_HEADER, [_adm(1, 2, SECRET, "")])
    with pytest.raises(SourceError) as err:
        mimic.admission_gaps(mimic.locate(tmp_path / "c"))
    assert "column 'admittime'" in str(err.value) and "data row 1" in str(err.value) and SECRET not in str(err.value)
    _no_partial_cache(data_home)
