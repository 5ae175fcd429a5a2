"""A local folder of raw upstream responses: what ``--source-dir`` points at, and what online builds cache into.

Every source client reads its upstream's records from one sub-folder (``wikipedia/``, ``pubmed/``, ``pmc/``,
``biorxiv_medrxiv/``) of a root folder, in the upstream's own format (API JSON pages, efetch XML, ...). The
layout inside each sub-folder is documented in the client's module. Two modes:

* ``--source-dir DIR`` (``BuildContext.source_dir``): read-only, the network is never used; a record the folder
  lacks is a :class:`~medeval.errors.SourceError` that names the file it looked for.
* no source dir: the client fetches from the API and stores every raw response, atomically, under
  ``<data folder>/sources/<sub-folder>/`` before using it. An interrupted build resumes from what is stored, and
  the folder can later be passed as ``--source-dir`` to rebuild without the network. Delete it to re-download.

    >>> from medeval.sources.mirror import Mirror
    >>> mirror = Mirror.for_context(ctx, "pubmed")
    >>> for path in mirror.files(".xml", ".xml.gz"): ...
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from medeval.errors import SourceError
from medeval.fsutil import atomic_write_bytes
from medeval.sources.http import HttpClient
from medeval.store import DataStore

if TYPE_CHECKING:
    from medeval.build import BuildContext

_Client = TypeVar("_Client", bound="MirroredClient")


class Mirror:
    """One source's folder of raw responses; ``writable`` only for the online cache."""

    def __init__(self, root: str | os.PathLike[str], *, writable: bool) -> None:
        self.root = Path(root)
        self.writable = writable

    @classmethod
    def for_context(cls, ctx: BuildContext, sub: str, layout: str = "medeval.sources") -> Mirror:
        """The mirror of one source for a build.

        Args:
            ctx: the build's inputs; ``ctx.source_dir`` set means read-only ``<source_dir>/<sub>``.
            sub: the source's sub-folder (``"wikipedia"``, ``"pubmed"``, ...).
            layout: the module whose docstring documents the folder's layout (named in the error).

        Returns:
            ``<source_dir>/<sub>`` (read-only), or the online cache ``<data folder>/sources/<sub>`` (writable).

        Raises:
            SourceError: ``--source-dir`` has no ``<sub>/`` folder.
        """
        if ctx.source_dir is not None:
            root = Path(ctx.source_dir) / sub
            if not root.is_dir():
                raise SourceError(
                    f"{root}: no such folder; --source-dir {ctx.source_dir} must hold a '{sub}/' folder with the raw "
                    f"records (layout: see `python -m pydoc {layout}`), or drop --source-dir to use the network"
                )
            return cls(root, writable=False)
        return cls(DataStore().subdir("sources", sub), writable=True)

    @property
    def local_only(self) -> bool:
        """True for a ``--source-dir`` folder: nothing may be fetched."""
        return not self.writable

    def path(self, *parts: str) -> Path:
        """A path inside the mirror.

        Args:
            parts: path parts relative to the mirror's root.

        Returns:
            ``root / parts...`` (it need not exist).
        """
        return self.root.joinpath(*parts)

    def files(self, *suffixes: str, under: str | None = None, exclude: tuple[str, ...] = ()) -> list[Path]:
        """Files ending in one of ``suffixes``, found recursively (following symlinks), hidden files skipped.

        Args:
            suffixes: name endings, e.g. ``".xml", ".xml.gz"``.
            under: a sub-folder to search instead of the whole mirror.
            exclude: top-level sub-folders to skip.

        Returns:
            The paths, sorted by their path relative to the searched folder ([] if it does not exist).
        """
        base = self.root / under if under else self.root
        if not base.is_dir():
            return []
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
            if Path(dirpath) == base:
                dirnames[:] = [d for d in dirnames if d not in exclude]
            dirnames.sort()
            found += [Path(dirpath) / f for f in filenames if f.endswith(suffixes) and not f.startswith(".")]
        return sorted(found, key=lambda p: p.relative_to(base).as_posix())

    def read_bytes(self, path: Path) -> bytes:
        """A stored file's bytes, gunzipped when its name ends in ``.gz``.

        Args:
            path: the file.

        Returns:
            Its (decompressed) content.

        Raises:
            SourceError: unreadable or a damaged gzip file, naming the file and the fix.
        """
        try:
            data = path.read_bytes()
            return gzip.decompress(data) if path.name.endswith(".gz") else data
        except (OSError, EOFError) as err:
            raise SourceError(f"{path}: unreadable ({err}); replace the file or delete it to download it again") from None

    def read_json(self, path: Path) -> Any:
        """A stored raw answer, decoded.

        Args:
            path: a ``.json`` (or ``.json.gz``) file.

        Returns:
            The decoded JSON.

        Raises:
            SourceError: unreadable, or not valid JSON.
        """
        try:
            return json.loads(self.read_bytes(path))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SourceError(f"{path}: not valid JSON ({err}); replace the file with the API's raw JSON answer") from None

    def write_bytes(self, rel: str, data: bytes) -> Path:
        """Store a raw response atomically (gzipped when ``rel`` ends in ``.gz``); only in the online cache.

        Args:
            rel: the path relative to the mirror's root; folders are created.
            data: the response body.

        Returns:
            The written file.

        Raises:
            SourceError: the mirror is a ``--source-dir`` folder (read-only).
        """
        if not self.writable:
            raise SourceError(f"{self.root}: a --source-dir folder is read-only; medeval never writes into it")
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.name.endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        return atomic_write_bytes(dest, data)

    def write_json(self, rel: str, obj: Any) -> Path:
        """Store a decoded JSON answer atomically (see :meth:`write_bytes`).

        Args:
            rel: the path relative to the mirror's root.
            obj: the answer.

        Returns:
            The written file.
        """
        return self.write_bytes(rel, json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"))


class MirroredClient:
    """Base of the clients that read one upstream API through a :class:`Mirror`: online (an :class:`HttpClient`;
    every raw answer is stored in the mirror before use) or from a ``--source-dir`` folder (no HttpClient; the
    network is never used). A client sets :attr:`SUB`, :attr:`MIN_INTERVAL` and :meth:`default_url`.

    Args:
        mirror: the source's folder of raw answers (:meth:`Mirror.for_context`).
        http: the API client; required online, ignored for a ``--source-dir`` folder.
        sub: the mirror's sub-folder name, which :attr:`where` reports (default :attr:`SUB`).

    Raises:
        ValueError: an online mirror without an ``http`` client.

    Example::

        >>> from medeval.sources.mediawiki import MediaWikiClient
        >>> MediaWikiClient.from_context(BuildContext(source_dir="../shared/datakit")).where
        'local:wikipedia'
    """

    #: The mirror's sub-folder: ``--source-dir DIR/<SUB>``, or ``<data folder>/sources/<SUB>`` online.
    SUB: ClassVar[str] = ""
    #: Seconds between requests (the API's rate limit).
    MIN_INTERVAL: ClassVar[float] = 0.0

    def __init__(self, mirror: Mirror, http: HttpClient | None = None, *, sub: str | None = None) -> None:
        if http is None and not mirror.local_only:
            raise ValueError(f"an online {type(self).__name__} needs an HttpClient")
        self.mirror = mirror
        self.http = None if mirror.local_only else http
        self.sub = sub or self.SUB

    @classmethod
    def default_url(cls) -> str:
        """The API's base URL, read when a client is made (so a test can point the module constant elsewhere).

        Returns:
            The URL.
        """
        raise NotImplementedError(f"{cls.__name__} must define default_url()")

    @classmethod
    def from_context(
        cls: type[_Client], ctx: BuildContext, *, base_url: str | None = None, backoff: float = 1.0, retries: int = 4
    ) -> _Client:
        """The client of a build: ``--source-dir DIR/<SUB>`` if given, else the API at most one request per
        :attr:`MIN_INTERVAL` seconds, with every answer stored under ``<data folder>/sources/<SUB>``.

        Args:
            ctx: the build's inputs (``source_dir``, ``offline``).
            base_url: the API's URL (default :meth:`default_url`).
            backoff: the first retry's wait in seconds (doubled each time).
            retries: attempts after the first on connection errors, 429 and 5xx.

        Returns:
            The client.

        Raises:
            SourceError: ``--source-dir`` lacks the ``<SUB>/`` folder.
        """
        mirror, http = cls.mirror_and_http(ctx, cls.SUB, cls.__module__, base_url or cls.default_url(),
                                           min_interval=cls.MIN_INTERVAL, retries=retries, backoff=backoff)
        return cls(mirror, http)

    @staticmethod
    def mirror_and_http(
        ctx: BuildContext, sub: str, layout: str, base_url: str, *, min_interval: float, retries: int, backoff: float
    ) -> tuple[Mirror, HttpClient | None]:
        """The mirror of a build (:meth:`Mirror.for_context`) and, unless it is a ``--source-dir`` folder, an
        :class:`HttpClient` for ``base_url`` (``--offline`` makes it refuse the network).

        Args:
            ctx: the build's inputs (``source_dir``, ``offline``).
            sub: the mirror's sub-folder.
            layout: the module whose docstring documents the folder's layout (named in errors).
            base_url: the API's base URL.
            min_interval: seconds between requests.
            retries: attempts after the first.
            backoff: the first retry's wait in seconds.

        Returns:
            ``(mirror, http)``; ``http`` is None for a ``--source-dir`` folder.

        Raises:
            SourceError: ``--source-dir`` lacks the ``sub`` folder.
        """
        mirror = Mirror.for_context(ctx, sub, layout)
        if mirror.local_only:
            return mirror, None
        return mirror, HttpClient(base_url, min_interval=min_interval, retries=retries, backoff=backoff, offline=ctx.offline or None)

    @property
    def where(self) -> str:
        """Where the records come from, for the build manifest's ``origin``: the API URL or ``local:<sub-folder>``."""
        return f"local:{self.sub}" if self.mirror.local_only else (self.http.base_url if self.http else "?")


def safe_name(text: str) -> str:
    """A file name for a category title or search term.

    Args:
        text: the title or term.

    Returns:
        The text stripped, spaces turned into ``_``, path separators and other odd characters %-escaped.

    Example::

        >>> safe_name("Cardiovascular diseases"), safe_name("a/b")
        ('Cardiovascular_diseases', 'a%2Fb')
    """
    from urllib.parse import quote

    return quote(text.strip().replace(" ", "_"), safe="_-.,()'!+&=")
