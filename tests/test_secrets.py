"""Canary secrets in the environment never reach a message, a result, a log line or a site page; site pages show
paths relative to the results root; broken files are skipped and listed under Warnings, never a crash."""

from __future__ import annotations

import html
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from fixtures import TASK, TASK2, model_meta, tasks
from local_server import LocalServer

from medeval import run as runmod
from medeval.build import BuildContext
from medeval.errors import MedEvalError, SourceError
from medeval.run import RunOptions
from medeval.sources.http import redact_url

pytestmark = pytest.mark.usefixtures("demo_tasks")

CANARIES = {
    "NCBI_API_KEY": "canaryNCBIkey0d4f1",
    "NCBI_EMAIL": "canary.mail.7c2e@example.org",
    "OPENAI_API_KEY": "sk-canaryOPENAI93b1",
    "HF_TOKEN": "hf_canaryTOKEN55a0",
}


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k, v in CANARIES.items():
        monkeypatch.setenv(k, v)
    return CANARIES


def assert_clean(text: str, where: str) -> None:
    for name, value in CANARIES.items():
        assert value not in text, f"{name} leaked into {where}"
        assert value.replace("@", "%40") not in text, f"{name} (URL-encoded) leaked into {where}"


def echoing_server(status: int) -> Any:
    """A server that answers with an HTML error page echoing the request's parameters, as some gateways do."""

    def handle(method: str, path: str, params: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "text/html"}, f"<html>error for {params}</html>".encode()

    return handle


@pytest.mark.parametrize("status", [200, 400, 503])
def test_eutils_errors_never_show_the_key_or_email(canaries: dict[str, str], status: int) -> None:
    from medeval.sources.eutils import EutilsClient

    with LocalServer(echoing_server(status)) as server:
        client = EutilsClient.from_context(BuildContext(), "pubmed", base_url=f"{server.url}/eutils", backoff=0.001, retries=1)
        client.http.min_interval = 0  # type: ignore[union-attr]
        with pytest.raises(SourceError) as info:
            client.search("fever", 3)
    assert server.requests[0][2]["api_key"] == canaries["NCBI_API_KEY"]  # the key was really sent ...
    assert server.requests[0][2]["email"] == canaries["NCBI_EMAIL"]
    assert_clean(str(info.value), "the E-utilities error")  # ... and never shown
    assert "/eutils/esearch.fcgi" in str(info.value)


def test_llm_errors_never_show_the_key(canaries: dict[str, str]) -> None:
    from medeval.errors import LLMError
    from medeval.llm_client import LLMClient

    with LocalServer(echoing_server(401)) as server:
        with pytest.raises(LLMError) as info:
            LLMClient(f"{server.url}/v1", "m", retries=0, backoff=0.001).chat("hi", 0.0)
    assert server.headers[0]["Authorization"] == f"Bearer {canaries['OPENAI_API_KEY']}"
    assert_clean(str(info.value), "the LLM error")


