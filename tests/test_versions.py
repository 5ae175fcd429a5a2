"""Library versions recorded with results, manifests and ``--version`` (the distribution is ``medeval-mteb``)."""

from __future__ import annotations

import importlib.metadata

import pytest

from medeval import DIST_NAME
from medeval.versions import installed_version, package_versions


def test_medeval_means_our_own_distribution() -> None:
    try:
        ours = importlib.metadata.version(DIST_NAME)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{DIST_NAME} is not installed (pip install -e .)")
    assert installed_version("medeval") == ours  # not the unrelated PyPI package called "medeval"
    versions = package_versions(["medeval", "mteb", "no-such-dist-xyz"], missing="not installed")
    assert list(versions) == ["medeval", "mteb", "no-such-dist-xyz"]
    assert versions["mteb"] == importlib.metadata.version("mteb") and versions["no-such-dist-xyz"] == "not installed"


def test_result_settings_record_medevals_version() -> None:
    from medeval.results.files import _package_versions

    recorded = _package_versions()
    assert recorded["medeval"] == installed_version("medeval") and recorded["medeval"] is not None
