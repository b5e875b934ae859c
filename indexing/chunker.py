"""Structure-aware chunking: document -> sections -> paragraphs -> sentences -> chunks.

A chunk is a run of whole sentences of one section, at most ``chunk_size`` whitespace words (MiniLM
reads ~256 word pieces, roughly 180 words), so a chunk never mixes two sections and a citation can
always name one section and page. ``overlap`` trailing sentences are repeated at the start of the
next chunk so a claim split over a sentence boundary is still retrievable in one piece. Only a
single sentence longer than ``chunk_size`` is cut, at word boundaries.

Every chunk satisfies ``doc.text[chunk.char_start:chunk.char_end] == chunk.text``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from kernel.chunk import Chunk, chunk_id
from kernel.config import ChunkingConfig
from kernel.documents import Document
from kernel.errors import MesochatError
from kernel.sentences import split_paragraphs, split_sentences

_WORD = re.compile(r"\S+")
SECTION_SEP = " > "

_DEFAULT = ChunkingConfig()  # the defaults live in kernel.config; indexes carry their own values


class _Region(NamedTuple):
    path: str
    start: int
    end: int
    page: int | None


class _Unit(NamedTuple):  # a sentence, or a piece of an over-long one
    start: int
    end: int
    words: int
    para: int


def flat_metadata(metadata: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """Scalar values only (what Chroma and BM25 filters accept); None and containers are dropped."""
    return {k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool))}


def _regions(doc: Document) -> list[_Region]:
    """The document's sections in order, plus any uncovered text as an unnamed region (nothing is lost)."""
    regions: list[_Region] = []
    pos = 0
    for sec in sorted(doc.sections, key=lambda s: (s.start, s.end)):
        start, end = max(sec.start, pos), min(sec.end, len(doc.text))
        if start >= end:
            continue
        if doc.text[pos:start].strip():
            regions.append(_Region("", pos, start, None))
        regions.append(_Region(sec.path, start, end, sec.page))
        pos = end
    if doc.text[pos:].strip():
        regions.append(_Region("", pos, len(doc.text), None))
    return regions


def _units(text: str, start: int, end: int, chunk_size: int) -> list[_Unit]:
    units: list[_Unit] = []
    for para, (p_start, p_end) in enumerate(split_paragraphs(text, start, end)):
        for s, e in split_sentences(text, p_start, p_end):
            n_words = len(text[s:e].split())
            if n_words <= chunk_size:
                units.append(_Unit(s, e, n_words, para))
                continue
            words = [m.span() for m in _WORD.finditer(text, s, e)]  # over-long: cut at word boundaries
            for i in range(0, len(words), chunk_size):
                piece = words[i : i + chunk_size]
                units.append(_Unit(piece[0][0], piece[-1][1], len(piece), para))
    return units


def _pack(units: list[_Unit], chunk_size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of unit indices into [i, j) groups; prefers to end a chunk at a paragraph end."""
    para_words: dict[int, int] = {}
    for u in units:
        para_words[u.para] = para_words.get(u.para, 0) + u.words
    groups: list[tuple[int, int]] = []
    i, n = 0, len(units)
    while i < n:
        j, words = i, 0
        while j < n and (j == i or words + units[j].words <= chunk_size):
            new_para = j > i and units[j].para != units[j - 1].para
            if new_para and words >= chunk_size // 2 and words + para_words[units[j].para] > chunk_size:
                break  # the next paragraph would be cut anyway: start it in a fresh chunk
            words += units[j].words
            j += 1
        groups.append((i, j))
        if j >= n:
            break
        nxt = max(i + 1, j - overlap)
        # The repeated sentences must leave room for at least one new one.
        while nxt < j and sum(u.words for u in units[nxt:j]) + units[j].words > chunk_size:
            nxt += 1
        i = nxt
    return groups


def _common_path(paths: list[str]) -> str:
    parts = [p.split(SECTION_SEP) for p in paths if p]
    if not parts:
        return ""
    common: list[str] = []
    for level in zip(*parts):
        if any(x != level[0] for x in level):
            break
        common.append(level[0])
    return SECTION_SEP.join(common)


def chunk_document(
    doc: Document, chunk_size: int = _DEFAULT.size, overlap: int = _DEFAULT.overlap
) -> list[Chunk]:
    if chunk_size < 1 or overlap < 0:
        raise MesochatError(
            f"chunk_size must be >= 1 and overlap >= 0 (got {chunk_size}, {overlap}); fix the index settings"
        )
    text = doc.text
    meta = flat_metadata(doc.metadata)
    is_record = doc.source_type == "record"
    record_id = str(meta.get("record_id", doc.doc_id)) if is_record else None
    record_type = str(meta.get("record_type", doc.doc_id.partition(":")[0])) if is_record else None

    def make(start: int, end: int, section: str, page: int | None) -> Chunk:
        span = text[start:end]
        return Chunk(
            id=chunk_id(doc.doc_id, start, span),
            doc_id=doc.doc_id,
            title=doc.title,
            text=span,
            section=section,
            char_start=start,
            char_end=end,
            page=page,
            source_type=doc.source_type,
            record_id=record_id,
            record_type=record_type,
            metadata={**meta, "section": section},
        )

    regions = _regions(doc)
    if is_record and regions:
        # A record is most useful whole: one chunk when it fits.
        start = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        if start < end and len(text[start:end].split()) <= chunk_size:
            return [make(start, end, _common_path([r.path for r in regions]), None)]

    chunks: list[Chunk] = []
    for region in regions:
        units = _units(text, region.start, region.end, chunk_size)
        for i, j in _pack(units, chunk_size, overlap):
            chunks.append(make(units[i].start, units[j - 1].end, region.path, region.page))
    return chunks


def chunk_documents(
    docs: list[Document], chunk_size: int = _DEFAULT.size, overlap: int = _DEFAULT.overlap
) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d, chunk_size, overlap)]
