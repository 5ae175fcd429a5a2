"""``medeval results migrate``: record the protocol of results written before protocols were recorded.

A result is stamped with its task's current protocol fingerprint (:mod:`medeval.identity`) only when the files and
the task YAML's history show it was computed under that protocol; anything else is left as it is and listed with
the reason, so ``medeval validate`` keeps rejecting it until the task is run again. The evidence, all of it needed:

1. the result's ``mteb_version`` has the installed mteb's major.minor, and the result's own fields show it was
   computed by the current version of medeval's evaluator for its task type (:func:`evaluator_version_shown`:
   clustering version 2 records its k-means seeds; older results are version 1);
2. in every split and subset, the stored ``main_score`` equals the value of the task's current main-score metric
   (so no score is relabelled), and what the file shows of the parameters matches the YAML: the number of
   classification experiments (``scores_per_experiment``) and the retrieval cut-offs (``ndcg_at_<k>`` ...);
3. the task YAML's ``type`` and ``evaluation`` block are the same in the working tree and in every git commit of the
   file since the one in force when the result was written (its ``date``), so parameters a result file does not
   show (samples per label, clustering settings) cannot have differed. A YAML outside a git repository, or not
   committed before the result's date, gives no evidence: the result is not stamped.

    >>> from medeval.results.migrate import migrate_results
    >>> report = migrate_results(["leaderboard"], dry_run=True)
    >>> [(o.path.name, o.status, o.reason) for o in report.outcomes]
    >>> print("\n".join(report.lines()))     # what `medeval results migrate --dry-run leaderboard` prints
"""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from medeval import identity
from medeval.results import files
from medeval.results.layout import result_files, revision_folders_under
from medeval.results.report import status_line

#: Metrics a retrieval result must hold for each k of the task's k values.
_RETRIEVAL_PREFIXES = ("ndcg_at_", "map_at_", "recall_at_")


@dataclass
class Outcome:
    """What the migration did with one result file.

    Args:
        path: The result file.
        task: Its task's name.
        status: ``stamped``, ``recorded`` (it already was) or ``kept`` (left as it is).
        reason: Why it was kept.
    """

    path: Path
    task: str
    status: str
    reason: str = ""

    def line(self) -> str:
        """The line ``medeval results migrate`` prints for this file: ``status path: reason``.

        Returns:
            :func:`~medeval.results.report.status_line` with an 8-character status column.
        """
        return status_line(self.status, self.path, self.reason, width=8)


@dataclass
class MigrationReport:
    """Every result file's :class:`Outcome`, and what ``medeval results migrate`` prints.

    Args:
        outcomes: One per result file, in folder and file order.
        dry_run: Nothing was written.
    """

    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        """How many results were ``stamped``, ``recorded`` and ``kept``.

        Returns:
            ``{"stamped": n, "recorded": n, "kept": n}``.
        """
        return {k: sum(o.status == k for o in self.outcomes) for k in ("stamped", "recorded", "kept")}

    @property
    def exit_code(self) -> int:
        """0 when every result records its protocol, else 1."""
        return 1 if self.counts()["kept"] else 0

    def lines(self) -> list[str]:
        """One line per result file and a count.

        Returns:
            The lines, without newlines.
        """
        counts = self.counts()
        verb = "would stamp" if self.dry_run else "stamped"
        return [o.line() for o in self.outcomes] + [
            f"{verb} {counts['stamped']}, already recorded {counts['recorded']}, kept {counts['kept']} "
            "(kept results still fail `medeval validate` until they are run again)"]


# --------------------------------------------------------------------------------------------------- evidence
def evaluator_version_shown(task_type: str, entry: dict[str, Any]) -> int:
    """The evaluator version a score entry's own fields show.

    Clustering version 2 (:mod:`medeval.clustering`) records its ``kmeans_seeds``; everything else is
    :data:`~medeval.identity.LEGACY_EVALUATOR_VERSION`. Add a signature here when an evaluator version that leaves a
    mark in the result file is introduced.

    Args:
        task_type: The task's type (``"Clustering"``, ...).
        entry: One split/subset entry of a result's ``scores``.

    Returns:
        The evaluator version.
    """
    if task_type == "Clustering" and isinstance(entry.get("kmeans_seeds"), list):
        return 2
    return identity.LEGACY_EVALUATOR_VERSION


