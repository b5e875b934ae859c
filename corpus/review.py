"""The review as one clean object, merged from the two captures shipped in ``corpus/captures``.

The journal page is the primary source (authors, keywords, references); the aggregator page adds the
Chinese title. Both carry the abstract; it is kept once. Bibliographic facts that neither capture prints
(journal, year, DOI, license) are the article's front matter, recorded in captures/ATTRIBUTION.md.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from corpus.captures import AGGREGATOR_FILE, JOURNAL_FILE, parse_aggregator, parse_citation, parse_journal
from corpus.models import N_REFERENCES

CAPTURES_DIR = Path(__file__).resolve().parent / "captures"

JOURNAL = "Cancer Drug Resistance"
JOURNAL_ABBREV = "Cancer Drug Resist"
YEAR = 2026
DOI = "10.20517/cdr.2025.215"
LICENSE = "CC BY 4.0"

log = logging.getLogger("mesochat.corpus")


class Reference(BaseModel):
    """One numbered entry of the review's reference list. Only 7 of 206 have text in the capture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    captured: bool
    text: str | None = None
    authors: list[str] = []  # personal names "Szlosarek PW" (or an organisation when it is the author)
    et_al: bool = False
    group: str | None = None  # group author after "et al.;", e.g. "ATOMIC-Meso Study Group"
    title: str | None = None
    journal: str | None = None
    year: int | None = None
    volume: str | None = None
    pages: str | None = None
    pmcid: str | None = None
    url: str | None = None
    accessed: str | None = None  # web pages: the "Last accessed" date as printed

    @property
    def label(self) -> str:
        return f"[{self.n}]"

    @property
    def short(self) -> str:
        """'Szlosarek PW et al., JAMA Oncol 2024' or 'Reference 12' when the text was not captured."""
        if not self.captured:
            return f"Reference {self.n}"
        who = self.authors[0] if self.authors else (self.group or "")
        if who and (self.et_al or len(self.authors) > 1):
            who += " et al."
        where = " ".join(str(p) for p in (self.journal, self.year) if p) or (self.url or "")
        return ", ".join(p for p in (who, where) if p) or f"Reference {self.n}"


class Review(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    title_zh: str | None
    authors: list[str]
    journal: str
    journal_abbrev: str
    year: int
    doi: str
    license: str
    keywords: list[str]
    abstract: str
    references: list[Reference]

    @property
    def url(self) -> str:
        return f"https://doi.org/{self.doi}"

    @property
    def citation(self) -> str:
        first = self.authors[0].split()
        lead = f"{first[-1]} {''.join(p[0] for p in first[:-1])}" if len(first) > 1 else self.authors[0]
        return f"{lead}, et al. {self.title}. {self.journal_abbrev} {self.year}. doi:{self.doi}"

    def reference(self, n: int) -> Reference:
        if not 1 <= n <= len(self.references):
            raise KeyError(f"the review has references 1..{len(self.references)}, not {n}")
        return self.references[n - 1]


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _build_reference(n: int, text: str | None) -> Reference:
    if text is None:
        return Reference(n=n, captured=False)
    return Reference(n=n, captured=True, text=text, **parse_citation(text))


@functools.lru_cache(maxsize=8)
def _load(captures_dir: Path, _stamp: tuple) -> Review:
    agg_path = captures_dir / AGGREGATOR_FILE
    jrn_path = captures_dir / JOURNAL_FILE
    agg = parse_aggregator(agg_path)
    jrn = parse_journal(jrn_path, N_REFERENCES)

    if not _same(agg.title, jrn.title):
        log.warning("titles differ between %s and %s; using the journal's", agg_path.name, jrn_path.name)
    if not _same(agg.abstract, jrn.abstract):
        log.warning("abstracts differ between %s and %s; using the journal's", agg_path.name, jrn_path.name)

    return Review(
        title=jrn.title,
        title_zh=agg.title_zh,
        authors=jrn.authors,
        journal=JOURNAL,
        journal_abbrev=JOURNAL_ABBREV,
        year=YEAR,
        doi=DOI,
        license=LICENSE,
        keywords=jrn.keywords,
        abstract=jrn.abstract,  # the two captures carry the same paragraph; keep it once
        references=[_build_reference(n, jrn.references[n]) for n in sorted(jrn.references)],
    )


def _stamp(captures_dir: Path) -> tuple:
    out = []
    for name in (AGGREGATOR_FILE, JOURNAL_FILE):
        try:
            st = (captures_dir / name).stat()
            out.append((st.st_mtime_ns, st.st_size))
        except OSError:
            out.append(None)
    return tuple(out)


def load_review(captures_dir: str | Path | None = None) -> Review:
    """Parse the captures (default: the package's ``corpus/captures``) into one Review.

    Raises MesochatError naming the file when a capture is missing or malformed.
    """
    path = Path(captures_dir).resolve() if captures_dir is not None else CAPTURES_DIR
    return _load(path, _stamp(path))
