"""Version 3 of the review sets: blind questions worded as real users word them (issue 18).

v3 keeps the v2 judgement fields (entities, attribute, relevant, nuggets, parts) and adds what the issue
measures: every item names the ``style`` it was written in, so the figure is reported per style;
``multi-part`` and ``mixed`` questions have one part per asked entity and attribute, and a mixed
question lists the ``uncovered`` names the answer must say are not covered while it still answers the
rest. v2 and v1 files are untouched.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from evals.sets import Judgement, _Strict
from evals.sets_v2 import (  # a v3 turn is a v2 turn
    ATTRIBUTES,
    FORMS,
    UNCOVERED_ATTRIBUTES,
    Turn,
    _check_attribute,
    _check_entities,
)

VERSION = "v3"
# v4 and v5 (later blind sets) are written in the v3 format: same fields, their own id prefix
VERSIONS = ("v3", "v4", "v5")

ANSWERABLE = ("attribute", "definition", "review-prose", "reference", "comparison", "list", "multi-part", "mixed")
ON_TOPIC_UNCOVERED = ("uncovered-attribute", "uncovered-entity", "other-disease")
UNANSWERABLE = (*ON_TOPIC_UNCOVERED, "off-topic")
CATEGORIES = ANSWERABLE + UNANSWERABLE
WITH_PARTS = ("comparison", "list", "multi-part", "mixed")
STYLES = ("plain", "far-paraphrase", "shorthand-typo", "described", "multi-part", "mixed-uncovered",
          "outcome-list", "patient-story", "follow-up-switch")
CONVERSATION_CATEGORIES = ("follow-up-attribute", "follow-up-entity", "follow-up-abstain")
__all__ = ["ATTRIBUTES", "CATEGORIES", "FORMS", "STYLES", "UNCOVERED_ATTRIBUTES", "ConversationV3", "EvalItemV3"]


class PartV3(_Strict):
    """One asked piece of the answer: a record and, for multi-part questions, the attribute asked of it."""

    record_id: str
    attribute: str | None = None
    nuggets: list[str] = Field(default_factory=list)


class EvalItemV3(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str
    question: str = Field(min_length=1)
    answerable: bool
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    style: Literal[STYLES]  # type: ignore[valid-type]
    form: Literal[FORMS]  # type: ignore[valid-type]
    entities: list[str] = Field(default_factory=list)
    attribute: str | None = None
    relevant: list[Judgement] = Field(default_factory=list)
    nuggets: list[str] = Field(default_factory=list)
    parts: list[PartV3] = Field(default_factory=list)
    # Names in the question that no source covers; the answer must name each as not covered.
    uncovered: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EvalItemV3:
        if not self.id.startswith(tuple(f"{v}-" for v in VERSIONS)):
            raise ValueError(f"id {self.id!r} must start with a set version ({', '.join(VERSIONS)}) and '-'")
        if self.answerable != (self.category in ANSWERABLE):
            raise ValueError(f"category {self.category!r} does not match answerable={self.answerable}")
        if self.answerable and not self.relevant:
            raise ValueError("an answerable question needs at least one relevant judgement")
        if not self.answerable and (self.relevant or self.nuggets or self.parts):
            raise ValueError("an unanswerable question has no relevant judgements, nuggets or parts")
        _check_entities(self.entities)
        _check_attribute(self.attribute, self.answerable)
        for part in self.parts:
            _check_attribute(part.attribute, True)
        if self.category in WITH_PARTS:
            if not self.parts:
                raise ValueError(f"a {self.category} question needs one part per expected entity")
            if {p.record_id for p in self.parts} != set(self.entities):
                raise ValueError("the parts' record ids must be exactly the entities")
        elif self.parts:
            raise ValueError("only comparison, list, multi-part and mixed questions have parts")
        if (self.category == "mixed") != bool(self.uncovered):
            raise ValueError("a mixed question (and only a mixed one) lists its uncovered names")
        return self


class ConversationV3(_Strict):
    """2-4 turns, every turn judged; ``style`` is how the follow-ups lean on earlier turns."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str
    category: Literal[CONVERSATION_CATEGORIES]  # type: ignore[valid-type]
    style: Literal[STYLES]  # type: ignore[valid-type]
    turns: list[Turn] = Field(min_length=2, max_length=4)
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ConversationV3:
        if not self.id.startswith(tuple(f"{v}-" for v in VERSIONS)):
            raise ValueError(f"id {self.id!r} must start with a set version ({', '.join(VERSIONS)}) and '-'")
        must_abstain = any(not t.answerable for t in self.turns[1:])
        if must_abstain != (self.category == "follow-up-abstain"):
            raise ValueError("category follow-up-abstain is for conversations with a follow-up that must abstain")
        return self


def is_v3(name: str) -> bool:
    """Sets in the v3 format (v3, v4 and v5)."""
    base = str(name).rsplit("/", 1)[-1]
    return any(f"-{v}" in base for v in VERSIONS)
