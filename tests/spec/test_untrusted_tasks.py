"""Task YAML files are untrusted input: no code runs from a `loader:` outside medeval without --allow-custom-loaders,
and YAML anchors/aliases (alias bombs) are refused, fast, with one line naming the file."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml
from fixtures import demo_spec

from medeval import catalog, task_class
from medeval.cli import main
from medeval.errors import SpecError
from medeval.spec.safe_yaml import load_untrusted
from medeval.spec import load_spec

EVIL = "medeval_test_evil_loader"


@pytest.fixture
def hostile_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A shared task folder: a YAML naming ``loader: <module next to it>.Loader`` and that module, which leaves a
    marker file when imported. The folder is on sys.path, as the working folder is under ``python -m medeval``."""
    folder = tmp_path / "shared_tasks"
    folder.mkdir()
    marker = tmp_path / "code-ran"
    (folder / f"{EVIL}.py").write_text(f"open({str(marker)!r}, 'w').write('x')\nclass Loader: pass\n")
    spec = demo_spec("HostileLoaderClassification", "ICD10CMChapterClassification", "f1", loader=f"{EVIL}.Loader")
    (folder / "HostileLoaderClassification.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(task_class, "_ALLOW_CUSTOM_LOADERS", False)
    monkeypatch.delenv(task_class.ENV_ALLOW_CUSTOM_LOADERS, raising=False)
    yield folder
    sys.modules.pop(EVIL, None)


def test_loader_outside_medeval_is_refused_before_import(hostile_folder: Path) -> None:
    path = hostile_folder / "HostileLoaderClassification.yaml"
    with pytest.raises(SpecError) as info:
        catalog.add_task_file(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and "field 'loader'" in msg and "--allow-custom-loaders" in msg
    assert not (hostile_folder.parent / "code-ran").exists() and EVIL not in sys.modules


def test_cli_show_refuses_it_in_one_line(hostile_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["show", str(hostile_folder / "HostileLoaderClassification.yaml")])
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "--allow-custom-loaders" in err and "Traceback" not in err
    assert not (hostile_folder.parent / "code-ran").exists()


def test_the_flag_opts_in_and_the_class_check_still_applies(hostile_folder: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["show", "--allow-custom-loaders", str(hostile_folder / "HostileLoaderClassification.yaml")])
    err = capsys.readouterr().err
    assert (hostile_folder.parent / "code-ran").exists()  # the user asked for it: the module was imported
    assert code != 0 and "is not a Classification loader" in err  # and it is still not a medeval loader class


def test_medeval_own_loaders_need_no_flag(hostile_folder: Path) -> None:
    spec = demo_spec("OwnLoaderClassification", "ICD10CMChapterClassification", "f1",
                     loader="medeval.loaders.Classification")
    path = hostile_folder / "OwnLoaderClassification.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    assert catalog.make_task_class(load_spec(path), path).spec.name == "OwnLoaderClassification"


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_task_file_is_refused_in_under_a_second(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = demo_spec("BombClassification", "ICD10CMChapterClassification", "f1")
    path = tmp_path / "BombClassification.yaml"
    path.write_text(alias_bomb() + yaml.safe_dump(spec, sort_keys=False))
    t0 = time.perf_counter()
    code = main(["show", str(path)])
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code != 0 and elapsed < 1.0
    assert err.count("\n") == 1 and str(path) in err and "anchors and aliases" in err and "line 1" in err


def test_any_alias_is_refused_and_plain_yaml_loads() -> None:
    with pytest.raises(SpecError, match="line 2, column 4"):
        load_untrusted("a: 1\nb: *x\n", "t.yaml")
    assert load_untrusted("a: [1, 2]\nb: {c: d}\n", "t.yaml") == {"a": [1, 2], "b": {"c": "d"}}
    with pytest.raises(yaml.YAMLError):
        load_untrusted("a: !!python/object:os.system x\n", "t.yaml")


def test_oversized_task_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Big.yaml"
    path.write_text("description: " + "x" * 1_100_000 + "\n")
    with pytest.raises(SpecError, match="over the 1,000,000-byte limit"):
        load_spec(path)
