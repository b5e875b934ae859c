"""Questions about the review itself, on the review's real indexed text; no index, no model."""

from __future__ import annotations

import pytest

import indexing  # noqa: F401  (offline environment)
from assistant.answer.review_answer import ReviewFacts
from indexing.chunker import chunk_document
from indexing.sources import corpus_documents


@pytest.fixture(scope="module")
def review():
    doc = next(d for d in corpus_documents() if d.doc_id == "review")
    chunks = chunk_document(doc)
    return ReviewFacts(chunks, {"review": doc.text}.get)


@pytest.mark.parametrize("question, starts", [
    ("Who are the authors of the review?", "Authors: Wanyi Xia"),
    ("What are the keywords of the review?", "Keywords: Malignant pleural mesothelioma"),
    ("under which licence can the review be reused?", "License: CC BY 4.0"),
    ("what journal published the review?", "Published in Cancer Drug Resistance"),
    ("What is the exact title of the review article?", "Immunotherapy resistance and strategies"),
    ("what does the review conclude?", "This review provides"),
])
def test_bibliographic_and_aim_questions_quote_the_line_that_holds_it(review, question, starts):
    assert ReviewFacts.about_review(question, named_anything=False)
    units = review.answer_units(question)
    assert units and units[0][3].startswith(starts)


def test_other_questions_about_the_review_are_left_to_sentence_selection(review):
    # "aim" here is the strategies' aim, not the review's: the line on the combination strategies answers it
    units = review.answer_units("what do the precision combination strategies aim to achieve, according to the review?")
    assert [u[3] for u in units if "dismantle immune evasion barriers" in u[3]] and \
        not any(u[3].startswith("This review provides") for u in units)
    # a record named beside "the review": the review's lines never answer for the record
    assert review.answer_units("according to the review, who wrote CheckMate 743?", named_anything=True) == []


@pytest.mark.parametrize("question, named, about", [
    ("Who were the authors of the BEAT-meso paper?", True, False),  # the trial's paper, not the review
    ("who are the authors?", False, True),
    ("is nivolumab approved according to the review?", True, True),
    ("which journal published CheckMate 743?", True, False),
])
def test_what_counts_as_a_question_about_the_review(question, named, about):
    assert ReviewFacts.about_review(question, named) is about


def test_a_cause_asked_of_the_review_quotes_the_sentence_that_gives_it(review):
    for question in ("according to the review, why do so many MPM pts not respond to ICIs?",
                     "according to the review, what is the high rate of ICI resistance in MPM mainly due to?"):
        units = review.answer_units(question)
        assert units and "largely attributed to" in units[0][3]


def test_what_the_authors_think_is_not_the_author_list(review):
    units = review.answer_units("what do the authors see as the review's core contribution?")
    assert not any(u[3].startswith("Authors:") for u in units)
    assert not any(u[3].startswith("Authors:") for u in review.answer_units("What end point does the authors' roadmap aim for?"))


def test_a_slot_word_in_another_question_is_not_about_the_review(review):
    assert not ReviewFacts.about_review("how do i renew my medical license in Ontario", named_anything=False)
    assert ReviewFacts.about_review("what licence is it under?", named_anything=False)
    assert ReviewFacts.about_review("who are the authors?", named_anything=False)
    units = review.answer_units("what role do multi-omics play according to the review authors?")
    assert not any(u[3].startswith("Authors:") for u in units)
