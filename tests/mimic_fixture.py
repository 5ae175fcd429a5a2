"""A synthetic, obviously fake MIMIC-IV-Note-format folder for tests and benchmarks (never real MIMIC data).

It writes ``note/discharge.csv.gz`` and ``hosp/admissions.csv.gz`` with the real column names (SCHEMA.md in
../shared/datakit/mimic-iv-note), discharge summaries laid out like the real template (``___`` de-identification
marks, the header list, header variants such as ``CHIEF COMPLAINT:``, ``HPI:``, ``Discharge Diagnoses:``,
content on the header line or below it, missing sections, an empty first header, addenda, copy-forward notes that
repeat the patient's previous Chief Complaint and HPI), the diagnosis string
of every MIMIC label group in the task YAMLs (in random case and spacing), several admissions per patient with
gaps at the exact 3- and 30-day boundaries (and one second either side), overlapping admissions, admissions
without notes and a few without a discharge time.

It returns the ground truth it generated from, so tests can check the parser and labels independently of the code
under test::

    fx = generate(tmp_path / "mimic", n_notes=3000, seed=0)
    fx.notes["10000019-DS-1"]["cc"]      # the expected (whitespace-normalised) Chief Complaint, or None
    fx.gaps[hadm_id]                     # seconds from this discharge to the next admission, or None

    python tests/mimic_fixture.py OUT_DIR --notes 300000 --filler 4     # a big file for benchmarks
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DISCHARGE_HEADER = ["note_id", "subject_id", "hadm_id", "note_type", "note_seq", "charttime", "storetime", "text"]
ADMISSIONS_HEADER = [
    "subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type", "admit_provider_id",
    "admission_location", "discharge_location", "insurance", "language", "marital_status", "race", "edregtime",
    "edouttime", "hospital_expire_flag",
]
TS = "%Y-%m-%d %H:%M:%S"

CC_HEADERS = ["Chief Complaint:", "CHIEF COMPLAINT:", "Chief Complaint :", "chief complaint:", "Chief Complaints:"]
HPI_HEADERS = ["History of Present Illness:", "HISTORY OF PRESENT ILLNESS:", "HPI:", "History of the Present Illness:"]
DD_HEADERS = ["Discharge Diagnosis:", "Discharge Diagnoses:", "DISCHARGE DIAGNOSIS:", "DISCHARGE DIAGNOSES:", "Discharge diagnosis:"]
DI_HEADERS = ["Discharge Instructions:", "DISCHARGE INSTRUCTIONS:", "Discharge instructions:"]

OTHER_DIAGNOSES = [
    "hypertensive urgency", "atrial fibrillation with rapid ventricular response", "alcohol withdrawal", "hyponatremia",
    "upper gi bleed", "sepsis", "acute kidney injury", "diabetic ketoacidosis", "hip fracture", "migraine",
]
COMPLAINTS = {
    "pneumonia": ["cough, fever", "shortness of breath", "productive cough"],
    "copd exacerbation": ["dyspnea", "wheezing, shortness of breath"],
    "cellulitis": ["leg redness and swelling", "arm swelling"],
    "urinary tract infection": ["dysuria", "fever, dysuria", "urinary frequency"],
    "choledocholithiasis": ["RUQ pain, jaundice", "abdominal pain, jaundice"],
    "small bowel obstruction": ["abdominal pain, vomiting", "nausea, vomiting, no flatus"],
    "partial small bowel obstruction": ["abdominal distension", "nausea, abdominal pain"],
    "acute appendicitis": ["RLQ pain", "right lower quadrant pain"],
    "acute cholecystitis": ["RUQ pain", "right upper quadrant pain, fever"],
    "diverticulitis": ["LLQ pain", "left lower quadrant pain"],
    "pancreatitis": ["epigastric pain", "epigastric pain radiating to back"],
    "abdominal pain": ["abdominal pain"],
    "chest pain": ["chest pain", "chest pressure"],
    "seizure": ["seizure", "witnessed convulsion"], "seizures": ["seizures"], "epilepsy": ["breakthrough seizures"],
    "acute ischemic stroke": ["left sided weakness", "aphasia", "facial droop"],
    "syncope": ["syncope", "loss of consciousness"], "cns lymphoma": ["confusion, headache"],
    "right knee osteoarthritis": ["right knee pain"], "left knee osteoarthritis": ["left knee pain"],
    "right hip osteoarthritis": ["right hip pain"], "left hip osteoarthritis": ["left hip pain"],
    "lumbar stenosis": ["low back pain, leg numbness"], "cervical stenosis": ["neck pain, hand numbness"],
    "right breast cancer": ["right breast mass"], "prostate cancer": ["elevated PSA"], "aml": ["fatigue, pancytopenia"],
    "peripheral arterial disease": ["claudication", "non-healing toe ulcer"], "morbid obesity": ["elective bariatric surgery"],
    "deceased": ["unresponsive"], "expired": ["cardiac arrest"], "patient expired": ["respiratory failure"],
}
GENERIC_COMPLAINTS = ["weakness", "fall", "fatigue", "nausea", "dizziness", "headache", "palpitations", "fever"]
PMH = ["hypertension", "type 2 diabetes", "hyperlipidemia", "CAD s/p PCI", "asthma", "CKD stage 3", "atrial fibrillation", "GERD"]
VOCAB = (
    "patient was noted stable vitals afebrile labs notable for creatinine sodium potassium lactate normal within "
    "limits imaging showed no acute process started on ceftriaxone azithromycin heparin drip metoprolol transitioned "
    "to oral regimen tolerated diet ambulating independently pain controlled with acetaminophen oxycodone followed by "
    "consult team recommended outpatient follow up with PCP cardiology surgery ___ blood cultures negative urine "
    "culture pending chest x-ray CT abdomen ultrasound echo ejection fraction preserved mild moderate severe trace "
    "edema bilateral lower extremities lungs clear auscultation heart regular rate rhythm murmur abdomen soft "
    "nontender nondistended bowel sounds present neurologically intact alert oriented times three"
).split()


def label_strings() -> dict[str, list[str]]:
    """Every diagnosis string of every MIMIC label group, from the packaged task YAMLs: task -> strings."""
    from medeval import paths
    from medeval.spec import load_spec

    out: dict[str, list[str]] = {}
    for p in sorted(paths.packaged_specs_dir().glob("Mimic*.yaml")):
        spec = load_spec(p)
        c = spec.construction
        if c is not None and c.builder.startswith("mimic.diagnosis") and c.labels:
            out[spec.name] = [s for strings in c.labels.values() for s in strings]
    return out


@dataclass
class Fixture:
    """What was written, and the truth it was written from."""

    root: Path
    notes: dict[str, dict[str, str | None]] = field(default_factory=dict)  # note_id -> expected sections (DS only)
    note_hadm: dict[str, int] = field(default_factory=dict)  # note_id -> hadm_id (DS only)
    gaps: dict[int, int | None] = field(default_factory=dict)  # hadm_id -> seconds to next admission (None: none)
    no_dischtime: set[int] = field(default_factory=set)  # admissions written without a dischtime
    stays: dict[int, tuple[int, datetime, datetime]] = field(default_factory=dict)  # hadm_id -> subject, admit, disch
    noted: set[int] = field(default_factory=set)  # admissions with a discharge note
    diagnoses: list[str] = field(default_factory=list)  # the label strings used
    n_notes: int = 0  # DS notes written
    n_addenda: int = 0

    @property
    def discharge(self) -> Path:
        return self.root / "note" / "discharge.csv.gz"

    @property
    def admissions(self) -> Path:
        return self.root / "hosp" / "admissions.csv.gz"

    def readmitted(self, hadm_id: int, days: int) -> int | None:
        """The paper's label: 1 if the patient's next admission *with a discharge note* starts at most ``days``
        whole days (the gap rounded down, as ``timedelta.days``) after this discharge."""
        if hadm_id in self.no_dischtime:
            return None
        subject, this_admit, disch = self.stays[hadm_id]
        later = sorted(admit for h, (s, admit, _) in self.stays.items() if s == subject and h in self.noted and admit > this_admit)
        return int(bool(later) and (later[0] - disch).days <= days)


def write_csv_gz(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], compresslevel: int = 6) -> None:
    """A gzip CSV with a header row, double-quoted where needed (as PhysioNet ships them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", newline="", encoding="utf-8", compresslevel=compresslevel) as f:
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _case(rng: random.Random, s: str) -> str:
    r = rng.random()
    if r < 0.4:
        return s
    if r < 0.6:
        return s.upper()
    if r < 0.8:
        return s.title()
    return s.capitalize()


def _spacing(rng: random.Random, s: str) -> str:
    if rng.random() < 0.15:
        s = s.replace(" ", "  ", 1)
    if rng.random() < 0.15:
        s = " " + s + " \n"
    return s


class _NoteMaker:
    def __init__(self, rng: random.Random, diagnoses: list[str], filler: int):
        self.rng = rng
        self.diagnoses = diagnoses
        self.filler = filler
        self.pool = [" ".join(rng.choices(VOCAB, k=rng.randint(40, 80))).capitalize() + "." for _ in range(300)]

    def para(self, n: int) -> str:
        return "\n".join(self.rng.choice(self.pool) for _ in range(n))

    def section(self, headers: list[str], body: str) -> str:
        head = self.rng.choice(headers)
        if self.rng.random() < 0.3:
            return f"{head} {body}\n \n"
        return f"{head}\n{body}\n \n"

    def note(self, copy: tuple[str, str] | None = None) -> tuple[str, dict[str, str | None], tuple[str, str]]:
        """A note, its truth, and its raw (cc, hpi); ``copy`` reuses an earlier note's (copy-forward)."""
        rng = self.rng
        r = rng.random()
        if r < 0.75:
            diag = rng.choice(self.diagnoses)
            dd_raw = _spacing(rng, _case(rng, diag))
        elif r < 0.85:
            diag = rng.choice(self.diagnoses)
            dd_raw = f"Primary: {diag}\nSecondary: {rng.choice(PMH)}"
        else:
            diag = rng.choice(OTHER_DIAGNOSES)
            dd_raw = _case(rng, diag)
        cc = rng.choice(COMPLAINTS.get(diag, GENERIC_COMPLAINTS))
        sex = rng.choice(["F", "M"])
        title = "Ms." if sex == "F" else "Mr."
        hpi = (
            f"{title} ___ is a {rng.randint(19, 95)} y/o {'woman' if sex == 'F' else 'man'} with a history of "
            f"{', '.join(rng.sample(PMH, 2))} who presents with {cc.lower()} for {rng.randint(1, 14)} days.\n"
            f"She reports \"it started after dinner\", denies fevers, chills.\n{self.para(self.filler)}"
        ).replace("She", "She" if sex == "F" else "He")
        if copy is not None:
            cc, hpi = copy
        di = (
            f"Dear {title} ___,\n\nIt was a pleasure taking care of you at ___. You were admitted for {diag}.\n"
            f"{self.para(self.filler)}\n\nWe wish you the best,\nYour ___ Care Team"
        )
        present = {k: rng.random() >= 0.04 for k in ("cc", "hpi", "dd", "di")}
        truth: dict[str, str | None] = {
            "cc": " ".join(cc.split()) if present["cc"] else None,
            "hpi": " ".join(hpi.split()) if present["hpi"] else None,
            "dd": " ".join(dd_raw.split()) if present["dd"] else None,
            "di": " ".join(di.split()) if present["di"] else None,
        }
        parts = [
            " \nName:  ___                     Unit No:   ___\n \n",
            "Admission Date:  ___              Discharge Date:   ___\n \n",
            f"Date of Birth:  ___             Sex:   {sex}\n \n",
            f"Service: {rng.choice(['MEDICINE', 'SURGERY', 'NEUROLOGY', 'ORTHOPAEDICS'])}\n \n",
            "Allergies: \nNo Known Allergies / Adverse Drug Reactions\n \n",
            "Attending: ___.\n \n",
        ]
        if present["cc"]:
            if rng.random() < 0.02:  # an empty first header: the parser must take the next, non-empty one
                parts.append("Chief Complaint:\n \n")
            parts.append(self.section(CC_HEADERS, cc))
        parts.append("Major Surgical or Invasive Procedure:\nNone\n \n")
        if present["hpi"]:
            parts.append(self.section(HPI_HEADERS, hpi))
        parts += [
            f"Past Medical History:\n{chr(10).join('- ' + p for p in rng.sample(PMH, 3))}\n \n",
            "Social History:\n___\nFamily History:\nNon-contributory.\n \n",
            f"Physical Exam:\nADMISSION PHYSICAL EXAM:\nVS: 98.1 120/80 72 18 98% RA\n{self.para(1)}\n"
            f"DISCHARGE PHYSICAL EXAM:\n{self.para(1)}\n \n",
            f"Pertinent Results:\n___ 07:20AM BLOOD WBC-7.2 RBC-4.1 Hgb-12.3 Hct-37.0\n{self.para(self.filler)}\n \n",
            f"Brief Hospital Course:\n{self.para(self.filler * 2)}\n \n",
            "Medications on Admission:\n1. Lisinopril 10 mg PO DAILY\n2. Metformin 500 mg PO BID\n \n",
            "Discharge Medications:\n1. Lisinopril 10 mg PO DAILY\n \n",
            f"Discharge Disposition:\n{rng.choice(['Home', 'Home With Service', 'Extended Care'])}\n \n",
        ]
        if present["dd"]:
            parts.append(self.section(DD_HEADERS, dd_raw))
        parts.append("Discharge Condition:\nMental Status: Clear and coherent.\nLevel of Consciousness: Alert and interactive.\n"
                     "Activity Status: Ambulatory - Independent.\n \n")
        if present["di"]:
            parts.append(self.section(DI_HEADERS, di))
        parts.append("Followup Instructions:\n___\n")
        return "".join(parts), truth, (cc, hpi)


# gaps (seconds) between one discharge and the next admission, half the time one of these boundary cases
BOUNDARY_GAPS = [3 * 86400, 3 * 86400 - 1, 3 * 86400 + 1, 30 * 86400, 30 * 86400 - 1, 30 * 86400 + 1, -7200, 3600, 0]


def generate(
    root: str | Path,
    n_notes: int = 3000,
    seed: int = 0,
    *,
    filler: int = 1,
    compresslevel: int = 6,
    keep_truth: bool = True,
    diagnoses: list[str] | None = None,
) -> Fixture:
    """Write a fake MIMIC folder with ``n_notes`` discharge summaries under ``root``; return the truth."""
    rng = random.Random(seed)
    root = Path(root)
    if diagnoses is None:
        diagnoses = sorted({s for strings in label_strings().values() for s in strings})
    fx = Fixture(root=root, diagnoses=list(diagnoses))
    maker = _NoteMaker(rng, fx.diagnoses, filler)
    n_patients_max = n_notes + 10
    subject_ids = rng.sample(range(10_000_000, 19_999_999), n_patients_max)
    hadm_ids = iter(rng.sample(range(20_000_000, 29_999_999), n_notes * 2 + 20))
    admissions: list[list[Any]] = []
    fx.root.joinpath("note").mkdir(parents=True, exist_ok=True)
    with gzip.open(fx.discharge, "wt", newline="", encoding="utf-8", compresslevel=compresslevel) as f:
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(DISCHARGE_HEADER)
        p = 0
        while fx.n_notes < n_notes:
            subject = subject_ids[p]
            p += 1
            n_adm = rng.choices([1, 2, 3, 4, 5], weights=[40, 25, 15, 10, 10])[0]
            t = datetime(2110, 1, 1) + timedelta(seconds=rng.randint(0, 80 * 365 * 86400))
            seq = 0
            patient_adm = []
            previous: tuple[str, str] | None = None
            for a in range(n_adm):
                hadm = next(hadm_ids)
                admit = t
                disch = admit + timedelta(seconds=rng.randint(86400, 15 * 86400))
                last = a == n_adm - 1
                gap = None if last else (rng.choice(BOUNDARY_GAPS) if rng.random() < 0.5 else rng.randint(0, 400 * 86400))
                t = disch + timedelta(seconds=gap or 0)
                no_disch = rng.random() < 0.02
                if no_disch:
                    fx.no_dischtime.add(hadm)
                if keep_truth:
                    fx.gaps[hadm] = gap
                    fx.stays[hadm] = (subject, admit, disch)
                patient_adm.append([
                    subject, hadm, admit.strftime(TS), "" if no_disch else disch.strftime(TS), "", "EW EMER.", "P00001",
                    "EMERGENCY ROOM", "HOME", "Other", "ENGLISH", "MARRIED", "WHITE", "", "", "0",
                ])
                if rng.random() < 0.05 or fx.n_notes >= n_notes:  # an admission without a discharge note
                    continue
                # copy-forward: now and then a note repeats the patient's previous CC and HPI word for word
                text, truth, previous = maker.note(previous if previous is not None and rng.random() < 0.1 else None)
                seq += 1
                note_id = f"{subject}-DS-{seq}"
                chart = disch.strftime(TS)
                w.writerow([note_id, subject, hadm, "DS", seq, chart, chart, text])
                fx.n_notes += 1
                if keep_truth:
                    fx.notes[note_id] = truth
                    fx.note_hadm[note_id] = hadm
                    fx.noted.add(hadm)
                if rng.random() < 0.03:  # an addendum: same admission, note_type AD, skipped by the parser
                    fx.n_addenda += 1
                    w.writerow([f"{subject}-AD-{seq}", subject, hadm, "AD", seq, chart, chart,
                                "Addendum:\nChief Complaint: addendum text that must not be used\n"])
            rng.shuffle(patient_adm)  # the builder must sort by admittime itself
            admissions += patient_adm
    write_csv_gz(fx.admissions, ADMISSIONS_HEADER, admissions, compresslevel=compresslevel)
    return fx


def main() -> None:
    ap = argparse.ArgumentParser(description="Write a fake MIMIC-IV-Note folder (note/, hosp/).")
    ap.add_argument("out", type=Path)
    ap.add_argument("--notes", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--filler", type=int, default=1, help="paragraphs per long section (4 gives ~9 kB notes, like MIMIC)")
    args = ap.parse_args()
    fx = generate(args.out, args.notes, args.seed, filler=args.filler, compresslevel=1, keep_truth=False)
    print(f"wrote {fx.n_notes} notes to {fx.discharge} ({fx.discharge.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()


def count_parse_calls(mp: Any) -> dict[str, int]:
    """Count the notes medeval parses: wraps :func:`medeval.sources.mimic_sections.parse_sections` for the life of
    ``mp`` (a ``pytest.MonkeyPatch``) and returns the live counter ``{"n": calls so far}``."""
    from medeval.sources import mimic_sections

    calls = {"n": 0}
    real = mimic_sections.parse_sections

    def counting(text: str) -> dict[str, str]:
        calls["n"] += 1
        return real(text)

    mp.setattr(mimic_sections, "parse_sections", counting)
    return calls
