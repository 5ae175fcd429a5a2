"""Shared test fakes: plain helpers and classes (pytest fixtures wrapping them are in tests/conftest.py).

Two test tasks made from packaged YAMLs (``DemoChapterClassification``, ``DemoOrganSystemClustering``: no pinned
revision, fixed main score) are added to the catalogue only for the duration of a test, so result-folder tests do
not depend on later YAML edits. Result folders are written the way a run writes them: result files by mteb's own
``TaskResult.from_task_results``, ``model_meta.json`` from ``mteb.models.ModelMeta.to_dict()``.

    >>> from fixtures import TASK, write_run            # tests/ is on sys.path (pytest's rootdir conftest)
    >>> rev_dir = write_run(tmp_path / "run", (TASK,))   # run/results/my-org__med-embed/1a2b3c4d/
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml

TASK = "DemoChapterClassification"  # Classification, main score f1, split test, subset default
TASK2 = "DemoOrganSystemClustering"  # Clustering, main score v_measure
MODEL = "my-org/med-embed"
FOLDER = "my-org__med-embed"
REV = "1a2b3c4d"
DATA_REV = "0123456789abcdef"


# --------------------------------------------------------------------------------------------------- test tasks
def demo_spec(name: str, source: str, main_score: str, **changes: Any) -> dict[str, Any]:
    """A packaged task YAML under another name, without a pinned data revision."""
    from medeval.paths import packaged_specs_dir

    spec = yaml.safe_load((packaged_specs_dir() / f"{source}.yaml").read_text(encoding="utf-8"))
    for key in ("paper_id", "benchmark", "dataset"):
        spec.pop(key, None)
    spec["name"] = name
    spec["evaluation"].update(main_score=main_score, eval_splits=["test"])
    return {**spec, **changes}


def register_tasks(monkeypatch: pytest.MonkeyPatch, *specs: dict[str, Any]) -> None:
    """Add task classes to medeval's catalogue for one test (undone by monkeypatch afterwards)."""
    from medeval import catalog
    from medeval.spec import parse_spec

    catalog.task_classes()
    for raw in specs:
        spec = parse_spec(raw, f"<test task {raw['name']}>")
        monkeypatch.setitem(catalog._CLASSES, spec.name, catalog.make_task_class(spec, f"<test task {spec.name}>"))


def register_demo_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register :data:`TASK` and :data:`TASK2` for one test."""
    register_tasks(monkeypatch, demo_spec(TASK, "ICD10CMChapterClassification", "f1"),
                   demo_spec(TASK2, "HPOOrganSystemClustering", "v_measure"))


def tasks(*names: str) -> list[Any]:
    """The mteb task objects of ``names``."""
    import medeval

    return [medeval.get_task(n) for n in names]


def build_manifest(data_home: Path, task: str = TASK, revision: str = DATA_REV) -> None:
    """What a local build leaves: <MEDEVAL_HOME>/tasks/<Task>/manifest.json with the content hash."""
    write_json(data_home / "tasks" / task / "manifest.json", {"task": task, "revision": revision})


# --------------------------------------------------------------------------------------------------- results
def model_meta() -> Any:
    """The mteb ``ModelMeta`` of :data:`MODEL` at :data:`REV`."""
    from mteb.models import ModelMeta

    return ModelMeta(
        loader=None, name=MODEL, revision=REV, release_date="2025-01-01", languages=["eng-Latn"],
        n_parameters=22_700_000, memory_usage_mb=87.0, max_tokens=256, embed_dim=384, license="mit",
        open_weights=True, public_training_code=None, public_training_data=None, framework=["Sentence Transformers"],
        similarity_fn_name="cosine", use_instructions=False, training_datasets=None,
    )


def model_meta_json(name: str | None = MODEL, revision: str | None = REV, **extra: Any) -> dict[str, Any]:
    """model_meta.json content, as mteb's ResultCache writes it (ModelMeta.to_dict()), with fields overridden."""
    written = json.loads(json.dumps(model_meta().to_dict(), default=str))
    return {**written, "name": name, "revision": revision, **extra}  # as hand-edited or written by other tools


