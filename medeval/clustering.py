"""The clustering protocol of the MedTE paper: k-means over every row exactly once, repeated over k-means seeds.

mteb v2's :class:`~mteb.abstasks.AbsTaskClustering` embeds a fraction of the rows and then clusters
``n_clusters`` bootstrap draws of ``max_documents_per_cluster`` rows *with replacement*, so a task smaller than the
draw sees each row many times per draw. The paper (through mteb 1.x) clusters all rows once with mini-batch k-means
(batch 500, k = number of labels) and reports the V-measure. medeval keeps that rule and, because one k-means run
depends on its initialisation, repeats it with several seeds and reports the mean and the spread:

    >>> import numpy as np
    >>> from medeval.clustering import cluster_every_row
    >>> x = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    >>> scores = cluster_every_row(x, ["a", "a", "b", "b"], seeds=[42, 43])
    >>> scores["v_measure"], scores["n_rows"]
    (1.0, 4)

Bump ``CLUSTERING_PROTOCOL_VERSION`` whenever the scores this module gives for the same embeddings change.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from mteb._create_dataloaders import create_dataloader
from mteb.abstasks import AbsTaskClustering
from mteb.models import EncoderProtocol
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics.cluster import adjusted_mutual_info_score, v_measure_score

from medeval.columns import column_values

if TYPE_CHECKING:
    import numpy.typing as npt
    from datasets import Dataset

logger = logging.getLogger(__name__)

#: Version of the scoring rule below (2: every row once, mean over k-means seeds; 1 was mteb's bootstrap).
CLUSTERING_PROTOCOL_VERSION = 2
#: Mini-batch size of k-means, as in mteb 1.x's ClusteringEvaluator that the paper's scores came from.
KMEANS_BATCH_SIZE = 500


def cluster_every_row(
    embeddings: npt.ArrayLike,
    labels: Sequence[Hashable],
    *,
    seeds: Sequence[int],
    batch_size: int = KMEANS_BATCH_SIZE,
) -> dict[str, Any]:
    """Cluster all rows once per seed with mini-batch k-means (k = number of distinct labels) and score each run.

    Every row enters every run exactly once; nothing is sampled. A run's only randomness is its k-means seed, so
    the same embeddings and seeds always give the same scores.

    Args:
        embeddings: array-like of shape (n_rows, dim), one vector per row, in row order.
        labels: the n_rows gold labels (any hashable values); k is the number of distinct ones.
        seeds: one k-means ``random_state`` per run, e.g. ``range(42, 52)``.
        batch_size: mini-batch size of k-means.

    Returns:
        A dict: ``v_measure`` and ``ami`` (means over the runs), ``v_measure_std`` and ``ami_std`` (their population
        standard deviation, the spread over seeds), ``v_measures`` and ``ami_scores`` (``{"Level 0": [one score per
        run]}``, mteb's layout), ``n_rows``, ``n_clusters``, ``kmeans_seeds`` and ``protocol`` (a short description).

    Raises:
        ValueError: if the number of vectors and labels differ, there are no seeds, or fewer than two labels or
            fewer rows than labels.
    """
    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray([str(v) for v in labels])
    if x.ndim != 2 or x.shape[0] != len(y):
        raise ValueError(f"embeddings must have shape (n_rows, dim) with n_rows = {len(y)} labels, got {x.shape}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one k-means seed")
    k = len(set(y.tolist()))
    if k < 2 or len(y) < k:
        raise ValueError(f"clustering needs at least 2 labels and at least one row per cluster (got {len(y)} rows, {k} labels)")
    v_scores: list[float] = []
    ami_scores: list[float] = []
    for seed in seeds:
        model = MiniBatchKMeans(n_clusters=k, batch_size=batch_size, init="k-means++", n_init=1, random_state=seed)
        assigned = model.fit_predict(x)
        v_scores.append(float(v_measure_score(y, assigned)))
        ami_scores.append(float(adjusted_mutual_info_score(y, assigned)))
    return {
        "v_measure": float(np.mean(v_scores)),
        "v_measure_std": float(np.std(v_scores)),
        "v_measures": {"Level 0": v_scores},
        "ami": float(np.mean(ami_scores)),
        "ami_std": float(np.std(ami_scores)),
        "ami_scores": {"Level 0": ami_scores},
        "n_rows": int(len(y)),
        "n_clusters": int(k),
        "kmeans_seeds": seeds,
        "protocol": f"every row once; MiniBatchKMeans(batch {batch_size}) x {len(seeds)} seeds; mean and std",
    }


class AbsTaskEveryRowClustering(AbsTaskClustering):
    """mteb clustering task scored by :func:`cluster_every_row`: every row embedded and clustered once per seed.

    Attributes:
        kmeans_seeds: number of k-means runs; run i uses seed ``self.seed + i`` (mteb's task seed, 42 by default).
        k_mean_batch_size: mini-batch size of k-means.

    Rows must have one label each (``labels`` column); a list label uses its first (top) level.
    """

    kmeans_seeds: int = 10
    k_mean_batch_size: int = KMEANS_BATCH_SIZE
    max_fraction_of_documents_to_embed = None
    max_document_to_embed = None

    def _evaluate_subset(  # noqa: PLR0913 - mteb's signature
        self,
        model: Any,
        data_split: Dataset,
        *,
        encode_kwargs: Any,
        hf_split: str,
        hf_subset: str,
        prediction_folder: Any = None,
        num_proc: int | None = None,
        timer: Any,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if not isinstance(model, EncoderProtocol):
            raise TypeError("Expected encoder model to be an instance of EncoderProtocol.")
        data = data_split.select_columns([self.input_column_name, self.label_column_name])
        with timer("Encoding", split=hf_split, subset=hf_subset, log_message="Clustering - encoding every row..."):
            embeddings = model.encode(
                create_dataloader(
                    data, task_metadata=self.metadata, input_column=self.input_column_name, num_proc=num_proc,
                    **encode_kwargs,
                ),
                task_metadata=self.metadata,
                hf_subset=hf_subset,
                hf_split=hf_split,
                **encode_kwargs,
            )
        labels = [lab[0] if isinstance(lab, list) else lab for lab in column_values(data[self.label_column_name])]
        seeds = list(range(self.seed, self.seed + self.kmeans_seeds))
        with timer("Scoring", split=hf_split, subset=hf_subset, log_message="Clustering - k-means over every row..."):
            return cluster_every_row(embeddings, labels, seeds=seeds, batch_size=self.k_mean_batch_size)
