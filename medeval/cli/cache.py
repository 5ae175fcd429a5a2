"""Commands of the embedding cache: ``cache info`` and ``cache clear`` (:mod:`medeval.embedding_cache`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from medeval.cli.options import DataDir, apply_shared_options


def cache_info_cmd(data_dir: DataDir = None) -> None:
    """Where the embedding cache is and how big it is.

    Args:
        data_dir: the data folder whose ``embeddings/`` to report.
    """
    from medeval.embedding_cache import cache_info

    apply_shared_options(None, data_dir)
    typer.echo(cache_info())


def cache_clear_cmd(
    model: Annotated[Optional[str], typer.Option("--model", help="Only this model's entries.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Delete cached embeddings.

    Args:
        model: only this model's entries (``ORG/NAME``); None clears the whole cache.
        data_dir: the data folder whose ``embeddings/`` to clear.
    """
    from medeval.embedding_cache import cache_clear

    apply_shared_options(None, data_dir)
    typer.echo(cache_clear(model))
