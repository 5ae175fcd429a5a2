"""BibTeX for tasks and benchmarks, ready to paste (``medeval cite``).

    >>> from medeval.cite import cite_task
    >>> print(cite_task("WikiSyndromesClassification"))   # the source's entry, then the paper's
"""

from __future__ import annotations

PAPER_BIBTEX = """@article{khodadad2025medte,
  title = {Towards Domain Specification of Embedding Models in Medicine},
  author = {Khodadad, Mohammad and Shiraee Kasmaee, Ali and Astaraki, Mahdi and Mahyar, Hamidreza},
  journal = {arXiv preprint arXiv:2507.19407},
  year = {2025},
  url = {https://arxiv.org/abs/2507.19407}
}
"""

MEDEVAL_BIBTEX = """@misc{medeval2026,
  title = {medeval: a reproducible benchmark and leaderboard for medical text embeddings},
  author = {{medeval developers}},
  year = {2026},
  note = {MedEval v1 and MedEval-Terms task specifications and builders}
}
"""

MTEB_BIBTEX = """@article{muennighoff2022mteb,
  title = {MTEB: Massive Text Embedding Benchmark},
  author = {Muennighoff, Niklas and Tazi, Nouamane and Magne, Lo{\\"\\i}c and Reimers, Nils},
  journal = {arXiv preprint arXiv:2210.07316},
  year = {2022},
  url = {https://arxiv.org/abs/2210.07316}
}
"""


def _key(entry: str) -> str:
    return entry.split("{", 1)[1].split(",", 1)[0].strip()


def _unique(entries: list[str]) -> str:
    seen: set[str] = set()
    out = []
    for block in entries:
        for entry in _split(block):
            k = _key(entry)
            if k not in seen:
                seen.add(k)
                out.append(entry.strip() + "\n")
    return "\n".join(out)


def _split(block: str) -> list[str]:
    parts, current = [], []
    for line in block.strip().splitlines():
        if line.lstrip().startswith("@") and current:
            parts.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        parts.append("\n".join(current))
    return parts


def cite_task(name: str) -> str:
    """The task's source entry and its paper / benchmark entry."""
    from medeval.catalog import get_spec

    spec = get_spec(name)
    return _unique([spec.source.bibtex, spec.citation])


def cite_benchmark(name: str) -> str:
    """Every entry a paper using the benchmark should cite: the benchmark, mteb, and each task's source."""
    from medeval.catalog import get_tasks

    tasks = get_tasks(benchmark=name)
    entries = [tasks[0].spec.citation if tasks else MEDEVAL_BIBTEX, MEDEVAL_BIBTEX, MTEB_BIBTEX]
    entries += [t.spec.source.bibtex for t in tasks]  # type: ignore[attr-defined]
    return _unique(entries)
