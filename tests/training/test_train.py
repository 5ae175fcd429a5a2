"""medeval train: config validation, pair builders, the leakage filter, one-source batches, a tiny CPU run.

The training run is tiny (20 pairs, 4 steps, max length 32, all-MiniLM-L6-v2 from PyPI) and checks that the loss on
the training pairs goes down and that ``medeval run`` can score the saved model on the example user task.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from medeval.cli import main
from medeval.training.config import TrainingConfigError, load_config, parse_config
from medeval.training.leakage import TaskTextIndex, filter_pairs, normalize
from medeval.training.pair_sources import MIMIC_TEMPLATE, build_pairs
from medeval.training.pairs import Pair

REPO = Path(__file__).resolve().parents[2]
CLINIC = REPO / "examples" / "my_tasks" / "ClinicTriage.yaml"


def _tiny_config(tmp: Path, source_dir: Path, **over: object) -> Path:
    cfg = {
        "name": "test/tiny-medte",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": 32,
        "loss": {"temperature": 0.07, "mini_batch_size": 8},
        "training": {"batch_size": 5, "max_steps": 4, "learning_rate": 2.0e-4, "warmup_steps": 0, "precision": "fp32",
                     "device": "cpu", "logging_steps": 1, "save_steps": 0},
        "data": {"source_dir": str(source_dir), "sources": {"medquad": {}}},
        "leakage": {"benchmarks": [], "tasks": [str(CLINIC)]},
    }
    cfg.update(over)
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _write_medquad(root: Path, qa: list[tuple[str, str]]) -> Path:
    """A tiny MedQuAD-layout folder (one XML document per pair) in ``root/medquad/1_Test_QA``."""
    folder = root / "medquad" / "1_Test_QA"
    folder.mkdir(parents=True)
    for i, (q, a) in enumerate(qa):
        (folder / f"{i:07d}.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document id="{i:07d}" source="Test"><Focus>f{i}</Focus><QAPairs>'
            f'<QAPair pid="1"><Question qid="{i:07d}-1" qtype="information">{q}</Question><Answer>{a}</Answer></QAPair>'
            "</QAPairs></Document>\n",
            encoding="utf-8",
        )
    return root


# a few learnable pairs: a condition's question -> a distinctive answer about it
TOPICS = ["asthma", "anemia", "gout", "migraine", "psoriasis", "glaucoma", "scurvy", "rickets", "tetanus", "measles",
          "rabies", "malaria", "cholera", "typhoid", "leprosy", "mumps", "rubella", "shingles", "tinnitus", "vertigo"]
QA = [(f"What is {t} ?", f"{t.capitalize()} is a condition; people with {t} need care for {t}.") for t in TOPICS]


# --------------------------------------------------------------------------------------------------- configs
def test_shipped_configs_are_the_recipe() -> None:
    full = load_config(REPO / "configs" / "medte.yaml")
    assert full.base_model == "thenlper/gte-base" and full.pooling == "mean" and full.normalize
    assert full.loss.scale == pytest.approx(1 / 0.07)
    t = full.training
    assert (t.batch_size, t.max_steps, t.learning_rate, t.weight_decay, t.warmup_steps) == (800, 8000, 5e-5, 0.01, 1000)
    assert (t.lr_scheduler, t.precision, full.max_seq_length) == ("constant_with_warmup", "bf16", 512)
    assert set(full.data.sources.enabled()) == {"wikipedia", "mimic", "pubmed", "biorxiv", "medrxiv", "clinicaltrials", "medmcqa", "medqa", "medquad"}
    assert full.leakage.enabled
    mini = load_config(REPO / "configs" / "medte-mini.yaml")
    assert mini.training.device == "cpu" and mini.training.precision == "fp32" and mini.leakage.enabled
    assert 128 <= mini.max_seq_length <= 256


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        ({"training": {"learning_rate": -1}}, "training.learning_rate"),
        ({"training": {"batch_sise": 8}}, "training.batch_sise"),
        ({"data": {"sources": {"medquad": {"max_pairs": 0}}}}, "data.sources.medquad.max_pairs"),
        ({"data": {"sources": {"pubmeed": {}}}}, "data.sources.pubmeed"),
        ({"data": {"sources": {}}}, "data"),
        ({"name": "no-org"}, "name"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, edit: dict, field: str) -> None:
    path = _tiny_config(tmp_path, tmp_path, **edit)
    with pytest.raises(TrainingConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and f"field '{field}'" in str(err.value)


def test_cli_reports_bad_config_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _tiny_config(tmp_path, tmp_path, loss={"temperature": 0})
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "field 'loss.temperature'" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------------ pair builders
def test_pair_builders_on_the_datakit(datakit: Path) -> None:
    cfg = parse_config({"name": "a/b", "base_model": "x", "data": {"source_dir": str(datakit), "skip_missing": True, "sources": {
        "pubmed": {}, "medrxiv": {"start": "2018-01-01", "end": "2024-12-31"}, "clinicaltrials": {},
        "medqa": {"splits": None}, "medmcqa": {"splits": None}, "medquad": {"max_pairs": 50}, "wikipedia": {"categories": ["Cardiology"]},
    }}})
    result = build_pairs(cfg.data)
    p = result.pairs
    assert len(p["medquad"]) == 50 and sum(x.anchor.endswith("?") for x in p["medquad"]) > 40  # questions
    assert all("/" in x.id for x in p["medquad"])  # <collection folder>/<qid>
    assert all(x.id.isdigit() for x in p["pubmed"]) and len(p["pubmed"]) > 50
    assert all(x.id.startswith("10.1101/") for x in p["medrxiv"])
    assert all(x.id.startswith("NCT") and x.positive.startswith("measure: ") and "\n" not in x.positive for x in p["clinicaltrials"])
    assert len(p["medqa"]) > 1000
    # the datakit's MedMCQA is the converted layout without explanations; it has no Wikipedia data at all
    assert "medmcqa" not in p and "no usable pair" in result.skipped["medmcqa"]
    assert "wikipedia" in result.skipped and "categorymembers" in result.skipped["wikipedia"]
    # the same config gives the same pairs (seeded cap)
    assert build_pairs(cfg.data).pairs["medquad"] == p["medquad"]


def test_missing_source_is_an_error_unless_skipped(tmp_path: Path) -> None:
    data = {"source_dir": str(tmp_path), "sources": {"pubmed": {}}}
    with pytest.raises(Exception) as err:
        build_pairs(parse_config({"name": "a/b", "base_model": "x", "data": data}).data)
    assert "training source 'pubmed'" in str(err.value) and "pubmed" in str(err.value)


def test_mimic_pairs_from_a_fake_mimic_folder(tmp_path: Path, data_home: Path) -> None:
    from mimic_fixture import generate

    fx = generate(tmp_path / "mimic", n_notes=60, seed=3)
    cfg = parse_config({"name": "a/b", "base_model": "x", "data": {"mimic_dir": str(fx.root), "sources": {"mimic": {}}}})
    pairs = build_pairs(cfg.data).pairs["mimic"]
    expected = {nid: t for nid, t in fx.notes.items() if t.get("dd") and t.get("cc") and t.get("hpi")}
    assert {p.id for p in pairs} == set(expected)
    for p in pairs:
        t = expected[p.id]
        assert p.anchor == t["dd"] and p.positive == MIMIC_TEMPLATE.format(cc=t["cc"], hpi=t["hpi"])


# ------------------------------------------------------------------------------------------------- leakage
def test_normalize() -> None:
    assert normalize("  Acute  MI!\n(STEMI) ") == "acute mi stemi"
    assert normalize("well-known") == normalize("Well known") == "well known"
    assert normalize("...") == ""


def test_leakage_filter_removes_planted_overlaps(tmp_path: Path) -> None:
    from medeval.data import read_table

    texts = [r["text"] for r in read_table(REPO / "examples/my_tasks/data/ClinicTriage", "data/test")]
    train_texts = [r["text"] for r in read_table(REPO / "examples/my_tasks/data/ClinicTriage", "data/train")]
    index = TaskTextIndex.from_tasks([], [str(CLINIC)])
    assert "ClinicTriage" in index.checked and index.checked["ClinicTriage"]["texts"] >= len(texts)
    planted = {
        "medquad": [
            Pair("q1", texts[0].upper() + "!!", "an unrelated answer about nothing in the task"),  # anchor leaks (case, punct.)
            Pair("q2", "a clean question", "a clean answer"),
            Pair("q3", "another clean question", "  " + texts[1].replace(" ", "   ") + " ."),  # positive leaks (spacing)
        ],
        "pubmed": [
            Pair("p1", "title", train_texts[0]),  # the classifier's training rows are embedded too
            Pair("p2", "a title", "an abstract that is not in the task"),
        ],
    }
    kept, report = filter_pairs(planted, index)
    assert [p.id for p in kept["medquad"]] == ["q2"] and [p.id for p in kept["pubmed"]] == ["p2"]
    assert report["sources"]["medquad"]["by_task"]["ClinicTriage"] == {"count": 2, "pair_ids": ["q1", "q3"]}
    assert report["sources"]["pubmed"]["removed"] == 1 and report["removed_total"] == 3 and report["kept_total"] == 2
    # the report holds ids and counts, never the texts
    dumped = json.dumps(report)
    assert texts[0] not in dumped and "clean answer" not in dumped


def test_leakage_lines_of_a_multiline_text_count(tmp_path: Path) -> None:
    folder = tmp_path / "T"
    folder.mkdir()
    from medeval.data import write_task_data

    write_task_data(folder, {"data/test": [{"sentences": "first paragraph here\nsecond paragraph here", "labels": "a"}]}, manifest={})
    index = TaskTextIndex()
    index.add_task("T", folder)
    kept, report = filter_pairs({"wikipedia": [Pair("1", "First paragraph here.", "x y z"), Pair("2", "first", "second")]}, index)
    assert [p.id for p in kept["wikipedia"]] == ["2"]


def test_unbuilt_tasks_are_listed_not_checked(data_home: Path) -> None:
    index = TaskTextIndex.from_tasks([], ["TrialsTitleOutcomesRetrieval", "MimicChiefComplaintDiagnosisRetrieval"], build_missing=True)
    assert not index.checked
    assert "medeval build -t TrialsTitleOutcomesRetrieval" in index.not_checked["TrialsTitleOutcomesRetrieval"]
    assert "--mimic-dir" in index.not_checked["MimicChiefComplaintDiagnosisRetrieval"]


# ------------------------------------------------------------------------------------------- one source per batch
@pytest.mark.parametrize("sampler", ["proportional", "round_robin"])
def test_every_batch_comes_from_one_source(minilm_path: str, tmp_path: Path, sampler: str) -> None:
    from medeval.training.trainer import build_model, make_trainer, train_datasets, training_arguments

    sizes = {"alpha": 23, "beta": 9, "gamma": 14}
    pairs = {s: [Pair(f"{s}{i}", f"{s} question {i}", f"{s} answer {i}") for i in range(n)] for s, n in sizes.items()}
    cfg = load_config(_tiny_config(tmp_path, tmp_path, training={"batch_size": 4, "multi_dataset_sampler": sampler, "device": "cpu", "precision": "fp32"}))
    model, _ = build_model(cfg, device="cpu")
    trainer = make_trainer(cfg, model, train_datasets(pairs), training_arguments(cfg, tmp_path / "ck", 10, show_progress=False))
    loader = trainer.get_train_dataloader()
    dataset = loader.dataset
    batches = [list(b) for b in loader.batch_sampler]
    seen: dict[str, set[str]] = {s: set() for s in sizes}
    for b in batches:
        rows = [dataset[i] for i in b]
        sources = {r["anchor"].split()[0] for r in rows}
        assert len(sources) == 1, f"a batch mixes sources {sources}"
        assert len({r["anchor"] for r in rows}) == len(rows)  # no duplicates within a batch
        seen[sources.pop()].update(r["anchor"] for r in rows)
    if sampler == "proportional":  # every pair of every source once per epoch
        assert all(len(seen[s]) == n for s, n in sizes.items())
    else:  # round robin: the same number of batches from each source, until the smallest runs out
        assert len(batches) == 3 * (sizes["beta"] // 4 + (sizes["beta"] % 4 > 0))


# ------------------------------------------------------------------------------------------------ a tiny run
def test_tiny_training_run_lowers_the_loss_and_the_model_scores(tmp_path: Path, data_home: Path, minilm_path: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    source = _write_medquad(tmp_path / "src", QA)
    config = _tiny_config(tmp_path, source)
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["steps"] == 4 and summary["pairs"]["per_source_trained"] == {"medquad": 20}
    assert summary["probe_loss"]["after"] < summary["probe_loss"]["before"]
    assert summary["loss_curve"] and summary["loss_curve"][0]["step"] == 1
    report = json.loads((out / "leakage_report.json").read_text())
    assert report["checked_tasks"]["ClinicTriage"]["texts"] > 0 and report["removed_total"] == 0
    rev = summary["revision"]
    assert f"--model-revision {rev}" in printed
    model_dir = out / "model"
    assert (model_dir / "modules.json").is_file() and not (model_dir / "README.md").exists()

    code = main(["run", "-m", str(model_dir), "--model-name", "test/tiny-medte", "--model-revision", rev,
                 "-t", str(CLINIC), "-o", str(tmp_path / "lb"), "--no-cache"])
    assert code == 0
    result = tmp_path / "lb" / "results" / "test__tiny-medte" / rev / "ClinicTriage.json"
    score = json.loads(result.read_text())["scores"]["test"][0]["main_score"]
    assert 0.0 <= score <= 1.0
