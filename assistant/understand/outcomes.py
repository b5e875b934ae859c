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
_WORSE = matcher(_WORDS["worse"])
_SETTING = matcher(_WORDS["setting"])
_STATED_MET = matcher(_WORDS["stated_met"])
_STATED_MISSED = matcher(_WORDS["stated_missed"])
_SIGNIFICANT = re.compile(r"\bsignifican", re.IGNORECASE)
# A list of trials asked for, at the start of the question or after a preamble ("Among the placebo-controlled
# trials, which ones ...?", "In previously treated disease, which trials ...?").
_LIST_OF_TRIALS = re.compile(r"(?:^|[,;:]\s*|\b(?:among|of|in) [^,?]{0,60}?,?\s*)(?:which|what|list|name|show|were there|"
                             r"are there|any)\b.*\b(?:trials|studies|options|regimens|treatments|therapies|approaches|"
                             r"combinations|drugs|ones)\b|^\s*(?:which|what) (?:trial|study)\b|"
                             r"^\s*(?:name|list|show)\s+(?:any|the|an?)\s+(?:[\w-]+\s+){0,2}(?:trial|study)\b|"
                             r"\b(?:was|is|were|are) there (?:an?|any) (?:[\w-]+ ){0,3}(?:trial|study)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    endpoint: str  # "os", "pfs", "orr", or "primary"
    positive: bool  # True: improved / met; False: negative / failed
    as_primary: bool = False  # "trials with OS as their primary endpoint": only those whose primary it is
    worse: bool = False  # "made survival worse", "HR above 1": the experimental arm did worse (significantly,
    significant: bool = False  # when the question says so), not merely no better


def asked_outcome(question: str) -> Outcome | None:
    """The outcome a list question filters on, or None when it asks no outcome."""
    listed = _LIST_OF_TRIALS.search(question)
    if not listed:
        return None
    # the ask, without its preamble or the patients it names ("after first-line chemo failed, which trials...")
    asked = _SETTING.sub(" ", question[listed.start():])
    negative = bool(_NEGATIVE.search(asked))
    if not negative and not _POSITIVE.search(asked) and not _WORSE.search(asked):
        return None
    named = next((endpoint for endpoint, words in _ENDPOINTS if words.search(question)), None)
    if _WORSE.search(asked):
        return Outcome(named or "os", False, worse=True, significant=bool(_SIGNIFICANT.search(question)))
    if _PRIMARY.search(question):
        return Outcome(named, not negative, True) if named else Outcome("primary", not negative)
    if named:
        return Outcome(named, not negative)
    # "which phase 3 trials were negative?", "which trials were positive?": their primary endpoint
    return Outcome("primary", not negative)


SIGNIFICANCE = 0.05
CONFIDENCE = 95.0  # an interval narrower than 95% (a phase 2's 70% or 80% CI) does not show significance


def without_setting(question: str) -> str:
    """The question without the words that say which patients ("once platinum had failed")."""
    return _SETTING.sub(" ", question)


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
    if outcome.endpoint == "primary" and not outcome.worse and (said := _stated(trial)) is not None:
        return said == outcome.positive  # the record's own words on its primary endpoint come first
    endpoint = primary_measure(trial) if outcome.endpoint == "primary" else outcome.endpoint
    if endpoint is None or (outcome.as_primary and primary_measure(trial) != endpoint):
        return None
    rows = [r for r in trial_rows(trial) if r.endpoint == endpoint and r.subgroup is None and r.hazard_ratio is not None
            and not _earlier_phase(r, trial)]
    if outcome.worse:
        return any(r.hazard_ratio > 1.0 and (not outcome.significant or _significant(r)) for r in rows) or None
    judged = [s for s in (_significant(r) for r in rows) if s is not None]
    if not judged:
        return None
    improved = any(s and r.hazard_ratio < 1.0 for s, r in zip(judged, rows, strict=False))
    return improved if outcome.positive else not improved


def _stated(trial: Any) -> bool | None:
    """What a trial's results say in words of its primary endpoint (met, missed), when no hazard ratio judges it."""
    # results for all patients first; a trial whose primary endpoint is judged per cohort speaks per cohort
    for r in sorted(trial.results, key=lambda r: r.subgroup is not None):
        if not ("primary" in r.endpoint.lower() or _PRIMARY.search(r.statement)):
            continue
        if _STATED_MISSED.search(r.statement):
            return False
        if _STATED_MET.search(r.statement):
            return True
    return None


def trials_with(outcome: Outcome, trials: Iterable[Any]) -> list[str]:
    return [t.id for t in trials if verdict(t, outcome)]


def answer_attribute(outcome: Outcome) -> str:
    """What each listed trial quotes: the result for the endpoint judged."""
    return "headline" if outcome.endpoint == "primary" else outcome.endpoint
