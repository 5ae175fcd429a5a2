"""The schemas of medeval's YAML files and their safe loading.

- :mod:`medeval.spec.task`: a task (``tasks/*.yaml`` and users' own task files): :class:`TaskSpec`,
  :func:`load_spec`, :func:`parse_spec`.
- :mod:`medeval.spec.benchmark`: a benchmark (``tasks/benchmarks/*.yaml``): :class:`BenchmarkSpec`,
  :func:`load_benchmark_spec`.
- :mod:`medeval.spec.fields`: what both share: strict models, BibTeX / licence / URL checks, error wording.
- :mod:`medeval.spec.safe_yaml`: reading untrusted YAML (no Python objects, no anchors or aliases, size cap).
- :mod:`medeval.spec.mteb_literals`: mteb's lists of allowed values (licence ids), read from its source unimported.

Every loader raises :class:`~medeval.errors.SpecError` with one line per problem, naming the file and the field.
Importing this package is cheap (pydantic and PyYAML; mteb's licence ids are read from its source, not imported)::

    >>> from medeval.spec import load_spec
    >>> load_spec("tasks/WikiSyndromesClassification.yaml").evaluation.main_score
    'f1'
"""

from __future__ import annotations

from medeval.spec.benchmark import BenchmarkSpec, Reported, ReportedRow, load_benchmark_spec
from medeval.spec.fields import (
    BibTeX,
    LicenceId,
    StrictModel,
    WebUrl,
    check_bibtex,
    check_license,
    check_url,
    format_validation_error,
)
from medeval.spec.safe_yaml import MAX_YAML_BYTES, load_untrusted, read_yaml
from medeval.spec.task import (
    CITABLE_FIELDS,
    CITABLE_SOURCE_FIELDS,
    DEFAULT_LOADERS,
    DEFAULT_MAIN_SCORES,
    MAIN_SCORES,
    Access,
    ClusteringSettings,
    Construction,
    DatasetRef,
    Deviation,
    Evaluation,
    HardNegatives,
    LLMStep,
    Source,
    TaskSpec,
    TaskType,
    load_spec,
    parse_spec,
)

__all__ = [
    "CITABLE_FIELDS", "CITABLE_SOURCE_FIELDS", "DEFAULT_LOADERS", "DEFAULT_MAIN_SCORES", "MAIN_SCORES", "MAX_YAML_BYTES",
    "Access", "BenchmarkSpec", "BibTeX", "LicenceId", "WebUrl", "ClusteringSettings", "Construction", "DatasetRef", "Deviation", "Evaluation",
    "HardNegatives", "LLMStep", "Reported", "ReportedRow", "Source", "StrictModel", "TaskSpec", "TaskType",
    "check_bibtex", "check_license", "check_url", "format_validation_error", "load_benchmark_spec", "load_spec",
    "load_untrusted", "parse_spec", "read_yaml",
]
