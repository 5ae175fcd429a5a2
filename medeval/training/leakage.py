"""The leakage filter: no training pair may share a text with the data of a task the model will be scored on.

Texts are compared after :func:`normalize` (Unicode NFKC, lower-case, punctuation and symbols replaced by spaces,
whitespace collapsed). The index holds every text of every table of each built task (classification train and test
rows, clustering sentences, both sides of pair-classification rows, retrieval queries and corpus titles and texts:
everything the evaluation embeds), and, for a text of several lines, each line on its own (a Wikipedia lead
section holds the paragraphs a training pair is made of). A pair is removed if its anchor or its positive is in
the index. Only sha1 digests of normalised texts are kept, and the report holds counts and pair ids, never text
(MIMIC note text stays in the user's data folder).

Tasks come from the config's ``leakage.benchmarks`` plus ``leakage.tasks`` (names or YAML paths). A task whose data
is not built cannot be checked: with ``build_missing`` the ones that need no input (MedEval-Terms) are built
first; the others are listed in the report under ``not_checked`` with the command that builds them.

    >>> from medeval.training.leakage import TaskTextIndex, filter_pairs
    >>> index = TaskTextIndex.from_tasks(["MedEval-Terms(v1)"], [], build_missing=True)  # doctest: +SKIP
    >>> kept, report = filter_pairs(pairs_by_source, index)
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medeval import data as datamod
from medeval.errors import MedEvalError
from medeval.training.pairs import Pair

logger = logging.getLogger(__name__)

#: Columns whose values are embedded by the evaluation, per table config.
TEXT_COLUMNS = ("text", "title", "sentences", "sentence1", "sentence2")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Normalise a text for the leakage check: NFKC, lower-case, punctuation and symbols to spaces, spaces collapsed.

    Args:
        text: any text (a training anchor or positive, or a task's text).

    Returns:
        The normalised text; empty when ``text`` holds only punctuation, symbols or whitespace.

    Example:
        >>> normalize("Acute  MI!")
        'acute mi'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    return _SPACE.sub(" ", text).strip()


def digest(text: str) -> bytes | None:
    """sha1 of the normalised text (:func:`normalize`): what the index keeps instead of the text.

    Args:
        text: any text.

    Returns:
        The 20-byte sha1 digest, or None for a text that normalises to nothing.

    Example:
        >>> digest("Acute MI!") == digest("acute mi"), digest("?!")
        (True, None)
    """
    norm = normalize(text)
    return hashlib.sha1(norm.encode("utf-8")).digest() if norm else None


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _texts(v)


def _pieces(text: str) -> Iterable[str]:
    yield text
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1:
        yield from lines


@dataclass
class TaskTextIndex:
    """Digests of the texts of the checked tasks, each with the tasks it occurs in.

    Build it with :meth:`from_tasks`; :func:`filter_pairs` uses it.

    Attributes:
        owners: sha1 digest (:func:`digest`) -> names of the tasks whose data hold that text.
        checked: task name -> ``{"revision": data revision, "texts": texts indexed}``.
        not_checked: task name -> why it could not be checked and the command that builds it.
    """

    owners: dict[bytes, set[str]] = field(default_factory=dict)
    checked: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> revision, folder, number of texts
    not_checked: dict[str, str] = field(default_factory=dict)  # task -> why, and how to build it

    def add_task(self, name: str, folder: Path, revision: str | None = None) -> None:
        """Index every text column of every table (``<config>/<split>.parquet|jsonl``) in a task folder.

        Args:
            name: the task's name (recorded as the owner of its texts).
            folder: the task's built data folder in the data folder (``<MEDEVAL_HOME>/<Task>/``).
            revision: the data revision (from the folder's manifest), recorded in :attr:`checked`.
        """
        n = 0
        for table in sorted(p for p in folder.glob("*/*") if p.suffix in (".parquet", ".jsonl")):
            rows = datamod.read_table(folder, f"{table.parent.name}/{table.stem}")
            for row in rows:
                for col in TEXT_COLUMNS:
                    for text in _texts(row.get(col)):
                        for piece in _pieces(text):
                            d = digest(piece)
                            if d is not None:
                                self.owners.setdefault(d, set()).add(name)
                                n += 1
        self.checked[name] = {"revision": revision, "texts": n}

    def tasks_of(self, text: str) -> set[str]:
        """The tasks whose data hold ``text`` (after :func:`normalize`).

        Args:
            text: a training anchor or positive.

        Returns:
            Task names; empty when no checked task holds the text (or it normalises to nothing).
        """
        d = digest(text)
        return self.owners.get(d, set()) if d is not None else set()

    @classmethod
    def from_tasks(cls, benchmarks: Sequence[str], tasks: Sequence[str], *, build_missing: bool = True) -> TaskTextIndex:
        """The index of every task of ``benchmarks`` plus ``tasks``, from the data folder (or a user task's folder).

        Args:
            benchmarks: benchmark names, e.g. ``["MedEval(v1)", "MedEval-Terms(v1)"]``.
            tasks: more task names or paths of user task YAMLs.
            build_missing: build first the unbuilt tasks that need no input (MedEval-Terms); other unbuilt tasks are
                listed in :attr:`not_checked`.

        Returns:
            The filled index.
        """
        from medeval import catalog
        from medeval.build import can_build_without_inputs
        from medeval.loaders import build_instruction

        classes: dict[str, Any] = {}
        for b in benchmarks:
            for t in catalog.get_tasks(benchmark=b):
                classes[t.metadata.name] = type(t)
        for name in tasks:
            cls_ = catalog.get_task_class(name)
            classes[cls_.spec.name] = cls_
        index = cls()
        for name in sorted(classes):
            task = classes[name]
            if not task.is_built() and build_missing and task.spec.data is None and can_build_without_inputs(task.spec):
                try:
                    task.ensure_data()
                except MedEvalError as err:
                    index.not_checked[name] = f"build failed: {err}"
                    continue
            if not task.is_built():
                index.not_checked[name] = f"not built here; {build_instruction(task.spec)}, and train again"
                continue
            folder = task.data_folder()
            manifest = datamod.read_manifest(folder) or {}
            index.add_task(name, folder, manifest.get("revision"))
        return index


def filter_pairs(pairs: Mapping[str, list[Pair]], index: TaskTextIndex) -> tuple[dict[str, list[Pair]], dict[str, Any]]:
    """The pairs that share no text with an indexed task, and the report of what was removed (ids, no text).

    A pair is removed when its anchor or its positive (normalised) equals a text, or one line of a text, of a checked
    task.

    Args:
        pairs: source name -> its training pairs (:class:`~medeval.training.pairs.Pair`).
        index: the texts of the tasks to protect (:meth:`TaskTextIndex.from_tasks`).

    Returns:
        ``(kept, report)``: ``kept`` maps each source to the pairs left, in their order; ``report`` (JSON-ready, no
        text) holds the rule, the normalisation, ``checked_tasks``, ``not_checked``, per source ``pairs_before``,
        ``removed``, ``kept`` and ``by_task`` (count and pair ids per task), and ``removed_total`` / ``kept_total``.
    """
    kept: dict[str, list[Pair]] = {}
    removed: dict[str, Any] = {}
    for source, items in pairs.items():
        keep: list[Pair] = []
        by_task: dict[str, list[str]] = {}
        n_removed = 0
        for p in items:
            hit = index.tasks_of(p.anchor) | index.tasks_of(p.positive)
            if not hit:
                keep.append(p)
                continue
            n_removed += 1
            for task in hit:
                by_task.setdefault(task, []).append(p.id)
        kept[source] = keep
        removed[source] = {
            "pairs_before": len(items),
            "removed": n_removed,
            "kept": len(keep),
            "by_task": {t: {"count": len(ids), "pair_ids": ids} for t, ids in sorted(by_task.items())},
        }
    report = {
        "rule": "a pair is removed if its anchor or positive equals, after normalisation, a text (or a line of a text) of a checked task",
        "normalisation": "Unicode NFKC, lower-case, punctuation and symbols -> space, whitespace collapsed",
        "checked_tasks": index.checked,
        "not_checked": index.not_checked,
        "sources": removed,
        "removed_total": sum(r["removed"] for r in removed.values()),
        "kept_total": sum(r["kept"] for r in removed.values()),
    }
    return kept, report


def disabled_report(pairs: Mapping[str, list[Pair]]) -> dict[str, Any]:
    """The report written when the filter is switched off (``leakage.enabled: false``): nothing was checked.

    Args:
        pairs: source name -> its training pairs.

    Returns:
        A report shaped like :func:`filter_pairs`'s, with nothing removed and a rule saying the check was off.
    """
    return {
        "rule": "disabled (leakage.enabled: false): training pairs were NOT checked against any task",
        "checked_tasks": {},
        "not_checked": {},
        "sources": {s: {"pairs_before": len(p), "removed": 0, "kept": len(p), "by_task": {}} for s, p in pairs.items()},
        "removed_total": 0,
        "kept_total": sum(len(p) for p in pairs.values()),
    }
