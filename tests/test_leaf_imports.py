"""Leaf modules import nothing heavy and read no file: errors, paths, spec, store, benchmarks, cite.

``import medeval`` itself is covered by test_mteb_registry.py; this checks the modules every stage imports, so that
error classes, paths and schemas stay cheap to import (a CLI usage error, ``--help``, a test of one schema).
"""

from __future__ import annotations

import json
import subprocess
import sys

LEAVES = ["medeval.errors", "medeval.paths", "medeval.spec", "medeval.store", "medeval.benchmarks", "medeval.cite"]
HEAVY = ["mteb", "torch", "sentence_transformers", "datasets", "pyarrow", "pandas", "medeval.catalog"]

_CODE = """
import importlib, json, sys
leaves, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {}
for name in leaves:
    importlib.import_module(name)
    out[name] = [h for h in heavy if h in sys.modules]
import medeval.benchmarks
out["yaml files parsed"] = medeval.benchmarks._registry.cache_info().currsize
print(json.dumps(out))
"""


def test_leaf_modules_load_nothing_heavy_and_parse_no_yaml() -> None:
    done = subprocess.run([sys.executable, "-c", _CODE, json.dumps(LEAVES), json.dumps(HEAVY)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out == {**{name: [] for name in LEAVES}, "yaml files parsed": 0}