def _file_evidence(result: Any, cls: Any, params: dict[str, Any]) -> str | None:
    """Why the result file itself does not show the current protocol (None: it does)."""
    spec = cls.spec
    wanted = identity.EVALUATOR_VERSIONS[spec.type]
    entries = [e for split in spec.evaluation.eval_splits for e in (result.scores.get(split) or [])]
    shown = {evaluator_version_shown(spec.type, e) for e in entries}
    if shown and shown != {wanted}:
        return (f"medeval's {spec.type} evaluator is now version {wanted}; the result shows version "
                f"{', '.join(str(v) for v in sorted(shown))}")
    clustering = spec.evaluation.clustering
    seeds = getattr(clustering, "kmeans_seeds", None)
    if spec.type == "Clustering" and wanted == 2 and isinstance(seeds, int) and any(
            len(e.get("kmeans_seeds") or []) != seeds for e in entries):
        return f"the result ran a different number of k-means seeds than the task's {seeds}"
    version = getattr(result, "mteb_version", None)
    if not version or identity.mteb_minor(version) != params["mteb"]:
        return f"computed with mteb {version}, the protocol needs mteb {params['mteb']}"
    metric = spec.evaluation.main_score
    n_experiments = getattr(cls, "n_experiments", None)
    k_values = getattr(cls, "k_values", None) if spec.type == "Retrieval" else None
    for split in spec.evaluation.eval_splits:
        entries = result.scores.get(split) or []
        if not entries:
            return f"no scores for eval split {split}"
        for entry in entries:
            value, named = entry.get("main_score"), entry.get(metric)
            if not (isinstance(value, (int, float)) and isinstance(named, (int, float))
                    and (math.isclose(value, named, abs_tol=1e-6) or (math.isnan(value) and math.isnan(named)))):
                return f"its main score {value} is not the task's main score {metric} ({named})"
            runs = entry.get("scores_per_experiment")
            if spec.type == "Classification" and isinstance(n_experiments, int) and (
                    not isinstance(runs, list) or len(runs) != n_experiments):
                got = len(runs) if isinstance(runs, list) else "no"
                return f"{got} classification experiments stored, the task runs {n_experiments}"
            for k in k_values or ():
                missing = [p + str(k) for p in _RETRIEVAL_PREFIXES if p + str(k) not in entry]
                if missing:
                    return f"no {missing[0]} stored, the task's k values include {k}"
    return None


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _protocol_part(text: str) -> Any:
    """The ``type`` and ``evaluation`` of a task YAML's text (None if it does not parse)."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return (data.get("type"), data.get("evaluation")) if isinstance(data, dict) else None


def _history_evidence(spec_path: Path | None, since: datetime | None) -> str | None:
    """Why git cannot show that the YAML's protocol part is unchanged since ``since`` (None: it shows it)."""
    if spec_path is None or not spec_path.is_file():
        return "the task has no YAML file to check"
    if since is None:
        return "the result records no date"
    folder = spec_path.parent
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top is None:
        return f"{spec_path} is not in a git repository, so its history cannot show the protocol was unchanged"
    repo = Path(top.strip()).resolve()
    rel = spec_path.resolve().relative_to(repo).as_posix()
    when = since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")
    before = (_git(["log", "-1", "--format=%H", f"--before={when}", "--", rel], repo) or "").split()
    if not before:
        return f"{rel} was not committed before the result was written ({when})"
    after = (_git(["log", "--format=%H", f"--since={when}", "--", rel], repo) or "").split()
    current = _protocol_part(spec_path.read_text(encoding="utf-8"))
    for commit in [*before, *after]:
        old = _git(["show", f"{commit}:{rel}"], repo)
        if old is None or _protocol_part(old) != current:
            return f"the YAML's type/evaluation changed after the result was written (commit {commit[:10]})"
    return None


# --------------------------------------------------------------------------------------------------- walking
def _result_date(result: Any) -> datetime | None:
    date = getattr(result, "date", None)
    if isinstance(date, datetime):
        return date if date.tzinfo else date.replace(tzinfo=timezone.utc)
    return None


def migrate_results(paths: list[str | os.PathLike[str]], *, dry_run: bool = False) -> MigrationReport:
    """Stamp each result under ``paths`` with its task's protocol fingerprint where the evidence shows it applies.

    Args:
        paths: leaderboard folders, ``results/`` roots, model or revision folders.
        dry_run: report only; write nothing.

    Returns:
        A :class:`MigrationReport` with one :class:`Outcome` per result file: ``stamped`` (its run_settings.jsonl
        line now records the protocol), ``recorded`` (it already did, with the current fingerprint) or ``kept``
        (left as it is; the reason says why).

    Raises:
        ResultError: a path does not exist.
    """
    from medeval.catalog import task_classes

    classes = task_classes()
    outcomes: list[Outcome] = []
    stamped_on = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for folder in revision_folders_under([Path(p) for p in paths]):
        settings = files.read_run_settings(folder)
        new: dict[str, dict[str, Any]] = {}
        for path in result_files(folder):
            task = path.stem
            cls = classes.get(task)
            if cls is None:
                outcomes.append(Outcome(path, task, "kept", "unknown task (add its YAML with --include-path)"))
                continue
            params = identity.protocol_params(cls.spec)
            current = identity.fingerprint_of_params(params)
            entry = settings.get(task) or {}
            if entry.get("protocol") == current:
                outcomes.append(Outcome(path, task, "recorded"))
                continue
            if entry.get("protocol"):
                outcomes.append(Outcome(path, task, "kept", f"scored under protocol {entry['protocol']}, the task is now "
                                                            f"{current}: run it again"))
                continue
            result = files.load_result(path)
            if result is None:
                outcomes.append(Outcome(path, task, "kept", "not a readable mteb result"))
                continue
            why = _file_evidence(result, cls, params) or _history_evidence(getattr(cls, "spec_path", None),
                                                                            _result_date(result))
            if why:
                outcomes.append(Outcome(path, task, "kept", f"{why}; run it again"))
                continue
            base = entry or {"task": task, "splits": sorted(result.scores), "data_revision": result.dataset_revision,
                             "version": {"mteb": result.mteb_version}}
            new[task] = {**base, "protocol": current, "protocol_params": params,
                         "protocol_evidence": f"medeval results migrate, {stamped_on}: main score is "
                                              f"{cls.spec.evaluation.main_score} in every entry, mteb {params['mteb']}, "
                                              "task YAML's evaluation unchanged in git since the result was written"}
            outcomes.append(Outcome(path, task, "stamped"))
        if new and not dry_run:
            files.record_run_settings(folder, new)
    return MigrationReport(outcomes, dry_run=dry_run)
