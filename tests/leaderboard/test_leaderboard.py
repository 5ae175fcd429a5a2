"""medeval.leaderboard: loading mteb result folders and every aggregate the leaderboard shows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import medeval
from medeval.errors import ResultError
from medeval.leaderboard import (
    PAPER_MODEL_IDS,
    Leaderboard,
    bootstrap_ci,
    borda_rank,
    constant_chance,
    load_leaderboard,
    paired_difference,
    task_table,
    tie_groups,
)
from medeval.site.demo import write_model_meta, write_result, write_run_settings

TERMS = "MedEval-Terms(v1)"
V1 = "MedEval(v1)"


def terms_tasks() -> list[str]:
    return sorted(t.metadata.name for t in medeval.get_tasks(benchmark=TERMS))


def v1_tasks() -> list[str]:
    return sorted(t.metadata.name for t in medeval.get_tasks(benchmark=V1))


def write_model(root: Path, name: str, scores: dict[str, float], revision: str = "rev1", **meta) -> Path:
    folder = root / "results" / name.replace("/", "__") / revision
    write_model_meta(folder, name, revision, **meta)
    for task, score in scores.items():
        write_result(folder, task, score)
    return folder


# ----------------------------------------------------------------------------------------------- pure functions
def test_borda_matches_a_hand_computed_case():
    # n = 3 models. t1: A best, B and C tie (rank 2.5 each) -> points A 2, B 0.5, C 0.5
    # t2: B, A, C -> B 2, A 1, C 0.   t3 (A missing): C, B -> C 2, B 1, A 0
    # totals: A 3, B 3.5, C 2.5 -> ranks B 1, A 2, C 3
    wide = pd.DataFrame(
        {"t1": [0.9, 0.8, 0.8], "t2": [0.5, 0.6, 0.4], "t3": [np.nan, 0.7, 0.9]}, index=["A", "B", "C"]
    )
    assert borda_rank(wide).to_dict() == {"A": 2, "B": 1, "C": 3}


def test_borda_ties_share_the_lowest_rank():
    wide = pd.DataFrame({"t1": [0.9, 0.5, 0.1], "t2": [0.5, 0.9, 0.1]}, index=["A", "B", "C"])
    assert borda_rank(wide).to_dict() == {"A": 1, "B": 1, "C": 3}


def test_borda_agrees_with_mteb_on_random_boards():
    """Same ranks as mteb's own polars implementation (mteb.benchmarks._create_table), missing cells included."""
    pl = pytest.importorskip("polars")
    from mteb.benchmarks._create_table import _borda_rank_from_long

    rng = np.random.default_rng(7)
    for trial in range(5):
        vals = rng.integers(0, 6, size=(8, 6)) / 10  # coarse scores: plenty of ties
        vals[rng.random(vals.shape) < 0.25] = np.nan
        wide = pd.DataFrame(vals, index=[f"m{i}" for i in range(8)], columns=[f"t{j}" for j in range(6)])
        wide = wide[wide.notna().any(axis=1)]
        long = wide.stack().rename("score").reset_index()
        long.columns = ["model_name", "task_name", "score"]
        theirs = _borda_rank_from_long(pl.from_pandas(long), n_models=len(wide))
        theirs = dict(zip(theirs["model_name"].to_list(), theirs["Rank (Borda)"].to_list()))
        assert borda_rank(wide).to_dict() == theirs, f"trial {trial}"


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(1)
    wide = pd.DataFrame(rng.uniform(0.3, 0.9, size=(3, 20)), index=["a", "b", "c"])
    wide.iloc[2, 1:] = np.nan  # one task only: a degenerate interval
    ci = bootstrap_ci(wide, n_boot=500, seed=3)
    pd.testing.assert_frame_equal(ci, bootstrap_ci(wide, n_boot=500, seed=3))
    assert not ci.equals(bootstrap_ci(wide, n_boot=500, seed=4))
    for m in ("a", "b"):
        mean = wide.loc[m].mean()
        assert ci.loc[m, "CI low"] < mean < ci.loc[m, "CI high"]
    assert ci.loc["c", "CI low"] == ci.loc["c", "CI high"] == wide.iloc[2, 0]
    # a model's interval does not depend on the other models on the board
    alone = bootstrap_ci(wide.loc[["b"]], n_boot=500, seed=3)
    assert alone.loc["b"].tolist() == ci.loc["b"].tolist()


