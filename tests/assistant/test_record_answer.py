"""Answers from record fields, on the real records rendered as the index renders them; no index, no model."""

from __future__ import annotations

import re

import pytest

from assistant.answer.compose import compose_parts
from assistant.answer.extractive import readable_locator
from assistant.answer.record_answer import RecordFacts
from assistant.understand.plan import Planner
from assistant.understand.query import QueryAnalyzer, compact
from corpus import load_records
from indexing.render import record_names, render_fields
from indexing.sources import corpus_documents
from kernel.chunk import Chunk


@pytest.fixture(scope="module")
def world():
    records = load_records()
    names = record_names(records)  # rendered as the index renders them, links by name
    texts = {r.id: render_fields(r, names).text for r in records if r.type != "ref" or getattr(r, "captured", False)}
    texts["review"] = next(d.text for d in corpus_documents() if d.doc_id == "review")
    facts = RecordFacts(records, texts.get)
    planner = Planner(QueryAnalyzer(records), " ".join(texts.values()))
    return records, texts, facts, planner


def _chunk(doc_id: str, start: int, end: int, texts, facts) -> Chunk:
    text = texts[doc_id]
    return Chunk(id=f"{doc_id}#x", doc_id=doc_id, title=facts.records[doc_id].name, text=text, section="Trial", char_start=0,
                 char_end=len(text), page=None, source_type="record", record_id=doc_id,
                 record_type=doc_id.partition(":")[0], metadata={})


def _answer(world, question: str, previous=None):
    _, texts, facts, planner = world
    plan = planner.plan(question, previous)
    parts = facts.parts(plan)
    composed = compose_parts(parts, texts.__getitem__, lambda d, s, e: _chunk(d, s, e, texts, facts), readable_locator)
    return plan, parts, composed


def test_every_quote_is_a_verbatim_span_of_the_asked_record(world) -> None:
    _, texts, _, _ = world
    for q in ("What was the ORR in CheckMate 743?", "Compare CheckMate 743 and ATOMIC-Meso",
              "Which trials tested durvalumab?", "What is the hazard ratio for OS in DENIM?"):
        _plan, parts, composed = _answer(world, q)
        assert composed.citations, q
        for c in composed.citations:
            assert texts[c.doc_id][c.char_start:c.char_end] == c.text
            assert c.record_id in {p.record_id for p in parts}


def test_attribute_missing_for_the_named_trial_is_said_not_borrowed(world) -> None:
    _records, _texts, _facts, _ = world
    _plan, parts, composed = _answer(world, "What was the median age in MAPS2?")
    assert [p.record_id for p in parts] == ["trial:ifct-1501-maps2"]
    assert not composed.answered and parts[0].missing == ["age of the patients"]
    text = " ".join(composed.sentences)
    assert text.startswith("The indexed record of IFCT-1501 MAPS2 does not report the age of the patients; it reports")
    assert all(c.record_id == "trial:ifct-1501-maps2" for c in composed.citations)


def test_dose_absent_from_arms_is_missing_not_quoted(world) -> None:
    records, _texts, _facts, _ = world
    beat = next(r for r in records if r.id == "trial:beat-meso")
    has_dose = any(re.search(r"\d\s*(?:mg|AUC)", a.regimen) for a in beat.arms)
    _plan, parts, composed = _answer(world, "What was the dose of atezolizumab in BEAT-meso?")
    assert composed.answered == has_dose
    if not has_dose:
        assert parts[0].missing == ["dose"]


def test_headline_leads_with_the_primary_endpoint_result(world) -> None:
    _plan, _parts, composed = _answer(world, "What did ATOMIC-Meso show, and which patients benefit?")
    first = composed.sentences[0]
    assert "overall survival" in first.split(":")[0] and "9.3 months" in first and "0.71" in first
    assert "Population:" in " ".join(composed.sentences)
    assert "also called" not in first.lower() and "not confirmed" not in first.lower()


def test_comparison_has_one_part_per_trial(world) -> None:
    _plan, _parts, composed = _answer(world, "Compare CheckMate 743 and ATOMIC-Meso")
    assert [p["record_id"] for p in composed.parts] == ["trial:checkmate-743", "trial:atomic-meso"]
    assert composed.sentences[0].startswith("**CheckMate 743**") and "[1]" in composed.sentences[0]
    assert composed.sentences[1].startswith("**ATOMIC-Meso**") and "[2]" in composed.sentences[1]


def test_time_point_not_reported_names_what_is(world) -> None:
    _plan, _parts, composed = _answer(world, "What was the 5-year overall survival in CheckMate 743?")
    assert not composed.answered
    assert "does not report overall survival at 5 years" in composed.sentences[0]


