"""Data checks (medeval/checks/): each bad input a user can bring gives one line naming the file, the line or
row, the field and the fix, through ``medeval check`` and through ``medeval run``, where the other tasks of the same
run are still scored. Every task here is a short user-task YAML (name, type, data) with a few rows."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medeval.cli import main

CLINIC_TRAIN = [{"text": f"{w} complaint {i}", "label": w} for w in ("cardiac", "lung", "gut") for i in range(4)]
CLINIC_TEST = [{"text": f"{w} visit {i}", "label": w} for w in ("cardiac", "lung", "gut") for i in range(2)]
CORPUS = [{"id": f"d{i}", "text": f"document about topic {i}"} for i in range(1, 5)]
QUERIES = [{"id": f"q{i}", "text": f"question on topic {i}"} for i in range(1, 5)]
QRELS = [{"query-id": f"q{i}", "corpus-id": f"d{i}", "score": 1} for i in range(1, 5)]
PAIRS = [{"sentence1": f"a{i}", "sentence2": f"b{i}", "labels": i % 2} for i in range(6)]
CLUSTERS = [{"sentences": f"text {i}", "labels": "ab"[i % 2]} for i in range(6)]


def _retrieval(corpus: list[dict[str, Any]] = CORPUS, queries: list[dict[str, Any]] = QUERIES,
               qrels: list[dict[str, Any]] = QRELS) -> dict[str, Any]:
    return {"corpus/test": corpus, "queries/test": queries, "qrels/test": qrels}


def _classification(train: list[dict[str, Any]] = CLINIC_TRAIN, test: list[dict[str, Any]] = CLINIC_TEST) -> dict[str, Any]:
    return {"data/train": train, "data/test": test}


def _with(rows: list[dict[str, Any]], i: int, **change: Any) -> list[dict[str, Any]]:
    out = [dict(r) for r in rows]
    out[i].update(change)
    for k in [k for k, v in change.items() if v is KeyError]:
        del out[i][k]
    return out


# name -> (type, tables, what the one line must say: table file + location, field, problem, fix)
CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "QrelsTypoRetrieval": ("Retrieval", _retrieval(qrels=_with(QRELS, 3, **{"corpus-id": "D4"})),
                           ["qrels/test.jsonl: line 4: field 'corpus-id'", "'D4' is not a document id",
                            "did you mean 'd4'", "fix the id"]),
    "QrelsUnknownQueryRetrieval": ("Retrieval", _retrieval(qrels=QRELS + [{"query-id": "q9", "corpus-id": "d1", "score": 1}]),
                                   ["qrels/test.jsonl: line 5: field 'query-id'", "'q9' is not a query id", "fix the id"]),
    "DuplicateDocRetrieval": ("Retrieval", _retrieval(corpus=CORPUS + [{"id": "d2", "text": "another text"}]),
                              ["corpus/test.jsonl: line 5: field 'id'", "duplicate document id(s) 'd2'", "its own id"]),
    "DuplicateQueryRetrieval": ("Retrieval", _retrieval(queries=_with(QUERIES, 1, id="q1")),
                                ["queries/test.jsonl: line 2: field 'id'", "duplicate query id(s) 'q1'", "its own id"]),
    "DoubleJudgedRetrieval": ("Retrieval", _retrieval(qrels=QRELS + [{"query-id": "q1", "corpus-id": "d1", "score": 0}]),
                              ["qrels/test.jsonl: line 5: field 'corpus-id'", "judged more than once: ('q1', 'd1')",
                               "keep one row per pair"]),
    "NullLabelClassification": ("Classification", _classification(train=_with(CLINIC_TRAIN, 2, label=None)),
                                ["train.jsonl: line 3: field 'label': is null", "write labels as strings or integers"]),
    "NullTextClassification": ("Classification", _classification(test=_with(CLINIC_TEST, 0, text=None)),
                               ["test.jsonl: line 1: field 'text': is null", "give every row a string"]),
    "ThreeLabelPairClassification": ("PairClassification", {"data/test": _with(PAIRS, 4, labels=2)},
                                     ["test.jsonl: line 5: field 'labels': is not binary (found 2)", "0/1 or true/false"]),
    "WordLabelPairClassification": ("PairClassification",
                                    {"data/test": [{**r, "labels": ["different", "same"][r["labels"]]} for r in PAIRS]},
                                    ["field 'labels': is not binary (found 'different', 'same')", "0/1 or true/false"]),
    "UnseenLabelClassification": ("Classification", _classification(test=CLINIC_TEST + [{"text": "skin rash", "label": "skin"}]),
                                  ["test.jsonl: line 7: field 'label'", "'skin' never occur in the data/train table",
                                   "add train rows with these labels"]),
    "OneLabelTrainClassification": ("Classification", _classification(train=[{**r, "label": "cardiac"} for r in CLINIC_TRAIN]),
                                    ["train.jsonl: field 'label': only one label ('cardiac') in the train split",
                                     "at least two labels"]),
    "Latin1Classification": ("Classification", {"data/train": CLINIC_TRAIN, "data/test": "latin-1"},
                             ["test.jsonl: line 2: not UTF-8 text (byte 0xe8 at column 13)", "re-encode the file as UTF-8"]),
    "OneLabelClustering": ("Clustering", {"data/test": [{**r, "labels": "a"} for r in CLUSTERS]},
                           ["test.jsonl: field 'labels': only one label", "at least two different labels"]),
    "SingletonClustering": ("Clustering", {"data/test": [{**r, "labels": f"c{i}"} for i, r in enumerate(CLUSTERS)]},
                            ["field 'labels': every label has a single row", "at least two rows"]),
    "AllPositivePairClassification": ("PairClassification", {"data/test": [{**r, "labels": 1} for r in PAIRS]},
                                      ["field 'labels': every pair is positive", "add negative pairs"]),
    "MissingTextLaterClassification": ("Classification", _classification(train=_with(CLINIC_TRAIN, 9, text=KeyError)),
                                       ["train.jsonl: line 10: field 'text': is missing", "add it to every row"]),
    "EmptyTableClustering": ("Clustering", {"data/test": []}, ["test.jsonl: the table has no rows", "fill it"]),
    "FloatLabelClassification": ("Classification", {"data/train": "parquet-float", "data/test": CLINIC_TEST},
                                 ["train.parquet: field 'label': column has type double", "strings or integers"]),
    "ThreeLabelParquetPairClassification": ("PairClassification", {"data/test": "parquet-pairs"},
                                            ["test.parquet: row 3: field 'labels': is not binary (found 2)",
                                             "0/1 or true/false"]),
    "ListLabelClustering": ("Clustering", {"data/test": "parquet-list"},
                            ["test.parquet: field 'labels': column has type list", "strings or integers"]),
}
GOOD = {
    "GoodClassification": ("Classification", _classification(), []),
    "GoodRetrieval": ("Retrieval", _retrieval(), []),
}


def _write_table(folder: Path, name: str, rows: Any) -> None:
    path = folder / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    if rows == "latin-1":
        path.write_bytes('{"text": "chest pain", "label": "cardiac"}\n{"text": "fi\xe8vre", "label": "gut"}\n'
                         .encode("latin-1"))
    elif rows == "parquet-float":
        pq.write_table(pa.table({"text": [r["text"] for r in CLINIC_TRAIN], "label": [0.5 * i for i in range(12)]}),
                       path.with_suffix(".parquet"))
    elif rows == "parquet-pairs":
        pq.write_table(pa.table({"sentence1": ["a", "b", "c"], "sentence2": ["x", "y", "z"], "labels": [0, 1, 2]}),
                       path.with_suffix(".parquet"))
    elif rows == "parquet-list":
        pq.write_table(pa.table({"sentences": ["a", "b", "c"], "labels": [["x"], ["y"], ["x"]]}), path.with_suffix(".parquet"))
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_user_tasks(root: Path, cases: dict[str, tuple[str, dict[str, Any], list[str]]]) -> Path:
    """Short user-task YAMLs (name, type, data) with their tables under ``root/data/<name>``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, (ttype, tables, _) in cases.items():
        extra = "evaluation: {samples_per_label: 2, n_experiments: 2}\n" if ttype == "Classification" else ""
        extra += "license: MIT\n" if name == "GoodRetrieval" else ""  # licence ids in any case
        (root / f"{name}.yaml").write_text(f"name: {name}\ntype: {ttype}\ndata: data/{name}\n{extra}")
        for table, rows in tables.items():
            _write_table(root / "data" / name, table, rows)
    return root


