"""What a cached vector's key covers: the encoder, how one call encodes, and the text.

Key = sha256(namespace + text), namespace = sha256 over (what the encoder is, how this call encodes). "What the
encoder is" (:func:`encoder_identity`) = model name, revision, wrapper class and, for sentence-transformers
models, the module configs, the prompts, the weight dtype and a fingerprint of the weights
(:func:`medeval.identity.weights_fingerprint`). "How this call encodes" (:func:`call_description`) = the prompt
sentence-transformers will actually prepend, the query/document route of a Router model and every encode setting
except speed-only ones; for encoders whose inputs medeval cannot see, the task, split, subset and prompt type.

    >>> ns = namespace(encoder_identity(model, meta, st), {"prompt": "", "route": None, "settings": {}})
    >>> [len(k) for k in text_keys(ns, ["fever", "cough"])]
    [32, 32]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from medeval.encoding import SPEED_ONLY_KWARGS
from medeval.identity import canonical, module_configs, weights_fingerprint

#: The version of the key and shard format; bump it to make every stored vector unreachable.
FORMAT = 1
#: Bytes of a key (a sha256 digest).
KEY_BYTES = 32


def encoder_identity(model: Any, meta: Any, st: Any | None) -> dict[str, Any]:
    """What the encoder is, as far as its vectors go.

    Args:
        model: The wrapped mteb encoder (its class is part of the identity).
        meta: Its mteb ``ModelMeta`` (name, revision, experiment settings).
        st: The ``SentenceTransformer`` inside it, or None for other encoders.

    Returns:
        A JSON-able dictionary; for sentence-transformers models it includes module configs, max length,
        truncation, weight dtype, prompts and the weights fingerprint.
    """
    ident: dict[str, Any] = {
        "format": FORMAT,
        "model": getattr(meta, "name", None),
        "revision": getattr(meta, "revision", None),
        "experiment": getattr(meta, "experiment_kwargs", None),
        "encoder": f"{type(model).__module__}.{type(model).__qualname__}",
    }
    if st is not None:
        first = next(iter(st.parameters()), None)
        ident.update(
            modules=module_configs(st),
            max_seq_length=getattr(st, "max_seq_length", None),
            truncate_dim=getattr(st, "truncate_dim", None),
            dtype=str(first.dtype) if first is not None else None,
            prompts=dict(getattr(st, "prompts", None) or {}),
            default_prompt_name=getattr(st, "default_prompt_name", None),
            weights=weights_fingerprint(st),
        )
    return ident


def effective_prompt(model: Any, st: Any | None, task_metadata: Any, prompt_type: Any) -> str:
    """The prompt sentence-transformers will prepend for this task and prompt type ("" for none).

    mteb's per-task / per-prompt-type choice (``model.model_prompts``) first, else the model's own query, document
    or default prompt.

    Args:
        model: The wrapped mteb encoder.
        st: The ``SentenceTransformer`` inside it, or None.
        task_metadata: mteb's ``TaskMetadata`` of the call.
        prompt_type: mteb's ``PromptType`` (query / document) or None.

    Returns:
        The prompt text.
    """
    from mteb.models.abs_encoder import get_prompt

    prompt = get_prompt(getattr(model, "model_prompts", None), task_metadata, prompt_type)
    if prompt is None and st is not None:
        prompts = getattr(st, "prompts", None) or {}
        role = getattr(prompt_type, "value", None)
        if role in ("query", "document") and role in prompts:
            prompt = prompts[role]
        elif getattr(st, "default_prompt_name", None) is not None:
            prompt = prompts.get(st.default_prompt_name)
    return prompt or ""


def call_description(*, text_only: bool, prompt: str, has_router: bool, task_metadata: Any, prompt_type: Any,
                     hf_split: str, hf_subset: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """How one encode call encodes: what, besides the encoder and the text, decides its vectors.

    Args:
        text_only: The encoder reads only the text (mteb's sentence-transformers wrapper): then the prompt and route
            stand for the call and vectors are shared across tasks; otherwise the task, split, subset and prompt type.
        prompt: :func:`effective_prompt`'s result.
        has_router: The model has a Router module (queries and documents take different routes).
        task_metadata: mteb's ``TaskMetadata`` of the call.
        prompt_type: mteb's ``PromptType`` or None.
        hf_split: The split encoded.
        hf_subset: The subset encoded.
        kwargs: The encode keyword arguments (speed-only ones such as ``batch_size`` are left out).

    Returns:
        A JSON-able dictionary.
    """
    role = getattr(prompt_type, "value", prompt_type)
    if text_only:
        call: dict[str, Any] = {"prompt": prompt, "route": role if has_router else None}
    else:
        call = {"task": task_metadata.name, "type": task_metadata.type, "prompt_type": role,
                "split": hf_split, "subset": hf_subset}
    call["settings"] = {k: v for k, v in kwargs.items() if k not in SPEED_ONLY_KWARGS}
    return call


def namespace(identity: dict[str, Any], call: dict[str, Any]) -> bytes:
    """The 32-byte prefix of every key of one encode call: sha256 over the encoder's identity and the call.

    Args:
        identity: :func:`encoder_identity`'s result.
        call: :func:`call_description`'s result.

    Returns:
        32 bytes.
    """
    return hashlib.sha256(canonical({"encoder": identity, "call": call})).digest()


def text_keys(namespace: bytes, texts: Sequence[str]) -> list[bytes]:
    """One 32-byte key per text: sha256(namespace + text).

    Args:
        namespace: :func:`namespace`'s result.
        texts: The texts (or, for encoders other than sentence-transformers, canonical row ids).

    Returns:
        The keys, in the order of ``texts``.

    Example:
        >>> [len(k) for k in text_keys(bytes(32), ["fever", "cough"])]
        [32, 32]
    """
    keys = []
    for text in texts:
        h = hashlib.sha256(namespace)
        h.update(text.encode("utf-8", "surrogatepass"))
        keys.append(h.digest())
    return keys
