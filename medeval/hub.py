"""Built task data on the Hugging Face Hub: download a task's folder at its pinned revision.

A task YAML may name ``dataset: {path: org/name, revision: <hash or commit>}``; loading then fetches that
dataset repo (same layout as the local data folder, see :mod:`medeval.data`) instead of building.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from medeval import data as datamod
from medeval.errors import DataNotBuiltError
from medeval.fsutil import replace_dir, stage_dir
from medeval.spec import TaskSpec
from medeval.store import DataStore


def download_task_data(spec: TaskSpec, folder: Path) -> Path:
    """Download the task's Hub dataset repo into ``folder`` (atomically); raise a clear error when offline.

    A pinned content hash (16 hex digits) is checked against the downloaded manifest; another revision (a commit or
    branch) is passed to the Hub as is.

    Args:
        spec: the task; ``spec.dataset.path`` is the repo, ``spec.dataset.revision`` the pin.
        folder: the task's data folder, replaced when the download is complete and checked.

    Returns:
        ``folder``.

    Raises:
        DataNotBuiltError: the download failed (offline, no access), the repo holds no medeval manifest, or its
            revision is not the pinned one.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    repo = spec.dataset.path
    revision = spec.dataset.revision
    tmp = stage_dir(folder)  # umask folder mode, not mkdtemp's 0700
    try:
        snapshot_download(repo_id=repo, repo_type="dataset", revision=None if _is_hash(revision) else revision, local_dir=tmp)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataNotBuiltError(
            f"task {spec.name}: cannot download its data from the Hub repo {repo!r} ({type(err).__name__}); "
            f"check the network / HF_TOKEN, or build it locally with `medeval build -t {spec.name}`"
        ) from None
    manifest = datamod.read_manifest(tmp)
    if manifest is None:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataNotBuiltError(f"Hub repo {repo!r} has no manifest.json; it is not a medeval task folder")
    if _is_hash(revision) and manifest.get("revision") != revision:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataNotBuiltError(
            f"Hub repo {repo!r} holds revision {manifest.get('revision')} but task {spec.name} pins {revision}; "
            "update dataset.revision in the YAML or push the right data"
        )
    replace_dir(tmp, folder)
    return folder


def _is_hash(revision: str | None) -> bool:
    return bool(revision) and len(revision) == 16 and all(c in "0123456789abcdef" for c in revision)  # type: ignore[arg-type]


def push_task_data(spec: TaskSpec, repo: str, *, private: bool = False) -> str:
    """Upload a built task folder to the Hub dataset repo ``repo``.

    Args:
        spec: the task whose built folder (in the data folder) to upload; credentialed (MIMIC) data is refused.
        repo: the Hub dataset repo, ``ORG/NAME`` (created if missing).
        private: create the repo private.

    Returns:
        One line naming the commit and the ``dataset:`` block to pin in the task YAML.

    Raises:
        DataNotBuiltError: the task is not built, or the upload failed (network, token).
        MedEvalError: the task's data is MIMIC-IV or otherwise credentialed, which must never be redistributed.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    task_name = spec.name
    folder = DataStore().task_dir(task_name)
    manifest = datamod.read_manifest(folder)
    if manifest is None:
        raise DataNotBuiltError(f"task {task_name}: nothing built in {folder}; run `medeval build -t {task_name}` first")
    if manifest.get("source", {}).get("name") == "MIMIC-IV-Note" or spec.source.access == "credentialed":
        from medeval.errors import MedEvalError

        raise MedEvalError(f"task {task_name}: MIMIC-IV data must never be redistributed; push-data refuses it")
    api = HfApi()
    try:
        api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
        info = api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="dataset",
                                 commit_message=f"medeval {task_name} revision {manifest['revision']}")
    except (HfHubHTTPError, OSError) as err:
        raise DataNotBuiltError(f"cannot push {task_name} to {repo!r}: {err}; check HF_TOKEN and the network") from None
    return (f"pushed {task_name} (revision {manifest['revision']}) to {repo} at commit {info.oid}; "
            f"set in tasks/{task_name}.yaml: dataset: {{path: {repo}, revision: {manifest['revision']}}}")
