"""The LLM step (medeval.llm) against a fake OpenAI-compatible server on 127.0.0.1: caching, retries, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from local_server import FakeOpenAI, fake_llm_answer

from medeval.errors import LLMError
from medeval.llm import run_llm_step
from medeval.llm_cache import LLMCache, cache_key
from medeval.llm_client import LLMClient, render, template_fields


TEMPLATE = "Paraphrase.\n\nQuestion: {question}\nAnswer: {answer}"
RECORDS = [(f"r{i}", {"question": f"What is {i}?", "answer": f"It is {{number}} {i}."}) for i in range(12)]


def test_template_helpers():
    assert template_fields(TEMPLATE) == ["question", "answer"]
    # braces inside field values are text, not placeholders
    assert render(TEMPLATE, {"question": "q", "answer": "{x}"}).endswith("Answer: {x}")
    with pytest.raises(KeyError):
        render(TEMPLATE, {"question": "q"})
    k = cache_key("m", TEMPLATE, 0.7, "r1", "p")
    assert k != cache_key("m2", TEMPLATE, 0.7, "r1", "p")
    assert k != cache_key("m", TEMPLATE, 0.0, "r1", "p")
    assert k != cache_key("m", TEMPLATE, 0.7, "r2", "p")
    assert k != cache_key("m", TEMPLATE, 0.7, "r1", "p2")
    assert k != cache_key("m", TEMPLATE + " ", 0.7, "r1", "p")


def test_generate_caches_and_second_run_asks_nothing(tmp_path: Path):
    cache = LLMCache(tmp_path / "llm.sqlite")
    with FakeOpenAI() as fake:
        client = LLMClient(fake.base_url, "fake-model", cache=cache, api_key="sk-test", seed=42)
        texts = client.generate(TEMPLATE, RECORDS, 0.7)
        assert fake.requests == len(RECORDS)
        assert client.requests_made == len(RECORDS)
        for rid, fields in RECORDS:
            assert texts[rid] == fake_llm_answer(render(TEMPLATE, fields))  # stripped, per record
        body = fake.bodies[0]
        assert body["model"] == "fake-model" and body["temperature"] == 0.7 and body["seed"] == 42
        assert fake.auth[0] == "Bearer sk-test"

        # a new client on the same cache file: zero requests
        client2 = LLMClient(fake.base_url, "fake-model", cache=LLMCache(tmp_path / "llm.sqlite"))
        assert client2.generate(TEMPLATE, RECORDS, 0.7) == texts
        assert fake.requests == len(RECORDS) and client2.cache_hits == len(RECORDS)

        # a changed record text, another temperature or another model is asked again
        changed = [(RECORDS[0][0], {**RECORDS[0][1], "answer": "changed"})]
        client2.generate(TEMPLATE, changed, 0.7)
        assert fake.requests == len(RECORDS) + 1
        client2.generate(TEMPLATE, RECORDS[:1], 0.2)
        assert fake.requests == len(RECORDS) + 2
        LLMClient(fake.base_url, "other-model", cache=cache).generate(TEMPLATE, RECORDS[:1], 0.7)
        assert fake.requests == len(RECORDS) + 3
    assert len(LLMCache(tmp_path / "llm.sqlite")) == len(RECORDS) + 3


def test_cache_only_mode_and_offline(tmp_path: Path):
    cache = LLMCache(tmp_path / "c.sqlite")
    with FakeOpenAI() as fake:
        LLMClient(fake.base_url, "m", cache=cache).generate(TEMPLATE, RECORDS[:3], 0.7)
    # no endpoint: cached texts are served, a missing one is a clear error naming the record (not its text)
    client = LLMClient(None, "m", cache=cache)
    assert len(client.generate(TEMPLATE, RECORDS[:3], 0.7)) == 3
    with pytest.raises(LLMError, match=r"1 of 4 LLM texts .*--llm-base-url.*r3") as err:
        client.generate(TEMPLATE, RECORDS[:4], 0.7)
    assert "What is 3" not in str(err.value)
    with pytest.raises(LLMError, match="--offline"):
        LLMClient("http://127.0.0.1:9/v1", "m", cache=cache, offline=True).generate(TEMPLATE, RECORDS[:4], 0.7)


def test_retries_429_then_succeeds(tmp_path: Path):
    with FakeOpenAI(script=[429, 503]) as fake:
        client = LLMClient(fake.base_url, "m", cache=LLMCache(tmp_path / "c.sqlite"), backoff=0.01, max_workers=1)
        texts = client.generate(TEMPLATE, RECORDS[:1], 0.7)
        assert fake.requests == 3
        assert texts["r0"] == fake_llm_answer(render(TEMPLATE, RECORDS[0][1]))


def test_gives_up_after_repeated_500_and_keeps_finished_answers(tmp_path: Path):
    cache = LLMCache(tmp_path / "c.sqlite")
    with FakeOpenAI(fail_always=500) as fake:
        client = LLMClient(fake.base_url, "m", cache=cache, retries=2, backoff=0.01, max_workers=2)
        with pytest.raises(LLMError, match=r"gave up after 3 attempts \(HTTP 500\).*run the build again to resume"):
            client.generate(TEMPLATE, RECORDS[:2], 0.7)
        assert fake.requests >= 3
    assert len(cache) == 0


def test_bad_key_and_bad_answers_are_clear(tmp_path: Path):
    cache = LLMCache(tmp_path / "c.sqlite")
    with FakeOpenAI(fail_always=401) as fake:
        with pytest.raises(LLMError, match=r"HTTP 401.*MEDEVAL_LLM_API_KEY or OPENAI_API_KEY"):
            LLMClient(fake.base_url, "m", cache=cache, backoff=0.01).generate(TEMPLATE, RECORDS[:1], 0.7)
        assert fake.requests == 1  # 4xx other than 429 is not retried
    with FakeOpenAI(content="   ") as fake:
        with pytest.raises(LLMError, match="empty answer for record r0"):
            LLMClient(fake.base_url, "m", cache=cache).generate(TEMPLATE, RECORDS[:1], 0.7)
    with FakeOpenAI() as fake:
        with pytest.raises(LLMError, match="HTTP 404"):
            LLMClient(fake.base_url.removesuffix("/v1"), "m", cache=cache, backoff=0.01).generate(TEMPLATE, RECORDS[:1], 0.7)


def test_run_llm_step_uses_the_yaml_prompt_and_records_the_manifest(tmp_path: Path, monkeypatch):
    from medeval.build import BuildContext
    from medeval.catalog import get_spec
    from medeval.errors import SpecError

    monkeypatch.setenv("MEDEVAL_HOME", str(tmp_path))
    spec = get_spec("MedQuADRetrieval")
    recs = [("a/1-1", {"question": "What is X ?", "answer": "X is a thing."})]
    with FakeOpenAI() as fake:
        ctx = BuildContext(llm_base_url=fake.base_url, llm_model="fake", show_progress=False)
        result = run_llm_step(spec, ctx, recs)
        assert result.asked == 1 and fake.requests == 1
        prompt = fake.bodies[0]["messages"][0]["content"]
        assert "Question: What is X ?" in prompt and "Answer: X is a thing." in prompt
        assert fake.bodies[0]["temperature"] == spec.construction.llm.temperature
        assert result.manifest["model"] == "fake" and result.manifest["prompt"] == spec.construction.llm.prompt
        assert "X is a thing" not in json.dumps(result.manifest)
        # the default cache lives under the data folder
        assert (tmp_path / "llm_cache" / "llm_cache.sqlite").is_file()
        again = run_llm_step(spec, ctx, recs)
        assert again.asked == 0 and fake.requests == 1 and again.texts == result.texts
        with pytest.raises(SpecError, match=r"placeholder \{answer\}"):
            run_llm_step(spec, ctx, [("a/1-2", {"question": "q"})])
    with pytest.raises(LLMError, match="needs an LLM"):
        run_llm_step(spec, BuildContext(), recs)
