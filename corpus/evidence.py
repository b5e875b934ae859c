"""Evidence rows: one typed row per reported trial figure (HR, CI, medians), read straight from the records.

A row is one result of one trial record (one endpoint, one analysis, one subgroup). Only what the
record states is carried over: a result without any figure gives no row, a missing CI stays missing,
and nothing is derived except parsing the CI text ("0.60-0.91", "0.60–0.91", "0.60 to 0.91") into
its two bounds. The comparison is the trial's first arm (experimental) against its last (control),
the order the records use; when a result names exactly two arms in ``arm_values`` those two are used.

    >>> from corpus.evidence import evidence_rows
    >>> [r.label for r in evidence_rows(endpoint="os") if r.hazard_ratio is not None]   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from corpus.models import EVIDENCE_LEVELS, Source, TrialRecord, TrialResult
from kernel.errors import MesochatError

log = logging.getLogger("mesochat.evidence")

# Treatment lines in the order plots and tables show them (records v2 `line`); no line = "other".
LINES = ("first line", "relapsed", "maintenance", "perioperative", "other")
MEASURES = ("os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "safety", "qol", "other")
MEASURE_LABELS = {
    "os": "OS", "pfs": "PFS", "orr": "ORR", "dcr": "DCR", "os_rate": "OS rate", "pfs_rate": "PFS rate",
    "safety": "Grade 3-4 TRAE", "qol": "QoL", "other": "Other",
}
MEASURE_NAMES = {
    "os": "overall survival", "pfs": "progression-free survival", "orr": "objective response rate",
    "dcr": "disease control rate", "os_rate": "overall survival rate", "pfs_rate": "progression-free survival rate",
    "safety": "grade 3-4 treatment-related adverse events", "qol": "quality of life", "other": "other endpoints",
}

_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_CI_RE = re.compile(rf"^\s*\(?\s*{_NUMBER}\s*(?:-|‐|‑|–|—|−|\bto\b|,|;)\s*{_NUMBER}\s*\)?\s*$", re.IGNORECASE)
_LEADING_FIGURE = re.compile(r"^\s*(?:median\s+)?([<>≤≥~]?\s*\d+(?:\.\d+)?\s*(?:%|months?|mo\b|weeks?|wk\b|years?|yr\b)?)",
                             re.IGNORECASE)


def parse_ci(text: str) -> tuple[float, float]:
    """'0.60-0.91' (hyphen, en/em dash, minus, 'to', comma) -> (0.60, 0.91); ValueError otherwise."""
    m = _CI_RE.match(str(text or ""))
    if not m:
        raise ValueError(f"confidence interval {text!r} is not 'low-high' (e.g. 0.60-0.91)")
    low, high = float(m.group(1)), float(m.group(2))
    if low > high:
        raise ValueError(f"confidence interval {text!r} has its lower bound above the upper one")
    return low, high


def normalise_endpoint(value: str | None) -> str | None:
    """'OS', 'os', 'PFS', 'os rate', 'os-rate' -> a records v2 measure; MesochatError for anything else."""
    if value is None or not str(value).strip():
        return None
    key = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    if key not in MEASURES:
        raise MesochatError(f"unknown endpoint {value!r}; use one of {', '.join(m.upper() for m in MEASURES)}")
    return key


def normalise_line(value: str | None) -> str | None:
    """'first-line', 'First line', '1L' -> 'first line'; other text is returned as typed (a setting search)."""
    if value is None or not str(value).strip():
        return None
    text = " ".join(str(value).strip().lower().replace("-", " ").split())
    aliases = {"1l": "first line", "frontline": "first line", "front line": "first line", "second line": "relapsed",
               "2l": "relapsed", "recurrent": "relapsed", "adjuvant": "perioperative", "neoadjuvant": "perioperative"}
    return aliases.get(text, text)


def short_figure(value: str) -> str:
    """The leading figure of an arm value: '18.1 months (95% CI 16.8-21.4)' -> '18.1 mo'."""
    m = _LEADING_FIGURE.match(value or "")
    if not m:
        text = " ".join((value or "").split())
        return text if len(text) <= 16 else text[:15] + "…"
    figure = " ".join(m.group(1).split())
    return re.sub(r"\s*(months?|mo)$", " mo", figure, flags=re.IGNORECASE)


def source_label(source: Source) -> str:
    kind, value = source.kind, source.value
    if kind == "url":
        host = re.sub(r"^https?://(www\.)?", "", str(value)).split("/")[0]
        return host
    return {"review": f"the review's {value}", "ref": f"review ref {value}", "doi": f"doi:{value}",
            "pmid": f"PMID {value}", "pmcid": str(value)}[kind]


@dataclass(frozen=True)
class EvidenceRow:
    """One reported result of one trial, with the figures exactly as its record gives them."""

    trial: str
    record_id: str
    line: str  # one of LINES
    setting: str | None
    experimental: str | None
    control: str | None
    endpoint: str  # the records v2 measure: os, pfs, orr, ...
    endpoint_text: str  # the result's own endpoint wording
    medians: tuple[tuple[str, str], ...]  # (arm, value as reported), experimental first
    hazard_ratio: float | None
    ci: str | None  # as written in the record
    ci_low: float | None
    ci_high: float | None
    ci_level: float | None
    p_value: str | None
    analysis: str | None
    follow_up: str | None
    subgroup: str | None
    timepoint: str | None
    sources: tuple[Source, ...]
    citation: str  # short label of the best source of this figure (primary first)

    @property
    def comparison(self) -> str:
        if self.experimental and self.control:
            return f"{self.experimental} vs {self.control}"
        return self.experimental or ""

    @property
    def endpoint_label(self) -> str:
        label = MEASURE_LABELS.get(self.endpoint, self.endpoint)
        return f"{label} at {self.timepoint}" if self.timepoint else label

    @property
    def population(self) -> str:
        """Everyone in the trial unless the record names a subgroup."""
        return self.subgroup or "all patients"

    @property
    def label(self) -> str:
        """'CheckMate 743 · OS · epithelioid histology · 3-year update': unique within a plot."""
        bits = [self.trial, self.endpoint_label, self.subgroup, self.analysis]
        return " · ".join(b for b in bits if b)

    @property
    def ci_level_text(self) -> str:
        if self.ci_level is None:
            return "CI, level not stated"
        return f"{self.ci_level:g}% CI"

    @property
    def hr_text(self) -> str:
        """'0.74 (96.6% CI 0.60–0.91)'; the level is always written out."""
        if self.hazard_ratio is None:
            return ""
        text = f"{self.hazard_ratio:.2f}"
        if self.ci_low is not None and self.ci_high is not None:
            text += f" ({self.ci_level_text} {self.ci_low:.2f}–{self.ci_high:.2f})"
        elif self.ci:
            text += f" ({self.ci_level_text} {self.ci})"
        else:
            text += " (CI not reported)"
        return text

    @property
    def difference(self) -> float | None:
        """Experimental minus control, in percentage points, for a rate (ORR, DCR, survival or AE rate) given
        as a percentage for both arms; None otherwise (nothing is imputed)."""
        if self.endpoint not in RATE_MEASURES or len(self.medians) != 2:
            return None
        pcts = [_leading_percent(v) for _, v in self.medians]
        return None if None in pcts else round(pcts[0] - pcts[1], 1)

    @property
    def difference_text(self) -> str:
        d = self.difference
        return "" if d is None else f"{d:+g} points ({self.medians_text})"

    @property
    def medians_text(self) -> str:
        return " vs ".join(short_figure(v) for _, v in self.medians)

    @property
    def sources_text(self) -> str:
        return "; ".join(source_label(s) + (f" ({s.evidence})" if s.evidence else "")
                         for s in self.sources)

    def as_dict(self) -> dict[str, str]:
        """Flat text columns for CSV files and tables (same names everywhere)."""
        return {
            "line": self.line, "trial": self.trial, "record_id": self.record_id, "comparison": self.comparison,
            "endpoint": self.endpoint_label, "subgroup": self.population, "analysis": self.analysis or "",
            "medians": "; ".join(f"{arm}: {v}" for arm, v in self.medians),
            "hr": "" if self.hazard_ratio is None else f"{self.hazard_ratio:g}",
            "ci_low": "" if self.ci_low is None else f"{self.ci_low:g}",
            "ci_high": "" if self.ci_high is None else f"{self.ci_high:g}",
            "ci_level": "" if self.ci_level is None else f"{self.ci_level:g}",
            "difference": "" if self.difference is None else f"{self.difference:+g}",
            "p_value": self.p_value or "", "follow_up": self.follow_up or "", "citation": self.citation,
            "sources": self.sources_text,
        }


RATE_MEASURES = ("orr", "dcr", "os_rate", "pfs_rate", "safety")


def _leading_percent(value: str) -> float | None:
    """'52% (95% CI 45.5-59.0)' -> 52.0; a value that does not open with a percentage gives None."""
    m = re.match(r"\s*(\d+(?:\.\d+)?)\s*%", value)
    return float(m.group(1)) if m else None


def _comparison(trial: TrialRecord, result: TrialResult) -> tuple[str | None, str | None]:
    names = [a.name for a in trial.arms]
    valued = [n for n in names if n in (result.arm_values or {})]
    if len(valued) == 2:
        return valued[0], valued[1]
    if len(names) >= 2:
        return names[0], names[-1]
    return (names[0] if names else None), None


def _medians(trial: TrialRecord, result: TrialResult, experimental: str | None, control: str | None):
    values = result.arm_values or {}
    order = [n for n in (experimental, control) if n] + [a.name for a in trial.arms]
    order += list(values)  # arm_values of a record without arms
    seen: dict[str, str] = {}
    for name in order:
        if name in values and name not in seen:
            seen[name] = values[name]
    return tuple(seen.items())


def _first_author(authors: str | None) -> str:
    """'Baas P, Scherpereel A, et al.' -> 'Baas P et al., ' (short enough for a plot column)."""
    if not authors or not authors.strip():
        return ""
    names = [a.strip() for a in authors.split(",") if a.strip()]
    first = names[0].removesuffix(" et al.").removesuffix(" et al").strip()
    more = len(names) > 1 or "et al" in authors
    return f"{first} et al., " if more else f"{first}, "


def _citation(trial: TrialRecord, sources: tuple[Source, ...]) -> str:
    """The best source of the figure: the trial's publication when a primary source supports it."""
    rank = {level: i for i, level in enumerate(EVIDENCE_LEVELS)}
    best = min(sources, key=lambda s: rank.get(s.evidence, len(rank)))
    publication = trial.publication
    if publication is not None and best.evidence == "primary":
        return f"{_first_author(publication.authors)}{publication.journal} {publication.year}"
    label = source_label(best)
    evidence = best.evidence
    return f"{label} ({evidence})" if evidence and evidence != "primary" else label


