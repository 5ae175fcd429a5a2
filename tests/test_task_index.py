"""The task index answers as the catalogue does, from the YAML specs alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from medeval import catalog
from medeval.errors import TaskNotFoundError
from medeval.task_index import TaskEntry, filter_tasks, find_task, packaged_tasks


def test_entries_equal_the_catalogue_classes(data_home: Path) -> None:
    """Same tasks, same order, same specs, files and data folders: listing from the index changes nothing."""
    (data_home / "tasks" / "HPOLaypersonRetrieval").mkdir(parents=True)
    (data_home / "tasks" / "HPOLaypersonRetrieval" / "manifest.json").write_text('{"revision": "0123456789abcdef"}')
    entries = packaged_tasks()
    classes = {name: cls for name, cls in catalog.task_classes().items() if name in entries}
    assert list(entries) == list(classes)
    for name, entry in entries.items():
        cls = classes[name]
        assert entry.spec == cls.spec and entry.spec_path == cls.spec_path, name
        assert entry.data_folder() == cls.data_folder() and entry.is_built() == cls.is_built(), name
    assert entries["HPOLaypersonRetrieval"].is_built() and not entries["WikiSyndromesClassification"].is_built()


def test_lookups_and_filters_match_the_catalogue() -> None:
    entries = packaged_tasks()
    assert find_task("retrieval_medquad_dataset", entries).spec.name == catalog.get_task_class("retrieval_medquad_dataset").spec.name
    for bench, types in (("MedEval(v1)", None), ("terms", ["Clustering"]), (None, ["Retrieval", "PairClassification"])):
        from_index = [e.spec.name for e in filter_tasks(entries.values(), bench, types)]
        from_catalogue = [t.metadata.name for t in catalog.get_tasks(benchmark=bench, types=types)]
        assert from_index == [n for n in from_catalogue if n in entries], (bench, types)  # user tasks other tests added
        assert from_index, (bench, types)


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda e: find_task("WikiSyndromeClassification", e), "did you mean WikiSyndromesClassification"),
        (lambda e: filter_tasks(e.values(), "MedEval(v2)"), "unknown benchmark 'MedEval(v2)'"),
        (lambda e: filter_tasks(e.values(), types=["Ranking"]), "unknown task type(s) Ranking"),
    ],
)
def test_errors_name_what_is_unknown(call: object, needle: str) -> None:
    with pytest.raises(TaskNotFoundError) as info:
        call(packaged_tasks())  # type: ignore[operator]
    assert needle in str(info.value)


def test_an_entry_is_a_task_reference_for_the_store(tmp_path: Path) -> None:
    """A user task's own ``data:`` folder resolves relative to its YAML, as for a task class."""
    from medeval.spec import parse_spec

    spec = parse_spec({"name": "MyNotesClassification", "type": "Classification", "data": "notes"}, "<test>")
    entry = TaskEntry(spec, tmp_path / "MyNotesClassification.yaml")
    assert entry.data_folder() == (tmp_path / "notes").resolve() and not entry.is_built()
    (tmp_path / "notes").mkdir()
    assert entry.is_built()
