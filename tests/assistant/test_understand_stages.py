"""The understanding stages on their own (no index): spelling, messages, described records, outcome lists,
the learned intent model's arithmetic, and combining the answers to a message's parts.

Regression classes of issue 18, each worded unlike the issue's own examples.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer.combine import combine_answers
from assistant.answer.model import Answer, Citation
from assistant.understand.describe import DescriptionResolver
from assistant.understand.intent import IntentModel, mask
from assistant.understand.message import read_message
from assistant.understand.outcomes import Outcome, asked_outcome, trials_with, verdict
from assistant.understand.spelling import SpellingFixer


@pytest.fixture(scope="module")
def records():
    from corpus import load_records

    return {r.id: r for r in load_records()}


@pytest.fixture(scope="module")
def fixer():
    from assistant.understand.pipeline import vocabulary_texts
    from indexing.sources import corpus_documents

    return SpellingFixer([d.text for d in corpus_documents()] + vocabulary_texts())


# -- class 1/4: misspelt attribute and drug words -----------------------------------------------------------
@pytest.mark.parametrize("typed, meant", [
    ("progresssion", "progression"), ("hazzard", "hazard"), ("survivl", "survival"), ("nivolumb", "nivolumab"),
    ("adverse evnts", "events"),
])
def test_misspelt_words_become_the_vocabulary_word(fixer, typed, meant):
    fixed, fixes = fixer.fix(f"what about the {typed} in that study?")
    assert meant in fixed and fixes


@pytest.mark.parametrize("text", [
    "did things get worse for the patients?",  # ordinary English words are not misspellings
    "what did lurbinectedin show?",  # an uncovered drug is not turned into a covered one
    "any data on CheckMate 9LA?",  # names with digits and capitals are never touched
    "what about avelumab?",
])
def test_ordinary_words_and_uncovered_names_are_left_alone(fixer, text):
    assert fixer.fix(text) == (text, [])


# -- class 8: long messages and several questions ----------------------------------------------------------
def test_a_story_is_asked_as_its_last_question():
    story = ("My uncle worked in a shipyard for decades and was diagnosed last spring. His oncologist suggested "
             "immunotherapy and mentioned a big first-line study. We are trying to understand the options. "
             "How many people were in that study?")
    read = read_message(story)
    assert read.focused and read.parts == ["How many people were in that study?"]
    assert "shipyard" in read.context


def test_two_questions_in_one_message_are_two_parts():
    read = read_message("What response rate did DREAM report? And how many patients did it enrol?")
    assert read.parts == ["What response rate did DREAM report?", "And how many patients did it enrol?"]


def test_a_short_question_is_asked_as_it_is():
    assert read_message("median OS in MAPS?").parts == ["median OS in MAPS?"]


# -- class 2/3: records described, not named ---------------------------------------------------------------
@pytest.mark.parametrize("text, kind, expected", [
    ("the randomised trial of radical surgery versus no surgery", "trial", "trial:mars2"),
    ("the study that added bevacizumab and atezolizumab to chemotherapy", "trial", "trial:beat-meso"),
    ("the enzyme that depletes arginine", "agent", "agent:pegargiminase"),
    ("the oral triple angiokinase inhibitor", "agent", "agent:nintedanib"),
])
def test_a_described_record_is_resolved(records, text, kind, expected):
    resolver = DescriptionResolver(records)
    assert kind in resolver.describes(text)
    assert resolver.resolve(text, kind).winner == expected


def test_an_ambiguous_description_offers_choices(records):
    found = DescriptionResolver(records).resolve("the trial that gave a checkpoint inhibitor", "trial")
    assert found.winner is None and len(found.choices) >= 2


# -- class 6: lists filtered by outcome --------------------------------------------------------------------
def test_outcome_words_are_read():
    assert asked_outcome("which randomised studies lengthened overall survival?") == Outcome("os", True)
    assert asked_outcome("list the trials that did not improve progression-free survival") == Outcome("pfs", False)
    assert asked_outcome("which trials were negative?") == Outcome("primary", False)
    assert asked_outcome("what is the median OS in MAPS?") is None


def test_outcome_membership_comes_from_the_typed_results(records):
    trials = [r for r in records.values() if r.type == "trial"]
    improved_os = trials_with(Outcome("os", True), trials)
    assert "trial:checkmate-743" in improved_os and "trial:denim" not in improved_os
    assert "trial:mars2" not in improved_os  # surgery shortened survival: an interval above 1 is no improvement
    assert verdict(records["trial:lume-meso"], Outcome("primary", True)) is False  # judged on its phase 3 part
    single_arm = [t for t in trials if len(t.arms) < 2 and not any(r.hazard_ratio for r in t.results)]
    assert all(verdict(t, Outcome("os", True)) is None for t in single_arm)  # no comparison: not judged


# -- the learned layer's arithmetic --------------------------------------------------------------------------
def test_mask_replaces_named_records_with_their_kind():
    q = "hr for pembro in PROMISE-meso?"
    assert mask(q, [(7, 13, "agent"), (17, 29, "trial")]) == "hr for the drug in the trial?"


def test_the_intent_model_is_a_calibrated_distribution(tmp_path):
    model = IntentModel(["os", "pfs", "phase"], np.eye(3, 4) * 5, np.zeros(3), 0.6, "abc")
    model.save(tmp_path / "m.npz")
    loaded = IntentModel.load(tmp_path / "m.npz")
    sure = loaded.predict(np.array([1.0, 0, 0, 0]))
    assert sure.key == "os" and abs(sum(p for _, p in sure.ranked) - 1) < 1e-6
    unsure = loaded.predict(np.array([0.1, 0.1, 0.1, 0]))
    assert unsure.key is None  # below the threshold it says nothing
    only_trial = loaded.predict(np.array([1.0, 0, 0, 0]), allowed=lambda k: k != "os")
    assert only_trial.ranked[0][0] != "os"


def test_the_shipped_intent_model_records_its_training_data():
    model = IntentModel.load()
    assert model is not None and len(model.data_hash) == 16 and "os" in model.classes


# -- class 5: a message's parts combine into one cited answer ----------------------------------------------
def _answer(text: str, n: int, abstained: bool = False) -> Answer:
    cites = [Citation(n=i, source_id=f"c{i}", title="t", locator="l", text="x", score=1.0, doc_id="d", char_start=0,
                      char_end=1) for i in range(1, n + 1)]
    return Answer(text=text, citations=cites, abstained=abstained, rewritten_query=None, question="q", mode="extractive")


def test_combined_answers_keep_markers_distinct():
    both = combine_answers("q1? q2?", [_answer("A [1]. B [2].", 2), _answer("C [1].", 1)])
    assert both.text == "A [1]. B [2].\n\nC [3]."
    assert [c.n for c in both.citations] == [1, 2, 3] and not both.abstained
    assert combine_answers("q", [_answer("no", 0, True), _answer("no", 0, True)]).abstained


# -- the stages in order (the planner and the records, no index; the model sees a fixed vector) ---------------
@pytest.fixture(scope="module")
def understanding(records):
    from assistant.understand.pipeline import Understanding, vocabulary_texts
    from assistant.understand.plan import Planner
    from assistant.understand.query import QueryAnalyzer
    from indexing.sources import corpus_documents

    texts = [d.text for d in corpus_documents()]
    analyzer = QueryAnalyzer(list(records.values()))
    return Understanding(analyzer, Planner(analyzer, " ".join(texts)), texts + vocabulary_texts(),
                         embed=lambda text: np.zeros(384, dtype=np.float32))


def test_a_follow_up_compares_the_record_in_focus_with_the_one_named(understanding):
    first = understanding.understand("Tell me about DETERMINE").plan
    follow = understanding.understand("how does it stack up against CONFIRM?", first).plan
    assert follow.entity_ids == ["trial:determine", "trial:confirm"] and follow.form == "comparison"


def test_a_drug_whose_combination_holds_the_asked_field_is_answered_from_it(understanding):
    plan = understanding.understand("is ipilimumab licensed by the EMA for pleural mesothelioma?").plan
    assert plan.entity_ids == ["agent:nivolumab-plus-ipilimumab"] and plan.attributes == ["approval"]


def test_an_outcome_list_keeps_the_trials_whose_results_show_it(understanding):
    plan = understanding.understand("which randomised trials in relapsed disease lengthened survival?").plan
    assert plan.form == "list" and "trial:confirm" in plan.entity_ids
    assert "trial:determine" not in plan.entity_ids and plan.attributes == ["os"]


def test_a_story_carries_its_records_into_the_question(understanding):
    story = ("My sister was diagnosed eight months ago and has started on durvalumab with chemotherapy as part of "
             "DREAM3R. She has had some fatigue. How many people did they plan to include?")
    (asked,) = understanding.split(story)
    assert asked.startswith("How many people") and "DREAM3R" in asked


def test_a_described_trial_is_planned_as_the_named_one(understanding):
    understood = understanding.understand("what was the primary endpoint of the study comparing radical surgery "
                                          "with no surgery?")
    assert understood.plan.entity_ids == ["trial:mars2"] and understood.described.winner == "trial:mars2"


def test_an_uncovered_name_beside_a_covered_record_is_a_mixed_question():
    from assistant.understand.mixed import Named, side_by_side

    trial, other_trial = Named("ATOMIC-Meso", "trial", True, "trial:atomic-meso"), Named("KEYNOTE-062", "either", False)
    assert side_by_side("median PFS in ATOMIC-Meso and in KEYNOTE-062?", [trial, other_trial]) == (["KEYNOTE-062"], [])
    assert side_by_side("PFS: ATOMIC-Meso vs KEYNOTE-062", [trial, other_trial])[0] == ["KEYNOTE-062"]
    drug, new_drug = Named("nintedanib", "agent", True, "agent:nintedanib"), Named("trabectedin", "agent", False)
    assert side_by_side("what does nintedanib block; and how about trabectedin?", [drug, new_drug])[0] == ["trabectedin"]
    # two drugs joined by a bare "and" are one combination, not two asks
    assert side_by_side("response to nintedanib and trabectedin?", [drug, new_drug]) == ([], [])
    # a covered drug inside the uncovered trial's clause qualifies it: that trial is what is asked about
    atezo = Named("atezolizumab", "agent", True, "agent:atezolizumab")
    assert side_by_side("IMpower151 atezolizumab survival", [atezo, Named("IMpower151", "either", False)]) == ([], [])
    mixed = side_by_side("OS in ATOMIC-Meso, and atezolizumab in IMpower151?",
                         [trial, atezo, Named("IMpower151", "either", False)])
    assert mixed == (["IMpower151"], ["agent:atezolizumab"])


# --- session 6: vocabulary files, stories, drugs tested in several trials --------------------------------

def test_phrase_lists_match_whole_words_with_endings_and_hyphens():
    from assistant.understand.phrases import matcher

    words = matcher(["lengthen*", "progression free", "*n't", "stat sig"])
    assert words.search("it lengthened survival") and words.search("progression-free") and words.search("wasn't")
    assert words.search("STAT SIG only") and not words.search("statistic") and not words.search("progression")


def test_lay_words_gain_the_records_terms():
    from assistant.understand.lay_terms import record_terms

    assert record_terms("a Scottish study of a drug against a sugar pill") == ["placebo", "UK"]
    assert record_terms("the placebo arm") == []  # the record's own word needs no help


def test_outcome_lists_asked_after_a_preamble_or_limited_to_a_primary_endpoint():
    assert asked_outcome("Of the double-blind studies, which ones gave patients extra months of life?") == \
        Outcome("os", True)
    assert asked_outcome("which trials with PFS as the primary outcome came up short?") == Outcome("pfs", False, True)
    assert asked_outcome("which 2L trials didn't move progression-free survival?") == Outcome("pfs", False)


def test_outcome_limited_to_a_primary_endpoint_skips_trials_whose_primary_is_another(records):
    os_primary_failed = trials_with(Outcome("os", False, True), [r for r in records.values() if r.type == "trial"])
    assert os_primary_failed and all("surviv" in records[t].primary_endpoint.lower() for t in os_primary_failed)


def test_a_story_describes_the_trial_its_question_means(understanding):
    context = ("My brother's cancer returned after chemo. His team mentioned a British study that tested a checkpoint "
               "antibody against dummy infusions.")
    understood = understanding.understand("How long did people on the real drug survive in that study?",
                                          context=context)
    found = understood.described
    assert found.winner == "trial:confirm" or (found.winner is None and found.choices[0] == "trial:confirm")
    # without the story the question describes nothing that singles out a trial
    assert understanding.understand("How long did people on the real drug survive in that study?").described is None


def test_a_drug_tested_in_several_trials_is_resolved_only_by_what_else_is_said(understanding):
    bare = understanding.understand("median PFS on pembrolizumab?")
    assert bare.described is None  # nothing beyond the drug and the figure singles out one of its trials
    said = understanding.understand("median PFS on pembrolizumab in the randomised trial against single-agent chemo "
                                    "after platinum?")
    assert [e for e in said.plan.entity_ids if e.startswith("trial:")] == ["trial:promise-meso"]


def test_attribute_words_are_data_and_tolerate_hyphens_and_endings():
    from assistant.understand.attributes import BY_KEY, find_attributes
    from assistant.understand.phrases import vocabulary

    words = vocabulary("attribute_words")
    assert set(words) <= set(BY_KEY)  # every entry names an attribute the engine knows
    assert [a.key for a in find_attributes("was the drug approved in Europe?")] == ["approval"]
    assert "qol" in [a.key for a in find_attributes("any patient reported outcomes from the trial?")]


def test_a_trial_named_by_the_head_of_its_name_only_where_written_as_a_name(understanding):
    analyzer = understanding.analyzer
    assert [m.record_id for m in analyzer.find_records("what about the LUME one?")] == ["trial:lume-meso"]
    assert analyzer.find_records("does immunotherapy show any promise here?") == []


def test_follow_ups_keep_the_trial_in_focus_and_the_figure_for_another_arm(understanding):
    first = understanding.understand("median OS with nintedanib in LUME-Meso?").plan
    arm = understanding.understand("and for the placebo arm?", first).plan
    assert "trial:lume-meso" in arm.entity_ids and arm.attributes == ["os"]
    dream = understanding.understand("PFS at 6 months in DREAM?").plan
    dose = understanding.understand("which durvalumab dose did that trial give?", dream).plan
    assert dose.entity_ids == ["trial:dream"]


def test_a_new_topic_in_a_conversation_gets_no_attribute_of_the_record_in_focus(understanding):
    first = understanding.understand("What did CheckMate 743 show?").plan
    new_topic = understanding.understand("How do tumours switch off attacking T cells?", first)
    assert new_topic.intent is None and not new_topic.plan.attributes


def test_a_follow_up_with_its_own_verb_is_not_an_ellipsis_and_death_asks_survival(understanding):
    first = understanding.understand("What did DETERMINE find?").plan
    allowed = understanding.understand("and were people with peritoneal disease eligible?", first).plan
    assert "population" in allowed.attributes and allowed.entity_ids == ["trial:determine"]
    assert understanding.understand("the hazard ratio for dying in MAPS?").plan.attributes[:2] == ["hr", "os"]


# --- session 7: arms, hesitant intents, uncovered names, outcome lists, stories, cohorts ------------------
def test_drugs_named_with_their_trial_say_which_arm_not_what_is_asked(understanding):
    plan = understanding.understand("in DREAM, did durvalumab with cisplatin-pemetrexed keep patients going?").plan
    assert plan.entity_ids == ["trial:dream"]
    target = understanding.understand("what does nintedanib block in LUME-Meso?").plan
    assert "agent:nintedanib" in target.entity_ids  # what only a drug has keeps the drug


def test_a_hesitant_intent_answers_its_two_best_readings_and_never_a_noise_one():
    from assistant.understand.intent import Intent

    assert Intent((("pfs", 0.38), ("os", 0.22), ("orr", 0.1)), 0.45).keys == ["pfs", "os"]
    assert Intent((("pfs", 0.6), ("os", 0.2)), 0.45).keys == ["pfs"]
    assert Intent((("pfs", 0.3), ("os", 0.1), ("orr", 0.1)), 0.45).keys == []
    assert Intent((("headline", 0.3), ("os", 0.2)), 0.45).keys == []  # the overview is no reading of its own


def test_survival_asked_at_a_time_point_is_the_rate_then():
    from assistant.understand.pipeline import _at_timepoint
    from assistant.understand.plan import QuestionPlan

    plan = QuestionPlan(question="three years out, what share of the nivo-ipi group was still living?")
    assert _at_timepoint(["os", "safety"], plan) == ["os_rate", "safety"]
    assert _at_timepoint(["os"], QuestionPlan(question="how long did they live?")) == ["os"]


def test_adjacent_unknown_words_are_one_uncovered_name(understanding):
    plan = understanding.planner.plan("compare the ORR of MAPS with the SWOG S0905 cediranib trial")
    assert len(plan.unknown_names) == 1 and plan.unknown_names[0].startswith("SWOG S0905")
    plan = understanding.planner.plan("does bevacizumab act like ziv aflibercept?")
    assert any("aflibercept" in n for n in plan.unknown_names)


def test_what_belongs_to_each_thing_is_asked_of_each_of_two_names():
    from assistant.understand.mixed import Named, side_by_side

    covered, uncovered = Named("pemetrexed", "agent", True, "agent:pemetrexed"), Named("raltitrexed", "agent", False)
    question = "how do pemetrexed and raltitrexed work?"
    assert side_by_side(question, [covered, uncovered]) == ([], [])  # two drugs and "and": a combination
    assert side_by_side(question, [covered, uncovered], intrinsic=True)[0] == ["raltitrexed"]
    assert side_by_side("is pemetrexed the same sort of drug as raltitrexed?", [covered, uncovered])[0] == \
        ["raltitrexed"]


def test_a_measure_asked_in_a_trial_is_its_figure_not_a_definition(understanding):
    plan = understanding.understand("whats the PFS in merit").plan
    assert plan.entity_ids == ["trial:merit"] and plan.attributes == ["pfs"]


def test_a_lower_case_name_written_in_capitals_is_not_respelt(fixer):
    assert fixer.correction("rames") is None and fixer.correction("pemmela") is None


def test_single_arm_trials_are_judged_by_what_their_results_say_of_the_primary_endpoint(records):
    met = Outcome("primary", True)
    assert verdict(records["trial:mist1"], met) is True
    assert verdict(records["trial:denim"], Outcome("primary", False)) is True  # it says it missed


def test_outcome_lists_of_harm_of_a_drug_kind_and_after_failure(understanding):
    worse = understanding.understand("name any trial in which the experimental arm lived significantly shorter").plan
    assert worse.form == "list" and worse.entity_ids == ["trial:mars2"]
    vegf = understanding.understand("which studies of VEGF-blocking drugs improved overall survival?").plan
    assert set(vegf.entity_ids) == {"trial:maps", "trial:rames"}
    relapsed = understanding.understand("once platinum had failed, which randomised trials improved survival?").plan
    assert "trial:rames" in relapsed.entity_ids and "trial:determine" not in relapsed.entity_ids


def test_a_story_s_earlier_drugs_are_history_and_its_offered_combination_the_subject(understanding):
    story = ("He had nivolumab plus ipilimumab first and it stopped working. Now they propose lenvatinib with "
             "pembrolizumab. What share of people already treated with nivo-ipi responded to that combination?")
    ((asked, context),) = understanding.read(story)
    assert understanding.understand(asked, context=context).plan.entity_ids == ["trial:pemmela"]


def test_a_follow_up_about_a_cohort_stays_on_the_trial_in_focus(understanding):
    first = understanding.understand("objective response in PEMMELA?").plan
    cohort = understanding.understand("and among the patients who had been on nivo-ipi?", first).plan
    assert cohort.entity_ids == ["trial:pemmela"] and cohort.attributes == ["orr"]
    compared = understanding.understand("how does that compare with the placebo arm of CONFIRM?", first).plan
    assert compared.entity_ids == ["trial:pemmela", "trial:confirm"] and compared.attributes == ["orr"]


def test_a_name_glued_to_digits_is_never_respelt_and_trial_families_are_read_in_any_case(fixer, understanding):
    assert fixer.fix("what did IMbrave150 show?")[0] == "what did IMbrave150 show?"
    assert "keynote-042" in understanding.planner.plan("ORR in keynote-042 vs DREAM?").unknown_names


def test_an_unsure_reading_the_record_lacks_is_said_missing_not_answered_with_the_other(understanding, monkeypatch):
    from assistant.understand.intent import Intent

    question = "In DETERMINE, how were things for the people on tremelimumab?"
    monkeypatch.setattr(understanding, "_intent", lambda q, plan: Intent((("qol", 0.3), ("os", 0.25)), 0.45))
    assert understanding.understand(question).plan.attributes == ["qol"]  # DETERMINE reports no quality of life
    monkeypatch.setattr(understanding, "_intent", lambda q, plan: Intent((("os", 0.3), ("pfs", 0.25)), 0.45))
    assert understanding.understand(question).plan.attributes == ["os", "pfs"]


def test_a_field_word_after_a_pointing_word_refers_and_asks_nothing():
    from assistant.understand.attributes import find_attributes

    assert [a.key for a in find_attributes("how long does one infusion last in this regimen?")] == ["infusion_time"]
    assert "arms" in [a.key for a in find_attributes("what was the regimen in each arm?")]


def test_the_dialogue_state_keeps_the_records_in_focus_by_kind(understanding):
    from assistant.understand.dialogue import DialogueState

    first = understanding.understand("PFS in DETERMINE?").plan
    second = understanding.understand("and what does durvalumab target?").plan
    third = understanding.understand("and in NIBIT-MESO-1?", state=DialogueState((first, second))).plan
    state = DialogueState((first, second, third))
    assert state.in_focus(["trial"]) == ["trial:nibit-meso-1", "trial:determine"]
    assert state.previous is third and state.in_focus(["agent"]) == ["agent:durvalumab"]


def test_those_two_are_the_last_two_records_of_their_kind(understanding):
    from assistant.understand.dialogue import DialogueState

    first = understanding.understand("ORR in MERIT?").plan
    second = understanding.understand("and in INITIATE?", first).plan
    both = understanding.understand("which of these two studies was run in Japan?", state=DialogueState((first, second)))
    assert both.plan.entity_ids == ["trial:merit", "trial:initiate"] and both.plan.form == "comparison"
    gap = understanding.understand("so in which of the two was the gap between the arms wider?",
                                   state=DialogueState((first, second))).plan
    assert gap.entity_ids == ["trial:merit", "trial:initiate"] and gap.attributes == ["orr"]
