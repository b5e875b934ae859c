"""Extractive answers on the real review corpus: verbatim quotes, markers, abstention, direct lookups.

Also query understanding (assistant.understand.query) on the real records: synonyms, shorthand, misspellings,
reference lookups.
"""

from __future__ import annotations

import pytest

from assistant.answer.extractive import display_quote
from assistant.answer.markers import split_cited, strip_markers
from assistant.answer.model import ABSTAIN_TEXT
from assistant.understand.query import QueryAnalyzer

ANSWERABLE = [
    "What did CheckMate 743 show for overall survival?",
    "What is ADI-PEG 20?",
    "Which journal published BEAT-meso?",
    "What is the mechanism of pegargimenase?",
    "What is TRuC?",
    "What was the 2-year overall survival rate in checkmate743?",
    "Why is mesothelin a target for cell therapy in mesothelioma?",
]
OFF_TOPIC = [
    "What is the capital of France?",
    "best treatment for migraine",
    "How do I bake sourdough bread?",
]


@pytest.fixture(scope="module")
def assistant(review_home):
    from assistant import Assistant

    return Assistant.load(home=review_home)


@pytest.fixture(scope="module")
def analyzer():
    return QueryAnalyzer.from_corpus()


def check_grounded(assistant, answer) -> None:
    """Every citation quotes its document verbatim; every answer sentence is a marked quote."""
    assert answer.citations, answer.text
    numbers = {c.n for c in answer.citations}
    assert numbers == set(range(1, len(numbers) + 1))  # sources numbered 1..m
    for c in answer.citations:
        assert assistant.index.doc_text(c.doc_id)[c.char_start : c.char_end] == c.text
        assert f"chars {c.char_start}-{c.char_end}" in c.locator
        assert c.source_id in assistant.index.chunks
        chunk = assistant.index.chunks[c.source_id]
        assert chunk.char_start <= c.char_start < c.char_end <= chunk.char_end
    plain = strip_markers(answer.text)
    for c in answer.citations:  # each quote appears whole in the answer
        assert display_quote(c.text) in plain, c.text
    pieces = split_cited(answer.text)
    assert pieces
    for sentence, markers in pieces:
        assert markers, f"sentence without a marker: {sentence!r}"
        assert set(markers) <= numbers
        # ...and carries the marker of a source that quotes it
        assert any(sentence.rstrip(".") in display_quote(c.text) for c in answer.citations if c.n in markers), sentence


@pytest.mark.parametrize("question", ANSWERABLE)
def test_answerable_questions_are_answered_with_verbatim_quotes(assistant, question):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.text
    check_grounded(assistant, answer)
    assert answer.mode == "extractive"


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained
    assert answer.citations == []
    assert answer.text.startswith(ABSTAIN_TEXT)
    assert "Closest topics they do cover:" in answer.text


def test_checkmate_743_overall_survival_figures(assistant):
    answer = assistant.ask("What did CheckMate 743 show for overall survival?")
    assert {c.record_id for c in answer.citations} == {"trial:checkmate-743"}
    quoted = " ".join(c.text for c in answer.citations)
    assert "18.1 months" in quoted and "14.1 months" in quoted and "0.74" in quoted


def test_synonym_lookup_adi_peg_20_is_pegargiminase(assistant):
    answer = assistant.ask("What is ADI-PEG 20?")
    # what the code stands for (glossary), then the drug it names
    assert list(dict.fromkeys(c.record_id for c in answer.citations)) == ["term:adi-peg-20", "agent:pegargiminase"]
    assert "Pegargiminase" in answer.text


def test_which_journal_published_beat_meso(assistant):
    answer = assistant.ask("Which journal published BEAT-meso?")
    # the record's publication field and the review's reference 9, which it cites
    assert [c.record_id for c in answer.citations] == ["trial:beat-meso", "ref:9"]
    assert "Ann Oncol" in answer.text


