"""The results folder: its layout, its files, checking it and submitting it to the leaderboard.

One module per idea, in the order data flows through them:

* :mod:`medeval.results.layout` -- the folder format (``results/<org>__<model>/<revision>/<TaskName>.json``,
  ``model_meta.json``, ``run_settings.jsonl``) and the safe-name rules for models and revisions;
* :mod:`medeval.results.files` -- reading and writing those files atomically, healing a folder a killed run left;
* :mod:`medeval.results.validate` (walking folders) and :mod:`medeval.results.file_checks` (checking files) --
  ``medeval validate``, returning a :class:`~medeval.results.report.ValidationReport`;
* :mod:`medeval.results.submit` -- ``medeval submit``, returning a :class:`~medeval.results.submit.SubmitReport`;
* :mod:`medeval.results.migrate` -- ``medeval results migrate``, stamping protocol fingerprints on old results.

The library returns reports and prints nothing; ``medeval``'s command line prints their ``lines()``.

    >>> from medeval.results import files, layout
    >>> folder = layout.revision_folder("out", meta)            # out/results/<org>__<model>/<revision>
    >>> files.read_run_settings(folder)                         # {task name: its run-settings line}
"""