def _has_figure(result: TrialResult) -> bool:
    return bool(result.hazard_ratio is not None or result.ci or result.p_value or result.arm_values)


def trial_rows(trial: TrialRecord) -> list[EvidenceRow]:
    """The rows of one trial record, in the order of its results."""
    rows = []
    line = trial.line
    for result in trial.results:
        if not _has_figure(result):
            continue  # a qualitative statement has nothing to tabulate
        low = high = None
        if result.ci:
            try:
                low, high = parse_ci(result.ci)
            except ValueError as err:
                log.warning("%s, %s: %s; the interval is left out", trial.id, result.endpoint, err)
        experimental, control = _comparison(trial, result)
        sources = tuple(result.sources)
        rows.append(EvidenceRow(
            trial=trial.name, record_id=trial.id, line=line, setting=trial.setting,
            experimental=experimental, control=control,
            endpoint=result.measure, endpoint_text=result.endpoint,
            medians=_medians(trial, result, experimental, control),
            hazard_ratio=result.hazard_ratio, ci=result.ci, ci_low=low, ci_high=high,
            ci_level=result.ci_level, p_value=result.p_value,
            analysis=result.analysis, follow_up=result.follow_up,
            subgroup=result.subgroup, timepoint=result.timepoint,
            sources=sources, citation=_citation(trial, sources),
        ))
    return rows


