"""Conversation: follow-ups rewritten into standalone questions (extractive mode, no LLM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.understand.conversation import Entity, Turn, rewrite_followup
from assistant.understand.query import QueryAnalyzer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analyzer():
    return QueryAnalyzer.from_corpus()


def turn(question: str, analyzer, cited: tuple[Entity, ...] = ()) -> Turn:
    from assistant.understand.conversation import entities_in

    return Turn(question, question, "", tuple(entities_in(question, analyzer)), cited)


@pytest.mark.parametrize(
    "first, follow_up, expected",
    [
        ("What is BEAT-meso?", "which journal published it?", "Which journal published BEAT-meso?"),
        ("What did CheckMate 743 show?", "and its hazard ratio?", "CheckMate 743's hazard ratio?"),
        ("What is CAR-T?", "what about CAR-NK?", "What is CAR-NK?"),
        ("What is ADI-PEG 20?", "Which trial tested this drug?", "Which trial tested ADI-PEG 20?"),
        ("Tell me about the DENIM trial.", "What was its hazard ratio?", "What was DENIM trial's hazard ratio?"),
        ("What is BEAT-meso?", "who ran that trial?", "Who ran BEAT-meso?"),
        ("What is reference 9?", "who wrote it?", "Who wrote reference 9?"),
    ],
)
def test_follow_up_rewrites(analyzer, first, follow_up, expected):
    assert rewrite_followup(follow_up, [turn(first, analyzer)], analyzer) == expected


def test_standalone_question_is_left_alone(analyzer):
    history = [turn("What is BEAT-meso?", analyzer)]
    assert rewrite_followup("What is pegargiminase?", history, analyzer) == "What is pegargiminase?"
    assert rewrite_followup("anything", [], analyzer) == "anything"


def test_which_question_makes_its_answer_the_topic(analyzer):
    cited = (Entity("ATOMIC-Meso", "trial:atomic-meso", "trial"),)
    history = [turn("Which trial tested ADI-PEG 20?", analyzer, cited)]
    assert rewrite_followup("what did it find?", history, analyzer) == "What did ATOMIC-Meso find?"


def test_named_entity_beats_cited_one(analyzer):
    cited = (Entity("NIBIT-MESO-1", "trial:nibit-meso-1", "trial"),)
    history = [turn("What is durvalumab?", analyzer, cited)]
    out = rewrite_followup("Which antibody was it combined with in NIBIT-MESO-1?", history, analyzer)
    assert out == "Which antibody was durvalumab combined with in NIBIT-MESO-1?"


def test_ellipsis_without_entity_in_previous_question(analyzer):
    history = [turn("What are the main resistance mechanisms?", analyzer,
                    (Entity("CheckMate 743", "trial:checkmate-743", "trial"),))]
    out = rewrite_followup("what about CAR-NK?", history, analyzer)
    assert "CAR-NK" in out


@pytest.fixture(scope="module")
def assistant(review_home):
    from assistant import Assistant

    return Assistant.load(home=review_home)


def test_chat_resolves_follow_up_and_answers_it(assistant):
    chat = assistant.chat()
    first = chat.ask("What is BEAT-meso?")
    assert not first.abstained
    second = chat.ask("which journal published it?")
    assert second.rewritten_query == "Which journal published BEAT-meso?"
    assert [c.record_id for c in second.citations] == ["trial:beat-meso", "ref:9"]
    third = chat.ask("what about CheckMate 743?")
    assert "CheckMate 743" in third.rewritten_query
    assert len(chat.history) == 3


def test_chat_what_about_swaps_the_entity(assistant):
    chat = assistant.chat()
    chat.ask("What is CAR-T?")
    answer = chat.ask("what about CAR-NK?")
    assert answer.rewritten_query == "What is CAR-NK?"
    assert any(c.record_id in ("agent:car-nk", "term:car-nk") for c in answer.citations)


def test_chats_are_independent(assistant):
    a, b = assistant.chat(), assistant.chat()
    a.ask("What is BEAT-meso?")
    b.ask("What is ADI-PEG 20?")
    assert "BEAT-meso" in a.ask("which journal published it?").rewritten_query
    assert "ADI-PEG 20" in b.ask("which trial tested it?").rewritten_query


def test_dev_conversations_keep_the_entity(assistant):
    """Every dev conversation's turn 2 is rewritten to name the turn-1 entity (evals/sets)."""
    path = REPO / "evals/sets/conversations-dev.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert rows
    misses = []
    for row in rows:
        chat = assistant.chat()
        chat.ask(row["turns"][0])
        rewritten = chat.ask(row["turns"][1]).rewritten_query
        if not any(e.lower() in rewritten.lower() for e in row["entity"]):
            misses.append((row["id"], rewritten))
    assert not misses
