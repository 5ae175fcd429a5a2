"""The ``medeval`` command line: the only part of medeval that prints. Each command is a thin wrapper over the
library module that does the work, which returns values or reports for the command to print.

    medeval tasks --benchmark "MedEval(v1)" --format json
    medeval show WikiSyndromesClassification
    medeval cite WikiSyndromesClassification
    medeval build -b "MedEval-Terms(v1)"
    medeval run                                  # all-MiniLM-L6-v2 on MedEval-Terms, offline
    medeval validate leaderboard/results
    medeval site build --results leaderboard --out site_build

Layout: :mod:`~medeval.cli.app` wires the typer app; one module per command group holds its commands
(:mod:`~medeval.cli.catalogue`: tasks, show, check, cite; :mod:`~medeval.cli.build`: build, push-data;
:mod:`~medeval.cli.run`; :mod:`~medeval.cli.results`: validate, submit, results migrate; :mod:`~medeval.cli.site`;
:mod:`~medeval.cli.cache`; :mod:`~medeval.cli.train`; :mod:`~medeval.cli.descriptive_stats`, a script);
:mod:`~medeval.cli.options` holds the shared options; :mod:`~medeval.cli.argv` rewrites ``-t A B``;
:mod:`~medeval.cli.main` is the entry point and its exit codes.

Bad input ends with one line ``error: ...`` (what, where, how to fix) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from medeval.cli.app import app, version_report
from medeval.cli.argv import expand_multi_value_options
from medeval.cli.main import INTERRUPT_HINT, main

__all__ = ["INTERRUPT_HINT", "app", "expand_multi_value_options", "main", "version_report"]
