"""The embedding cache of ``medeval run``: each distinct text is encoded once per model, across tasks and runs.

One module per idea: :mod:`~medeval.embedding_cache.keys` (what a vector's key covers),
:mod:`~medeval.embedding_cache.shards` (the append-only shard files), :mod:`~medeval.embedding_cache.encoder` (the
mteb encoder that reads and fills the cache) and :mod:`~medeval.embedding_cache.folders` (where the cache lives,
``medeval cache info`` / ``clear``).

    >>> from medeval.embedding_cache import cached_encoder, cache_info, cache_clear
    >>> model = cached_encoder(loaded.model, loaded.meta)           # an mteb encoder; mteb.evaluate(model, task)
    >>> print(cache_info())                                          # medeval cache info
    >>> print(cache_clear("sentence-transformers/all-MiniLM-L6-v2"))  # medeval cache clear --model ...

Where: ``<data folder>/embeddings/<org>__<model>/<revision>/`` (data folder: ``--data-dir``, ``$MEDEVAL_HOME`` or
``~/.cache/medeval``). ``medeval run --no-cache`` does not read or write it.

Key: sha256 over (what the encoder is, how this call encodes, the text). "What the encoder is" = model name,
revision, wrapper class and, for sentence-transformers models, the module configs (pooling, normalisation,
max length), the prompts, the weight dtype and a fingerprint of the weights (a fixed sample of every tensor, so a
model folder retrained in place gets new keys). "How this call encodes" = the prompt sentence-transformers will
actually prepend (mteb's per-task/prompt-type choice, else the model's own query/document/default prompt), the
query/document route for models with a Router module, and every encode setting except speed-only ones (batch
size, progress bar, devices). For encoders other than mteb's sentence-transformers wrapper, whose prompts and inputs
medeval cannot see, the key holds the task name, type, split, subset and prompt type and the whole input row (not
only its text): their vectors are still reused across runs, but not across tasks. Texts are never stored, only
their hashes.

Storage: append-only shard files ``emb-<time>-<pid>-<sha256>.emb``, each two ``.npy`` arrays back to back (keys
``uint8[n, 32]``, vectors ``[n, dim]``), written with :func:`medeval.fsutil.atomic_write_bytes` (a temporary file,
fsynced and renamed), so an interrupted write leaves no shard at all. The sha256 of the whole file is in its name
and is checked before any vector of the shard is used; a damaged shard is renamed ``*.corrupt`` and its texts are
encoded again, so the cache never returns wrong vectors. Several processes can share a folder (each writes its own
shards). Measured on this machine kind (200,000 x 384 float32): shards wrote in 2.2 s and read back fully in ~1 s,
sqlite with blobs took 62 s / 19 s.
"""

from medeval.embedding_cache.encoder import CachedEncoder, cached_encoder
from medeval.embedding_cache.folders import cache_clear, cache_info, cache_root, model_folder
from medeval.embedding_cache.keys import text_keys
from medeval.embedding_cache.shards import ShardError, ShardStore, read_shard

__all__ = [
    "CachedEncoder", "ShardError", "ShardStore", "cache_clear", "cache_info", "cache_root", "cached_encoder",
    "model_folder", "read_shard", "text_keys",
]
