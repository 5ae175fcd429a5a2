"""medeval.encoding: dedup, longest-first chunks, batch-size backoff on out-of-memory, --devices parsing and pool.

Most tests use a small fake mteb encoder (vectors derived from each text's hash) so they run in milliseconds; one
test starts sentence-transformers' real two-process CPU pool with all-MiniLM-L6-v2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from fixtures import FAKE_TASK, FakeEncoder, expected, fake_vector

from medeval.batching import call_with_batch_backoff, is_out_of_memory, parse_devices, texts_dataloader
from medeval.encoding import EncoderAdapter, adapt_encoder
from medeval.errors import MedEvalError

def encode(adapter: Any, texts: list[str], **kwargs: Any) -> np.ndarray:
    return adapter.encode(texts_dataloader(texts, 4), task_metadata=FAKE_TASK, hf_split="test", hf_subset="default", **kwargs)


def test_each_text_once_longest_first_in_input_order() -> None:
    fake = FakeEncoder()
    texts = ["bb", "a", "cccc", "bb", "a", "ddd"]
    out = encode(EncoderAdapter(fake), texts, batch_size=16)
    np.testing.assert_array_equal(out, expected(texts))
    assert [c[0] for c in fake.calls] == [["cccc", "ddd", "bb", "a"]]


def test_chunks_are_reported_and_cover_every_text() -> None:
    fake = FakeEncoder()
    adapter = EncoderAdapter(fake)
    adapter.chunk_texts = 3
    seen: list[np.ndarray] = []
    texts = [f"text number {i}" + "x" * (i % 5) for i in range(10)]

    def check(positions: np.ndarray, vectors: np.ndarray) -> None:
        seen.append(positions)
        np.testing.assert_array_equal(vectors, expected([texts[i] for i in positions]))

    rows = np.arange(10)
    out = adapter.encode_rows(texts_dataloader(texts, 4), rows, task_metadata=FAKE_TASK, hf_split="test",
                              hf_subset="default", batch_size=2, on_chunk=check)
    np.testing.assert_array_equal(out, expected(texts))
    assert len(fake.calls) == 4 and sorted(np.concatenate(seen).tolist()) == list(range(10))
    lengths = [len(t) for call in fake.calls for t in call[0]]
    assert lengths == sorted(lengths, reverse=True)


def test_other_encoders_get_whole_rows() -> None:
    """An encoder other than mteb's sentence-transformers wrapper may read more than the text: rows stay whole."""
    from datasets import Dataset
    from torch.utils.data import DataLoader

    class TitleReader(FakeEncoder):
        def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
            rows = [row for batch in inputs for row in zip(batch["title"], batch["text"])]
            self.calls.append((rows, 0))
            return np.stack([fake_vector(f"{title}|{text}") for title, text in rows])

    fake = TitleReader()
    data = Dataset.from_dict({"title": ["Asthma", "Gout", "Asthma"], "text": ["a disease", "a disease", "a disease"]})
    out = EncoderAdapter(fake).encode(DataLoader(data, batch_size=2), task_metadata=FAKE_TASK, hf_split="test",
                                      hf_subset="default")
    assert sorted(fake.calls[0][0]) == [("Asthma", "a disease"), ("Gout", "a disease")]
    np.testing.assert_array_equal(out, np.stack([fake_vector(f"{t}|a disease") for t in ("Asthma", "Gout", "Asthma")]))


def test_out_of_memory_halves_the_batch_size_and_keeps_it() -> None:
    fake = FakeEncoder(oom_above=8)
    adapter = EncoderAdapter(fake)
    texts = [f"t{i}" for i in range(20)]
    np.testing.assert_array_equal(encode(adapter, texts, batch_size=64), expected(texts))
    assert fake.failures == 3  # 64 -> 32 -> 16 -> 8
    assert {bs for _, bs in fake.calls} == {8}
    np.testing.assert_array_equal(encode(adapter, ["other"], batch_size=64), expected(["other"]))
    assert fake.failures == 3  # the run continues at batch size 8 instead of failing again


