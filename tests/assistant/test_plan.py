"""The question plan: entities, attributes and form, from the real alias lexicon; no index."""

from __future__ import annotations

import pytest

from assistant.understand.plan import Planner
from assistant.understand.query import QueryAnalyzer
from corpus import load_records


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner(QueryAnalyzer(load_records()), "PD-1 PD-L1 CTLA-4 nivolumab CheckMate 743 BAP1 ASS1 MTAP")


@pytest.mark.parametrize(
    ("question", "entities", "attributes", "form"),
    [
        ("What was the ORR in CheckMate 743?", ["trial:checkmate-743"], ["orr"], "fact"),
        ("how many patients were randomised in DENIM?", ["trial:denim"], ["sample_size"], "fact"),
        ("What is the hazard ratio for OS in DENIM?", ["trial:denim"], ["hr", "os"], "fact"),
        ("What was the dose of atezolizumab in BEAT-meso?", ["agent:atezolizumab", "trial:beat-meso"], ["dose"], "fact"),
        ("Compare CheckMate 743 and ATOMIC-Meso", ["trial:checkmate-743", "trial:atomic-meso"], [], "comparison"),
        ("Which trials tested durvalumab?", ["agent:durvalumab"], ["trials"], "list"),
        # a glossary term named by the same words comes first: what the code stands for, then the drug
        ("What is ADI-PEG 20?", ["term:adi-peg-20", "agent:pegargiminase"], ["definition"], "definition"),
        ("What is ASS1?", ["term:ass1", "biomarker:ass1"], ["definition"], "definition"),
        ("what is arginine auxotropy", ["mechanism:arginine-auxotrophy"], ["definition"], "definition"),
        ("What was the median PFS with pembrolizumab in PROMISE-meso?", ["agent:pembrolizumab", "trial:promise-meso"],
         ["pfs"], "fact"),
        ("progression-free survival in DETERMINE?", ["trial:determine"], ["pfs"], "fact"),
        ("How long did responses to pembrolizumab last in PROMISE-meso?", ["agent:pembrolizumab", "trial:promise-meso"],
         ["duration_of_response"], "fact"),
        ("What is the half-life of durvalumab?", ["agent:durvalumab"], ["pk"], "fact"),
        ("What did MARS 2 test?", ["trial:mars2"], ["tested"], "fact"),
        ("What does ORR stand for?", ["term:orr"], ["definition"], "definition"),
        ("What was the median age in MAPS2?", ["trial:ifct-1501-maps2"], ["age"], "fact"),
        ("Did CheckMate 743 improve survival?", ["trial:checkmate-743"], ["os"], "yes-no"),
        ("Who published BEAT-meso?", ["trial:beat-meso"], ["publication"], "bibliographic"),
    ],
)
def test_plan_entities_attributes_form(planner, question, entities, attributes, form) -> None:
    plan = planner.plan(question)
    assert plan.entity_ids == entities
    assert plan.attributes == attributes
    assert plan.form == form


def test_headline_comes_with_the_population_for_who_benefits(planner) -> None:
    plan = planner.plan("What did ATOMIC-Meso show, and which patients benefit?")
    assert plan.entity_ids == ["trial:atomic-meso"] and set(plan.attributes) == {"headline", "population"}


def test_time_point_is_parsed(planner) -> None:
    plan = planner.plan("What is the 3-year survival in CM743?")
    assert plan.attributes == ["os_rate"] and plan.timepoint == "3 years"
    assert planner.plan("overall survival at 36 months in CheckMate 743").timepoint == "36 months"


def test_list_without_entity(planner) -> None:
    plan = planner.plan("list the biomarkers")
    assert plan.list_type == "biomarker" and plan.form == "list" and plan.entities == []


@pytest.mark.parametrize(("question", "disease"), [
    ("Does pembrolizumab work in melanoma?", "melanoma"),
    ("What is the survival with nivolumab in non-small cell lung cancer?", "non-small cell lung cancer"),
    ("Is nivolumab approved for NSCLC?", "NSCLC"),
])
def test_other_diseases_are_flagged(planner, question, disease) -> None:
    assert planner.plan(question).other_disease == disease


def test_sarcomatoid_mesothelioma_is_not_another_disease(planner) -> None:
    assert planner.plan("How do sarcomatoid tumours respond to nivolumab plus ipilimumab?").other_disease is None


@pytest.mark.parametrize(("question", "name"), [
    ("What did KEYNOTE-189 show?", "KEYNOTE-189"),
    ("What is cemiplimab?", "cemiplimab"),
    ("Results of IMpower150?", "IMpower150"),
    # acronyms the sources never use
    ("what about TIGIT inhibitors?", "TIGIT"),
    ("what about the MESO-PRIME trial?", "MESO-PRIME"),
])
def test_names_absent_from_the_sources_are_unknown(planner, question, name) -> None:
    plan = planner.plan(question)
    assert name in plan.unknown_names and plan.entities == []


