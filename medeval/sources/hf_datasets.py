"""Multiple-choice exam questions from Hugging Face datasets: MedMCQA and MedQA (USMLE, 4 options).

Network (no ``--source-dir``): the dataset repo's data files (``*.parquet``, ``*.jsonl``) are downloaded with
``huggingface_hub.snapshot_download`` at a pinned commit into ``<data folder>/sources/hf/<org>__<name>/<commit>/``
(resumable; retried by huggingface_hub). ``construction.params.revision`` pins the commit; without it ``main`` is
resolved to its current commit, which the manifest records under ``source.pins`` so a rebuild uses the same one.
Offline, a commit already downloaded is used; anything else is a clear error.

Local layout (``--source-dir DIR``; the datakit layout). Files are read recursively, in path order; the split
comes from a word in the file name (``train``, ``dev``/``validation``/``valid``, ``test``)::

    medmcqa/                      any of
      data/validation-00000-of-00001.parquet   original HF layout: id, question, opa..opd, cop (0-3; -1 = unknown),
                                               choice_type, exp, subject_name, topic_name
      dev.json                                 original release (JSON lines, same fields; cop 1-4 is detected)
      converted_not_original_format/*.jsonl    MedAgentsBench conversion: question, realidx (= id), options {A..D},
                                               answer_idx (letter), answer. It has NO 'exp' (no explanations).
    medqa_usmle/                  jind11/MedQA or GBaker/MedQA-USMLE-4-options rows
      US_4_options_phrases_no_exclude_test.jsonl   question, options {A..D}, answer_idx, answer, meta_info
      data/test-00000-of-00001.parquet             (HF layout, same fields)

MedQA files whose rows have other option letters (the 5-option release) are skipped. MedQA rows have no id of
their own: a row's id is ``<split>-<row number>`` (row order of the jind11 files = the HF splits), and the
manifest adds a hash of its text so a changed row is detected.

    >>> from medeval.sources.hf_datasets import load_medmcqa
    >>> questions, origin = load_medmcqa(ctx, revision=None)
    >>> questions[0].options, questions[0].answer
    (('...', '...', '...', '...'), 2)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeval.jsonl import iter_jsonl
from medeval.errors import SourceError, SpecError
from medeval.manifest import content_sha
from medeval.sources.text import clean
from medeval.store import DataStore

if TYPE_CHECKING:
    from medeval.build import BuildContext

logger = logging.getLogger(__name__)

MEDMCQA_REPO = "openlifescienceai/medmcqa"
MEDQA_REPO = "GBaker/MedQA-USMLE-4-options"
LETTERS = ("A", "B", "C", "D")
SPLIT_ORDER = {"train": 0, "validation": 1, "test": 2}
_SPLIT_WORDS = {"train": "train", "dev": "validation", "validation": "validation", "valid": "validation", "val": "validation", "test": "test"}
_SHARD = re.compile(r"-\d{5}-of-\d{5}$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; ``answer`` is the 0-based index of the correct option (None if unknown)."""

    id: str
    split: str
    question: str
    options: tuple[str, ...]
    answer: int | None
    explanation: str | None = None
    layout: str = "original"  # 'original' (upstream fields) or 'converted' (MedAgentsBench; no explanation)
    file: str = ""

    def fingerprint(self, with_explanation: bool = False) -> str:
        """A hash of the question as used, for the build manifest (never the text itself).

        Args:
            with_explanation: include the explanation (tasks that use it).

        Returns:
            The content hash of question, options and answer (and explanation).
        """
        parts: list[Any] = [self.question, list(self.options), self.answer]
        if with_explanation:
            parts.append(self.explanation)
        return content_sha(parts)


def split_of(path: Path) -> str:
    """The split a file holds, from a word in its name.

    Args:
        path: a data file, e.g. ``data/validation-00000-of-00001.parquet`` or ``dev.json``.

    Returns:
        ``"train"``, ``"validation"`` (``dev``, ``valid``, ``val``), ``"test"``, or ``"unknown"``.

    Example::

        >>> split_of(Path("US_4_options_phrases_no_exclude_test.jsonl"))
        'test'
    """
    words = re.split(r"[^a-z]+", path.stem.lower())
    for w in words:
        if w in _SPLIT_WORDS:
            return _SPLIT_WORDS[w]
    return "unknown"


