"""The typer app: the root command, its ``--version`` option, and every command and command group wired in one place.

The command functions live in one small module per command group (:mod:`~medeval.cli.catalogue`,
:mod:`~medeval.cli.build`, :mod:`~medeval.cli.run`, :mod:`~medeval.cli.results`, :mod:`~medeval.cli.site`,
:mod:`~medeval.cli.cache`, :mod:`~medeval.cli.train`); they import their library module only when they run, so
building this app (``medeval --help``) imports typer and nothing heavy. A command's help is its docstring up to
the first ``Args:``/``Raises:`` section, so the docstring documents the function and the help stays short.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

import typer

from medeval.cli import build, cache, catalogue, results, run, site, train

app = typer.Typer(
    help="medeval: benchmark and leaderboard for medical text-embedding models (MedEval v1, MedEval-Terms).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
site_app = typer.Typer(help="Build or serve the leaderboard site.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear the embedding cache.", no_args_is_help=True)
results_app = typer.Typer(help="Maintain result folders (protocol records).", no_args_is_help=True)

_SECTION = re.compile(r"\n\s*\n(?=(Args|Returns|Raises|Example|Examples):\s*\n)")


def command_help(fn: Callable[..., Any]) -> str:
    """A command's help text: its docstring up to the first ``Args:``, ``Returns:``, ``Raises:`` or ``Example:``.

    Args:
        fn: a command function.

    Returns:
        The docstring's leading paragraphs (dedented), or ``""`` when it has none.

    Example:
        >>> command_help(command_help).splitlines()[0]
        "A command's help text: its docstring up to the first ``Args:``, ``Returns:``, ``Raises:`` or ``Example:``."
    """
    doc = inspect.getdoc(fn) or ""
    return _SECTION.split(doc, maxsplit=1)[0].strip()


def _add(group: typer.Typer, name: str, fn: Callable[..., Any]) -> None:
    group.command(name, help=command_help(fn))(fn)


def version_report() -> str:
    """The versions a bug report (and a score) depends on, one ``name version`` pair per line.

    Returns:
        Lines for medeval, mteb, sentence-transformers, transformers, torch, Python and the device torch would use
        (``cuda (<gpu name>)``, ``mps`` or ``cpu``). A library that is not installed shows ``not installed``.

    Example:
        >>> version_report().splitlines()[0]  # doctest: +SKIP
        'medeval 0.1.0'
    """
    import platform

    from medeval.versions import package_versions

    names = ("medeval", "mteb", "sentence-transformers", "transformers", "torch")
    lines = [f"{name} {version}" for name, version in package_versions(names, missing="not installed").items()]
    lines.append(f"python {platform.python_version()}")
    try:
        import torch

        if torch.cuda.is_available():
            device = f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} device(s))"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    except ImportError:
        device = "unknown (torch not installed)"
    lines.append(f"device {device}")
    return "\n".join(lines)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(version_report())
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version_callback,
                                          help="Print medeval's, mteb's, sentence-transformers', transformers' and "
                                               "torch's versions and the device, then exit.")] = False,
) -> None:
    """medeval: benchmark and leaderboard for medical text-embedding models (MedEval v1, MedEval-Terms)."""


# The order here is the order `medeval --help` lists the commands in.
_add(app, "tasks", catalogue.tasks_cmd)
_add(app, "show", catalogue.show_cmd)
_add(app, "check", catalogue.check_cmd)
_add(app, "cite", catalogue.cite_cmd)
_add(app, "build", build.build_cmd)
_add(app, "push-data", build.push_data_cmd)
_add(app, "run", run.run_cmd)
_add(app, "validate", results.validate_cmd)
_add(app, "submit", results.submit_cmd)
_add(results_app, "migrate", results.results_migrate_cmd)
_add(site_app, "build", site.site_build_cmd)
_add(site_app, "serve", site.site_serve_cmd)
_add(cache_app, "info", cache.cache_info_cmd)
_add(cache_app, "clear", cache.cache_clear_cmd)
_add(app, "train", train.train_cmd)
app.add_typer(site_app, name="site")
app.add_typer(cache_app, name="cache")
app.add_typer(results_app, name="results")
