"""Faults in the run and submit paths: kill -9 between writes heals on rerun, a full disk is one line per task and the
run goes on, concurrent writers lose nothing. No model is loaded: mteb's evaluation is replaced by a fixed result."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures import DATA_REV, MODEL, REV, TASK, TASK2, fake_result, model_meta, submit_cmd, tasks, write_run

from medeval import fsutil
from medeval import launch
from medeval import run as runmod
from medeval.errors import MedEvalError
from medeval.results import files as resfiles
from medeval.results import submit as submitmod
from medeval.results.layout import revision_folder
from medeval.results.validate import validate_paths
from medeval.run import RunOptions

FORK = multiprocessing.get_context("fork")

pytestmark = pytest.mark.usefixtures("demo_tasks")


@pytest.fixture(autouse=True)
def demo_tasks_as_medevals_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo tasks stand in for medeval's packaged tasks (submit refuses the user's own; forked children inherit)."""
    monkeypatch.setattr("medeval.catalog.user_task_names", lambda: [])


def settings_tasks(folder: Path) -> list[str]:
    return sorted(json.loads(line)["task"] for line in (folder / "run_settings.jsonl").read_text().splitlines())


def consistent(folder: Path, names: list[str]) -> None:
    """Every result has model_meta.json and its run-settings line beside it, and no temp file is left."""
    assert json.loads((folder / "model_meta.json").read_text())["name"] == MODEL
    assert settings_tasks(folder) == sorted(names)
    assert sorted(p.stem for p in folder.glob("*.json") if p.name != "model_meta.json") == sorted(names)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------------- kill -9
def _killed_while_writing(output: str, victim: str) -> None:
    """Child process: save a result and die by SIGKILL the moment the rename onto ``victim`` would happen."""
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name == victim:
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)

    os.replace = replace  # type: ignore[assignment]
    resfiles.save_result(output, model_meta(), fake_result(TASK), {"data_revision": DATA_REV})


@pytest.mark.parametrize("victim", ["model_meta.json", "run_settings.jsonl", f"{TASK}.json"])
def test_kill_9_between_writes_heals_on_rerun(tmp_path: Path, built: Path, no_eval: list[str], victim: str) -> None:
    proc = FORK.Process(target=_killed_while_writing, args=(str(tmp_path), victim))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    folder = revision_folder(tmp_path, model_meta())
    assert any(p.name.endswith(".tmp") for p in folder.iterdir())  # the killed write's temp file
    assert not (folder / f"{TASK}.json").exists()  # the result goes last, so no task looks finished
    lines: list[str] = []
    outcomes = runmod.run_model(None, model_meta(), tasks(TASK), RunOptions(output_dir=tmp_path), echo=lines.append)
    assert [o.status for o in outcomes] == ["ran"] and no_eval == [TASK]
    consistent(folder, [TASK])
    assert any("removed the stale temp file" in line for line in lines)


def test_folder_left_by_an_older_run_heals_without_rescoring_the_task(tmp_path: Path, built: Path,
                                                                       no_eval: list[str]) -> None:
    """The state the issue found: result written, killed before model_meta.json and the run-settings line."""
    meta = model_meta()
    folder = revision_folder(tmp_path, meta)
    folder.mkdir(parents=True)
    fake_result(TASK).to_disk(folder / f"{TASK}.json")
    dead = FORK.Process(target=lambda: None)
    dead.start()
    dead.join()
    orphan = folder / f".model_meta.json.{dead.pid}.x1y2z3w4.tmp"
    orphan.write_text('{"name": ')
    notes = resfiles.heal_folder(tmp_path, meta)
    assert not orphan.exists()
    consistent(folder, [TASK])
    line = json.loads((folder / "run_settings.jsonl").read_text())
    assert line["healed"] is True and line["data_revision"] == DATA_REV  # only what the result itself records
    assert len(notes) == 3
    assert resfiles.heal_folder(tmp_path, meta) == []  # healing twice changes nothing


def test_validate_gives_advice_that_applies_to_a_killed_run(tmp_path: Path, built: Path) -> None:
    rev = write_run(tmp_path / "run")
    (rev / "model_meta.json").unlink()
    (rev / ".model_meta.json.999999.abcdefgh.tmp").write_text("{")
    problems = {p.field: p for p in validate_paths([rev])}
    assert "medeval run` command again" in problems["model_meta.json"].fix
    assert problems["path"].severity == "warning" and "interrupted write" in problems["path"].message