def test_identical_scores_get_identical_intervals_whatever_the_names():
    row = [0.41, 0.55, 0.62, 0.38, 0.71, 0.49]
    wide = pd.DataFrame([row, row], index=["org/first-name", "zzz/another"])
    ci = bootstrap_ci(wide, n_boot=300, seed=42)
    assert ci.loc["org/first-name"].tolist() == ci.loc["zzz/another"].tolist()


def test_tie_rule_uses_a_paired_test_where_per_model_intervals_overlap():
    # 12 tasks of very different difficulty; "b" is a little worse than "a" on every single task, "c" is a's twin
    # with noise that goes both ways. Each model's own interval is wide (task difficulty), so a and b overlap.
    rng = np.random.default_rng(7)
    difficulty = rng.uniform(0.2, 0.9, size=12)
    a = difficulty
    b = difficulty - rng.uniform(0.01, 0.03, size=12)
    c = difficulty + np.where(np.arange(12) % 2 == 0, 0.02, -0.02)
    wide = pd.DataFrame([a, b, c], index=["a", "b", "c"], columns=[f"t{i}" for i in range(12)])
    ci = bootstrap_ci(wide, n_boot=1000, seed=42)
    assert ci.loc["b", "CI high"] > ci.loc["a", "CI low"]  # the old rule would tie a and b
    d = paired_difference(wide.loc["a"], wide.loc["b"], n_boot=1000, seed=42)
    assert d.separated and d.low > 0 and d.wins == 12
    groups = tie_groups(wide, ["a", "c", "b"], n_boot=1000, seed=42)
    assert groups["Tied group"].tolist() == [1, 1, 2]  # c is not separated from a; b is
    assert groups.loc["c", "vs leader tasks"] == 12 and np.isnan(groups.loc["a", "vs leader"])


def test_paired_test_needs_enough_common_tasks():
    wide = pd.DataFrame({"t1": [0.9, 0.1], "t2": [0.9, 0.1], "t3": [np.nan, 0.5]}, index=["a", "b"])
    d = paired_difference(wide.loc["a"], wide.loc["b"])
    assert d.n_tasks == 2 and not d.separated  # two tasks in common: too few to separate anything
    assert tie_groups(wide, ["a", "b"])["Tied group"].tolist() == [1, 1]


def test_constant_predictor_chance_levels():
    pair = medeval.get_spec("MedMCQAPairClassification")  # ratio 1:3 -> all-positive F1 = 2 * 0.25 / 1.25
    assert constant_chance(pair) == pytest.approx(0.4)
    stats = {"test": {"label_statistics": {"labels": {"0": {"count": 75}, "1": {"count": 25}}}}}
    assert constant_chance(pair, stats) == pytest.approx(0.4)
    cls = medeval.get_spec(terms_tasks()[0]) if medeval.get_spec(terms_tasks()[0]).type == "Classification" else next(
        medeval.get_spec(t) for t in terms_tasks() if medeval.get_spec(t).type == "Classification")
    three = {"test": {"label_statistics": {"labels": {"x": {"count": 50}, "y": {"count": 30}, "z": {"count": 20}}}}}
    assert constant_chance(cls, three) == pytest.approx(2 * 0.5 / 1.5 / 3)  # always "x": F1 2/3 on x, 0 on y, z
    assert constant_chance(cls) is None  # no label counts, no claim


# ----------------------------------------------------------------------------------------------- loading + tables
@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, float]]]:
    """Three models on MedEval-Terms: full, partial, and one written by mteb's own ResultCache."""
    import mteb
    from mteb.models import ModelMeta

    root = tmp_path_factory.mktemp("board")
    tasks = terms_tasks()
    rng = np.random.default_rng(0)
    full = {t: round(float(rng.uniform(0.3, 0.9)), 6) for t in tasks}
    partial = {t: round(float(rng.uniform(0.3, 0.9)), 6) for t in tasks[:5]}
    write_model(root, "org/full", full, n_parameters=22_000_000, embed_dim=384, max_tokens=256, license="mit",
                open_weights=True, release_date="2021-08-30", reference="https://example.org/full")
    write_run_settings(root / "results" / "org__full" / "rev1", list(full), batch_size=16)
    write_model(root, "org/partial", partial, embed_dim=[256, 768], open_weights=False)
    # a third model written by mteb itself (ResultCache.save_to_cache: result, model_meta.json, run_settings.jsonl)
    by_mteb = {t: round(float(rng.uniform(0.3, 0.9)), 6) for t in tasks}
    meta = ModelMeta(
        name="mteb/cached", revision="abc123", release_date=None, languages=["eng-Latn"], n_parameters=110_000_000,
        memory_usage_mb=None, max_tokens=512, embed_dim=768, license="apache-2.0", open_weights=True,
        public_training_code=None, public_training_data=None, framework=["Sentence Transformers"],
        similarity_fn_name="cosine", use_instructions=False, training_datasets=None, loader=None, reference=None,
    )
    cache = mteb.ResultCache(cache_path=root)
    for t, score in by_mteb.items():
        cls = medeval.catalog.get_task_class(t)
        res = mteb.TaskResult.from_task_results(
            cls, {"test": {"default": {"main_score": score, cls.metadata.main_score: score}}}, evaluation_time=2.0
        )
        cache.save_to_cache(res, meta, encode_kwargs={"batch_size": 8})
    return root, {"org/full": full, "org/partial": partial, "mteb/cached": by_mteb}


