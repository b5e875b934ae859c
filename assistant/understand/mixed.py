"""Mixed questions: covered records asked beside names no source holds.

"OS in CheckMate 743 vs CheckMate 9LA?", "what does nintedanib target, and what about lurbinectedin?": the
covered record is answered and the uncovered name is said to be missing. A name is an item beside a covered
record when the two sit in different clauses of the question and are of kinds that stand side by side (a
trial beside a trial, a drug beside a drug or a trial). A covered name in the same clause as an uncovered
one qualifies it instead ("pembrolizumab in KEYNOTE-189" asks about KEYNOTE-189): it is not answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.understand.phrases import matcher, vocabulary

# Clause connectives (a closed class, words/mixed_words.yaml). Items of two asks are separated by one of these;
# "X and Y" between two drug names is a combination, so a bare "and" separates only trials.
_WORDS = vocabulary("mixed_words")
_PUNCTUATION = re.compile(r"[,;?]")
_STRONG = matcher(_WORDS["strong"], slots={"gap": r"\b[\w -]{0,30}?\b"})
_AND = matcher(_WORDS["and"])
# "what do X and Y each target?": the asks are distributed over the names, which are not a combination
_DISTRIBUTIVE = matcher(_WORDS["distributive"])


@dataclass(frozen=True)
class Named:
    """A name in the question: where it is, what kind of record it is (or would be), whether a source covers it."""

    surface: str
    kind: str  # "trial", "agent", or "either" (a code name: a trial or a drug)
    covered: bool
    record_id: str = ""


def _clause_of(question: str, surface: str, boundaries: list[int]) -> int | None:
    at = question.lower().find(surface.lower())
    if at < 0:
        return None
    return sum(1 for b in boundaries if b <= at)


def _boundaries(question: str, pattern: re.Pattern[str]) -> list[int]:
    return [m.start() for m in pattern.finditer(question)]


def side_by_side(question: str, names: list[Named], intrinsic: bool = False) -> tuple[list[str], list[str]]:
    """(uncovered names asked beside a covered record, covered record ids that only qualify an uncovered name).

    ``intrinsic``: what is asked belongs to each thing on its own (what a drug targets, what a term stands for),
    so "X and Y" asks it of each, never of a combination. Both lists are empty when the question is not mixed."""
    strong = sorted(_boundaries(question, _PUNCTUATION) + _boundaries(question, _STRONG))
    weak = sorted(strong + _boundaries(question, _AND))
    covered = [n for n in names if n.covered]
    missing, qualifiers = [], set()
    for u in (n for n in names if not n.covered):
        for cut in (strong, weak):
            where_u = _clause_of(question, u.surface, cut)
            bare_and = cut is weak and not intrinsic and not _DISTRIBUTIVE.search(question)
            beside = [c for c in covered if (intrinsic or _fits(u, c, bare_and))
                      and (w := _clause_of(question, c.surface, cut)) is not None and w != where_u]
            if where_u is not None and beside:
                missing.append(u.surface)
                qualifiers |= {c.record_id for c in covered if _clause_of(question, c.surface, cut) == where_u}
                break
    if not missing:
        return [], []
    answered = {c.record_id for c in covered} - qualifiers
    if not answered:
        return [], []
    return list(dict.fromkeys(missing)), sorted(qualifiers - answered)


def _fits(uncovered: Named, covered: Named, bare_and: bool) -> bool:
    """Kinds that stand side by side; a bare "and" joins trials only (two drugs joined by it are a combination)."""
    if bare_and:
        return covered.kind == "trial" and uncovered.kind in ("trial", "either")
    if uncovered.kind == "agent":
        return covered.kind in ("agent", "trial")
    return covered.kind == "trial"
