"""The LLM step: text written by an instruction-tuned LLM from each source record, cached so a rebuild never asks again.

Six MedEval v1 tasks contain LLM-written text (questions for retrieval, paraphrases, sentence pairs). The prompt and
temperature live in the task YAML (``construction.llm``); the endpoint is any OpenAI-compatible chat API
(``POST {base_url}/chat/completions``), given on the command line (``--llm-base-url``, ``--llm-model``) with the
key in ``MEDEVAL_LLM_API_KEY`` or ``OPENAI_API_KEY`` (optional: local servers such as vLLM or Ollama need none).

Builders call :func:`run_llm_step` once with all their records and get one text per record id::

    >>> from medeval.llm import run_llm_step
    >>> result = run_llm_step(spec, ctx, [("7_SeniorHealth_QA/0000001-1", {"question": q, "answer": a}), ...])
    >>> result.texts["7_SeniorHealth_QA/0000001-1"]        # the LLM's answer, stripped
    'Age-related macular degeneration is ...'
    >>> built = BuiltTask(tables, sources={"records": [...], "llm": result.manifest})

* ``records`` are ``(record_id, fields)`` pairs; ``fields`` fill the ``{placeholders}`` of the YAML prompt
  (``str.format`` syntax; a placeholder with no field is a :class:`~medeval.errors.SpecError`).
* Cache: sqlite at ``<MEDEVAL_HOME>/llm_cache/llm_cache.sqlite``, keyed by (model, prompt template, temperature,
  record id, sha256 of the rendered prompt). Every answer is stored as soon as it arrives, so an interrupted build
  resumes where it stopped and a rebuild of the same records asks the endpoint zero times. A rebuild without
  ``--llm-base-url`` works from the cache alone; a record missing from it is a clear :class:`~medeval.errors.LLMError`.
* Requests run in a small thread pool (``max_workers``, default 4) with retries and back-off on 429/5xx and
  connection errors (:class:`medeval.sources.http.HttpClient`); the request carries the task's seed, which
  servers that support it use for repeatable sampling.
* ``result.manifest`` (model, prompt, temperature, purpose, the paper's reference model) goes into the build
  manifest under ``source.llm``. It never holds record text or the API key; errors name record ids, never text.

Lower level: :class:`medeval.llm_client.LLMClient` (one endpoint + model, ``generate(template, records,
temperature)``, the prompt templates) and :class:`medeval.llm_cache.LLMCache` (the sqlite store of answers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from medeval.errors import LLMError, SpecError
from medeval.llm_client import LLMClient, Record

if TYPE_CHECKING:
    from medeval.build import BuildContext
    from medeval.spec import TaskSpec


# -------------------------------------------------------------------------------------------- the builder entry
@dataclass
class LLMResult:
    """What :func:`run_llm_step` returns: one text per record id, and the block for the build manifest."""

    texts: dict[str, str]
    manifest: dict[str, Any] = field(default_factory=dict)
    asked: int = 0  # texts generated in this run (the rest came from the cache)


def run_llm_step(
    spec: TaskSpec,
    ctx: BuildContext,
    records: Sequence[Record],
    *,
    client: LLMClient | None = None,
) -> LLMResult:
    """Generate (or read from the cache) one text per record with the task's prompt and temperature.

    The endpoint and model come from ``ctx.llm_base_url`` / ``ctx.llm_model`` (a rebuild from a manifest passes
    the manifest's model and may leave the URL empty to work from the cache only).

    Args:
        spec: the task; its YAML's ``construction.llm`` gives prompt, temperature, purpose and reference model.
        ctx: the build context (endpoint, model, offline, progress bars).
        records: ``(record_id, fields)`` pairs, ids unique.
        client: a ready client (tests); None builds one from ``ctx``.

    Returns:
        An :class:`LLMResult`: texts by record id, the manifest block (model, prompt, temperature, purpose, reference
        model, seed, number of texts; no record text, no key) and how many texts were asked for in this run.

    Raises:
        SpecError: the task has no ``construction.llm`` section, or the prompt names a field the records lack.
        LLMError: no model given, or the endpoint or cache could not provide every text.
        ValueError: a record id appears twice.
    """
    if spec.construction is None or spec.construction.llm is None:
        raise SpecError(f"task {spec.name}: its YAML has no 'construction.llm' section, so it has no LLM step")
    step = spec.construction.llm
    if client is None:
        if not ctx.llm_model:
            raise LLMError(f"task {spec.name} needs an LLM: add --llm-base-url URL --llm-model MODEL (OpenAI-compatible)")
        client = LLMClient(ctx.llm_base_url, ctx.llm_model, offline=ctx.offline, seed=spec.construction.seed)
    ids = [r for r, _ in records]
    if len(set(ids)) != len(ids):
        dup = next(r for r in ids if ids.count(r) > 1)
        raise ValueError(f"task {spec.name}: record id {dup!r} appears twice in the LLM step's input")
    before = client.requests_made
    try:
        texts = client.generate(step.prompt, records, step.temperature, show_progress=ctx.show_progress)
    except LLMError as err:
        raise LLMError(f"task {spec.name}: {err}") from None
    except SpecError as err:
        raise SpecError(f"task {spec.name}: {err}") from None
    manifest = {
        "model": client.model,
        "prompt": step.prompt,
        "temperature": step.temperature,
        "purpose": step.purpose,
        "reference_model": step.reference_model,
        "seed": spec.construction.seed,
        "texts": len(texts),
    }
    return LLMResult(texts=texts, manifest=manifest, asked=client.requests_made - before)
