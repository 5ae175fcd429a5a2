"""DataStore: the data folder, a task's data folder, built or not, and its revision - one object for all four."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from medeval import data as datamod
from medeval import paths
from medeval.errors import DataNotBuiltError
from medeval.store import DataStore

TABLES = {"default/train": [{"text": "a", "label": "x"}], "default/test": [{"text": "b", "label": "y"}]}


def _task(name: str = "DemoTask", *, data: str | None = None, pinned: str | None = None,
          spec_path: Path | None = None) -> SimpleNamespace:
    """A stand-in for a medeval task class: only what the store reads (spec.name/data/dataset, spec_path)."""
    spec = SimpleNamespace(name=name, data=data, dataset=SimpleNamespace(revision=pinned))
    return SimpleNamespace(spec=spec, spec_path=spec_path)


def test_default_root_follows_set_data_dir(data_home: Path, tmp_path: Path) -> None:
    store = DataStore()  # made before --data-dir is applied
    assert store.root == data_home.resolve()
    paths.set_data_dir(tmp_path / "elsewhere")
    assert store.root == (tmp_path / "elsewhere").resolve()
    assert store.task_dir("T") == (tmp_path / "elsewhere" / "tasks" / "T").resolve()
    assert paths.task_data_dir("T") == store.task_dir("T")


def test_built_revision_is_the_manifest_revision(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    task = _task()
    assert not store.is_built(task) and store.built_revision(task) is None and store.manifest("DemoTask") is None
    revision = datamod.write_task_data(store.task_dir(task), TABLES, manifest={"builder": "demo"})
    assert revision == datamod.content_hash(TABLES)
    assert store.is_built("DemoTask") and store.built_revision(task) == revision
    assert store.expected_revision(task) == (revision, "built here")


def test_pinned_hash_wins_and_missing_data_says_why(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    assert store.expected_revision(_task(pinned="0123456789abcdef")) == ("0123456789abcdef", "pinned in the task YAML")
    assert store.expected_revision(_task(pinned="main")) == (None, "task not built here")  # not a content hash


def test_corrupt_manifest(tmp_path: Path) -> None:
    store = DataStore(tmp_path)
    folder = store.task_dir("DemoTask")
    folder.mkdir(parents=True)
    (folder / datamod.MANIFEST).write_text("{not json", encoding="utf-8")
    assert store.expected_revision(_task()) == (None, "the local build's manifest is corrupt")
    with pytest.raises(DataNotBuiltError, match="corrupt manifest.*medeval build -t DemoTask"):
        store.built_revision(_task())


def test_user_task_data_folder_is_relative_to_its_yaml(tmp_path: Path) -> None:
    store = DataStore(tmp_path / "home")
    task = _task(data="data", spec_path=tmp_path / "tasks" / "DemoTask.yaml")
    assert store.task_dir(task) == (tmp_path / "tasks" / "data").resolve()
    assert not store.is_built(task)
    (tmp_path / "tasks" / "data").mkdir(parents=True)
    assert store.is_built(task) and store.built_revision(task) is None  # no manifest: loading hashes the tables


@pytest.mark.parametrize("bad", ["../outside", "/etc", ""])
def test_subdir_stays_inside(tmp_path: Path, bad: str) -> None:
    store = DataStore(tmp_path)
    assert store.subdir("sources", "mediawiki") == tmp_path.resolve() / "sources" / "mediawiki"
    with pytest.raises(ValueError, match="must be a relative name inside"):
        store.subdir("sources", bad)
