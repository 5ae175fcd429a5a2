"""Builders of the 25 MIMIC-IV-Note tasks, from the user's credentialed copy (``medeval build --mimic-dir DIR``).

The notes are parsed once per MIMIC release (:func:`medeval.sources.mimic_sections.section_cache`, a parquet cache under the
data folder); every builder below reads only the columns it needs from that cache and the texts of the rows it
keeps (:mod:`~medeval.builders.mimic.notes`). Builders (the ids the YAMLs name in ``construction.builder``), one
module per kind of task (:mod:`~medeval.builders.mimic.diagnosis`, :mod:`~medeval.builders.mimic.readmission`,
:mod:`~medeval.builders.mimic.sections`); importing this package registers all of them:

* ``mimic.diagnosis_classification`` / ``mimic.diagnosis_clustering``: text from ``params.text_template``
  (``{CC}``, ``{HPI}``, ``{DD}``, ``{DI}`` = the four parsed sections; a note needs every section the template
  names); label = the group whose ``construction.labels`` strings contain the note's Discharge Diagnosis,
  whitespace-normalised and lower-cased, matched exactly. Capped at ``max_rows`` keeping label proportions, then
  (classification) split 70/30 stratified by label. Classification labels are stored as integers, the group's
  position in ``construction.labels`` (the manifest's ``selection.label_ids`` names them; mteb's binary scoring
  needs integer labels); clustering labels are the group names.
* ``mimic.readmission_classification`` (the paper's rule): only admissions that have a discharge note count.
  Label 1 if the same patient's next such admission (``hosp/admissions``, by ``admittime``) starts at most
  ``params.window_days`` *whole days* after this admission's ``dischtime`` (the gap rounded down to days, as
  Python's ``timedelta.days``: 3 days 23 h counts for the 3-day task, 4 days does not; an overlapping next
  admission, a negative gap, counts), else 0 (also when there is no later noted admission). As in the paper, a
  note needs the six sections of ``params.require_sections`` (Chief Complaint, History of Present Illness, Brief
  Hospital Course, Past Medical History, Discharge Instructions, Discharge Condition). Notes whose admission is
  missing from the file or has no ``dischtime`` are left out. Classes are balanced by down-sampling, then capped
  and split.
* ``mimic.section_retrieval``: query = section 1 of a note, relevant document = section 2 of the same note. The
  corpus is the section-2 text of every sampled note, de-duplicated: identical texts are stored once, so every query
  whose document text occurs under several notes has that one document (= all documents with identical text)
  as relevant.
* ``mimic.section_pairs``: positive (section 1, section 2) of one note; negative (section 1 of the note, section 2 of
  another note) drawn (seeded) from the k most similar section-2 texts (all-MiniLM-L6-v2, cosine) among the task's
  notes. With ``hard_negatives.restrict: different_second_section`` (the paper's rule) the candidate's section-2
  text must differ from the positive's once both are lower-cased; ``different_discharge_diagnosis`` also requires
  another discharge diagnosis (and notes with one). In both, the negative pair may not be word for word any note's
  positive pair. ``max_rows / 2`` notes with both sections give ``max_rows`` pairs (1 : 1).

Classification, clustering and readmission keep one note per distinct text (first in file order) and drop texts
that occur under two labels, so no text sits in both splits. Sampling for retrieval and pairs ranks eligible
notes by a seeded hash of their note_id and keeps the first ``max_rows`` (the same notes across tasks as far as
eligibility allows, so embeddings are shared), in file order.

The build manifest (``source``) records the MIMIC release (per file: path under --mimic-dir, size, sha256, version
folder, PhysioNet SHA256SUMS check), counts, and ``records``: every note used, as its note id plus a hash of the
fields used salted with a secret only holders of the file can compute (:func:`medeval.sources.mimic.record_salt`)
-- never text. ``medeval build --from-manifest`` rebuilds from exactly those notes (``BuildContext.record_ids``).
"""

from medeval.builders.mimic import diagnosis, readmission, sections  # noqa: F401  (registers the builders)
