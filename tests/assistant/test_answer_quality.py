"""Each failure listed in issue 13's "Why" is a test, on the real index (MiniLM, Chroma, BM25)."""

from __future__ import annotations

import re

import pytest

from assistant import Assistant
from corpus import load_records


@pytest.fixture(scope="module")
def assistant(review_home):
    return Assistant.load(home=review_home)


@pytest.fixture(scope="module")
def records():
    return {r.id: r for r in load_records()}


def _verbatim(assistant, answer) -> None:
    for c in answer.citations:
        assert assistant.index.doc_text(c.doc_id)[c.char_start:c.char_end] == c.text


def test_missing_attribute_is_said_for_the_named_trial_not_borrowed(assistant, records) -> None:
    """Asked for a figure a trial's record lacks, it quoted that figure from other trials."""
    beat = records["trial:beat-meso"]
    has_dose = any(re.search(r"\d\s*(?:mg|AUC)", a.regimen) for a in beat.arms)
    ans = assistant.ask("What was the dose of atezolizumab in BEAT-meso?")
    assert {c.record_id for c in ans.citations} == {"trial:beat-meso"}
    if not has_dose:
        assert ans.abstained and ans.text.startswith("The indexed record of BEAT-meso")
        assert "does not report the dose; it reports" in ans.text
    _verbatim(assistant, ans)


def test_follow_up_sample_size_stays_on_the_trial_of_the_conversation(assistant, records) -> None:
    """After a turn about one trial, "how many patients were randomised?" came back as two other trials' sizes."""
    chat = assistant.chat()
    chat.ask("What did DENIM show?")
    ans = chat.ask("how many patients were randomised?")
    assert ans.plan["entities"] == ["trial:denim"]
    assert {c.record_id for c in ans.citations} == {"trial:denim"}
    assert str(records["trial:denim"].n_randomised) in ans.text


@pytest.mark.parametrize("question", [
    "What is the response rate of pembrolizumab in melanoma?",
    "What was the median overall survival with nivolumab in lung cancer?",
])
def test_other_disease_is_not_answered_with_mesothelioma_results(assistant, question) -> None:
    ans = assistant.ask(question)
    assert ans.abstained and not ans.citations
    assert "do not report on" in ans.text


def test_what_did_atomic_meso_show_leads_with_its_headline_result(assistant) -> None:
    """It answered with the synonym list, a 36-month statement and a curator's note."""
    ans = assistant.ask("What did ATOMIC-Meso show, and which patients benefit?")
    first = ans.text.split("[1]")[0]
    assert "9.3 months" in ans.text.split("Population")[0] or "9.3" in ans.text
    assert "overall survival" in first and "0.71" in ans.text
    for leak in ("also called", "Other names", "not confirmed", "retrieved", "Sources:"):
        assert leak not in ans.text
    assert {c.record_id for c in ans.citations} == {"trial:atomic-meso"}
    _verbatim(assistant, ans)


def test_comparison_answers_both_trials(assistant) -> None:
    """"Compare CheckMate 743 and ATOMIC-Meso" answered about CheckMate 743 only."""
    ans = assistant.ask("Compare CheckMate 743 and ATOMIC-Meso")
    assert [p["record_id"] for p in ans.parts] == ["trial:checkmate-743", "trial:atomic-meso"]
    assert {c.record_id for c in ans.citations} == {"trial:checkmate-743", "trial:atomic-meso"}
    assert all(p["markers"] for p in ans.parts) and not ans.abstained
    _verbatim(assistant, ans)


@pytest.mark.parametrize("question", [
    "What is nivolumab plus ipilimumab?", "Tell me about CheckMate 743", "What is MesoPher?",
    "What was the overall survival in CheckMate 743?", "What is the 2-year survival in CheckMate 743?",
])
def test_no_synonym_lists_or_curation_notes_in_answers(assistant, records, question) -> None:
    ans = assistant.ask(question)
    notes = [n for r in records.values() for n in [getattr(r, "notes", None)] if n]
    notes += [res.notes for r in records.values() for res in getattr(r, "results", []) if res.notes]
    notes += [s.note for r in records.values() for s in r.sources if s.note]
    assert "also called" not in ans.text and "Other names for" not in ans.text
    assert "do not quote" not in ans.text and "not confirmed" not in ans.text
    assert not any(n[:50] in ans.text for n in notes if len(n) >= 50)


def test_locator_names_document_field_and_publication_before_offsets(assistant) -> None:
    ans = assistant.ask("What was the overall survival in CheckMate 743?")
    loc = ans.citations[0].locator
    assert loc.startswith("CheckMate 743 (trial record) › overall survival")
    assert loc.index("from ") < loc.index("chars")
    assert ans.citations[0].field and ans.citations[0].publication


def test_uncovered_trial_abstains_naming_it(assistant) -> None:
    ans = assistant.ask("What did KEYNOTE-189 show?")
    assert ans.abstained and "KEYNOTE-189" in ans.text and not ans.citations


def test_plan_is_exposed_on_the_answer(assistant) -> None:
    d = assistant.ask("What was the ORR in CheckMate 743?").to_dict()
    assert d["plan"]["entities"] == ["trial:checkmate-743"] and d["plan"]["attribute"] == "orr"


def test_record_answers_do_no_model_inference(assistant, monkeypatch) -> None:
    """A question about a named record's field is answered from its field spans: no embedding at all."""
    def boom(*a, **k):
        raise AssertionError("embedded at question time")
    monkeypatch.setattr(assistant.index, "embed_query", boom)
    monkeypatch.setattr(assistant.index, "embed_texts", boom)
    assert not assistant.ask("How many patients were randomised in DENIM?").abstained


