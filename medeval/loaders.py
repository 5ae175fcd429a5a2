"""mteb task classes that load medeval's built data.

One loader class per task type; each task YAML names its loader, and :mod:`medeval.catalog` makes one small
subclass per task whose ``metadata`` comes from the YAML. The data layout each loader reads is documented in
:mod:`medeval.data`. Data is found, in order: the YAML's ``data:`` folder (user tasks); the data folder
(``<MEDEVAL_HOME>/tasks/<TaskName>``); the Hub dataset repo the YAML names (downloaded at its pinned revision into
the data folder); a lazy build for tasks whose builder needs no user input (MedEval-Terms). Otherwise loading
fails with :class:`~medeval.errors.DataNotBuiltError` saying how to build it.

    >>> import medeval
    >>> task = medeval.get_task("ICD10CMChapterClassification")
    >>> task.load_data()  # builds the data on first use  # doctest: +SKIP
    >>> task.dataset["default"]["test"][0]
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from datasets import Dataset, DatasetDict
from mteb.abstasks import (
    AbsTaskClassification,
    AbsTaskPairClassification,
    AbsTaskRetrieval,
)

from medeval import data as datamod
from medeval.clustering import AbsTaskEveryRowClustering
from medeval.columns import ColumnsInMemory, column_values
from medeval.errors import DataNotBuiltError, MedEvalError
from medeval.spec import TaskSpec
from medeval.store import DataStore

if TYPE_CHECKING:
    from mteb.abstasks.task_metadata import TaskMetadata

logger = logging.getLogger(__name__)


def build_requirements(spec: TaskSpec) -> tuple[str, str]:
    """The command that builds a task's data, and what its inputs need.

    Args:
        spec: the task's spec; its builder's declared needs (``mimic_dir``, ``llm``, ``network``) choose the options.

    Returns:
        ``(command, note)``: one command line, e.g. ``medeval build -t MimicDiagnosisClassification --mimic-dir
        DIR``, and a note on its inputs ("" when it needs none), e.g. ``DIR: your MIMIC-IV-Note copy, which needs
        PhysioNet credentials``.
    """
    from medeval.build import builder_needs

    try:
        needs = builder_needs(spec)  # what the builder declares (@builder(needs=...))
    except MedEvalError:
        needs = frozenset()
    command = f"medeval build -t {spec.name}"
    if "mimic_dir" in needs:
        return f"{command} --mimic-dir DIR", "DIR: your MIMIC-IV-Note copy, which needs PhysioNet credentials"
    if "llm" in needs:
        return (f"{command} --llm-base-url URL --llm-model MODEL",
                "URL and MODEL: an OpenAI-compatible endpoint and a model it serves")
    if "network" in needs:
        return (f"{command} --source-dir DIR",
                "DIR: a folder with the upstream records; without --source-dir they are downloaded")
    return command, ""


def how_to_build(spec: TaskSpec) -> str:
    """The command that builds a task's data (:func:`build_requirements`' command).

    Args:
        spec: the task's spec.

    Returns:
        One command line, e.g. ``medeval build -t ICD10CMChapterClassification``; for a user task with its own
        ``data:`` folder, where to put the tables instead.
    """
    if spec.data is not None:
        return f"put the task's tables in {spec.data} (layout: see medeval.data)"
    return build_requirements(spec)[0]


def build_instruction(spec: TaskSpec) -> str:
    """What to tell a user whose task has no data, for the end of a message.

    Args:
        spec: the task's spec.

    Returns:
        ``build it with `COMMAND` (NOTE)``, the command in backticks and its note outside them; for a user task
        with its own ``data:`` folder, where to put the tables.

    Example:
        >>> build_instruction(medeval.get_spec("TrialsTitleOutcomesRetrieval"))
        'build it with `medeval build -t TrialsTitleOutcomesRetrieval --source-dir DIR` (DIR: a folder ...)'
    """
    if spec.data is not None:
        return how_to_build(spec)
    command, note = build_requirements(spec)
    return f"build it with `{command}`" + (f" ({note})" if note else "")


class MedEvalTaskMixin:
    """Shared loading logic: find or build the data folder, then hand rows to the mteb base class."""

    spec: ClassVar[TaskSpec]
    spec_path: ClassVar[Path | None] = None
    metadata: TaskMetadata

    # -- where the data is -------------------------------------------------------------------------------
    @classmethod
    def data_folder(cls) -> Path:
        """Where the task's data is (:meth:`medeval.store.DataStore.task_dir`).

        Returns:
            ``<data folder>/tasks/<TaskName>``, or a user task's own ``data:`` folder (it may not exist yet).
        """
        return DataStore().task_dir(cls)

    @classmethod
    def is_built(cls) -> bool:
        """True when the data is there (:meth:`medeval.store.DataStore.is_built`).

        Returns:
            Whether the task can load without building.
        """
        return DataStore().is_built(cls)

    @classmethod
    def ensure_data(cls) -> Path:
        """Return the folder with the task's data, downloading or building it if that needs no user input.

        Built data whose builder or inputs changed since is rebuilt first (:func:`medeval.build.rebuild_if_stale`); a
        task with a Hub ``dataset.path`` is downloaded at its pinned revision; a task whose builder needs nothing
        (MedEval-Terms) is built.

        Returns:
            The task's data folder.

        Raises:
            DataNotBuiltError: a user task's ``data:`` folder is missing, or building needs an input (the message gives
                the command, :func:`how_to_build`).
            MedEvalError: the download or build failed.
        """
        folder = cls.data_folder()
        if cls.is_built():
            from medeval.build import rebuild_if_stale

            rebuild_if_stale(cls.spec, folder)
            return folder
        if cls.spec.data is not None:
            raise DataNotBuiltError(
                f"{cls.spec_path}: field 'data': folder {folder} does not exist; create it with the task's tables "
                "(see the layout in medeval.data) or fix the path"
            )
        if cls.spec.dataset.path:
            from medeval.hub import download_task_data

            download_task_data(cls.spec, folder)
            return folder
        from medeval.build import can_build_without_inputs, build_task

        if can_build_without_inputs(cls.spec):
            logger.info("Building %s (first use)...", cls.spec.name)
            build_task(cls.spec)
            return folder
        raise DataNotBuiltError(
            f"task {cls.spec.name}: no built data in {folder}; {build_instruction(cls.spec)}"
        )

    # -- loading --------------------------------------------------------------------------------------------
    def table_names(self) -> list[str]:
        """The tables this task reads, as ``"<config>/<split>"``; each loader class defines it.

        Returns:
            Table names, e.g. ``["data/train", "data/test"]``.
        """
        raise NotImplementedError

    def _read_tables(self, folder: Path) -> dict[str, list[dict[str, Any]]]:
        """Read and check every table (:mod:`medeval.checks`): DataCheckError, one line per finding, on bad data."""
        from medeval.checks import read_checked_tables

        return read_checked_tables(folder, self.spec.type, self.table_names(),
                                   getattr(self, "train_split", "train"), list(self.metadata.eval_splits))

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:  # noqa: ARG002 - mteb signature
        """mteb's ``load_data``: find or build the data, check it and hand the rows to the mteb base class.

        The data's revision (the manifest's content hash, or the tables' hash for a user folder) becomes
        ``metadata.dataset["revision"]``, so results record the data they were computed from; a revision other than the
        one the YAML pins is logged as a warning. A second call does nothing.

        Args:
            num_proc: unused (mteb's signature).
            **kwargs: unused (mteb's signature).

        Raises:
            DataNotBuiltError: the data is not there and cannot be built without input (see :meth:`ensure_data`).
            DataCheckError: the tables fail the data checks (one line per finding).
        """
        if self.data_loaded:
            return
        folder = self.ensure_data()
        tables = self._read_tables(folder)
        revision = DataStore().built_revision(self) or datamod.content_hash(tables)
        pinned = self.spec.dataset.revision
        if pinned and pinned != revision:
            logger.warning(
                "%s: built data has revision %s but the task spec pins %s (different upstream or package versions); "
                "results will record %s",
                self.spec.name, revision, pinned, revision,
            )
        self.metadata.dataset["revision"] = revision
        self._set_dataset(tables)
        self.data_loaded = True

    def _set_dataset(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        splits = {name.split("/")[1]: Dataset.from_list(rows) for name, rows in tables.items()}
        self.dataset = {"default": DatasetDict(splits)}


    @classmethod
    def descriptive_stats_path(cls) -> Path:
        """The build's own statistics file (``stats.json`` in the data folder; mteb asks for it by this name).

        Returns:
            ``<data folder>/stats.json`` (it may not exist).
        """
        return cls.data_folder() / datamod.STATS


class Classification(MedEvalTaskMixin, AbsTaskClassification):
    """Logistic regression on embeddings; tables ``data/train`` and ``data/test`` with ``text``, ``label``."""

    label_names: list[str] | None = None

    def table_names(self) -> list[str]:
        """``data/<train split>`` and ``data/<eval split>`` for each eval split, each once.

        Returns:
            Table names, e.g. ``["data/train", "data/test"]``.
        """
        return [f"data/{s}" for s in dict.fromkeys([self.train_split, *self.metadata.eval_splits])]

    def _set_dataset(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        # mteb's binary metrics (average precision) need numeric labels: readable string labels in the data are
        # mapped to their index in sorted order, the same for every split; label_names keeps the strings
        labels = {r["label"] for rows in tables.values() for r in rows}
        texts = {x for x in labels if isinstance(x, str)}
        if texts and len(texts) != len(labels):  # 1 and "1" would silently become one class
            numbers = sorted(repr(x) for x in labels - texts)[:3]
            raise MedEvalError(f"task {self.metadata.name}: column 'label' mixes text labels ({sorted(texts)[0]!r}) "
                               f"and numbers ({', '.join(numbers)}) in {self.data_folder()}; write every label "
                               "the same way (all text or all integers) and load again")
        # mteb scores two-label splits by the average precision of label 1 (text labels are mapped to 0/1 below)
        for split in self.metadata.eval_splits if not texts else ():
            found = {r["label"] for r in tables.get(f"data/{split}", [])}
            if len(found) == 2 and 1 not in found:
                raise MedEvalError(f"task {self.metadata.name}: the {split} split has two integer labels "
                                   f"({', '.join(map(repr, sorted(found)))}) in {self.data_folder()}, and mteb takes "
                                   "label 1 as the positive class; use 0 and 1 (or text labels) and load again")
        if texts:
            self.label_names = sorted(str(x) for x in labels)
            index = {name: i for i, name in enumerate(self.label_names)}
            tables = {k: [{**r, "label": index[str(r["label"])]} for r in rows] for k, rows in tables.items()}
        super()._set_dataset(tables)

    # mteb reads the label column (a lazy datasets Column) row by row in these two: 17 s of a 23 s task. Same
    # values, read once (medeval.columns; tests/test_columns.py checks the scores equal mteb's own path)
    def _undersample_data(self, dataset: Any, experiment_num: int, idxs: list[int] | None = None) -> Any:
        return super()._undersample_data(ColumnsInMemory(dataset, [self.label_column_name]), experiment_num, idxs)

    def _calculate_scores(self, y_test: Any, y_pred: Any) -> Any:
        return super()._calculate_scores(column_values(y_test), y_pred)


class Clustering(MedEvalTaskMixin, AbsTaskEveryRowClustering):
    """k-means with k = number of labels over every row once, per seed (:mod:`medeval.clustering`); table
    ``data/test`` with ``sentences``, ``labels``."""

    def table_names(self) -> list[str]:
        """``data/<split>`` for each eval split.

        Returns:
            Table names, e.g. ``["data/test"]``.
        """
        return [f"data/{s}" for s in self.metadata.eval_splits]


class PairClassification(MedEvalTaskMixin, AbsTaskPairClassification):
    """Best-threshold similarity F1; table ``data/test`` with ``sentence1``, ``sentence2``, ``labels`` (0/1)."""

    def table_names(self) -> list[str]:
        """``data/<split>`` for each eval split.

        Returns:
            Table names, e.g. ``["data/test"]``.
        """
        return [f"data/{s}" for s in self.metadata.eval_splits]


class Retrieval(MedEvalTaskMixin, AbsTaskRetrieval):
    """nDCG@10; tables ``corpus/<split>`` (id, text), ``queries/<split>`` (id, text), ``qrels/<split>``."""

    def table_names(self) -> list[str]:
        """``corpus``, ``queries`` and ``qrels`` tables of each eval split.

        Returns:
            Table names, e.g. ``["corpus/test", "queries/test", "qrels/test"]``.
        """
        return [f"{config}/{split}" for split in self.metadata.eval_splits for config in ("corpus", "queries", "qrels")]

    def _set_dataset(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.dataset = {"default": {}}
        for split in self.metadata.eval_splits:
            qrels: dict[str, dict[str, int]] = {}
            for r in tables[f"qrels/{split}"]:
                qrels.setdefault(str(r["query-id"]), {})[str(r["corpus-id"])] = int(r["score"])
            corpus = [{**r, "id": str(r["id"])} for r in tables[f"corpus/{split}"]]
            queries = [{**r, "id": str(r["id"])} for r in tables[f"queries/{split}"]]
            self.dataset["default"][split] = {
                "corpus": Dataset.from_list(corpus),
                "queries": Dataset.from_list(queries),
                "relevant_docs": qrels,
                "top_ranked": None,
            }

    def _evaluate_subset(self, model: Any, data_split: Any, *, encode_kwargs: Any, hf_split: str, hf_subset: str,
                         prediction_folder: Path | None = None, num_proc: int | None = None, timer: Any,
                         **kwargs: Any) -> dict[str, Any]:
        """mteb's retrieval evaluation, with the top k kept as arrays and scored a slice of queries at a time.

        Taken when ``model`` is medeval's search wrapper (:func:`medeval.search.search_model`) on a full-corpus
        search; otherwise (reranking, predictions to save, identical ids to drop, another search model) mteb's own
        path runs. The metrics equal mteb's (:func:`medeval.retrieval_scoring.score_top_k`); the memory is the
        top-k arrays plus one slice (see :mod:`medeval.retrieval_scoring`).
        """
        from mteb._evaluators import RetrievalEvaluator
        from mteb._evaluators.retrieval_metrics import make_score_dict
        from mteb.abstasks.retrieval import _filter_queries_without_positives

        from medeval.retrieval_scoring import TopKResults, score_top_k

        plain = (getattr(model, "compact_results", None) is None or data_split["top_ranked"] is not None
                 or prediction_folder or self.ignore_identical_ids or self.skip_first_result)
        if plain:
            return super()._evaluate_subset(model, data_split, encode_kwargs=encode_kwargs, hf_split=hf_split,
                                            hf_subset=hf_subset, prediction_folder=prediction_folder,
                                            num_proc=num_proc, timer=timer, **kwargs)
        data_split["relevant_docs"], data_split["queries"] = _filter_queries_without_positives(
            data_split["relevant_docs"], data_split["queries"])
        retriever = RetrievalEvaluator(corpus=data_split["corpus"], queries=data_split["queries"],
                                       task_metadata=self.metadata, hf_split=hf_split, hf_subset=hf_subset,
                                       top_ranked=None, top_k=self._top_k, timer=timer, **kwargs)
        model.compact_results = True
        try:
            results = retriever(model, encode_kwargs=encode_kwargs, num_proc=num_proc)
        finally:
            model.compact_results = False
        with timer("Scoring", split=hf_split, subset=hf_subset,
                   log_message="Running retrieval task - Evaluating retrieval scores..."):
            if isinstance(results, TopKResults):
                scored = score_top_k(data_split["relevant_docs"], results, self.k_values)
            else:  # the wrapper had no top-k arrays to give: mteb's dict, scored by mteb
                scored = retriever.evaluate(data_split["relevant_docs"], results, self.k_values)
        task_scores = self.task_specific_scores(scored.all_scores, data_split["relevant_docs"], results,
                                                hf_split=hf_split, hf_subset=hf_subset)
        return make_score_dict(ndcg=scored.ndcg, _map=scored.map, recall=scored.recall,
                               precision=scored.precision, mrr=scored.mrr, naucs=scored.naucs,
                               naucs_mrr=scored.naucs_mrr, hit_rate=scored.hit_rate, task_scores=task_scores,
                               previous_results_model_meta=self._previous_results_model_meta)


LOADERS: dict[str, type[MedEvalTaskMixin]] = {
    "Classification": Classification,
    "Clustering": Clustering,
    "PairClassification": PairClassification,
    "Retrieval": Retrieval,
}
