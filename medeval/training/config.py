"""The training config: one YAML file per recipe, validated with pydantic.

    >>> from medeval.training.config import load_config
    >>> cfg = load_config("configs/medte-mini.yaml")
    >>> cfg.training.batch_size, cfg.loss.scale
    (32, 14.285714285714285)

A bad file raises :class:`TrainingConfigError` naming the file, the field and what is allowed, e.g.
``configs/x.yaml: field 'training.learning_rate': Input should be greater than 0``.

Layout (every key but ``name`` and ``base_model`` has a default; see ``configs/medte.yaml`` for the full recipe)::

    name: medeval/MedTE-mini           # ORG/NAME the trained model is recorded under
    base_model: sentence-transformers/all-MiniLM-L6-v2   # Hub id or local folder (this id: the PyPI copy, offline)
    max_seq_length: 256
    pooling: mean                      # mean | cls | max   (then L2-normalised when normalize: true)
    normalize: true
    loss:      {temperature: 0.07, mini_batch_size: 32, gather_across_devices: false}
    training:  {batch_size: 32, max_steps: 300, learning_rate: 5.0e-5, weight_decay: 0.01, warmup_steps: 30,
                lr_scheduler: constant_with_warmup, precision: fp32, device: cpu, seed: 42,
                multi_dataset_sampler: proportional, no_duplicates: true, logging_steps: 10, save_steps: 0}
    data:
      source_dir: ../shared/datakit    # upstream records in the datakit layout (None: the network)
      mimic_dir: null                  # your credentialed MIMIC-IV folder (the mimic source needs it)
      skip_missing: false              # true: a source whose records are absent is skipped (and reported)
      sources:                         # the sources to train on; each may cap its pairs
        pubmed: {max_pairs: 2000}
        medquad: {}
    leakage: {enabled: true, benchmarks: ["MedEval(v1)", "MedEval-Terms(v1)"], tasks: [], build_missing: true}
    output_dir: runs/medte-mini

Paths (``source_dir``, ``mimic_dir``, ``output_dir``, ``base_model`` when it is a folder) are relative to the
working directory, as on the command line; ``--source-dir`` and ``--output`` override the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medeval.errors import MedEvalError


class TrainingConfigError(MedEvalError):
    """A training config YAML is malformed or names something that does not exist."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LossConfig(_Strict):
    """InfoNCE with in-batch negatives (anchor -> positive only), gradient-cached so big batches fit."""

    temperature: float = Field(0.07, gt=0, le=1, description="softmax temperature; the loss scale is 1/temperature")
    mini_batch_size: int = Field(32, ge=1, description="texts per forward pass of the gradient cache (memory, not maths)")
    gather_across_devices: bool = Field(False, description="DDP: use other GPUs' batches as negatives too (mixes sources)")

    @property
    def scale(self) -> float:
        """The loss scale (logit multiplier), ``1 / temperature``: 14.29 at the default 0.07."""
        return 1.0 / self.temperature


Sampler = Literal["proportional", "round_robin"]


class TrainingSection(_Strict):
    """The YAML's ``training:`` block: batch size, schedule, precision, device, seed and batch sampling.

    The defaults are the MedTE paper's recipe (arXiv 2507.19407: batch 800, 8,000 steps, lr 5e-5, 1,000 warm-up steps,
    bf16); ``configs/medte-mini.yaml`` overrides them for a CPU-sized run.
    """
    batch_size: int = Field(800, ge=2, description="pairs per batch (per device); in-batch negatives = batch_size - 1")
    max_steps: int = Field(8000, ge=1)
    learning_rate: float = Field(5e-5, gt=0, lt=1)
    weight_decay: float = Field(0.01, ge=0, lt=1)
    warmup_steps: int = Field(1000, ge=0)
    lr_scheduler: Literal["constant_with_warmup", "linear", "cosine", "constant"] = "constant_with_warmup"
    precision: Literal["fp32", "bf16", "fp16"] = "bf16"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = 42
    multi_dataset_sampler: Sampler = Field("proportional", description="order of the one-source batches")
    no_duplicates: bool = Field(True, description="no text twice in a batch (a repeated text is a false negative)")
    logging_steps: int = Field(50, ge=1)
    save_steps: int = Field(1000, ge=0, description="checkpoint every N steps (0: only the final model)")
    save_total_limit: int = Field(2, ge=1)
    dataloader_num_workers: int = Field(0, ge=0)


