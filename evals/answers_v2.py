"""Answer evaluation on the v2 sets, reported per category (issue 13).

For every question (and every conversation turn) the answer is judged on its own fields:

- answerable: *answered and grounded* = not abstained, at least one citation inside a relevant judgement,
  and every citation entity-consistent (it comes from an expected entity's record, or the quoted text names
  an expected entity by its record name or a synonym); nugget recall; for comparison/list questions, part
  coverage (every expected entity has a cited part); no ``must_not_contain`` text.
- unanswerable: abstained (``abstained=True``, which includes the engine's "the record of X does not
  report Y; it reports ..." partial answers).
- citation precision and integrity exactly as in v1 (``evals.answers_eval._CitationCheck``).

The answer's ``plan`` (``to_dict()["plan"]``, when present) is copied into the misses for diagnosis only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from evals.answers_eval import (
    _CitationCheck,
    _index_and_retriever,
    _load_assistant,
    _safe_div,
    normalise,
    nugget_found,
)
from evals.sets import load_conversations, load_set, set_path, span_relevant
from evals.sets_v2 import ON_TOPIC_UNCOVERED, ConversationV2, EvalItemV2
from kernel.errors import MesochatError

DocText = Callable[[str], str]


# --- entity names --------------------------------------------------------------------------------------


class EntityNames:
    """Surface forms of each record (name, name without its parenthesis, synonyms, code names, abbreviation)."""

    def __init__(self, forms: dict[str, Iterable[str]]):
        self._patterns: dict[str, list[re.Pattern]] = {}
        for rid, names in forms.items():
            unique = {normalise(n) for n in names if n and len(n.strip()) >= 2}
            self._patterns[rid] = [re.compile(rf"(?<![\w]){re.escape(n)}(?![\w])") for n in sorted(unique)]

    @classmethod
    def from_records(cls, records: Iterable[Any]) -> EntityNames:
        forms: dict[str, list[str]] = {}
        for r in records:
            names = [r.name, *getattr(r, "synonyms", []), *(getattr(r, "code_names", None) or [])]
            if getattr(r, "abbreviation", None):
                names.append(r.abbreviation)
            outside = re.sub(r"\s*\([^)]*\)", "", r.name).strip()
            # "BEAT-meso (ETOP 13-18)" -> "ETOP 13-18"; a lower-case gloss ("(with pembrolizumab)") is no name
            inside = [x for x in re.findall(r"\(([^)]*)\)", r.name) if x[:1].isupper() or x[:1].isdigit()]
            forms[r.id] = [*names, outside, *inside]
        return cls(forms)

    @classmethod
    def load(cls) -> EntityNames:
        from corpus import load_records

        return cls.from_records(load_records())

    def named_in(self, text: str, record_id: str) -> bool:
        t = normalise(text)
        return any(p.search(t) for p in self._patterns.get(record_id, ()))


# --- judging one answer (pure; unit-tested with hand-built answers) ---------------------------------------


def citation_entities(citation: Any, entities: Iterable[str], names: EntityNames) -> set[str]:
    """The expected entities a citation is about: by its record, or by naming them in the quoted text."""
    own = {citation.record_id, citation.doc_id}
    return {e for e in entities if e in own or names.named_in(citation.text or "", e)}


@dataclass
class Judged:
    answered: bool
    relevant_cited: bool = False
    entity_consistent: bool = True
    grounded: bool = False
    nugget_recall: float | None = None
    missed_nuggets: list[str] = field(default_factory=list)
    parts_covered: list[bool] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    stray_citations: list[str] = field(default_factory=list)
    uncovered_unnamed: list[str] = field(default_factory=list)  # v3 mixed: uncovered names the answer never says

    @property
    def all_parts_covered(self) -> bool:
        return all(self.parts_covered)

    def correct(self, answerable: bool) -> bool:
        """The whole expectation met: abstained when it must, else grounded, complete and clean."""
        if not answerable:
            return not self.answered
        return (self.grounded and self.all_parts_covered and not self.forbidden
                and (self.nugget_recall is None or self.nugget_recall == 1.0))


def judge(item: Any, answer: Any, names: EntityNames, doc_text: DocText) -> Judged:
    """Judge an answer against a question or a conversation turn (fields: answerable, entities, relevant,
    nuggets, and optionally parts and must_not_contain)."""
    answered = not answer.abstained
    j = Judged(answered=answered)
    entities = list(item.entities)
    text = answer.text or ""
    j.forbidden = [s for s in getattr(item, "must_not_contain", []) if answered and normalise(s) in normalise(text)]
    if not item.answerable:
        return j
    cites = list(answer.citations) if answered else []
    j.relevant_cited = any(span_relevant(item.relevant, c.doc_id, c.record_id, c.char_start, c.char_end, doc_text)
                           for c in cites)
    if entities:
        stray = [c for c in cites if not citation_entities(c, entities, names)]
        j.entity_consistent = not stray
        j.stray_citations = sorted({c.record_id or c.doc_id for c in stray})
    # v3 mixed questions: the covered part answered, and every uncovered name said to be missing
    j.uncovered_unnamed = [n for n in getattr(item, "uncovered", []) if normalise(n) not in normalise(text)]
    j.grounded = answered and j.relevant_cited and j.entity_consistent and not j.uncovered_unnamed
    if item.nuggets:
        found = [n for n in item.nuggets if answered and nugget_found(text, n)]
        j.nugget_recall = len(found) / len(item.nuggets)
        j.missed_nuggets = [n for n in item.nuggets if n not in found]
    j.parts_covered = [any(p.record_id in citation_entities(c, [p.record_id], names) for c in cites)
                       for p in getattr(item, "parts", [])]
    return j


# --- tallies -----------------------------------------------------------------------------------------------


class Tally:
    """Counts for one group of judged answers (a category, or everything)."""

    def __init__(self) -> None:
        self.n = self.answerable = self.unanswerable = 0
        self.answered = self.grounded = self.consistent = self.abstained_ok = self.correct = 0
        self.nuggets: list[float] = []
        self.part_questions = self.part_questions_covered = self.parts = self.parts_covered = 0
        self.forbidden = 0

    def add(self, answerable: bool, j: Judged) -> None:
        self.n += 1
        self.correct += j.correct(answerable)
        self.forbidden += bool(j.forbidden)
        if not answerable:
            self.unanswerable += 1
            self.abstained_ok += not j.answered
            return
        self.answerable += 1
        self.answered += j.answered
        self.grounded += j.grounded
        self.consistent += j.answered and j.entity_consistent
        if j.nugget_recall is not None:
            self.nuggets.append(j.nugget_recall)
        if j.parts_covered:
            self.part_questions += 1
            self.part_questions_covered += j.all_parts_covered
            self.parts += len(j.parts_covered)
            self.parts_covered += sum(j.parts_covered)

    def metrics(self) -> dict[str, Any]:
        m: dict[str, Any] = {"n": self.n}
        if self.answerable:
            m.update({
                "answered_grounded": _safe_div(self.grounded, self.answerable),
                "answered": _safe_div(self.answered, self.answerable),
                "entity_consistent": _safe_div(self.consistent, self.answered),
                "nugget_recall": _safe_div(sum(self.nuggets), len(self.nuggets)),
            })
        if self.unanswerable:
            m["abstained"] = _safe_div(self.abstained_ok, self.unanswerable)
        if self.part_questions:
            m["part_coverage"] = _safe_div(self.part_questions_covered, self.part_questions)
            m["parts_covered"] = _safe_div(self.parts_covered, self.parts)
        m["correct"] = _safe_div(self.correct, self.n)
        if self.forbidden:
            m["must_not_contain_hits"] = self.forbidden
        return m


PLAN_KEYS = ("entities", "attribute", "attributes", "form")


def _plan(answer: Any) -> Any:
    """The engine's question plan (entities, attribute, form) for display next to a miss; never scored."""
    try:
        plan = answer.to_dict().get("plan")
    except (AttributeError, TypeError, ValueError):  # display only: no usable to_dict(), no plan shown
        return None
    return {k: plan[k] for k in PLAN_KEYS if k in plan} if isinstance(plan, dict) else plan


