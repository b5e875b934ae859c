"""The retrievable unit: a located span of one document."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def chunk_id(doc_id: str, char_start: int, text: str) -> str:
    """Stable id: the same span of the same document always gets the same id, any edit gives a new one."""
    digest = hashlib.sha1(f"{doc_id}\x00{char_start}\x00{text}".encode()).hexdigest()
    return f"{doc_id}#{digest[:12]}"


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    title: str
    text: str  # == document.text[char_start:char_end]
    section: str  # section path, e.g. "Trial > Results"; "" when the document has none
    char_start: int
    char_end: int
    page: int | None = None
    source_type: str = "review"
    record_id: str | None = None
    record_type: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "text": self.text,
            "section": self.section,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "page": self.page,
            "source_type": self.source_type,
            "record_id": self.record_id,
            "record_type": self.record_type,
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        return cls(**{**d, "metadata": dict(d.get("metadata") or {})})