def test_scores_are_read_with_mteb(board):
    root, written = board
    lb = load_leaderboard(root)
    assert lb.warnings == []
    assert set(lb.scores["model"]) == set(written)
    for model, scores in written.items():
        got = lb.scores[lb.scores["model"] == model].set_index("task")["score"].to_dict()
        assert got == pytest.approx(scores)
    cached = lb.models.loc["mteb/cached"]
    assert cached["Batch size"] == "8" and cached["Revision"] == "abc123" and cached["Parameters"] == 110_000_000
    full = lb.models.loc["org/full"]
    assert full["Batch size"] == "16" and full["Licence"] == "mit" and full["Open weights"] is True
    assert full["Release date"] == "2021-08-30" and full["Embedding dim"] == 384
    assert lb.models.loc["org/partial", "Embedding dim"] == 768  # Matryoshka list: the largest, as mteb shows
    # the tidy frame carries each task's metadata from its spec
    tasks = task_table()
    row = lb.scores.iloc[0]
    assert row["task_type"] == tasks.loc[row["task"], "task_type"] and row["source"] == tasks.loc[row["task"], "source"]


def test_strict_and_completed_means_and_coverage(board):
    root, written = board
    lb = load_leaderboard(root)
    s = lb.summary(TERMS, n_boot=200).set_index("Model")
    n = len(terms_tasks())
    full, partial = written["org/full"], written["org/partial"]
    assert s.loc["org/full", "Mean (Task)"] == pytest.approx(np.mean(list(full.values())))
    assert s.loc["org/full", "Coverage"] == f"{n}/{n}"
    assert math.isnan(s.loc["org/partial", "Mean (Task)"]) and math.isnan(s.loc["org/partial", "Mean (TaskType)"])
    assert s.loc["org/partial", "Mean (Task, completed)"] == pytest.approx(np.mean(list(partial.values())))
    assert s.loc["org/partial", "Coverage"] == f"5/{n}"
    types = task_table().loc[list(partial), "task_type"]
    by_type = {t: np.mean([partial[k] for k in types[types == t].index]) for t in set(types)}
    assert s.loc["org/partial", "Mean (TaskType, completed)"] == pytest.approx(np.mean(list(by_type.values())))
    for t, v in by_type.items():
        assert s.loc["org/partial", t] == pytest.approx(v)
    all_types = task_table().loc[list(full), "task_type"]
    strict_type = np.mean([np.mean([full[k] for k in all_types[all_types == t].index]) for t in set(all_types)])
    assert s.loc["org/full", "Mean (TaskType)"] == pytest.approx(strict_type)
    # ranks: Borda over the board, reproduced from the wide table; CI brackets the completed mean
    assert s["Rank (Borda)"].to_dict() == borda_rank(lb.wide(TERMS)).to_dict()
    for m in written:
        assert s.loc[m, "CI low"] <= s.loc[m, "Mean (Task, completed)"] <= s.loc[m, "CI high"]
    assert list(s.index) == list(s.sort_values("Rank (Borda)").index)  # best first
    assert not s["Reported"].any()  # the paper reports nothing on MedEval-Terms