def test_reference_lookup_by_number(assistant):
    for question in ("reference 9", "What is ref 9?", "Tell me about [9]"):
        answer = assistant.ask(question)
        assert not answer.abstained
        assert answer.citations[0].record_id == "ref:9", question
        assert "BEAT-meso" in answer.citations[0].text


def test_uncaptured_reference_is_answered_honestly(assistant):
    answer = assistant.ask("What is reference 57 about?")
    assert not answer.abstained
    assert [c.record_id for c in answer.citations] == ["ref:57"]
    assert "not captured" in answer.text
    check_grounded(assistant, answer)


def test_reference_outside_the_list_abstains(assistant):
    answer = assistant.ask("What does reference 300 say?")
    assert answer.abstained and answer.citations == []
    assert "1-206" in answer.text


def test_question_about_one_trial_never_quotes_another(assistant):
    # BEAT-meso's record has no hazard ratio; other trials' hazard ratios must not stand in for it.
    answer = assistant.ask("What was the hazard ratio in BEAT-meso?")
    for c in answer.citations:
        assert c.record_id in ("trial:beat-meso", "ref:9") or "BEAT" in c.text, c.locator


def test_named_trial_chunks_come_first_even_when_misspelled(assistant):
    answer = assistant.ask("checkmate743 hazard ratio for overall survival")
    assert answer.citations and answer.citations[0].record_id == "trial:checkmate-743"
    assert "trial:checkmate-743" in answer.provenance["query"]["named_records"]


def test_answers_in_other_languages_are_grounded_or_abstain(assistant):
    for question in ("¿Qué mostró CheckMate 743 sobre la supervivencia global?", "间皮瘤的免疫治疗耐药机制是什么？"):
        answer = assistant.ask(question)
        if not answer.abstained:
            check_grounded(assistant, answer)
        else:
            assert answer.citations == []


def test_evidence_score_and_threshold_recorded(assistant):
    answer = assistant.ask("What is the capital of France?")
    params = answer.provenance["extractive"]
    assert answer.provenance["evidence_score"] < params["threshold"]
    assert "calibrated" in params["threshold_note"]


# -- query understanding -------------------------------------------------------------------------


def test_query_expands_synonyms_both_ways(analyzer):
    plan = analyzer.analyze("What is ADI-PEG 20?")
    assert "agent:pegargiminase" in plan.record_ids
    assert any("pegargiminase" in e.lower() for e in plan.expansions)
    plan = analyzer.analyze("How does pegargiminase work?")
    assert "agent:pegargiminase" in plan.record_ids
    assert any("adi-peg" in e.lower() for e in plan.expansions)


def test_query_expands_clinical_shorthand(analyzer):
    plan = analyzer.analyze("nivo/ipi in MPM")
    text = plan.search_text.lower()
    assert "nivolumab" in text and "ipilimumab" in text
    assert "malignant pleural mesothelioma" in text


@pytest.mark.parametrize(
    "question, record_id",
    [
        ("checkmate743 results", "trial:checkmate-743"),
        ("CheckMate-743 results", "trial:checkmate-743"),
        ("what is pegargimenase", "agent:pegargiminase"),
        ("BEAT-meso primary endpoint", "trial:beat-meso"),
        ("ASS1 loss", "biomarker:ass1"),
        ("What is TRuC?", "term:truc"),
        ("CAR-NK cells", "agent:car-nk"),
    ],
)
def test_query_finds_named_records(analyzer, question, record_id):
    assert record_id in analyzer.analyze(question).record_ids


def test_query_reference_numbers(analyzer):
    assert analyzer.analyze("reference 36").ref_numbers == [36]
    assert analyzer.analyze("ref 36 and [9]").ref_numbers == [36, 9]
    assert analyzer.analyze("refs 12, 14 and 20").ref_numbers == [12, 14, 20]
    assert analyzer.analyze("What did CheckMate 743 show?").ref_numbers == []


def test_off_topic_query_names_nothing(analyzer):
    plan = analyzer.analyze("What is the capital of France?")
    assert plan.records == [] and plan.ref_numbers == [] and plan.expansions == []