# --------------------------------------------------------------------------------------------------- full disk
def test_full_disk_is_one_line_per_task_and_the_run_goes_on(tmp_path: Path, built: Path, no_eval: list[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real = fsutil.atomic_write_bytes

    def full_for_first_task(path: Any, data: bytes) -> Path:
        if Path(path).name == f"{TASK}.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(fsutil, "atomic_write_bytes", full_for_first_task)
    lines: list[str] = []
    outcomes = runmod.run_model(None, model_meta(), tasks(TASK, TASK2), RunOptions(output_dir=tmp_path), echo=lines.append)
    assert [o.status for o in outcomes] == ["failed", "ran"] and no_eval == [TASK, TASK2]
    msg = outcomes[0].message
    assert "\n" not in msg and f"{TASK}.json" in msg and "no space left on the device" in msg
    assert "--output-dir" in msg and "score 0.5000 not saved" in msg
    assert any(line.endswith(msg) for line in lines)
    folder = revision_folder(tmp_path, model_meta())
    assert (folder / f"{TASK2}.json").is_file() and not (folder / f"{TASK}.json").exists()


def test_data_folder_error_fails_that_task_only(tmp_path: Path, built: Path, no_eval: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def revision(task: Any) -> str:
        if task.metadata.name == TASK:
            raise OSError(errno.EROFS, "Read-only file system", str(task.data_folder()))
        return DATA_REV

    monkeypatch.setattr(runmod, "current_revision", revision)
    outcomes = runmod.run_model(None, model_meta(), tasks(TASK, TASK2), RunOptions(output_dir=tmp_path), echo=lambda s: None)
    assert [o.status for o in outcomes] == ["failed", "ran"]
    assert "read-only file system" in outcomes[0].message and "--data-dir" in outcomes[0].message


def test_unwritable_output_folder_is_refused_before_any_model_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import medeval.models

    def never(*a: Any, **k: Any) -> None:
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(medeval.models, "load_model", never)
    (tmp_path / "out").write_text("a file where the output folder should be")
    with pytest.raises(MedEvalError) as info:
        launch.run_models(RunOptions(tasks=[TASK], output_dir=tmp_path / "out", show_progress=False))
    assert "--output-dir" in str(info.value) and "\n" not in str(info.value)


def test_build_goes_on_after_an_os_error(built: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from medeval.cli import build_tasks as build_cli

    def build(spec: Any, ctx: Any) -> str:
        if spec.name == TASK:
            raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
        return "r" * 16

    monkeypatch.setattr(build_cli, "build_task", build)
    assert build_cli.run_build(tasks=[TASK, TASK2], benchmark=None) == 1
    out, err = capsys.readouterr()
    assert f"built  {TASK2}" in out
    failed = [line for line in err.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "no space left on the device" in failed[0] and "--data-dir" in failed[0]


# --------------------------------------------------------------------------------------------------- concurrency
def _finish_tasks(output: str, names: list[str], start: float) -> None:
    time.sleep(max(0.0, start - time.time()))
    for name in names:
        result = fake_result(TASK)
        result.task_name = name
        resfiles.save_result(output, model_meta(), result, {"data_revision": DATA_REV})


def test_two_processes_finishing_together_keep_every_run_settings_line(tmp_path: Path, built: Path) -> None:
    start = time.time() + 1.0
    names = [[f"Task{p}x{i}" for i in range(8)] for p in range(2)]
    procs = [FORK.Process(target=_finish_tasks, args=(str(tmp_path), n, start)) for n in names]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    folder = revision_folder(tmp_path, model_meta())
    assert settings_tasks(folder) == sorted(names[0] + names[1])


def _submit(run: str, leaderboard: str, start: float, codes: Any, i: int) -> None:
    import contextlib
    import io

    time.sleep(max(0.0, start - time.time()))
    with contextlib.redirect_stdout(io.StringIO()):
        codes[i] = submit_cmd(Path(run), Path(leaderboard))


def test_two_concurrent_submits_give_one_conflict(tmp_path: Path, built: Path) -> None:
    lb = tmp_path / "leaderboard"
    lb.mkdir()
    runs = [tmp_path / "a", tmp_path / "b"]
    write_run(runs[0], score=0.5)
    write_run(runs[1], score=0.75)
    codes = FORK.Array("i", [-1, -1])
    start = time.time() + 1.5
    procs = [FORK.Process(target=_submit, args=(str(r), str(lb), start, codes, i)) for i, r in enumerate(runs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert sorted(codes[:]) == [0, 1]  # one added, the other refused with a conflict, never a silent replace
    winner = runs[codes[:].index(0)]
    stored = json.loads((lb / "results" / "my-org__med-embed" / REV / f"{TASK}.json").read_text())
    assert stored["scores"]["test"][0]["main_score"] == (0.5 if winner.name == "a" else 0.75)


def test_a_file_changed_between_plan_and_write_is_a_conflict(tmp_path: Path, built: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    lb = tmp_path / "leaderboard"
    lb.mkdir()
    write_run(tmp_path / "run")
    real_plan = submitmod._plan_folder

    def plan_then_someone_writes(rev: Any, dest_dir: Path, *args: Any) -> Any:
        actions = real_plan(rev, dest_dir, *args)
        dest_dir.mkdir(parents=True, exist_ok=True)
        (dest_dir / f"{TASK}.json").write_text("{}")  # another writer, not holding medeval's lock
        return actions

    monkeypatch.setattr(submitmod, "_plan_folder", plan_then_someone_writes)
    assert submit_cmd(tmp_path / "run", lb) == 1
    assert "changed by another writer" in capsys.readouterr().out
    assert (lb / "results" / "my-org__med-embed" / REV / f"{TASK}.json").read_text() == "{}"
