"""What reproducible builds rest on: seeded sampling, splitting, capping and hard-negative mining give the same
output for the same input in any process and under any ``PYTHONHASHSEED``; mining rounds similarities so float32
noise cannot change the negatives, and embeds on the CPU in float32 (never half precision)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medeval.builders import negatives
from medeval.builders.sampling import rng, sample, split_rows, stratified_cap
from medeval.builders.negatives import hard_negative_indices

REPO = Path(__file__).resolve().parents[2]

# one script computing every seeded function on a fixed input; run in fresh processes with different hash seeds
SCRIPT = r"""
import json, numpy as np
from medeval.builders.sampling import sample, split_rows, stratified_cap, balance_downsample, rng
from medeval.builders.negatives import hard_negative_indices
from medeval.builders.mimic.notes import hash_rank
rows = [{"id": f"r{i}", "label": ["a", "b", "c"][i % 3] if i % 7 else "d"} for i in range(60)]
vecs = np.random.default_rng(5).normal(size=(40, 8)).astype(np.float32)
vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
labels = {str(x): i % 4 for i, x in enumerate(range(40))}
out = {
    "sample": sample([f"x{i}" for i in range(100)], 10, 42, "wikipedia", "Cardiology"),
    "cap": [r["id"] for r in stratified_cap(rows, "label", 20, 42)],
    "split": {k: [r["id"] for r in v] for k, v in split_rows(rows, {"train": 0.7, "test": 0.3}, 42, label_key="label").items()},
    "balance": [r["id"] for r in balance_downsample(rows, "label", 42)],
    "rng": rng(42, "order", "pairs").random(),
    "hardneg": hard_negative_indices(vecs, 5, 42, allowed=lambda i, j: labels[str(i)] != labels[str(j)], block=7),
    "hash_rank": hash_rank(np.array([f"1000{i}-DS-1" for i in range(20)]), 42).tolist(),
}
print(json.dumps(out, sort_keys=True))
"""


def _run(hash_seed: str) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_seeded_functions_agree_across_processes_and_hash_seeds() -> None:
    first, second = _run("0"), _run("12345")
    assert first == second
    assert len(first["sample"]) == 10 and len(first["cap"]) == 20 and all(j is not None for j in first["hardneg"])


def test_same_input_same_output_and_salts_are_independent() -> None:
    items = list(range(50))
    assert sample(items, 5, 42, "a") == sample(items, 5, 42, "a")
    assert sample(items, 5, 42, "a") != sample(items, 5, 42, "b")
    assert sample(items, 5, 42, "a") == sorted(sample(items, 5, 42, "a"))  # original order kept
    assert rng(42, "x").random() == rng(42, "x").random() != rng(43, "x").random()


def test_block_size_does_not_change_the_negatives() -> None:
    vecs = np.random.default_rng(1).normal(size=(50, 6)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert hard_negative_indices(vecs, 4, 42, block=1024) == hard_negative_indices(vecs, 4, 42, block=3)


def _unit(angle: float) -> list[float]:
    return [float(np.cos(angle)), float(np.sin(angle))]


def test_rounding_makes_float32_noise_irrelevant() -> None:
    """Two candidates whose similarities differ by float32 noise (1e-6 here, 1e-7 in practice) tie after rounding
    to 4 decimals, and ties rank by index: whichever is a hair more similar, row 0's top-1 candidate is row 1."""
    base = 0.6
    for eps in (1e-6, -1e-6):
        vecs = np.array([_unit(0.0), _unit(base), _unit(base + eps), _unit(2.5)], dtype=np.float32)
        sims = vecs @ vecs.T
        assert sims[0, 1] != sims[0, 2]  # the raw similarities differ...
        assert round(float(sims[0, 1]), 4) == round(float(sims[0, 2]), 4)  # ...but not after rounding
        assert hard_negative_indices(vecs, 1, 42)[0] == 1


def test_half_precision_sized_errors_would_change_negatives() -> None:
    """An error of the size half precision makes (about 1e-3) reorders candidates, hence mining stays float32."""
    vecs = np.array([_unit(0.0), _unit(0.60), _unit(0.602), _unit(2.5)], dtype=np.float32)
    assert hard_negative_indices(vecs, 1, 42)[0] == 1
    swapped = np.array([_unit(0.0), _unit(0.602), _unit(0.60), _unit(2.5)], dtype=np.float32)
    assert hard_negative_indices(swapped, 1, 42)[0] == 2


def test_mining_embeds_on_cpu_in_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict = {}

    class FakeST:
        def __init__(self, path: str, device: str | None = None) -> None:
            calls["device"] = device

        def float(self) -> FakeST:
            calls["float"] = True
            return self

        def encode(self, texts, **kw):  # noqa: ANN001, ANN003
            return np.ones((len(texts), 3), dtype=np.float64) / np.sqrt(3)

    import sentence_transformers

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", FakeST)
    emb = negatives.minilm_embed(["a", "b"])
    assert calls == {"device": "cpu", "float": True}
    assert emb.dtype == np.float32 and (negatives.MINING_DEVICE, negatives.MINING_DTYPE) == ("cpu", "float32")
