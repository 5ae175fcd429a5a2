"""`medeval validate`: real malformed result folders are rejected with a line naming the file; valid ones pass.

Valid inputs are written the way a run writes them: result files by mteb's own ``TaskResult.from_task_results``
(``to_disk``'s content, NaN included), ``model_meta.json`` from ``mteb.models.ModelMeta.to_dict()``. The current
data revision of a task comes from a manifest written into a private MEDEVAL_HOME (the ``data_home`` fixture), as a
local build leaves it. The tasks are two test tasks made from packaged YAMLs (no pinned revision, fixed main
score), added to the catalogue only for the duration of each test, so the tests do not depend on later YAML edits.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fixtures import (
    DATA_REV,
    FOLDER,
    MODEL,
    REV,
    TASK,
    TASK2,
    build_manifest,
    demo_spec,
    model_meta_json,
    register_tasks,
    task_result,
    write_json,
    validate_cmd,
    write_run,
)

from medeval.cli import main
from medeval.results.report import Problem
from medeval.results.validate import MAX_FILE_BYTES, validate_paths

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("demo_tasks")


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def only_error(problems: list[Problem], path: Path, fld: str | None = None) -> Problem:
    """The errors are about ``path`` (and ``fld``); return the first."""
    errs = errors(problems)
    assert errs, f"expected an error for {path}, got none: {problems}"
    hits = [p for p in errs if p.path == os.fspath(path) and (fld is None or p.field.startswith(fld))]
    assert hits, f"no error for {path} {fld or ''}; got: " + "\n".join(p.line() for p in errs)
    return hits[0]


# --------------------------------------------------------------------------------------------------- valid input
def test_valid_run_passes_at_every_level(tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rev_dir = write_run(tmp_path / "lb", (TASK, TASK2))
    for target in (tmp_path / "lb", tmp_path / "lb" / "results", rev_dir.parent, rev_dir, rev_dir / f"{TASK}.json"):
        assert validate_paths([target]) == [], target
    assert validate_cmd([tmp_path / "lb"]) == 0
    out = capsys.readouterr().out
    assert "OK: 2 result file(s) in 1 revision folder(s); 0 error(s), 0 warning(s)" in out
    assert main(["validate", str(tmp_path / "lb")]) == 0


def test_real_mteb_nan_in_secondary_metrics_is_fine(tmp_path: Path, built: Path) -> None:
    """mteb itself writes NaN for undefined secondary metrics (e.g. ap of a multi-class task): not a problem."""
    rev_dir = write_run(tmp_path)
    data = task_result()
    data["scores"]["test"][0]["ap"] = float("nan")
    write_json(rev_dir / f"{TASK}.json", data)
    assert "NaN" in (rev_dir / f"{TASK}.json").read_text()
    assert validate_paths([tmp_path]) == []


def test_repository_leaderboard_and_empty_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if (REPO / "leaderboard").is_dir():  # git does not keep an empty folder
        assert validate_cmd([REPO / "leaderboard"]) == 0  # the repository's own results
    empty = tmp_path / "leaderboard"
    empty.mkdir()
    assert validate_paths([empty]) == []
    assert validate_cmd([empty]) == 0
    (empty / "results").mkdir()
    (empty / "results" / "README.md").write_text("results go here\n")
    assert validate_cmd([empty]) == 0
    assert "no results under" in capsys.readouterr().out


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    only_error(validate_paths([missing]), missing, "path")
    assert main(["validate", str(missing)]) == 1
    assert f"{missing}: path: does not exist" in capsys.readouterr().out


def test_unverifiable_revision_is_a_warning_not_an_error(tmp_path: Path, data_home: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    rev_dir = write_run(tmp_path, (TASK, TASK2))  # nothing built in this MEDEVAL_HOME
    problems = validate_paths([tmp_path])
    assert errors(problems) == []
    [warn] = problems
    assert warn.severity == "warning" and warn.path == os.fspath(rev_dir) and warn.field == "dataset_revision"
    assert "cannot verify" in warn.message and "not built here" in warn.message and TASK in warn.message
    assert validate_cmd([tmp_path]) == 0
    assert "warning: " in capsys.readouterr().out


# --------------------------------------------------------------------------------------------------- result files
def test_truncated_json(tmp_path: Path, built: Path) -> None:
    f = write_run(tmp_path) / f"{TASK}.json"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    p = only_error(validate_paths([tmp_path]), f, "file")
    assert "invalid JSON" in p.message and "line" in p.message
    assert "medeval run" in p.fix and "--overwrite" in p.fix


def test_not_utf8_and_not_an_object(tmp_path: Path, built: Path) -> None:
    f = write_run(tmp_path) / f"{TASK}.json"
    f.write_bytes(b'{"task_name": "\xff\xfe"}')
    assert "UTF-8" in only_error(validate_paths([tmp_path]), f, "file").message
    f.write_text("[1, 2, 3]")
    assert "JSON object" in only_error(validate_paths([tmp_path]), f, "file").message


@pytest.mark.parametrize(
    ("mutate", "fld", "words"),
    [
        (lambda d: d.update(scores=[1, 2]), "scores", "not an object"),
        (lambda d: d["scores"].update(test={"default": 0.5}), "scores.test", "list"),
        (lambda d: d["scores"]["test"][0].update(main_score="0.5"), "scores.test[default].main_score", "not a number"),
        (lambda d: d["scores"]["test"][0].update(main_score=True), "scores.test[default].main_score", "not a number"),
        (lambda d: d["scores"]["test"][0].pop("main_score"), "scores.test[default].main_score", "missing"),
        (lambda d: d["scores"]["test"][0].update(hf_subset=3), "scores.test[0].hf_subset", "not a string"),
        (lambda d: d.update(evaluation_time="fast"), "evaluation_time", "mteb rejects"),
        (lambda d: d.pop("mteb_version"), "mteb_version", "required field is missing"),
        (lambda d: d.update(task_name=42), "task_name", "not a string"),
        (lambda d: d.pop("dataset_revision"), "dataset_revision", "missing"),
    ],
    ids=["scores-list", "split-not-list", "score-string", "score-bool", "no-main-score", "subset-int",
         "evaluation-time-string", "no-mteb-version", "task-name-int", "no-dataset-revision"],
)
def test_wrong_types(tmp_path: Path, built: Path, mutate: Any, fld: str, words: str) -> None:
    f = write_run(tmp_path) / f"{TASK}.json"
    data = task_result()
    mutate(data)
    write_json(f, data)
    p = only_error(validate_paths([tmp_path]), f, fld)
    assert words in p.message


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_main_score(tmp_path: Path, built: Path, value: float) -> None:
    rev_dir = write_run(tmp_path)
    write_json(rev_dir / f"{TASK}.json", task_result(score=value))
    p = only_error(validate_paths([tmp_path]), rev_dir / f"{TASK}.json", "scores.test[default].main_score")
    assert str(value) in p.message and "no score" in p.message


@pytest.mark.parametrize("value", [1.5, -0.01, 87.3])
def test_main_score_out_of_range(tmp_path: Path, built: Path, value: float) -> None:
    rev_dir = write_run(tmp_path, score=value)
    p = only_error(validate_paths([tmp_path]), rev_dir / f"{TASK}.json", "scores.test[default].main_score")
    assert "outside [0, 1]" in p.message and "f1" in p.message


def test_main_score_disagreeing_with_its_metric(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    data = task_result(score=0.5)
    data["scores"]["test"][0]["main_score"] = 0.9  # hand-edited
    write_json(rev_dir / f"{TASK}.json", data)
    p = only_error(validate_paths([tmp_path]), rev_dir / f"{TASK}.json", "scores.test[default].main_score")
    assert "is not the task's main score f1 = 0.5" in p.message and "another metric" in p.message


def test_unknown_task(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    data = task_result()
    data["task_name"] = "DemoChapterClasification"
    f = write_json(rev_dir / "DemoChapterClasification.json", data)
    p = only_error(validate_paths([tmp_path]), f, "task_name")
    assert "unknown task" in p.message and f"did you mean {TASK}" in p.message
    assert "--include-path" in p.fix


def test_task_name_must_match_file_name(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    f = write_json(rev_dir / f"{TASK2}.json", task_result(TASK))
    p = only_error(validate_paths([tmp_path]), f, "task_name")
    assert "does not match the file name" in p.message and f"{TASK}.json" in p.fix


def test_stale_revision(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path, data_rev="fedcba9876543210")
    p = only_error(validate_paths([tmp_path]), rev_dir / f"{TASK}.json", "dataset_revision")
    assert "stale data" in p.message and DATA_REV in p.message and "built here" in p.message
    assert f"medeval build -t {TASK}" in p.fix


def test_stale_against_revision_pinned_in_yaml(tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pinned dataset.revision in the task YAML wins over (and works without) a local build."""
    name = "PinnedRevisionDemoClassification"
    register_tasks(monkeypatch, demo_spec(name, "ICD10CMChapterClassification", "f1",
                                          dataset={"revision": "aaaaaaaaaaaaaaaa"}))
    build_manifest(data_home, name, "bbbbbbbbbbbbbbbb")  # a different local build
    rev_dir = write_run(tmp_path / "run", (name,), data_rev="aaaaaaaaaaaaaaaa")
    assert validate_paths([tmp_path / "run"]) == []
    write_json(rev_dir / f"{name}.json", task_result(name, data_rev="bbbbbbbbbbbbbbbb"))
    p = only_error(validate_paths([tmp_path / "run"]), rev_dir / f"{name}.json", "dataset_revision")
    assert "pinned in the task YAML" in p.message and "aaaaaaaaaaaaaaaa" in p.message


