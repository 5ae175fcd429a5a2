"""The task schema every ``tasks/*.yaml`` file follows, and its loader.

A task YAML is the citable description of one task: what it is, where its data comes from (upstream, version,
licence, access), how it is built (labels, sections, hard negatives, caps, seed, split) and how it is scored.
``load_spec(path)`` validates a file and raises :class:`~medeval.errors.SpecError` naming the file, the field
and what is allowed::

    >>> from medeval.spec.task import load_spec
    >>> spec = load_spec("tasks/WikiSyndromesClassification.yaml")
    >>> spec.evaluation.main_score
    'f1'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from medeval.errors import SpecError
from medeval.spec.fields import BibTeX, LicenceId, StrictModel, WebUrl, format_validation_error
from medeval.spec.safe_yaml import read_yaml

TaskType = Literal["Classification", "Clustering", "PairClassification", "Retrieval"]
Access = Literal["open", "credentialed", "needs-llm"]
#: The task types, in display order.
TASK_TYPES: tuple[str, ...] = get_args(TaskType)

#: Main scores allowed per task type (names as mteb writes them in result files).
MAIN_SCORES: dict[str, tuple[str, ...]] = {
    "Classification": ("f1", "accuracy", "f1_weighted"),
    "Clustering": ("v_measure",),
    "PairClassification": ("similarity_f1", "similarity_ap", "max_f1", "max_ap", "cosine_f1", "cosine_ap"),
    "Retrieval": ("ndcg_at_10", "map_at_10", "mrr_at_10", "recall_at_10", "recall_at_1"),
}

#: The loader class each type uses when a YAML does not name one.
DEFAULT_LOADERS: dict[str, str] = {
    "Classification": "medeval.loaders.Classification",
    "Clustering": "medeval.loaders.Clustering",
    "PairClassification": "medeval.loaders.PairClassification",
    "Retrieval": "medeval.loaders.Retrieval",
}

_NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]+$")
class Source(StrictModel):
    """Where the task's data comes from. Every field is required for the benchmark's own tasks (``tasks/``), where
    it is part of the citable card; a user's own task may leave the block, or any field, out."""

    name: str = Field(default="user data", description="upstream, e.g. 'MIMIC-IV-Note' or 'ICD-10-CM (simple-icd-10-cm 1.5.0)'")
    group: str = Field(default="User tasks", description="the source group leaderboard means are taken over, e.g. 'MIMIC-IV'")
    upstream: str = Field(default="a local data folder", description="what the builder reads: an API endpoint, dataset or package file")
    version: str = Field(default="unversioned", description="pinned version / revision / release of the upstream")
    license: str = Field(default="not specified", description="the upstream's licence, as its owner states it")
    access: Access = "open"
    url: WebUrl | None = None
    bibtex: BibTeX | None = None


class HardNegatives(StrictModel):
    """For each positive (a, b): a negative (a, b') with b' drawn from the top-k most similar other b texts."""

    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    k: int = Field(gt=0)
    restrict: str | None = Field(default=None, description="extra condition on b', e.g. 'different_diagnosis'")


class LLMStep(StrictModel):
    """Text written by an instruction-tuned LLM from each source record (OpenAI-compatible chat endpoint)."""

    purpose: str
    prompt: str
    temperature: float = Field(default=0.7, ge=0, le=2)
    reference_model: str = Field(default="gpt-4o", description="the model the paper used")