def test_build_failed_line_is_redacted(canaries: dict[str, str], built: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from medeval.cli import build_tasks as build_cli
    from medeval.sources.eutils import EutilsClient

    with LocalServer(echoing_server(200)) as server:
        def build(spec: Any, ctx: Any) -> str:
            client = EutilsClient.from_context(ctx, "pubmed", base_url=f"{server.url}/eutils", retries=0)
            client.search("fever", 3)
            return "never"

        monkeypatch.setattr(build_cli, "build_task", build)
        assert build_cli.run_build(tasks=[TASK], benchmark=None) == 1
    out, err = capsys.readouterr()
    assert "FAILED" in err
    assert_clean(out + err, "medeval build's output")


def test_redact_url_masks_credentials_but_keeps_the_rest() -> None:
    url = "https://user:pw@h.example/p?db=pmc&api_key=K1&Email=e%40x.org&access_token=T&term=a"
    shown = redact_url(url)
    assert shown == "https://h.example/p?db=pmc&api_key=***&Email=***&access_token=***&term=a"


def test_outputs_and_site_hold_no_secret_and_no_absolute_path(canaries: dict[str, str], built: Path,
                                                              tmp_path: Path, no_eval: list[str],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mkdocs", reason="site extras not installed (pip install 'medeval-mteb[site]')")
    from medeval.site import build_site

    out = tmp_path / "lb"
    lines: list[str] = []
    runmod.run_model(None, model_meta(), tasks(TASK, TASK2), RunOptions(output_dir=out), echo=lines.append)
    # two broken model folders: a 5001-digit integer in model_meta.json, a run-settings line nested 100k deep
    bad = out / "results" / "org__bignum" / "rev1"
    bad.mkdir(parents=True)
    (bad / "model_meta.json").write_text('{"name": "org/bignum", "n_parameters": ' + "9" * 5001 + "}")
    (bad / f"{TASK}.json").write_text((resolved := next((out / "results").glob(f"*/*/{TASK}.json"))).read_text())
    deep = out / "results" / "org__deep" / "rev1"
    deep.mkdir(parents=True)
    (deep / f"{TASK}.json").write_text(resolved.read_text())
    (deep / "run_settings.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    site = tmp_path / "site"
    old_umask = os.umask(0o022)
    try:
        message = build_site(out, site, n_boot=20)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(site.stat().st_mode) == 0o755  # a web server running as another user can read it
    assert {stat.S_IMODE(p.stat().st_mode) for p in site.rglob("*") if p.is_dir()} == {0o755}
    pages = {p: p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*") if p.is_file()
             and p.suffix in (".html", ".md", ".csv", ".json", ".js", ".xml", ".txt")}
    warnings_page = html.unescape(next(t for p, t in pages.items() if p.suffix == ".html" and "warnings" in (p.stem, p.parent.name)))
    assert "org__bignum/rev1/model_meta.json" in warnings_page and "org__deep/rev1/run_settings.jsonl" in warnings_page
    for path, text in pages.items():
        assert str(tmp_path) not in text, f"{path} shows an absolute path"
        assert_clean(text, str(path))
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert_clean(p.read_text(encoding="utf-8", errors="replace"), str(p))
    assert_clean("\n".join(lines) + message + "".join(capsys.readouterr()), "messages")


# --------------------------------------------------------------------------------------------------- plausible metadata
@pytest.mark.parametrize(("fld", "value"), [
    ("n_parameters", 10**30), ("n_parameters", -1), ("embed_dim", 10**20), ("embed_dim", [384, 0]),
    ("max_tokens", -5), ("memory_usage_mb", float("inf")), ("release_date", "1066-10-14"), ("release_date", "2999-01-01"),
])
def test_validate_refuses_implausible_metadata_with_the_range(tmp_path: Path, built: Path, fld: str, value: Any) -> None:
    from fixtures import write_run

    from medeval.results.validate import validate_paths

    rev = write_run(tmp_path / "run")
    meta = json.loads((rev / "model_meta.json").read_text())
    meta[fld] = value
    (rev / "model_meta.json").write_text(json.dumps(meta))
    hits = [p for p in validate_paths([rev]) if p.field == fld and p.is_error and "allowed:" in p.message]
    assert len(hits) == 1 and "\n" not in hits[0].line()  # (mteb's own schema check may add a second line)


def test_validate_accepts_plausible_and_unknown_metadata(tmp_path: Path, built: Path) -> None:
    from fixtures import write_run

    from medeval.results.validate import validate_paths

    rev = write_run(tmp_path / "run")
    meta = json.loads((rev / "model_meta.json").read_text())
    meta.update(n_parameters=None, embed_dim=[64, 384], max_tokens=float("inf"), release_date="2024-02-29")
    (rev / "model_meta.json").write_text(json.dumps(meta))
    fields = {"n_parameters", "embed_dim", "max_tokens", "memory_usage_mb", "release_date"}
    assert [p.line() for p in validate_paths([rev]) if p.field in fields] == []


def test_site_build_into_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="site extras not installed (pip install 'medeval-mteb[site]')")
    from medeval.site import build_site

    (tmp_path / "results").mkdir()
    blocker = tmp_path / "www"
    blocker.write_text("a file where the site's parent folder should be")
    with pytest.raises(MedEvalError) as info:
        build_site(tmp_path, blocker / "site")
    assert "\n" not in str(info.value) and "--out" in str(info.value) and str(blocker) in str(info.value)
