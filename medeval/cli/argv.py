"""Command-line rewriting before click parses it: several values after one repeatable flag (``-t A B C``), as
mteb's CLI allows."""

from __future__ import annotations

from typing import Any


def command_for(argv: list[str], root: Any) -> Any:
    """The click command a command line names, found by walking the groups.

    Args:
        argv: the command line after the program name, e.g. ``["site", "build", "--out", "x"]``.
        root: the app's click command (``typer.main.get_command(app)``).

    Returns:
        The leaf click command (``site build`` above), or None when ``argv`` names no command or stops at a group.
    """
    command = root
    for token in argv:
        sub = getattr(command, "commands", None)
        if not sub or token.startswith("-"):
            break
        if token not in sub:
            return None
        command = sub[token]
    return None if getattr(command, "commands", None) else command


def expand_multi_value_options(argv: list[str], root: Any = None) -> list[str]:
    """Let repeatable options take several values after one flag, as mteb's CLI does (``-t A B C``).

    Args:
        argv: the command line after the program name, e.g. ``["build", "-t", "A", "B"]``.
        root: the app's click command (``typer.main.get_command(app)``), if already built; None builds medeval's.

    Returns:
        The same command line with ``-t A B`` rewritten to ``-t A -t B`` for every repeatable option of a command
        that takes no positional arguments (there a bare word after a flag's value can only be another value).
        Commands with positional arguments (``validate PATH...``) are returned unchanged.

    Example:
        >>> expand_multi_value_options(["run", "-t", "A", "B", "--batch-size", "8"])
        ['run', '-t', 'A', '-t', 'B', '--batch-size', '8']
    """
    if root is None:
        import typer.main

        from medeval.cli.app import app

        root = typer.main.get_command(app)
    command = command_for(argv, root)
    if command is None:
        return argv
    params = getattr(command, "params", [])
    if any(getattr(p, "param_type_name", "") == "argument" for p in params):
        return argv
    multi = {opt for p in params if getattr(p, "multiple", False) for opt in p.opts}
    if not multi:
        return argv
    out: list[str] = []
    flag: str | None = None
    for i, token in enumerate(argv):
        if token == "--":
            out.extend(argv[i:])
            break
        if token.startswith("-") and len(token) > 1:
            flag = token if token in multi else None
            out.append(token)
            continue
        if flag is not None and out and out[-1] != flag and not out[-1].startswith("-"):
            out.append(flag)  # a further value of the same repeatable option
        out.append(token)
    return out
