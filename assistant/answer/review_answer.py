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

from indexing.units import quotable_units

# A question is about the review when it says so ("the review", "according to the abstract"), or when it names
# nothing else and says "the paper" or asks a bibliographic fact ("who are the authors?").
NAMES_REVIEW = re.compile(r"\b(?:the|this|xia(?:\s+et\s+al\.?)?(?:'s)?)(?:\s+(?:19|20)\d\d)?\s+review\b|"
                          r"\b(?:according to|per) (?:the )?(?:review|abstract)\b|\breview(?:'s)? abstract\b", re.IGNORECASE)
NAMES_PAPER = re.compile(r"\b(?:the|this)\s+(?:article|paper|abstract|authors)\b", re.IGNORECASE)
ABOUT_REFERENCES = re.compile(r"\brefs?\b|\breferences?\b|\bbibliograph", re.IGNORECASE)
# (slot, what the question asks, how the review's line for it begins)
SLOTS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (name, re.compile(asks, re.IGNORECASE), re.compile(line)) for name, asks, line in (
        ("keywords", r"\bkey ?words?\b|\bindex terms\b", r"^Keywords:"),
        # "who are the authors?", not "what do the authors see as its contribution?"
        # "who are the authors?", not "what do the authors see as its contribution?" nor "the goal the authors set"
        ("authors", (r"\bwho\b.{0,30}\bauthors?\b|\bauthors? (?:of|list)\b|\b(?:list|name|names) (?:of )?(?:the |its )?authors\b|"
                     r"(?<!according to the )(?<!according to the review )\bauthors\s*\??\s*$|\b(?:first|last|senior|corresponding|lead) author\b|\bhow many authors\b|"
                     r"\bwhat are the authors\b|\bwho (?:wrote|authored)\b|\bwritten by\b|\bwriters?\b"), r"^Authors:"),
        ("licence", r"\blicen[cs]e\b|\breuse\b|\bre-use\b|\bcopyright\b|\bopen access\b|\bcc by\b", r"^License:"),
        ("doi", r"\bdoi\b|\bidentifier\b", r"^DOI:"),
        ("publication", (r"\bjournal\b|\bpublished\b|\bpublisher\b|\b(?:what|which) year\b|\bwhen was\b|\bcitation\b|"
                         r"\bhow (?:do|should|to) (?:i |we |you )?cite\b|"
                         r"\bvolume\b"), r"^Published in\b"),
        ("title", r"\btitle\b|\bcalled\b|\bnamed\b", r"^(?!Authors:|Published in|DOI:|License:|Keywords:)\S"),
    ))
# The abstract's statements about the review itself ("This review provides...", "a roadmap for...").
AIM_ASKED = re.compile(r"\bcritically evaluat\w*|\bapprais\w*|\bemerging approaches\b|\bconclu\w*|\baims?\b|\bpurpose\b|\bgoals?\b|\bobjectives?\b|\bfocus\b|\bscope\b|\bcontribution\b|"
                       r"\bfuture\b|\bdirections?\b|\broadmap\b|\boutlook\b|\bperspective\b|\btake-?home\b|"
                       r"\bmain (?:message|point|argument)\b|\bwhat is (?:the review|it) about\b|\bsummar\w*|\bpropose\b",
                       re.IGNORECASE)
_FILLER = re.compile(r"\b(?:what|which|is|are|was|were|does|do|did|the|this|its|it|of|in|on|for|to|a|an|and|main|key|"
                     r"review|reviews|article|paper|abstract|authors?|according|per|say|says|about|xia|et|al|"
                     r"mesothelioma|mpm|overall|their|they|talks?|talking|from|to|describes?|mentions?|discuss\w*|"
                     r"present\w*|lays?|out|give|gives|offer\w*|s|under|can|could|i|we|you|me|should|please|its|"
                     r"exactly|there|here)\b", re.IGNORECASE)
AIM_SAID = re.compile(r"\bthis review\b|\bcore contribution\b|\bframework\b|\broadmap\b|\bcritically evaluates\b",
                      re.IGNORECASE)


# "why do so many MPM patients not respond to ICIs, according to the review?": the sentence that gives the cause
CAUSE_ASKED = re.compile(r"\bwhy\b|\bdue to\b|\bcaus\w*|\bblame\w*|\breasons?\b|\bexplains?\b|\bbehind\b|"
                         r"\bunderl\w*|\battribut\w*", re.IGNORECASE)
RESISTANCE = re.compile(r"\bresist\w*|\bnot respond\w*|\bnon-?respon\w*|\bfail\w*|\brefractory\b|\bdon'?t respond\b|"
                        r"\bdo not (?:respond|benefit|work)\b|\bbottleneck\b", re.IGNORECASE)
CAUSE_SAID = re.compile(r"\battributed to\b|\bdue to\b|\bcaused by\b|\bbecause\b", re.IGNORECASE)


# "which partners does the review propose combining with ICIs?": the sentence that lists what ICIs are integrated with
PARTNERS_ASKED = re.compile(r"\b(?:combin\w*|pair\w*|partners?|integrat\w*)\b.{0,40}\b(?:with|ICIs?|checkpoint)\b|"
                            r"\bpartners?\b|\bcombination strateg\w*", re.IGNORECASE)
PARTNERS_SAID = re.compile(r"\bintegrating ICIs with\b|\bcombin\w* (?:ICIs|checkpoint inhibitors) with\b", re.IGNORECASE)


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
                found += [u for u in self.units if line.search(u[3]) and u not in found][:1]
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
