"""Lists filtered by outcome: "which trials improved OS?", "which phase 3 trials were negative?".

Membership is judged from the typed results, the same rows the Evidence view plots (corpus.evidence):
a trial improved an endpoint when a result for all its patients has a hazard ratio whose interval lies below
1 (or, without an interval, a stated p below 0.05); it was negative on that endpoint when it reports such a
comparison and none of them is significant. "Met its primary endpoint" judges the endpoint its primary
endpoint names. Trials with no comparative figure for the endpoint are not judged, so never listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from assistant.understand.phrases import matcher, vocabulary
from corpus.evidence import EvidenceRow, trial_rows

_WORDS = vocabulary("outcome_words")
_ENDPOINTS = tuple((key, matcher(words)) for key, words in _WORDS["endpoints"].items())
_PRIMARY = matcher(_WORDS["primary"])
_POSITIVE = matcher(_WORDS["positive"])
_NEGATIVE = matcher(_WORDS["negative"])
# A list of trials asked for, at the start of the question or after a preamble ("Among the placebo-controlled
# trials, which ones ...?", "In previously treated disease, which trials ...?").
_LIST_OF_TRIALS = re.compile(r"(?:^|[,;:]\s*|\b(?:among|of|in) [^,?]{0,60}?,?\s*)(?:which|what|list|name|show|were there|"
                             r"are there|any)\b.*\b(?:trials|studies|options|regimens|treatments|therapies|approaches|"
                             r"combinations|drugs|ones)\b|^\s*(?:which|what) (?:trial|study)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    endpoint: str  # "os", "pfs", "orr", or "primary"
    positive: bool  # True: improved / met; False: negative / failed
    as_primary: bool = False  # "trials with OS as their primary endpoint": only those whose primary it is


def asked_outcome(question: str) -> Outcome | None:
    """The outcome a list question filters on, or None when it asks no outcome."""
    if not _LIST_OF_TRIALS.search(question):
        return None
    negative = bool(_NEGATIVE.search(question))
    if not negative and not _POSITIVE.search(question):
        return None
    named = next((endpoint for endpoint, words in _ENDPOINTS if words.search(question)), None)
    if _PRIMARY.search(question):
        return Outcome(named, not negative, True) if named else Outcome("primary", not negative)
    if named:
        return Outcome(named, not negative)
    # "which phase 3 trials were negative?", "which trials were positive?": their primary endpoint
    return Outcome("primary", not negative)


SIGNIFICANCE = 0.05
CONFIDENCE = 95.0  # an interval narrower than 95% (a phase 2's 70% or 80% CI) does not show significance


def _significant(row: EvidenceRow) -> bool | None:
    p = re.search(r"(<)?\s*(\d*\.\d+)", row.p_value or "")
    if p:
        return float(p.group(2)) < SIGNIFICANCE or (bool(p.group(1)) and float(p.group(2)) <= SIGNIFICANCE)
    if row.ci_high is not None and row.ci_low is not None and (row.ci_level or 0) >= CONFIDENCE:
        return row.ci_high < 1.0 or row.ci_low > 1.0
    return None


def _phases(text: str) -> set[str]:
    return set(re.findall(r"\d", text.replace("III", "3").replace("II", "2").replace("I", "1")))


def _earlier_phase(row: EvidenceRow, trial: Any) -> bool:
    """A phase 2/3 trial is judged on its phase 3 part: a result labelled with an earlier phase is not its outcome."""
    said = re.search(r"phase\s*([123]|I{1,3})\b", row.analysis or "", re.IGNORECASE)
    top = max(_phases(str(trial.phase)), default="")
    return bool(said) and max(_phases(said.group(1))) < top


def primary_measure(trial: Any) -> str | None:
    text = getattr(trial, "primary_endpoint", None) or ""
    return next((endpoint for endpoint, words in _ENDPOINTS if words.search(text)), None)


def verdict(trial: Any, outcome: Outcome) -> bool | None:
    """True when the trial has the asked outcome, False when it has the opposite, None when not judged."""
    endpoint = primary_measure(trial) if outcome.endpoint == "primary" else outcome.endpoint
    if endpoint is None or (outcome.as_primary and primary_measure(trial) != endpoint):
        return None
    rows = [r for r in trial_rows(trial) if r.endpoint == endpoint and r.subgroup is None and r.hazard_ratio is not None
            and not _earlier_phase(r, trial)]
    judged = [s for s in (_significant(r) for r in rows) if s is not None]
    if not judged:
        return None
    improved = any(s and r.hazard_ratio < 1.0 for s, r in zip(judged, rows, strict=False))
    return improved if outcome.positive else not improved


def trials_with(outcome: Outcome, trials: Iterable[Any]) -> list[str]:
    return [t.id for t in trials if verdict(t, outcome)]


def answer_attribute(outcome: Outcome) -> str:
    """What each listed trial quotes: the result for the endpoint judged."""
    return "headline" if outcome.endpoint == "primary" else outcome.endpoint
