"""Support score (sentence vs passage) and citation-marker parsing, on the real MiniLM model."""

from __future__ import annotations

import pytest

from assistant.answer.markers import clean_markers, parse_markers, render_sentence, split_cited, strip_markers
from assistant.llm.support import numbers, support_detail, support_score
from kernel.config import LLMConfig

THRESHOLD = LLMConfig().support_threshold  # the answerer flags sentences below it

PASSAGE = (
    "CheckMate 743 was a randomised phase 3 trial in 605 patients with previously untreated, unresectable "
    "pleural mesothelioma. First-line nivolumab plus ipilimumab gave a median overall survival of 18.1 months, "
    "compared with 14.1 months for platinum plus pemetrexed chemotherapy. The benefit was larger in "
    "non-epithelioid tumours."
)


def test_paraphrase_is_supported():
    sentence = "Nivolumab combined with ipilimumab extended median overall survival to 18.1 months, versus 14.1 months."
    detail = support_detail(sentence, PASSAGE)
    assert detail.score >= THRESHOLD
    assert detail.semantic is not None and detail.semantic > 0.6  # the real MiniLM ran
    assert detail.missing_numbers == ()


def test_contradictory_number_scores_zero():
    sentence = "Nivolumab plus ipilimumab gave a median overall survival of 24.5 months."
    detail = support_detail(sentence, PASSAGE)
    assert detail.lexical > 0.7  # same words ...
    assert detail.score == 0.0  # ... but a figure the passage does not state
    assert detail.missing_numbers == ("24.5",)


def test_unrelated_sentence_is_not_supported():
    assert support_score("Asbestos exposure in shipyards causes most cases.", PASSAGE) < THRESHOLD
    assert support_score("The capital of France is Paris.", PASSAGE) < 0.2


def test_negated_claim_is_not_supported():
    detail = support_detail("Nivolumab plus ipilimumab did not improve overall survival.", PASSAGE)
    assert detail.negation_mismatch
    assert detail.score < THRESHOLD


def test_several_passages_read_together():
    other = "BAP1 loss in tumour cells is frequent in pleural mesothelioma."
    sentence = "Median overall survival reached 18.1 months, and BAP1 loss is frequent in mesothelioma."
    assert support_score(sentence, other) == 0.0  # 18.1 is not in this passage
    assert support_score(sentence, [PASSAGE, other]) >= THRESHOLD


def test_lexical_only_still_separates():
    good = support_detail(
        "Median overall survival was 18.1 months with nivolumab plus ipilimumab.", PASSAGE, semantic=False
    )
    bad = support_detail("Radiotherapy was given to every patient.", PASSAGE, semantic=False)
    assert good.semantic is None and good.score >= THRESHOLD > bad.score


def test_numbers_ignore_gene_and_drug_names():
    assert numbers("PD-1, CTLA-4, BAP1 and IL6 in 605 patients: 18.10 months, 1,000 cells, 95% CI") == {
        "605",
        "18.1",
        "1000",
        "95",
    }


@pytest.mark.parametrize(
    ("raw", "k", "cleaned", "removed"),
    [
        ("A [1]. B [7].", 3, "A [1]. B.", [7]),
        ("A [1, 2]. B [2-3][9].", 3, "A [1][2]. B [2][3].", [9]),
        ("Ignore [0] and [12].", 3, "Ignore and.", [0, 12]),
    ],
)
def test_clean_markers(raw, k, cleaned, removed):
    assert clean_markers(raw, k) == (cleaned, removed)


def test_split_cited_attaches_trailing_markers():
    text = "Survival was 18.1 months. [1] Loss of BAP1 is frequent, e.g. in epithelioid tumours [2][3].\n- Bullet [1]."
    assert split_cited(text) == [
        ("Survival was 18.1 months.", [1]),
        ("Loss of BAP1 is frequent, e.g. in epithelioid tumours.", [2, 3]),
        ("Bullet.", [1]),
    ]


def test_marker_helpers_round_trip():
    assert parse_markers("x [2] y [1, 2] z [3-4]") == [2, 1, 3, 4]
    assert render_sentence("Survival was 18.1 months.", [1, 2]) == "Survival was 18.1 months [1][2]."
    assert strip_markers("Survival was 18.1 months [1][2].") == "Survival was 18.1 months."


def test_short_claim_needs_more_than_its_topic_word():
    passage = "Loss of BAP1 protein in tumour cells is frequent in pleural mesothelioma."
    assert support_score("Mesothelioma is cured.", passage) < THRESHOLD
    assert support_score("BAP1 loss is frequent in mesothelioma.", passage) >= THRESHOLD


def test_split_cited_drops_bullets_and_part_labels():
    text = "- **CONFIRM**: Setting: after platinum [1].\n- **DETERMINE**: Setting: second line [2]."
    assert split_cited(text) == [("Setting: after platinum.", [1]), ("Setting: second line.", [2])]
