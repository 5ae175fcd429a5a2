"""A dataset column read in one pass, not one row at a time.

Since datasets 4, ``dataset["label"]`` is a lazy :class:`datasets.arrow_dataset.Column`: iterating it, indexing it
by position or handing it to numpy (``np.asarray``, which scikit-learn's metrics call on their inputs) formats the
table one row at a time. mteb's classification scoring passes that column to seven scikit-learn metrics in each of
its 10 experiments, and its undersampling reads it by position: on CCSCategoryClassification that was about 17 s
of a 23 s task, all in row-by-row formatting (a profile of ``medeval run`` on a filled embedding cache). Reading the
column with one slice (``column[:]``) formats it in one batch and gives the same values.

    >>> from datasets import Dataset
    >>> column_values(Dataset.from_dict({"label": [1, 0, 1]})["label"])
    [1, 0, 1]
"""

from __future__ import annotations

from typing import Any


def column_values(values: Any) -> Any:
    """``values`` as an in-memory sequence: a datasets ``Column`` read in one batch, anything else unchanged.

    Args:
        values: a datasets ``Column`` (what ``dataset[name]`` returns), a list or an array.

    Returns:
        For a ``Column``, its values in row order as the dataset's format gives them (a list for the default
        format, an array for the numpy one); otherwise ``values`` itself.
    """
    from datasets.arrow_dataset import Column

    return values[:] if isinstance(values, Column) else values


class ColumnsInMemory:
    """A read-only view of a ``datasets.Dataset`` whose named columns are read once, into memory.

    Everything else (``len``, ``select``, other columns, attributes) goes to the dataset, so code that indexes
    ``view[name][i]`` row after row (mteb's undersampling) reads a list instead of formatting one row per access.

    Args:
        dataset: the dataset.
        names: the columns to hold in memory.

    Example:
        >>> view = ColumnsInMemory(dataset, ["label"])
        >>> view["label"][3]          # a list lookup
        >>> view.select([0, 3])       # the dataset's own select: a datasets.Dataset
    """

    def __init__(self, dataset: Any, names: list[str]) -> None:
        self._dataset = dataset
        self._columns = {name: column_values(dataset[name]) for name in names}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str) and key in self._columns:
            return self._columns[key]
        return self._dataset[key]

    def __len__(self) -> int:
        return len(self._dataset)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dataset, name)
