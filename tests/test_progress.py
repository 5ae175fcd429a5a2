"""The overall progress line of ``medeval run`` (issue 13): tasks done, texts encoded, elapsed, time left."""

from __future__ import annotations

import json
from pathlib import Path

from medeval.progress import RunProgress, task_weight, task_weights


def test_estimate_weighs_tasks_by_their_text(tmp_path: Path) -> None:
    p = RunProgress([1.0, 1.0, 8.0])
    assert p.seconds_left() is None  # nothing ran yet: no estimate rather than a wrong one
    p.finish_task(0, elapsed=5.0)
    assert p.seconds_left() == 45.0  # 5 s per unit, 9 units left
    p.finish_task(1, elapsed=None, ran=False)  # a reused result costs nothing and teaches nothing
    assert p.seconds_left() == 40.0
    line = p.line(texts_encoded=12345, elapsed=65.0)
    assert line == "progress: 2/3 tasks, 12,345 texts encoded, 1m05s elapsed, about 40s left"
    p.finish_task(2, elapsed=40.0)
    assert "left" not in p.line(None, 3700.0) and "1h01m elapsed" in p.line(None, 3700.0)


def test_weights_come_from_stats_json(tmp_path: Path) -> None:
    class FakeTask:
        def __init__(self, folder: Path) -> None:
            self.folder = folder

        def data_folder(self) -> Path:
            return self.folder

    big, small, unbuilt = tmp_path / "big", tmp_path / "small", tmp_path / "unbuilt"
    for folder, rows in ((big, 1000), (small, 10)):
        folder.mkdir()
        (folder / "stats.json").write_text(json.dumps({
            "corpus/test": {"num_rows": rows, "text_length": {"mean": 50.0}},
            "qrels/test": {"num_rows": rows},  # no text: not encoding work
            "task_type": "Retrieval",
        }))
    assert task_weight(big / "stats.json") == 50000.0
    assert task_weight(unbuilt / "stats.json") is None
    weights = task_weights([FakeTask(big), FakeTask(small), FakeTask(unbuilt)])
    assert weights[:2] == [50000.0, 500.0] and weights[2] == (50000.0 + 500.0) / 2  # unknown -> the median