@pytest.mark.parametrize("value", ["unbuilt", "no_revision_available", "main", "0123456789ABCDEF"])
def test_dataset_revision_must_be_a_content_hash(tmp_path: Path, data_home: Path, value: str) -> None:
    rev_dir = write_run(tmp_path, data_rev=value)  # checked even when the task is not built here
    p = only_error(validate_paths([tmp_path]), rev_dir / f"{TASK}.json", "dataset_revision")
    assert "content hash" in p.message


def test_removed_split_and_subsets(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    f = rev_dir / f"{TASK}.json"
    data = task_result()
    data["scores"] = {"train": data["scores"]["test"]}
    write_json(f, data)
    p = only_error(validate_paths([tmp_path]), f, "scores.test")
    assert "eval split 'test' is missing" in p.message

    data = task_result()
    data["scores"]["test"] = []
    write_json(f, data)
    assert "subset 'default' is missing" in only_error(validate_paths([tmp_path]), f, "scores.test").message

    data = task_result()
    data["scores"]["test"].append(dict(data["scores"]["test"][0]))
    write_json(f, data)
    assert "appears twice" in only_error(validate_paths([tmp_path]), f, "scores.test[default]").message

    data = task_result()
    data["scores"]["test"][0]["hf_subset"] = "en-fr"
    write_json(f, data)
    problems = validate_paths([tmp_path])
    assert "unknown subset" in only_error(problems, f, "scores.test[en-fr]").message
    assert "subset 'default' is missing" in only_error(problems, f, "scores.test").message


# --------------------------------------------------------------------------------------------------- model_meta.json
def test_missing_model_meta_json(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    (rev_dir / "model_meta.json").unlink()
    p = only_error(validate_paths([tmp_path]), rev_dir / "model_meta.json", "model_meta.json")
    assert p.message == "missing"


def test_no_model_name_and_no_revision_available(tmp_path: Path, built: Path) -> None:
    """What mteb writes for a local model folder run without --model-name/--model-revision."""
    rev_dir = write_run(tmp_path, folder="no_model_name__available", revision="no_revision_available",
                        name="no_model_name/available")
    problems = validate_paths([tmp_path])
    meta = rev_dir / "model_meta.json"
    assert "--model-name" in only_error(problems, meta, "name").fix
    assert "--model-revision" in only_error(problems, meta, "revision").fix
    assert "--model-revision" in only_error(problems, rev_dir, "folder name").fix


def test_model_meta_must_match_its_folders(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    write_json(rev_dir / "model_meta.json", model_meta_json("my-org/other-model", "9999"))
    problems = validate_paths([tmp_path])
    assert "my-org__other-model" in only_error(problems, rev_dir / "model_meta.json", "name").fix
    assert "'9999'" in only_error(problems, rev_dir / "model_meta.json", "revision").fix


def test_model_meta_schema_errors_come_from_mteb(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    write_json(rev_dir / "model_meta.json", model_meta_json(embed_dim="big", languages=["xx"]))
    problems = validate_paths([tmp_path])
    assert "mteb rejects" in only_error(problems, rev_dir / "model_meta.json", "embed_dim").message
    assert "Invalid language code" in only_error(problems, rev_dir / "model_meta.json", "languages").message
    write_json(rev_dir / "model_meta.json", model_meta_json(some_future_field=1))
    [warn] = validate_paths([tmp_path])  # another mteb version's extra field: reported, not fatal
    assert warn.severity == "warning" and warn.field == "some_future_field"


def test_bad_folder_names(tmp_path: Path, built: Path) -> None:
    write_run(tmp_path, folder="med-embed", name="med-embed")
    problems = validate_paths([tmp_path / "results"])
    only_error(problems, tmp_path / "results" / "med-embed", "folder name")
    only_error(problems, tmp_path / "results" / "med-embed" / REV / "model_meta.json", "name")


# --------------------------------------------------------------------------------------------------- files and paths
def test_path_traversal_in_names(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    write_json(rev_dir / "model_meta.json", model_meta_json("../../etc/passwd", "../../x"))
    data = task_result()
    data["task_name"] = "../../../tmp/evil"
    write_json(rev_dir / f"{TASK}.json", data)
    problems = validate_paths([tmp_path])
    assert "not a model id" in only_error(problems, rev_dir / "model_meta.json", "name").message
    assert "not a model revision" in only_error(problems, rev_dir / "model_meta.json", "revision").message
    assert "does not match the file name" in only_error(problems, rev_dir / f"{TASK}.json", "task_name").message
    weird = tmp_path / "results" / FOLDER / "..evil"
    weird.mkdir()
    write_json(weird / "model_meta.json", model_meta_json(revision="..evil"))
    only_error(validate_paths([tmp_path]), weird, "folder name")


def test_file_over_10_mb(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    big = rev_dir / f"{TASK}.json"
    data = task_result()
    data["scores"]["test"][0]["predictions"] = ["x" * 1000] * 20_000  # a 20 MB, otherwise valid result file
    write_json(big, data)
    assert big.stat().st_size > 2 * MAX_FILE_BYTES - 1_000_000
    p = only_error(validate_paths([tmp_path]), big, "size")
    assert "over the 10 MB limit" in p.message


def test_symlinks_are_rejected(tmp_path: Path, built: Path) -> None:
    outside = tmp_path / "outside.json"
    write_json(outside, task_result(TASK2))
    rev_dir = write_run(tmp_path / "lb")
    (rev_dir / f"{TASK2}.json").symlink_to(outside)
    (tmp_path / "lb" / "results" / "my-org__linked").symlink_to(rev_dir.parent, target_is_directory=True)
    problems = validate_paths([tmp_path / "lb"])
    assert "symbolic link" in only_error(problems, rev_dir / f"{TASK2}.json", "path").message
    only_error(problems, tmp_path / "lb" / "results" / "my-org__linked", "path")
    assert len(errors(problems)) == 2  # the link is not followed: the target is not checked twice


def test_unexpected_files_and_subfolders(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    (rev_dir / "predictions.pkl").write_bytes(b"\x80\x04")
    (rev_dir / "experiments" / "bs_8").mkdir(parents=True)
    (rev_dir.parent / "notes.txt").write_text("hi")
    (rev_dir / "run_settings.jsonl").write_text("{not json\n")
    problems = validate_paths([tmp_path])
    only_error(problems, rev_dir / "predictions.pkl", "path")
    only_error(problems, rev_dir / "experiments", "path")
    only_error(problems, rev_dir.parent / "notes.txt", "path")
    only_error(problems, rev_dir / "run_settings.jsonl", "line 1")


def test_control_characters_in_names_stay_on_one_line(tmp_path: Path, built: Path) -> None:
    rev_dir = write_run(tmp_path)
    evil = rev_dir / "Evil\nerror: all good\x1b[0m.json"
    write_json(evil, {"task_name": "x\ny"})
    problems = validate_paths([tmp_path])
    assert any(p.path == os.fspath(evil) for p in errors(problems))
    for p in problems:
        assert "\n" not in p.line() and "\x1b" not in p.line()


def test_duplicate_model_and_task_in_two_revisions(tmp_path: Path, built: Path) -> None:
    a = write_run(tmp_path, (TASK, TASK2), revision="rev1")
    b = write_run(tmp_path, (TASK,), revision="rev2")
    c = write_run(tmp_path, (TASK,), folder="My-Org__Med-Embed", name="My-Org/Med-Embed", revision="rev3")
    problems = validate_paths([tmp_path])
    for rev_dir in (a, b, c):
        p = only_error(problems, rev_dir / f"{TASK}.json", "task_name")
        assert "duplicate" in p.message
    assert not [p for p in problems if p.path.endswith(f"{TASK2}.json")]  # only in one revision: fine
    # the same folder given twice is not a duplicate of itself
    assert validate_paths([a, a.parent / "rev1"]) == []


def test_cli_prints_one_line_per_problem_naming_the_file(tmp_path: Path, built: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    rev_dir = write_run(tmp_path, score=float("nan"))
    assert main(["validate", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("FAILED: 1 result file(s) in 1 revision folder(s); 1 error(s)")
    assert lines[0].startswith(f"{rev_dir / TASK}.json: scores.test[default].main_score: is nan")
    assert "; re-run the task" in lines[0]
    # REV is not a Hub commit: the command names no model it cannot know how to load
    assert f"`medeval run -m MODEL -t {TASK} --overwrite`" in lines[0]


def test_rerun_commands_are_safe_to_paste(tmp_path: Path, built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A Hub model at a commit gets its own command; anything else a placeholder, never a name from the folder
    that would run as shell (backticks), split (spaces) or read as an option."""
    from medeval.models import DEFAULT_MODEL
    from medeval.results.report import RevisionFolder

    sha = "0123456789abcdef0123456789abcdef01234567"
    rev_dir = write_run(tmp_path, revision=sha, score=float("nan"))
    assert main(["validate", str(tmp_path)]) == 1
    assert f"`medeval run -m {MODEL} --model-revision {sha} -t {TASK} --overwrite`" in capsys.readouterr().out
    assert rev_dir.name == sha

    def command(folder: str, revision: str, task: str | None = "Task") -> str:
        return RevisionFolder(path=tmp_path, model_folder=folder, revision=revision).rerun_command(task)

    default = DEFAULT_MODEL.replace("/", "__")
    assert command(default, sha) == f"medeval run -m {DEFAULT_MODEL} -t Task --overwrite"  # no --model-revision
    assert command("org__x`id`", sha) == "medeval run -m MODEL -t Task --overwrite"
    assert command("a__b__c", sha) == "medeval run -m MODEL -t Task --overwrite"
    assert command("plainname", sha) == "medeval run -m MODEL -t Task --overwrite"
    for revision in ("rev with space", "-rf", "90c016e439", "local-abc", "no_revision_available"):
        assert command("org__name", revision) == "medeval run -m MODEL -t Task --overwrite", revision
    assert command("org__name", sha, "x`id`") == f"medeval run -m org/name --model-revision {sha} -t TASK --overwrite"
    assert command("org__name", sha, None) == f"medeval run -m org/name --model-revision {sha}"


# --------------------------------------------------------------------------------------------------- properties
_FUZZ = settings(max_examples=120, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _set(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node[path[0]] = _set(node[path[0]], path[1:], value)
    return node


def _check_never_crashes(root: Path) -> list[Problem]:
    problems = validate_paths([root])  # must not raise
    assert all(isinstance(p, Problem) for p in problems)
    for p in problems:
        assert "\n" not in p.line() and p.path.startswith(os.fspath(root))
    return problems


@pytest.fixture
def fuzz_run(tmp_path: Path, built: Path) -> Path:
    return write_run(tmp_path / "fuzz")


def _reset(rev_dir: Path) -> None:
    """Hypothesis reuses the folder across examples: start each one from the valid files."""
    write_json(rev_dir / f"{TASK}.json", task_result())
    write_json(rev_dir / "model_meta.json", model_meta_json())


@_FUZZ
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_truncation_is_always_reported(fuzz_run: Path, cut: int) -> None:
    _reset(fuzz_run)
    f = fuzz_run / f"{TASK}.json"
    original = json.dumps(task_result(), indent=2).encode()
    cut = cut % len(original)
    assume(original[:cut].strip() != original.strip())
    f.write_bytes(original[:cut])
    problems = _check_never_crashes(fuzz_run.parents[2])
    assert any(p.path == os.fspath(f) and p.is_error for p in problems)


@_FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), min_size=1, max_size=8),
       which=st.sampled_from([f"{TASK}.json", "model_meta.json"]))
def test_byte_flips_never_crash(fuzz_run: Path, flips: list[tuple[int, int]], which: str) -> None:
    _reset(fuzz_run)
    f = fuzz_run / which
    data = bytearray(json.dumps(task_result() if which != "model_meta.json" else model_meta_json(), indent=2).encode())
    for pos, mask in flips:
        data[pos % len(data)] ^= mask
    f.write_bytes(bytes(data))
    _check_never_crashes(fuzz_run.parents[2])


@_FUZZ
@given(data=st.data(), value=json_values, which=st.sampled_from([f"{TASK}.json", "model_meta.json"]))
def test_json_value_mutations_never_crash(fuzz_run: Path, data: st.DataObject, value: Any, which: str) -> None:
    _reset(fuzz_run)
    doc = task_result() if which != "model_meta.json" else model_meta_json()
    where = data.draw(st.sampled_from(_paths(doc)))
    mutated = _set(doc, where, value)
    write_json(fuzz_run / which, mutated)
    problems = _check_never_crashes(fuzz_run.parents[2])
    if where == ("scores", "test", 0, "main_score"):
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1
        bad = [p for p in errors(problems) if p.field.startswith("scores.test[default].main_score")]
        assert bool(bad) == (not ok or value != 0.5), (value, problems)  # 0.5 is also the f1 it must equal


@_FUZZ
@given(value=json_values)
def test_any_main_score_value_is_judged(fuzz_run: Path, value: Any) -> None:
    _reset(fuzz_run)
    doc = task_result()
    doc["scores"]["test"][0]["main_score"] = value
    doc["scores"]["test"][0]["f1"] = value
    write_json(fuzz_run / f"{TASK}.json", doc)
    problems = _check_never_crashes(fuzz_run.parents[2])
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1
    bad = [p for p in errors(problems) if p.path.endswith(f"{TASK}.json")]
    assert bool(bad) != ok, (value, [p.line() for p in problems])


def test_a_file_that_is_not_a_result_is_refused_not_its_folder_walked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`medeval validate README.md` once walked the whole folder holding the file; it is one line now."""
    from medeval.cli import main

    readme = tmp_path / "README.md"
    readme.write_text("# hello\n")
    (tmp_path / "stray.txt").write_text("x")
    code = main(["validate", str(readme)])
    out, err = capsys.readouterr()
    text = out + err
    assert code != 0 and "is a file, not a result folder" in text
    assert "stray.txt" not in text and "Traceback" not in text