def test_names_in_the_sources_are_not_unknown(planner) -> None:
    assert planner.plan("What does PD-L1 expression predict?").unknown_names == []
    assert planner.plan("What is CTLA-4?").unknown_names == []
    # generic clinical abbreviations, attribute words and questions typed in capitals are not names
    assert planner.plan("What was the ITT population of CONFIRM?").unknown_names == []
    assert planner.plan("what was the QOL in CheckMate 743?").unknown_names == []
    assert planner.plan("WHAT DID CHECKMATE 743 SHOW?").unknown_names == []
    assert planner.plan("What did the MESO-PRIME trial of nivolumab show?").unknown_names == ["MESO-PRIME"]


def test_follow_up_carries_entity_and_attribute(planner) -> None:
    first = planner.plan("What was the ORR in CheckMate 743?")
    carried = planner.plan("and in MAPS2?", first)
    assert carried.entity_ids == ["trial:ifct-1501-maps2"] and carried.attributes == ["orr"]
    assert carried.carried_attributes
    follow = planner.plan("how many patients were randomised?", first)
    assert follow.entity_ids == ["trial:checkmate-743"] and follow.attributes == ["sample_size"]
    assert follow.entities[0].carried


def test_list_follow_up_with_a_pronoun_keeps_the_topic(planner) -> None:
    first = planner.plan("What is pegargiminase?")
    follow = planner.plan("which trials tested it?", first)
    assert follow.entity_ids == ["agent:pegargiminase"] and follow.form == "list"
    # without a pronoun, a list question stands alone
    assert planner.plan("which trials are covered?", first).entity_ids == []
    # "the phase 3 one" among the listed trials
    listed = planner.plan("what was the OS in the phase 3 one?", follow, ["trial:adam", "trial:atomic-meso"])
    assert listed.entity_ids == ["trial:atomic-meso"]


def test_follow_up_to_a_list_takes_the_answer_entity(planner) -> None:
    first = planner.plan("Which trial tested pegargiminase?")
    follow = planner.plan("how many patients?", first, ["trial:atomic-meso", "trial:adam"])
    assert follow.entity_ids == ["trial:atomic-meso"]


def test_plan_is_serialisable(planner) -> None:
    d = planner.plan("What was the ORR in CheckMate 743?").to_dict()
    assert d["entities"] == ["trial:checkmate-743"] and d["attribute"] == "orr" and d["form"] == "fact"


def test_several_time_points_and_same_question_follow_ups(planner) -> None:
    plan = planner.plan("what % of PrE0505 patients were alive at 1 and 2 yrs?")
    assert plan.attributes == ["os_rate"] and plan.timepoints == ["1 year", "2 years"]
    first = planner.plan("What is the NCT number of DREAM3R?")
    follow = planner.plan("and for the other relapsed trial, CONFIRM?", first)  # "relapsed" describes CONFIRM
    assert follow.entity_ids == ["trial:confirm"] and follow.attributes == ["registration"]
    again = planner.plan("same question for DENIM", first)
    assert again.entity_ids == ["trial:denim"] and again.attributes == ["registration"]


@pytest.mark.parametrize(
    ("question", "entities", "attributes"),
    [
        ("what does CDKN2A stand for", ["term:cdkn2a"], ["definition"]),  # the expansion, not the biomarker
        ("what's PheraLys?", ["term:pheralys"], ["definition"]),
        ("cm743 n?", ["trial:checkmate-743"], ["sample_size"]),
        ("which was bigger, MAPS or LUME-Meso?", ["trial:maps", "trial:lume-meso"], ["sample_size"]),
        ("what share of CM743 patients had epithelioid histology?", ["trial:checkmate-743",
                                                                     "biomarker:histologic-subtype"], ["histology_mix"]),
        ("what drug was LUME-Meso testing?", ["trial:lume-meso"], ["tested"]),
        ("what cells make the meso tumour microenvironment immunosuppressive?", ["mechanism:immunosuppressive-tme"],
         ["examples"]),
    ],
)
def test_more_ways_of_asking(planner, question, entities, attributes) -> None:
    plan = planner.plan(question)
    assert plan.entity_ids == entities and plan.attributes == attributes


def test_kinds_of_resistance_list_the_mechanisms(planner) -> None:
    assert planner.plan("What are the three layers of resistance to immunotherapy in MPM?").list_type == "mechanism"