class SourceOptions(_Strict):
    """Options every source takes."""

    max_pairs: int | None = Field(None, ge=1, description="cap: a seeded sample of at most this many pairs")


class WikipediaOptions(SourceOptions):
    """``data.sources.wikipedia``: article (title, first section) pairs from the given MediaWiki categories."""
    categories: list[str] = Field(min_length=1, description='categories whose articles are used, e.g. ["Diseases and disorders"]')
    depth: int = Field(1, ge=0, le=3, description="sub-category recursion depth")


class PubmedOptions(SourceOptions):
    """``data.sources.pubmed``: (title, abstract) pairs of the articles PubMed's esearch returns for the terms."""
    terms: list[str] = Field(["medicine"], min_length=1, description="esearch terms whose articles are used (online)")
    max_per_term: int = Field(9999, ge=1)


class PreprintOptions(SourceOptions):
    """``data.sources.biorxiv`` / ``medrxiv``: (title, abstract) pairs of preprints posted between ``start`` and ``end``
    (ISO dates).
    """
    start: str = Field("2018-01-01", pattern=r"^\d{4}-\d{2}-\d{2}$")
    end: str = Field("2022-12-20", pattern=r"^\d{4}-\d{2}-\d{2}$")
    cc_only: bool = Field(True, description="only preprints under a Creative Commons licence")


class QuestionOptions(SourceOptions):
    """``data.sources.medmcqa`` / ``medqa``: (question, correct answer) pairs from the given splits."""
    splits: list[Literal["train", "validation", "test", "unknown"]] | None = Field(
        ["train"], min_length=1, description="splits whose questions are used (null: all); the split comes from the file name"
    )


class SourcesConfig(_Strict):
    """The training sources; a source left out (or null) is not used."""

    wikipedia: WikipediaOptions | None = None
    mimic: SourceOptions | None = None
    pubmed: PubmedOptions | None = None
    biorxiv: PreprintOptions | None = None
    medrxiv: PreprintOptions | None = None
    clinicaltrials: SourceOptions | None = None
    medmcqa: QuestionOptions | None = None
    medqa: QuestionOptions | None = None
    medquad: SourceOptions | None = None

    def enabled(self) -> dict[str, SourceOptions]:
        """The sources the config uses, in the order of the fields above.

        Returns:
            Source name (e.g. ``"pubmed"``) -> its options; sources left out or null are not listed.
        """
        return {name: opts for name in type(self).model_fields if (opts := getattr(self, name)) is not None}


class DataConfig(_Strict):
    """The YAML's ``data:`` block: where upstream records come from, which sources to use, seeding and filtering.

    A config without any source is refused (pydantic's validation error, reported as :class:`TrainingConfigError`).
    """
    source_dir: Path | None = Field(None, description="upstream records in the datakit layout; None: the network")
    mimic_dir: Path | None = Field(None, description="the credentialed MIMIC-IV folder (note/discharge.csv.gz)")
    offline: bool = False
    skip_missing: bool = Field(False, description="skip (and report) a source whose records are absent instead of failing")
    seed: int = 42
    min_chars: int = Field(3, ge=1, description="pairs with a shorter anchor or positive are dropped")
    sources: SourcesConfig

    @model_validator(mode="after")
    def _some_source(self) -> DataConfig:
        if not self.sources.enabled():
            raise ValueError("no training source: list at least one under data.sources (e.g. medquad: {})")
        return self