def fake_result(task_name: str, score: float = 0.5) -> Any:
    """An mteb ``TaskResult`` of ``task_name`` on :data:`DATA_REV` with main score ``score`` (split test)."""
    from mteb import TaskResult

    from medeval.catalog import task_classes

    cls = task_classes()[task_name]
    metric = cls.metadata.main_score
    res = TaskResult.from_task_results(cls, {"test": {"default": {metric: score, "main_score": score}}}, evaluation_time=1.0)
    res.dataset_revision = DATA_REV
    return res


def task_result(task: str = TASK, score: float = 0.5, data_rev: str = DATA_REV) -> dict[str, Any]:
    """A result file's content, written by mteb's TaskResult for a medeval task."""
    from mteb import TaskResult

    from medeval.catalog import task_classes

    cls = task_classes()[task]
    metric = cls.metadata.main_score
    scores = {split: {"default": {metric: score, "accuracy": 0.61, "main_score": score}} for split in cls.metadata.eval_splits}
    res = TaskResult.from_task_results(cls, scores, evaluation_time=12.5)
    res.dataset_revision = data_rev
    return json.loads(json.dumps(res.model_dump(), default=str))  # as TaskResult.to_disk: NaN stays NaN


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON (NaN stays NaN, as mteb writes it); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def current_protocol(task: str) -> str:
    """The protocol fingerprint a run of ``task`` records now (what validate compares a result's record with)."""
    from medeval.catalog import task_classes
    from medeval.identity import protocol_fingerprint

    return protocol_fingerprint(task_classes()[task].spec)


def write_run(root: Path, tasks: tuple[str, ...] = (TASK,), *, folder: str = FOLDER, revision: str = REV,
              name: str = MODEL, score: float = 0.5, data_rev: str = DATA_REV) -> Path:
    """``root/results/<folder>/<revision>/`` with model_meta.json and one result file per task; returns it."""
    rev_dir = root / "results" / folder / revision
    write_json(rev_dir / "model_meta.json", model_meta_json(name, revision))
    for t in tasks:
        write_json(rev_dir / f"{t}.json", task_result(t, score, data_rev))
    settings_lines = [json.dumps({"task": t, "splits": ["test"], "encode_kwargs": {"batch_size": 32},
                                  "protocol": current_protocol(t)}) for t in tasks]
    (rev_dir / "run_settings.jsonl").write_text("\n".join(settings_lines) + "\n")
    return rev_dir


# --------------------------------------------------------------------------------------------------- commands
def validate_cmd(paths: list[Path]) -> int:
    """``medeval validate PATH...`` in process; its exit code (the lines go to stdout)."""
    from medeval.cli import main

    return main(["validate", *map(str, paths)])


def submit_cmd(run: Path, leaderboard: Path, force: bool = False) -> int:
    """``medeval submit RUN --leaderboard LEADERBOARD [--force]`` in process; its exit code."""
    from medeval.cli import main

    return main(["submit", str(run), "--leaderboard", str(leaderboard), *(["--force"] if force else [])])


# --------------------------------------------------------------------------------------------------- encoders
#: The task metadata the fake encoder tests pass to ``encode``.
FAKE_TASK = SimpleNamespace(name="FakeTask", type="Classification")


def fake_vector(text: str, dim: int = 8) -> np.ndarray:
    """A vector in [0, 1)^dim derived from the text's sha256: the same text always gets the same vector."""
    digest = hashlib.sha256(text.encode()).digest()
    return np.frombuffer(digest[: dim * 4], dtype=np.uint32).astype(np.float32) / 2**32


class FakeEncoder:
    """An mteb encoder: one vector per text from its hash; can fail like a GPU out of memory above a batch size."""

    def __init__(self, oom_above: int | None = None, error: type[Exception] | None = None, message: str = "CUDA out of memory.") -> None:
        import torch
        from mteb.models import ModelMeta

        self.mteb_model_meta = ModelMeta.create_empty(overwrites={"name": "test/fake", "revision": "r1"})
        self.oom_above = oom_above
        self.error = error or torch.OutOfMemoryError
        self.message = message
        self.calls: list[tuple[list[str], int]] = []
        self.failures = 0

    def encode(self, inputs: Any, *, task_metadata: Any, hf_split: str, hf_subset: str, prompt_type: Any = None,
               batch_size: int = 32, **kwargs: Any) -> np.ndarray:
        texts = [t for batch in inputs for t in batch["text"]]
        if self.oom_above is not None and batch_size > self.oom_above:
            self.failures += 1
            raise self.error(self.message)
        self.calls.append((texts, batch_size))
        return np.stack([fake_vector(t) for t in texts])

    def similarity(self, a: Any, b: Any) -> Any:
        return a @ b.T

    def similarity_pairwise(self, a: Any, b: Any) -> Any:
        return (a * b).sum(-1)


