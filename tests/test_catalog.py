"""The catalogue: 51 + 11 tasks, mteb-valid metadata, citations, lookups, and the not-built message."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

import medeval
from medeval.catalog import get_task_class
from medeval.errors import DataNotBuiltError, TaskNotFoundError

from conftest import shared_dir

SPEC_MD = (shared_dir() or Path("/nonexistent")) / "spec" / "medeval-v1-tasks.md"


def test_v1_counts_by_type() -> None:
    tasks = medeval.get_tasks(benchmark="MedEval(v1)")
    counts = collections.Counter(t.metadata.type for t in tasks)
    assert counts == {"Classification": 15, "Clustering": 11, "PairClassification": 12, "Retrieval": 13}
    assert len({t.spec.paper_id for t in tasks}) == 51
    assert all(t.spec.paper_id for t in tasks)


def test_v1_counts_by_source() -> None:
    groups = collections.Counter(t.spec.source.group for t in medeval.get_tasks(benchmark="MedEval(v1)"))
    assert groups == {"MIMIC-IV": 25, "Wikipedia": 11, "ClinicalTrials.gov": 4, "PMC": 3, "PubMed": 2, "MedMCQA": 2,
                      "MedQA": 1, "MedQuAD": 1, "bioRxiv": 1, "medRxiv": 1}


def test_llm_tasks_are_the_six_of_the_spec() -> None:
    llm = {t.metadata.name for t in medeval.get_tasks(benchmark="v1") if t.spec.construction.llm is not None}
    assert llm == {"WikiDiseasesPairClassification", "PubMedPairClassification", "PubMedQuestionRetrieval",
                   "MedQuADRetrieval", "BiorxivQuestionRetrieval", "MedrxivQuestionRetrieval"}
    assert all(medeval.get_spec(n).source.access == "needs-llm" for n in llm)


@pytest.mark.skipif(not SPEC_MD.is_file(), reason="../shared/spec is not present")
def test_names_and_paper_ids_match_the_spec() -> None:
    text = SPEC_MD.read_text()
    rows = re.findall(r"^\| (\w+)(?: \(LLM\))? \| (\w+) \|", text, flags=re.M)
    spec_pairs = {(n, p) for n, p in rows if p not in ("paper_id", "Classification")}
    ours = {(t.metadata.name, t.spec.paper_id) for t in medeval.get_tasks(benchmark="MedEval(v1)")}
    assert ours == spec_pairs


def test_terms_benchmark() -> None:
    tasks = medeval.get_tasks(benchmark="MedEval-Terms(v1)")
    assert len(tasks) == 11
    counts = collections.Counter(t.metadata.type for t in tasks)
    assert counts == {"Classification": 3, "Clustering": 2, "PairClassification": 2, "Retrieval": 4}
    assert all(t.spec.source.access == "open" for t in tasks)


def test_metadata_passes_mteb_validation() -> None:
    from mteb.languages import check_language_code

    for t in medeval.get_tasks():
        md = t.metadata
        md._validate_metadata()
        for code in md.eval_langs:
            check_language_code(code)
        assert md.is_filled(), md.name
        assert md.domains == ["Medical"]


def test_main_scores_are_what_mteb_reports() -> None:
    expected = {"Classification": "f1", "Clustering": "v_measure", "PairClassification": "similarity_f1", "Retrieval": "ndcg_at_10"}
    for t in medeval.get_tasks():
        assert t.metadata.main_score == expected[t.metadata.type]


def test_protocol_attributes_from_yaml() -> None:
    clf = medeval.get_task("WikiSyndromesClassification")
    assert (clf.samples_per_label, clf.n_experiments) == (8, 10)
    clu = medeval.get_task("WikiSyndromesClustering")
    assert clu.max_fraction_of_documents_to_embed is None and clu.max_document_to_embed is None
    assert (clu.kmeans_seeds, clu.k_mean_batch_size) == (10, 500)


def test_lookup_by_paper_id_and_errors() -> None:
    assert medeval.get_task("retrieval_medquad_dataset").metadata.name == "MedQuADRetrieval"
    with pytest.raises(TaskNotFoundError, match="did you mean WikiSyndromesClassification"):
        medeval.get_task("WikiSyndromeClassification")
    with pytest.raises(TaskNotFoundError, match="unknown benchmark"):
        medeval.get_tasks(benchmark="MedEval(v9)")
    with pytest.raises(TaskNotFoundError, match="unknown task type"):
        medeval.get_tasks(types=["Reranking"])


def test_filters_combine() -> None:
    names = [t.metadata.name for t in medeval.get_tasks(benchmark="MedEval(v1)", types=["Retrieval"])]
    assert len(names) == 13 and all(n.endswith("Retrieval") for n in names)


def test_unbuilt_task_says_how_to_build(data_home: Path) -> None:
    task = medeval.get_task("MimicReadmission30DayClassification")
    with pytest.raises(DataNotBuiltError) as err:
        task.load_data()
    msg = str(err.value)
    assert "medeval build -t MimicReadmission30DayClassification --mimic-dir" in msg
    assert str(data_home) in msg
    llm = medeval.get_task("MedQuADRetrieval")
    with pytest.raises(DataNotBuiltError, match="--llm-base-url"):
        llm.load_data()


def test_descriptive_stats_live_beside_the_data(data_home: Path) -> None:
    task = medeval.get_task("WikiSyndromesClassification")
    path = task.metadata.descriptive_stat_path
    assert path == data_home.resolve() / "tasks" / "WikiSyndromesClassification" / "stats.json"
    import mteb

    assert Path(mteb.__file__).parent not in path.parents


def test_cite_is_valid_bibtex() -> None:
    bibtexparser = pytest.importorskip("bibtexparser")
    from medeval.cite import cite_benchmark, cite_task

    lib = bibtexparser.parse_string(cite_task("WikiSyndromesClassification"))
    assert not lib.failed_blocks
    assert {e.key for e in lib.entries} == {"wikipedia2025", "khodadad2025medte"}
    paper = next(e for e in lib.entries if e.key == "khodadad2025medte")
    assert "2507.19407" in paper.fields_dict["journal"].value
    lib = bibtexparser.parse_string(cite_benchmark("MedEval(v1)"))
    assert not lib.failed_blocks and len(lib.entries) >= 12
    for t in medeval.get_tasks():
        lib = bibtexparser.parse_string(cite_task(t.metadata.name))
        assert not lib.failed_blocks and len(lib.entries) >= 1, t.metadata.name


def test_task_card_is_json_serialisable() -> None:
    for cls in medeval.task_classes().values():
        json.dumps(cls.spec.model_dump(mode="json"))
    assert get_task_class("WikiSyndromesClassification").spec.construction.labels