def _data_files(root: Path) -> list[Path]:
    files = [
        p for p in root.rglob("*")
        if p.is_file() and p.suffix in (".parquet", ".jsonl", ".json")
        and not any(part.startswith(".") for part in p.relative_to(root).parts)  # e.g. huggingface_hub's .cache/
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def iter_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a parquet, JSON-lines or JSON-array file.

    Args:
        path: the file (``.parquet``; ``.json``/``.jsonl`` holding one object per line or one array).

    Yields:
        One dict per row, in file order (non-objects of an array skipped).

    Raises:
        SourceError: an unreadable parquet file or malformed JSON, naming the file and line.
    """
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise SourceError(f"{path}: unreadable parquet ({err}); download it again") from None
        yield from table.to_pylist()
        return
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as err:
            raise SourceError(f"{path}: invalid JSON ({err.msg} at line {err.lineno})") from None
        yield from (r for r in rows if isinstance(r, dict))
        return
    yield from iter_jsonl(path)


def _options_dict(value: Any) -> dict[str, str] | None:
    """``{"A": text, ...}`` from a dict, or a list of ``{"key", "value"}`` entries (a parquet struct list)."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list) and all(isinstance(x, Mapping) and "key" in x and "value" in x for x in value):
        return {str(x["key"]): clean(x["value"]) for x in value}
    return None


# -------------------------------------------------------------------------------------------------- MedMCQA
def _cop_base(path: Path, rows: Sequence[Mapping[str, Any]], forced: int | None) -> int:
    if forced is not None:
        return forced
    if path.suffix == ".parquet":
        return 0  # the Hub's parquet files (HF ClassLabel convention)
    values = {r.get("cop") for r in rows if isinstance(r.get("cop"), int) and r.get("cop") >= 0}
    if 0 in values:
        return 0
    if 4 in values:
        return 1
    if not values:
        return 0
    raise SourceError(
        f"{path}: field 'cop' has only the values {sorted(values)}, so medeval cannot tell whether it counts from 0 "
        "(Hugging Face) or 1 (original release); set construction.params.cop_base to 0 or 1"
    )


def read_medmcqa(root: Path, *, cop_base: int | None = None) -> list[Question]:
    """All MedMCQA questions under a folder, in either layout (HF/original fields, or MedAgentsBench's conversion).

    Args:
        root: the ``medmcqa/`` folder; files are read recursively in path order.
        cop_base: whether ``cop`` counts options from 0 or 1 (default: detected per file; parquet is 0).

    Returns:
        The questions ordered by split (train, validation, test), file and row; a repeated id keeps its first row.

    Raises:
        SourceError: no such folder, no MedMCQA rows, a row without an id, or a ``cop`` numbering that cannot be
            told apart.
    """
    if not root.is_dir():
        raise SourceError(f"{root}: no such folder; --source-dir must hold a 'medmcqa/' folder of MedMCQA rows (see medeval.sources.hf_datasets)")
    out: list[Question] = []
    for path in _data_files(root):
        rel = path.relative_to(root).as_posix()
        rows = list(iter_rows(path))
        if not rows:
            continue
        split = split_of(path)
        first = rows[0]
        if "opa" in first:
            base = _cop_base(path, rows, cop_base)
            for n, r in enumerate(rows, 1):
                rid = r.get("id")
                if not rid:
                    raise SourceError(f"{path}: row {n} has no 'id'; MedMCQA rows carry their uuid in 'id'")
                cop = r.get("cop")
                answer = cop - base if isinstance(cop, int) and 0 <= cop - base < 4 else None
                exp = clean(r.get("exp")) or None
                out.append(Question(str(rid), split, clean(r.get("question")),
                                    tuple(clean(r.get(k)) for k in ("opa", "opb", "opc", "opd")), answer, exp, "original", rel))
        elif "options" in first and ("realidx" in first or "id" in first):
            for n, r in enumerate(rows, 1):
                opts = _options_dict(r.get("options")) or {}
                rid = r.get("realidx") or r.get("id")
                if not rid:
                    raise SourceError(f"{path}: row {n} has no 'realidx'; the converted MedMCQA layout carries the original id there")
                letter = r.get("answer_idx")
                answer = LETTERS.index(letter) if letter in LETTERS else None
                out.append(Question(str(rid), split, clean(r.get("question")),
                                    tuple(opts.get(k, "") for k in LETTERS), answer, None, "converted", rel))
        else:
            logger.debug("skipping %s: not MedMCQA rows (no opa..opd or options/realidx)", path)
    if not out:
        raise SourceError(f"{root}: no MedMCQA rows found (expected the HF fields question, opa..opd, cop, exp, or the converted question/options/realidx)")
    return _first_per_id(sorted(out, key=lambda q: SPLIT_ORDER.get(q.split, 3)))


def _first_per_id(questions: list[Question]) -> list[Question]:
    seen: set[str] = set()
    out = []
    for q in questions:
        if q.id not in seen:
            seen.add(q.id)
            out.append(q)
    if len(out) < len(questions):
        logger.info("MedMCQA: %d rows repeat an id and were dropped", len(questions) - len(out))
    return out


# ---------------------------------------------------------------------------------------------------- MedQA
def read_medqa(root: Path, letters: Sequence[str] = LETTERS) -> list[Question]:
    """MedQA questions whose options have exactly the given letters (the 4-option release by default).

    Args:
        root: the ``medqa_usmle/`` folder; files with other option letters are skipped.
        letters: the option letters.

    Returns:
        The questions, split by split; each id is ``<split>-<row number>``.

    Raises:
        SourceError: no such folder, no matching rows, two unsharded files for one split, or a row whose options
            or ``answer`` disagree with ``answer_idx``.
    """
    if not root.is_dir():
        raise SourceError(f"{root}: no such folder; --source-dir must hold a 'medqa_usmle/' folder of MedQA jsonl (see medeval.sources.hf_datasets)")
    by_split: dict[str, list[Path]] = {}
    rows_of: dict[Path, list[dict[str, Any]]] = {}
    for path in _data_files(root):
        rows = list(iter_rows(path))
        if not rows or "question" not in rows[0] or "options" not in rows[0]:
            continue
        opts = _options_dict(rows[0].get("options"))
        if opts is None or sorted(opts) != sorted(letters):
            logger.debug("skipping %s: its options are %s, not %s", path, sorted(opts or {}), list(letters))
            continue
        by_split.setdefault(split_of(path), []).append(path)
        rows_of[path] = rows
    out: list[Question] = []
    for split in sorted(by_split, key=lambda s: (SPLIT_ORDER.get(s, 3), s)):
        files = by_split[split]
        if len(files) > 1 and not all(_SHARD.search(p.stem) for p in files):
            names = ", ".join(p.relative_to(root).as_posix() for p in files)
            raise SourceError(f"{root}: several files hold the MedQA {split} split ({names}); keep one of them")
        n = 0
        for path in files:
            rel = path.relative_to(root).as_posix()
            for lineno, r in enumerate(rows_of[path], 1):
                opts = _options_dict(r.get("options"))
                if opts is None or sorted(opts) != sorted(letters):
                    raise SourceError(f"{path}: row {lineno}: options must have the letters {', '.join(letters)}")
                letter = r.get("answer_idx")
                answer = list(letters).index(letter) if letter in letters else None
                if answer is not None and r.get("answer") is not None and clean(r["answer"]) != opts[letter]:
                    raise SourceError(f"{path}: row {lineno}: 'answer' is not the text of option {letter} ('answer_idx'); the file is damaged")
                out.append(Question(f"{split}-{n:05d}", split, clean(r.get("question")), tuple(opts[k] for k in letters), answer, None, "original", rel))
                n += 1
    if not out:
        raise SourceError(f"{root}: no MedQA rows with options {', '.join(letters)} (expected jsonl with question, options, answer_idx)")
    return out


# ------------------------------------------------------------------------------------------------ the Hub
def hub_snapshot(repo: str, revision: str | None, *, offline: bool = False) -> tuple[Path, str]:
    """The data files of a Hub dataset repo at a commit, downloaded once under ``<data folder>/sources/hf/``.

    Args:
        repo: ``"org/name"``, e.g. :data:`MEDMCQA_REPO`.
        revision: a commit, branch or tag (default ``main``, resolved to its current commit).
        offline: only a complete earlier download of this commit may be used.

    Returns:
        ``(folder, commit sha)``.

    Raises:
        SourceError: offline without a downloaded copy, huggingface_hub missing, or the download failed.
    """

    base = DataStore().subdir("sources", "hf", repo.replace("/", "__"))
    if revision and _HEX40.match(revision) and (base / revision / ".complete").is_file():
        return base / revision, revision
    if offline:
        raise SourceError(f"Hugging Face dataset {repo}: --offline and no downloaded copy in {base}; give --source-dir DIR or drop --offline")
    try:
        from huggingface_hub import HfApi, snapshot_download
        from huggingface_hub.errors import (
            HfHubHTTPError,
            LocalEntryNotFoundError,
            OfflineModeIsEnabled,
        )
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        raise SourceError("huggingface_hub is not installed; pip install huggingface-hub") from None
    try:
        sha = HfApi().dataset_info(repo, revision=revision or "main").sha
        folder = base / str(sha)
        if not (folder / ".complete").is_file():
            snapshot_download(repo_id=repo, repo_type="dataset", revision=sha, local_dir=folder,
                              allow_patterns=["*.parquet", "*.jsonl", "data/*.json"])
            (folder / ".complete").write_text(f"{repo}@{sha}\n")
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as err:
        raise SourceError(
            f"Hugging Face dataset {repo}@{revision or 'main'}: offline ({type(err).__name__}); unset HF_HUB_OFFLINE, or give --source-dir DIR"
        ) from None
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise SourceError(
            f"Hugging Face dataset {repo}@{revision or 'main'}: cannot download ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "check the network, the revision in construction.params.revision, or give --source-dir DIR"
        ) from None
    return folder, str(sha)


def _file_hashes(root: Path, files: Sequence[str]) -> dict[str, str]:
    out = {}
    for rel in sorted(set(files)):
        h = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        out[rel] = h[:16]
    return out


def _load(ctx: BuildContext, sub: str, repo: str, revision: str | None, reader: Any) -> tuple[list[Question], dict[str, Any]]:
    if ctx.source_dir is not None:
        root = Path(ctx.source_dir) / sub
        questions = reader(root)
        return questions, {"origin": f"local:{sub}", "files": _file_hashes(root, [q.file for q in questions])}
    folder, sha = hub_snapshot(repo, revision, offline=ctx.offline)
    questions = reader(folder)
    return questions, {"origin": f"hf:{repo}", "revision": sha, "pins": {"revision": sha}}


def load_medmcqa(ctx: BuildContext, *, revision: str | None = None, cop_base: int | None = None) -> tuple[list[Question], dict[str, Any]]:
    """MedMCQA questions for a build and the manifest's origin block.

    Args:
        ctx: ``ctx.source_dir`` means ``DIR/medmcqa``; otherwise the Hub (``ctx.offline`` respected).
        revision: the Hub commit (``construction.params.revision``; default ``main``, pinned in the manifest).
        cop_base: ``construction.params.cop_base`` (0 or 1; default: detected).

    Returns:
        ``(questions, origin)``; origin names the folder and file hashes, or the repo and its commit.

    Raises:
        SpecError: a ``cop_base`` other than 0 or 1.
        SourceError: as :func:`read_medmcqa` and :func:`hub_snapshot`.
    """
    if cop_base not in (None, 0, 1):
        raise SpecError(f"field 'construction.params.cop_base': must be 0 or 1, not {cop_base!r}")
    return _load(ctx, "medmcqa", MEDMCQA_REPO, revision, lambda root: read_medmcqa(root, cop_base=cop_base))


def load_medqa(ctx: BuildContext, *, revision: str | None = None, letters: Sequence[str] = LETTERS) -> tuple[list[Question], dict[str, Any]]:
    """MedQA questions for a build and the manifest's origin block.

    Args:
        ctx: ``ctx.source_dir`` means ``DIR/medqa_usmle``; otherwise the Hub.
        revision: the Hub commit (default ``main``, pinned in the manifest).
        letters: the option letters of the release.

    Returns:
        ``(questions, origin)`` as :func:`load_medmcqa`.
    """
    return _load(ctx, "medqa_usmle", MEDQA_REPO, revision, lambda root: read_medqa(root, letters))
