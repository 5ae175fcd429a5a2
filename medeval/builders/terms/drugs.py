"""Drug-name synonym pairs (offline), from the variant -> canonical-name dictionary that
``drug-named-entity-recognition`` ships: ``terms.drug_synonym_pairs``. A pair is (a name variant, its canonical
name) or (the variant, a TF-IDF-similar canonical name of another drug).

    >>> built = drug_synonym_pairs(get_spec("DrugSynonymPairClassification"), BuildContext())
    >>> sorted({r["labels"] for r in built.tables["data/test"]})
    [0, 1]
"""
from __future__ import annotations

import bz2
import pickle
import re

from pydantic import Field

from medeval.build import BuildContext, BuiltTask, builder
from medeval.builders.sampling import sample
from medeval.builders.terms.package_files import package_file
from medeval.builders.terms.rows import PairParams, clean, construction_of, one_per_first, param_of, tfidf_pair_tables
from medeval.spec import TaskSpec


class DrugPairParams(PairParams):
    """``construction.params`` of ``terms.drug_synonym_pairs``."""

    min_variant_length: int = Field(default=4, gt=0, description="shorter brand names / synonyms are left out")


_MARKUP_RE = re.compile(r"&[A-Za-z]+;|[<>{}|=]|https?:|[\x00-\x1f\x7f-\x9f\u200b-\u200f]")


@builder("terms.drug_synonym_pairs", params=DrugPairParams)
def drug_synonym_pairs(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.drug_synonym_pairs``: (a name variant, its canonical drug name) = 1; (the variant, a TF-IDF-similar
    canonical name of another drug, neither name containing the other) = 0. Variants with markup, under the
    minimum length or mapped to several drugs are left out.

    Args:
        spec: the task; ``params`` is :class:`DrugPairParams` (minimum variant length).
        ctx: unused (offline).

    Returns:
        ``data/test`` (1:1) and the manifest's counts.
    """
    path = package_file("drug_named_entity_recognition", "drug-named-entity-recognition", "drug_ner_dictionary.pkl.bz2")
    c = construction_of(spec)
    min_len = int(param_of(spec, "min_variant_length", 4))
    # the package's own dictionary file: a pickle shipped inside the pinned distribution (the package itself
    # unpickles it on import); read without importing the package, which would build its search index
    with bz2.open(path, "rb") as f:
        data = pickle.load(f)  # trusted: a file of the pinned, installed package
    variant_to_canonical: dict[str, list[str]] = data["drug_variant_to_canonical"]
    all_pos: list[tuple[str, str]] = []
    dropped = 0
    for variant in sorted(variant_to_canonical):
        canonicals = sorted({clean(x) for x in variant_to_canonical[variant]})
        v = clean(variant)
        if len(canonicals) != 1 or len(v) < min_len or _MARKUP_RE.search(v) or _MARKUP_RE.search(canonicals[0]):
            dropped += 1
            continue
        if v.casefold() == canonicals[0].casefold():
            continue
        all_pos.append((v, canonicals[0]))
    all_pos = one_per_first(all_pos, c.seed)
    positives = sample(all_pos, c.max_rows // 2, c.seed, "terms-positives")

    def allowed(i: int, j: int) -> bool:
        # another drug, and neither name contains the other ('insulin' vs 'insulin glargine' is not a clean negative)
        a, b = positives[i][1].casefold(), positives[j][1].casefold()
        return a not in b and b not in a

    tables, stats = tfidf_pair_tables(spec, positives, allowed)
    sources = {
        "package": "drug-named-entity-recognition",
        "variants": len(variant_to_canonical),
        "variants_dropped_markup_length_or_ambiguous": dropped,
        "positive_pairs_available": len(all_pos),
        **stats,
    }
    return BuiltTask(tables, sources, ["drug-named-entity-recognition", "scikit-learn"])
