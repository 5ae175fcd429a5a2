"""Every packaged task whose builder declares no needs builds on first use, offline, to the revision its YAML pins.

MedEval-Terms tasks are built and checked in detail by tests/builders/test_terms_builders.py; this module covers every other
offline task, so a new offline source (docs/adding-a-source.md) is tested without a test file of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import medeval
from medeval.build import can_build_without_inputs
from medeval.paths import packaged_specs_dir
from medeval.store import DataStore

#: tasks tests/builders/test_terms_builders.py builds already (it selects them by this builder prefix)
_COVERED = "terms."


def _offline_tasks() -> list[str]:
    names = []
    for path in sorted(packaged_specs_dir().glob("*.yaml")):
        spec = medeval.get_spec(path.stem)
        if spec.construction is not None and can_build_without_inputs(spec) and not spec.construction.builder.startswith(_COVERED):
            names.append(spec.name)
    return names


OFFLINE = _offline_tasks()


def test_offline_tasks_are_found() -> None:
    terms = [t.metadata.name for t in medeval.get_tasks(benchmark="MedEval-Terms(v1)")]
    assert all(can_build_without_inputs(medeval.get_spec(n)) for n in terms)
    assert not set(OFFLINE) & set(terms)


@pytest.mark.skipif(not OFFLINE, reason="every offline task is a MedEval-Terms task (tested in tests/builders/test_terms_builders.py)")
@pytest.mark.parametrize("name", OFFLINE or ["-"])
def test_builds_on_first_use_with_the_pinned_revision(name: str, data_home: Path) -> None:
    spec = medeval.get_spec(name)
    assert spec.dataset.revision, f"tasks/{name}.yaml: field 'dataset.revision': pin the content hash of the built data"
    task = medeval.get_task(name)
    task.load_data()  # builds into the private data folder (first use), then reads and checks the tables
    assert DataStore().built_revision(name) == spec.dataset.revision == task.metadata.revision