def _problems(answerable: bool, j: Judged, answer: Any) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if not answerable:
        if j.answered:
            p["should_abstain"] = (answer.text or "")[:300]
        return p
    if not j.answered:
        p["false_abstention"] = True
        return p
    if not j.relevant_cited:
        p["no_relevant_citation"] = sorted({c.record_id or c.doc_id for c in answer.citations})
    if not j.entity_consistent:
        p["other_entity_cited"] = j.stray_citations
    if j.missed_nuggets:
        p["missed_nuggets"] = j.missed_nuggets
    if j.uncovered_unnamed:
        p["uncovered_not_named"] = j.uncovered_unnamed
    if j.parts_covered and not j.all_parts_covered:
        p["parts_missing"] = [i for i, ok in enumerate(j.parts_covered) if not ok]
    if j.forbidden:
        p["quoted_forbidden_text"] = j.forbidden
    return p


# --- runs ---------------------------------------------------------------------------------------------------


@dataclass
class AnswersReportV2:
    set_name: str
    mode: str
    n_questions: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    by_category: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_style: dict[str, dict[str, Any]] = field(default_factory=dict)  # v3 sets
    regressions: dict[str, bool] = field(default_factory=dict)
    conversations: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    version: str = "v2"

    def to_dict(self) -> dict[str, Any]:
        return {"set": self.set_name, "version": self.version, "mode": self.mode, "n_questions": self.n_questions,
                "summary": self.summary, "by_category": self.by_category, "by_style": self.by_style,
                "regressions": self.regressions,
                "conversations": self.conversations, "failures": self.failures}


