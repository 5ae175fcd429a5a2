"""The ``medeval`` entry point: run the app on a command line and turn every outcome into an exit code.

Bad input ends with one line ``error: ...`` (what, where, how to fix) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from medeval.cli.app import app
from medeval.cli.argv import expand_multi_value_options
from medeval.errors import MedEvalError

#: Printed to stderr when a command is interrupted (Ctrl-C).
INTERRUPT_HINT = "interrupted: finished tasks are saved; run the same command again to resume"


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes click raises for bad command lines: typer >= 0.29 vendors click (``typer._click``),
    older typer uses the ``click`` package; both derive from a ``ClickException`` with ``show()``/``exit_code``."""
    types: list[type[BaseException]] = []
    try:
        from typer._click.exceptions import ClickException as VendoredClickException

        types.append(VendoredClickException)
    except ImportError:  # typer < 0.29
        pass
    try:
        import click

        types.append(click.exceptions.ClickException)
    except ImportError:
        pass
    return tuple(types)


def _abort_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [typer.Abort]
    try:
        import click

        types.append(click.exceptions.Abort)
    except ImportError:
        pass
    return tuple(types)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``medeval`` command.

    Args:
        argv: the arguments after the program name (default ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 1 some work failed, 2 bad input (usage error or a :class:`MedEvalError`, printed as
        one ``error: ...`` line), 130 interrupted (Ctrl-C; the hint to resume is printed). Never a traceback for a
        usage error, whichever click typer bundles.

    Example:
        >>> main(["cite", "WikiSyndromesClassification"])  # doctest: +SKIP
        0
    """
    args = list(sys.argv[1:] if argv is None else argv)
    usage_errors = _usage_error_types()
    try:
        import typer.main

        root = typer.main.get_command(app)  # built once: it both reads the options and runs the command
        args = expand_multi_value_options(args, root)
        code = root(args=args, standalone_mode=False, prog_name="medeval")  # non-standalone: returns Exit's code
        if code == 130:  # typer turns Ctrl-C into Exit(130) before we see the KeyboardInterrupt
            typer.echo(INTERRUPT_HINT, err=True)
            return 130
        if isinstance(code, int) and code:
            return code
    except MedEvalError as err:
        for line in str(err).splitlines() or [type(err).__name__]:
            typer.echo(f"error: {line}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo(INTERRUPT_HINT, err=True)
        return 130
    except typer.Exit as e:
        return int(e.exit_code or 0)
    except SystemExit as e:
        return int(e.code or 0) if isinstance(e.code, int) else 1
    except usage_errors as err:  # unknown option, missing value, bad choice, extra argument
        err.show()  # type: ignore[attr-defined]  # click's usage line + "Error: ..." (two lines)
        return int(getattr(err, "exit_code", 2))
    except _abort_types():
        typer.echo(INTERRUPT_HINT, err=True)
        return 130
    except OSError as err:  # a full, read-only or missing folder outside the per-task handling: one line
        from medeval.os_errors import describe_os_error

        typer.echo(f"error: {describe_os_error(err, action='read or write')}", err=True)
        return 1
    return 0
