"""Assemble a Document from headings and paragraphs, tracking exact section offsets as text grows."""

from __future__ import annotations

import re
from typing import Any

from kernel.documents import Document, Section

SECTION_SEP = " > "
_SPACE = re.compile(r"\s+")


def clean_inline(text: str) -> str:
    """Collapse all whitespace runs (newlines included) to single spaces."""
    return _SPACE.sub(" ", text).strip()


class DocumentBuilder:
    """Paragraphs are joined by a blank line; a Section covers each run with the same path and page.

    Text is kept as a list of parts and joined once, so building is linear in the text length.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._pos = 0
        self._sections: list[Section] = []
        self._open: tuple[str, int | None, int, int] | None = None  # path, page, start, end
        self._headings: list[tuple[int, str]] = []
        self.path = ""

    def heading(self, level: int, title: str, include: bool = True, page: int | None = None) -> None:
        """Enter a heading of ``level`` (1 = top); the section path is the chain of open headings."""
        title = clean_inline(title)
        if not title:
            return
        while self._headings and self._headings[-1][0] >= level:
            self._headings.pop()
        self._headings.append((level, title))
        self.path = SECTION_SEP.join(t for _, t in self._headings)
        if include:
            self.paragraph(title, page=page)

    def set_path(self, path: str) -> None:
        self._headings = [(i + 1, p) for i, p in enumerate(path.split(SECTION_SEP))] if path else []
        self.path = path

    def paragraph(self, text: str, page: int | None = None) -> int:
        """Append a paragraph; returns its start offset (-1 when empty)."""
        text = text.strip()
        if not text:
            return -1
        if self._parts:
            self._parts.append("\n\n")
            self._pos += 2
        start = self._pos
        self._parts.append(text)
        self._pos += len(text)
        if self._open and self._open[0] == self.path and self._open[1] == page:
            self._open = (self.path, page, self._open[2], self._pos)
        else:
            self._close()
            self._open = (self.path, page, start, self._pos)
        return start

    def _close(self) -> None:
        if self._open:
            path, page, start, end = self._open
            self._sections.append(Section(path=path, start=start, end=end, page=page))
            self._open = None

    @property
    def empty(self) -> bool:
        return not self._parts

    def build(
        self, doc_id: str, title: str, source_type: str, metadata: dict[str, Any] | None = None
    ) -> Document:
        self._close()
        return Document(
            doc_id=doc_id,
            title=title,
            text="".join(self._parts),
            source_type=source_type,
            sections=list(self._sections),
            metadata=dict(metadata or {}),
        )
