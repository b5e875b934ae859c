"""The built-in corpus as Documents: the review (front matter, abstract, keywords) plus one per record."""

from __future__ import annotations

from typing import Any

from indexing.loaders.builder import DocumentBuilder
from indexing.render import record_names, render_record
from kernel.documents import Document

REVIEW_DOC_ID = "review"


def _load_corpus() -> tuple[Any, list[Any]]:
    try:
        from corpus import load_records, load_review
    except ImportError:  # the package may not re-export them
        from corpus.records import load_records
        from corpus.review import load_review
    review = load_review()
    return review, load_records(review=review)


def _surname(full_name: str) -> str:
    return full_name.split()[-1] if full_name.split() else full_name


def review_title(review: Any) -> str:
    lead = f"{_surname(review.authors[0])} et al., " if review.authors else ""
    return f"{review.title} ({lead}{review.journal_abbrev} {review.year})"


def review_document(review: Any) -> Document:
    b = DocumentBuilder()
    b.set_path("Front matter")
    b.paragraph(review.title)
    if review.authors:
        b.paragraph(f"Authors: {', '.join(review.authors)}.")
    b.paragraph(
        f"Published in {review.journal} ({review.journal_abbrev}), {review.year}. DOI: {review.doi}. "
        f"License: {review.license}."
    )
    b.set_path("Abstract")
    b.paragraph(review.abstract)
    if review.keywords:
        b.set_path("Keywords")
        b.paragraph(f"Keywords: {'; '.join(review.keywords)}.")
    metadata = {
        "title": review.title,
        "authors": "; ".join(review.authors),
        "journal": review.journal,
        "journal_abbrev": review.journal_abbrev,
        "year": review.year,
        "doi": review.doi,
        "url": f"https://doi.org/{review.doi}",
        "license": review.license,
        "keywords": "; ".join(review.keywords),
    }
    return b.build(REVIEW_DOC_ID, review_title(review), "review", metadata)


def record_title(record: Any) -> str:
    if record.type == "ref":
        title = record.title if getattr(record, "captured", False) and record.title else None
        if title is None and getattr(record, "captured", False) and record.text:
            title = record.text
        return f"Reference [{record.n}]: {title or 'text not captured'}"
    return record.name


def record_document(record: Any, names: dict[str, str] | None = None) -> Document:
    text, sections, metadata = render_record(record, names)
    return Document(
        doc_id=record.id,
        title=record_title(record),
        text=text,
        source_type="record",
        sections=sections,
        metadata=metadata,
    )


def corpus_documents() -> list[Document]:
    """The review document first, then one document per record in load order."""
    review, records = _load_corpus()
    names = record_names(records)
    return [review_document(review), *(record_document(r, names) for r in records)]
