"""One answer from the answers to the parts of a message ("ORR in DREAM? And how many patients?").

Each part keeps its own citations; marker numbers are shifted so they stay distinct, and the answer
abstains only when every part did.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.answer.markers import MARKER_RE
from assistant.answer.model import Answer


def _shift(text: str, offset: int) -> str:
    def repl(m: re.Match[str]) -> str:
        return "[" + re.sub(r"\d+", lambda d: str(int(d.group(0)) + offset), m.group(1)) + "]"

    return MARKER_RE.sub(repl, text)


def combine_answers(question: str, answers: list[Answer]) -> Answer:
    texts, citations, offset = [], [], 0
    for a in answers:
        texts.append(_shift(a.text, offset))
        citations += [replace(c, n=c.n + offset) for c in a.citations]
        offset = max([offset, *(c.n + offset for c in a.citations)])
    last = answers[-1]
    provenance = dict(answers[0].provenance)
    provenance["parts"] = [{"question": a.question, "abstained": a.abstained, **a.provenance.get("understanding", {})}
                           for a in answers]
    return Answer(text="\n\n".join(texts), citations=citations, abstained=all(a.abstained for a in answers),
                  rewritten_query=last.rewritten_query, question=question, mode=last.mode, provenance=provenance,
                  plan=last.plan, parts=[p for a in answers for p in a.parts],
                  choices=[c for a in answers for c in a.choices])