def _matches_setting(row: EvidenceRow, wanted: str) -> bool:
    if wanted in LINES:
        return row.line == wanted
    return wanted in (row.setting or "").lower() or wanted in row.line


def _sort_key(row: EvidenceRow) -> tuple:
    measure = MEASURES.index(row.endpoint) if row.endpoint in MEASURES else len(MEASURES)
    line = LINES.index(row.line) if row.line in LINES else len(LINES)
    return line, row.trial.lower(), measure, row.subgroup is not None


def evidence_rows(records: Iterable | None = None, endpoint: str | None = None,
                  setting: str | None = None) -> list[EvidenceRow]:
    """Rows of every trial result that reports a figure, grouped by line then trial.

    ``records``: any records (non-trials are skipped); default ``corpus.load_records()``.
    ``endpoint``: a measure ("os", "PFS", ...); unknown ones raise MesochatError.
    ``setting``: a line ("first line", "relapsed", ...) or words of the trial's setting text.
    """
    measure = normalise_endpoint(endpoint)
    wanted = normalise_line(setting)
    if records is None:
        from corpus.records import load_records

        records = load_records()
    rows = [row for record in records if isinstance(record, TrialRecord) for row in trial_rows(record)]
    if measure:
        rows = [r for r in rows if r.endpoint == measure]
    if wanted:
        rows = [r for r in rows if _matches_setting(r, wanted)]
    return sorted(rows, key=_sort_key)


def hazard_ratio_rows(rows: Iterable[EvidenceRow]) -> list[EvidenceRow]:
    """The rows a forest plot draws: those with a hazard ratio."""
    return [r for r in rows if r.hazard_ratio is not None]


TABLE_COLUMNS = ("Line", "Trial", "Comparison", "Endpoint", "Patients / analysis", "By arm", "HR (CI) or difference", "p",
                 "Follow-up", "Source")


def table_cells(row: EvidenceRow) -> tuple[str, ...]:
    """One row of the text table (the plot's text equivalent), in TABLE_COLUMNS order."""
    population = ", ".join(x for x in (row.population, row.analysis) if x)
    by_arm = "; ".join(f"{arm}: {value}" for arm, value in row.medians)
    effect = row.hr_text or ("" if row.difference is None else f"{row.difference:+g} percentage points")
    return (row.line, row.trial, row.comparison, row.endpoint_label, population, by_arm, effect,
            row.p_value or "", row.follow_up or "", row.citation)


def evidence_table_markdown(rows: Iterable[EvidenceRow]) -> str:
    """A Markdown table of the rows: readable by a screen reader, copyable, the same figures as the plot."""
    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|") or "–"

    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    lines += ["| " + " | ".join(cell(c) for c in table_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"
