"""What the assistant returns: answer text with [n] markers, the quoted evidence behind each marker.

A Citation points at ``index.doc_text(doc_id)[char_start:char_end]`` and ``text`` is exactly that span,
so any reader (UI, evals, a test) can check the quote against the indexed document.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ABSTAIN_TEXT = "The indexed sources do not cover this question."


@dataclass(frozen=True)
class Citation:
    n: int  # marker number; numbers distinct sources in order of first use
    source_id: str  # chunk id the quote was taken from
    title: str
    locator: str  # human-readable place: "review > Abstract, chars 1021-1187"
    text: str  # the quoted evidence, verbatim
    score: float
    doc_id: str
    char_start: int
    char_end: int
    section: str = ""
    page: int | None = None
    record_id: str | None = None
    source_type: str = "review"
    field: str | None = None  # the record field quoted ("overall survival (3-year update)"), when known
    publication: str | None = None  # where the quoted field's facts come from ("Baas P, et al. Lancet 2021")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    abstained: bool
    rewritten_query: str | None
    question: str
    mode: str  # "extractive" | "llm"
    provenance: dict[str, Any] = field(default_factory=dict)
    # Sources retrieved and shown to the generator but not cited (llm mode); never used as evidence.
    retrieved: list[Citation] = field(default_factory=list)
    # Sentences of an llm answer removed or marked because no cited passage supports them.
    flagged: list[str] = field(default_factory=list)
    # The question plan (entities, attributes, form) and, for comparisons and lists, one part per record.
    plan: dict[str, Any] = field(default_factory=dict)
    parts: list[dict[str, Any]] = field(default_factory=list)
    # A clarifying question's options ("Do you mean CheckMate 743 or DREAM3R?"): ask one to get the answer.
    choices: list[str] = field(default_factory=list)

    @property
    def sources(self) -> list[Citation]:
        """One citation per marker number (the first quote of each source), in marker order."""
        seen: dict[int, Citation] = {}
        for c in self.citations:
            seen.setdefault(c.n, c)
        return [seen[n] for n in sorted(seen)]

    def sources_text(self) -> str:
        """The numbered source list: one line per marker number, every quoted span's locator."""
        lines = []
        for n in sorted({c.n for c in self.citations}):
            group = [c for c in self.citations if c.n == n]
            locs = "; ".join(dict.fromkeys(c.locator for c in group))
            lines.append(f"[{n}] {group[0].title} — {locs}")
        return "\n".join(lines)

    def format(self) -> str:
        """Answer followed by its numbered sources (what the CLI prints without rich)."""
        src = self.sources_text()
        return f"{self.text}\n\nSources:\n{src}" if src else self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "rewritten_query": self.rewritten_query,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [c.to_dict() for c in self.retrieved],
            "flagged": list(self.flagged),
            "plan": _jsonable(self.plan),
            "parts": _jsonable(self.parts),
            "choices": list(self.choices),
            "provenance": _jsonable(self.provenance),
        }


def and_list(items: list[str], word: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (how answers name several fields or records)."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _jsonable(value: Any) -> Any:
    """Provenance may hold tuples, numpy scalars or paths; make it plain JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return round(value, 6)
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return str(value)
