"""medeval.search: exact retrieval search through mteb's index_backend equals mteb's default path.

A generated user retrieval task (a few hundred documents, duplicates included so that scores tie) is scored three
ways with a fast hash-vector encoder: mteb's plain chunked search, the blocked exact index (tiny blocks, so many
blocks are searched) and FAISS (skipped when faiss is not installed). Every metric must agree to 1e-6.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from medeval.search import BlockedExactIndex, make_index_backend, search_model

DIM = 16


def hash_vector(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


class HashEncoder:
    """An mteb encoder scored by cosine similarity (as all-MiniLM-L6-v2 is), vectors from each text's hash."""

    def __init__(self) -> None:
        from mteb.models import ModelMeta
        from mteb.models.model_meta import ScoringFunction

        self.mteb_model_meta = ModelMeta.create_empty(
            overwrites={"name": "test/hash", "revision": "r1", "similarity_fn_name": ScoringFunction.COSINE})

    def encode(self, inputs: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, prompt_type: Any = None,
               **kwargs: Any) -> np.ndarray:
        return np.stack([hash_vector(t) for batch in inputs for t in batch["text"]])

    def similarity(self, a: Any, b: Any) -> Any:
        from sentence_transformers.util import cos_sim

        return cos_sim(a, b)

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        from sentence_transformers.util import pairwise_cos_sim

        return pairwise_cos_sim(a, b)


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def task_yaml(tmp_path: Path, examples_dir: Path) -> Path:
    """A retrieval task of 400 documents (every 7th a copy of another text: tied scores) and 120 queries."""
    import yaml

    spec = yaml.safe_load((examples_dir / "SymptomSearch.yaml").read_text())
    spec["name"] = "HashSearchTask"
    spec["data"] = "data"
    texts = [f"document {i} about {['fever', 'cough', 'rash', 'pain'][i % 4]} {i * 7919 % 101}" for i in range(400)]
    for i in range(0, 400, 7):
        texts[i] = texts[(i * 3 + 1) % 400]
    _write_jsonl(tmp_path / "data" / "corpus" / "test.jsonl", [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)])
    _write_jsonl(tmp_path / "data" / "queries" / "test.jsonl", [{"id": f"q{i}", "text": f"query {i}"} for i in range(120)])
    qrels = [{"query-id": f"q{i}", "corpus-id": f"d{(i * 13) % 400}", "score": 1} for i in range(120)]
    qrels += [{"query-id": f"q{i}", "corpus-id": f"d{(i * 29 + 5) % 400}", "score": 1} for i in range(0, 120, 3)]
    _write_jsonl(tmp_path / "data" / "qrels" / "test.jsonl", qrels)
    path = tmp_path / "HashSearchTask.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _scores(model: Any, task_yaml: Path) -> dict[str, float]:
    import mteb

    from medeval.catalog import get_task

    result = mteb.evaluate(model, get_task(str(task_yaml)), cache=None, encode_kwargs={"batch_size": 64},
                           raise_error=True, show_progress_bar=False)
    scores = result.task_results[0].scores["test"][0]
    return {k: v for k, v in scores.items() if isinstance(v, float)}