def test_prose_questions_use_sentence_vectors_from_the_index(assistant, monkeypatch) -> None:
    """Free-text questions embed the question once; every sentence vector comes from the generation."""
    calls = []
    real = assistant.vectors._embed
    monkeypatch.setattr(assistant.vectors, "_embed", lambda texts: calls.append(len(texts)) or real(texts))
    ans = assistant.ask("Which three features of MPM biology does the review blame for resistance to immunotherapy?")
    assert not ans.abstained and calls == []


@pytest.mark.parametrize(("question", "said"), [
    ("Does tumour treating fields improve survival in pleural mesothelioma?", '"fields"'),
    ("What did the STELLAR study show?", "STELLAR"),
    ("What is the response rate of cemiplimab in mesothelioma?", "cemiplimab"),
])
def test_a_subject_no_source_holds_is_named_in_the_abstention(assistant, question, said) -> None:
    ans = assistant.ask(question)
    assert ans.abstained and not ans.citations and said in ans.text


def test_spelling_variants_and_asking_words_are_not_missing_subjects(assistant) -> None:
    for question in ("Which partners does the review propose combining with ICIs?",
                     "Which signalling pathways are implicated in ICI resistance in mesothelioma?"):
        assert not assistant.ask(question).abstained, question


def test_duration_of_response_is_not_answered_with_the_response_rate(assistant) -> None:
    ans = assistant.ask("How long did responses last in MAPS2?")
    assert ans.abstained and "does not report the duration of response" in ans.text


@pytest.mark.parametrize(("question", "said"), [
    ("What did the MESO-PRIME trial of nivolumab in Japanese patients show?", "MESO-PRIME"),  # a covered drug, another trial
    ("cediranib added to cisplatin-pemetrexed: PFS?", "cediranib"),  # a new drug on a covered backbone
    ("what about TIGIT inhibitors?", "TIGIT"),  # a kind of drug no record holds is not "every drug"
])
def test_uncovered_names_beside_covered_words_abstain(assistant, question, said) -> None:
    ans = assistant.ask(question)
    assert ans.abstained and not ans.citations and said in ans.text


def test_questions_about_the_review_are_answered_from_the_review(assistant) -> None:
    ans = assistant.ask("Who are the authors of the review?")
    assert not ans.abstained and [c.doc_id for c in ans.citations] == ["review"] and "Wanyi Xia" in ans.text
    ans = assistant.ask("is dual PD-1/CTLA-4 blockade now first-line standard of care according to the review?")
    assert [c.doc_id for c in ans.citations] == ["review"] and "first-line standard of care" in ans.text
    # "the authors of the BEAT-meso paper" are the trial paper's, not the review's
    ans = assistant.ask("Who were the authors of the BEAT-meso paper?")
    assert "review" not in {c.doc_id for c in ans.citations} and "Felip" in ans.text
    _verbatim(assistant, ans)


def test_list_by_property_quotes_only_records_with_it(assistant, records) -> None:
    ans = assistant.ask("Which trials used a placebo control?")
    cited = {c.record_id for c in ans.citations}
    assert cited and all("placebo" in records[r].design.lower() or any("placebo" in a.name.lower() for a in records[r].arms)
                         for r in cited)
    assert {p["record_id"] for p in ans.parts} == cited


def test_conversation_returns_to_the_trial_after_a_detour_to_its_drug(assistant) -> None:
    chat = assistant.chat()
    chat.ask("KEYNOTE-483 primary endpoint?")
    detour = chat.ask("was it approved by the EMA?")  # the drug the trial tested: its EU entry is a recommendation
    assert detour.plan["entities"] == ["agent:pembrolizumab"] and not detour.abstained
    assert "EMA recommended" in detour.text and "non-epithelioid" in detour.text
    back = chat.ask("and 2-year OS?")
    assert back.plan["entities"] == ["trial:ind227-keynote-483"]
    assert {c.record_id for c in back.citations} == {"trial:ind227-keynote-483"}


def test_reference_questions_naming_the_review_are_answered_from_its_reference_list(assistant) -> None:
    ans = assistant.ask("What is reference 57 in the review?")
    assert not ans.abstained and [c.doc_id for c in ans.citations] == ["ref:57"]
    ans = assistant.ask("which reference in the review reports the DENIM trial?")
    assert [c.doc_id for c in ans.citations] == ["ref:97"]


def test_another_disease_asked_apart_is_named_missing_while_the_covered_part_is_answered(assistant) -> None:
    """Issue 18, mixed questions: a second ask about another disease no longer sinks the covered one."""
    ans = assistant.ask("What does pembrolizumab block, and is it also given for melanoma?")
    assert not ans.abstained and "melanoma" in ans.text.split("\n")[0]
    assert {c.record_id for c in ans.citations} == {"agent:pembrolizumab"}
    _verbatim(assistant, ans)
    scoped = assistant.ask("For melanoma, how long is pembrolizumab given?")
    assert scoped.abstained and not scoped.citations


def test_uncovered_drug_beside_a_covered_one_in_a_question_of_what_each_does(assistant) -> None:
    """Issue 18, mixed questions: "what do X and Y target" asks it of each; the uncovered one is named."""
    ans = assistant.ask("What do nintedanib and cabozantinib each inhibit?")
    assert not ans.abstained and "cabozantinib" in ans.text.split("\n")[0]
    assert {c.record_id for c in ans.citations} == {"agent:nintedanib"}
