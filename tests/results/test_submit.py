"""`medeval submit`: validate, then copy into leaderboard/results with nothing lost and nothing overwritten silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fixtures import FOLDER, REV, TASK, TASK2, submit_cmd, task_result, write_json, write_run

from medeval.cli import main
from medeval.errors import MedEvalError
from medeval.results.submit import submit
from medeval.results.validate import validate_paths

pytestmark = pytest.mark.usefixtures("demo_tasks")


@pytest.fixture(autouse=True)
def demo_tasks_as_medevals_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo tasks stand in for medeval's packaged tasks here: submit refuses the user's own tasks."""
    monkeypatch.setattr("medeval.catalog.user_task_names", lambda: [])


def test_results_of_the_users_own_tasks_are_refused(tmp_path: Path, built: Path, leaderboard: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from medeval import catalog

    monkeypatch.setattr("medeval.catalog.user_task_names", lambda: [TASK2])  # TASK2 came from --include-path
    assert catalog.user_task_names() == [TASK2]
    run = tmp_path / "run"
    write_run(run, (TASK, TASK2))
    assert submit_cmd(run, leaderboard) == 1
    out = capsys.readouterr().out
    conflict = [line for line in out.splitlines() if line.startswith("conflict")]
    assert len(conflict) == 1 and f"{TASK2}.json" in conflict[0] and "docs/adding-a-task.md" in conflict[0]
    assert "nothing copied" in out
    assert not (leaderboard / "results").exists() or not any(p.is_file() for p in (leaderboard / "results").rglob("*"))

@pytest.fixture
def leaderboard(tmp_path: Path) -> Path:
    lb = tmp_path / "leaderboard"
    lb.mkdir()
    return lb


def files_under(root: Path) -> dict[str, bytes]:
    return {os.fspath(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def dest(lb: Path, name: str, revision: str = REV) -> Path:
    return lb / "results" / FOLDER / revision / name


def test_submit_copies_everything_byte_for_byte(tmp_path: Path, built: Path, leaderboard: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    write_run(run, (TASK, TASK2))
    assert submit_cmd(run, leaderboard) == 0
    assert files_under(leaderboard / "results") == files_under(run / "results")
    out = capsys.readouterr().out
    assert "submitted: 4 added" in out and "open a pull request" in out
    assert validate_paths([leaderboard]) == []
    assert not list(leaderboard.rglob("*.tmp"))  # no temporary files left behind


def test_resubmitting_reports_unchanged_and_writes_nothing(tmp_path: Path, built: Path, leaderboard: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    write_run(run)
    assert submit_cmd(run, leaderboard) == 0
    before = {p: p.stat().st_ino for p in leaderboard.rglob("*.json*")}
    capsys.readouterr()
    assert main(["submit", str(run), "--leaderboard", str(leaderboard)]) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("unchanged ") for line in out.splitlines()) == 3
    assert "submitted: 3 unchanged" in out
    assert {p: p.stat().st_ino for p in leaderboard.rglob("*.json*")} == before  # not rewritten


def test_changed_score_needs_force_and_is_reported(tmp_path: Path, built: Path, leaderboard: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "old", score=0.5)
    assert submit_cmd(tmp_path / "old", leaderboard) == 0
    original = dest(leaderboard, f"{TASK}.json").read_bytes()
    new_rev = write_run(tmp_path / "new", score=0.75)
    capsys.readouterr()

    assert submit_cmd(tmp_path / "new", leaderboard) == 1
    out = capsys.readouterr().out
    assert f"conflict  {dest(leaderboard, f'{TASK}.json')}: test/default main_score 0.5 -> 0.75" in out
    assert "--force" in out and "nothing copied" in out
    assert dest(leaderboard, f"{TASK}.json").read_bytes() == original

    assert submit_cmd(tmp_path / "new", leaderboard, force=True) == 0
    out = capsys.readouterr().out
    assert "replaced" in out and "0.5 -> 0.75 (--force)" in out
    assert dest(leaderboard, f"{TASK}.json").read_bytes() == (new_rev / f"{TASK}.json").read_bytes()


def test_same_scores_other_fields_keep_the_existing_file(tmp_path: Path, built: Path, leaderboard: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "a")
    assert submit_cmd(tmp_path / "a", leaderboard) == 0
    original = dest(leaderboard, f"{TASK}.json").read_bytes()
    rerun = write_run(tmp_path / "b")
    data = task_result()
    data["evaluation_time"] = 99.0
    write_json(rerun / f"{TASK}.json", data)
    capsys.readouterr()
    assert submit_cmd(tmp_path / "b", leaderboard) == 0
    out = capsys.readouterr().out
    assert "kept" in out and "same scores" in out and "evaluation_time" in out
    assert dest(leaderboard, f"{TASK}.json").read_bytes() == original
    assert submit_cmd(tmp_path / "b", leaderboard, force=True) == 0
    assert json.loads(dest(leaderboard, f"{TASK}.json").read_text())["evaluation_time"] == 99.0


def test_changed_model_meta_needs_force(tmp_path: Path, built: Path, leaderboard: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "a")
    assert submit_cmd(tmp_path / "a", leaderboard) == 0
    rev_dir = write_run(tmp_path / "b")
    meta = json.loads((rev_dir / "model_meta.json").read_text())
    meta["n_parameters"] = 33_000_000
    write_json(rev_dir / "model_meta.json", meta)
    capsys.readouterr()
    assert submit_cmd(tmp_path / "b", leaderboard) == 1
    assert "model metadata differs (n_parameters)" in capsys.readouterr().out
    assert json.loads(dest(leaderboard, "model_meta.json").read_text())["n_parameters"] == 22_700_000


def test_invalid_run_copies_nothing(tmp_path: Path, built: Path, leaderboard: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    rev_dir = write_run(run, (TASK, TASK2))
    write_json(rev_dir / f"{TASK2}.json", task_result(TASK2, score=float("nan")))
    assert submit_cmd(run, leaderboard) == 1
    out = capsys.readouterr().out
    assert f"{rev_dir / TASK2}.json: scores.test[default].main_score: is nan" in out
    assert "nothing copied" in out
    assert files_under(leaderboard) == {}


def test_all_or_nothing_when_one_file_conflicts(tmp_path: Path, built: Path, leaderboard: Path) -> None:
    write_run(tmp_path / "a", (TASK,), score=0.5)
    assert submit_cmd(tmp_path / "a", leaderboard) == 0
    before = files_under(leaderboard)
    write_run(tmp_path / "b", (TASK, TASK2), score=0.6)  # TASK2 is new, TASK conflicts
    assert submit_cmd(tmp_path / "b", leaderboard) == 1
    assert files_under(leaderboard) == before


def test_new_tasks_for_an_existing_revision_merge_run_settings(tmp_path: Path, built: Path, leaderboard: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "a", (TASK,))
    assert submit_cmd(tmp_path / "a", leaderboard) == 0
    write_run(tmp_path / "b", (TASK2,))
    assert submit_cmd(tmp_path / "b", leaderboard) == 0
    assert "merged" in capsys.readouterr().out
    tasks = [json.loads(line)["task"] for line in dest(leaderboard, "run_settings.jsonl").read_text().splitlines()]
    assert tasks == [TASK, TASK2]
    assert dest(leaderboard, f"{TASK}.json").exists() and dest(leaderboard, f"{TASK2}.json").exists()
    assert validate_paths([leaderboard]) == []


def test_second_revision_of_a_model_for_the_same_task_is_refused(tmp_path: Path, built: Path, leaderboard: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "a", (TASK,), revision="rev1")
    assert submit_cmd(tmp_path / "a", leaderboard) == 0
    before = files_under(leaderboard)
    write_run(tmp_path / "b", (TASK,), revision="rev2")
    assert submit_cmd(tmp_path / "b", leaderboard, force=True) == 1  # --force does not make duplicates
    out = capsys.readouterr().out
    assert "already has this model's result for this task" in out and "git rm" in out
    assert files_under(leaderboard) == before
    write_run(tmp_path / "c", (TASK2,), revision="rev2")  # another task at the new revision is fine
    assert submit_cmd(tmp_path / "c", leaderboard) == 0


def test_accepts_a_revision_folder_and_a_results_folder(tmp_path: Path, built: Path, leaderboard: Path) -> None:
    rev_dir = write_run(tmp_path / "run")
    assert submit_cmd(rev_dir, leaderboard) == 0
    assert submit_cmd(tmp_path / "run" / "results", leaderboard) == 0
    assert files_under(leaderboard / "results") == files_under(tmp_path / "run" / "results")


def test_symlink_in_the_leaderboard_is_never_followed(tmp_path: Path, built: Path, leaderboard: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (leaderboard / "results").mkdir()
    (leaderboard / "results" / FOLDER).symlink_to(outside, target_is_directory=True)
    write_run(tmp_path / "run")
    assert main(["submit", str(tmp_path / "run"), "--leaderboard", str(leaderboard)]) == 2
    assert list(outside.iterdir()) == []


def test_missing_leaderboard_is_a_one_line_error(tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_run(tmp_path / "run")
    assert main(["submit", str(tmp_path / "run"), "--leaderboard", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope" in err and "--leaderboard" in err


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, built: Path, leaderboard: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    write_run(tmp_path / "run")
    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(MedEvalError, match="no space left on the device"):  # one line, not a traceback
        submit(tmp_path / "run", leaderboard)
    monkeypatch.setattr(os, "replace", real_replace)
    written = files_under(leaderboard / "results")
    source = files_under(tmp_path / "run" / "results")
    assert len(written) == 1 and all(source[k] == v for k, v in written.items())  # whole files only
    assert not list(leaderboard.rglob(".*.tmp"))
    assert submit_cmd(tmp_path / "run", leaderboard) == 0  # running again completes the copy
    assert files_under(leaderboard / "results") == source



def test_own_tasks_are_refused_even_when_submitting_the_leaderboard_to_itself(
        tmp_path: Path, built: Path, leaderboard: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_run(leaderboard, (TASK, TASK2))  # the user's task already sits in the leaderboard folder
    monkeypatch.setattr("medeval.catalog.user_task_names", lambda: [TASK2])
    before = files_under(leaderboard / "results")
    assert submit_cmd(leaderboard / "results" / FOLDER / REV, leaderboard) == 1
    assert files_under(leaderboard / "results") == before


def test_run_settings_of_other_tasks_never_reach_the_leaderboard(tmp_path: Path, built: Path, leaderboard: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("medeval.catalog.user_task_names", lambda: [TASK2])
    run = tmp_path / "run"
    rev_dir = write_run(run, (TASK, TASK2))
    (rev_dir / f"{TASK2}.json").unlink()  # the refusal's advice: leave the own task's file out
    with (rev_dir / "run_settings.jsonl").open("a") as fh:
        fh.write(json.dumps({"task": "NotATaskAnywhere", "splits": ["test"]}) + "\n")
    assert submit_cmd(run, leaderboard) == 0
    lines = [json.loads(x) for x in dest(leaderboard, "run_settings.jsonl").read_text().splitlines() if x.strip()]
    assert [line["task"] for line in lines] == [TASK]
