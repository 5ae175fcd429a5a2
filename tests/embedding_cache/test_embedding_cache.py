"""The embedding cache: identical scores, zero re-encoding, sharing across tasks, crash safety, keys, CLI.

Store tests use a fake encoder (milliseconds). The end-to-end tests run ``medeval run`` with the real
all-MiniLM-L6-v2 on the example user tasks (examples/my_tasks) plus a copy of one under another name.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from fixtures import FAKE_TASK, FakeEncoder, expected

from medeval import cli, fsutil
from medeval.batching import texts_dataloader
from medeval.embedding_cache import CachedEncoder, ShardStore, cache_clear, cache_info, cache_root, cached_encoder
from medeval.errors import MedEvalError

A = SimpleNamespace(name="TaskA", type="Classification")
B = SimpleNamespace(name="TaskB", type="Clustering")


def enc(model: Any, texts: list[str], task: Any = A, prompt_type: Any = None, **kwargs: Any) -> np.ndarray:
    kwargs.setdefault("batch_size", 8)
    return model.encode(texts_dataloader(texts, 8), task_metadata=task, hf_split="test", hf_subset="default",
                        prompt_type=prompt_type, **kwargs)


def encoded(fake: FakeEncoder) -> list[str]:
    return [t for texts, _ in fake.calls for t in texts]


def shards(folder: Path) -> list[Path]:
    return sorted(folder.glob("emb-*.emb"))


def temp_files(folder: Path) -> list[Path]:
    """Temp files of unfinished shard writes (fsutil's ``.<name>.<pid>.<random>.tmp``, or older ``.tmp-*``)."""
    return [p for p in folder.iterdir() if fsutil.is_temp_file(p.name) or p.name.startswith(".tmp-")]


# ------------------------------------------------------------------------------------------------ store
def test_rerun_encodes_nothing_and_returns_the_same_vectors(data_home: Path) -> None:
    texts = ["fever", "cough", "fever", "chest pain"]
    first = FakeEncoder()
    out1 = enc(cached_encoder(first), texts)
    assert sorted(encoded(first)) == ["chest pain", "cough", "fever"]  # duplicates encoded once
    second = FakeEncoder()  # a new process: new encoder, same model name and revision
    model = cached_encoder(second)
    out2 = enc(model, texts)
    assert encoded(second) == []
    np.testing.assert_array_equal(out1, expected(texts))
    np.testing.assert_array_equal(out2, out1)
    assert model.stats == {"texts": 4, "distinct": 3, "cached": 3, "encoded": 0}
    assert str(data_home / "embeddings" / "test__fake" / "r1") == str(model.folder)
    assert not temp_files(model.folder)


def test_partly_cached_call_encodes_only_new_texts(data_home: Path) -> None:
    fake = FakeEncoder()
    model = cached_encoder(fake)
    enc(model, ["a", "b"])
    out = enc(model, ["c", "b", "a", "d"])
    assert encoded(fake) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(out, expected(["c", "b", "a", "d"]))


def test_encoders_with_unknown_prompts_are_cached_per_task(data_home: Path) -> None:
    """A non-sentence-transformers encoder may prompt per task: reuse across runs, not across tasks."""
    fake = FakeEncoder()
    model = cached_encoder(fake)
    enc(model, ["a", "b"], task=A)
    enc(model, ["a", "b"], task=B)
    assert encoded(fake) == ["a", "b", "a", "b"]


def test_folders_stay_inside_the_cache(data_home: Path) -> None:
    fake = FakeEncoder()
    fake.mteb_model_meta = fake.mteb_model_meta.model_copy(update={"name": "lab/x", "revision": ".."})
    model = cached_encoder(fake)
    enc(model, ["a"])
    assert model.folder.parent.parent == cache_root() and model.folder.name == "_.._"
    assert len(shards(model.folder)) == 1


def test_other_encoders_are_keyed_by_the_whole_row(data_home: Path) -> None:
    from datasets import Dataset
    from torch.utils.data import DataLoader

    rows = Dataset.from_dict({"title": ["Asthma", "Gout"], "text": ["a disease", "a disease"]})
    for expected_encoded in (2, 0):  # the same text under two titles is two inputs; a rerun encodes none
        fake = FakeEncoder()
        cached_encoder(fake).encode(DataLoader(rows, batch_size=2), task_metadata=A, hf_split="test", hf_subset="default")
        assert len(encoded(fake)) == expected_encoded


@pytest.mark.parametrize("damage", ["flip a vector byte", "truncate", "garbage header", "empty file"])
def test_damaged_shard_is_set_aside_never_read(data_home: Path, damage: str) -> None:
    texts = [f"note {i}" for i in range(50)]
    model = cached_encoder(FakeEncoder())
    enc(model, texts)
    (shard,) = shards(model.folder)
    data = bytearray(shard.read_bytes())
    if damage == "flip a vector byte":
        data[-7] ^= 0xFF
    elif damage == "truncate":  # what a crash mid-write leaves on a file system that reorders writes
        data = data[: len(data) // 2]
    elif damage == "garbage header":
        data[:16] = b"not a numpy file"
    else:
        data = bytearray()
    shard.write_bytes(bytes(data))

    fake = FakeEncoder()
    again = cached_encoder(fake)
    out = enc(again, texts)
    np.testing.assert_array_equal(out, expected(texts))  # right vectors, re-encoded
    assert sorted(encoded(fake)) == sorted(texts)
    assert shard.with_name(shard.name + ".corrupt").exists() and not shard.exists()
    assert len(shards(again.folder)) == 1  # the rebuilt shard
    third = FakeEncoder()
    enc(cached_encoder(third), texts)
    assert encoded(third) == []


def test_interrupted_write_leaves_no_shard(data_home: Path) -> None:
    """A write killed before its rename leaves only a temp file, which readers ignore."""
    import os

    model = cached_encoder(FakeEncoder())

    def crash(src: Any, dst: Any) -> None:
        raise KeyboardInterrupt  # the process dies between writing the temp file and renaming it

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", crash)
        with pytest.raises(KeyboardInterrupt):
            enc(model, ["a", "b"])
    assert model.folder.is_relative_to(data_home)
    assert shards(model.folder) == []
    (model.folder / ".emb-1-2-deadbeefdeadbeefdeadbeef.emb.999999.abcdefgh.tmp").write_bytes(b"\x93NUMPY half a shard")  # from a kill -9
    fake = FakeEncoder()
    out = enc(cached_encoder(fake), ["a", "b"])
    np.testing.assert_array_equal(out, expected(["a", "b"]))
    assert sorted(encoded(fake)) == ["a", "b"]


def test_store_never_mixes_dimensions(tmp_path: Path) -> None:
    store = ShardStore(tmp_path)
    k1, k2 = bytes(32), bytes([1]) * 32
    store.put([k1], np.ones((1, 4), dtype=np.float32))
    store.put([k2], np.ones((1, 6), dtype=np.float32))
    found, vectors = ShardStore(tmp_path).get([k1, k2])
    assert len(found) == 0 and vectors is None
    found, vectors = ShardStore(tmp_path).get([k2])
    assert found.tolist() == [0] and vectors.shape == (1, 6)


def test_cache_write_failure_does_not_stop_the_run(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = cached_encoder(FakeEncoder())

    def full_disk(*a: Any, **k: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ShardStore, "put", full_disk)
    np.testing.assert_array_equal(enc(model, ["a"]), expected(["a"]))


# ------------------------------------------------------------------------------------------------ keys
@pytest.fixture(scope="module")
def st(minilm_path: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(minilm_path, device="cpu")


def _wrapper(st: Any, revision: str = "rev1", prompts: dict[str, str] | None = None) -> Any:
    from mteb.models import ModelMeta
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    wrapper = SentenceTransformerEncoderWrapper(st, model_prompts=prompts)
    wrapper.mteb_model_meta = ModelMeta.create_empty(overwrites={"name": "test/minilm", "revision": revision})
    return wrapper


def test_keys_follow_what_changes_the_vectors(data_home: Path, st: Any) -> None:
    from mteb.types import PromptType

    def ns(model: CachedEncoder, task: Any = A, prompt_type: Any = None, **kwargs: Any) -> bytes:
        return model.namespace(task, prompt_type, "test", "default", {"batch_size": 32, **kwargs})

    base = CachedEncoder(_wrapper(st))
    # a sentence-transformers model without prompts or a Router: one key space for all tasks and roles
    assert ns(base, A) == ns(base, B) == ns(base, A, PromptType.query) == ns(base, A, PromptType.document)
    assert ns(base, batch_size=4, show_progress_bar=True) == ns(base)  # speed settings are not part of the key
    assert ns(base, normalize_embeddings=True) != ns(base)
    assert ns(CachedEncoder(_wrapper(st, revision="rev2"))) != ns(base)
    assert CachedEncoder(_wrapper(st, revision="rev2")).folder != base.folder

    # (mteb writes model_prompts into the SentenceTransformer's own prompts: give those wrappers a copy)
    prompted = CachedEncoder(_wrapper(copy.deepcopy(st), prompts={"query": "query: ", "document": "passage: "}))
    assert prompted.effective_prompt(A, PromptType.query) == "query: "
    assert ns(prompted, A, PromptType.query) != ns(prompted, A, PromptType.document)
    assert ns(prompted, A, PromptType.query) != ns(base, A, PromptType.query)
    type_prompt = CachedEncoder(_wrapper(copy.deepcopy(st), prompts={"Classification": "Classify the diagnosis: "}))
    assert type_prompt.effective_prompt(A, None) == "Classify the diagnosis: " and type_prompt.effective_prompt(B, None) == ""
    assert ns(type_prompt, A) != ns(type_prompt, B)
    assert ns(type_prompt, B) != ns(base, B)  # same (empty) prompt, but the model's prompts are part of its identity

    retrained = copy.deepcopy(st)  # the same folder name and revision, other weights (trained in place)
    with __import__("torch").no_grad():
        next(retrained.parameters()).add_(1e-3)
    assert ns(CachedEncoder(_wrapper(retrained))) != ns(base)


def test_texts_shared_by_two_tasks_are_encoded_once(data_home: Path, st: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mteb.types import PromptType

    seen: list[str] = []
    original = type(st).encode

    def counting(self: Any, inputs: Any, *a: Any, **k: Any) -> Any:
        seen.extend(inputs)
        return original(self, inputs, *a, **k)

    monkeypatch.setattr(type(st), "encode", counting)
    model = CachedEncoder(_wrapper(st))
    v1 = enc(model, ["myocardial infarction", "asthma"], task=A)
    v2 = enc(model, ["asthma", "myocardial infarction", "gout"], task=B, prompt_type=PromptType.document)
    assert sorted(seen) == ["asthma", "gout", "myocardial infarction"]
    np.testing.assert_array_equal(v2[:2], v1[::-1])


# ------------------------------------------------------------------------------------------------ medeval run
def _scores(out: Path) -> dict[str, Any]:
    return {p.stem: json.loads(p.read_text())["scores"] for p in out.glob("results/*/*/*.json")
            if p.name != "model_meta.json"}


def test_medeval_run_cached_equals_uncached(data_home: Path, examples_dir: Path, tmp_path: Path, minilm_path: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from sentence_transformers import SentenceTransformer

    from medeval import catalog
    from medeval.launch import run_models
    from medeval.run import RunOptions

    # a second task over ClinicTriage's texts, under another name: its texts must come from the cache
    tasks_dir = tmp_path / "my_tasks"
    shutil.copytree(examples_dir, tasks_dir)
    copy_yaml = (tasks_dir / "ClinicTriage.yaml").read_text().replace("name: ClinicTriage", "name: ClinicTriageAgain")
    (tasks_dir / "ClinicTriageAgain.yaml").write_text(copy_yaml)
    catalog.add_include_path(tasks_dir)

    counts: list[int] = []
    original = SentenceTransformer.encode

    def counting(self: Any, inputs: Any, *a: Any, **k: Any) -> Any:
        counts.append(len(inputs))
        return original(self, inputs, *a, **k)

    monkeypatch.setattr(SentenceTransformer, "encode", counting)

    def run(out: str, use_cache: bool, tasks: list[str]) -> tuple[dict[str, Any], int]:
        counts.clear()
        code = run_models(RunOptions(tasks=tasks, output_dir=tmp_path / out, use_cache=use_cache, batch_size=16, show_progress=False))
        assert code == 0
        return _scores(tmp_path / out), sum(counts)

    plain, n_plain = run("nocache", False, ["ClinicTriage", "SymptomSearch"])
    cold, n_cold = run("cold", True, ["ClinicTriage", "SymptomSearch"])
    assert n_cold == n_plain > 0
    warm, n_warm = run("warm", True, ["ClinicTriage", "SymptomSearch", "ClinicTriageAgain"])
    assert n_warm == 0  # every text of all three tasks was encoded by the cold run
    assert set(plain) == {"ClinicTriage", "SymptomSearch"}
    for task in plain:
        assert cold[task] == plain[task], task
        assert warm[task] == plain[task], task
    assert warm["ClinicTriageAgain"] == warm["ClinicTriage"]
    assert "sentence-transformers/all-MiniLM-L6-v2" in cache_info()


# ------------------------------------------------------------------------------------------------ CLI
def test_cache_info_and_clear_cli(data_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cache", "info"]) == 0
    assert f"{data_home / 'embeddings'} (empty)" in capsys.readouterr().out

    enc(cached_encoder(FakeEncoder()), ["a", "b", "c"])
    other = FakeEncoder()
    other.mteb_model_meta = other.mteb_model_meta.model_copy(update={"name": "lab/other"})
    enc(cached_encoder(other), ["a"])
    assert cli.main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(cache_root()) in out
    assert "test/fake @ r1: 3 vectors in 1 shard(s)" in out and "lab/other @ r1: 1 vectors" in out
    assert "total: 4 vectors" in out

    assert cli.main(["cache", "clear", "--model", "nobody/none"]) == 2
    err = capsys.readouterr().err
    assert "error: --model 'nobody/none'" in err and "lab/other" in err and "test/fake" in err

    assert cli.main(["cache", "clear", "--model", "test/fake"]) == 0
    assert "removed the cached embeddings of test/fake" in capsys.readouterr().out
    info = cache_info()
    assert "test/fake" not in info and "lab/other" in info

    with pytest.raises(MedEvalError):
        cache_clear("../outside")
    assert cli.main(["cache", "clear"]) == 0
    assert not cache_root().exists()
    assert cache_info().endswith("(empty)")

    elsewhere = tmp_path / "elsewhere"
    assert cli.main(["cache", "info", "--data-dir", str(elsewhere)]) == 0
    assert f"{elsewhere.resolve() / 'embeddings'} (empty)" in capsys.readouterr().out


_WRITER = r"""
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[1])
from fixtures import FAKE_TASK as TASK, FakeEncoder, expected
from medeval.embedding_cache import CachedEncoder
from medeval.batching import texts_dataloader

folder, seed, go = Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
texts = [f"shared text {i} " + "x" * (i % 13) for i in range(600)]
fake = FakeEncoder()
fast_encode = fake.encode


def slow_encode(*args, **kwargs):
    time.sleep(0.1)  # a real encoder takes time: the two writers' shards interleave
    return fast_encode(*args, **kwargs)


fake.encode = slow_encode
model = CachedEncoder(fake, folder=folder)
model.chunk_texts = 37  # many small shards
while not go.exists():
    time.sleep(0.01)
rng = np.random.default_rng(seed)
for round_ in range(4):
    batch = texts if round_ == 3 else [texts[i] for i in rng.permutation(600)[:300]]
    vectors = model.encode(texts_dataloader(batch, 16), task_metadata=TASK, hf_split="test", hf_subset="default")
    assert np.array_equal(vectors, expected(batch)), "wrong vectors"
print(model.stats["encoded"], model.stats["cached"])
"""


def test_two_processes_share_one_cache_without_damage(tmp_path: Path) -> None:
    """Two processes encode overlapping texts into one cache folder at the same time: every vector either returns
    is right, no shard is damaged or left half-written, and a third reader finds every text."""
    import subprocess
    import sys
    import time

    folder, go = tmp_path / "cache", tmp_path / "go"
    here = str(Path(__file__).resolve().parents[1])  # tests/, where fixtures.py is
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, here, str(folder), str(seed), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    time.sleep(0.5)
    go.touch()
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    assert not list(folder.glob("*.corrupt")) and not temp_files(folder)
    written = shards(folder)
    assert len({p.name.split("-")[2] for p in written}) == 2  # both processes wrote shards (emb-<time>-<pid>-<sha>)
    reader = CachedEncoder(FakeEncoder(), folder=folder)
    texts = [f"shared text {i} " + "x" * (i % 13) for i in range(600)]
    np.testing.assert_array_equal(enc(reader, texts, task=FAKE_TASK), expected(texts))
    assert reader.stats["encoded"] == 0 and reader.stats["cached"] == 600
