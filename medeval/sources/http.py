"""HTTP for the source clients: polite retries with back-off, Retry-After on 429, resumable downloads, and a clear
error when offline. Built on ``requests`` + urllib3.

    >>> from medeval.sources.http import HttpClient
    >>> client = HttpClient("https://clinicaltrials.gov/api/v2", min_interval=0.2)
    >>> page = client.get_json("/studies", params={"pageSize": 100})
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from medeval.errors import SourceError

USER_AGENT = "medeval (+https://github.com/medeval/medeval)"
RETRY_STATUS = {429, 500, 502, 503, 504}
#: Query parameters whose values never appear in a message (matched case-insensitively, anywhere in the name).
_SECRET_PARAM = re.compile(r"key|token|secret|passw|email|auth|sig|session|cred", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` fit for a message or a log: secret-looking query values and any ``user:password@`` are masked.

    Args:
        url: A URL, possibly with ``api_key=``, ``email=``, ``token=`` ... in its query string.

    Returns:
        The URL with those values replaced by ``***`` (other parameters kept, they help to debug).

    Example:
        >>> redact_url("https://eutils.ncbi.nlm.nih.gov/esearch.fcgi?db=pubmed&api_key=abc&email=a@b.org")
        'https://eutils.ncbi.nlm.nih.gov/esearch.fcgi?db=pubmed&api_key=***&email=***'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1] if "@" in parts.netloc else parts.netloc
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return scrub_secrets(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


#: Environment variables holding credentials medeval may send; their values are masked in any message text.
SECRET_ENV = ("NCBI_API_KEY", "NCBI_EMAIL", "OPENAI_API_KEY", "MEDEVAL_LLM_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def scrub_secrets(text: str) -> str:
    """``text`` with the value of every set :data:`SECRET_ENV` variable (4+ characters) replaced by ``***``.

    For text a server sent back (an error page may echo the request) before it goes into a message.

    Args:
        text: any text.

    Returns:
        The text with those values masked.
    """
    for name in SECRET_ENV:
        value = os.environ.get(name) or ""
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


class HttpClient:
    """A session bound to one base URL, with rate limiting and retries.

    ``min_interval`` is the minimum gap between requests (NCBI: 0.34 s without an API key, 0.1 s with one).
    ``offline=True`` (or ``HF_HUB_OFFLINE``/``MEDEVAL_OFFLINE`` set) refuses to touch the network.
    """

    def __init__(
        self,
        base_url: str,
        *,
        min_interval: float = 0.0,
        retries: int = 4,
        backoff: float = 1.0,
        timeout: float = 60.0,
        offline: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.min_interval = min_interval
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.offline = offline if offline is not None else bool(os.environ.get("MEDEVAL_OFFLINE"))
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        if headers:
            self.session.headers.update(headers)
        self._last = 0.0

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def _wait(self) -> None:
        gap = time.monotonic() - self._last
        if gap < self.min_interval:
            time.sleep(self.min_interval - gap)
        self._last = time.monotonic()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request, retried on connection errors (not on a host name that does not resolve), timeouts, 429
        (honouring ``Retry-After``, at most 120 s) and 5xx.

        Waits ``backoff * 2**attempt`` seconds between attempts and keeps :attr:`min_interval` between requests.

        Args:
            method: ``"GET"`` or ``"POST"``.
            path: a path under :attr:`base_url`, or a full ``http(s)://`` URL.
            kwargs: passed to ``requests.Session.request`` (``params``, ``data``, ``headers``, ``stream``, ...).

        Returns:
            The response (status below 400).

        Raises:
            SourceError: offline mode, a host name that does not resolve or a 4xx other than 429 (neither
                retried), or every attempt failed; the URL is shown with secrets masked (:func:`redact_url`).
        """
        url = self._url(path)
        shown = redact_url(url)
        if self.offline:
            raise SourceError(f"{shown}: offline mode; use --source-dir with local copies of the records, or drop --offline")
        last_problem = ""
        for attempt in range(self.retries + 1):
            self._wait()
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.ConnectionError as err:
                if _name_not_resolved(err):  # no DNS answer for the host: no network, a retry will not help
                    raise SourceError(f"{shown}: cannot resolve the host name (no network here?); connect to the "
                                      "internet, or use --source-dir with local copies of the records") from None
                last_problem = f"cannot connect ({type(err).__name__})"
            except requests.Timeout:
                last_problem = f"no answer within {self.timeout:.0f}s"
            else:
                if resp.status_code < 400:
                    return resp
                last_problem = f"HTTP {resp.status_code}"
                if resp.status_code not in RETRY_STATUS:
                    raise SourceError(f"{shown}: {last_problem} {resp.reason}; check the request parameters")
                if resp.status_code == 429 and attempt < self.retries:
                    time.sleep(_retry_after(resp, self.backoff * 2**attempt))
                    continue
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise SourceError(
            f"{shown}: gave up after {self.retries + 1} attempts ({last_problem}); check the network or use --source-dir"
        )

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """A GET answered with JSON.

        Args:
            path: a path under :attr:`base_url`, or a full URL.
            params: query parameters.

        Returns:
            The decoded JSON.

        Raises:
            SourceError: as :meth:`request`, or an answer that is not JSON (its start is shown, secrets masked).
        """
        resp = self.request("GET", path, params=params)
        try:
            return resp.json()
        except ValueError:
            raise SourceError(f"{redact_url(resp.url)}: answer is not JSON (starts {scrub_secrets(resp.text[:400])[:60]!r})") from None

    def download(self, path: str, dest: Path) -> Path:
        """Download to ``dest``, resuming a partial ``dest.part`` with a Range request; renamed to ``dest`` when complete.

        Args:
            path: a path under :attr:`base_url`, or a full URL.
            dest: the file to write (its folder is created).

        Returns:
            ``dest``.
        """
        dest = Path(dest)
        part = dest.with_name(dest.name + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        resp = self.request("GET", path, headers=headers, stream=True)
        mode = "ab" if have and resp.status_code == 206 else "wb"
        with part.open(mode) as f:
            for chunk in resp.iter_content(chunk_size=1 << 20):
                f.write(chunk)
        os.replace(part, dest)
        return dest


def _retry_after(resp: requests.Response, default: float) -> float:
    value = resp.headers.get("Retry-After")
    try:
        return min(float(value), 120.0) if value is not None else default
    except ValueError:
        return default


def _name_not_resolved(err: requests.ConnectionError) -> bool:
    """Whether requests failed because the host name did not resolve (urllib3's ``NameResolutionError``)."""
    from urllib3.exceptions import NameResolutionError

    first = err.args[0] if err.args else None  # requests wraps urllib3's MaxRetryError, whose reason says why
    return isinstance(first, NameResolutionError) or isinstance(getattr(first, "reason", None), NameResolutionError)
