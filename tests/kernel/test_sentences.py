"""Sentence splitting on real biomedical prose: every tricky case named in the indexing issue."""

from __future__ import annotations

import itertools

import pytest

from kernel.sentences import split_paragraphs, split_sentences


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


# Each case: text that must stay ONE sentence followed by a second sentence that must be split off.
NO_SPLIT_CASES = {
    "et al": "Baas et al. reported durable responses with dual checkpoint blockade.",
    "et al + citation": "Scherpereel et al. [34] randomised patients with relapsed disease.",
    "vs": "Median OS was 18.1 vs. 14.1 months with chemotherapy.",
    "e.g.": "Cellular therapies (e.g. CAR-T cells) are being tested.",
    "i.e.": "The non-epithelioid subtype, i.e. sarcomatoid or biphasic tumours, benefits most.",
    "e.g. with comma": "Next-generation therapies [e.g., CAR-T, CAR-NK] are in early trials.",
    "Fig. 2": "Survival curves are shown in Fig. 2 for both arms.",
    "Figs.": "See Figs. 3 and 4 for the subgroup analyses.",
    "Ref.": "The dose was taken from Ref. 12 without change.",
    "No.": "The protocol No. 5 amendment added a safety cohort.",
    "approx.": "Responses occurred in approx. 40% of patients.",
    "ca.": "Enrolment took ca. 18 months across sites.",
    "Dr.": "Dr. Szlosarek led the ATOMIC-Meso trial.",
    "St.": "Patients were treated at St. Bartholomew's Hospital in London.",
    "hazard ratio decimal": "The HR 0.74 (95% CI 0.60-0.91) favoured the combination.",
    "p value": "The difference was significant (p = 0.002) at the final analysis.",
    "p less than": "Progression-free survival improved, p < .001, in the overall population.",
    "initials": "The trial was led by J. Smith and colleagues in Leeds.",
    "author initials": "Szlosarek PW, Creelan BC, Sarkodie T, et al. reported the ATOMIC-Meso results.",
    "species": "Vaccines based on L. monocytogenes were tested in mesothelioma.",
    "species 2": "Live attenuated M. bovis (BCG) was an early immunotherapy.",
    "gene with dot": "The H3.3 histone variant and ADI-PEG.20 are hypothetical names here.",
    "U.S.": "The U.S. Food and Drug Administration approved the combination in 2020.",
    "numbered list": "1. Nivolumab plus ipilimumab is the first-line standard.",
}
SECOND = "This sentence comes next."


@pytest.mark.parametrize("case", sorted(NO_SPLIT_CASES))
def test_no_false_split(case: str) -> None:
    first = NO_SPLIT_CASES[case]
    assert sentences(f"{first} {SECOND}") == [first, SECOND]


SPLIT_CASES = {
    "ends with number": ("Median overall survival was 18.1 months.", "The control arm reached 14.1."),
    "ends with number 2": ("The trial enrolled 605 patients in 2016.", "Accrual closed early."),
    "closing parenthesis": ("The benefit was clear (HR 0.74).", "Toxicity was manageable."),
    "parenthesis after dot": ("Toxicity was manageable (grade 3 in 30%.)", "Nobody died."),
    "closing quote": ('The authors called it "a new standard."', "Others disagreed."),
    "citation bracket": ("ICIs reshaped first-line therapy [12].", "Resistance remains common."),
    "citation after dot": ("ICIs reshaped first-line therapy.[12,13]", "Resistance remains common."),
    "acronym": ("Resistance is frequent in MPM.", "New combinations are needed."),
    "question": ("Does ASS1 loss predict benefit?", "Early data suggest so."),
    "digit start": ("Accrual closed early.", "42 patients were still on treatment."),
    "bracket start": ("Accrual closed early.", "[Update] Final data are pending."),
    "vitamin letter": ("Patients received vitamin D.", "Levels were measured monthly."),
    "lowercase gene start": ("TP53 was wild type.", "p53 protein was detectable by IHC."),
    "multiple sclerosis acronym": ("Exclusion criteria included MS.", "Pregnancy was also excluded."),
}


@pytest.mark.parametrize("case", sorted(SPLIT_CASES))
def test_real_boundaries_split(case: str) -> None:
    a, b = SPLIT_CASES[case]
    assert sentences(f"{a} {b}") == [a, b]


def test_review_abstract_sentences() -> None:
    from corpus.review import load_review

    abstract = load_review().abstract
    got = sentences(abstract)
    assert len(got) == 12
    assert got[0].startswith("Malignant pleural mesothelioma (MPM) remains")
    # The "[e.g., chimeric antigen receptor T cells (CAR-T), ...]" sentence stays whole.
    assert any(
        "[e.g., chimeric antigen receptor T cells (CAR-T)" in s and s.endswith("antitumor immunity.")
        for s in got
    )
    assert all(s.endswith(".") for s in got)


def test_trial_report_sentences() -> None:
    text = (
        "In CheckMate 743, nivolumab plus ipilimumab improved overall survival vs. chemotherapy "
        "(median 18.1 vs. 14.1 months; HR 0.74, 96.6% CI 0.60-0.91; p = 0.002). "
        "The benefit was larger in non-epithelioid tumours (HR 0.46 [95% CI 0.31-0.68]) [5]. "
        "Grade 3-4 treatment-related adverse events occurred in 30% vs. 32% of patients, "
        "as reported by Peters et al. in 2022. "
        "ATOMIC-Meso (Szlosarek PW, et al., JAMA Oncol 2024) tested pegargiminase (ADI-PEG 20) with "
        "pemetrexed-platinum in ASS1-deficient disease, e.g. sarcomatoid MPM."
    )
    got = sentences(text)
    assert len(got) == 4, got
    assert got[0].endswith("p = 0.002).")
    assert got[1].endswith("[5].")
    assert got[2].startswith("Grade 3-4") and got[2].endswith("in 2022.")


def test_spans_are_absolute_trimmed_and_in_order() -> None:
    text = "xxxx  First one here.   Second one here.\n\n  Third after a paragraph break  "
    spans = split_sentences(text, start=4)
    assert [text[s:e] for s, e in spans] == [
        "First one here.",
        "Second one here.",
        "Third after a paragraph break",
    ]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    # Restricting the range never leaks outside it.
    inner = split_sentences(text, start=6, end=21)
    assert [text[s:e] for s, e in inner] == ["First one here."]


def test_paragraph_break_always_splits() -> None:
    text = "Results\n\nThe hazard ratio was 0.74 vs. 1.0 in the control arm"
    assert sentences(text) == ["Results", "The hazard ratio was 0.74 vs. 1.0 in the control arm"]


def test_split_paragraphs() -> None:
    text = "  Para one line one\nline two.\n \n\nPara two.\r\n\r\nPara three.  \n"
    spans = split_paragraphs(text)
    assert [text[s:e] for s, e in spans] == ["Para one line one\nline two.", "Para two.", "Para three."]
    assert split_paragraphs("   \n\n  ") == []


def test_linear_on_large_text() -> None:
    text = "Median OS was 18.1 vs. 14.1 months (HR 0.74; p = 0.002) per Baas et al. [5]. " * 20000
    spans = split_sentences(text)
    assert len(spans) == 20000