def test_reported_rows_never_enter_ranks(board):
    root, _ = board
    tasks = v1_tasks()
    write_model(root, "org/v1-model", {tasks[0]: 0.5, tasks[1]: 0.6})
    try:
        lb = load_leaderboard(root)
        s = lb.summary(V1, n_boot=100, reported=True)
        plain = lb.summary(V1, n_boot=100)
        table = lb.reported_table(V1)
    finally:
        import shutil

        shutil.rmtree(root / "results" / "org__v1-model")
    rep = s[s["Reported"]]
    assert len(rep) == len(table) == 5
    assert rep["Rank (Borda)"].isna().all() and rep["Tied group"].isna().all() and rep["CI low"].isna().all()
    assert rep["Mean (Task)"].isna().all()  # per-type means only: no task mean is invented
    # one name per model: the exact id the paper ran, where the paper says which
    assert set(table["Model"]) >= {PAPER_MODEL_IDS["MedTE (gte-base fine-tuned)"], "sentence-transformers/all-MiniLM-L6-v2"}
    assert table["Mean (TaskType)"].is_monotonic_decreasing
    computed = s[~s["Reported"]]
    assert list(computed["Model"]) == ["org/v1-model"] and computed["Rank (Borda)"].tolist() == [1]
    assert computed["Coverage"].tolist() == [f"2/{len(tasks)}"] and computed["Provisional"].tolist() == [True]
    assert s.index[-len(rep):].tolist() == rep.index.tolist()  # reported rows come after every ranked row
    assert plain["Reported"].sum() == 0  # by default the summary holds run rows only


def test_tasks_at_chance_are_left_out_of_ranks(tmp_path):
    tasks = v1_tasks()
    pair = "MedMCQAPairClassification"
    others = [t for t in tasks if t != pair][:4]
    # "a" wins the at-chance task by a hair, "b" wins the four others: b must rank first
    write_model(tmp_path, "org/a", {pair: 0.4003, **{t: 0.50 for t in others}})
    write_model(tmp_path, "org/b", {pair: 0.4001, **{t: 0.51 for t in others}})
    lb = load_leaderboard(tmp_path)
    assert lb.tasks_at_chance(V1) == [pair]
    s = lb.summary(V1, n_boot=100).set_index("Model")
    assert s.loc["org/b", "Rank (Borda)"] == 1 and s.loc["org/a", "Rank (Borda)"] == 2
    assert s.loc["org/a", "Ranked tasks"] == 4


def test_names_that_differ_only_by_case_are_one_model(tmp_path):
    tasks = terms_tasks()
    write_model(tmp_path, "Case/Model", {t: 0.5 for t in tasks[:3]})
    write_model(tmp_path, "case/model", {t: 0.5 for t in tasks[:2]})
    lb = load_leaderboard(tmp_path)
    assert list(lb.models.index) == ["Case/Model"]
    assert any("differ only by case" in w and "case__model" in w for w in lb.warnings)


def test_group_means_by_source(board):
    root, written = board
    lb = load_leaderboard(root)
    means, counts = lb.group_means(TERMS, by="source")
    tasks = task_table()
    for model, scores in written.items():
        for source in means.columns:
            mine = [v for t, v in scores.items() if tasks.loc[t, "source"] == source]
            assert counts.loc[model, source] == len(mine)
            if mine:
                assert means.loc[model, source] == pytest.approx(np.mean(mine))
            else:
                assert math.isnan(means.loc[model, source])
    sizes = counts.attrs["sizes"]
    assert sum(sizes.values()) == len(terms_tasks())
    assert list(means.columns) == sorted(sizes, key=lambda g: (-sizes[g], g))  # biggest source first


def test_task_and_model_views(board):
    root, written = board
    lb = load_leaderboard(root)
    task = terms_tasks()[0]
    ts = lb.task_scores(task)
    expected = sorted(((m, s[task]) for m, s in written.items() if task in s), key=lambda x: -x[1])
    assert list(ts["model"]) == [m for m, _ in expected] and ts["rank"].tolist() == list(range(1, len(expected) + 1))
    ms = lb.model_scores("org/partial")
    assert set(ms["task"]) == set(written["org/partial"])
    assert (ms["of"] == 3).all() and ms["rank"].between(1, 3).all()


