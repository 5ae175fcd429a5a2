"""Training MedTE, medeval's reference submission, with sentence-transformers' trainer.

* :mod:`medeval.training.config`  the YAML schema of a training run (``configs/medte.yaml``, ``configs/medte-mini.yaml``)
* :mod:`medeval.training.pairs`   the pair type, the per-source builder registry and the cleaning every source gets
* :mod:`medeval.training.pair_sources` one positive-pair builder per training source, on the build pipeline's source
  clients, and ``build_pairs`` over the sources a config enables
* :mod:`medeval.training.leakage` the filter that drops every pair sharing a text with a benchmark task's data
* :mod:`medeval.training.trainer` model, loss, trainer arguments and the probe loss, as the config says
* :mod:`medeval.training.run`     the run itself (resume, leakage filter, training) and what it writes

The command line entry is ``medeval train --config configs/medte-mini.yaml`` (:func:`medeval.train.train_from_config`).
"""
