"""The LLM step's answer cache: an append-only sqlite file keyed by (model, prompt template, temperature, record id,
sha256 of the rendered prompt), so a rebuild of the same records never asks the endpoint again.

    >>> from medeval.llm_cache import LLMCache, cache_key
    >>> cache = LLMCache()                          # <MEDEVAL_HOME>/llm_cache/llm_cache.sqlite  # doctest: +SKIP
    >>> cache.get(cache_key("m", "Q: {q}", 0.7, "r1", "Q: why?")) is None                       # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from medeval.errors import LLMError
from medeval.store import DataStore

CACHE_FILE = "llm_cache.sqlite"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(model: str, template: str, temperature: float, record_id: str, prompt: str) -> str:
    """The cache key of one generation: (model, template, temperature, record id, hash of the rendered prompt).

    Args:
        model: the endpoint's model name.
        template: the prompt template.
        temperature: the sampling temperature (compared to 6 significant digits).
        record_id: the source record's id.
        prompt: the rendered prompt.

    Returns:
        64 hex digits (sha256).
    """
    parts = [model, template, f"{float(temperature):.6g}", record_id, _sha256(prompt)]
    return _sha256(json.dumps(parts, ensure_ascii=False))


class LLMCache:
    """Append-only sqlite store of generated texts; safe across threads and processes.

    Args:
        path: the sqlite file; None for ``<MEDEVAL_HOME>/llm_cache/llm_cache.sqlite``.

    Raises:
        LLMError: the file exists but is not a usable sqlite database (the message says to move it away).

    Example:
        >>> cache = LLMCache()                       # doctest: +SKIP
        >>> cache.get(key) is None                   # doctest: +SKIP
        True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else DataStore().subdir("llm_cache", CACHE_FILE)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, model TEXT NOT NULL, "
                "record_id TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL)"
            )
        except sqlite3.DatabaseError as err:
            raise LLMError(f"{self.path}: unusable LLM cache ({err}); move it away and rebuild (texts will be asked again)") from None

    def get(self, key: str) -> str | None:
        """The cached text for a key, or None.

        Args:
            key: a :func:`cache_key`.

        Returns:
            The stored text, or None if it was never generated.
        """
        with self._lock:
            row = self._db.execute("SELECT text FROM generations WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, model: str, record_id: str, text: str) -> None:
        """Store a text; an existing entry for the key is kept (first answer wins, so rebuilds stay stable).

        Args:
            key: the :func:`cache_key` of the generation.
            model: the model that wrote it.
            record_id: the source record's id (never its text).
            text: the generated text.
        """
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO generations (key, model, record_id, text, created) VALUES (?, ?, ?, ?, ?)",
                (key, model, record_id, text, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