def _assert_same(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys() and "ndcg_at_10" in a
    bad = {k: (a[k], b[k]) for k in a if abs(a[k] - b[k]) > 1e-6}
    assert not bad, bad


def test_blocked_index_equals_mteb_plain_search(task_yaml: Path) -> None:
    plain = _scores(HashEncoder(), task_yaml)
    blocked = _scores(search_model(HashEncoder(), backend="blocked", max_block_bytes=4 * 400 * 7), task_yaml)
    _assert_same(plain, blocked)


def test_medeval_retrieval_task_scores_the_top_k_arrays(task_yaml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``search_model``, a medeval retrieval task scores the top k as arrays (TopKResults), a slice of
    queries at a time, and gets mteb's plain scores."""
    import medeval.retrieval_scoring as rs

    seen: list[tuple[str, int]] = []
    real = rs.score_top_k

    def spy(qrels: Any, results: Any, k_values: Any, results_per_slice: int = 0) -> Any:
        seen.append((type(results).__name__, len(results)))
        return real(qrels, results, k_values, results_per_slice=400 * 11)  # 11 queries a slice

    monkeypatch.setattr(rs, "score_top_k", spy)
    compact = _scores(search_model(HashEncoder(), backend="blocked"), task_yaml)
    assert seen == [("TopKResults", 120)]
    _assert_same(_scores(HashEncoder(), task_yaml), compact)


def test_faiss_index_equals_mteb_plain_search(task_yaml: Path) -> None:
    pytest.importorskip("faiss", reason="faiss-cpu is not installed (pip install 'medeval-mteb[search]')")
    from mteb.models.search_encoder_index import FaissSearchIndex

    model = search_model(HashEncoder(), backend="faiss")
    assert isinstance(model.index_backend, FaissSearchIndex)
    _assert_same(_scores(HashEncoder(), task_yaml), _scores(model, task_yaml))


def test_blocked_index_returns_the_exact_top_k_whatever_the_block_size() -> None:
    from sentence_transformers.util import cos_sim

    rng = np.random.default_rng(0)
    docs, queries = rng.standard_normal((50, 8)).astype(np.float32), rng.standard_normal((9, 8)).astype(np.float32)
    docs[7] = docs[3]  # a tie
    full = cos_sim(queries, docs).numpy()
    for block_bytes in (1, 4 * 50 * 2, 10**9):
        index = BlockedExactIndex(max_block_bytes=block_bytes)
        index.add_documents(docs[:20], [f"d{i}" for i in range(20)])
        index.add_documents(docs[20:], [f"d{i}" for i in range(20, 50)])
        scores, rows = index.search(queries, 5, similarity_fn=cos_sim)
        assert len(rows) == 9 and all(len(r) == 5 for r in rows)
        for q in range(9):
            np.testing.assert_allclose(scores[q], np.sort(full[q])[::-1][:5], atol=1e-6)
            np.testing.assert_allclose(full[q, rows[q]], scores[q], atol=1e-6)
    assert index.block_size(50) == 10**9 // 200
    index.clear()
    with pytest.raises(ValueError, match="add_documents"):
        index.search(queries, 5, similarity_fn=cos_sim)


def test_blocked_index_reranks_candidates_in_their_own_order() -> None:
    from sentence_transformers.util import cos_sim

    docs = np.eye(4, dtype=np.float32)
    index = BlockedExactIndex()
    index.add_documents(docs, ["a", "b", "c", "d"])
    query = np.array([[0.0, 0.2, 1.0, 0.0]], dtype=np.float32)
    scores, rows = index.search(query, 2, similarity_fn=cos_sim, top_ranked={"q": ["b", "c"]}, query_idx_to_id={0: "q"})
    assert rows == [[1, 0]]  # positions in the candidate list: c, then b
    assert scores[0][0] > scores[0][1]


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert make_index_backend(HashEncoder(), backend="plain") is None
    assert isinstance(make_index_backend(HashEncoder(), backend="blocked"), BlockedExactIndex)
    monkeypatch.setenv("MEDEVAL_SEARCH_BACKEND", "blocked")
    assert isinstance(make_index_backend(HashEncoder()), BlockedExactIndex)
    with pytest.raises(ValueError, match="choose one of"):
        make_index_backend(HashEncoder(), backend="annoy")
    monkeypatch.setattr("medeval.search.faiss_available", lambda: False)
    with pytest.raises(ValueError, match=r"medeval-mteb\[search\]"):
        make_index_backend(HashEncoder(), backend="faiss")
    monkeypatch.delenv("MEDEVAL_SEARCH_BACKEND")
    assert isinstance(make_index_backend(HashEncoder()), BlockedExactIndex)  # auto without faiss


@pytest.mark.parametrize("similarity", ["COSINE", "DOT_PRODUCT", "EUCLIDEAN"])
def test_blocked_faiss_index_returns_mteb_faiss_values_as_arrays(similarity: str) -> None:
    """medeval's FAISS index keeps the top k in arrays; scores and rows equal mteb's FaissSearchIndex lists."""
    pytest.importorskip("faiss", reason="faiss-cpu is not installed (pip install 'medeval-mteb[search]')")
    from mteb.models.model_meta import ScoringFunction
    from mteb.models.search_encoder_index import FaissSearchIndex

    from medeval.search import _faiss_index_class

    model = HashEncoder()
    model.mteb_model_meta.similarity_fn_name = getattr(ScoringFunction, similarity)
    rng = np.random.default_rng(7)
    docs = rng.standard_normal((300, DIM)).astype(np.float32)
    docs[::5] = docs[1::5][: len(docs[::5])]  # repeated documents: tied scores
    queries = rng.standard_normal((45, DIM)).astype(np.float32)
    ours, theirs = _faiss_index_class()(model, queries_per_block=7), FaissSearchIndex(model)
    for index in (ours, theirs):
        index.add_documents(docs.copy(), [f"d{i}" for i in range(len(docs))])
    scores, rows = ours.search(queries.copy(), 40, model.similarity)
    want_scores, want_rows = theirs.search(queries.copy(), 40, model.similarity)
    assert np.array_equal(rows.array, np.asarray(want_rows))
    assert np.array_equal(scores.array, np.asarray(want_scores, dtype=np.float32))
    if similarity == "EUCLIDEAN":
        assert (scores.array <= 0).all()  # distances turned into negated scores, as mteb does
