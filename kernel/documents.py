"""The unit every part of mesochat indexes: a document with its full text and located sections.

Offsets are character offsets into ``Document.text``; a chunk or a citation that points at
``text[start:end]`` can always be checked against the source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Section:
    path: str  # e.g. "Abstract" or "Results > Overall survival"
    start: int
    end: int
    page: int | None = None  # 1-based page number for PDFs


@dataclass
class Document:
    doc_id: str  # "review", a record id such as "trial:checkmate-743", or "user:<hash>"
    title: str
    text: str
    source_type: str  # "review" | "record" | "user" (BEIR datasets use "beir")
    sections: list[Section] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # flat str/int/float/bool values only

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256()
        for part in (self.doc_id, self.title, self.text, repr(self.sections), repr(sorted(self.metadata.items()))):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()
