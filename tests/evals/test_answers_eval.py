"""v2 answer metrics on hand-built answers: grounding, entity consistency, parts, abstention, per category."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from assistant.answer.model import ABSTAIN_TEXT, Answer, Citation
from evals.answers_v2 import EntityNames, Tally, evaluate_answers_v2, judge
from evals.sets_v2 import ConversationV2, EvalItemV2

DOCS = {
    "trial:atomic-meso": "ATOMIC-Meso overall survival: pegargiminase + chemotherapy: 9.3 months; placebo + chemotherapy: "
                         "7.7 months. Hazard ratio (HR) 0.71 (95% CI 0.55-0.93).",
    "trial:checkmate-743": "CheckMate 743 randomised 605 patients. Nivolumab + ipilimumab: 18.1 months; chemotherapy: 14.1 months.",
    "review": "Dual PD-1/CTLA-4 blockade has been established as a novel first-line standard of care. "
              "The ATOMIC-Meso trial tested arginine deprivation.",
}
NAMES = EntityNames({"trial:atomic-meso": ["ATOMIC-Meso", "ATOMIC Meso"], "trial:checkmate-743": ["CheckMate 743", "CM743"],
                     "agent:nivolumab": ["Nivolumab", "nivo"]})


def doc_text(doc_id: str) -> str:
    return DOCS[doc_id]


def cite(doc_id: str, quote: str, n: int = 1) -> Citation:
    start = DOCS[doc_id].index(quote)
    record = None if doc_id == "review" else doc_id
    return Citation(n=n, source_id=f"{doc_id}#x", title=doc_id, locator=doc_id, text=quote, score=1.0, doc_id=doc_id,
                    char_start=start, char_end=start + len(quote), record_id=record)


def answer(*citations: Citation, text: str | None = None) -> Answer:
    body = text if text is not None else " ".join(f"{c.text} [{c.n}]" for c in citations)
    return Answer(text=body, citations=list(citations), abstained=False, rewritten_query=None, question="q", mode="extractive")


def abstain() -> Answer:
    return Answer(text=ABSTAIN_TEXT, citations=[], abstained=True, rewritten_query=None, question="q", mode="extractive")


def item(**kw: Any) -> EvalItemV2:
    base = {"id": "v2-t-1", "question": "What did ATOMIC-Meso show?", "answerable": True, "category": "attribute",
            "form": "fact", "entities": ["trial:atomic-meso"], "attribute": "os",
            "relevant": [{"record_id": "trial:atomic-meso"}], "nuggets": ["9.3", "7.7", "0.71"]}
    return EvalItemV2.model_validate({**base, **kw})


OS_QUOTE = "pegargiminase + chemotherapy: 9.3 months; placebo + chemotherapy: 7.7 months. Hazard ratio (HR) 0.71"


def test_grounded_answer_from_the_entitys_record():
    j = judge(item(), answer(cite("trial:atomic-meso", OS_QUOTE)), NAMES, doc_text)
    assert j.answered and j.relevant_cited and j.entity_consistent and j.grounded
    assert j.nugget_recall == 1.0 and j.correct(True)


def test_another_trials_value_under_the_asked_entity_is_not_grounded():
    """The issue's first failure: the asked trial lacks the figure and another trial's figure is quoted."""
    ans = answer(cite("trial:atomic-meso", OS_QUOTE), cite("trial:checkmate-743", "CheckMate 743 randomised 605 patients.", 2))
    j = judge(item(), ans, NAMES, doc_text)
    assert j.relevant_cited and not j.entity_consistent and not j.grounded
    assert j.stray_citations == ["trial:checkmate-743"] and not j.correct(True)


def test_a_passage_outside_the_record_counts_when_it_names_the_entity():
    ans = answer(cite("trial:atomic-meso", OS_QUOTE), cite("review", "The ATOMIC-Meso trial tested arginine deprivation.", 2))
    assert judge(item(), ans, NAMES, doc_text).grounded
    # the same review passage without the name would be a stray citation
    ans = answer(cite("trial:atomic-meso", OS_QUOTE), cite("review", "novel first-line standard of care", 2))
    assert not judge(item(), ans, NAMES, doc_text).entity_consistent


def test_names_match_whole_words_only():
    assert NAMES.named_in("results of cm743 were", "trial:checkmate-743")
    assert not NAMES.named_in("nivolumab was given", "trial:checkmate-743")
    assert NAMES.named_in("Nivolumab alone", "agent:nivolumab")  # case-insensitive
    assert not NAMES.named_in("nivolumabs", "agent:nivolumab")  # no partial-word match


def test_entity_names_from_real_records_cover_names_in_parentheses_and_synonyms():
    names = EntityNames.load()
    assert names.named_in("the BEAT-meso trial", "trial:beat-meso")  # name outside the parenthesis
    assert names.named_in("ETOP 13-18 enrolled", "trial:beat-meso")  # inside it
    assert names.named_in("MEDI4736 blocks", "agent:durvalumab")  # code name
    assert not names.named_in("CheckMate 743 randomised 605 patients", "trial:atomic-meso")


def test_abstention_is_right_for_unanswerable_and_wrong_for_answerable():
    unanswerable = item(answerable=False, category="uncovered-attribute", attribute="median-age", relevant=[], nuggets=[])
    assert judge(unanswerable, abstain(), NAMES, doc_text).correct(False)
    assert not judge(unanswerable, answer(cite("trial:atomic-meso", OS_QUOTE)), NAMES, doc_text).correct(False)
    j = judge(item(), abstain(), NAMES, doc_text)
    assert not j.answered and not j.grounded and j.nugget_recall == 0.0


def test_comparison_needs_a_cited_part_per_entity():
    comparison = item(category="comparison", form="comparison", entities=["trial:checkmate-743", "trial:atomic-meso"],
                      relevant=[{"record_id": "trial:checkmate-743"}, {"record_id": "trial:atomic-meso"}],
                      nuggets=["18.1", "9.3"], parts=[{"record_id": "trial:checkmate-743", "nuggets": ["18.1"]},
                                                      {"record_id": "trial:atomic-meso", "nuggets": ["9.3"]}])
    one_sided = answer(cite("trial:checkmate-743", "Nivolumab + ipilimumab: 18.1 months; chemotherapy: 14.1 months."))
    j = judge(comparison, one_sided, NAMES, doc_text)
    assert j.grounded and j.parts_covered == [True, False] and not j.correct(True)
    both = answer(cite("trial:checkmate-743", "Nivolumab + ipilimumab: 18.1 months; chemotherapy: 14.1 months."),
                  cite("trial:atomic-meso", OS_QUOTE, 2))
    assert judge(comparison, both, NAMES, doc_text).correct(True)


def test_must_not_contain_catches_quoted_curation_text():
    guarded = item(must_not_contain=["also called"])
    ans = answer(cite("trial:atomic-meso", OS_QUOTE), text=f"ATOMIC-Meso (also called ATOMIC Meso): {OS_QUOTE} [1]")
    j = judge(guarded, ans, NAMES, doc_text)
    assert j.forbidden == ["also called"] and not j.correct(True)


def test_tally_reports_rates_per_group():
    t = Tally()
    t.add(True, judge(item(), answer(cite("trial:atomic-meso", OS_QUOTE)), NAMES, doc_text))
    t.add(True, judge(item(), abstain(), NAMES, doc_text))
    unanswerable = item(answerable=False, category="off-topic", entities=[], attribute=None, relevant=[], nuggets=[])
    t.add(False, judge(unanswerable, abstain(), NAMES, doc_text))
    m = t.metrics()
    assert m["n"] == 3 and m["answered_grounded"] == 0.5 and m["nugget_recall"] == 0.5
    assert m["abstained"] == 1.0 and m["correct"] == round(2 / 3, 4)


# --- end to end with a scripted assistant ---------------------------------------------------------------


@dataclass(frozen=True)
class PlannedAnswer(Answer):
    plan: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "plan": self.plan}


class ScriptedChat:
    def __init__(self, script: dict[str, Answer]):
        self.script = script

    def ask(self, question: str) -> Answer:
        return self.script[question]


class ScriptedAssistant:
    """Answers from a dict; exposes the index/retriever attributes the runner reads."""

    def __init__(self, script: dict[str, Answer]):
        self.script = script
        self.index = type("Index", (), {"doc_text": staticmethod(doc_text)})()
        self.retriever = type("Retriever", (), {"retrieve": lambda *a, **k: []})()

    def ask(self, question: str) -> Answer:
        return self.script[question]

    def chat(self) -> ScriptedChat:
        return ScriptedChat(self.script)


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_runner_reports_each_category_conversations_and_plans(tmp_path):
    q_ok = item().model_dump(by_alias=True, exclude_none=True)
    q_stray = {**q_ok, "id": "v2-t-2", "question": "How many patients were randomised in ATOMIC-Meso?", "nuggets": [],
               "attribute": "sample-size", "regression": "why-1"}
    q_unc = {"id": "v2-t-3", "question": "median age in ATOMIC-Meso?", "answerable": False, "category": "uncovered-attribute",
             "form": "fact", "entities": ["trial:atomic-meso"], "attribute": "median-age"}
    q_off = {"id": "v2-t-4", "question": "capital of Peru?", "answerable": False, "category": "off-topic", "form": "fact"}
    qset = _write(tmp_path / "review-v2-mini.jsonl", [q_ok, q_stray, q_unc, q_off])
    turn_ok = {"question": "what about its PFS?", "answerable": True, "entities": ["trial:atomic-meso"], "attribute": "pfs",
               "relevant": [{"record_id": "trial:atomic-meso"}], "nuggets": ["0.71"]}
    conv = {"id": "v2-c-1", "category": "follow-up-abstain",
            "turns": [{**turn_ok, "question": "tell me about ATOMIC-Meso", "attribute": None, "nuggets": []},
                      {"question": "and its quality of life?", "answerable": False, "entities": ["trial:atomic-meso"],
                       "attribute": "quality-of-life"},
                      turn_ok]}
    cset = _write(tmp_path / "conversations-v2-mini.jsonl", [conv])
    ConversationV2.model_validate(conv)
    stray = PlannedAnswer(text="CheckMate 743 randomised 605 patients. [1]",
                          citations=[cite("trial:checkmate-743", "CheckMate 743 randomised 605 patients.")], abstained=False,
                          rewritten_query=None, question="q", mode="extractive",
                          plan={"entities": ["trial:atomic-meso"], "attribute": "sample-size", "form": "fact"})
    good = answer(cite("trial:atomic-meso", OS_QUOTE))
    script = {q_ok["question"]: good, q_stray["question"]: stray, q_unc["question"]: abstain(),
              q_off["question"]: answer(cite("review", "novel first-line standard of care")),
              "tell me about ATOMIC-Meso": good, "and its quality of life?": abstain(), "what about its PFS?": good}
    report = evaluate_answers_v2(None, str(qset), str(cset), assistant=ScriptedAssistant(script), names=NAMES)
    d = report.to_dict()
    assert d["by_category"]["attribute"]["answered_grounded"] == 0.5
    assert d["by_category"]["attribute"]["entity_consistent"] == 0.5
    assert d["by_category"]["uncovered-attribute"]["abstained"] == 1.0
    assert d["by_category"]["off-topic"]["abstained"] == 0.0
    assert d["summary"]["uncovered_abstained"] == 1.0 and d["summary"]["off_topic_abstained"] == 0.0
    assert d["summary"]["citation_precision"] == 1.0
    assert d["regressions"] == {"v2-t-2 (why-1)": False}
    miss = next(f for f in d["failures"] if f["id"] == "v2-t-2")
    assert miss["other_entity_cited"] == ["trial:checkmate-743"] and miss["plan"]["attribute"] == "sample-size"
    conv_summary = d["conversations"]["summary"]
    assert conv_summary["follow_ups_answered_grounded"] == 1.0 and conv_summary["follow_ups_must_abstain_abstained"] == 1.0
    assert conv_summary["conversations_all_turns_correct"] == 1.0
    assert set(d["conversations"]["by_category"]) == {"follow-up-abstain"}


def test_runner_refuses_an_empty_request():
    from kernel.errors import MesochatError

    with pytest.raises(MesochatError, match="nothing to evaluate"):
        evaluate_answers_v2(None, None, None, assistant=ScriptedAssistant({}))


def test_part_labels_of_comparison_answers_are_not_claims():
    from evals.answers_eval import _CitationCheck

    check = _CitationCheck("extractive", doc_text)
    labelled = answer(cite("trial:checkmate-743", "CheckMate 743 randomised 605 patients."),
                      text="**CheckMate 743**: CheckMate 743 randomised 605 patients. [1]")
    assert check.add(labelled) == [] and check.supported == check.pairs == 1
    invented = answer(cite("trial:checkmate-743", "CheckMate 743 randomised 605 patients."),
                      text="**CheckMate 743**: it randomised 700 patients. [1]")
    assert check.add(invented) and check.supported == 1


def test_absence_statements_are_not_citation_pairs() -> None:
    from evals.answers_eval import is_absence_statement

    assert is_absence_statement("The indexed record of DENIM does not report the dose; it reports overall survival")
    assert not is_absence_statement("DENIM did not report a benefit")


def test_a_v3_mixed_answer_must_name_what_is_not_covered():
    """v3 items (style, uncovered) are judged by the v2 judge; a mixed answer that never names the uncovered trial
    is not grounded, one that does is."""
    from evals.answers_v2 import EntityNames, judge
    from evals.sets_v3 import EvalItemV3

    item = EvalItemV3.model_validate({
        "id": "v3-x-1", "question": "ORR in DREAM and KEYNOTE-189?", "answerable": True, "category": "mixed",
        "style": "mixed-uncovered", "form": "fact", "entities": ["trial:dream"], "attribute": "orr",
        "relevant": [{"record_id": "trial:dream"}], "nuggets": ["48%"],
        "parts": [{"record_id": "trial:dream", "attribute": "orr", "nuggets": ["48%"]}], "uncovered": ["KEYNOTE-189"]})

    class C:
        record_id = doc_id = "trial:dream"
        text, char_start, char_end = "48%", 0, 3

    class A:
        abstained, citations = False, [C()]

        def __init__(self, text):
            self.text = text

    names = EntityNames({"trial:dream": ["DREAM"]})
    doc_text = {"trial:dream": "48%"}.get
    assert not judge(item, A("DREAM: 48% [1]."), names, doc_text).grounded
    assert judge(item, A("The indexed sources do not cover KEYNOTE-189. DREAM: 48% [1]."), names, doc_text).grounded
