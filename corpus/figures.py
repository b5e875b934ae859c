"""Figures (trial results and approvals) and the strength of the sources behind them.

A figure "rests on" its best source: primary > regulatory > registry > secondary. Each source's copy is
classed by its host (corpus/source_hosts.yaml): staging, GitHub and aggregator/mirror copies are weak.

The rule (issue 19, records v3c):
- a figure source read on a staging or GitHub copy must say why in `copy_reason` (no proper copy was found,
  and what was searched); the shipped-records test fails otherwise;
- a figure resting only on aggregator copies (a mirror or re-post of a published abstract or news report) is
  kept when it was read there, cited as `evidence: secondary` with the original it copies named in `note`;
  such figures are counted and listed by `mesochat corpus stats`, not failed;
- a host in no list fails the test until it is classified.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import yaml

from corpus.models import EVIDENCE_LEVELS, AgentRecord, Record, Source, TrialRecord

# Host classes live in corpus/source_hosts.yaml (data, with a comment per entry); see that file's header.
HOSTS_FILE = Path(__file__).resolve().parent / "source_hosts.yaml"
WEAK_CLASSES = ("staging", "github", "aggregator")
STAGING_CLASSES = ("staging", "github")  # the hygiene ask: replace, or give the reason in copy_reason
PROPER_CLASSES = ("publisher", "index", "registry", "regulator", "society", "repository", "institution", "news")
HOST_CLASSES = (*WEAK_CLASSES, *PROPER_CLASSES, "unlisted")
# An unlisted host whose name says it is not a public production site is treated as staging.
_STAGING_NAME = re.compile(r"(^|[.-])(staging|stage|dev|test|uat|sandbox|preview)([.-]|$)|dev\.[a-z]+$")


@lru_cache(maxsize=1)
def host_lists() -> dict[str, tuple[str, ...]]:
    """class -> hosts, from source_hosts.yaml (weak classes first, so a weak entry wins over a proper one)."""
    data = yaml.safe_load(HOSTS_FILE.read_text(encoding="utf-8")) or {}
    out: dict[str, tuple[str, ...]] = {}
    for group in ("weak", "proper"):
        for cls, hosts in (data.get(group) or {}).items():
            out[cls] = tuple(str(h).lower() for h in hosts or ())
    unknown = set(out) - set(HOST_CLASSES)
    if unknown:
        raise ValueError(f"{HOSTS_FILE.name}: unknown host class(es) {sorted(unknown)}; use {HOST_CLASSES}")
    return out


# Kept for callers that want the flat list of weak hosts.
WEAK_HOSTS = tuple(h for c in WEAK_CLASSES for h in host_lists().get(c, ()))


def host_class(host: str) -> str:
    """staging | github | aggregator | publisher | index | ... | news | unlisted, for one host name."""
    host = host.lower()
    lists = host_lists()
    for cls in HOST_CLASSES[:-1]:
        if any(host == h or host.endswith("." + h) for h in lists.get(cls, ())):
            return cls
    if _STAGING_NAME.search(host):
        return "staging"
    return "unlisted"


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

    @property
    def staging_or_github(self) -> tuple[Source, ...]:
        """The sources of this figure read on a staging or GitHub copy (each needs a `copy_reason`)."""
        return tuple(s for s in self.sources if source_class(s) in STAGING_CLASSES)


def _host(address: str | None) -> str:
    return (urlparse(address).hostname or "").lower() if address else ""


def source_address(source: Source) -> str | None:
    """The address the figure was read at: the copy read, else the url cited (None for a bare locator)."""
    return source.copy or source.url


def source_class(source: Source) -> str:
    """Host class of the copy read; a doi/pmid/pmcid/ref/review locator without a copy counts as "locator"."""
    host = _host(source_address(source))
    return host_class(host) if host else "locator"


def is_weak(source: Source) -> bool:
    """True when the copy read (copy, else url) sits on a staging, GitHub or aggregator host."""
    return source_class(source) in WEAK_CLASSES


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
    by_host_class: Counter  # host class -> figure sources read on it
    weak_figures: tuple  # the figures resting only on weak copies (staging, GitHub or aggregator)
    unlisted_hosts: Counter  # host -> figure sources read on a host in no list
    staging_sources: tuple = ()  # (figure, source) for every figure source read on a staging or GitHub copy

    @property
    def aggregator_only(self) -> tuple:
        """Figures resting only on weak copies, none of them staging or GitHub: kept, counted and listed."""
        return tuple(f for f in self.weak_figures if not f.staging_or_github)

    @property
    def staging_unexplained(self) -> tuple:
        """(figure, source) read on a staging or GitHub copy without a written copy_reason: a test failure."""
        return tuple((f, s) for f, s in self.staging_sources if not s.copy_reason)


def evidence_counts(records: list[Record]) -> EvidenceCounts:
    by_level: Counter = Counter()
    weak: Counter = Counter()
    total: Counter = Counter()
    classes: Counter = Counter()
    unlisted: Counter = Counter()
    weak_figures = []
    staging = []
    for f in figures(records):
        total[f.record.type] += 1
        by_level[(f.record.type, f.best_evidence or "none")] += 1
        for s in f.sources:
            cls = source_class(s)
            classes[cls] += 1
            if cls == "unlisted":
                unlisted[_host(source_address(s))] += 1
            if cls in STAGING_CLASSES:
                staging.append((f, s))
        if f.weak_only:
            weak[f.record.type] += 1
            weak_figures.append(f)
    return EvidenceCounts(by_level, weak, total, classes, tuple(weak_figures), unlisted, tuple(staging))
