"""The benchmark schema every ``tasks/benchmarks/*.yaml`` file follows, and its loader.

A benchmark file holds everything medeval knows about a benchmark (name, short id, title, aliases, description,
reference, BibTeX, task list and the rows a paper reports); :mod:`medeval.benchmarks` finds the packaged files and
looks benchmarks up by name.

    >>> from medeval.spec.benchmark import load_benchmark_spec
    >>> load_benchmark_spec("tasks/benchmarks/MedEval-Terms-v1.yaml").id
    'terms'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from medeval.errors import SpecError
from medeval.spec.fields import BibTeX, StrictModel, WebUrl, format_validation_error
from medeval.spec.safe_yaml import read_yaml
from medeval.spec.task import TASK_TYPES
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ReportedRow(StrictModel):
    """One model's figures as a paper reports them (per-type means in [0, 1])."""

    model: str = Field(description="the model as the paper names it")
    scores: dict[str, float] = Field(description="task type -> the reported mean main score, in [0, 1]")

    @field_validator("scores")
    @classmethod
    def _scores(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k in v if k not in TASK_TYPES]
        if bad:
            raise ValueError(f"unknown task type(s) {', '.join(bad)}; use {', '.join(TASK_TYPES)}")
        out = [f"{k}={x}" for k, x in v.items() if not 0.0 <= x <= 1.0]
        if out:
            raise ValueError(f"scores must lie in [0, 1] (got {', '.join(out)})")
        return v


class Reported(StrictModel):
    """The rows a paper reports for the benchmark and where they come from."""

    source: str = Field(description="where the figures come from (paper, table or figure, precision)")
    rows: list[ReportedRow] = Field(min_length=1)


class BenchmarkSpec(StrictModel):
    """One benchmark, as its YAML file declares it."""

    name: str = Field(description="the benchmark's name as mteb knows it, e.g. 'MedEval(v1)'")
    id: str = Field(description="short lower-case id for file names and page anchors, e.g. 'v1'")
    title: str = Field(description="display title, e.g. 'MedEval v1'")
    order: int = Field(description="position in listings (smaller first)")
    aliases: list[str] = Field(default_factory=list, description="other names accepted by -b (case-insensitive)")
    description: str = Field(min_length=20)
    reference: WebUrl
    citation: BibTeX = Field(description="BibTeX of the paper or project that defines the benchmark")
    tasks: list[str] = Field(min_length=1, description="the benchmark's task names")
    reported: Reported | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError("must be lower-case letters, digits and '-', e.g. 'v1'")
        return v


    @model_validator(mode="after")
    def _unique_tasks(self) -> BenchmarkSpec:
        seen: set[str] = set()
        dupes = sorted({t for t in self.tasks if t in seen or seen.add(t)})  # type: ignore[func-returns-value]
        if dupes:
            raise ValueError(f"tasks listed twice: {', '.join(dupes)}")
        return self

    def reported_rows(self) -> list[dict[str, Any]]:
        """The reported rows as flat records, e.g. ``{"Model": "MedTE", "Classification": 0.72, ...}``.

        Returns:
            One dict per reported model: ``"Model"`` plus one key per task type the paper gives; an empty list
            when the benchmark has no reported rows.
        """
        if self.reported is None:
            return []
        return [{"Model": r.model, **r.scores} for r in self.reported.rows]


def load_benchmark_spec(path: str | Path) -> BenchmarkSpec:
    """Read and validate one benchmark YAML.

    Args:
        path: a ``tasks/benchmarks/*.yaml`` file.

    Returns:
        The validated :class:`BenchmarkSpec`.

    Raises:
        SpecError: unreadable file, invalid YAML or a bad field; one line per problem naming the file and field.

    Example::

        >>> load_benchmark_spec("tasks/benchmarks/MedEval-v1.yaml").reported.rows[0].model
        'MedTE (gte-base fine-tuned)'
    """
    data = read_yaml(path, "benchmark file")
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    try:
        return BenchmarkSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(format_validation_error(path, err, BenchmarkSpec)) from None
