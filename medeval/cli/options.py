"""What the commands share: the option types every data-reading command takes, applying them, and table output.

Nothing here imports more than typer: the command modules import it at ``--help`` time.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Fmt(str, Enum):
    """Output format of a listing: a ``rich`` table for people or JSON for scripts."""

    table = "table"
    json = "json"


IncludePath = Annotated[
    Optional[list[Path]],
    typer.Option("--include-path", help="Folder of your own task YAMLs to add (repeatable)."),
]
AllowCustomLoaders = Annotated[
    bool,
    typer.Option("--allow-custom-loaders", help="Let task YAMLs name a loader outside medeval. Runs code: only for task files you trust."),
]
DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Folder of built task data (default $MEDEVAL_HOME or ~/.cache/medeval)."),
]


def output_folder(value: str | Path) -> Path:
    """The parser of an ``--output-dir`` option: the folder as a path; an empty one is refused, since ``Path("")``
    would silently mean the current folder.

    Args:
        value: the text after ``--output-dir``/``-o`` (or the option's default, already a path).

    Returns:
        The folder (not created or checked here).

    Raises:
        MedEvalError: ``value`` is empty or only spaces (printed as one ``error:`` line, exit 2).

    Example:
        >>> output_folder("out")
        PosixPath('out')
    """
    if isinstance(value, Path):
        return value
    if not value.strip():
        from medeval.errors import MedEvalError

        raise MedEvalError("--output-dir (-o) is empty; give a folder, e.g. `-o runs`, or `-o .` for the current folder")
    return Path(value)


def apply_shared_options(include_path: list[Path] | None = None, data_dir: Path | None = None,
                         allow_custom_loaders: bool = False) -> list[str]:
    """Apply the options every command shares, in the order they depend on each other.

    Loaders outside medeval are allowed first (only when asked: they run code), then the data folder is set, then
    the user's task folders are read (after the loader choice, so their ``loader:`` is judged by it).

    Args:
        include_path: folders of the user's own task YAMLs (``--include-path``), or None.
        data_dir: the data folder (``--data-dir``), or None for ``$MEDEVAL_HOME`` / ``~/.cache/medeval``.
        allow_custom_loaders: whether task YAMLs may name a loader class outside medeval.

    Returns:
        The names of the tasks read from ``include_path``, in folder order (empty without it).

    Raises:
        SpecError: a task file in an included folder is invalid (one line per problem).

    Example:
        >>> apply_shared_options(data_dir=Path("/tmp/medeval-data"))
    """
    from medeval import paths

    if allow_custom_loaders:
        from medeval.task_class import allow_custom_loaders as allow

        allow()
    if data_dir is not None:
        paths.set_data_dir(data_dir)
    if not include_path:
        return []
    from medeval import catalog  # user task files are checked against mteb's metadata rules: imports mteb

    return [name for folder in include_path for name in catalog.add_include_path(folder)]


def echo_table(rows: list[dict[str, object]], columns: list[str]) -> None:
    """Print rows as a ``rich`` table to a terminal, or as tab-separated lines (a header line first) to a pipe or
    file, so that ``medeval tasks | grep``, ``cut -f1`` and scripts see whole names, never wrapped cells.

    Args:
        rows: one mapping per row; a column a row lacks, or holds None for, shows empty.
        columns: the keys to show, in order (also the headers).

    Example:
        >>> echo_table([{"name": "A", "type": "Retrieval"}], ["name", "type"])  # doctest: +SKIP
    """
    import sys

    if not sys.stdout.isatty():
        import typer

        for line in [columns] + [[_cell(r.get(c)) for c in columns] for r in rows]:
            typer.echo("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in line))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[_cell(r.get(c)) for c in columns])
    Console().print(table)


def _cell(value: object) -> str:
    """A table cell: empty for a missing value (None), else the value as text."""
    return "" if value is None else str(value)