class Construction(StrictModel):
    """How the builder turns upstream records into task rows."""

    builder: str = Field(description="builder id, e.g. 'terms.icd10cm_chapter' or 'mimic.section_retrieval'")
    seed: int = 42
    max_rows: int = Field(gt=0, description="size cap (rows, pairs or queries)")
    split: dict[str, float] | None = Field(default=None, description="split fractions, e.g. {train: 0.7, test: 0.3}")
    labels: dict[str, list[str]] | None = Field(
        default=None, description="label -> the upstream strings (categories, search terms, diagnoses) mapped to it"
    )
    sections: list[str] | None = None
    hard_negatives: HardNegatives | None = None
    balance: Literal["none", "downsample"] = "none"
    llm: LLMStep | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="builder-specific parameters")

    @field_validator("split")
    @classmethod
    def _split(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        if "test" not in v:
            raise ValueError("must contain a 'test' fraction")
        if abs(sum(v.values()) - 1.0) > 1e-9 or any(x <= 0 for x in v.values()):
            raise ValueError(f"fractions must be positive and sum to 1 (got {dict(v)})")
        return v


class ClusteringSettings(StrictModel):
    """The clustering protocol (:mod:`medeval.clustering`): every row embedded and clustered exactly once by
    mini-batch k-means with k = number of labels, repeated with ``kmeans_seeds`` seeds; the score is the mean
    V-measure and the spread its standard deviation over the seeds."""

    kmeans_seeds: int = Field(default=10, gt=0, le=100, description="k-means runs over all rows (seeds 42, 43, ...)")
    kmeans_batch_size: int = Field(default=500, gt=0, description="mini-batch size of k-means (mteb 1.x: 500)")

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        old = sorted({"embed_fraction", "n_experiments", "sample_size"} & set(data or {})) if isinstance(data, dict) else []
        if old:
            raise ValueError(
                f"{', '.join(old)} no longer exist(s): every row is now clustered exactly once (no sampling); "
                "delete them, and set kmeans_seeds for the number of k-means runs"
            )
        return data


class Evaluation(StrictModel):
    """How the task is scored. ``main_score`` defaults by task type (:data:`DEFAULT_MAIN_SCORES`)."""

    main_score: str | None = None
    eval_splits: list[str] = ["test"]
    samples_per_label: int | None = Field(default=None, gt=0)
    n_experiments: int | None = Field(default=None, gt=0)
    clustering: ClusteringSettings | None = None
    k_values: list[int] | None = None


class Deviation(StrictModel):
    """One deliberate difference between how medeval builds or scores a task and how the MedTE paper's code did."""

    what: str = Field(min_length=10, description="what medeval does differently, e.g. 'sampling is seeded'")
    why: str = Field(min_length=10, description="the reason, e.g. 'the paper's unseeded sampling cannot be reproduced'")


class DatasetRef(StrictModel):
    """Where built data can be downloaded (a Hub dataset repo) and the content hash it must have."""

    path: str | None = Field(default=None, description="Hub dataset repo 'org/name' holding the built data")
    revision: str | None = Field(default=None, description="pinned content hash (or Hub revision) of the built data")


#: The main score a task gets when its YAML names none (the paper's protocol per type).
DEFAULT_MAIN_SCORES: dict[str, str] = {
    "Classification": "f1", "Clustering": "v_measure", "PairClassification": "similarity_f1", "Retrieval": "ndcg_at_10",
}

#: Fields a task of the benchmark itself (a file in ``tasks/``) must state: its citable card. A user's own task
#: needs only ``name``, ``type`` and ``data``.
CITABLE_FIELDS = ("description", "reference", "date", "license", "source", "citation")
CITABLE_SOURCE_FIELDS = ("name", "group", "upstream", "version", "license", "access", "url", "bibtex")


class TaskSpec(StrictModel):
    """One task, as its YAML declares it.

    A user's own task needs only ``name``, ``type`` and ``data``; the main score then defaults by type. The
    citable fields (:data:`CITABLE_FIELDS`, and every field of ``source``) are required for the benchmark's own
    tasks, the files in ``tasks/`` (:func:`load_spec` checks them there).
    """

    name: str
    type: TaskType
    description: str | None = Field(default=None, min_length=20)
    benchmark: str | None = None
    paper_id: str | None = Field(default=None, description="the task's identifier in the MedTE paper")
    loader: str | None = Field(default=None, description="dotted path of the mteb task class that loads the data")
    reference: WebUrl | None = None
    languages: list[str] = ["eng-Latn"]
    domains: list[str] = ["Medical"]
    task_subtypes: list[str] | None = None
    date: tuple[str, str] | None = None
    license: LicenceId | None = Field(default=None, description="licence of the data: an mteb licence id (any case) or a URL")
    annotations_creators: str = "derived"
    sample_creation: str = "found"
    source: Source = Source()
    construction: Construction | None = None
    deviations: list[Deviation] = Field(default_factory=list, description="every deliberate difference from the paper")
    evaluation: Evaluation = Evaluation()
    dataset: DatasetRef = DatasetRef()
    data: str | None = Field(default=None, description="user tasks: local data folder, relative to the YAML")
    citation: BibTeX | None = Field(default=None, description="BibTeX of the paper / benchmark the task belongs to")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError("must be CamelCase letters and digits, e.g. 'MyHospitalNotesClassification'")
        return v

    @field_validator("date")
    @classmethod
    def _date(cls, v: tuple[str, str] | None) -> tuple[str, str] | None:
        for d in v or ():
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", d):
                raise ValueError(f"dates must be YYYY-MM-DD (got {d!r})")
        return v

    @model_validator(mode="before")
    @classmethod
    def _defaults_by_type(cls, data: Any) -> Any:
        """Fill in what follows from the type: the main score and, for clustering, the default settings."""
        if not isinstance(data, dict) or data.get("type") not in DEFAULT_MAIN_SCORES:
            return data
        evaluation = data.get("evaluation")
        if evaluation is None or isinstance(evaluation, dict):
            evaluation = dict(evaluation or {})
            evaluation.setdefault("main_score", DEFAULT_MAIN_SCORES[data["type"]])
            if data["type"] == "Clustering" and "clustering" not in evaluation:
                evaluation["clustering"] = {}
            data = {**data, "evaluation": evaluation}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        allowed = MAIN_SCORES[self.type]
        if self.evaluation.main_score not in allowed:
            raise ValueError(
                f"evaluation.main_score {self.evaluation.main_score!r} is not a {self.type} score; "
                f"allowed: {', '.join(allowed)}"
            )
        if self.type == "Clustering" and self.evaluation.clustering is None:
            raise ValueError("evaluation.clustering is required for Clustering tasks (use {} for the defaults)")
        if self.type != "Clustering" and self.evaluation.clustering is not None:
            raise ValueError(f"evaluation.clustering only applies to Clustering tasks, not {self.type}")
        if self.construction is None and self.data is None and self.dataset.path is None:
            raise ValueError("a task needs 'construction' (built by medeval), 'data' (a local folder) or 'dataset.path'")
        return self

    @property
    def loader_path(self) -> str:
        """The dotted path of the task's mteb class: the YAML's ``loader`` or the type's default."""
        return self.loader or DEFAULT_LOADERS[self.type]

    @property
    def title(self) -> str:
        """The description, or a one-line stand-in for a user task that gives none."""
        return (self.description or f"{self.name}: a user {self.type} task").strip()

    def missing_citable_fields(self) -> list[str]:
        """The citable fields this spec leaves out (required for the benchmark's own tasks).

        Returns:
            Field names (``source.<field>`` inside the source block), in :data:`CITABLE_FIELDS` order; empty when
            the card is complete.
        """
        missing = [f for f in CITABLE_FIELDS if f not in self.model_fields_set]
        if "source" in self.model_fields_set:
            missing += [f"source.{f}" for f in CITABLE_SOURCE_FIELDS if f not in self.source.model_fields_set]
        return missing


def parse_spec(data: Any, path: Path | str = "<string>", own: bool = False) -> TaskSpec:
    """Validate an already-parsed YAML mapping.

    Args:
        data: the parsed YAML.
        path: the file it came from, for the messages.
        own: a task of the benchmark itself (a file in ``tasks/``): the citable fields are then required.

    Returns:
        The validated spec.

    Raises:
        SpecError: one line per problem, naming the file and the field.
    """
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}; "
                        "write one 'field: value' per line, starting with 'name:' and 'type:'")
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(format_validation_error(path, err, TaskSpec)) from None
    if own and (missing := spec.missing_citable_fields()):
        raise SpecError("\n".join(
            f"{path}: field '{f}': required for the benchmark's own tasks (files in tasks/), whose YAML is the "
            "task's citable card; add it (a user's own task may leave it out)" for f in missing))
    return spec


def _is_packaged(path: Path) -> bool:
    from medeval import paths

    try:
        return path.resolve().parent == paths.packaged_specs_dir().resolve()
    except FileNotFoundError:
        return False


def load_spec(path: str | Path) -> TaskSpec:
    """Read and validate one task YAML.

    A file in the packaged task folder must also state the citable fields (:data:`CITABLE_FIELDS`).

    Args:
        path: the task YAML; its file name must be the task's name.

    Returns:
        The validated :class:`TaskSpec`.

    Raises:
        SpecError: unreadable or invalid YAML, a bad or missing field, or a name that differs from the file name;
            one line per problem naming the file and the field.

    Example:
        >>> load_spec("tasks/HPOLaypersonRetrieval.yaml").type
        'Retrieval'
    """
    path = Path(path)
    data = read_yaml(path, "task file")
    spec = parse_spec(data, path, own=_is_packaged(path))
    if spec.name != path.stem:
        raise SpecError(f"{path}: field 'name': {spec.name!r} must equal the file name {path.stem!r}; rename one of them")
    return spec
