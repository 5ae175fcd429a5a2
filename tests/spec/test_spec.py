"""The task spec schema: every shipped YAML is valid, and malformed files fail naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medeval.errors import SpecError
from medeval.paths import packaged_specs_dir
from medeval.spec import MAIN_SCORES, load_spec

GOOD = packaged_specs_dir() / "WikiSyndromesClassification.yaml"


def _write(tmp_path: Path, name: str, data: object) -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return p


def _good() -> dict:
    return yaml.safe_load(GOOD.read_text())


def test_every_shipped_yaml_is_valid() -> None:
    files = sorted(packaged_specs_dir().glob("*.yaml"))
    assert len(files) >= 62  # the 51 MedEval(v1) and 11 MedEval-Terms tasks, and any source added since
    for f in files:
        spec = load_spec(f)
        assert spec.name == f.stem
        assert spec.evaluation.main_score in MAIN_SCORES[spec.type]
        assert spec.source.access in ("open", "credentialed", "needs-llm")
        assert spec.construction is not None and spec.construction.seed == 42


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "Broken", "name: Broken\ntype: [Classification\n")
    with pytest.raises(SpecError) as err:
        load_spec(p)
    msg = str(err.value)
    assert str(p) in msg and "line" in msg and "invalid YAML" in msg


def test_wrong_type_lists_allowed_values(tmp_path: Path) -> None:
    data = _good()
    data["type"] = "Clasification"
    p = _write(tmp_path, "WikiSyndromesClassification", data)
    with pytest.raises(SpecError) as err:
        load_spec(p)
    msg = str(err.value)
    assert str(p) in msg and "field 'type'" in msg and "'Classification'" in msg and "'Retrieval'" in msg


def test_main_score_not_of_type(tmp_path: Path) -> None:
    data = _good()
    data["evaluation"]["main_score"] = "ndcg_at_10"
    p = _write(tmp_path, "WikiSyndromesClassification", data)
    with pytest.raises(SpecError, match=r"allowed: f1, accuracy") as err:
        load_spec(p)
    # a cross-field check names its field itself: no "field '<top level>'" and no pydantic "Value error," prefix
    assert str(err.value).startswith(f"{p}: evaluation.main_score 'ndcg_at_10' is not a Classification score")


def test_missing_and_unknown_fields(tmp_path: Path) -> None:
    data = _good()
    del data["type"]
    data["colour"] = "blue"
    p = _write(tmp_path, "WikiSyndromesClassification", data)
    with pytest.raises(SpecError) as err:
        load_spec(p)
    msg = str(err.value)
    assert "field 'type': required field is missing" in msg
    assert "field 'colour': unknown field" in msg


def test_citable_field_missing_from_a_packaged_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medeval import paths

    data = _good()
    del data["source"]["license"]
    p = _write(tmp_path, "WikiSyndromesClassification", data)
    assert load_spec(p).source.license == "not specified"  # a user's own task may leave it out
    monkeypatch.setattr(paths, "packaged_specs_dir", lambda: tmp_path)  # the same file as one of the benchmark's own
    with pytest.raises(SpecError, match=r"field 'source.license': required for the benchmark's own tasks"):
        load_spec(p)


def test_bad_bibtex_and_access_and_split(tmp_path: Path) -> None:
    data = _good()
    data["source"]["bibtex"] = "@misc{key, title={unclosed}"
    data["source"]["access"] = "public"
    data["construction"]["split"] = {"train": 0.8, "test": 0.3}
    p = _write(tmp_path, "WikiSyndromesClassification", data)
    with pytest.raises(SpecError) as err:
        load_spec(p)
    msg = str(err.value)
    assert "field 'source.bibtex'" in msg and "unbalanced braces" in msg
    assert "field 'source.access'" in msg and "'credentialed'" in msg
    assert "field 'construction.split'" in msg and "sum to 1" in msg


def test_name_must_match_file(tmp_path: Path) -> None:
    p = _write(tmp_path, "OtherName", _good())
    with pytest.raises(SpecError, match="must equal the file name 'OtherName'"):
        load_spec(p)


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    p = _write(tmp_path, "Listy", "- a\n- b\n")
    with pytest.raises(SpecError, match="expected a mapping"):
        load_spec(p)


def test_not_utf8(tmp_path: Path) -> None:
    p = tmp_path / "Latin.yaml"
    p.write_bytes("name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(p)


def test_clustering_settings_default_when_left_out(tmp_path: Path) -> None:
    from medeval.spec import ClusteringSettings

    data = yaml.safe_load((packaged_specs_dir() / "WikiSyndromesClustering.yaml").read_text())
    del data["evaluation"]["clustering"]
    p = _write(tmp_path, "WikiSyndromesClustering", data)
    assert load_spec(p).evaluation.clustering == ClusteringSettings()
