"""Records described, not named: "the phase 3 where adding surgery hurt", "the oral angiokinase inhibitor".

A trial is matched by what the question says of it against its typed record (phase, line and design as
hard filters, the same ones list questions use; then BM25 over what the record says: its drugs and their
classes, control arm, population, endpoint, results, first author and year). A drug is matched by its class,
mechanism, modality and targets. A clear winner is the record asked about; close runners-up are returned as
choices, so the engine can ask back instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np

from assistant.understand.list_filters import agents_of_class, class_pattern, filter_trials
from kernel.text import analyze

# "the trial where...", "the oral ... inhibitor": a definite description of one record of a kind
_TRIAL_WORDS = r"trial|study|phase\s*(?:[123]|i{1,3})|rct|one"
_DRUG_WORDS = (r"drug|agent|inhibitor|antibody|blocker|therapy|treatment|vaccine|virus|enzyme|cells?|medicine|"
               r"molecule|compound|product|combination|combo|regimen")
DESCRIBED = {
    "trial": re.compile(rf"\b(?:the|that|this)\s+(?:[\w/+-]+\s+){{0,6}}?(?:{_TRIAL_WORDS})\b", re.IGNORECASE),
    "agent": re.compile(rf"\b(?:the|that|this)\s+(?:[\w/+-]+\s+){{0,5}}?(?:{_DRUG_WORDS})\b", re.IGNORECASE),
    # ("the resistance" alone is the review's topic, not one mechanism)
    "mechanism": re.compile(r"\b(?:the|that|this)\s+(?:[\w/+-]+\s+){0,4}?(?:mechanism|pattern|phenomenon|process)\b",
                            re.IGNORECASE),
}
MENTIONED = {"trial": re.compile(r"\b(?:trials?|stud(?:y|ies)|phase\s*(?:[123]|i{1,3}))\b", re.IGNORECASE),
             "agent": re.compile(rf"\b(?:{_DRUG_WORDS}|injection|infusion|pill|tablet)\b", re.IGNORECASE),
             "mechanism": re.compile(r"\b(?:resist\w*|refractory|escap\w*|evad\w*|evasion|mechanism\w*|stop\w* working|"
                                     r"never respond\w*|no benefit)\b", re.IGNORECASE)}
# the kind of record asked ("study", "drug") describes every record of that kind: not scored
# nor do words every question uses of people, treatments and amounts ("how long did people on the real drug...")
_NOT_DESCRIBING = ("trial trials study studies drug drugs agent agents medicine treatment people person patients "
                   "participants real actual active main big long much many often well far "
                   "new newer newest novel latest experimental investigational standard usual current same other "
                   "different")
_KIND_TOKENS = set(analyze([_NOT_DESCRIBING])[0])
CLEAR_MARGIN = 1.3  # the winner's score over the runner-up's; closer than that is a tie
CHOICES = 3


@dataclass(frozen=True)
class Resolution:
    kind: str
    winner: str | None
    choices: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)


def _profile(rec: Any, records: dict[str, Any]) -> str:
    """What a record says about itself, in words a description would use (names of linked drugs included)."""
    parts = [rec.name, *rec.synonyms, rec.summary]
    if rec.type == "trial":
        parts += [f"phase {rec.phase}", rec.design, rec.setting or "", rec.line, rec.population,
                  rec.primary_endpoint or "", rec.status or ""]
        parts += [f"{a.name} {a.regimen}" for a in rec.arms]
        parts += [r.statement for r in rec.results]
        if rec.publication is not None:
            parts += [rec.publication.authors or "", str(rec.publication.year), rec.publication.journal]
        for rid in rec.related:
            linked = records.get(rid)
            if linked is not None and linked.type == "agent":
                parts += [linked.name, *linked.synonyms, linked.agent_class, linked.modality]
    elif rec.type == "agent":
        parts += [rec.agent_class, rec.mechanism, rec.modality, *rec.targets, *rec.code_names]
    elif rec.type == "mechanism":
        parts += [rec.category, rec.description, *rec.examples]
    return " ".join(p for p in parts if p)


class DescriptionResolver:
    """``resolve(question, kind) -> Resolution | None``; read-only after construction (thread-safe)."""

    def __init__(self, records: dict[str, Any]) -> None:
        self.records = records
        self._ids: dict[str, list[str]] = {}
        self._bm25: dict[str, bm25s.BM25] = {}
        for kind in ("trial", "agent", "mechanism"):
            ids = [rid for rid, r in records.items() if r.type == kind]
            if not ids:
                continue
            index = bm25s.BM25()
            index.index(analyze([_profile(records[i], records) for i in ids]), show_progress=False)
            self._ids[kind], self._bm25[kind] = ids, index

    def describes(self, question: str) -> list[str]:
        """The kinds of record the question describes with a definite description (trial first)."""
        return [kind for kind, pattern in DESCRIBED.items() if kind in self._ids and pattern.search(question)]

    def mentions(self, text: str) -> list[str]:
        """The kinds of record a story speaks of at all ("a UK trial", "an injection"): its question may then
        mean the record the story describes."""
        return [kind for kind, pattern in MENTIONED.items() if kind in self._ids and pattern.search(text)]

    def resolve(self, question: str, kind: str, among: list[str] | None = None,
                filters: str | None = None) -> Resolution | None:
        """The record of ``kind`` (from ``among``) that ``question`` describes; phase, line and design are hard
        filters read from ``filters`` (default: the question), the rest is scored."""
        ids = self._ids.get(kind, [])
        if not ids:
            return None
        allowed = set(ids) if among is None else set(among) & set(ids)
        if kind == "trial":
            kept, shown = filter_trials(sorted(allowed), self.records, question if filters is None else filters)
            allowed = set(kept) if shown else allowed
        elif kind == "agent" and class_pattern(question if filters is None else filters) is not None:
            allowed = set(agents_of_class(question if filters is None else filters, self.records)) or allowed
        tokens = [t for t in analyze([question])[0] if t not in _KIND_TOKENS]
        scores = np.asarray(self._bm25[kind].get_scores(tokens), dtype=float) if tokens else np.zeros(len(ids))
        ranked = sorted(((float(s), rid) for s, rid in zip(scores, ids, strict=True) if rid in allowed and s > 0),
                        reverse=True)
        if not ranked:
            return None
        top = {rid: round(s, 3) for s, rid in ranked[:CHOICES]}
        if len(ranked) == 1 or ranked[0][0] >= CLEAR_MARGIN * ranked[1][0]:
            return Resolution(kind, ranked[0][1], [], top)
        close = [rid for s, rid in ranked if s * CLEAR_MARGIN >= ranked[0][0]][:CHOICES]
        return Resolution(kind, None, close, top)
