"""medeval.sources.http: a host name that does not resolve fails at once (no network), other connection errors are
retried. No request leaves the machine: the session's ``request`` is replaced."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from medeval.errors import SourceError
from medeval.sources.http import HttpClient


def _client(raise_: Exception, calls: list[float]) -> HttpClient:
    client = HttpClient("https://example.invalid/api", retries=3, backoff=0.01, offline=False)

    def request(*args: Any, **kwargs: Any) -> Any:
        calls.append(time.monotonic())
        raise raise_

    client.session.request = request  # type: ignore[method-assign]
    return client


def test_unresolvable_host_fails_after_one_attempt() -> None:
    calls: list[float] = []
    reason = NameResolutionError("example.invalid", None, OSError("Name or service not known"))  # type: ignore[arg-type]
    err = requests.ConnectionError(MaxRetryError(None, "https://example.invalid/api/x", reason))  # type: ignore[arg-type]
    with pytest.raises(SourceError, match=r"cannot resolve the host name .*--source-dir") as info:
        _client(err, calls).get_json("x")
    assert len(calls) == 1
    assert "\n" not in str(info.value)


def test_other_connection_errors_are_retried() -> None:
    calls: list[float] = []
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    err = requests.ConnectionError(MaxRetryError(None, "https://example.invalid/api/x", reason))  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="gave up after 4 attempts"):
        _client(err, calls).get_json("x")
    assert len(calls) == 4
