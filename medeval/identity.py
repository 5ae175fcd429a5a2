"""Result identity: the model, data and protocol a stored score belongs to, and when it may be reused.

A result file is only reused by ``medeval run``, accepted by ``medeval validate`` and shown on the leaderboard for
what it was computed from:

* **the model**: its name and revision (the folders it is filed under) and a fingerprint of what it computes
  (:func:`model_fingerprint`: the weights, module configs such as pooling and normalisation, max length, prompts);
  a local folder without ``--model-revision`` gets a revision derived from that fingerprint
  (:func:`derived_revision`), so a model changed in place is never filed with its old scores;
* **the data**: the task's content hash (``dataset_revision`` in the result file);
* **the protocol**: :func:`protocol_fingerprint`, a hash of everything else that decides the score: the task type,
  the YAML's ``evaluation`` block (main score, eval splits, samples per label, experiments, clustering settings,
  k values), the version of medeval's evaluator for that task type (:data:`EVALUATOR_VERSIONS`) and mteb's
  major.minor version.

The model and protocol fingerprints are recorded per task in ``run_settings.jsonl`` next to the result files::

    {"task": "CCSCategoryClassification", "protocol": "3f1c...", "protocol_params": {...},
     "model_fingerprint": "9ab2...", "data_revision": "c7a3...", ...}

    >>> from medeval.catalog import get_spec
    >>> from medeval.identity import protocol_fingerprint, protocol_params
    >>> spec = get_spec("CCSCategoryClassification")
    >>> len(protocol_fingerprint(spec))       # 16 hex digits
    16
    >>> protocol_params(spec)["evaluation"]["main_score"]
    'f1'
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from mteb.results import TaskResult
    from sentence_transformers import SentenceTransformer

    from medeval.spec import TaskSpec

#: The version of medeval's evaluation code per task type. Bump the number when the way a type is scored changes
#: (for example the clustering protocol): every stored result of that type then gets a new protocol fingerprint,
#: so ``medeval run`` scores it again and ``medeval validate`` rejects the old files.
EVALUATOR_VERSIONS: dict[str, int] = {
    "Classification": 1,  # mteb's logistic regression on embeddings, samples_per_label per label, n_experiments runs
    "Clustering": 2,  # medeval.clustering (CLUSTERING_PROTOCOL_VERSION): every row once, mean over k-means seeds; V-measure (1: mteb's bootstrap draws)
    "PairClassification": 1,  # mteb's best-threshold similarity scores
    "Retrieval": 1,  # mteb's exact search and pytrec_eval metrics (nDCG@10, ...)
}
#: The evaluator version results written before protocols were recorded were computed with (for the migration).
LEGACY_EVALUATOR_VERSION = 1
#: Prefix of a revision derived from a model's fingerprint (a local folder run without ``--model-revision``).
DERIVED_REVISION_PREFIX = "local-"


def canonical(obj: Any) -> bytes:
    """One byte string per JSON-able value, whatever its dict order: what every fingerprint here hashes.

    Args:
        obj: A JSON-able value (anything else is written as its ``repr``).

    Returns:
        Compact UTF-8 JSON with sorted keys.

    Example:
        >>> canonical({"b": 1, "a": [1, 2]})
        b'{"a":[1,2],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr).encode("utf-8")


def _digest(obj: Any, length: int = 16) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()[:length]


# --------------------------------------------------------------------------------------------------- protocol
def mteb_minor(version: str | None = None) -> str:
    """``major.minor`` of an mteb version (default: the installed one).

    Args:
        version: An mteb version string; None reads the installed mteb's.

    Returns:
        The first two parts.

    Example:
        >>> mteb_minor("2.26.24")
        '2.26'
    """
    if version is None:
        import importlib.metadata as md

        version = md.version("mteb")
    return ".".join(str(version).split(".")[:2])