class _Run:
    def __init__(self, assistant: Any, index: Any, mode: str, names: EntityNames | None):
        self.assistant = assistant
        self.doc_text = index.doc_text
        self.names = names or EntityNames.load()
        self.check = _CitationCheck(mode, index.doc_text)
        self.category_checks: dict[str, _CitationCheck] = {}
        self.mode = mode

    def citations(self, category: str, answer: Any) -> list[str]:
        if answer.abstained:
            return []
        per = self.category_checks.setdefault(category, _CitationCheck(self.mode, self.doc_text))
        per.add(answer)
        return self.check.add(answer)

    def precision(self, category: str | None = None) -> dict[str, Any]:
        c = self.check if category is None else self.category_checks.get(category)
        if c is None:
            return {"citation_precision": None}
        out = {"citation_precision": _safe_div(c.supported, c.pairs)}
        if category is None:
            out["citation_integrity"] = _safe_div(c.intact, c.quotes)
            out["cited_pairs"] = c.pairs
        return out


def _questions(run: _Run, items: list[EvalItemV2], report: AnswersReportV2) -> None:
    overall, by_cat, by_style = Tally(), {}, {}
    groups = {"uncovered": Tally(), "off-topic": Tally(), "answerable": Tally(), "parts": Tally()}
    for item in items:
        ans = run.assistant.ask(item.question)
        j = judge(item, ans, run.names, run.doc_text)
        unsupported = run.citations(item.category, ans)
        for t in (overall, by_cat.setdefault(item.category, Tally())):
            t.add(item.answerable, j)
        if getattr(item, "style", None):
            by_style.setdefault(f"{item.style} ({'answerable' if item.answerable else 'must abstain'})",
                                Tally()).add(item.answerable, j)
        if item.answerable:
            groups["answerable"].add(True, j)
        if item.category in ON_TOPIC_UNCOVERED:
            groups["uncovered"].add(False, j)
        if item.category == "off-topic":
            groups["off-topic"].add(False, j)
        if getattr(item, "parts", None):
            groups["parts"].add(True, j)
        if getattr(item, "regression", None):
            report.regressions[f"{item.id} ({item.regression})"] = j.correct(item.answerable)
        problems = _problems(item.answerable, j, ans)
        if unsupported:
            problems["unsupported"] = unsupported
        if problems:
            report.failures.append({"id": item.id, "question": item.question, "category": item.category, **problems,
                                    "plan": _plan(ans)})
    a, parts = groups["answerable"].metrics(), groups["parts"].metrics()
    report.n_questions = len(items)
    report.summary = {
        "answerable_answered_grounded": a.get("answered_grounded"),
        "answerable_answered": a.get("answered"),
        "nugget_recall": a.get("nugget_recall"),
        "uncovered_abstained": groups["uncovered"].metrics().get("abstained"),
        "off_topic_abstained": groups["off-topic"].metrics().get("abstained"),
        "part_coverage": parts.get("part_coverage"),
        "parts_covered": parts.get("parts_covered"),
        **run.precision(),
        "must_not_contain_hits": overall.forbidden,
    }
    report.by_category = {c: {**by_cat[c].metrics(), **run.precision(c)} for c in sorted(by_cat)}
    report.by_style = {s: by_style[s].metrics() for s in sorted(by_style)}