class LeakageConfig(_Strict):
    """The YAML's ``leakage:`` block: which benchmark tasks' texts to drop from the training pairs
    (:mod:`medeval.training.leakage`).
    """
    enabled: bool = Field(True, description="drop pairs that share a text with a benchmark task's data")
    benchmarks: list[str] = ["MedEval(v1)", "MedEval-Terms(v1)"]
    tasks: list[str] = Field([], description="more tasks to check: names, or paths of your own task YAMLs")
    build_missing: bool = Field(True, description="build unbuilt tasks that need no input (MedEval-Terms) before checking")


class TrainConfig(_Strict):
    """One training recipe: the whole YAML file (see the module docstring for its layout).

    ``name`` must be ``ORG/NAME``, and ``loss.mini_batch_size`` may not exceed the texts of a batch
    (2 x ``training.batch_size``). Build it with :func:`load_config` (a file) or :func:`parse_config` (a mapping).
    """
    name: str = Field(description="ORG/NAME the trained model is recorded under")
    base_model: str = Field(description="Hub id or local sentence-transformers / transformers folder")
    max_seq_length: int = Field(512, ge=8, le=8192)
    pooling: Literal["mean", "cls", "max"] = "mean"
    normalize: bool = True
    loss: LossConfig = LossConfig()
    training: TrainingSection = TrainingSection()
    data: DataConfig
    leakage: LeakageConfig = LeakageConfig()
    output_dir: Path | None = None

    @field_validator("name")
    @classmethod
    def _org_name(cls, v: str) -> str:
        if v.count("/") != 1 or not all(v.split("/")):
            raise ValueError(f"{v!r} must be ORG/NAME, e.g. medeval/MedTE-mini")
        return v

    @model_validator(mode="after")
    def _batch(self) -> TrainConfig:
        if self.loss.mini_batch_size > 2 * self.training.batch_size:
            raise ValueError("loss.mini_batch_size larger than the texts of a batch (2 x training.batch_size) does nothing; lower it")
        return self


def _messages(err: ValidationError, path: Path | str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-after"))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key; check the spelling (allowed keys: see medeval.training.config)"
        elif e["type"] == "missing":
            msg = "required; add it"
        lines.append(f"{path}: field '{loc}': {msg}" if loc else f"{path}: {msg}")  # no field: a cross-field check
    return "\n".join(lines)


def parse_config(data: object, path: Path | str = "<config>") -> TrainConfig:
    """Validate an already-loaded YAML mapping.

    Args:
        data: the parsed YAML (a mapping of the keys in the module docstring).
        path: the file it came from, used in error messages only.

    Returns:
        The validated :class:`TrainConfig` (paths left as written, relative to the working directory).

    Raises:
        TrainingConfigError: ``data`` is not a mapping, or a field is missing, unknown or out of range (one line per
            problem: ``<path>: field 'training.learning_rate': Input should be greater than 0``).

    Example:
        >>> cfg = parse_config({"name": "me/m", "base_model": "x", "data": {"sources": {"medquad": {}}}})
        >>> cfg.training.batch_size, sorted(cfg.data.sources.enabled())
        (800, ['medquad'])
    """
    if not isinstance(data, dict):
        raise TrainingConfigError(f"{path}: a training config must be a YAML mapping (name: ..., base_model: ..., data: ...)")
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        raise TrainingConfigError(_messages(err, path)) from None


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a training config YAML; :class:`TrainingConfigError` names the file and field.

    Args:
        path: a ``.yaml`` file, e.g. ``configs/medte-mini.yaml``.

    Returns:
        The validated :class:`TrainConfig`.

    Raises:
        TrainingConfigError: the file is missing, not UTF-8, not valid YAML (with line and column) or fails validation
            (see :func:`parse_config`).

    Example:
        >>> load_config("configs/medte-mini.yaml").name
        'medeval/MedTE-mini'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrainingConfigError(f"{path}: no such config file (see configs/medte-mini.yaml for an example)") from None
    except (UnicodeDecodeError, IsADirectoryError) as err:
        raise TrainingConfigError(f"{path}: not a UTF-8 YAML file ({err}); give the path of a .yaml config") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise TrainingConfigError(f"{path}:{where} invalid YAML: {problem}; fix the syntax") from None
    return parse_config(data, path)
