"""Task builders, one module (or package) per upstream source, and what they share.

Sources: :mod:`~medeval.builders.terms` (MedEval-Terms, from terminology packages on PyPI; offline),
:mod:`~medeval.builders.mimic` (MIMIC-IV-Note, from the user's credentialed copy), :mod:`~medeval.builders.wikipedia`,
:mod:`~medeval.builders.pubmed`, :mod:`~medeval.builders.pmc`, :mod:`~medeval.builders.biorxiv`,
:mod:`~medeval.builders.trials`, :mod:`~medeval.builders.medmcqa`, :mod:`~medeval.builders.medqa`,
:mod:`~medeval.builders.medquad`.

Shared: :mod:`~medeval.builders.sampling` (seeded sampling, splits, caps), :mod:`~medeval.builders.tables` (records
-> task tables, the same columns for every source), :mod:`~medeval.builders.negatives` (hard negatives).

Each builder is registered with :func:`medeval.build.builder` under ``"<module>.<name>"``, the id a task YAML
names in ``construction.builder``; ``medeval.build`` imports ``medeval.builders.<module>`` to find it.
docs/adding-a-source.md walks through adding one.
"""
