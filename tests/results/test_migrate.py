"""`medeval results migrate`: legacy results get a protocol record only when the files and git history prove it.

Each test makes its own git repository holding one task YAML (a copy of examples/my_tasks/ClinicTriage.yaml,
committed on 2026-01-01) and a result folder written the way mteb writes results (TaskResult.from_task_results)
but without a protocol in run_settings.jsonl, as results written before protocols were recorded are.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from fixtures import model_meta_json, write_json

from medeval.cli import main

TASK = "ClinicTriage"
COMMITTED = "2026-01-01T00:00:00+0000"


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_AUTHOR_DATE": COMMITTED, "GIT_COMMITTER_DATE": COMMITTED}
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, examples_dir: Path, data_home: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(examples_dir / f"{TASK}.yaml", repo)
    shutil.copytree(examples_dir / "data" / TASK, repo / "data" / TASK)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "task")
    return repo


def legacy_result(root: Path, *, main_score: str = "f1", n_experiments: int = 3) -> Path:
    """A revision folder with one ClinicTriage result and a run_settings line without a protocol."""
    from mteb import TaskResult

    from medeval.catalog import task_classes

    cls = task_classes()[TASK]
    entry = {"f1": 0.5, "accuracy": 0.625, "scores_per_experiment": [{"f1": 0.5}] * n_experiments}
    entry["main_score"] = entry[main_score]
    res = TaskResult.from_task_results(cls, {"test": {"default": entry}}, evaluation_time=1.0)
    res.dataset_revision = "0123456789abcdef"
    folder = root / "results" / "my-org__med-embed" / "1a2b3c4d"
    write_json(folder / "model_meta.json", model_meta_json())
    data = json.loads(json.dumps(res.model_dump(), default=str))
    data["date"] = time.time()  # as medeval and mteb write it: a timestamp, here after the YAML's commit
    write_json(folder / f"{TASK}.json", data)
    (folder / "run_settings.jsonl").write_text(json.dumps({"task": TASK, "encode_kwargs": {"batch_size": 32}}) + "\n")
    return folder


def migrate(capsys: pytest.CaptureFixture[str], repo: Path, *paths: Path) -> tuple[int, str]:
    code = main(["results", "migrate", *map(str, paths), "--include-path", str(repo)])
    return code, capsys.readouterr().out


def protocol_problems(capsys: pytest.CaptureFixture[str], repo: Path, folder: Path) -> list[str]:
    main(["validate", str(folder), "--include-path", str(repo)])
    return [line for line in capsys.readouterr().out.splitlines() if ": protocol: " in line]


def test_result_of_the_current_protocol_is_stamped_and_then_validates(repo: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from medeval.catalog import get_spec
    from medeval.identity import protocol_fingerprint

    main(["tasks", "--include-path", str(repo)])  # registers the task
    capsys.readouterr()
    folder = legacy_result(tmp_path / "lb")
    assert protocol_problems(capsys, repo, folder)  # unrecorded: rejected

    code, out = migrate(capsys, repo, tmp_path / "lb")
    assert code == 0 and "stamped 1," in out, out
    line = json.loads((folder / "run_settings.jsonl").read_text())
    assert line["protocol"] == protocol_fingerprint(get_spec(TASK)) and line["encode_kwargs"] == {"batch_size": 32}
    assert "protocol_evidence" in line
    assert protocol_problems(capsys, repo, folder) == []
    assert "already recorded 1" in migrate(capsys, repo, folder)[1]


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"main_score": "accuracy"}, "is not the task's main score f1"),
    ({"n_experiments": 5}, "5 classification experiments stored, the task runs 3"),
])
def test_what_the_file_contradicts_is_not_stamped(repo: Path, tmp_path: Path, kwargs: dict, reason: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    main(["tasks", "--include-path", str(repo)])
    capsys.readouterr()
    folder = legacy_result(tmp_path / "lb", **kwargs)
    before = (folder / "run_settings.jsonl").read_bytes()
    code, out = migrate(capsys, repo, folder)
    assert code == 1 and reason in out and "kept" in out
    assert (folder / "run_settings.jsonl").read_bytes() == before


def test_yaml_changed_since_the_result_is_not_stamped(repo: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """samples_per_label is not in the result file: only the YAML's history can show it was the same."""
    spec_path = repo / f"{TASK}.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["evaluation"]["samples_per_label"] = 2
    spec_path.write_text(yaml.safe_dump(spec))  # edited after the result was written (not even committed)
    main(["tasks", "--include-path", str(repo)])
    capsys.readouterr()
    folder = legacy_result(tmp_path / "lb")
    code, out = migrate(capsys, repo, folder)
    assert code == 1 and "the YAML's type/evaluation changed after the result was written" in out
    assert protocol_problems(capsys, repo, folder)


def test_task_outside_git_is_not_stamped(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(repo / ".git")
    main(["tasks", "--include-path", str(repo)])
    capsys.readouterr()
    code, out = migrate(capsys, repo, legacy_result(tmp_path / "lb"))
    assert code == 1 and "is not in a git repository" in out