def test_runtime_error_saying_out_of_memory_also_backs_off() -> None:
    fake = FakeEncoder(oom_above=2, error=RuntimeError, message="CUDA error: out of memory (worker on cuda:1)")
    np.testing.assert_array_equal(encode(EncoderAdapter(fake), ["a", "b", "c"], batch_size=16), expected(["a", "b", "c"]))
    assert fake.calls[-1][1] == 2


def test_other_errors_are_not_retried() -> None:
    fake = FakeEncoder(oom_above=1, error=ValueError, message="bad input")
    with pytest.raises(ValueError, match="bad input"):
        encode(EncoderAdapter(fake), ["a"], batch_size=16)
    assert fake.failures == 1


def test_out_of_memory_at_batch_size_one_is_raised() -> None:
    calls: list[int] = []

    def always_oom(bs: int) -> None:
        calls.append(bs)
        raise torch.OutOfMemoryError("out of memory")

    with pytest.raises(torch.OutOfMemoryError):
        call_with_batch_backoff(always_oom, 5)
    assert calls == [5, 2, 1]


def test_is_out_of_memory() -> None:
    assert is_out_of_memory(torch.OutOfMemoryError("x"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(MemoryError())  # host RAM: halving the batch is not the fix


def test_parse_devices() -> None:
    assert parse_devices(None) is None and parse_devices("") is None
    assert parse_devices("cpu, cpu,cpu") == ["cpu", "cpu", "cpu"]
    for bad in ("cpu", "cpu,", "gpu:0,cpu", "cuda:x,cuda:1"):
        with pytest.raises(MedEvalError, match="--devices"):
            parse_devices(bad)
    if not torch.cuda.is_available():
        with pytest.raises(MedEvalError, match="no CUDA GPU"):
            parse_devices("cuda:0,cuda:1")


def test_devices_need_a_sentence_transformer() -> None:
    with pytest.raises(MedEvalError, match="sentence-transformers"):
        EncoderAdapter(FakeEncoder(), devices="cpu,cpu")


def test_non_text_inputs_and_search_models_pass_through() -> None:
    from datasets import Dataset
    from torch.utils.data import DataLoader

    class Passthrough(FakeEncoder):
        def encode(self, inputs: Any, **kwargs: Any) -> np.ndarray:
            self.calls.append((list(inputs.dataset.column_names), 0))
            return np.zeros((len(inputs.dataset), 2), dtype=np.float32)

    fake = Passthrough()
    loader = DataLoader(Dataset.from_dict({"text": ["a"], "image": [None]}), batch_size=2)
    EncoderAdapter(fake).encode(loader, task_metadata=FAKE_TASK, hf_split="test", hf_subset="default")
    assert fake.calls == [(["text", "image"], 0)]

    class Searcher(FakeEncoder):
        def index(self, *a: Any, **k: Any) -> None: ...
        def search(self, *a: Any, **k: Any) -> None: ...

    searcher = Searcher()
    assert adapt_encoder(searcher) is searcher
    assert isinstance(adapt_encoder(FakeEncoder()), EncoderAdapter)


def test_two_cpu_processes_give_the_single_process_vectors(minilm_path: str) -> None:
    """--devices cpu,cpu runs sentence-transformers' own pool; the vectors match one process."""
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    texts = [f"patient {i} reports {'chest pain ' * (i % 4)}and shortness of breath" for i in range(24)]
    single = encode(EncoderAdapter(SentenceTransformerEncoderWrapper(SentenceTransformer(minilm_path))), texts, batch_size=8)
    adapter = EncoderAdapter(SentenceTransformerEncoderWrapper(SentenceTransformer(minilm_path)), devices="cpu,cpu")
    try:
        pooled = encode(adapter, texts, batch_size=8)
        assert adapter._pool is not None and len(adapter._pool["processes"]) == 2
    finally:
        adapter.close()
    assert adapter._pool is None
    np.testing.assert_allclose(pooled, single, atol=1e-5)
