"""Long messages and several questions in one: find what is asked, keep what the rest says.

A patient story ending in a question is asked as its last interrogative sentence, with the records the
story names carried into it. A message holding several interrogative sentences is split into parts, each
asked on its own (a part that names nothing takes the records the message named before it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.understand.phrases import matcher, vocabulary
from kernel.sentences import split_sentences

_INTERROGATIVE = matcher(vocabulary("message_words")["interrogative"])  # or ends with "?"
LONG_MESSAGE = 160  # characters: shorter messages are asked as they are


@dataclass(frozen=True)
class Message:
    """The parts to ask, in order, and the text around them that is context, not a question."""

    parts: list[str]
    context: str = ""
    focused: bool = False  # the message was cut down to its question(s)
    names: list[list[str]] = field(default_factory=list)  # per part: names carried in from the context


def sentences(text: str) -> list[str]:
    return [text[s:e].strip() for s, e in split_sentences(text) if text[s:e].strip()]


def is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(_INTERROGATIVE.search(sentence))


def read_message(text: str) -> Message:
    """Split a message into the questions it asks and the context before them."""
    sents = sentences(text)
    asked = [i for i, s in enumerate(sents) if s.rstrip().endswith("?")]
    if len(asked) >= 2 and all(_substantial(sents[i]) for i in asked):
        first = asked[0]
        return Message([sents[i] for i in asked], " ".join(sents[:first]), True)
    if len(text) < LONG_MESSAGE or len(sents) < 2:
        return Message([text])
    last = next((i for i in reversed(range(len(sents))) if is_question(sents[i])), None)
    if last is None or last == 0:
        return Message([text])
    return Message([sents[last]], " ".join(sents[:last] + sents[last + 1:]), True)


def _substantial(sentence: str) -> bool:
    """A part worth asking on its own: not an aside such as "right?" or "any thoughts?"."""
    return len(re.findall(r"\w+", sentence)) >= 3
