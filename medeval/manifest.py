"""Build manifests: which source records a build used, and rebuilding exactly those records with a hash check.

Every built task folder has a ``manifest.json`` (written by :func:`medeval.build.build_task`). Besides the builder
parameters and tool versions, its ``source`` block lists the exact upstream records the rows came from::

    "source": {
      "name": "ClinicalTrials.gov", "version": "...",
      "origin": "https://clinicaltrials.gov/api/v2" | "local:clinicaltrials",   # where the records were read
      "records": [{"id": "NCT00973089", "version": "2009-09-02", "sha": "3f1c0a9b2e4d"}, ...],
      "pins": {"revision": "<commit>"},               # params a rebuild must use (e.g. a resolved dataset commit)
      "llm": {"model": ..., "prompt": ..., "temperature": ...}                  # LLM tasks only
    }

``id`` is the upstream's own record id (NCT id, MedMCQA uuid, MedQuAD ``<folder>/<qid>``, PMID, ...), ``version``
the upstream's version of it when it has one (last-update date, dataset commit), ``sha`` a short hash of the
record fields the builder used (never the text itself), so a rebuild can say which records changed.

Builder contract (for everyone writing a builder):

1. read the source in a canonical order; 2. ``items = restrict(items, ctx, id_of)`` (keeps only
``ctx.record_ids`` when rebuilding, raising a clear error naming the ids the source no longer has);
3. filter unusable records, then draw the seeded sample; 4. list exactly the sampled records with
:func:`record` in ``BuiltTask.sources["records"]``. With the same records in, the sample is the whole restricted
set in the same order, so the rows and the content hash are identical.

    $ medeval build --from-manifest ~/.cache/medeval/tasks/MedQAPairClassification/manifest.json --source-dir DIR
    rebuilt from ...: revision 1a2b3c4d5e6f7081 (matches the manifest)

    >>> from medeval.manifest import rebuild_from_manifest
    >>> rebuild_from_manifest(Path("manifest.json"), source_dir=Path("/work/shared/datakit"))  # doctest: +SKIP
    '1a2b3c4d5e6f7081'
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from medeval.errors import MedEvalError, SourceError
from medeval.fsutil import replace_dir
from medeval.store import DataStore

if TYPE_CHECKING:
    from medeval.build import BuildContext

T = TypeVar("T")
SHOW_IDS = 10  # how many record ids an error message names


def content_sha(*parts: Any) -> str:
    """12 hex digits of sha256 over the canonical JSON of ``parts``: a record's fingerprint, not its text.

    Args:
        *parts: the record fields the builder used (JSON-able; anything else is written as ``str``).

    Returns:
        12 hex digits.

    Example:
        >>> content_sha("Aspirin", {"dose": 100}) == content_sha("Aspirin", {"dose": 100}), len(content_sha("x"))
        (True, 12)
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def record(record_id: str, *, version: str | None = None, content: Any = None) -> dict[str, str]:
    """One manifest entry: ``{"id", "version"?, "sha"?}`` (``sha`` = :func:`content_sha` of ``content``).

    Args:
        record_id: the upstream's own record id (NCT id, PMID, MedMCQA uuid, ...).
        version: the upstream's version of the record (last-update date, dataset commit), if it has one.
        content: the record fields the builder used, hashed (never stored).

    Returns:
        The entry for ``BuiltTask.sources["records"]``.

    Example:
        >>> record("NCT00973089", version="2009-09-02")
        {'id': 'NCT00973089', 'version': '2009-09-02'}
    """
    out = {"id": str(record_id)}
    if version is not None:
        out["version"] = str(version)
    if content is not None:
        out["sha"] = content_sha(content)
    return out


def _name_ids(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:SHOW_IDS])
    return shown + (f" and {len(ids) - SHOW_IDS} more" if len(ids) > SHOW_IDS else "")


def restrict(items: list[T], ctx: BuildContext, id_of: Callable[[T], str], *, what: str = "source") -> list[T]:
    """Keep the items whose id is in ``ctx.record_ids`` (all items when it is None), in their order.

    Args:
        items: the source's records, in canonical order.
        ctx: the build context; ``ctx.record_ids`` is set when rebuilding from a manifest.
        id_of: the record id of an item.
        what: what the items are, for the error message (e.g. ``"MedQuAD files"``).

    Returns:
        The kept items, in their order.

    Raises:
        SourceError: ids the manifest lists but the source does not hold (up to :data:`SHOW_IDS` are named).
    """
    wanted = getattr(ctx, "record_ids", None)
    if wanted is None:
        return items
    kept = [it for it in items if id_of(it) in wanted]
    found = {id_of(it) for it in kept}
    missing = set(wanted) - found
    if missing:
        raise SourceError(
            f"{len(missing)} of the {len(wanted)} records the manifest lists are not in the {what}: {_name_ids(missing)}; "
            "the upstream changed since the build, or point --source-dir at the copy the build used"
        )
    return kept


# ---------------------------------------------------------------------------------------------------- reading
def read_manifest_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A manifest from ``manifest.json`` or a task folder holding one.

    Args:
        path: a ``manifest.json`` or the task folder it is in.

    Returns:
        The manifest (with at least ``task``, ``revision``, ``builder`` and ``parameters``).

    Raises:
        MedEvalError: the file is missing, not JSON, not an object, lacks a required field, or its
            ``source.records`` is malformed (the message names the file and field).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MedEvalError(f"{path}: no such manifest file; give the manifest.json of a built task") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise MedEvalError(f"{path}: not a JSON manifest ({err}); give the manifest.json of a built task") from None
    if not isinstance(data, dict):
        raise MedEvalError(f"{path}: a manifest is a JSON object, got {type(data).__name__}")
    for key in ("task", "revision", "builder", "parameters"):
        if key not in data:
            raise MedEvalError(f"{path}: field {key!r} is missing; this is not a medeval build manifest")
    records = data.get("source", {}).get("records")
    if records is not None and (not isinstance(records, list) or not all(isinstance(r, dict) and "id" in r for r in records)):
        raise MedEvalError(f"{path}: field 'source.records' must be a list of objects with an 'id'")
    return data


