"""Quotable units of indexed text, and their sentence vectors computed once at index time.

A unit is what an extractive answer may quote: mostly a sentence; a reference entry or one trial result
(endpoint, statement, figures, hazard ratio) is one unit, so a bare "Hazard ratio (HR) 0.74" never loses
which endpoint it belongs to. Name lists and "Sources: ..." passages are never units.

Vectors of the built-in corpus (review and records) are embedded at build time and stored with the
generation (``units.npz``), so a warm question embeds only itself. So are a BEIR corpus's (``evals.beir``):
document retrieval scores each document by its best sentence too (``RetrievalConfig.doc_sentence_weight``),
which needs every sentence's vector. Documents added by users are embedded on first use instead (a
1,000-page PDF would make indexing many times slower).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from indexing.render import is_quotable_section
from kernel.chunk import Chunk
from kernel.sentences import split_paragraphs, split_sentences

UNITS_FILE = "units.npz"
PRECOMPUTED_SOURCES = ("review", "record", "beir")
MIN_UNIT_CHARS = 12
UNQUOTABLE_PREFIXES = ("Sources:", "Other names for ")  # how indexing.render opens its Names and Sources passages


def quotable_units(chunk: Chunk, doc_text: str) -> list[tuple[int, int]]:
    """Absolute (start, end) spans of the chunk that an answer may quote."""
    if chunk.record_type == "ref":
        return split_paragraphs(doc_text, chunk.char_start, chunk.char_end)
    if chunk.source_type == "record" and not is_quotable_section(chunk.section):
        return []
    spans = split_sentences(doc_text, chunk.char_start, chunk.char_end)
    if chunk.source_type != "record":
        return spans
    # a short record is one chunk spanning all its sections, so its name list and sources are dropped by text
    spans = [(s, e) for s, e in spans if not doc_text.startswith(UNQUOTABLE_PREFIXES, s)]
    if "> Results" not in chunk.section:
        return spans
    out = []
    for p_start, p_end in split_paragraphs(doc_text, chunk.char_start, chunk.char_end):
        inside = [(s, e) for s, e in spans if p_start <= s and e <= p_end]
        if inside:
            out.append((inside[0][0], inside[-1][1]))
    return out


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def corpus_units(chunks: Iterable[Chunk], doc_text: Callable[[str], str]) -> dict[str, str]:
    """text key -> unit text, for every unit of the built-in corpus's chunks."""
    out: dict[str, str] = {}
    for chunk in chunks:
        if chunk.source_type not in PRECOMPUTED_SOURCES:
            continue
        text = doc_text(chunk.doc_id)
        for s, e in quotable_units(chunk, text):
            if e - s >= MIN_UNIT_CHARS:
                out.setdefault(text_key(text[s:e]), text[s:e])
    return out


def embed_units(units: dict[str, str], embed: Callable[[list[str]], np.ndarray],
                reuse: dict[str, np.ndarray] | None = None) -> tuple[list[str], np.ndarray]:
    """(keys, float16 matrix) for ``units``, embedding only those ``reuse`` lacks."""
    keys = sorted(units)
    reuse = reuse or {}
    todo = [k for k in keys if k not in reuse]
    fresh = dict(zip(todo, np.asarray(embed([units[k] for k in todo]), dtype=np.float32))) if todo else {}
    dim = next(iter(fresh.values()), next(iter(reuse.values()), np.zeros(0))).shape[0]
    matrix = np.zeros((len(keys), dim), dtype=np.float16)
    for i, k in enumerate(keys):
        matrix[i] = fresh[k] if k in fresh else reuse[k]
    return keys, matrix


def units_bytes(keys: Sequence[str], matrix: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, keys=np.asarray(keys, dtype="U20"), vectors=matrix)
    return buf.getvalue()


def load_units(path: Path) -> dict[str, np.ndarray]:
    """text key -> float32 vector; empty when the generation has no units file (older layout)."""
    if not path.is_file():
        return {}
    with np.load(path) as data:
        return dict(zip(data["keys"].tolist(), data["vectors"].astype(np.float32)))
