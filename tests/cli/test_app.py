"""The CLI's wiring (medeval/cli/app.py): every command is registered once, and its help is its docstring's
summary, never the Args/Raises sections that document the function for readers of the code."""

from __future__ import annotations

import inspect

import typer.main

from medeval.cli.app import app, command_help


def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    for name, cmd in group.commands.items():
        if getattr(cmd, "commands", None):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_every_command_is_wired_with_its_docstring_summary() -> None:
    root = typer.main.get_command(app)
    found = dict(_commands(root))
    assert set(found) == {("tasks",), ("show",), ("check",), ("cite",), ("build",), ("push-data",), ("run",),
                          ("validate",), ("submit",), ("results", "migrate"), ("site", "build"), ("site", "serve"),
                          ("cache", "info"), ("cache", "clear"), ("train",)}
    for path, cmd in found.items():
        doc = inspect.getdoc(cmd.callback) or ""
        assert cmd.help and doc.startswith(cmd.help), path
        assert "Args:" not in cmd.help and "Raises:" not in cmd.help, path


def test_command_help_stops_at_the_first_section() -> None:
    def f() -> None:
        """Do a thing, described over
        two lines.

        A second paragraph stays.

        Args:
            nothing: really.

        Raises:
            typer.Exit: always.
        """

    assert command_help(f) == "Do a thing, described over\ntwo lines.\n\nA second paragraph stays."
    assert command_help(lambda: None) == ""
