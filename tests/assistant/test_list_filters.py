"""List filters: drug class, phase, design and line read from a question; pure code on plain records."""

from __future__ import annotations

from types import SimpleNamespace as R

from assistant.understand.list_filters import (
    agents_of_class,
    asked_line,
    asked_phase,
    filter_trials,
    qualifiers,
    says_all,
)

RECORDS = {
    "trial:a": R(type="trial", phase="2/3", line="first line", design="double-blind, placebo-controlled, randomised (1:1)"),
    "trial:b": R(type="trial", phase="III", line="relapsed", design="open-label, randomised (2:1) phase III trial"),
    "trial:c": R(type="trial", phase="Ib/II", line="other", design="open-label, non-randomised, single-arm study"),
    "agent:x": R(type="agent", agent_class="anti-PD-1 monoclonal antibody (immune checkpoint inhibitor)",
                 modality="monoclonal antibody"),
    "agent:y": R(type="agent", agent_class="chimeric antigen receptor T-cell therapy", modality="cell therapy"),
}


def test_phase_line_and_design_filters():
    trials = ["trial:a", "trial:b", "trial:c"]
    assert filter_trials(trials, RECORDS, "list all phase 3 trials") == (["trial:a", "trial:b"], ["phase"])
    assert filter_trials(trials, RECORDS, "phase II studies?")[0] == ["trial:a", "trial:c"]
    assert filter_trials(trials, RECORDS, "which randomised trials in relapsed disease?") == (["trial:b"], ["setting", "design"])
    assert filter_trials(trials, RECORDS, "single-arm trials?")[0] == ["trial:c"]  # "non-randomised" is not randomised
    assert filter_trials(trials, RECORDS, "which trials are covered?") == (trials, [])
    assert asked_line("trials in unresectable disease") is None  # not "resectable" (perioperative)
    assert asked_phase("phase Ib") == "1" and asked_phase("phase III") == "3" and asked_phase("phase 2/3") == "2"


def test_drug_class_comes_from_the_records_class_text():
    assert agents_of_class("which trials tested checkpoint inhibitors?", RECORDS) == ["agent:x"]
    assert agents_of_class("which cellular therapies are discussed?", RECORDS) == ["agent:y"]
    assert agents_of_class("which trials are covered?", RECORDS) == []


def test_qualifiers_are_what_is_left_to_match():
    assert qualifiers("Which trials are covered in the review?") == []
    assert qualifiers("which randomised phase 3 trials in the first-line setting?") == []
    assert qualifiers("Which trials also enrolled peritoneal mesothelioma?") == ["periton"]
    assert qualifiers("which trials tested checkpoint inhibitors?") == []
    assert qualifiers("which mechanisms are metabolic?", drug_classes=False) == ["metabol"]


def test_says_all_matches_stems_and_journal_abbreviations():
    assert says_all("Fennell DA, et al. Lancet Oncol 2021", ["lancet", "oncolog"])
    assert not says_all("Baas P, et al. Lancet 2021", ["lancet", "oncolog"])


def test_sponsor_and_the_groups_other_trials():
    from assistant.understand.list_filters import run_by_same_group, sponsor_of

    beat = R(id="trial:a", type="trial", design="randomised phase III trial run by the European Thoracic Oncology Platform",
             summary="European trial.")
    promise = R(id="trial:b", type="trial", design="phase 3 trial run by the European Thoracic Oncology Platform in Spain",
                summary="")
    other = R(id="trial:c", type="trial", design="trial run by PrECOG", summary="")
    records = {r.id: r for r in (beat, promise, other)}
    assert sponsor_of(beat) == "European Thoracic Oncology Platform"
    assert run_by_same_group(beat, records) == ["trial:b"]
    assert run_by_same_group(other, records) == []
