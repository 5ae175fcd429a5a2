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
from typing import TYPE_CHECKING, Any

from medeval.store import DataStore
from medeval.errors import SourceError
from medeval.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from medeval.build import BuildContext


class Mirror:
    """One source's folder of raw responses; ``writable`` only for the online cache."""

    def __init__(self, root: str | os.PathLike[str], *, writable: bool) -> None:
        self.root = Path(root)
        self.writable = writable

    @classmethod
    def for_context(cls, ctx: BuildContext, sub: str, layout: str = "medeval.sources") -> Mirror:
        """``<source_dir>/<sub>`` (read-only; must exist) or the online cache ``<data folder>/sources/<sub>``.

        ``layout`` names the module whose docstring documents the folder's layout (for error messages).
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
        return self.root.joinpath(*parts)

    def files(self, *suffixes: str, under: str | None = None, exclude: tuple[str, ...] = ()) -> list[Path]:
        """Files ending in one of ``suffixes`` (recursively, following symlinks), sorted by relative path.

        ``exclude`` names top-level sub-folders to skip.
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
        """The file's bytes, gunzipped when it ends in ``.gz``."""
        try:
            data = path.read_bytes()
            return gzip.decompress(data) if path.name.endswith(".gz") else data
        except (OSError, EOFError) as err:
            raise SourceError(f"{path}: unreadable ({err}); replace the file or delete it to download it again") from None

    def read_json(self, path: Path) -> Any:
        try:
            return json.loads(self.read_bytes(path))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SourceError(f"{path}: not valid JSON ({err}); replace the file with the API's raw JSON answer") from None

    def write_bytes(self, rel: str, data: bytes) -> Path:
        """Store a raw response atomically (``.gz`` names are gzipped); only in the online cache."""
        if not self.writable:
            raise SourceError(f"{self.root}: a --source-dir folder is read-only; medeval never writes into it")
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.name.endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        return atomic_write_bytes(dest, data)

    def write_json(self, rel: str, obj: Any) -> Path:
        return self.write_bytes(rel, json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8"))


def safe_name(text: str) -> str:
    """A file name for a category title or search term: spaces to ``_``, path separators and odd characters escaped."""
    from urllib.parse import quote

    return quote(text.strip().replace(" ", "_"), safe="_-.,()'!+&=")
