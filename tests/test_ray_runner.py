"""``medeval run --ray``: (model, task) units on a local Ray cluster give the results of a local run, and resume.

The cluster is started in the test on 127.0.0.1 with two CPUs, so the two units (a classification and a retrieval
user task, scored by all-MiniLM-L6-v2) run in two worker processes at once, sharing one embedding cache and one
output folder. Skips without Ray (``pip install 'medeval-mteb[ray]'``) or the offline MiniLM package.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest

from medeval.errors import MedEvalError
from medeval.run import RunOptions

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'medeval-mteb[ray]')")


@pytest.fixture(scope="module")
def cluster() -> str:
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=temp,
             log_to_driver=False, logging_level="ERROR", configure_logging=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _scores(out: Path) -> dict[str, dict]:
    files = sorted((out / "results").glob("*/*/*.json"))
    return {p.stem: json.loads(p.read_text())["scores"] for p in files if p.name != "model_meta.json"}


def _differences(a: object, b: object, where: str = "") -> list[str]:
    """Where two result trees differ (numbers by more than 1e-6)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        same = abs(a - b) <= 1e-6 or (math.isnan(a) and math.isnan(b))
        return [] if same else [f"{where}: {a} vs {b}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def test_ray_run_equals_local_run_and_resumes(cluster: str, minilm_path: str, examples_dir: Path, data_home: Path,
                                              tmp_path: Path) -> None:
    from medeval.ray_runner import run_on_ray
    from medeval.launch import run_models

    tasks = [str(examples_dir / "ClinicTriage.yaml"), str(examples_dir / "SymptomSearch.yaml")]
    local = tmp_path / "local"
    assert run_models(RunOptions(tasks=tasks, output_dir=local, show_progress=False, use_cache=False)) == 0

    on_ray = tmp_path / "ray"
    code, outcomes = run_on_ray(RunOptions(tasks=tasks, output_dir=on_ray), cluster, echo=lambda s: None)
    assert code == 0 and [o["status"] for o in outcomes] == ["ran", "ran"]
    assert len({o["worker"] for o in outcomes}) == 2  # two worker processes, one unit each
    local_scores, ray_scores = _scores(local), _scores(on_ray)
    assert set(local_scores) == {"ClinicTriage", "SymptomSearch"}
    assert not _differences(local_scores, ray_scores), _differences(local_scores, ray_scores)
    assert (on_ray / "results").is_dir() and list((on_ray / "results").glob("*/*/model_meta.json"))
    assert list((data_home / "embeddings").rglob("emb-*.emb")), "the workers share the embedding cache"

    code, again = run_on_ray(RunOptions(tasks=tasks, output_dir=on_ray), cluster, echo=lambda s: None)
    assert code == 0 and [o["status"] for o in again] == ["cached", "cached"]  # a re-run resumes


def test_unit_resources() -> None:
    from medeval.ray_runner import unit_resources

    assert unit_resources(RunOptions(), {"CPU": 4}) == {"num_cpus": 1}
    assert unit_resources(RunOptions(), {"CPU": 4, "GPU": 2}) == {"num_gpus": 1, "num_cpus": 1}
    assert unit_resources(RunOptions(device="cpu"), {"CPU": 4, "GPU": 2}) == {"num_cpus": 1}
    with pytest.raises(MedEvalError, match="no GPUs"):
        unit_resources(RunOptions(device="cuda"), {"CPU": 4})


def test_an_address_where_nothing_listens_fails_at_once() -> None:
    """``--ray HOST:PORT`` with no cluster there is one clear error within seconds, not Ray's minute of retries."""
    import socket
    import time

    from medeval.ray_runner import _probe

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(MedEvalError, match=rf"--ray 127.0.0.1:{port}: nothing answers there"):
        _probe(f"127.0.0.1:{port}")
    assert time.monotonic() - start < 5
    with pytest.raises(MedEvalError, match="expected auto, HOST:PORT"):
        _probe("somehost")
    _probe("auto")  # left to Ray
