"""One OpenAI-compatible chat endpoint (``POST {base_url}/chat/completions``) and model: prompt templates filled from
each record, answers read from :class:`~medeval.llm_cache.LLMCache` or asked for in a small thread pool with retries.

    >>> from medeval.llm_client import LLMClient
    >>> client = LLMClient("http://127.0.0.1:8000/v1", "llama-3.1-8b-instruct")             # doctest: +SKIP
    >>> texts = client.generate("Paraphrase: {answer}", [("r1", {"answer": "..."})], 0.7)   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import string
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from typing import TYPE_CHECKING, Any

from medeval.errors import LLMError, SourceError, SpecError
from medeval.llm_cache import LLMCache, cache_key

if TYPE_CHECKING:
    from medeval.sources.http import HttpClient

logger = logging.getLogger("medeval.llm")

#: Environment variables read for the endpoint's API key, in this order.
API_KEY_ENV = ("MEDEVAL_LLM_API_KEY", "OPENAI_API_KEY")

Record = tuple[str, Mapping[str, Any]]


def template_fields(template: str) -> list[str]:
    """The ``{placeholder}`` names of a prompt template, in order of first use.

    Args:
        template: a ``str.format`` template (the YAML's ``construction.llm.prompt``).

    Returns:
        The distinct field names.

    Example:
        >>> template_fields("Q: {question} A: {answer} ({question})")
        ['question', 'answer']
    """
    names: list[str] = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None and name != "" and name not in names:
            names.append(name)
    return names


def render(template: str, fields: Mapping[str, Any]) -> str:
    """Fill the template with a record's fields (None becomes ``""``, other values ``str(value)``).

    Args:
        template: a ``str.format`` template.
        fields: the record's fields by name (more than the template uses is fine).

    Returns:
        The prompt.

    Raises:
        KeyError: the first placeholder ``fields`` lacks (its name is the error's argument).

    Example:
        >>> render("Paraphrase: {answer}", {"answer": "Rest and fluids.", "id": 3})
        'Paraphrase: Rest and fluids.'
    """
    missing = [n for n in template_fields(template) if n not in fields]
    if missing:
        raise KeyError(missing[0])
    return template.format(**{k: ("" if v is None else str(v)) for k, v in fields.items()})


def api_key_from_env() -> str | None:
    """The endpoint's API key from the environment (``MEDEVAL_LLM_API_KEY``, then ``OPENAI_API_KEY``).

    Returns:
        The first non-empty value, or None (local servers such as vLLM or Ollama need no key).
    """
    for name in API_KEY_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


class LLMClient:
    """One OpenAI-compatible endpoint and model, with a cache, a thread pool and retries.

    Args:
        base_url: the API root (``POST {base_url}/chat/completions``), e.g. ``http://127.0.0.1:8000/v1``; None means
            cache only: every text must already be cached.
        model: the model name the endpoint serves.
        api_key: the bearer token; None reads :func:`api_key_from_env`.
        cache: where texts are stored; None for the default :class:`LLMCache`.
        max_workers: requests in flight at once.
        retries: retries per request on 429/5xx and connection errors.
        backoff: the first retry delay in seconds (doubling each retry); tests set it small.
        timeout: seconds per request.
        offline: never ask the endpoint (a text missing from the cache is an error).
        seed: sent with each request; servers that support it sample repeatably.
        max_tokens: the answer's token limit; None for the server's default.

    Raises:
        LLMError: ``model`` is empty.

    Example:
        >>> client = LLMClient("http://127.0.0.1:8000/v1", "llama-3.1-8b-instruct")             # doctest: +SKIP
        >>> texts = client.generate("Paraphrase: {answer}", [("r1", {"answer": "..."})], 0.7)   # doctest: +SKIP
    """

    def __init__(
        self,
        base_url: str | None,
        model: str,
        *,
        api_key: str | None = None,
        cache: LLMCache | None = None,
        max_workers: int = 4,
        retries: int = 4,
        backoff: float = 2.0,
        timeout: float = 120.0,
        offline: bool = False,
        seed: int | None = None,
        max_tokens: int | None = None,
    ) -> None:
        if not model:
            raise LLMError("no LLM model given; add --llm-model MODEL")
        self.base_url = base_url.rstrip("/") if base_url else None
        self.model = model
        self.api_key = api_key if api_key is not None else api_key_from_env()
        self.cache = cache if cache is not None else LLMCache()
        self.max_workers = max(1, int(max_workers))
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.offline = offline
        self.seed = seed
        self.max_tokens = max_tokens
        self.requests_made = 0  # answers received from the endpoint (not cache hits)
        self.cache_hits = 0
        self._local = threading.local()
        self._count_lock = threading.Lock()

    # -- one request ------------------------------------------------------------------------------------------
    def _http(self) -> HttpClient:
        client = getattr(self._local, "http", None)
        if client is None:
            from medeval.sources.http import HttpClient

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else None
            client = HttpClient(self.base_url or "", retries=self.retries, backoff=self.backoff, timeout=self.timeout,
                                offline=False, headers=headers)
            self._local.http = client
        return client

    def chat(self, prompt: str, temperature: float, *, record_id: str = "?") -> str:
        """Ask the endpoint once (with retries); return the answer text, stripped. No cache.

        Args:
            prompt: the rendered prompt, sent as one user message.
            temperature: the sampling temperature.
            record_id: the record the prompt was made from, named in errors (never its text).

        Returns:
            ``choices[0].message.content``, stripped.

        Raises:
            LLMError: no endpoint, the request failed after its retries, the answer is not an OpenAI chat completion, or
                it is empty.
        """
        if self.base_url is None:
            raise LLMError("no LLM endpoint; add --llm-base-url URL (an OpenAI-compatible API, e.g. http://host:8000/v1)")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": float(temperature),
        }
        if self.seed is not None:
            body["seed"] = int(self.seed)
        if self.max_tokens is not None:
            body["max_tokens"] = int(self.max_tokens)
        try:
            resp = self._http().request("POST", "chat/completions", json=body)
        except SourceError as err:
            raise LLMError(
                f"LLM endpoint {self.base_url} (model {self.model!r}), record {record_id}: {err}; check --llm-base-url, "
                f"--llm-model and the key in {' or '.join(API_KEY_ENV)}"
            ) from None
        try:
            data = resp.json()
            text = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError(
                f"LLM endpoint {self.base_url}: record {record_id}: the answer is not an OpenAI chat completion "
                "(expected choices[0].message.content); is --llm-base-url the API root (usually ending in /v1)?"
            ) from None
        if not isinstance(text, str) or not text.strip():
            raise LLMError(f"LLM endpoint {self.base_url} (model {self.model!r}) gave an empty answer for record {record_id}; run the build again to retry it")
        with self._count_lock:
            self.requests_made += 1
        return text.strip()

    # -- many records, cached -----------------------------------------------------------------------------------
    def generate(
        self,
        template: str,
        records: Sequence[Record],
        temperature: float,
        *,
        show_progress: bool = False,
    ) -> dict[str, str]:
        """One text per record id: from the cache, else from the endpoint (stored at once). Order-independent.

        Args:
            template: the prompt template (the YAML's ``construction.llm.prompt``).
            records: ``(record_id, fields)`` pairs; ``fields`` fill the template.
            temperature: the sampling temperature.
            show_progress: show a progress bar over the texts asked for.

        Returns:
            Record id -> generated text.

        Raises:
            SpecError: the template names a field the records lack.
            LLMError: texts are missing from the cache while offline or without an endpoint, or a request failed (the
                answers received so far stay cached, so a rerun resumes).
        """
        prompts: dict[str, tuple[str, str]] = {}
        for record_id, fields in records:
            try:
                prompt = render(template, fields)
            except KeyError as err:
                raise SpecError(
                    f"field 'construction.llm.prompt': placeholder {{{err.args[0]}}} is not a field of the records "
                    f"(they have: {', '.join(sorted(fields)) or 'none'})"
                ) from None
            prompts[record_id] = (prompt, cache_key(self.model, template, temperature, record_id, prompt))

        out: dict[str, str] = {}
        todo: list[tuple[str, str, str]] = []
        for record_id, (prompt, key) in prompts.items():
            cached = self.cache.get(key)
            if cached is not None:
                out[record_id] = cached
            else:
                todo.append((record_id, prompt, key))
        self.cache_hits += len(out)
        if not todo:
            return out
        if self.offline:
            raise LLMError(
                f"{len(todo)} of {len(prompts)} LLM texts (model {self.model!r}) are not in the cache {self.cache.path}, "
                f"and --offline forbids asking; first missing record: {todo[0][0]}"
            )
        if self.base_url is None:
            raise LLMError(
                f"{len(todo)} of {len(prompts)} LLM texts (model {self.model!r}) are not in the cache {self.cache.path}; "
                f"add --llm-base-url URL to generate them (first missing record: {todo[0][0]})"
            )
        logger.info("asking %s for %d texts (%d cached)", self.model, len(todo), len(out))
        progress = _progress(len(todo), show_progress, f"LLM {self.model}")

        def one(item: tuple[str, str, str]) -> tuple[str, str]:
            record_id, prompt, key = item
            text = self.chat(prompt, temperature, record_id=record_id)
            self.cache.put(key, self.model, record_id, text)
            return record_id, text

        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="medeval-llm") as pool:
            futures = [pool.submit(one, item) for item in todo]
            try:
                for f in as_completed(futures):
                    record_id, text = f.result()
                    out[record_id] = text
                    progress(1)
            except LLMError as err:
                for other in futures:
                    other.cancel()
                wait(futures)
                stored = sum(1 for f in futures if f.done() and not f.cancelled() and f.exception() is None)
                raise LLMError(f"{err} ({stored} answers of this run are cached; run the build again to resume)") from None
        return out


def _progress(total: int, show: bool, desc: str) -> Any:
    if not show:
        return lambda n: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return lambda n: None
    bar = tqdm(total=total, desc=desc, unit="text")
    return bar.update
