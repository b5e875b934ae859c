"""Figures (trial results and approvals) and the strength of the sources behind them.

A figure "rests on" its best source: primary > regulatory > registry > secondary. Weak hosts are mirror,
staging and news-repost sites an audit found unfit to cite; no figure may rest on them alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from corpus.models import EVIDENCE_LEVELS, AgentRecord, Record, Source, TrialRecord

# From the 2026-11 records audit, section 6 (and docs: notes/records-schema-v2.md).
WEAK_HOSTS = (
    "vintage46.com",
    "mc-test.sense-studios.com",
    "123dok.org",
    "healthunlocked.com",
    "pittsburgh.citybuzz.co",
    "mesowatch.org",
    "futurehealthstocks.com",
)
FIGURE_RECORD_TYPES = ("trial", "agent")  # the only record types that carry figures


@dataclass(frozen=True)
class Figure:
    record: Record
    field: str  # dotted path inside the record, e.g. "results.3" or "approvals.0"
    label: str  # endpoint or "agency date"
    sources: tuple[Source, ...]

    @property
    def best_evidence(self) -> str | None:
        """The strongest evidence level among the sources (None when no source states one)."""
        levels = {s.evidence for s in self.sources}
        return next((lvl for lvl in EVIDENCE_LEVELS if lvl in levels), None)

    @property
    def secondary_only(self) -> bool:
        return self.best_evidence == "secondary"

    @property
    def weak_only(self) -> bool:
        return all(is_weak(s) for s in self.sources)


def _host(address: str | None) -> str:
    return (urlparse(address).hostname or "").lower() if address else ""


def is_weak(source: Source) -> bool:
    """True when the source's only address (url, or the copy read) is on a weak host."""
    hosts = [h for h in (_host(source.url), _host(source.copy)) if h]
    if not hosts:
        return False  # a doi/pmid/pmcid/ref locator without a copy address is not on any host
    return all(any(h == w or h.endswith("." + w) for w in WEAK_HOSTS) for h in hosts)


def figures(records: list[Record]) -> Iterator[Figure]:
    for r in records:
        if isinstance(r, TrialRecord):
            for i, res in enumerate(r.results):
                yield Figure(r, f"results.{i}", res.endpoint, tuple(res.sources))
        elif isinstance(r, AgentRecord):
            for i, ap in enumerate(r.approvals):
                yield Figure(r, f"approvals.{i}", f"{ap.agency} {ap.date}", tuple(ap.sources))


@dataclass(frozen=True)
class EvidenceCounts:
    by_level: Counter  # (record type, evidence level) -> figures
    weak_only: Counter  # record type -> figures resting only on weak hosts
    total: Counter  # record type -> figures


def evidence_counts(records: list[Record]) -> EvidenceCounts:
    by_level: Counter = Counter()
    weak: Counter = Counter()
    total: Counter = Counter()
    for f in figures(records):
        total[f.record.type] += 1
        by_level[(f.record.type, f.best_evidence or "none")] += 1
        if f.weak_only:
            weak[f.record.type] += 1
    return EvidenceCounts(by_level, weak, total)
