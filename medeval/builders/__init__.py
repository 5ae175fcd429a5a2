"""Task builders, one module per upstream source.

* :mod:`medeval.builders.terms` — MedEval-Terms, from terminology packages on PyPI (offline).
* ``common`` — seeded sampling, splits, caps and hard negatives shared by all builders.

Each builder is registered with :func:`medeval.build.builder` under ``"<module>.<name>"``, the id a task YAML
names in ``construction.builder``.
"""
