"""The review's reference list as records (``ref:1`` .. ``ref:206``), so they can be looked up and cited
like any other record. Summaries are generated from the parsed fields, never written by hand."""

from __future__ import annotations

from corpus.models import ReferenceRecord, Source
from corpus.review import Reference, Review


def _summary(ref: Reference) -> str:
    if not ref.captured:
        return f"Reference {ref.n} of the review; its text was not captured, so only its number is known."
    people = ", ".join(ref.authors[:3])
    if ref.et_al or len(ref.authors) > 3:
        people += ", et al."
    if ref.group:
        people += f"; {ref.group}"
    parts = [f"Reference {ref.n} of the review", people, ref.title]
    if ref.journal:
        venue = f"{ref.journal} {ref.year or ''}".strip()
        if ref.volume:
            venue += f";{ref.volume}" + (f":{ref.pages}" if ref.pages else "")
        parts.append(venue)
    if ref.url:
        parts.append(f"web page {ref.url}" + (f" (last accessed {ref.accessed})" if ref.accessed else ""))
    if ref.pmcid:
        parts.append(ref.pmcid)
    return ". ".join(p for p in parts if p) + "."


def reference_record(ref: Reference) -> ReferenceRecord:
    return ReferenceRecord(
        id=f"ref:{ref.n}",
        type="ref",
        name=ref.title or f"Reference {ref.n}",
        summary=_summary(ref),
        origin="review",
        sources=[Source(ref=ref.n)],
        n=ref.n,
        captured=ref.captured,
        text=ref.text,
        authors=list(ref.authors),
        et_al=ref.et_al,
        group=ref.group,
        title=ref.title,
        journal=ref.journal,
        year=ref.year,
        volume=ref.volume,
        pages=ref.pages,
        pmcid=ref.pmcid,
        url=ref.url,
        accessed=ref.accessed,
    )


def reference_records(review: Review) -> list[ReferenceRecord]:
    return [reference_record(r) for r in review.references]