def manifest_record_ids(manifest: Mapping[str, Any]) -> frozenset[str] | None:
    """The source record ids a manifest lists (None when its builder reads no records, e.g. terminology packages).

    Args:
        manifest: a build manifest.

    Returns:
        The ids of ``source.records``, or None.
    """
    records = manifest.get("source", {}).get("records")
    if records is None:
        return None
    return frozenset(str(r["id"]) for r in records)


def compare_records(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """A short account of how two manifests' records differ (missing, changed, extra), or '' if they agree.

    Args:
        old: the manifest the rebuild follows.
        new: the rebuilt data's manifest.

    Returns:
        ``"; "``-separated parts naming up to :data:`SHOW_IDS` ids each; ``""`` when the records agree.

    Example:
        >>> old = {"source": {"records": [{"id": "a", "sha": "1"}, {"id": "b"}]}}
        >>> compare_records(old, {"source": {"records": [{"id": "a", "sha": "2"}]}})
        '1 missing or no longer usable: b; 1 changed upstream: a'
    """
    def index(m: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        return {str(r["id"]): r for r in m.get("source", {}).get("records", []) or []}

    a, b = index(old), index(new)
    missing = set(a) - set(b)
    extra = set(b) - set(a)
    changed = {i for i in set(a) & set(b) if (a[i].get("version"), a[i].get("sha")) != (b[i].get("version"), b[i].get("sha"))}
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing or no longer usable: {_name_ids(missing)}")
    if changed:
        parts.append(f"{len(changed)} changed upstream: {_name_ids(changed)}")
    if extra:
        parts.append(f"{len(extra)} extra: {_name_ids(extra)}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------------- rebuilding
def rebuild_from_manifest(
    path: str | os.PathLike[str],
    source_dir: Path | None = None,
    mimic_dir: Path | None = None,
    offline: bool = False,
    *,
    llm_base_url: str | None = None,
    folder: Path | None = None,
) -> str:
    """Rebuild the task a manifest describes from exactly its source records; verify and return the revision.

    The builder runs with the manifest's own construction parameters (not the current YAML's) and with
    ``BuildContext.record_ids`` set to the manifest's records. LLM tasks use the manifest's model and read the
    texts from the LLM cache (``llm_base_url`` only matters for texts the cache lacks). The result replaces the
    task's data folder (or ``folder``) only if its content hash equals the manifest's revision; otherwise nothing
    is replaced.

    Args:
        path: the ``manifest.json`` (or its task folder).
        source_dir: upstream records in the datakit layout; None reads the network.
        mimic_dir: the credentialed MIMIC-IV folder (MIMIC tasks).
        offline: never touch the network.
        llm_base_url: an OpenAI-compatible endpoint for LLM texts missing from the cache.
        folder: where to put the rebuilt data; None for the task's folder in the data folder.

    Returns:
        The revision, equal to the manifest's.

    Raises:
        MedEvalError: the manifest is unusable, the task cannot be rebuilt, the build failed, or the revision differs
            (the message names the records that are missing or changed).
    """
    from medeval.build import BuildContext, build_task
    from medeval.catalog import get_spec
    from medeval.spec import Construction

    path = Path(path)
    old = read_manifest_file(path)
    task = str(old["task"])
    spec = get_spec(task)
    if spec.construction is None:
        raise MedEvalError(f"{path}: task {task} has no construction section in its YAML; it cannot be rebuilt")
    parameters = dict(old["parameters"])
    pins = old.get("source", {}).get("pins") or {}
    if pins:  # e.g. the dataset commit a build resolved from 'main': rebuild from that commit
        parameters["params"] = {**(parameters.get("params") or {}), **pins}
    try:
        construction = Construction.model_validate(parameters)
    except ValueError as err:
        raise MedEvalError(f"{path}: field 'parameters' is not a valid construction section ({err})") from None
    if construction.builder != old["builder"]:
        raise MedEvalError(f"{path}: field 'builder' ({old['builder']}) disagrees with parameters.builder ({construction.builder})")
    spec = spec.model_copy(update={"construction": construction})
    llm = old.get("source", {}).get("llm") or {}
    ctx = BuildContext(
        source_dir=source_dir,
        mimic_dir=mimic_dir,
        llm_base_url=llm_base_url,
        llm_model=llm.get("model"),
        offline=offline,
        record_ids=manifest_record_ids(old),
    )
    target = Path(folder) if folder is not None else DataStore().task_dir(task)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{task}.rebuild-", dir=target.parent))
    try:
        try:
            revision = build_task(spec, ctx, folder=scratch / target.name)
        except MedEvalError as err:
            raise type(err)(f"rebuild of {task} from {path} failed: {err}") from None
        if revision != old["revision"]:
            from medeval.data import read_manifest

            new = read_manifest(scratch / target.name) or {}
            diff = compare_records(old, new)
            why = diff or "the records are the same, so the builder's code or a tool version differs (see 'tools' in both manifests)"
            raise MedEvalError(
                f"rebuild of {task} from {path} gave revision {revision}, not the manifest's {old['revision']}: {why}"
            )
        replace_dir(scratch / target.name, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return revision
