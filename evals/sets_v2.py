"""Version 2 of the review sets: questions typed by category, form, entities and attribute (issue 13).

A v2 question names the records its answer must be about (``entities``), the attribute asked (from the
vocabulary below, or the name of an attribute the sources lack) and its form. Comparison and list
questions add one expected ``part`` per entity. Conversations have 2-4 turns and every turn is judged,
including follow-ups that must abstain. v1 items (``evals.sets.EvalItem``) are untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from evals.sets import Judgement, _Strict

VERSION = "v2"
# v2.1 (records v3, issue 19): the v2 sets whose labels the records v3 changes made wrong, re-issued in full
# under new file names (review-v2.1-test, ...) with ids prefixed "v2.1-"; same format, models and scoring.
# v2.2 (records v3's new records): likewise, from the newest of each set (v2.1 where it exists), ids "v2.2-".
VERSIONS = (VERSION, "v2.1", "v2.2")

ANSWERABLE = ("attribute", "definition", "review-prose", "reference", "comparison", "list")
ON_TOPIC_UNCOVERED = ("uncovered-attribute", "uncovered-entity", "other-disease")
UNANSWERABLE = (*ON_TOPIC_UNCOVERED, "off-topic")
CATEGORIES = ANSWERABLE + UNANSWERABLE
WITH_PARTS = ("comparison", "list")
FORMS = ("fact", "definition", "list", "comparison", "why-how", "bibliographic", "yes-no")
CONVERSATION_CATEGORIES = ("follow-up-attribute", "follow-up-entity", "follow-up-abstain")

# The attribute vocabulary (what the question asks about a record) ...
ATTRIBUTES = (
    "sample-size", "phase", "design", "population", "setting", "arms-doses", "primary-endpoint", "os", "pfs",
    "orr", "dcr", "survival-rate", "hazard-ratio", "safety", "registration", "publication", "class", "target",
    "mechanism", "biomarker-selection", "definition", "result", "approval",
)
# ... and attributes the sources do not hold for the entities asked about (uncovered questions only).
UNCOVERED_ATTRIBUTES = (
    "quality-of-life", "median-age", "duration-of-response", "5-year-survival", "centres", "dose", "cost",
    "half-life", "diagnostic-accuracy", "time-to-response", "histology-breakdown", "cut-off", "germline-testing",
    "prognosis", "manufacturing", "infusion-time", "assay", "other",
)

_RECORD_ID = re.compile(r"^(trial|agent|biomarker|mechanism|term|ref):[a-z0-9-]+$")


def _check_entities(entities: list[str]) -> None:
    bad = [e for e in entities if not _RECORD_ID.match(e)]
    if bad:
        raise ValueError(f"entities must be record ids (<type>:<slug>), not {bad}")


def _check_attribute(attribute: str | None, answerable: bool) -> None:
    allowed = ATTRIBUTES if answerable else ATTRIBUTES + UNCOVERED_ATTRIBUTES
    if attribute is not None and attribute not in allowed:
        raise ValueError(f"attribute {attribute!r} is not in the v2 vocabulary (evals/sets_v2.py)")


class Part(_Strict):
    """One entity's share of a comparison or list answer."""

    record_id: str
    nuggets: list[str] = Field(default_factory=list)


class EvalItemV2(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    id: str
    question: str = Field(min_length=1)
    answerable: bool
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    form: Literal[FORMS]  # type: ignore[valid-type]
    entities: list[str] = Field(default_factory=list)
    attribute: str | None = None
    relevant: list[Judgement] = Field(default_factory=list)
    nuggets: list[str] = Field(default_factory=list)
    parts: list[Part] = Field(default_factory=list)
    # A failure named under the "Why" that this question guards against.
    regression: str | None = None
    # Text an answer must never contain (curation notes, synonym lists).
    must_not_contain: list[str] = Field(default_factory=list)
    # Judged against a record added in records v2 (only answerable once that record exists).
    new_record: bool = Field(False, alias="new-record")
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EvalItemV2:
        if not self.id.startswith(tuple(f"{v}-" for v in VERSIONS)):
            raise ValueError(f"id {self.id!r} must start with the set version '{VERSION}-' (or a re-issue's: "
                             f"{', '.join(repr(v + '-') for v in VERSIONS[1:])})")
        if self.answerable != (self.category in ANSWERABLE):
            raise ValueError(f"category {self.category!r} does not match answerable={self.answerable}")
        if self.answerable and not self.relevant:
            raise ValueError("an answerable question needs at least one relevant judgement")
        if not self.answerable and (self.relevant or self.nuggets or self.parts):
            raise ValueError("an unanswerable question has no relevant judgements, nuggets or parts")
        _check_entities(self.entities)
        _check_attribute(self.attribute, self.answerable)
        if self.category in WITH_PARTS:
            if len(self.parts) < (2 if self.category == "comparison" else 1):
                raise ValueError(f"a {self.category} question needs one part per expected entity")
            if {p.record_id for p in self.parts} != set(self.entities):
                raise ValueError("the parts' record ids must be exactly the entities")
        elif self.parts:
            raise ValueError("only comparison and list questions have parts")
        return self


class Turn(_Strict):
    question: str = Field(min_length=1)
    answerable: bool
    entities: list[str] = Field(default_factory=list)
    attribute: str | None = None
    relevant: list[Judgement] = Field(default_factory=list)
    nuggets: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Turn:
        if self.answerable and not self.relevant:
            raise ValueError("an answerable turn needs at least one relevant judgement")
        if not self.answerable and (self.relevant or self.nuggets):
            raise ValueError("a turn that must abstain has no relevant judgements or nuggets")
        _check_entities(self.entities)
        _check_attribute(self.attribute, self.answerable)
        return self


class ConversationV2(_Strict):
    """2-4 turns; every turn after the first is a follow-up that leans on the earlier ones."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)

    id: str
    category: Literal[CONVERSATION_CATEGORIES]  # type: ignore[valid-type]
    turns: list[Turn] = Field(min_length=2, max_length=4)
    regression: str | None = None
    new_record: bool = Field(False, alias="new-record")
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ConversationV2:
        if not self.id.startswith(tuple(f"{v}-" for v in VERSIONS)):
            raise ValueError(f"id {self.id!r} must start with the set version '{VERSION}-' (or a re-issue's: "
                             f"{', '.join(repr(v + '-') for v in VERSIONS[1:])})")
        must_abstain = any(not t.answerable for t in self.turns[1:])
        if must_abstain != (self.category == "follow-up-abstain"):
            raise ValueError("category follow-up-abstain is for conversations with a follow-up that must abstain")
        return self


def is_v2(name: str) -> bool:
    """Set names and files of version 2 carry '-v2' (review-v2-dev, review-v2.1-test, review-v2.2-test, ...)."""
    return "-v2" in str(name).rsplit("/", 1)[-1]


def judgements(item: EvalItemV2 | ConversationV2) -> Iterator[Judgement]:
    """Every judgement of an item: its relevant list, its parts' records, every turn's relevant list."""
    if isinstance(item, ConversationV2):
        for turn in item.turns:
            yield from turn.relevant
        return
    yield from item.relevant
    for part in item.parts:
        yield Judgement(record_id=part.record_id)


def entity_ids(item: EvalItemV2 | ConversationV2) -> set[str]:
    if isinstance(item, ConversationV2):
        return {e for t in item.turns for e in t.entities}
    return set(item.entities)
