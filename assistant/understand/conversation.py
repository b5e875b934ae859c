"""Follow-up questions -> standalone questions, without a language model (extractive mode).

A follow-up leans on the previous turns: "which journal published it?", "and its hazard ratio?",
"what about CAR-NK?". The rewrite carries the previous turns' entities (records named in their
questions, or the records their answers cited) into the new question:

* pronouns and demonstratives (it, its, they, their, this trial, that drug, the study) become the
  entity's name, preferring an entity of the kind the noun names (trial, drug, biomarker, reference);
* ellipsis ("what about X?", "how about X?", "and X?") repeats the previous question with X in place
  of the previous entity;
* a short fragment with no entity of its own ("and the hazard ratio?") gets the entity appended.

A question that names its own entity and has nothing to resolve is already standalone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assistant.understand.phrases import matcher, vocabulary
from assistant.understand.query import QueryAnalyzer

# Which entity a pronoun most likely means: the more specific kinds first.
TYPE_PRIORITY = {"trial": 0, "agent": 1, "biomarker": 2, "ref": 3, "mechanism": 4, "term": 5}
NOUN_TYPES = {
    "trial": "trial",
    "study": "trial",
    "drug": "agent",
    "agent": "agent",
    "therapy": "agent",
    "treatment": "agent",
    "regimen": "agent",
    "antibody": "agent",
    "biomarker": "biomarker",
    "marker": "biomarker",
    "reference": "ref",
    "paper": "ref",
    "article": "ref",
    "publication": "ref",
    "mechanism": "mechanism",
    "term": "term",
    "abbreviation": "term",
}
_NOUNS = "|".join(NOUN_TYPES)
# "this trial", "that drug", "the study", "these agents"
_DEMONSTRATIVE = re.compile(
    rf"\b(?:(?:this|that|these|those|said)\s+({_NOUNS})s?|the\s+(trial|study|drug|agent|paper|article|reference))\b",
    re.IGNORECASE,
)
_WORDS = vocabulary("conversation_words")  # words/conversation_words.yaml
_POSSESSIVE = matcher(_WORDS["possessive"])
_PRONOUN = matcher(_WORDS["pronoun"])
_BARE_DEMONSTRATIVE = re.compile(r"\b(this|that)\s*([?.!]?\s*)$", re.IGNORECASE)  # "who ran that?"
_ELLIPSIS = re.compile(r"^\s*(?:and|so|ok|okay)?\s*,?\s*(?:what|how)\s+about\s+(?P<x>.+?)\s*[?.!]*\s*$", re.IGNORECASE)
_AND_FRAGMENT = re.compile(r"^\s*(?:and|also)\s+(?P<x>.+?)\s*[?.!]*\s*$", re.IGNORECASE)
_WHICH = re.compile(rf"^\s*(?:which|what)\s+({_NOUNS})s?\b", re.IGNORECASE)
_LEADING_CONJ = matcher(_WORDS["leading_conjunction"])


@dataclass(frozen=True)
class Entity:
    surface: str  # how to write it in a question ("BEAT-meso", "reference 9")
    record_id: str | None
    kind: str  # record type, or "ref"

    @property
    def priority(self) -> int:
        return TYPE_PRIORITY.get(self.kind, 9)


@dataclass(frozen=True)
class Turn:
    question: str
    rewritten: str
    answer: str
    entities: tuple[Entity, ...] = field(default_factory=tuple)  # named in the (rewritten) question
    cited: tuple[Entity, ...] = field(default_factory=tuple)  # records the answer cited, not named
    plan: Any = None  # the turn's QuestionPlan (entities, attributes), carried into follow-ups
    answer_entities: tuple[str, ...] = ()  # records the answer was about (its parts, else its citations)

    @property
    def asks_for(self) -> str | None:
        """The kind of thing a "which trial ...?" question asks for: its answer becomes the topic."""
        m = _WHICH.match(self.rewritten)
        return NOUN_TYPES[m.group(1).lower()] if m else None


def entities_in(text: str, analyzer: QueryAnalyzer) -> list[Entity]:
    out = [
        Entity(m.surface, m.record_id, m.record_id.partition(":")[0])
        for m in analyzer.find_records(text)
    ]
    out += [Entity(f"reference {n}", f"ref:{n}", "ref") for n in analyzer.find_ref_numbers(text)]
    return out


def turn_entities(rewritten: str, cited_record_ids: list[str], analyzer: QueryAnalyzer
                  ) -> tuple[tuple[Entity, ...], tuple[Entity, ...]]:
    """(entities named in the question, the first record the answer cited that the question did not name)."""
    named = entities_in(rewritten, analyzer)
    known = {e.record_id for e in named}
    for rid in cited_record_ids:
        kind = rid.partition(":")[0]
        if rid in known or kind == "term":
            continue
        if kind == "ref":
            return tuple(named), (Entity(f"reference {rid.partition(':')[2]}", rid, "ref"),)
        if rid in analyzer.entries:
            return tuple(named), (Entity(analyzer.name_of(rid), rid, kind),)
    return tuple(named), ()


def _focus(history: list[Turn], kind: str | None = None) -> Entity | None:
    """What "it" means: the latest turn's named entity (the most specific kind first), unless that turn
    asked "which trial ...?" and its answer cited one; with ``kind``, the latest entity of that kind."""
    for turn in reversed(history):
        if kind is not None:
            pool = [e for e in (*turn.entities, *turn.cited) if e.kind == kind]
        elif turn.asks_for and any(e.kind == turn.asks_for for e in turn.cited):
            pool = [e for e in turn.cited if e.kind == turn.asks_for]
        else:
            pool = list(turn.entities) or list(turn.cited)
        if pool:
            return min(pool, key=lambda e: e.priority)
    return None


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return _capitalise(text)


def rewrite_followup(question: str, history: list[Turn], analyzer: QueryAnalyzer) -> str:
    """A standalone version of ``question`` given the previous turns (unchanged when nothing to resolve)."""
    if not history:
        return question
    focus = _focus(history)
    if focus is None:
        return question
    own = [e for e in entities_in(question, analyzer) if e.kind != "term"]  # "the PFS hazard ratio" names no topic

    ellipsis = _ELLIPSIS.match(question)
    if ellipsis and not _has_reference(ellipsis.group("x")):
        return _substitute(history[-1], ellipsis.group("x"), focus)

    changed = False

    def demonstrative(m: re.Match) -> str:
        nonlocal changed
        entity = _focus(history, NOUN_TYPES[(m.group(1) or m.group(2)).lower()]) or focus
        changed = True
        return entity.surface

    text = _DEMONSTRATIVE.sub(demonstrative, question)

    def possessive(m: re.Match) -> str:
        nonlocal changed
        changed = True
        return _possessive(focus.surface)

    text = _POSSESSIVE.sub(possessive, text)

    def pronoun(m: re.Match) -> str:
        nonlocal changed
        changed = True
        return focus.surface

    text = _PRONOUN.sub(pronoun, text)
    if not changed and not own:
        bare = _BARE_DEMONSTRATIVE.search(text)
        if bare:
            text = text[: bare.start()] + focus.surface + bare.group(2)
            changed = True
    if changed:
        return _tidy(_without_leading_conjunction(text))

    fragment = _AND_FRAGMENT.match(question)
    if not own and (fragment or len(question.split()) <= 4):
        body = (fragment.group("x") if fragment else question).strip().rstrip("?.! ")
        return _tidy(f"{body} of {focus.surface}?")
    if fragment and own:
        return _substitute(history[-1], fragment.group("x"), focus)
    return question


def _without_leading_conjunction(text: str) -> str:
    """"and, what did it cost?" -> "what did it cost?": the word and the spaces and commas after it."""
    m = _LEADING_CONJ.match(text)
    if not m:
        return text
    rest = text[m.end():]
    return rest[next((i for i, c in enumerate(rest) if not (c.isspace() or c == ",")), len(rest)):]


def _has_reference(text: str) -> bool:
    return bool(_POSSESSIVE.search(text) or _PRONOUN.search(text) or _DEMONSTRATIVE.search(text))


def _substitute(previous: Turn, replacement: str, focus: Entity) -> str:
    """The previous question with its entity replaced by ``replacement`` ("what about CAR-NK?")."""
    replacement = replacement.strip().rstrip("?.! ")
    prev = previous.rewritten
    target = focus.surface if focus in previous.entities else None
    if target and target in prev:
        i = prev.index(target)
        return _tidy(prev[:i] + replacement + prev[i + len(target) :])
    if previous.entities:
        e = min(previous.entities, key=lambda x: x.priority)
        if e.surface in prev:
            i = prev.index(e.surface)
            return _tidy(prev[:i] + replacement + prev[i + len(e.surface) :])
    return _tidy(f"{prev.rstrip(' ?.!')}: what about {replacement}?")
