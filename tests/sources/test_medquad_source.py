"""The MedQuAD XML collection (medeval.sources.medquad), from ../shared/datakit and hand-made folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from medeval.errors import SourceError, SpecError
from medeval.sources.medquad import parse_collections, read_collection



def test_medquad_collection(datakit: Path):
    pairs = read_collection(datakit / "medquad", collections=[7, 9])
    assert len(pairs) == 769 + 270
    # CDC has one <DiseaseFile> document, read like the others
    assert any(p.file == "9_CDC_QA/0000397.xml" and p.focus == "Parasites - Taeniasis" for p in pairs)
    assert len({p.id for p in pairs}) == len(pairs)
    first = pairs[0]
    assert first.id == "7_SeniorHealth_QA/0000001.xml#0000001-1" and first.file == "7_SeniorHealth_QA/0000001.xml"
    assert first.question == "What is (are) Age-related Macular Degeneration ?" and first.qtype == "information"
    assert first.answer.startswith("Age-related macular degeneration, also known as AMD")
    assert "&apos;" not in " ".join(p.answer for p in pairs)  # XML entities decoded
    # collections 10-12 have their answers removed upstream
    adam = read_collection(datakit / "medquad", collections=[12])
    assert adam and not any(p.answer for p in adam)
    # NINDS has lower-case <doc>/<pair>/<question> files; CancerGov repeats qids across files: ids stay unique
    ninds = read_collection(datakit / "medquad", collections=[1, 6])
    assert len({p.id for p in ninds}) == len(ninds)
    assert any(p.file == "6_NINDS_QA/0000007.xml" and p.question == "what is holmes-adie syndrome ?" and p.answer for p in ninds)


def test_medquad_collections_param_and_errors(tmp_path: Path):
    assert parse_collections("all with answers (sets 1-9)") == tuple(range(1, 10))
    assert parse_collections([2, "7_SeniorHealth_QA"]) == (2, 7)
    with pytest.raises(SpecError, match="collections"):
        parse_collections("everything")
    with pytest.raises(SourceError, match="no MedQuAD collection folders"):
        read_collection(tmp_path)
    (tmp_path / "9_CDC_QA").mkdir()
    (tmp_path / "9_CDC_QA" / "0000001.xml").write_text("<Document><QAPairs>")
    with pytest.raises(SourceError, match=r"0000001\.xml: not valid XML"):
        read_collection(tmp_path)
