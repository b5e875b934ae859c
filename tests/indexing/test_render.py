"""Record rendering and corpus documents, on the real corpus records."""

from __future__ import annotations

import pytest

from corpus import load_records, load_review
from indexing.chunker import chunk_document
from indexing.render import render_record
from indexing.sources import corpus_documents


@pytest.fixture(scope="module")
def records():
    return {r.id: r for r in load_records()}


@pytest.fixture(scope="module")
def docs():
    return {d.doc_id: d for d in corpus_documents()}


def _trial_with_hr(records):
    trials = [r for r in records.values() if r.type == "trial" and any(x.hazard_ratio for x in r.results)]
    if not trials:
        pytest.fail("the corpus has no trial record with a hazard ratio")
    return records.get("trial:checkmate-743") or trials[0]


def test_trial_render_contains_fields_and_hazard_ratio(records) -> None:
    trial = _trial_with_hr(records)
    text, sections, meta = render_record(trial)
    result = next(x for x in trial.results if x.hazard_ratio)
    assert f"hazard ratio (hr) {result.hazard_ratio:.2f}" in text.lower()
    if result.ci:
        assert result.ci in text
    if result.p_value:
        assert str(result.p_value) in text
    assert trial.name in text and f"phase {trial.phase}" in text and trial.population in text
    for arm in trial.arms:
        assert arm.name in text
        if arm.n is not None:
            assert f"(n = {arm.n})" in text
    for syn in trial.synonyms:
        assert syn in text
    assert [s.path for s in sections][:1] == ["Trial"]
    results = [s for s in sections if s.path.startswith("Trial > Results > ")]  # one section per result
    assert len(results) == len(trial.results)
    assert any(result.statement.rstrip(".") in text[s.start : s.end] for s in results)
    for s in sections:
        assert text[s.start : s.end] == text[s.start : s.end].strip() != ""
    assert meta["record_id"] == trial.id and meta["record_type"] == "trial" and meta["name"] == trial.name
    assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())


def test_checkmate_743_hazard_ratio_is_quoted(docs) -> None:
    doc = docs.get("trial:checkmate-743")
    if doc is None:
        pytest.skip("CheckMate 743 record not in this corpus version")
    assert "Hazard ratio (HR) 0.74" in doc.text and "0.60-0.91" in doc.text
    chunks = chunk_document(doc)
    hr_chunk = next(c for c in chunks if "Hazard ratio (HR) 0.74" in c.text)
    assert hr_chunk.section.startswith("Trial > Results > ") and hr_chunk.record_id == "trial:checkmate-743"


def test_every_record_renders_with_names_for_lexical_search(records) -> None:
    for r in records.values():
        text, sections, meta = render_record(r)
        assert text and sections and meta["record_type"] == r.type
        if r.type != "ref":  # lexical search lower-cases, so case may differ
            assert r.name.lower() in text.lower()
            for alias in [*r.synonyms, *getattr(r, "code_names", [])]:
                assert alias.lower() in text.lower(), (r.id, alias)
        if r.type == "term" and r.abbreviation:
            assert r.abbreviation in text and r.expansion in text


def test_uncaptured_reference_says_so(records, docs) -> None:
    review = load_review()
    missing = next(ref.n for ref in review.references if not ref.captured)
    text, _, meta = render_record(records[f"ref:{missing}"])
    assert text == (
        f"Reference {missing} of the review. The text of this reference was not captured in the available "
        "source, so its authors, title and journal are unknown here."
    )
    assert meta["captured"] is False
    assert docs[f"ref:{missing}"].title == f"Reference [{missing}]: text not captured"


def test_captured_reference(records, docs) -> None:
    ref = records["ref:36"]
    assert ref.captured
    text, _, meta = render_record(ref)
    assert text.startswith(
        "Reference 36 of the review: Szlosarek PW, Creelan BC, Sarkodie T, et al.; ATOMIC-Meso"
    )
    assert "JAMA Oncol 2024;10:475-83." in text and "PMC10870227" in text
    assert meta["pmcid"] == "PMC10870227" and meta["year"] == 2024
    assert docs["ref:36"].title.startswith("Reference [36]: Pegargiminase plus first-line chemotherapy")


def test_review_document(docs) -> None:
    review = load_review()
    doc = docs["review"]
    assert doc.title == (
        "Immunotherapy resistance and strategies in malignant pleural mesothelioma "
        "(Xia et al., Cancer Drug Resist 2026)"
    )
    assert doc.source_type == "review"
    secs = {s.path: doc.text[s.start : s.end] for s in doc.sections}
    assert list(secs) == ["Front matter", "Abstract", "Keywords"]
    assert secs["Abstract"] == review.abstract
    assert "10.20517/cdr.2025.215" in secs["Front matter"] and "Wanyi Xia" in secs["Front matter"]
    assert "tumor microenvironment" in secs["Keywords"]
    assert doc.metadata["doi"] == "10.20517/cdr.2025.215" and doc.metadata["year"] == 2026


def test_corpus_documents_cover_every_record(records, docs) -> None:
    assert set(docs) == {"review", *records}
    ordered = corpus_documents()
    assert ordered[0].doc_id == "review"
    # Deterministic: the same corpus gives the same documents (and therefore the same chunk ids).
    assert [d.content_hash for d in ordered] == [d.content_hash for d in corpus_documents()]
    for d in ordered[1:]:
        assert d.source_type == "record" and d.metadata["record_id"] == d.doc_id
        assert all(isinstance(v, (str, int, float, bool)) for v in d.metadata.values())


def test_an_approval_says_what_the_agency_decided():
    """A CHMP opinion is a recommendation, not a licence: the rendered sentence must not say "approved"."""
    from corpus import load_records
    from indexing.render import record_names, render_fields

    records = {r.id: r for r in load_records()}
    names = record_names(records.values())
    pembro = render_fields(records["agent:pembrolizumab"], names).text
    assert "EMA recommended Pembrolizumab" in pembro and "EMA approved Pembrolizumab" not in pembro
    assert "FDA approved Pembrolizumab" in pembro
