"""The dev pool: every question the team may tune on, in one list, each with its origin.

Versioned test sets (``review-test``, ``review-v2-test`` ...) are not part of it, with one exception: a blind set
whose first run is recorded and which a newer blind set has replaced as the figure of record is retired into the
pool (``RETIRED``), since it can no longer measure generalisation. A question's origin is the file it was
committed in (``review-v2-probe7-dev``), so "hold one origin out" measures how understanding generalises to a set
written by someone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evals.sets import SET_NAMES, load_conversations, load_set


@dataclass(frozen=True)
class PoolQuestion:
    origin: str  # the dev set it came from
    id: str
    question: str
    answerable: bool
    category: str
    attribute: str | None
    form: str | None
    entities: tuple[str, ...]
    previous: tuple[str, ...] = ()  # earlier turns of its conversation (empty for single questions)


def dev_set_names() -> list[str]:
    """The v2 dev sets (question files and conversation files), never a test set; where a set was re-issued
    (v2.1 and v2.2, relabelled for records v3) the newest version stands in for the older ones."""
    names = [n for n in SET_NAMES if "-v2" in n and n.endswith("-dev")]
    newest: dict[str, str] = {}
    for n in names:  # SET_NAMES lists each set's versions oldest first
        newest[re.sub(r"-v2(?:\.\d+)?-", "-v2-", n)] = n
    return [n for n in names if n in newest.values()]


# test sets whose first run is recorded (v3 in session 5, v4 in session 6) join the dev pool; v5 is blind
RETIRED = ("review-v3-test", "conversations-v3-test", "review-v4-test", "conversations-v4-test")


def dev_pool() -> list[PoolQuestion]:
    pool: list[PoolQuestion] = []
    for name in [*dev_set_names(), *RETIRED]:
        # one origin per set as written (its questions and conversations, whatever version relabelled them)
        origin = re.sub(r"-v2(?:\.\d+)?-", "-v2-", name.replace("conversations-", "review-"))
        if name.startswith("conversations-"):
            for conv in load_conversations(name):
                asked: list[str] = []
                for k, turn in enumerate(conv.turns):
                    pool.append(PoolQuestion(origin, f"{conv.id}#{k + 1}", turn.question, turn.answerable,
                                             conv.category, turn.attribute, None, tuple(turn.entities), tuple(asked)))
                    asked.append(turn.question)
        else:
            pool.extend(PoolQuestion(origin, q.id, q.question, q.answerable, q.category, q.attribute, q.form,
                                     tuple(q.entities)) for q in load_set(name))
    return pool