def protocol_params(spec: TaskSpec, *, mteb_version: str | None = None) -> dict[str, Any]:
    """What decides a task's score besides its data and the model, as a JSON-ready dict.

    Args:
        spec: the task's :class:`~medeval.spec.TaskSpec`.
        mteb_version: an mteb version to use instead of the installed one.

    Returns:
        ``{"type", "evaluation", "evaluator", "mteb"}``: the task type, the YAML's ``evaluation`` block (fields left
        unset are omitted, so adding a new optional field does not change old fingerprints), the evaluator version
        for the type (:data:`EVALUATOR_VERSIONS`) and mteb's ``major.minor``.
    """
    return {
        "type": spec.type,
        "evaluation": spec.evaluation.model_dump(mode="json", exclude_none=True),
        "evaluator": EVALUATOR_VERSIONS[spec.type],
        "mteb": mteb_minor(mteb_version),
    }


def fingerprint_of_params(params: dict[str, Any]) -> str:
    """The 16-hex-digit fingerprint of :func:`protocol_params`' output.

    Args:
        params: A :func:`protocol_params` dict (as recorded in ``run_settings.jsonl``).

    Returns:
        16 hex digits of sha256 over its canonical JSON.
    """
    return _digest(params)


def protocol_fingerprint(spec: TaskSpec, *, mteb_version: str | None = None) -> str:
    """The task's protocol fingerprint: 16 hex digits of sha256 over :func:`protocol_params`.

    Args:
        spec: The task's :class:`~medeval.spec.TaskSpec`.
        mteb_version: An mteb version to use instead of the installed one.

    Returns:
        16 hex digits.

    Example:
        >>> from medeval.catalog import get_spec
        >>> fp = protocol_fingerprint(get_spec("HPOLaypersonRetrieval"))
        >>> fp == protocol_fingerprint(get_spec("HPOLaypersonRetrieval")), len(fp)
        (True, 16)
    """
    return fingerprint_of_params(protocol_params(spec, mteb_version=mteb_version))


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: obj}


def describe_change(old: Any, new: dict[str, Any]) -> str:
    """What differs between two :func:`protocol_params` dicts, e.g. ``"main_score f1 -> accuracy"``.

    Args:
        old: The stored parameters; anything read from a file (when it is not a dict, the answer says the old
            protocol is unknown).
        new: The task's parameters now.

    Returns:
        The changed fields as ``"field old -> new"``, comma-separated.
    """
    if not isinstance(old, dict):
        return "the stored result does not record its protocol's parameters"
    a, b = _flatten(old), _flatten(new)
    parts = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            label = key.removeprefix("evaluation.")
            label = {"evaluator": "evaluator version", "mteb": "mteb version"}.get(label, label)
            parts.append(f"{label} {a.get(key, 'unset')} -> {b.get(key, 'unset')}")
    return ", ".join(parts) or "same parameters, other fingerprint"


# --------------------------------------------------------------------------------------------------- model
def sentence_transformer_of(model: object) -> SentenceTransformer | None:
    """The SentenceTransformer inside ``model`` (itself, mteb's wrapper, or medeval's adapters), or None.

    Args:
        model: An mteb encoder or a ``SentenceTransformer``.

    Returns:
        The ``SentenceTransformer`` found within four levels of wrapping, or None.
    """
    from sentence_transformers import SentenceTransformer

    for _ in range(4):
        if isinstance(model, SentenceTransformer):
            return model
        model = getattr(model, "wrapped", None) or getattr(model, "model", None)
        if model is None:
            return None
    return None


