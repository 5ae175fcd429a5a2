"""PubMed and PubMed Central records in NCBI's XML: efetch ``PubmedArticleSet`` answers (and NLM baseline files) and
efetch ``pmc-articleset`` answers or bare JATS ``<article>`` files (OA package ``.nxml``). Fetched by
:class:`medeval.sources.eutils.EutilsClient`.

    >>> from medeval.sources.ncbi_xml import parse_pubmed_xml
    >>> [a.pmid for a in parse_pubmed_xml(Path("pubmed/efetch/sample.xml").read_bytes(), "sample.xml")]
    ['38012345', ...]
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from medeval.errors import SourceError
from medeval.sources.text import clean

logger = logging.getLogger(__name__)

XLINK = "{http://www.w3.org/1999/xlink}href"


def _text(el: ET.Element | None) -> str:
    return clean("".join(el.itertext())) if el is not None else ""


@dataclass(frozen=True)
class PubmedArticle:
    """One PubMed citation: PMID (+ its version), title, abstract (all AbstractText parts), DOI, and the MeSH
    descriptor names and author keywords (the paper's LLM prompts pass both)."""

    pmid: str
    version: str
    title: str
    abstract: str
    doi: str | None
    mesh_terms: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The record's id: its PMID."""
        return self.pmid


@dataclass(frozen=True)
class PmcArticle:
    """One PMC article: PMCID (+ version when the XML has it), PMID, DOI, title, first abstract paragraph, licence."""

    pmcid: str
    version: str | None
    pmid: str | None
    doi: str | None
    title: str
    abstract_first_paragraph: str
    license: str | None

    @property
    def id(self) -> str:
        """The record's id: its PMCID (``"PMC<n>"``)."""
        return self.pmcid


def normalize_pmcid(value: str) -> str:
    """A PMC id in the one form medeval keys records by.

    Args:
        value: ``"3166277"``, ``"PMC3166277"`` or ``"PMC3166277.1"`` (any case, spaces around allowed).

    Returns:
        ``"PMC3166277"``.

    Raises:
        ValueError: not a PMC id.

    Example::

        >>> normalize_pmcid("pmc3166277.2")
        'PMC3166277'
    """
    m = re.fullmatch(r"\s*(?:PMC)?(\d+)(?:\.\d+)?\s*", str(value), flags=re.I)
    if not m:
        raise ValueError(f"not a PMC id: {value!r}")
    return f"PMC{m.group(1)}"


# ----------------------------------------------------------------------------------------------------- parsing
def parse_pubmed_xml(data: bytes, where: Any = "<xml>") -> list[PubmedArticle]:
    """The PubmedArticle records of a ``<PubmedArticleSet>`` document (an efetch answer or an NLM baseline file).

    Args:
        data: the XML bytes.
        where: the file or URL it came from, named in errors.

    Returns:
        One :class:`PubmedArticle` per record, in document order: PMID and version, title, abstract (all
        AbstractText parts joined), DOI, MeSH descriptor names and author keywords.

    Raises:
        SourceError: not well-formed XML, an efetch error answer, another document type, or a record without a PMID.
    """
    root = _parse(data, where)
    if root.tag == "eFetchResult":
        raise SourceError(f"{where}: efetch error: {_text(root.find('ERROR')) or _text(root)}")
    if root.tag != "PubmedArticleSet":
        raise SourceError(f"{where}: expected a <PubmedArticleSet> document, found <{root.tag}>")
    out = []
    for art in root.iter("PubmedArticle"):
        cit = art.find("MedlineCitation")
        pmid_el = cit.find("PMID") if cit is not None else None
        if pmid_el is None or not clean(pmid_el.text):
            raise SourceError(f"{where}: a PubmedArticle without MedlineCitation/PMID")
        article = cit.find("Article")
        title = _text(article.find("ArticleTitle")) if article is not None else ""
        parts = [_text(a) for a in article.iterfind("Abstract/AbstractText")] if article is not None else []
        doi = None
        for aid in art.iterfind("PubmedData/ArticleIdList/ArticleId"):
            if aid.get("IdType") == "doi" and clean(aid.text):
                doi = clean(aid.text)
                break
        if doi is None and article is not None:
            for loc in article.iterfind("ELocationID"):
                if loc.get("EIdType") == "doi" and clean(loc.text):
                    doi = clean(loc.text)
                    break
        mesh = tuple(t for t in (_text(d) for d in cit.iterfind("MeshHeadingList/MeshHeading/DescriptorName")) if t)
        keywords = tuple(t for t in (_text(k) for k in cit.iterfind("KeywordList/Keyword")) if t)
        out.append(PubmedArticle(clean(pmid_el.text), pmid_el.get("Version", "1"), title, " ".join(p for p in parts if p), doi,
                                 mesh, keywords))
    return out


def _first_abstract(meta: ET.Element) -> ET.Element | None:
    abstracts = meta.findall("abstract")
    for a in abstracts:
        if a.get("abstract-type") is None:
            return a
    for a in abstracts:
        if a.get("abstract-type") not in {"graphical", "teaser", "toc", "short", "web-summary"}:
            return a
    return abstracts[0] if abstracts else None


def _first_paragraph(abstract: ET.Element | None) -> str:
    if abstract is None:
        return ""
    for p in abstract.iter("p"):
        text = _text(p)
        if text:
            return text
    return _text(abstract)


def _pmc_article(art: ET.Element, where: Any) -> PmcArticle | None:
    meta = art.find("front/article-meta")
    if meta is None:
        return None
    ids: dict[str, str] = {}
    for aid in meta.iterfind("article-id"):
        kind, value = aid.get("pub-id-type", ""), clean(aid.text)
        if value and kind not in ids:
            ids[kind] = value
    raw = ids.get("pmcid") or ids.get("pmc")
    if raw is None:
        logger.warning("%s: an <article> without a pmc/pmcid article-id is skipped", where)
        return None
    try:
        pmcid = normalize_pmcid(raw)
    except ValueError:
        raise SourceError(f"{where}: article-id {raw!r} is not a PMC id") from None
    version = ids.get("pmcid-ver")
    if version is None:
        for v in meta.iterfind("article-version"):
            if v.get("article-version-type") == "pmc-version" and clean(v.text):
                version = f"{pmcid}.{clean(v.text)}"
    lic = meta.find("permissions/license")
    license_ = None
    if lic is not None:
        ref = next((clean(e.text) for e in lic.iter() if e.tag.endswith("license_ref") and clean(e.text)), None)
        license_ = lic.get(XLINK) or ref or lic.get("license-type") or _text(lic)[:120] or None
    return PmcArticle(pmcid, version, ids.get("pmid"), ids.get("doi"), _text(meta.find("title-group/article-title")),
                      _first_paragraph(_first_abstract(meta)), license_)


def parse_pmc_xml(data: bytes, where: Any = "<xml>") -> list[PmcArticle]:
    """The articles of an efetch ``<pmc-articleset>`` answer or of a bare JATS ``<article>`` (an OA package ``.nxml``).

    Args:
        data: the XML bytes.
        where: the file or URL it came from, named in errors and warnings.

    Returns:
        One :class:`PmcArticle` per article with a PMC id (others are skipped with a warning): PMCID and version,
        PMID, DOI, title, first abstract paragraph, licence.

    Raises:
        SourceError: not well-formed XML, an efetch error answer, another document type, or an article id that is
            not a PMC id.
    """
    root = _parse(data, where)
    if root.tag == "eFetchResult":
        raise SourceError(f"{where}: efetch error: {_text(root.find('ERROR')) or _text(root)}")
    if root.tag == "article":
        arts = [root]
    elif root.tag == "pmc-articleset":
        arts = root.findall("article")
    else:
        raise SourceError(f"{where}: expected <pmc-articleset> or a JATS <article>, found <{root.tag}>")
    return [a for a in (_pmc_article(art, where) for art in arts) if a is not None]


def _parse(data: bytes, where: Any) -> ET.Element:
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        raise SourceError(f"{where}: not well-formed XML ({err}); replace the file with the raw efetch answer") from None


PARSERS = {"pubmed": parse_pubmed_xml, "pmc": parse_pmc_xml}