def test_list_of_trials_testing_an_agent_names_it_in_each_part(world) -> None:
    _, texts, _, _ = world
    _plan, parts, _composed = _answer(world, "Which trials tested durvalumab?")
    assert len(parts) >= 2
    for p in parts:
        quoted = " ".join(texts[p.record_id][q.start:q.end] for q in p.quotes)
        assert "durvalumab" in compact(quoted)


def test_no_answer_sentence_quotes_names_sources_or_notes(world) -> None:
    records, _texts, _facts, _planner = world
    notes = [r.notes for r in records if getattr(r, "notes", None)]
    for q in ("Tell me about CheckMate 743", "What is nivolumab plus ipilimumab?", "What is MesoPher?",
              "What did ATOMIC-Meso show?", "list the biomarkers"):
        _, _, composed = _answer(world, q)
        text = " ".join(composed.sentences)
        assert "Other names for" not in text and "Sources:" not in text and "also called" not in text
        assert not any(n[:60] in text for n in notes)


def test_locator_reads_field_and_publication_before_offsets(world) -> None:
    _, _, composed = _answer(world, "What was the ORR in CheckMate 743?")
    loc = composed.citations[0].locator
    assert loc.startswith("CheckMate 743 (trial record) › objective response rate")
    assert loc.index("from ") < loc.index("chars")


@pytest.mark.parametrize("question, expected", [
    # a phase, a design, a line: every trial with it, and only those
    ("which trials were in the relapsed setting?",
     {"trial:confirm", "trial:promise-meso", "trial:ifct-1501-maps2", "trial:determine", "trial:gavo-cel-phase-1-2",
      # records v3 (issue 19): the second-line and targeted trials
      "trial:mist1", "trial:mist2", "trial:nero", "trial:rames", "trial:pemmela", "trial:nipu", "trial:initiate",
      "trial:keynote-158-mesothelioma", "trial:merit"}),
    ("Which trials used a placebo control?",
     {"trial:confirm", "trial:atomic-meso", "trial:determine", "trial:lume-meso", "trial:rames"}),
    ("in which trials was best supportive care the control arm?", {"trial:denim", "trial:adam"}),
    ("Which trials also enrolled peritoneal mesothelioma?", {"trial:confirm", "trial:determine", "trial:nibit-meso-1",
                                                                  "trial:mist1", "trial:mist2", "trial:nero"}),
    ("which trials tested cellular therapies?", {"trial:intrapleural-msln-car-t-phase-1", "trial:gavo-cel-phase-1-2"}),
    ("which trials tested anti-angiogenic drugs?", {"trial:maps", "trial:beat-meso", "trial:lume-meso", "trial:rames",
                                                   "trial:pemmela"}),
    ("anti-angiogenic drugs in the records?", {"agent:bevacizumab", "agent:nintedanib", "agent:ramucirumab",
                                             "agent:lenvatinib"}),
    ("which resistance mechanisms are metabolic?", {"mechanism:metabolic-reprogramming", "mechanism:arginine-auxotrophy"}),
])
def test_list_keeps_exactly_the_records_with_the_asked_property(world, question, expected) -> None:
    _, parts, composed = _answer(world, question)
    assert {p.record_id for p in parts} == expected
    assert all(q.record_id == p.record_id for p in parts for q in p.quotes)  # each cell quotes its own record
    assert composed.answered


def test_list_quotes_the_field_that_shows_the_property(world) -> None:
    _, texts, _, _ = world
    _, parts, _ = _answer(world, "which trials were in the relapsed setting?")
    assert all(q.label == "setting" for p in parts for q in p.quotes)
    _, parts, _ = _answer(world, "Which mesothelioma trials were published in Lancet Oncology?")
    assert parts and all("Lancet Oncol" in texts[q.record_id][q.start:q.end] for p in parts for q in p.quotes)


@pytest.mark.parametrize("question", ["which trials tested radiotherapy?", "what about TIGIT inhibitors?"])
def test_list_of_a_kind_no_record_holds_is_empty(world, question) -> None:
    _, parts, _ = _answer(world, question)
    assert parts == []


def test_chemotherapy_shorthand_is_not_a_confidence_interval(world) -> None:
    _, parts, composed = _answer(world, "did adding an anti-angiogenic to cis/pem improve OS in MAPS and in LUME-Meso?")
    assert [p.record_id for p in parts] == ["trial:maps", "trial:lume-meso"] and not any(p.missing for p in parts)
    assert "18.8" in composed.text and "14.4" in composed.text


