"""Users' own tasks: a YAML of the same schema outside the package, data in a local jsonl/parquet folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import medeval
from medeval import catalog
from medeval.errors import DataNotBuiltError, SourceError, SpecError


def test_yaml_path_in_place_of_a_name(examples_dir: Path) -> None:
    task = medeval.get_task(str(examples_dir / "ClinicTriage.yaml"))
    assert task.metadata.name == "ClinicTriage" and task.metadata.type == "Classification"
    task.load_data()
    ds = task.dataset["default"]
    assert set(ds) == {"train", "test"} and set(ds["test"].column_names) == {"text", "label"}
    assert len(task.metadata.revision) == 16  # content hash of the local data


def test_include_path_registers_every_yaml(examples_dir: Path) -> None:
    names = catalog.add_include_path(examples_dir)
    assert set(names) == {"ClinicTriage", "SymptomSearch"}
    import mteb

    task = mteb.get_task("SymptomSearch")
    task.load_data()
    split = task.dataset["default"]["test"]
    assert len(split["corpus"]) == 8 and len(split["relevant_docs"]) == 8


def _copy_example(examples_dir: Path, tmp_path: Path, name: str) -> Path:
    dest = tmp_path / "my_tasks"
    shutil.copytree(examples_dir, dest, dirs_exist_ok=True)
    return dest / f"{name}.yaml"


def test_same_name_as_a_packaged_task_is_refused(examples_dir: Path, tmp_path: Path) -> None:
    path = _copy_example(examples_dir, tmp_path, "ClinicTriage")
    data = yaml.safe_load(path.read_text())
    data["name"] = "WikiSyndromesClassification"
    clash = path.with_name("WikiSyndromesClassification.yaml")
    clash.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="already exists"):
        catalog.add_task_file(clash)


def test_missing_data_folder(examples_dir: Path, tmp_path: Path) -> None:
    path = _copy_example(examples_dir, tmp_path, "ClinicTriage")
    data = yaml.safe_load(path.read_text())
    data["data"] = "nowhere"
    path.write_text(yaml.safe_dump(data))
    task = medeval.get_task(str(path))
    with pytest.raises(DataNotBuiltError, match=r"field 'data': folder .*nowhere does not exist"):
        task.load_data()


def test_bad_jsonl_line_names_file_and_line(examples_dir: Path, tmp_path: Path) -> None:
    path = _copy_example(examples_dir, tmp_path, "ClinicTriage")
    test_file = path.parent / "data" / "ClinicTriage" / "data" / "test.jsonl"
    with test_file.open("a") as f:
        f.write('{"text": "truncated\n')
    task = medeval.get_task(str(path))
    with pytest.raises(SourceError) as err:
        task.load_data()
    assert str(test_file) in str(err.value) and "invalid JSON" in str(err.value)


def test_missing_column_names_the_table(examples_dir: Path, tmp_path: Path) -> None:
    path = _copy_example(examples_dir, tmp_path, "SymptomSearch")
    corpus = path.parent / "data" / "SymptomSearch" / "corpus" / "test.jsonl"
    rows = [json.loads(l) for l in corpus.read_text().splitlines()]
    corpus.write_text("".join(json.dumps({"id": r["id"], "body": r["text"]}) + "\n" for r in rows))
    task = medeval.get_task(str(path))
    with pytest.raises(SourceError, match=r"corpus/test.jsonl: field 'text': column is missing \(the rows have body, id\)"):
        task.load_data()


def test_binary_string_labels_score_with_mteb(examples_dir: Path, tmp_path: Path, minilm_path: str) -> None:
    """String labels become ints (sorted order) so mteb's binary metrics work; scores come out."""
    import mteb
    from sentence_transformers import SentenceTransformer

    path = _copy_example(examples_dir, tmp_path, "ClinicTriage")
    folder = path.parent / "data" / "ClinicTriage" / "data"
    for split in ("train", "test"):
        f = folder / f"{split}.jsonl"
        rows = [json.loads(l) for l in f.read_text().splitlines() if json.loads(l)["label"] != "gastro"]
        f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = medeval.get_task(str(path))
    task.load_data()
    assert task.label_names == ["cardiac", "respiratory"]
    assert set(task.dataset["default"]["test"]["label"]) == {0, 1}
    res = mteb.evaluate(SentenceTransformer(minilm_path), task, cache=None, show_progress_bar=False)
    scores = res.task_results[0].scores["test"][0]
    assert 0 < scores["f1"] <= 1 and scores["ap"] is not None