# ----------------------------------------------------------------------------------------------- bad input
def test_broken_files_are_reported_and_skipped(tmp_path):
    tasks = terms_tasks()
    good = write_model(tmp_path, "org/good", {t: 0.5 + i / 100 for i, t in enumerate(tasks[:4])})
    bad = write_model(tmp_path, "org/bad", {tasks[0]: 0.7, tasks[1]: float("nan")})
    (bad / f"{tasks[2]}.json").write_text("{ not json", encoding="utf-8")
    (bad / f"{tasks[3]}.json").write_text(json.dumps({"task_name": tasks[3], "scores": "oops"}), encoding="utf-8")
    data = json.loads((good / f"{tasks[0]}.json").read_text())
    data["task_name"] = "NotAMedevalTask"
    (bad / "NotAMedevalTask.json").write_text(json.dumps(data), encoding="utf-8")
    data = json.loads((good / f"{tasks[1]}.json").read_text())
    (bad / f"{tasks[4]}.json").write_text(json.dumps(data), encoding="utf-8")  # holds tasks[1] under another name
    out_of_range = json.loads((good / f"{tasks[2]}.json").read_text())
    out_of_range["scores"]["test"][0]["main_score"] = 1.7
    (bad / f"{tasks[5]}.json").write_text(json.dumps(out_of_range).replace(tasks[2], tasks[5]), encoding="utf-8")
    (bad / "run_settings.jsonl").write_text("{broken\n", encoding="utf-8")
    (tmp_path / "results" / "org__empty").mkdir()

    lb = load_leaderboard(tmp_path / "results")  # the results/ root works as well as its parent
    text = "\n".join(lb.warnings)
    for name, why in [
        (f"{tasks[2]}.json", "not a readable mteb result"),
        (f"{tasks[3]}.json", "not a readable mteb result"),
        ("NotAMedevalTask.json", "is not a medeval task"),
        (f"{tasks[4]}.json", "rename it"),
        (f"{tasks[5]}.json", "outside [0, 1]"),
        (f"{tasks[1]}.json", "shown as '—'"),
        ("run_settings.jsonl:1", "invalid JSON"),
        ("org__empty", "no <revision>/ folders"),
    ]:
        assert any(name in w and why in w for w in lb.warnings), f"no warning for {name} ({why}):\n{text}"
    # the good model is complete; the bad one keeps its one good score and its NaN (shown as a dash)
    bad_scores = lb.scores[lb.scores["model"] == "org/bad"].set_index("task")["score"]
    assert bad_scores[tasks[0]] == 0.7 and math.isnan(bad_scores[tasks[1]]) and len(bad_scores) == 2
    s = lb.summary(TERMS, n_boot=50).set_index("Model")
    assert s.loc["org/bad", "Coverage"] == f"1/{len(tasks)}"  # NaN is not a completed task
    assert s.loc["org/good", "Coverage"] == f"4/{len(tasks)}"


def test_missing_meta_and_duplicate_revisions(tmp_path):
    tasks = terms_tasks()
    old = write_model(tmp_path, "org/m", {tasks[0]: 0.4}, revision="old")
    write_model(tmp_path, "org/m", {tasks[0]: 0.5, tasks[1]: 0.6}, revision="new")
    nometa = tmp_path / "results" / "other__model" / "r"
    write_result(nometa, tasks[0], 0.3)
    lb = load_leaderboard(tmp_path)
    assert lb.models.loc["org/m", "Revision"] == "new"  # the revision with most tasks is shown
    assert any(f"{old.parent.name}/{old.name}" in w and "another result set" in w for w in lb.warnings)
    assert "other/model" in lb.models.index  # name from the folder when model_meta.json is missing
    assert any("model_meta.json: missing" in w for w in lb.warnings)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ResultError, match="no such results folder"):
        load_leaderboard(tmp_path / "nope")


def test_empty_board(tmp_path):
    (tmp_path / "results").mkdir()
    lb = load_leaderboard(tmp_path)
    assert isinstance(lb, Leaderboard) and lb.scores.empty and lb.warnings == []
    s = lb.summary(V1, reported=True)
    assert s["Reported"].all() and len(s) == len(lb.reported_table(V1)) == 5
    assert lb.summary(V1).empty and lb.summary(TERMS).empty


def test_committed_descriptive_stats_describe_the_pinned_data():
    import json

    from medeval.leaderboard.descriptive import committed_stats, stats_dir

    files = sorted(stats_dir().glob("*.json"))
    assert {f.stem for f in files} >= set(terms_tasks())  # every offline task has its statistics committed
    for f in files:
        data = json.loads(f.read_text())
        spec = medeval.get_spec(data["task"])
        assert f.stem == data["task"] and data["dataset_revision"] == spec.dataset.revision, f
        assert set(spec.evaluation.eval_splits) <= set(data["stats"]), f
        assert committed_stats(data["task"]) == data["stats"]
    # chance levels come from them: CCS's constant predictor uses its test label counts
    ccs = medeval.get_spec("CCSCategoryClassification")
    counts = [v["count"] for v in committed_stats(ccs.name)["test"]["label_statistics"]["labels"].values()]
    p = max(counts) / sum(counts)
    assert constant_chance(ccs, committed_stats(ccs.name)) == pytest.approx(2 * p / (1 + p) / len(counts))