def test_hazard_ratio_asked_but_missing_is_not_answered_with_medians(world) -> None:
    _, parts, composed = _answer(world, "PFS hazard ratio for bevacizumab in the MAPS trial")
    assert not composed.answered and parts[0].quotes == [] and "hazard ratio" in composed.text


def test_a_registry_asked_by_name_is_that_registry(world) -> None:
    _, parts, composed = _answer(world, "What is DENIM's ClinicalTrials.gov NCT number?")
    assert parts[0].missing and not parts[0].quotes and "2017-001774-41" not in composed.text
    _, parts, composed = _answer(world, "what is DENIM's registration number?")
    assert "2017-001774-41" in composed.text and not parts[0].missing


def test_the_arm_asked_must_hold_the_dose(world) -> None:
    # PROMISE-meso's chemotherapy arm is "investigator's choice" with no dose: the pembrolizumab dose is no answer
    _, parts, _ = _answer(world, "what chemo doses did the control arm get in PROMISE-meso?")
    assert parts[0].missing and not parts[0].quotes
    _, parts, composed = _answer(world, "what pembrolizumab dose was given in PROMISE-meso?")
    assert "200 mg" in composed.text


def test_a_field_that_says_the_asked_figure_is_unavailable_is_no_answer(world) -> None:
    _, parts, _ = _answer(world, "grade 3-4 treatment-related AEs in DREAM?")
    assert parts[0].missing and not parts[0].quotes
    _, parts, composed = _answer(world, "was DREAM safe?")
    assert "dose-limiting toxicity" in composed.text


def test_us_and_eu_approvals_both_answer(world) -> None:
    _, _, composed = _answer(world, "when was nivo/ipi approved for mesothelioma in the US and in the EU?")
    assert "October 2020" in composed.text and "June 2021" in composed.text


def test_trials_that_combined_two_drugs_are_those_that_tested_both(world) -> None:
    _, parts, _ = _answer(world, "which trial combined tremelimumab with durvalumab?")
    assert [p.record_id for p in parts] == ["trial:nibit-meso-1"]


def test_predicting_benefit_in_a_trial_that_reports_no_subgroup_is_said_missing(world) -> None:
    _, parts, composed = _answer(world, "did PD-L1 expression predict benefit in IND.227?")
    assert [p.record_id for p in parts] == ["trial:ind227-keynote-483"] and not parts[0].quotes
    assert "by PD-L1 expression" in composed.text


def test_a_dose_is_the_asked_drugs_own(world) -> None:
    # the CAR-T trial's figures are cell doses; pembrolizumab's dose is not given
    _, parts, _ = _answer(world, "what pembrolizumab dose was given after the CAR T cells in the MSKCC intrapleural trial?")
    assert parts[0].missing and not parts[0].quotes
    # a drug named in the arm's name takes the regimen's dose; a combination takes each drug's
    _, _, composed = _answer(world, "how is MesoPher given in DENIM - dose and schedule?")
    assert "25 x 10^6" in composed.text
    _, _, composed = _answer(world, "whats the dosing schedule for nivo + ipi in checkmate 743?")
    assert "3 mg/kg" in composed.text and "1 mg/kg" in composed.text


def test_which_reference_is_a_paper_quotes_the_reference_entry(world) -> None:
    _, parts, _ = _answer(world, "Which numbered reference is the ATOMIC-Meso paper?")
    assert [q.record_id for q in parts[0].quotes] == ["ref:36"]


def test_a_list_of_what_the_review_describes_keeps_the_records_it_names(world) -> None:
    _, parts, _ = _answer(world, "What are the three layers of resistance to immunotherapy in MPM that the review describes?")
    assert [p.record_id for p in parts] == ["mechanism:immunosuppressive-tme", "mechanism:aberrant-signalling",
                                            "mechanism:metabolic-reprogramming"]


def test_the_quote_cap_and_the_fuzzy_cutoff_come_from_the_answer_config(world):
    from kernel.config import AnswerConfig

    records, texts, facts, planner = world
    plan = planner.plan("Tell me about CheckMate 743")
    assert max(len(p.quotes) for p in facts.parts(plan)) > 1
    capped = RecordFacts(records, texts.get, AnswerConfig(max_quotes=1))
    assert max(len(p.quotes) for p in capped.parts(plan)) == 1
    misspelt = "what did pembrolizamab show?"
    assert "agent:pembrolizumab" in [m.record_id for m in planner.analyzer.find_records(misspelt)]
    strict = QueryAnalyzer(records, AnswerConfig(fuzzy_cutoff=0.99))
    assert "agent:pembrolizumab" not in [m.record_id for m in strict.find_records(misspelt)]
