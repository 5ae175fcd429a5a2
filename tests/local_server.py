"""One local HTTP server for the tests of every network client (MediaWiki, E-utilities, bioRxiv, ClinicalTrials.gov,
the OpenAI-compatible LLM endpoint): a thread on 127.0.0.1, never the real network.

    >>> def handle(method, path, params, body):
    ...     return 200, {"Content-Type": "application/json"}, b"{}"
    >>> with LocalServer(handle) as server:
    ...     client = SomeClient(base_url=server.url)
    ...     server.requests            # [(method, path, params), ...] in arrival order

``params`` holds the query string's values (last one wins) and, for a form-encoded POST, the form's; ``body`` is
the raw request body.
"""

from __future__ import annotations

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
        self.requests: list[tuple[str, str, dict[str, str]]] = []
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
                    outer.requests.append((method, parts.path, params))
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
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
