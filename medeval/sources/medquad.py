"""MedQuAD: consumer-health question-answer pairs from 12 NIH websites, read from its XML collection.

Format (github abachaa/MedQuAD): one XML file per document, ``<Document id source url>`` with ``<Focus>`` and
``<QAPairs>/<QAPair pid>/<Question qid qtype>`` + ``<Answer>``. Collections 10-12 (MedlinePlus A.D.A.M., drugs,
herbs) have their answers removed upstream, so only collections 1-9 give pairs.

Network (no ``--source-dir``): the repository archive at a pinned commit (default :data:`COMMIT`, or
``construction.params.commit``) is downloaded from GitHub (resumable, retried) to
``<data folder>/sources/medquad/<commit>.zip`` and unpacked next to it; offline, an unpacked copy is used.

Local layout (``--source-dir DIR`` reads ``DIR/medquad/``, the datakit layout = the repository's top level)::

    medquad/
      1_CancerGov_QA/0000001_1.xml
      2_GARD_QA/0000004.xml
      ...
      12_MPlusHerbsSupplements_QA/...

A pair's id is ``<collection folder>/<file>#<qid>`` (e.g. ``7_SeniorHealth_QA/0000001.xml#0000001-1``): qids
repeat across collections and even across files of one collection (CancerGov), the file path does not. Pairs
come in collection-number, file-name, document order.

    >>> from medeval.sources.medquad import load_pairs
    >>> pairs, origin = load_pairs(ctx, collections=range(1, 10))
    >>> pairs[0].id, pairs[0].qtype
    ('1_CancerGov_QA/0000001_1.xml#0000001_1-1', 'information')
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.errors import SourceError, SpecError
from medeval.manifest import content_sha
from medeval.sources.text import clean
from medeval.store import DataStore

if TYPE_CHECKING:
    from medeval.build import BuildContext

logger = logging.getLogger(__name__)

REPO = "abachaa/MedQuAD"
#: The commit the datakit copy was taken from (2023-10-17); the collection has not changed since.
COMMIT = "577bd37b96c02d1833b2c9eed2de9f96964e96cb"
ANSWERED = tuple(range(1, 10))  # collections whose answers were not removed upstream
_FOLDER = re.compile(r"^(\d+)_\w+$")


@dataclass(frozen=True)
class QAPair:
    """One question-answer pair of the collection."""

    id: str  # "<folder>/<file>#<qid>"
    file: str  # "<folder>/<file>.xml"
    qtype: str
    focus: str
    question: str
    answer: str
    source: str  # the NIH website (Document@source)

    def fingerprint(self) -> str:
        """A hash of the pair as used, for the build manifest (never the text itself).

        Returns:
            The content hash of question and answer.
        """
        return content_sha([self.question, self.answer])


def collection_folders(root: Path) -> list[tuple[int, Path]]:
    """The collection folders (``<N>_<Name>_QA``) under the repository's top level.

    Args:
        root: the ``medquad/`` folder.

    Returns:
        ``[(number, folder), ...]`` sorted by number ([] if ``root`` is not a folder).
    """
    out = []
    for p in root.iterdir() if root.is_dir() else []:
        m = _FOLDER.match(p.name)
        if p.is_dir() and m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def _child(el: ET.Element, *names: str) -> ET.Element | None:
    for c in el:
        if c.tag.lower() in names:
            return c
    return None


def parse_document(path: Path, folder: str) -> list[QAPair]:
    """The QA pairs of one MedQuAD XML document (empty answers kept; the caller filters).

    Most files are ``<Document id source>/<QAPairs>/<QAPair>/<Question>+<Answer>``; the collection also holds a
    few ``<DiseaseFile fid>`` (CDC) and lower-case ``<doc docid corpus>/<qaPairs>/<pair>/<question>+<answer>``
    (NINDS) files, read the same way.

    Args:
        path: the XML file.
        folder: its collection folder's name (part of every pair id).

    Returns:
        The pairs in document order; ids are ``<folder>/<file>#<qid>``.

    Raises:
        SourceError: not valid XML.
    """
    try:
        doc = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise SourceError(f"{path}: not valid XML ({err}); replace it with the file from {REPO}") from None
    focus_el = next((e for e in doc.iter() if e.tag.lower() in ("focus", "doctitle-focus")), None)
    focus = clean(focus_el.text if focus_el is not None else "")
    doc_id = doc.get("id") or doc.get("fid") or doc.get("docid") or path.stem
    source = doc.get("source") or doc.get("corpus") or ""
    out = []
    for qa in (e for e in doc.iter() if e.tag.lower() in ("qapair", "pair")):
        q = _child(qa, "question")
        if q is None:
            continue
        a = _child(qa, "answer")
        qid = q.get("qid") or f"{doc_id}-{qa.get('pid', '')}"
        out.append(QAPair(
            id=f"{folder}/{path.name}#{qid}", file=f"{folder}/{path.name}", qtype=q.get("qtype", ""), focus=focus,
            question=clean(q.text), answer=clean(a.text if a is not None else ""), source=source,
        ))
    return out


def read_collection(root: Path, collections: Iterable[int] = ANSWERED) -> list[QAPair]:
    """Every QA pair of the chosen collections.

    Args:
        root: the repository's top level (``--source-dir DIR/medquad`` or the download).
        collections: collection numbers (default: 1-9, the ones with answers).

    Returns:
        The pairs, by collection, file name and document order.

    Raises:
        SourceError: none of the chosen collection folders is there, or a file is not valid XML.
    """
    wanted = set(collections)
    folders = [(n, p) for n, p in collection_folders(root) if n in wanted]
    if not folders:
        raise SourceError(
            f"{root}: no MedQuAD collection folders ({', '.join(str(n) for n in sorted(wanted))}_*_QA); "
            f"--source-dir must hold a 'medquad/' folder laid out like github.com/{REPO}"
        )
    out: list[QAPair] = []
    for _, folder in folders:
        for path in sorted(folder.glob("*.xml")):
            out += parse_document(path, folder.name)
    return out


def parse_collections(value: Any) -> tuple[int, ...]:
    """The collection numbers ``construction.params.collections`` names.

    Args:
        value: None (the answered collections 1-9), a list of numbers or folder names (``"2_GARD_QA"``), or
            text holding a range such as ``"sets 1-9"``.

    Returns:
        The numbers, sorted.

    Raises:
        SpecError: a list entry or text that names no collection.

    Example::

        >>> parse_collections(["2_GARD_QA", 7]), parse_collections("sets 1-3")
        ((2, 7), (1, 2, 3))
    """
    if value is None:
        return ANSWERED
    if isinstance(value, list):
        nums = []
        for v in value:
            m = _FOLDER.match(str(v)) if not isinstance(v, int) else None
            if isinstance(v, int):
                nums.append(v)
            elif m:
                nums.append(int(m.group(1)))
            else:
                raise SpecError(f"field 'construction.params.collections': {v!r} is neither a collection number nor a folder like '2_GARD_QA'")
        return tuple(sorted(set(nums)))
    m = re.search(r"(\d+)\s*-\s*(\d+)", str(value))
    if m:
        return tuple(range(int(m.group(1)), int(m.group(2)) + 1))
    raise SpecError(f"field 'construction.params.collections': {value!r}; give a list of collection numbers or a range such as 'sets 1-9'")


def download(commit: str = COMMIT, *, offline: bool = False, base_url: str = "https://codeload.github.com") -> Path:
    """The collection at a commit, downloaded once from GitHub and unpacked under ``<data folder>/sources/medquad/``.

    Only ``<N>_<Name>_QA/<file>.xml`` entries are unpacked, so nothing is written outside that folder.

    Args:
        commit: the 40-hex commit of the repository (default :data:`COMMIT`).
        offline: only an earlier complete download may be used.
        base_url: the archive server (tests give a local one).

    Returns:
        The unpacked top folder.

    Raises:
        SpecError: ``commit`` is not a 40-hex commit.
        SourceError: offline without a copy, the download failed, or the archive is damaged.
    """
    from medeval.sources.http import HttpClient

    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise SpecError(f"field 'construction.params.commit': {commit!r} is not a 40-hex git commit of {REPO}")
    base = DataStore().subdir("sources", "medquad")
    top = base / commit
    if (top / ".complete").is_file():
        return top
    if offline:
        raise SourceError(f"MedQuAD: --offline and no downloaded copy in {top}; give --source-dir DIR (with a medquad/ folder) or drop --offline")
    archive = HttpClient(base_url, timeout=300).download(f"{REPO}/zip/{commit}", base / f"{commit}.zip")
    try:
        with zipfile.ZipFile(archive) as zf:
            tmp = base / f".{commit}.unpack"
            for info in zf.infolist():
                parts = Path(info.filename).parts
                # <repo>-<commit>/<N>_<Name>_QA/<file>.xml only: never write outside the target folder
                if len(parts) == 3 and _FOLDER.match(parts[1]) and parts[2].endswith(".xml") and ".." not in parts:
                    dest = tmp / parts[1] / parts[2]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(zf.read(info))
    except zipfile.BadZipFile:
        archive.unlink(missing_ok=True)
        raise SourceError(f"{archive}: damaged download; run the build again to fetch it anew") from None
    (tmp / ".complete").write_text(f"{REPO}@{commit}\n")
    tmp.rename(top)
    return top


def load_pairs(ctx: BuildContext, *, collections: Iterable[int] = ANSWERED, commit: str | None = None) -> tuple[list[QAPair], dict[str, Any]]:
    """MedQuAD pairs for a build and the manifest's origin block.

    Args:
        ctx: ``ctx.source_dir`` means ``DIR/medquad``; otherwise the pinned GitHub commit (``ctx.offline`` respected).
        collections: collection numbers.
        commit: the commit to download (default :data:`COMMIT`; recorded in the manifest's pins).

    Returns:
        ``(pairs, origin)``.
    """
    if ctx.source_dir is not None:
        root = Path(ctx.source_dir) / "medquad"
        return read_collection(root, collections), {"origin": "local:medquad"}
    commit = commit or COMMIT
    root = download(commit, offline=ctx.offline)
    return read_collection(root, collections), {"origin": f"github:{REPO}", "commit": commit, "pins": {"commit": commit}}
