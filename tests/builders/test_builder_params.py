"""Typed builder parameters: each builder declares the ``construction.params`` it reads, and anything else is an error."""

from __future__ import annotations

import pytest

import medeval
from medeval.build import builder_params, get_builder
from medeval.errors import SpecError
from medeval.paths import packaged_specs_dir


def _with_params(name: str, **params: object):
    spec = medeval.get_spec(name)
    c = spec.construction
    return spec.model_copy(update={"construction": c.model_copy(update={"params": {**c.params, **params}})})


def test_every_packaged_yaml_uses_only_params_its_builder_reads() -> None:
    specs = [t.spec for t in medeval.get_tasks() if t.spec.construction is not None]
    assert len(specs) == len(list(packaged_specs_dir().glob("*.yaml")))  # every packaged task has a builder
    for spec in specs:
        get_builder(spec)  # validates construction.params against the builder's model
        model = builder_params(spec)
        assert set(model.model_dump(by_alias=True)) >= set(spec.construction.params), spec.name


def test_a_key_no_builder_reads_is_an_error_naming_what_it_reads() -> None:
    spec = _with_params("WikiSyndromesClustering", text_source="lead")
    with pytest.raises(SpecError) as err:
        get_builder(spec)
    msg = str(err.value)
    assert msg.startswith("task WikiSyndromesClustering: field 'construction.params.text_source': builder wikipedia.category_clustering does not read it")
    assert "depth, max_pages_per_category, text, min_section_chars" in msg and "\n" not in msg


def test_wrong_types_and_values_are_errors() -> None:
    with pytest.raises(SpecError, match=r"field 'construction.params.window_days': Input should be a valid integer"):
        get_builder(_with_params("MimicReadmission3DayClassification", window_days="3"))
    with pytest.raises(SpecError, match=r"field 'construction.params.text': Input should be 'sections'"):
        get_builder(_with_params("WikiSyndromesClassification", text="lead section, plain text"))
    with pytest.raises(SpecError, match=r"construction.params.min_codes_per_chapter"):
        get_builder(_with_params("ICD10CMChapterClassification", min_codes_per_chapter=0))


def test_defaults_are_filled_and_aliases_work() -> None:
    model = builder_params(medeval.get_spec("MedrxivQuestionRetrieval"))
    assert model.server == "medrxiv" and model.from_ == "2018-01-01"
    assert builder_params(medeval.get_spec("MimicChiefComplaintDiagnosisRetrieval")).dedup_corpus is True