def weights_fingerprint(module: torch.nn.Module) -> str:
    """sha256 over every tensor's name, shape, dtype and a fixed sample of its values (ends and 256 strided).

    A fixed sample instead of every value keeps it fast on large models (milliseconds) while a model retrained or
    edited in place still gets a new fingerprint.

    Args:
        module: A ``torch.nn.Module`` (e.g. a ``SentenceTransformer``).

    Returns:
        64 hex digits.
    """
    import torch

    h = hashlib.sha256()
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not isinstance(tensor, torch.Tensor):
                continue
            flat = tensor.detach().reshape(-1)
            n = flat.numel()
            if n > 640:
                flat = torch.cat([flat[:192], flat[:: max(1, n // 256)][:256], flat[-192:]])
            h.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
            h.update(flat.contiguous().cpu().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def module_configs(st: SentenceTransformer) -> list[list[Any]]:
    """Each module of a ``SentenceTransformer`` as ``[class path, config]`` (pooling mode, normalisation, ...).

    Args:
        st: A ``SentenceTransformer`` (iterating it gives its modules).

    Returns:
        One ``[module.class.path, get_config_dict()]`` pair per module; ``{}`` when a module has no usable config.
    """
    configs = []
    for module in st:
        get = getattr(module, "get_config_dict", None)
        try:
            config = get() if callable(get) else {}
        except Exception:  # noqa: BLE001 - a module without a usable config is identified by its class
            config = {}
        configs.append([f"{type(module).__module__}.{type(module).__qualname__}", config])
    return configs


def model_fingerprint(model: object) -> str | None:
    """16 hex digits identifying what a sentence-transformers model computes; None for other encoders.

    Covers the weights (:func:`weights_fingerprint`: every tensor's name, shape, dtype and a
    fixed sample of its values), each module's class and config (pooling mode, normalisation, ...), the max
    sequence length, truncation dimension and prompts. Computed before any ``--precision`` cast, so it names the
    weights as stored.

    Args:
        model: a ``SentenceTransformer`` or an mteb encoder wrapping one.

    Returns:
        The fingerprint, or None when ``model`` is not a sentence-transformers model (e.g. mteb's random baseline).
    """
    st = sentence_transformer_of(model)
    if st is None:
        return None
    return _digest({
        "weights": weights_fingerprint(st),
        "modules": module_configs(st),
        "max_seq_length": getattr(st, "max_seq_length", None),
        "truncate_dim": getattr(st, "truncate_dim", None),
        "prompts": dict(getattr(st, "prompts", None) or {}),
        "default_prompt_name": getattr(st, "default_prompt_name", None),
    })


def derived_revision(fingerprint: str) -> str:
    """The revision recorded for a model folder run without ``--model-revision``: ``local-<12 hex digits>``.

    Args:
        fingerprint: The model's :func:`model_fingerprint`.

    Returns:
        ``local-`` and the fingerprint's first 12 hex digits.
    """
    return f"{DERIVED_REVISION_PREFIX}{fingerprint[:12]}"


# --------------------------------------------------------------------------------------------------- reuse
def reuse_problem(
    result: TaskResult | None,
    settings: dict[str, Any] | None,
    *,
    eval_splits: list[str],
    data_revision: str,
    protocol: str,
    params: dict[str, Any],
    model_fp: str | None,
    precision: str,
) -> str | None:
    """Why a stored result cannot stand for the run about to happen, in a few words; None when it can be reused.

    Args:
        result: the stored mteb ``TaskResult`` (None when there is none).
        settings: the task's line of ``run_settings.jsonl`` next to it (None when there is none).
        eval_splits: the task's eval splits now.
        data_revision: the content hash of the task's data now.
        protocol: the task's protocol fingerprint now.
        params: the task's :func:`protocol_params` now (to say what changed).
        model_fp: the model's :func:`model_fingerprint` now (None: not a sentence-transformers model).
        precision: the precision of this run (``fp32``, ``fp16``, ``bf16``).

    Returns:
        None, or e.g. ``"protocol changed: main_score f1 -> accuracy"``, ``"model weights changed since the stored
        result"``.
    """
    if result is None:
        return "no stored result"
    if result.dataset_revision != data_revision:
        return f"data changed since the stored result ({result.dataset_revision} -> {data_revision})"
    missing = [s for s in eval_splits if not result.scores.get(s)]
    if missing:
        return f"the stored result lacks eval split(s) {', '.join(missing)}"
    if not isinstance(settings, dict) or not settings.get("protocol"):
        return "the stored result does not record its protocol (written before protocols were recorded)"
    if settings["protocol"] != protocol:
        return f"protocol changed: {describe_change(settings.get('protocol_params'), params)}"
    stored_fp = settings.get("model_fingerprint")
    if model_fp is not None and stored_fp != model_fp:
        if stored_fp is None:
            return "the stored result does not record which weights made it"
        return "model weights or configuration changed since the stored result"
    stored_precision = settings.get("precision") or "fp32"
    if stored_precision != precision:
        return f"precision changed ({stored_precision} -> {precision})"
    return None
