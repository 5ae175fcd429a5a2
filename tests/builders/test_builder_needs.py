"""Builders declare what they need (@builder(needs=...)); offline builds, skips and hints follow the declaration."""

from __future__ import annotations

import pytest

import medeval
from medeval import build
from medeval.build import BuildContext, builder, builder_needs, can_build_without_inputs
from medeval.cli.build_tasks import skip_reason
from medeval.loaders import build_instruction, how_to_build


def _needs(name: str) -> frozenset[str]:
    return builder_needs(medeval.get_spec(name))


def test_packaged_builders_declare_their_needs() -> None:
    by_group: dict[str, set[frozenset[str]]] = {}
    for task in medeval.get_tasks():
        by_group.setdefault(task.spec.source.group, set()).add(builder_needs(task.spec))
        assert can_build_without_inputs(task.spec) == (not builder_needs(task.spec))
    assert by_group["MIMIC-IV"] == {frozenset({"mimic_dir"})}
    offline = {t.metadata.name for t in medeval.get_tasks() if can_build_without_inputs(t.spec)}
    terms = {t.metadata.name for t in medeval.get_tasks(benchmark="MedEval-Terms(v1)")}
    v1 = {t.metadata.name for t in medeval.get_tasks(benchmark="MedEval(v1)")}
    # MedEval-Terms builds anywhere; every paper task needs the network, an LLM or MIMIC. (A new offline source's
    # tasks, docs/adding-a-source.md, are offline too and need no change here.)
    assert terms <= offline and not offline & v1
    llm = {t.metadata.name for t in medeval.get_tasks() if "llm" in builder_needs(t.spec)}
    assert llm == {t.metadata.name for t in medeval.get_tasks() if t.spec.construction.llm is not None}


def test_skip_reason_and_hint_follow_needs() -> None:
    ctx = BuildContext()
    assert "--mimic-dir" in skip_reason(medeval.get_spec("MimicReadmission30DayClassification"), ctx)
    assert "--llm-base-url" in skip_reason(medeval.get_spec("MedQuADRetrieval"), ctx)
    assert skip_reason(medeval.get_spec("MedQuADRetrieval"), BuildContext(llm_base_url="http://x", llm_model="m")) is None
    assert skip_reason(medeval.get_spec("WikiSyndromesClassification"), ctx) is None
    assert how_to_build(medeval.get_spec("ICD10CMChapterClassification")) == "medeval build -t ICD10CMChapterClassification"
    assert "--source-dir" in how_to_build(medeval.get_spec("TrialsTitleOutcomesRetrieval"))


@pytest.mark.parametrize("task, option", [("MimicReadmission30DayClassification", "--mimic-dir DIR"),
                                          ("MedQuADRetrieval", "--llm-model MODEL"),
                                          ("TrialsTitleOutcomesRetrieval", "--source-dir DIR"),
                                          ("ICD10CMChapterClassification", "")])
def test_build_instruction_puts_only_the_command_in_backticks(task: str, option: str) -> None:
    """The command can be copied from between the backticks; what its inputs need follows outside them."""
    text = build_instruction(medeval.get_spec(task))
    command = text.split("`")[1]
    assert text.startswith("build it with `") and text.count("`") == 2
    assert command.startswith(f"medeval build -t {task}") and command.endswith(option)
    assert command == f"medeval build -t {task}" or option
    assert "(" not in command and "[" not in command
    assert text.endswith(")") == bool(option)  # the note, outside the command


def test_an_offline_builder_not_named_terms_builds_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the old prefix check got wrong: offline-ness comes from the declaration, not the builder's name."""
    monkeypatch.setattr(build, "_BUILDERS", dict(build._BUILDERS))
    monkeypatch.setattr(build, "_NEEDS", dict(build._NEEDS))
    monkeypatch.setattr(build, "_PARAMS", dict(getattr(build, "_PARAMS", {})), raising=False)
    spec = medeval.get_spec("ICD10CMChapterClassification")
    fn = build._BUILDERS[spec.construction.builder]
    builder("terms.renamed_offline")(fn)
    renamed = spec.model_copy(update={"construction": spec.construction.model_copy(update={"builder": "terms.renamed_offline"})})
    assert can_build_without_inputs(renamed)
    builder("terms.renamed_offline", needs={"network"})(fn)
    assert not can_build_without_inputs(renamed)


def test_unknown_need_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown need.*'internet'|unknown need\\(s\\) internet"):
        builder("demo.x", needs={"internet"})


def test_site_build_hint_of_a_user_task_is_where_to_put_its_tables(examples_dir) -> None:
    from medeval.catalog import get_task
    from medeval.site.task_page import build_hint

    spec = get_task(str(examples_dir / "ClinicTriage.yaml")).spec
    command, note = build_hint(spec)
    assert command == "" and note.startswith("put the task's tables in")
    assert build_hint(medeval.get_spec("TrialsTitleOutcomesRetrieval"))[0].endswith("--source-dir DIR")