def expected(texts: list[str]) -> np.ndarray:
    """The vectors :class:`FakeEncoder` gives ``texts`` (``[len(texts), 8]``)."""
    return np.stack([fake_vector(t) for t in texts])


# ---------------------------------------------------------------------------------- Wikipedia source (SYNTHETIC)
# FIXTURE (synthetic): made-up categories and pages in the MediaWiki API's answer format; not Wikipedia content.
WIKI_CATS: dict[str, list[tuple[int, int, str]]] = {
    "Category:Pain": [(101, 0, "Alpha ache"), (102, 0, "Beta ache"), (103, 0, "Gamma ache"), (104, 0, "Delta ache"),
                      (14001, 14, "Category:Pain by site"), (500, 0, "Ache with fever")],
    "Category:Pain by site": [(105, 0, "Epsilon ache"), (106, 0, "Zeta ache"), (14002, 14, "Category:Deep pain")],
    "Category:Deep pain": [(107, 0, "Eta ache")],  # depth 2: outside depth-1 tasks
    "Category:Fever": [(201, 0, "Alpha fever"), (202, 0, "Beta fever"), (203, 0, "Gamma fever"), (204, 0, "Delta fever"),
                       (205, 0, "Epsilon fever"), (500, 0, "Ache with fever")],
    "Category:Diseases and disorders by system": [(14003, 14, "Category:Fixture system diseases"), (301, 0, "Omega syndrome")],
    "Category:Fixture system diseases": [(14004, 14, "Category:Fixture organ diseases"), (302, 0, "Psi disease"), (303, 0, "Chi disease")],
    "Category:Fixture organ diseases": [(304, 0, "Phi disease"), (305, 0, "Upsilon disease"), (306, 0, "Tau disease")],
}
WIKI_TITLES = {pid: t for members in WIKI_CATS.values() for pid, ns, t in members if ns == 0}


def wiki_article(pid: int, tag: str = "") -> str:
    t = WIKI_TITLES[pid]
    kind = "pain" if "ache" in t else "fever" if "fever" in t else "disease"
    return (f"{t} is a made-up fixture article number {pid} about a {kind}{tag}. It is used to test medeval. "
            f"Patients with {t.lower()} report symptom {pid % 7}.\n\n== Causes ==\nThe made-up CAUSE of fixture {pid} "
            f"is   described here{tag}.\nIt spans two lines.\n\n=== Short ===\nToo short {pid}.\n\n"
            f"== Treatment ==\nRest and fluids help fixture {kind} number {pid} in this test article.")


def cm_answers(members: list[tuple[int, int, str]], page: int = 4) -> list[dict[str, Any]]:
    out = []
    for k in range(0, len(members), page):
        a: dict[str, Any] = {"query": {"categorymembers": [{"pageid": p, "ns": ns, "title": t} for p, ns, t in members[k : k + page]]}}
        if k + page < len(members):
            a["continue"] = {"cmcontinue": f"page|{k + page}", "continue": "-||"}
        else:
            a["batchcomplete"] = ""
        out.append(a)
    return out


def write_wiki_source(root: Path, changed: dict[int, str] | None = None) -> Path:
    changed = changed or {}
    base = root / "wikipedia"
    (base / "categorymembers").mkdir(parents=True)
    (base / "pages").mkdir()
    for cat, members in WIKI_CATS.items():
        (base / "categorymembers" / f"{cat.removeprefix('Category:').replace(' ', '_')}.json").write_text(json.dumps(cm_answers(members)))
    pages = {str(pid): {"pageid": pid, "ns": 0, "title": t, "lastrevid": 7000 + pid, "extract": wiki_article(pid, changed.get(pid, ""))}
             for pid, t in WIKI_TITLES.items()}
    (base / "pages" / "all.json").write_text(json.dumps({"batchcomplete": "", "query": {"pages": pages}}))
    return root
