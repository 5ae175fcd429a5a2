"""One local HTTP server for the tests of every network client (MediaWiki, E-utilities, bioRxiv, ClinicalTrials.gov,
the OpenAI-compatible LLM endpoint): a thread on 127.0.0.1, never the real network; and the fake upstream APIs
several test modules share on top of it (:class:`FakeOpenAI`, :class:`FakeCTGov`).

    >>> def handle(method, path, params, body):
    ...     return 200, {"Content-Type": "application/json"}, b"{}"
    >>> with LocalServer(handle) as server:
    ...     client = SomeClient(base_url=server.url)
    ...     server.requests            # [(method, path, params), ...] in arrival order

``params`` holds the query string's values (last one wins) and, for a form-encoded POST, the form's; ``body`` is
the raw request body.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], bytes]
Handle = Callable[[str, str, dict[str, str], bytes], Answer]


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json"}


class LocalServer:
    """A threaded HTTP server on 127.0.0.1; ``handle(method, path, params, body) -> (status, headers, body)``."""

    def __init__(self, handle: Handle) -> None:
        self.handle = handle
        self.log: list[tuple[str, str, dict[str, str]]] = []  # (method, path, params) of every request
        self.headers: list[dict[str, str]] = []  # the request headers, in the same order
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self, method: str) -> None:
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if method == "POST" and body and "form" in (self.headers.get("Content-Type") or ""):
                    params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
                with outer._lock:
                    outer.log.append((method, parts.path, params))
                    outer.headers.append(dict(self.headers.items()))
                status, headers, payload = outer.handle(method, parts.path, params, body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def requests(self) -> Any:
        """``[(method, path, params), ...]`` in arrival order (the fake APIs below give a view that fits them)."""
        return self.log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ----------------------------------------------------------------------------------- fake upstream APIs
class FakeOpenAI(LocalServer):
    """A local OpenAI-compatible chat endpoint. ``script`` is a list of HTTP statuses answered before succeeding.

    Answers are a deterministic function of the prompt ("paraphrase-<hash>"), so tests can check what was asked.
    ``requests`` counts every POST (failed ones included); ``bodies`` keeps the JSON bodies.
    """

    def __init__(self, script: list[int] | None = None, fail_always: int | None = None, content: str | None = None) -> None:
        self.script = list(script or [])
        self.fail_always = fail_always
        self.content = content
        self.bodies: list[dict] = []
        self._answer_lock = threading.Lock()
        super().__init__(self._handle)

    def _handle(self, method: str, path: str, params: dict[str, str], body: bytes) -> Answer:
        data = json.loads(body)
        with self._answer_lock:
            self.bodies.append(data)
            status = self.script.pop(0) if self.script else (self.fail_always or 200)
        if path != "/v1/chat/completions":
            status = 404
        if status != 200:
            return status, ({"Retry-After": "0"} if status == 429 else {}), b""
        prompt = data["messages"][0]["content"]
        text = self.content if self.content is not None else fake_llm_answer(prompt)
        reply = {"id": "x", "object": "chat.completion", "model": data["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": f"  {text}\n"}}]}
        return 200, json_headers(), json.dumps(reply).encode()

    @property
    def requests(self) -> int:
        """How many requests arrived (failed ones included)."""
        return len(self.log)

    @property
    def auth(self) -> list[str | None]:
        return [h.get("Authorization") for h in self.headers]

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"


def fake_llm_answer(prompt: str) -> str:
    """What :class:`FakeOpenAI` answers to ``prompt`` by default: ``"paraphrase-<10 hex digits of its sha256>"``."""
    return "paraphrase-" + hashlib.sha256(prompt.encode()).hexdigest()[:10]


class FakeCTGov(LocalServer):
    """A local API v2 ``/studies`` server: recorded-format pages chained by nextPageToken, scripted failures."""

    def __init__(self, pages: list[list[dict]], statuses: list[int] | None = None, fail_always: int | None = None):
        self.pages = pages
        self.statuses = list(statuses or [])
        self.fail_always = fail_always
        self.studies = {s["protocolSection"]["identificationModule"]["nctId"]: s for p in pages for s in p}
        super().__init__(self._handle)
        self.__enter__()
        self.base_url = f"{self.url}/api/v2"

    def _handle(self, method: str, path: str, q: dict[str, str], body: bytes) -> Answer:
        status = self.statuses.pop(0) if self.statuses else (self.fail_always or 200)
        if status != 200:
            return status, {"Retry-After": "0"}, b""
        if path != "/api/v2/studies":
            return 404, {}, b""
        if "filter.ids" in q:
            answer = {"studies": [self.studies[i] for i in q["filter.ids"].split(",") if i in self.studies]}
        else:
            n = int(q.get("pageToken", "tok-0").split("-")[1])
            answer = {"studies": self.pages[n], "totalCount": sum(map(len, self.pages))}
            if n + 1 < len(self.pages):
                answer["nextPageToken"] = f"tok-{n + 1}"
        return 200, json_headers(), json.dumps(answer).encode()

    @property
    def requests(self) -> list[dict[str, str]]:
        """The query parameters of every request, in arrival order."""
        return [params for _, _, params in self.log]

    def close(self) -> None:
        self.__exit__(None, None, None)
