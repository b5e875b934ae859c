"""The words moved out of plan, mixed and message into words/*.yaml (issue 18)."""

import pytest

from assistant.understand import message, mixed
from assistant.understand import plan as pl
from assistant.understand.phrases import vocabulary
from tests.assistant.test_vocabulary_words import _entries

FILES = ("plan_words", "mixed_words", "message_words")


@pytest.mark.parametrize("name", FILES)
def test_every_entry_is_text(name):
    """YAML reads a bare on/no/yes as a boolean: every word must come out as text (or an exclusion mapping)."""
    words = {k: v for k, v in vocabulary(name).items() if k != "ordinal_at"}  # ordinal_at: positions
    bad = [e for e in _entries(words) if not isinstance(e, (str, dict))]
    assert not bad, bad


def test_other_diseases_span_the_longest_name():
    assert pl._other_disease("OS in non-small cell lung cancer?", []) == "non-small cell lung cancer"
    assert pl._other_disease("does it work in Crohn's disease?", []) == "Crohn's"
    assert pl._other_disease("peritoneal tumours and MPM", []) == "peritoneal tumours"
    assert pl._other_disease("what is the OS in CheckMate 743?", []) is None


def test_definition_words():
    assert pl._defines("what does AUC mean for carboplatin?")
    assert pl._defines("what does ORR stand for?")
    assert not pl._defines("what does that mean for survival?")
    assert not pl._defines("what does it mean for me")


def test_question_forms():
    assert pl._YES_NO.match("Is nivolumab approved?")
    assert pl._WHY_HOW.match("how does it work?")
    assert not pl._WHY_HOW.match("how many patients?")
    assert pl._COMPARE.search("nivo vs. chemo") and pl._COMPARE.search("which one was better?")


def test_follow_up_words():
    assert pl._elliptical("and what about DENIM?") and pl._elliptical("same question for MAPS2")
    assert pl._elliptical("and for CONFIRM?")
    assert not pl._elliptical("and was peritoneal disease allowed in the trial?")
    assert not pl._elliptical("and what was the median overall survival?")
    assert pl._elliptical("and what about the median overall survival?")
    assert pl.refers_back("what was its ORR in that setting?")


def test_kinds_named_by_ordinals_and_anaphors():
    m = pl._ORDINAL.search("what does the second drug target?")
    assert pl._kind_named(m.group(0), None) == "agent"
    assert pl._kind_named(pl._ORDINAL.search("the last one?").group(0), None) is None
    assert pl._kind_named(pl._TYPED_ANAPHOR.search("how is that marker measured?").group(0), "biomarker") == "biomarker"
    assert pl._kind_named(pl._KIND_ASKED.search("what's the underlying mechanisms called?").group(0), None) == "mechanism"
    assert not pl._KIND_ASKED.search("what mechanism of action does it have?")


def test_uncovered_families_and_drug_endings_are_data():
    assert "JAVELIN" in pl._OTHER_FAMILIES and "IMpower" in pl._OTHER_FAMILIES
    assert pl.is_drug_name("anetumab ravtansine") and pl.is_drug_name("tremelimumab")
    assert not pl.is_drug_name("mesothelioma")


def test_joined_drugs():
    assert pl._JOINED_SIGN.search("nivo+ipi") and pl._JOINED.search("nivo plus ipi")
    assert pl._JOINED.search("the gem and cis doublet") and not pl._JOINED.search("nivo and ipi")


def test_clause_connectives():
    q = "OS in CheckMate 743 vs CheckMate 9LA, and the same dose as in DREAM?"
    starts = sorted(mixed._boundaries(q, mixed._PUNCTUATION) + mixed._boundaries(q, mixed._STRONG))
    assert [q[s:s + 4] for s in starts] == ["vs C", ", an", "and ", "same", "?"]
    assert mixed._DISTRIBUTIVE.search("what do X and Y each target?")
    assert mixed._boundaries("X & Y and Z", mixed._AND) == [2, 6]


def test_interrogative_sentences():
    assert message.is_question("Tell me about the trial")
    assert message.is_question("my father has MPM. ok?  ")
    assert not message.is_question("My father has mesothelioma.")
