"""The words moved out of list_filters, record_answer, query and conversation into words/*.yaml (issue 18)."""

from types import SimpleNamespace

import pytest

from assistant.answer import record_answer as ra
from assistant.understand import conversation, list_filters
from assistant.understand.phrases import vocabulary
from assistant.understand.query import _name_parts

FILES = ("list_filters_words", "record_answer_words", "conversation_words", "query_words")


def _entries(value):
    if isinstance(value, dict) and "phrase" not in value:
        for v in value.values():
            yield from _entries(v)
    elif isinstance(value, list):
        for v in value:
            yield from _entries(v)
    else:
        yield value


@pytest.mark.parametrize("name", FILES)
def test_every_entry_is_a_phrase(name):
    """YAML reads a bare on/no/yes as a boolean: every word must come out as text (or an exclusion mapping)."""
    bad = [e for e in _entries(vocabulary(name)) if not isinstance(e, (str, dict))]
    assert not bad, bad


def test_drug_class_words():
    assert list_filters.class_pattern("which immune checkpoint inhibitors?").search("PD-1 checkpoint inhibitor")
    assert list_filters.class_pattern("any CAR-T trials?").search("Chimeric antigen receptor T-cell therapy")
    assert list_filters.class_pattern("anti-angiogenic drugs").search("Anti-angiogenic TKI")
    assert list_filters.class_pattern("which trials were run in Europe?") is None


def test_designs_asked_and_said():
    assert list_filters.asked_designs("which RCTs used a placebo?") == ["randomised", "placebo-controlled"]
    trials = {"a": SimpleNamespace(design="Randomised, double-blind, placebo-controlled phase 3"),
              "b": SimpleNamespace(design="Non-randomised, single-arm phase 2")}
    for t in trials.values():
        t.line, t.phase = None, None
    assert list_filters.filter_trials(["a", "b"], trials, "randomised trials")[0] == ["a"]
    assert list_filters.filter_trials(["a", "b"], trials, "single-arm trials")[0] == ["b"]
    assert list_filters.filter_trials(["a", "b"], trials, "double-blind trials")[0] == ["a"]


def test_list_filler_keeps_only_what_is_asked():
    assert list_filters.qualifiers("which trials enrolled peritoneal mesothelioma?") == ["periton"]
    assert list_filters.qualifiers("which trial tested it on its own?") == ["own"]  # "on", not YAML's True


def test_record_answer_words():
    assert ra.ASKS_RATE.search("what % had grade 3 events?")
    assert ra.TOGETHER.search("which trial added it to chemo?")
    assert ra.REVIEW_NAMES.search("according to the authors, what works?")
    assert ra._NEGATION.search("isn't it on EudraCT?") and not ra._NEGATION.search("what is the NCT number?")
    assert ra._singular_trial("which trial tested it?") and not ra._singular_trial("which trials tested it?")
    assert [m for m, rx in ra.MEASURE_WORDS if rx.search("overall survival")] == ["os"]


def test_arm_asked():
    trial = SimpleNamespace(arms=[SimpleNamespace(name="Drug", regimen="drug 3 mg/kg"),
                                  SimpleNamespace(name="Chemotherapy", regimen="cisplatin + pemetrexed")])
    assert ra._arms_asked(trial, "what did the experimental arm get?") == trial.arms[:1]
    assert ra._arms_asked(trial, "what did the chemo arm get?") == trial.arms[1:]
    assert ra._arms_asked(trial, "what did patients get?") == []


def test_leading_conjunction_and_pronouns():
    assert conversation._without_leading_conjunction("ok, , what did it cost?") == "what did it cost?"
    assert conversation._without_leading_conjunction("andrew asked") == "andrew asked"
    assert conversation._PRONOUN.search("did they respond?") and not conversation._PRONOUN.search("items")
    assert conversation._POSSESSIVE.search("what was its dose?")


def test_name_qualifiers():
    assert _name_parts("Mesothelin (MSLN)") == ["Mesothelin", "MSLN"]
    assert _name_parts("Pembrolizumab (with chemotherapy)") == ["Pembrolizumab"]
    assert _name_parts("Nivolumab (mesothelioma cohort)") == ["Nivolumab"]
