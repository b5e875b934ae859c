"""Chunk invariants: exact offsets, stable ids, sections respected, sentence overlap, size limits."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools

import pytest

from indexing.chunker import chunk_document
from kernel.chunk import Chunk, chunk_id
from kernel.documents import Document, Section
from kernel.errors import MesochatError
from kernel.sentences import split_sentences


def _doc(sections: list[tuple[str, str, int | None]], doc_id: str = "user:test", **kw) -> Document:
    parts, secs, pos = [], [], 0
    for path, body, page in sections:
        if parts:
            parts.append("\n\n")
            pos += 2
        secs.append(Section(path, pos, pos + len(body), page))
        parts.append(body)
        pos += len(body)
    return Document(
        doc_id=doc_id, title="Test doc", text="".join(parts), source_type="user", sections=secs, **kw
    )


def _sentence(i: int, words: int = 12) -> str:
    return f"Sentence {i} reports " + " ".join(f"w{i}x{k}" for k in range(words - 4)) + " here."


def _body(n: int, start: int = 0, words: int = 12) -> str:
    return " ".join(_sentence(i, words) for i in range(start, start + n))


def _check_invariants(doc: Document, chunks: list[Chunk], chunk_size: int) -> None:
    assert chunks
    for c in chunks:
        assert doc.text[c.char_start : c.char_end] == c.text
        assert c.text == c.text.strip() and c.text
        assert c.id == chunk_id(doc.doc_id, c.char_start, c.text)
        assert c.id.startswith(doc.doc_id + "#") and len(c.id) == len(doc.doc_id) + 13
        assert len(c.text.split()) <= chunk_size
        assert c.doc_id == doc.doc_id and c.title == doc.title and c.source_type == doc.source_type
    assert len({c.id for c in chunks}) == len(chunks)


def test_offsets_sections_pages_and_metadata() -> None:
    doc = _doc(
        [
            ("Intro", _body(10), 1),
            ("Results > Survival", _body(15, 100), 2),
            ("Discussion", _body(3, 200), 3),
        ],
        metadata={"path": "/x/y.pdf", "pages": 3, "nested": {"no": 1}, "missing": None},
    )
    chunks = chunk_document(doc, chunk_size=50, overlap=1)
    _check_invariants(doc, chunks, 50)
    by_section = {s.path: s for s in doc.sections}
    for c in chunks:
        sec = by_section[c.section]
        assert sec.start <= c.char_start < c.char_end <= sec.end  # never crosses a section boundary
        assert c.page == sec.page
        assert c.metadata == {"path": "/x/y.pdf", "pages": 3, "section": c.section}
        assert c.record_id is None and c.record_type is None
    assert next(c.section for c in chunks) == "Intro" and chunks[-1].section == "Discussion"
    # Every sentence of the document is in at least one chunk.
    covered = {(s, e) for c in chunks for s, e in split_sentences(doc.text, c.char_start, c.char_end)}
    assert covered == set(split_sentences(doc.text))


def test_chunks_are_whole_sentences_with_overlap() -> None:
    doc = _doc([("Body", _body(20), None)])
    sentences = split_sentences(doc.text)
    chunks = chunk_document(doc, chunk_size=40, overlap=1)
    assert len(chunks) > 3
    starts = {s for s, _ in sentences}
    ends = {e for _, e in sentences}
    for c in chunks:
        assert c.char_start in starts and c.char_end in ends
    for prev, nxt in itertools.pairwise(chunks):
        last_sentence = next(s for s in sentences if s[1] == prev.char_end)
        assert nxt.char_start == last_sentence[0]  # exactly one sentence repeated

    no_overlap = chunk_document(doc, chunk_size=40, overlap=0)
    for prev, nxt in itertools.pairwise(no_overlap):
        assert nxt.char_start > prev.char_end
    assert len(no_overlap) < len(chunks)
    two = chunk_document(doc, chunk_size=40, overlap=2)
    assert two[1].char_start < chunks[1].char_start


def test_ids_are_stable_and_change_with_content() -> None:
    doc = _doc([("A", _body(12), None), ("B", _body(6, 50), None)])
    first = chunk_document(doc, chunk_size=30)
    again = chunk_document(_doc([("A", _body(12), None), ("B", _body(6, 50), None)]), chunk_size=30)
    assert [c.id for c in first] == [c.id for c in again]
    assert [c.id for c in first] == [chunk_id(c.doc_id, c.char_start, c.text) for c in again]
    # A pinned value: ids must not drift between versions (they key the embeddings cache and the index).
    assert chunk_id("review", 0, "Hello.") == "review#ece469b7a64e"
    assert chunk_id("review", 0, "Hello.")[7:] == hashlib.sha1(b"review\x000\x00Hello.").hexdigest()[:12]

    edited_body = _body(12).replace("w11x3", "w11x3-edited")
    edited = chunk_document(_doc([("A", edited_body, None), ("B", _body(6, 50), None)]), chunk_size=30)
    old_ids, new_ids = {c.id for c in first}, {c.id for c in edited}
    assert old_ids != new_ids
    changed = [c for c in edited if c.id not in old_ids]
    assert changed and all("w11x3-edited" in c.text or c.section == "B" for c in changed)
    other_doc = chunk_document(
        _doc([("A", _body(12), None), ("B", _body(6, 50), None)], doc_id="user:other"), chunk_size=30
    )
    assert not {c.id for c in other_doc} & old_ids


def test_overlong_sentence_is_split_at_word_boundaries() -> None:
    words = [f"tok{i}" for i in range(95)]
    body = "Short intro sentence. " + " ".join(words) + ". Short outro sentence."
    doc = _doc([("Only", body, None)])
    chunks = chunk_document(doc, chunk_size=20, overlap=1)
    _check_invariants(doc, chunks, 20)
    for c in chunks:  # pieces start and end on word boundaries
        assert c.char_start == 0 or doc.text[c.char_start - 1].isspace()
        assert c.char_end == len(doc.text) or doc.text[c.char_end].isspace()
    assert any(c.text.startswith("tok") for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert all(w in joined.split() or w + "." in joined.split() for w in words)


def test_record_becomes_one_chunk_when_it_fits() -> None:
    text = "Trial X is a phase III trial.\n\nArms: A; B.\n\nOverall survival improved (HR 0.74)."
    secs = [
        Section("Trial", 0, 29),
        Section("Trial > Arms", 31, 42),
        Section("Trial > Results", 44, len(text)),
    ]
    meta = {"record_id": "trial:x", "record_type": "trial", "name": "Trial X"}
    doc = Document("trial:x", "Trial X", text, "record", secs, meta)
    (chunk,) = chunk_document(doc, chunk_size=160)
    assert chunk.text == text and chunk.char_start == 0 and chunk.section == "Trial"
    assert chunk.record_id == "trial:x" and chunk.record_type == "trial"
    assert chunk.metadata["record_type"] == "trial"
    # Too long for one chunk: falls back to per-section chunks.
    parts = chunk_document(doc, chunk_size=6, overlap=0)
    assert len(parts) > 1 and {c.section for c in parts} == {"Trial", "Trial > Arms", "Trial > Results"}


def test_uncovered_text_and_sectionless_documents_are_not_lost() -> None:
    text = "Preamble before any heading.\n\nIntro\n\nBody text here."
    doc = Document("user:u", "U", text, "user", [Section("Intro", 30, len(text))])
    chunks = chunk_document(doc)
    assert chunks[0].text == "Preamble before any heading." and chunks[0].section == ""
    plain = Document("user:p", "P", "  One. Two.  ", "user")
    (only,) = chunk_document(plain)
    assert only.text == "One. Two." and only.char_start == 2 and only.section == ""
    assert chunk_document(Document("user:e", "E", "   \n ", "user")) == []


def test_chunk_is_frozen_and_round_trips() -> None:
    doc = _doc([("A", _body(3), 4)])
    (c,) = chunk_document(doc)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.text = "x"  # type: ignore[misc]
    assert Chunk.from_dict(c.to_dict()) == c


def test_bad_settings_raise_one_line_error() -> None:
    with pytest.raises(MesochatError, match="chunk_size"):
        chunk_document(_doc([("A", "Text.", None)]), chunk_size=0)


def test_large_document_is_linear() -> None:
    body = "\n\n".join(_body(5, i * 5) for i in range(4000))  # ~240k words
    doc = Document("user:big", "Big", body, "user")
    chunks = chunk_document(doc, chunk_size=160, overlap=1)
    assert len(chunks) > 1000
    assert all(doc.text[c.char_start : c.char_end] == c.text for c in chunks[::97])


def test_review_document_chunks() -> None:
    from indexing.sources import corpus_documents

    docs = corpus_documents()
    review = docs[0]
    chunks = chunk_document(review)
    _check_invariants(review, chunks, 160)
    assert {c.section for c in chunks} == {"Front matter", "Abstract", "Keywords"}
    assert all(c.metadata["doi"] == "10.20517/cdr.2025.215" for c in chunks)
    for d in docs[1:]:
        for c in chunk_document(d):
            assert d.text[c.char_start : c.char_end] == c.text and c.record_id == d.doc_id
