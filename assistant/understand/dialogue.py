"""The dialogue state: what a conversation has been about, turn by turn, for the next question to lean on.

Rasa's tracker is the model: one object holds the state; the stages read it instead of each re-reading the
history. ``previous`` and ``answered`` are what the planner's carry passes use ("and in DREAM?" repeats the last
question); ``in_focus(kind)`` answers "those two trials", "the two drugs": the records of a kind the
conversation spoke of, the most recent first, each once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DialogueState:
    plans: tuple[Any, ...] = ()  # each earlier turn's QuestionPlan, oldest first
    answered: tuple[str, ...] = ()  # the records the last answer was about

    @classmethod
    def from_turns(cls, turns: Iterable[Any]) -> DialogueState:
        """From the API's turns (``Turn.plan``, ``Turn.answer_entities``)."""
        planned = [t for t in turns if getattr(t, "plan", None) is not None]
        return cls(tuple(t.plan for t in planned), tuple(planned[-1].answer_entities) if planned else ())

    @property
    def previous(self) -> Any:
        return self.plans[-1] if self.plans else None

    def in_focus(self, kinds: Sequence[str] = ("trial", "agent", "biomarker", "mechanism", "term")) -> list[str]:
        """Record ids of the given kinds the conversation named, the most recent turn first, each once."""
        out: list[str] = []
        for plan in reversed(self.plans):
            for rid in plan.entity_ids:
                if rid.partition(":")[0] in kinds and rid not in out:
                    out.append(rid)
        return out