def _conversations(run: _Run, convs: list[ConversationV2], report: AnswersReportV2, set_name: str) -> None:
    first, follow_ok, follow_abstain, every = Tally(), Tally(), Tally(), Tally()
    by_cat: dict[str, dict[str, Tally]] = {}
    by_style: dict[str, dict[str, Tally]] = {}
    all_ok = 0
    for conv in convs:
        chat = run.assistant.chat()
        cat = by_cat.setdefault(conv.category, {"first": Tally(), "follow_ok": Tally(), "follow_abstain": Tally()})
        sty = by_style.setdefault(getattr(conv, "style", None) or "-",
                                  {"first": Tally(), "follow_ok": Tally(), "follow_abstain": Tally()})
        conv_ok = True
        for i, turn in enumerate(conv.turns):
            ans = chat.ask(turn.question)
            j = judge(turn, ans, run.names, run.doc_text)
            unsupported = run.citations(f"conversation:{conv.category}", ans)
            every.add(turn.answerable, j)
            if i == 0:
                tallies = (first, cat["first"], sty["first"])
            elif turn.answerable:
                tallies = (follow_ok, cat["follow_ok"], sty["follow_ok"])
            else:
                tallies = (follow_abstain, cat["follow_abstain"], sty["follow_abstain"])
            for t in tallies:
                t.add(turn.answerable, j)
            conv_ok &= j.correct(turn.answerable)
            problems = _problems(turn.answerable, j, ans)
            if unsupported:
                problems["unsupported"] = unsupported
            if problems:
                report.failures.append({"id": f"{conv.id}#{i + 1}", "question": turn.question,
                                        "category": conv.category, "rewritten_query": ans.rewritten_query,
                                        **problems, "plan": _plan(ans)})
        all_ok += conv_ok
        if getattr(conv, "regression", None):
            report.regressions[f"{conv.id} ({conv.regression})"] = conv_ok

    def block(f: Tally, ok: Tally, ab: Tally) -> dict[str, Any]:
        fm, om, am = f.metrics(), ok.metrics(), ab.metrics()
        return {"first_turn_answered_grounded": fm.get("answered_grounded"),
                "follow_ups_answered_grounded": om.get("answered_grounded"),
                "follow_ups_answered": om.get("answered"),
                "follow_up_nugget_recall": om.get("nugget_recall"),
                "follow_ups_must_abstain_abstained": am.get("abstained"),
                "n_follow_ups": ok.n, "n_must_abstain": ab.n}

    report.conversations = {
        "set": set_name, "n_conversations": len(convs),
        "summary": {**block(first, follow_ok, follow_abstain), "conversations_all_turns_correct": _safe_div(all_ok, len(convs)),
                    **run.precision()},
        "by_category": {c: {**block(t["first"], t["follow_ok"], t["follow_abstain"]),
                            **run.precision(f"conversation:{c}")} for c, t in sorted(by_cat.items())},
    }
    if set(by_style) != {"-"}:
        report.conversations["by_style"] = {s: block(t["first"], t["follow_ok"], t["follow_abstain"])
                                            for s, t in sorted(by_style.items())}


def evaluate_answers_v2(settings: Any, set_name: str | None = "review-v2-test", conversations: str | None = None,
                        mode: str = "extractive", assistant: Any = None, names: EntityNames | None = None) -> AnswersReportV2:
    """Run a v2 question set and/or a v2 conversation set; either may be None (not both)."""
    if mode not in ("extractive", "llm"):
        raise MesochatError(f"unknown answer mode {mode!r}; use extractive or llm")
    if not set_name and not conversations:
        raise MesochatError("nothing to evaluate; pass --set review-v2-dev or a conversation set")
    items = load_set(set_name) if set_name else []
    convs = load_conversations(conversations) if conversations else []
    assistant = assistant or _load_assistant(settings, mode)
    index, _ = _index_and_retriever(assistant, settings)
    run = _Run(assistant, index, mode, names)
    report = AnswersReportV2(set_path(set_name).stem if set_name else set_path(conversations).stem, mode)
    report.version = "v3" if "-v3" in report.set_name else "v2"
    if items:
        _questions(run, items, report)
    if convs:
        _conversations(run, convs, report, set_path(conversations).stem)
    return report
