"""What every mirrored API client (MediaWiki, E-utilities, bioRxiv; medeval.sources.mirror.MirroredClient) does
the same way, each against a local HTTP server on 127.0.0.1: a 429 then success, a 500 repeated until the client
gives up, offline mode, an unreachable server, a read-only ``--source-dir`` mirror."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from local_server import Answer, LocalServer, flaky, always, wiki_api, wiki_client, eutils_api, eutils_client, biorxiv_api, bio_client

from medeval.build import BuildContext
from medeval.errors import SourceError
from medeval.sources import biorxiv as biorxiv_mod
from medeval.sources import eutils as eutils_mod
from medeval.sources import mediawiki as mediawiki_mod
from medeval.sources.biorxiv import (
    BiorxivClient,
)
from medeval.sources.eutils import EutilsClient
from medeval.sources.mediawiki import MediaWikiClient
from medeval.sources.mirror import Mirror


pytestmark = pytest.mark.usefixtures("offline_source_env")


# ------------------------------------------------------------------------- retries, give-up, offline (all clients)
def _wiki_call(server: LocalServer, **kw: Any) -> Any:
    return wiki_client(server, **kw).category_members("Category:Fever")


def _eutils_call(server: LocalServer, **kw: Any) -> Any:
    return eutils_client(server, **kw).search("medicine", 3)


def _bio_call(server: LocalServer, **kw: Any) -> Any:
    return bio_client(server, **kw).details("medrxiv", "2024-01-01", "2024-12-31")


@pytest.fixture
def apis(pubmed_records, medrxiv_records) -> dict[str, tuple[Callable[..., Answer], Callable[..., Any]]]:
    return {
        "mediawiki": (wiki_api(page_size=10), _wiki_call),
        "eutils": (eutils_api(pubmed_records), _eutils_call),
        "biorxiv": (biorxiv_api(medrxiv_records, page=100), _bio_call),
    }


@pytest.mark.parametrize("api", ["mediawiki", "eutils", "biorxiv"])
def test_429_then_success(api, apis):
    handle, call = apis[api]
    with LocalServer(flaky(handle, 429)) as server:
        result = call(server)
    assert result and len(server.requests) == 2  # the 429 was retried once, then the answer was used


@pytest.mark.parametrize("api", ["mediawiki", "eutils", "biorxiv"])
def test_500_repeated_gives_up_with_clear_message(api, apis):
    _, call = apis[api]
    with LocalServer(always(500)) as server, pytest.raises(SourceError) as err:
        call(server, retries=2)
    assert len(server.requests) == 3
    msg = str(err.value)
    assert server.url in msg and "gave up after 3 attempts (HTTP 500)" in msg and "--source-dir" in msg


@pytest.mark.parametrize("api", ["mediawiki", "eutils", "biorxiv"])
def test_offline_mode_is_a_clear_error(api, monkeypatch):
    monkeypatch.setattr(mediawiki_mod, "API_URL", "http://127.0.0.1:9/w/api.php")
    monkeypatch.setattr(eutils_mod, "EUTILS_URL", "http://127.0.0.1:9/eutils")
    monkeypatch.setattr(biorxiv_mod, "API_URL", "http://127.0.0.1:9")
    ctx = BuildContext(offline=True)
    calls = {
        "mediawiki": lambda: MediaWikiClient.from_context(ctx).category_members("Category:Fever"),
        "eutils": lambda: EutilsClient.from_context(ctx, "pubmed").search("medicine", 3),
        "biorxiv": lambda: BiorxivClient.from_context(ctx).details("medrxiv", "2024-01-01", "2024-12-31"),
    }
    with pytest.raises(SourceError, match="offline mode; use --source-dir"):
        calls[api]()


def test_unreachable_server_is_a_clear_error():
    with LocalServer(always(200)) as server:
        url = server.url
    client = MediaWikiClient.from_context(BuildContext(), base_url=f"{url}/w/api.php", backoff=0.01, retries=1)
    client.http.min_interval = 0
    with pytest.raises(SourceError, match=r"gave up after 2 attempts \(cannot connect"):
        client.category_members("Category:Fever")


def test_mirror_is_read_only_for_source_dirs(tmp_path):
    mirror = Mirror(tmp_path, writable=False)
    with pytest.raises(SourceError, match="read-only"):
        mirror.write_json("x.json", {})
    assert not (tmp_path / "x.json").exists()
