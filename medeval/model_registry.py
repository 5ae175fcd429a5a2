"""mteb's model registry, for medeval's own models (the TF-IDF floor, the int8 ONNX MiniLM): one way to add them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from mteb.models import ModelMeta


def register_model_meta(name: str, make_meta: Callable[[], ModelMeta]) -> ModelMeta:
    """Add one of medeval's own models to mteb's model registry, once (the TF-IDF floor, the int8 ONNX MiniLM).

    Args:
        name: the model's ``ORG/NAME``, the registry key.
        make_meta: builds its ``mteb.models.ModelMeta`` (called only when ``name`` is not registered yet).

    Returns:
        The registered ModelMeta, so ``mteb.get_model_meta(name)`` finds it.
    """
    from mteb.models.model_implementations import MODEL_REGISTRY

    if name not in MODEL_REGISTRY:
        MODEL_REGISTRY[name] = make_meta()
    return MODEL_REGISTRY[name]
