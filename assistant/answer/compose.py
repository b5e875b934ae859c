"""Record parts -> answer text, citations and a per-record table.

Every quoted sentence is a verbatim span of the record's indexed text, followed by the marker of that
record. The only sentences that are not quotes say what a record does NOT report; they cite the record
they speak about and make the answer count as an abstention when nothing asked was found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.answer.extractive import close_sentence, display_quote
from assistant.answer.markers import render_sentence
from assistant.answer.model import Citation, and_list
from assistant.answer.record_answer import Part, Quote
from kernel.chunk import Chunk
from kernel.sentences import split_sentences

_NO_ARTICLE = ("a ", "how often", "an ", "grade", "overall survival at", "progression-free survival at", "quality", "regulatory", "trials",
               "code names", "examples", "how", "survival", "arms")


@dataclass(frozen=True)
class Composed:
    sentences: list[str]  # answer pieces, each ending with its markers
    citations: list[Citation]
    parts: list[dict[str, Any]]  # one per record: name, text, markers, missing (the API's list / the UI's table)
    answered: bool  # at least one asked field was quoted
    text: str = ""  # the whole answer: the sentences, or one "- **name**: ..." line per record
    pieces: tuple[str, ...] = ()  # what a stream yields: a quote at a time, or a line per record


def quote_sentence(text: str, n: int) -> str:
    quote = display_quote(text)
    pieces = [quote[a:b] for a, b in split_sentences(quote)] or [quote]
    return " ".join(close_sentence(render_sentence(p, [n])) for p in pieces)


def _the(label: str) -> str:
    return label if label.lower().startswith(_NO_ARTICLE) else f"the {label}"


def missing_sentence(part: Part, n: int) -> str:
    lacks = and_list([_the(m) for m in part.missing])
    text = f"The indexed record of {part.name} does not report {lacks}"
    if part.reports:
        text += f"; it reports {and_list(part.reports[:6])}"
    return render_sentence(text + ".", [n])


def compose_parts(parts: list[Part], doc_text: Callable[[str], str], chunk_of: Callable[[str, int, int], Chunk],
                  locate: Callable[[Chunk, int, int, Quote | None], str], headed: bool = False) -> Composed:
    """``headed``: name each part even when there is one ("which trial tested it?" names the trial)."""
    numbers: dict[str, int] = {}
    sentences: list[str] = []
    citations: list[Citation] = []
    table: list[dict[str, Any]] = []
    answered = False
    multi = len(parts) > 1 or (headed and len(parts) == 1)
    pieces: list[str] = []
    for part in parts:
        said: list[str] = []
        markers: list[int] = []  # numbered as first cited: a part answered from its reference entry cites only that
        for q in part.quotes:  # a quote may come from a record the part's record cites (its reference entry)
            qn = numbers.setdefault(q.record_id, len(numbers) + 1)
            markers += [qn] if qn not in markers else []
            text = doc_text(q.record_id)
            said.append(quote_sentence(text[q.start:q.end], qn))
            citations.append(_citation(qn, chunk_of(q.record_id, q.start, q.end), q, text, locate))
            answered = True
        if part.missing:
            n = numbers.setdefault(part.record_id, len(numbers) + 1)
            markers += [n] if n not in markers else []
            said.append(missing_sentence(part, n))
            if not part.quotes and part.anchor is not None:
                q = part.anchor
                citations.append(_citation(n, chunk_of(part.record_id, q.start, q.end), q, doc_text(q.record_id),
                                           locate))
        if not said:
            continue
        body = " ".join(said)
        sentences.append(f"**{part.name}**: {body}" if multi else body)
        pieces += [f"- {sentences[-1]}"] if multi else said
        table.append({"record_id": part.record_id, "name": part.name, "text": body, "markers": markers,
                      "fields": [q.label for q in part.quotes], "missing": list(part.missing)})
    sep = "\n" if multi else " "
    streamed = tuple(p + (sep if i < len(pieces) - 1 else "") for i, p in enumerate(pieces))
    return Composed(sentences, citations, table, answered, "".join(streamed), streamed)


def _citation(n: int, chunk: Chunk, q: Quote, text: str, locate: Callable) -> Citation:
    return Citation(
        n=n, source_id=chunk.id, title=chunk.title, locator=locate(chunk, q.start, q.end, q),
        text=text[q.start:q.end], score=1.0, doc_id=chunk.doc_id, char_start=q.start, char_end=q.end,
        section=chunk.section, page=chunk.page, record_id=chunk.record_id, source_type=chunk.source_type,
        field=q.label, publication=q.publication,
    )