@pytest.fixture(scope="module")
def user_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_user_tasks(tmp_path_factory.mktemp("user_tasks"), {**CASES, **GOOD})


def _cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def _one_line(output: str, task: str, needles: list[str]) -> None:
    lines = [line for line in output.splitlines() if task in line and needles[0] in line]
    assert lines, f"no line for {task} with {needles[0]!r} in:\n{output}"
    assert all(n in lines[0] for n in needles), lines[0]
    assert "Traceback" not in output


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_reports_one_line(user_tasks: Path, case: str) -> None:
    code, output = _cli("check", "--include-path", str(user_tasks), case, "GoodRetrieval")
    assert code == 1
    _one_line(output, case, CASES[case][2])
    assert "ok: GoodRetrieval" in output


def test_check_passes_good_tasks(user_tasks: Path) -> None:
    code, output = _cli("check", "--include-path", str(user_tasks), "GoodClassification", "GoodRetrieval")
    assert code == 0, output
    assert "ok: GoodClassification: data/train 12 rows, data/test 6 rows; data revision " in output


@pytest.fixture(scope="module")
def bad_run(user_tasks: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    out = tmp_path_factory.mktemp("out")
    names = [*sorted(CASES), *GOOD]
    code, output = _cli("run", "-m", "mteb/baseline-random-encoder", "--include-path", str(user_tasks),
                        "--no-cache", "-o", str(out), *[a for n in names for a in ("-t", n)])
    return code, output, out


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_reports_one_line_and_goes_on(bad_run: tuple[int, str, Path], case: str) -> None:
    code, output, _ = bad_run
    assert code == 1
    _one_line(output, f"error: {case}", CASES[case][2])


def test_run_scores_the_good_tasks_and_prints_the_table(bad_run: tuple[int, str, Path]) -> None:
    _, output, out = bad_run
    scored = {p.stem for p in out.glob("results/*/*/*.json")} - {"model_meta"}
    assert scored == set(GOOD), output
    assert "Mean (Task)" in output and f"{len(GOOD)}/{len(GOOD) + len(CASES)}" in output


def test_built_data_is_checked_and_stamped(tmp_path: Path) -> None:
    from medeval import checks
    from medeval.data import write_task_data
    from medeval.errors import DataCheckError

    folder = tmp_path / "BuiltRetrieval"
    write_task_data(folder, _retrieval(), manifest={"builder": "test"})
    names = ["corpus/test", "queries/test", "qrels/test"]
    assert len(checks.read_checked_tables(folder, "Retrieval", names)["corpus/test"]) == 4
    assert (folder / checks.STAMP).is_file()
    # damage: a later write with a duplicate id (new size/mtime) is checked again in full, stamp or not
    pq.write_table(pa.Table.from_pylist(CORPUS + [{"id": "d1", "text": "again"}]), folder / "corpus/test.parquet")
    with pytest.raises(DataCheckError) as err:
        checks.read_checked_tables(folder, "Retrieval", names)
    assert err.value.findings == [f"{folder / 'corpus/test.parquet'}: row 5: field 'id': duplicate document id(s) 'd1' "
                                  "(also on an earlier row); give each document its own id (a later row with the "
                                  "same id replaces the earlier)"]


def test_validate_advice_for_user_tasks_names_what_works(bad_run: tuple[int, str, Path], user_tasks: Path) -> None:
    _, _, out = bad_run
    code, output = _cli("validate", "--include-path", str(user_tasks), str(out / "results"))
    assert "user task with its own data folder" in output and "medeval check TASK" in output, output
    assert "medeval build -t" not in output
    # the hash `medeval check` prints is the one the results recorded, so pinning it makes them verifiable
    _, checked = _cli("check", "--include-path", str(user_tasks), "GoodRetrieval")
    revision = checked.split("data revision ")[1].split()[0]
    result = json.loads(next(out.glob("results/*/*/GoodRetrieval.json")).read_text())
    assert result["dataset_revision"] == revision


# --------------------------------------------------------------------------------------------------- short YAML
def _packaged(name: str) -> dict[str, Any]:
    import yaml

    from medeval.paths import packaged_specs_dir

    return yaml.safe_load((packaged_specs_dir() / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("ttype", "main_score"), [("Classification", "f1"), ("Clustering", "v_measure"),
                                                   ("PairClassification", "similarity_f1"), ("Retrieval", "ndcg_at_10")])
def test_short_user_yaml_defaults_by_type(ttype: str, main_score: str) -> None:
    from medeval.spec import parse_spec

    spec = parse_spec({"name": "MyTask", "type": ttype, "data": "data/MyTask"}, "my/MyTask.yaml")
    assert spec.evaluation.main_score == main_score
    assert spec.source.group == "User tasks" and spec.citation is None and spec.license is None
    assert (spec.evaluation.clustering is not None) == (ttype == "Clustering")


def test_citable_fields_required_only_for_the_benchmarks_own_tasks() -> None:
    from medeval.errors import SpecError
    from medeval.spec import parse_spec

    data = _packaged("WikiSyndromesClassification")
    del data["citation"], data["source"]["bibtex"]
    assert parse_spec(data, "my/WikiSyndromesClassification.yaml").citation is None  # a user's copy: fine
    with pytest.raises(SpecError) as err:
        parse_spec(data, "tasks/WikiSyndromesClassification.yaml", own=True)
    lines = str(err.value).splitlines()
    assert [line.split("'")[1] for line in lines] == ["citation", "source.bibtex"]
    assert all("required for the benchmark's own tasks (files in tasks/)" in line and "citable card" in line
               for line in lines)


def test_packaged_yaml_missing_a_citable_field_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from medeval import paths
    from medeval.errors import SpecError
    from medeval.spec import load_spec

    data = _packaged("WikiSyndromesClassification")
    del data["reference"]
    (tmp_path / "WikiSyndromesClassification.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setattr(paths, "packaged_specs_dir", lambda: tmp_path)
    with pytest.raises(SpecError, match=r"field 'reference': required for the benchmark's own tasks"):
        load_spec(tmp_path / "WikiSyndromesClassification.yaml")


@pytest.mark.parametrize(("given", "stored"), [("MIT", "mit"), ("Apache-2.0", "apache-2.0"), ("CC-BY-4.0", "cc-by-4.0"),
                                               ("https://example.org/licence", "https://example.org/licence")])
def test_license_ids_any_case(given: str, stored: str) -> None:
    from medeval.spec import parse_spec

    assert parse_spec({"name": "MyTask", "type": "Retrieval", "data": "d", "license": given}).license == stored


def test_unknown_license_is_one_line_with_close_ids() -> None:
    from medeval.errors import SpecError
    from medeval.spec import parse_spec

    with pytest.raises(SpecError) as err:
        parse_spec({"name": "MyTask", "type": "Retrieval", "data": "d", "license": "MTI"}, "my/MyTask.yaml")
    (line,) = str(err.value).splitlines()
    assert line.startswith("my/MyTask.yaml: field 'license':") and "did you mean mit" in line and "URL" in line
    assert "cc-by-nd-2.1-jp" not in line  # no dump of every licence id


def test_cite_a_user_task_without_bibtex_says_what_to_add(user_tasks: Path) -> None:
    code, output = _cli("cite", "--include-path", str(user_tasks), "GoodRetrieval")
    assert code != 0 and "GoodRetrieval: its YAML gives no BibTeX; add 'citation'" in output and "Traceback" not in output


def test_a_build_stamps_clean_data_so_every_load_is_the_cheap_one(tmp_path: Path) -> None:
    """Issue 16's overhead target: the checks across rows run once, right after the build, not on the first load."""
    import json as _json

    from medeval import checks, data as datamod
    from medeval.build import _check_once
    from medeval.catalog import get_spec

    spec = get_spec("CCSCategoryClassification")
    folder = tmp_path / "CCSCategoryClassification"
    rows = [{"text": f"condition {i}", "label": "a" if i % 2 else "b"} for i in range(8)]
    datamod.write_task_data(folder, {"data/train": rows, "data/test": rows}, manifest={"builder": "test"})
    assert not (folder / checks.STAMP).exists()
    _check_once(folder, spec)
    stamp = _json.loads((folder / checks.STAMP).read_text())
    assert sorted(stamp["tables"]) == ["data/test", "data/train"]
    seen: list[bool] = []
    real = checks.check_tables

    def spy(task_type, read, train_split, eval_splits, cross_rows=True):  # type: ignore[no-untyped-def]
        seen.append(cross_rows)
        return real(task_type, read, train_split, eval_splits, cross_rows=cross_rows)

    import pytest as _pytest

    mp = _pytest.MonkeyPatch()
    mp.setattr(checks.task_folder, "check_tables", spy)  # where read_and_check looks it up
    try:  # the loader's first read (train split first) finds the build's stamp: no checks across rows
        tables = checks.read_checked_tables(folder, "Classification", ["data/train", "data/test"], "train", ["test"])
    finally:
        mp.undo()
    assert seen == [False] and len(tables["data/test"]) == 8


def test_a_table_in_both_formats_is_one_line_naming_both(tmp_path: Path) -> None:
    root = write_user_tasks(tmp_path / "tasks", {"TwinTablesRetrieval": ("Retrieval", _retrieval(), [])})
    folder = root / "data" / "TwinTablesRetrieval"
    pq.write_table(pa.table({"query-id": ["q1"], "corpus-id": ["d1"], "score": [1]}), folder / "qrels" / "test.parquet")
    code, output = _cli("check", "--include-path", str(root), "TwinTablesRetrieval")
    assert code == 1
    _one_line(output, "TwinTablesRetrieval", ["test.parquet and", "test.jsonl both hold table 'qrels/test'",
                                               "keep one of the two files"])


def test_check_without_task_names_checks_every_task_of_the_include_path(examples_dir: Path, tmp_path: Path) -> None:
    code, output = _cli("check", "--include-path", str(examples_dir))
    assert code == 0, output
    assert "ok: ClinicTriage:" in output and "ok: SymptomSearch:" in output
    code, output = _cli("check")
    assert code == 2 and "name the tasks to check" in output and "Traceback" not in output
    (tmp_path / "empty").mkdir()
    code, output = _cli("check", "--include-path", str(tmp_path / "empty"))
    assert code == 2 and "no task YAMLs found there" in output
