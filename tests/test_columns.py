"""medeval.columns: datasets Columns read in one batch, and the classification scores that rest on it.

medeval's Classification loader hands mteb's undersampling and metrics the label column as a list (mteb passes the
lazy datasets ``Column``, which numpy and scikit-learn read one row at a time). The scores must be mteb's own:
a generated task is scored with medeval's loader and with mteb's unmodified methods, and every value must be equal.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasets import Dataset

from medeval.columns import ColumnsInMemory, column_values


def test_column_values_reads_a_column_as_its_values() -> None:
    ds = Dataset.from_dict({"label": [3, 1, 2, 1], "text": ["a", "b", "c", "d"]})
    column = ds["label"]
    assert type(column).__name__ == "Column"  # datasets >= 4: lazy
    assert column_values(column) == [3, 1, 2, 1]
    assert column_values(ds.select([3, 0])["text"]) == ["d", "a"]  # through an indices mapping
    plain = [1, 2]
    assert column_values(plain) is plain  # anything else unchanged


def test_columns_in_memory_is_the_dataset_with_lists_for_its_columns() -> None:
    ds = Dataset.from_dict({"label": [0, 1, 0], "text": ["x", "y", "z"]})
    view = ColumnsInMemory(ds, ["label"])
    assert view["label"] == [0, 1, 0] and isinstance(view["label"], list)
    assert list(view["text"]) == ["x", "y", "z"]
    assert len(view) == 3
    picked = view.select([2, 1])
    assert isinstance(picked, Dataset) and picked["text"][:] == ["z", "y"]
    assert view.column_names == ds.column_names


class HashEncoder:
    """An mteb encoder whose vectors come from each text's hash (with a label-dependent shift, so the classifier
    learns something)."""

    def __init__(self) -> None:
        from mteb.models import ModelMeta

        self.mteb_model_meta = ModelMeta.create_empty(overwrites={"name": "test/hash", "revision": "r1"})

    def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
        out = []
        for batch in inputs:
            for text in batch["text"]:
                seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
                vec = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
                vec[int(text.split()[0]) % 8] += 1.5
                out.append(vec)
        return np.stack(out)

    def similarity(self, a: Any, b: Any) -> Any:
        from sentence_transformers.util import cos_sim

        return cos_sim(a, b)

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        from sentence_transformers.util import pairwise_cos_sim

        return pairwise_cos_sim(a, b)


@pytest.fixture
def task_yaml(tmp_path: Path, examples_dir: Path) -> Path:
    """A 4-class task with string labels, 10 experiments of 6 samples per label."""
    import yaml

    spec = yaml.safe_load((examples_dir / "ClinicTriage.yaml").read_text())
    spec.update(name="HashClassTask", data="data")
    spec["evaluation"] = {"main_score": "f1", "samples_per_label": 6, "n_experiments": 10}
    names = ["cardiac", "gastro", "neuro", "respiratory"]
    for split, n in (("train", 160), ("test", 90)):
        rows = [{"text": f"{i % 4} {split} row {i}", "label": names[i % 4]} for i in range(n)]
        path = tmp_path / "data" / "data" / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "HashClassTask.yaml"
    out.write_text(yaml.safe_dump(spec))
    return out


def _scores(task_yaml: Path) -> dict[str, Any]:
    import mteb

    from medeval.catalog import get_task

    result = mteb.evaluate(HashEncoder(), get_task(str(task_yaml)), cache=None, raise_error=True,
                           show_progress_bar=False)
    return result.task_results[0].scores["test"][0]


def test_classification_scores_equal_mteb_own_methods(task_yaml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mteb.abstasks import AbsTaskClassification

    from medeval.loaders import Classification

    seen: list[type] = []
    real = AbsTaskClassification._calculate_scores

    def spy(self: Any, y_test: Any, y_pred: Any) -> Any:
        seen.append(type(y_test))
        return real(self, y_test, y_pred)

    monkeypatch.setattr(AbsTaskClassification, "_calculate_scores", spy)
    ours = _scores(task_yaml)
    assert seen and all(t is list for t in seen)  # the labels reached scikit-learn as a list, not a Column

    monkeypatch.setattr(Classification, "_calculate_scores", AbsTaskClassification._calculate_scores)
    monkeypatch.setattr(Classification, "_undersample_data", AbsTaskClassification._undersample_data)
    seen.clear()
    theirs = _scores(task_yaml)
    assert seen and all(t is not list for t in seen)  # mteb's own path: the lazy Column
    assert len(ours["scores_per_experiment"]) == 10
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    assert 0.25 < ours["accuracy"] <= 1.0


def test_labels_mixing_text_and_numbers_are_refused(task_yaml: Path) -> None:
    """1 and "1" would become one class: the data check names the line, loading refuses with the fix."""
    from medeval.catalog import get_task
    from medeval.checks import check_task
    from medeval.errors import MedEvalError

    path = task_yaml.parent / "data" / "data" / "train.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[3]["label"] = 1
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = get_task(str(task_yaml))
    findings = check_task(task)[0]
    assert any("mixes text labels" in str(f) and "line 4" in str(f) for f in findings), findings
    with pytest.raises(MedEvalError, match="mixes text labels .* write every label the same way"):
        task.load_data()


def test_two_integer_labels_without_1_are_refused(task_yaml: Path) -> None:
    """mteb's average precision takes label 1 as positive: labels 2 and 3 used to fail after encoding."""
    from medeval.catalog import get_task
    from medeval.errors import MedEvalError

    for split in ("train", "test"):
        path = task_yaml.parent / "data" / "data" / f"{split}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({**r, "label": 2 + i % 2}) + "\n" for i, r in enumerate(rows)))
    with pytest.raises(MedEvalError, match=r"two integer labels \(2, 3\).*use 0 and 1"):
        get_task(str(task_yaml)).load_data()
