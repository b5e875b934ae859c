"""Questions about the review itself: its title, authors, journal, licence and keywords, and what its
abstract says it sets out to do.

The review's captured text is short and structured (front matter, abstract, keywords), so a question
about the review is answered from the review alone: bibliographic questions quote the line that holds the
fact, questions about its aim or conclusion quote the abstract's statements about itself, and anything
else is left to sentence selection restricted to the review's own text (see ``Assistant``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from assistant.understand.phrases import matcher, vocabulary
from indexing.units import quotable_units

_WORDS = vocabulary("review_words")
_YEAR = r"(?:19|20)\d\d"
# A question is about the review when it says so ("the review", "according to the abstract"), or when it names
# nothing else and says "the paper" or asks a bibliographic fact ("who are the authors?").
NAMES_REVIEW = matcher(_WORDS["names_review"], {"year": _YEAR})
NAMES_PAPER = matcher(_WORDS["names_paper"])
ABOUT_REFERENCES = matcher(_WORDS["about_references"])


def _line_of(label: str | None) -> Callable[[str], bool]:
    """A slot's line of the review's front matter: the one that begins with its label; the title's is the
    line that begins with no label."""
    labels = tuple(_WORDS["labels"].values())
    if label is None:
        return lambda line: bool(line[:1].strip()) and not line.startswith(labels)
    return lambda line: line.startswith(label)


# (slot, what the question asks, whether a line of the review is the slot's)
SLOTS: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = tuple(
    (name, matcher(asks), _line_of(_WORDS["labels"].get(name))) for name, asks in _WORDS["asks"].items())
# The abstract's statements about the review itself ("This review provides...", "a roadmap for...").
AIM_ASKED = matcher(_WORDS["aim_asked"])
_FILLER = matcher(_WORDS["filler"])
AIM_SAID = matcher(_WORDS["aim_said"])
# "why do so many MPM patients not respond to ICIs, according to the review?": the sentence that gives the cause
CAUSE_ASKED = matcher(_WORDS["cause_asked"])
RESISTANCE = matcher(_WORDS["resistance"])
CAUSE_SAID = matcher(_WORDS["cause_said"])
# "which partners does the review propose combining with ICIs?": the sentence that lists what ICIs are integrated with
PARTNERS_ASKED = matcher(_WORDS["partners_asked"])
PARTNERS_SAID = matcher(_WORDS["partners_said"])


class ReviewFacts:
    """The review document's quotable lines, each with its chunk. Read-only after construction."""

    def __init__(self, chunks: list[Any], doc_text: Callable[[str], str | None], doc_id: str = "review") -> None:
        text = doc_text(doc_id) or ""
        seen: set[tuple[int, int]] = set()
        self.units: list[tuple[Any, int, int, str]] = []
        for chunk in sorted(chunks, key=lambda c: c.char_start):
            for start, end in quotable_units(chunk, text):
                if (start, end) not in seen:
                    seen.add((start, end))
                    self.units.append((chunk, start, end, text[start:end]))

    @staticmethod
    def about_review(question: str, named_anything: bool) -> bool:
        if ABOUT_REFERENCES.search(question):
            return False  # "what is reference 57 in the review?", "what does the review cite for X?": its reference list
        if NAMES_REVIEW.search(question):
            return True
        # a bare slot question ("who are the authors?", "what's the DOI?") is about the review only when it asks
        # nothing else: "how do I renew my medical license?" is not
        return not named_anything and (bool(NAMES_PAPER.search(question)) or any(
            asks.search(question) and not _FILLER.sub(" ", asks.sub(" ", question)).strip(" ?.,!-:'")
            for name, asks, _ in SLOTS if name != "title"))

    def answer_units(self, question: str, named_anything: bool = False) -> list[tuple[Any, int, int, str]]:
        """The lines that answer a bibliographic or aim question about the review ([] for anything else, and
        for a question that also names a record: "according to the review, who ran CheckMate 743?")."""
        if named_anything:
            return []
        found = []  # "which journal, and what's its DOI?": each line asked, in the review's order
        for _name, asks, line in SLOTS:
            if asks.search(question):
                found += [u for u in self.units if line(u[3]) and u not in found][:1]
        if found:
            return sorted(found, key=lambda u: u[1])
        if PARTNERS_ASKED.search(question):
            # "what does the review suggest combining checkpoint inhibitors with?": what it integrates them with
            said = [u for u in self.units if PARTNERS_SAID.search(u[3])]
            if said:
                return said[:1]
        if CAUSE_ASKED.search(question) and RESISTANCE.search(question):
            # "why do so many patients not respond?", "what is resistance due to?": the abstract's stated cause
            said = [u for u in self.units if CAUSE_SAID.search(u[3])]
            if said:
                return said[:2]
        if AIM_ASKED.search(question) and not _FILLER.sub(" ", AIM_ASKED.sub(" ", question)).strip(" ?.,!-"):
            # "what does the review conclude?" (not "what do the combination strategies aim to achieve?")
            asked = {m.group(0).lower() for m in AIM_ASKED.finditer(question)}
            said = [u for u in self.units if AIM_SAID.search(u[3])]
            said.sort(key=lambda u: not any(w in u[3].lower() for w in asked))  # "a roadmap": the roadmap line first
            return sorted(said[:3], key=lambda u: u[1])
        return []
