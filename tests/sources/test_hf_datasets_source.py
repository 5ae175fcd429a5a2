"""MedMCQA / MedQA files (medeval.sources.hf_datasets): HF, original and converted layouts, split names, the Hub
snapshot offline. Real records come from ../shared/datakit; a few hand-made rows (marked SYNTHETIC) cover layouts
the datakit lacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medeval.errors import SourceError
from medeval.sources.hf_datasets import hub_snapshot, read_medmcqa, read_medqa, split_of



def test_medmcqa_converted_layout(datakit: Path):
    qs = read_medmcqa(datakit / "medmcqa")
    assert len(qs) == 2816 and len({q.id for q in qs}) == 2816
    first = qs[0]
    assert first.id == "b64a9cd7-d076-4c55-8be1-f9c44fece6cc" and first.split == "validation"
    assert first.answer == 2 and first.options[2].startswith("Amniotic fluid samples")
    assert first.layout == "converted" and first.explanation is None


def _synthetic_medmcqa_rows(base: int) -> list[dict]:
    # SYNTHETIC rows in the original MedMCQA layout (the datakit has none); ``base`` = numbering of 'cop'.
    return [
        {"id": f"syn-{i}", "question": f"Synthetic question {i}?", "opa": f"a{i}", "opb": f"b{i}", "opc": f"c{i}",
         "opd": f"d{i}", "cop": (i % 4) + base, "choice_type": "single", "exp": f"Synthetic explanation {i}.",
         "subject_name": "Anatomy", "topic_name": None}
        for i in range(8)
    ]


def test_medmcqa_original_layouts_and_cop_numbering(tmp_path: Path):
    root = tmp_path / "medmcqa"
    (root / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(_synthetic_medmcqa_rows(0)), root / "data" / "validation-00000-of-00001.parquet")
    qs = read_medmcqa(root)
    assert [q.answer for q in qs[:4]] == [0, 1, 2, 3] and qs[0].explanation == "Synthetic explanation 0."
    assert qs[0].split == "validation" and qs[0].layout == "original"
    # the original release numbers cop 1-4 (detected from the 4), JSON lines
    shutil.rmtree(root)
    root.mkdir()
    rows = [{**r, "id": f"rel-{r['id']}"} for r in _synthetic_medmcqa_rows(1)]
    (root / "train.json").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert [q.answer for q in read_medmcqa(root)[:4]] == [0, 1, 2, 3]
    # only 1-3 present: ambiguous, unless params.cop_base says
    (root / "train.json").write_text("\n".join(json.dumps(r) for r in rows[:3]) + "\n")
    with pytest.raises(SourceError, match=r"train\.json: field 'cop'.*cop_base"):
        read_medmcqa(root)
    assert [q.answer for q in read_medmcqa(root, cop_base=1)] == [0, 1, 2]


def test_medmcqa_errors_name_the_file(tmp_path: Path):
    root = tmp_path / "medmcqa"
    root.mkdir()
    (root / "dev.jsonl").write_text('{"question": "q", "opa": "a"}\nnot json\n')
    with pytest.raises(SourceError, match=r"dev\.jsonl:2: invalid JSON"):
        read_medmcqa(root)
    with pytest.raises(SourceError, match="no such folder"):
        read_medmcqa(tmp_path / "nothing")


def test_medqa_reads_4_option_file_and_skips_5_option_release(datakit: Path):
    qs = read_medqa(datakit / "medqa_usmle")
    assert len(qs) == 1273  # the 5-option file holds the same questions and is skipped
    assert qs[0].id == "test-00000" and qs[-1].id == "test-01272"
    assert qs[0].options[qs[0].answer] == "Tell the attending that he cannot fail to disclose this mistake"
    assert all(len(q.options) == 4 and q.answer is not None for q in qs)


def test_medqa_two_files_for_one_split_is_an_error(datakit: Path, tmp_path: Path):
    root = tmp_path / "medqa_usmle"
    root.mkdir()
    src = datakit / "medqa_usmle" / "US_4_options_phrases_no_exclude_test.jsonl"
    shutil.copy(src, root / "a_test.jsonl")
    shutil.copy(src, root / "b_test.jsonl")
    with pytest.raises(SourceError, match="several files hold the MedQA test split"):
        read_medqa(root)


def test_split_names():
    assert split_of(Path("data/validation-00000-of-00001.parquet")) == "validation"
    assert split_of(Path("medagentsbench_medmcqa_dev_single_choice.jsonl")) == "validation"
    assert split_of(Path("US_4_options_phrases_no_exclude_test.jsonl")) == "test"
    assert split_of(Path("questions.jsonl")) == "unknown"


def test_hub_download_offline_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path))
    with pytest.raises(SourceError, match="--offline and no downloaded copy"):
        hub_snapshot("openlifescienceai/medmcqa", None, offline=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    with pytest.raises(SourceError, match=r"openlifescienceai/medmcqa@main: (offline|cannot download).*--source-dir"):
        hub_snapshot("openlifescienceai/medmcqa", None)


def test_hub_download_reuses_a_complete_pinned_copy(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path))
    sha = "0" * 40
    folder = tmp_path / "sources" / "hf" / "GBaker__MedQA-USMLE-4-options" / sha
    folder.mkdir(parents=True)
    (folder / ".complete").write_text("x")
    assert hub_snapshot("GBaker/MedQA-USMLE-4-options", sha, offline=True) == (folder, sha)