def test_follow_ups_that_name_their_record_by_a_relation(planner) -> None:
    # "the second drug": the conversation's drugs in the order named
    two = planner.plan("which trial combined tremelimumab with durvalumab?")
    assert planner.plan("what does the second drug target?", two).entity_ids == ["agent:durvalumab"]
    # "they both": the last two trials; the drug both tested
    first = planner.plan("PFS in ATOMIC-Meso?")
    second = planner.plan("and in ADAM?", first)
    assert second.entity_ids == ["trial:adam"] and "trial:atomic-meso" in second.context
    assert planner.plan("what's the drug they both tested?", second).entity_ids == ["agent:pegargiminase"]
    # "that group": the other trials its sponsor ran
    beat = planner.plan("who sponsored BEAT-meso?")
    group = planner.plan("did that group run any other trial?", beat)
    assert group.entity_ids == ["trial:promise-meso"] and group.attributes == ["sponsor"]
    # "that drug" after a turn on a trial: the drug it tested
    maps = planner.plan("what did the MAPS trial add to cisplatin-pemetrexed?")
    drug = planner.plan("which later trial combined that drug with a checkpoint inhibitor?", maps, ["trial:maps"])
    assert drug.entity_ids[0] == "agent:bevacizumab" and "trials" in drug.attributes
    # "the trial that gave it alone": the conversation's drug for which such a trial exists
    treme = planner.plan("What class of drug is tremelimumab?")
    alone = planner.plan("and the trial that gave it alone - what was its OS hazard ratio?", treme)
    assert alone.entity_ids == ["agent:tremelimumab"] and "trials" in alone.attributes


def test_a_biomarker_asked_of_a_trial_in_the_conversation(planner) -> None:
    design = planner.plan("what was the design of IND.227?")
    follow = planner.plan("did PD-L1 expression predict benefit in it?", design)
    assert follow.entity_ids == ["trial:ind227-keynote-483", "biomarker:pd-l1"] and follow.attributes == ["os", "pfs"]
    useful = planner.plan("is PD-L1 a useful biomarker in meso?")
    dream = planner.plan("what about in DREAM?", useful)
    assert dream.entity_ids == ["trial:dream", "biomarker:pd-l1"] and dream.attributes == ["os", "pfs"]


def test_two_drugs_joined_are_their_combination(planner) -> None:
    assert planner.plan("is opdivo + yervoy approved in europe?").entity_ids == ["agent:nivolumab-plus-ipilimumab"]
    # named side by side, they stay two drugs
    assert planner.plan("compare nivolumab and ipilimumab").entity_ids == ["agent:nivolumab", "agent:ipilimumab"]


def test_which_histology_benefits_asks_the_histology_record(planner) -> None:
    plan = planner.plan("which histology gets the most out of nivo ipi?")
    assert plan.entity_ids[0] == "biomarker:histologic-subtype" and plan.attributes == ["relevance"]


def test_follow_ups_that_ask_a_record_of_another_kind(planner) -> None:
    adam = planner.plan("what biomarker selected pts for ADAM?")
    measured = planner.plan("how is it measured?", adam, ["trial:adam"])
    assert measured.entity_ids == ["biomarker:ass1"] and measured.attributes == ["measurement"]
    mechanism = planner.plan("and what's the underlying mechanism called?", measured, ["biomarker:ass1"])
    assert mechanism.entity_ids == ["mechanism:arginine-auxotrophy"] and mechanism.attributes == ["definition"]
    selected = planner.plan("Which biomarker was used to select patients for the ADAM trial?")
    assert planner.plan("How is that biomarker measured?", selected, ["trial:adam"]).entity_ids == ["biomarker:ass1"]
    dose = planner.plan("what dose of pegargiminase was used in ADAM?")
    other = planner.plan("same in the first-line chemo trial?", dose, ["trial:adam"])
    assert other.entity_ids == ["trial:atomic-meso"] and other.attributes == ["dose"]


def test_a_preamble_and_capitals_do_not_change_what_is_asked(planner) -> None:
    assert planner.plan("surgeon here - what was the MARS 2 trial?").entity_ids == ["trial:mars2"]
    assert planner.plan("pharmacy q: cm743 n?").attributes == ["sample_size"]
    # "CIs" is confidence intervals, not "cis" (cisplatin)
    assert planner.plan("median PFS in DENIM with CIs?").entity_ids == ["trial:denim"]
    assert planner.plan("cis/pem dose").entity_ids == ["agent:cisplatin", "agent:pemetrexed"]


def test_names_readers_use_for_records(planner) -> None:
    # an alias without its generic last word; a first author typed without the accent
    assert planner.plan("what share of meso pts are primary refractory to ICIs?").entity_ids == \
        ["mechanism:primary-resistance"]
    assert planner.plan("Calabro 2018: 1 yr survival?").entity_ids == ["trial:nibit-meso-1"]
    # a biomarker named as the drug's target is not a topic of its own
    assert planner.plan("is MEDI4736 a PD-1 or a PD-L1 antibody?").entity_ids == ["agent:durvalumab"]


def test_approval_status_after_a_trial_asks_the_drug(planner) -> None:
    trial = planner.plan("What did ATOMIC-Meso show?")
    follow = planner.plan("and the drug's approval status?", trial, ["trial:atomic-meso"])
    assert follow.entity_ids == ["agent:pegargiminase"] and follow.attributes == ["approval"]
