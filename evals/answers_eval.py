"""Answer evaluation: are citations faithful, are the key facts there, does the assistant abstain when it
should, and do follow-up questions find the right entity.

- citation precision: share of (sentence, cited source) pairs where the quoted span supports the sentence.
  Extractive answers quote evidence, so support means containment (the sentence, markers removed, is
  inside the quote); generated (llm) answers are checked with ``assistant.llm.support.support_score``.
- citation integrity: share of quotes equal to ``index.doc_text(doc_id)[char_start:char_end]``.
- nugget recall: share of a question's key facts ("18.1", "0.74") present in the answer (0 if abstained).
- abstention precision / recall: the positive class is "should abstain" (unanswerable questions).
- follow-up success (conversation sets): turn 2 is rewritten to name the entity of turn 1, and retrieval
  with the rewritten query puts a relevant chunk in the top 5.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from evals.sets import Conversation, EvalItem, Resolver, load_conversations, load_set, set_path, span_relevant
from kernel.errors import MesochatError

FOLLOW_UP_K = 5


def normalise(text: str) -> str:
    """Lowercase, NFKC, unified dashes and whitespace: so "0·74" or "18.1 months" match their nuggets."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text).replace("\u00b7", ".")
    return " ".join(text.split())


def contains(passage: str, sentence: str) -> bool:
    s = normalise(sentence).rstrip(" .;:")
    return bool(s) and s in normalise(passage)


def nugget_found(answer: str, nugget: str) -> bool:
    """A figure must match as a whole number ("18.1" is not found inside "118.1" or "18.15")."""
    n = re.escape(normalise(nugget))
    return re.search(rf"(?<![\w.]){n}(?![\w]|\.\d)", normalise(answer)) is not None


# A comparison/list answer heads each entity's part with a bold label ("**CheckMate 743**: ..."); the label
# names the part and is not a claim, so only the text after it has to be inside the cited quote.
_PART_LABEL = re.compile(r"^\s*(?:[-*\u2022]\s+)?\*\*[^*\n]{1,160}\*\*\s*[:\u2013\u2014-]?\s*")


def strip_part_label(sentence: str) -> str:
    return _PART_LABEL.sub("", sentence, count=1)


# "The indexed record of X does not report Y; it reports ..." states an absence (an abstention for Y), not a
# claim quoted from a source: it is judged by the abstention metrics, never as a citation pair.
_ABSENCE = re.compile(r"^The indexed record of .{1,200}? does not report ")


def is_absence_statement(sentence: str) -> bool:
    return bool(_ABSENCE.match(sentence))


def default_conversations(set_name: str) -> str | None:
    """The conversation set matching a question set: review-dev -> conversations-dev, a file path -> none."""
    name = str(set_name)
    versioned = re.match(r"review-(v\d+(?:\.\d+)?)-(.+)$", name)  # review-v2.1-dev -> conversations-v2.1-dev
    if versioned:
        from evals.sets import SET_NAMES

        # the same version's conversations, else the newest earlier re-issue of the same major version (not
        # re-issued: review-v2.2-probe2-dev -> conversations-v2.1-probe2-dev, review-v2.1-dev -> conversations-v2-dev)
        def _version(v: str) -> tuple[int, ...]:
            return tuple(int(n) for n in v[1:].split("."))

        asked, rest = _version(versioned.group(1)), versioned.group(2)
        found = [(_version(m.group(1)), n) for n in SET_NAMES
                 if (m := re.match(rf"conversations-(v\d+(?:\.\d+)?)-{re.escape(rest)}$", n))]
        found = [(v, n) for v, n in found if v[0] == asked[0] and v <= asked]
        return max(found)[1] if found else None
    if name.endswith("-dev"):
        return "conversations-dev"
    if name.endswith("-test"):
        return "conversations-test"
    return None


def _safe_div(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


@dataclass
class AnswersReport:
    set_name: str
    mode: str
    n_questions: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    follow_up: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"set": self.set_name, "mode": self.mode, "n_questions": self.n_questions, "metrics": self.metrics,
                "follow_up": self.follow_up, "failures": self.failures}


class _CitationCheck:
    def __init__(self, mode: str, doc_text: Any):
        from kernel.config import LLMConfig

        self.mode = mode
        self.support_threshold = LLMConfig().support_threshold  # the bar the llm answerer flags sentences at
        self.doc_text = doc_text
        self.pairs = self.supported = self.quotes = self.intact = 0

    def add(self, answer: Any) -> list[str]:
        """Counts one answer's citations; returns the sentences not supported by what they cite."""
        from assistant.answer.markers import split_cited

        by_n: dict[int, list[Any]] = {}
        for c in answer.citations:
            by_n.setdefault(c.n, []).append(c)
            self.quotes += 1
            try:
                self.intact += self.doc_text(c.doc_id)[c.char_start:c.char_end] == c.text
            except (KeyError, MesochatError):
                pass
        bad = []
        for sentence, markers in split_cited(answer.text):
            sentence = strip_part_label(sentence)
            if is_absence_statement(sentence):
                continue
            for n in markers:
                quotes = [c.text for c in by_n.get(n, [])]
                self.pairs += 1
                if quotes and self._supports(sentence, quotes):
                    self.supported += 1
                else:
                    bad.append(f"[{n}] {sentence}")
        return bad

    def _supports(self, sentence: str, quotes: list[str]) -> bool:
        if self.mode == "extractive":
            return any(contains(q, sentence) for q in quotes)
        from assistant.llm.support import support_score

        return support_score(sentence, quotes) >= self.support_threshold


def _load_assistant(settings: Any, mode: str) -> Any:
    from assistant import Assistant

    # Settings (home, chroma_url) or the sectioned Config (paths.home, chroma.url): both name the same index.
    home = getattr(settings, "home", None) or settings.paths.home
    chroma_url = getattr(settings, "chroma_url", None) if hasattr(settings, "home") else settings.chroma.url
    return Assistant.load(home=home, chroma_url=chroma_url, mode=mode)


def _index_and_retriever(assistant: Any, settings: Any) -> tuple[Any, Any]:
    index = getattr(assistant, "index", None)
    retriever = getattr(assistant, "retriever", None)
    if index is None or retriever is None or not hasattr(retriever, "retrieve"):
        from evals.retrieval_eval import open_retriever

        index, retriever = open_retriever(settings)
    return index, retriever


def evaluate_answers(
    settings: Any,
    set_name: str = "review-test",
    conversations: str | None = "conversations-test",
    mode: str = "extractive",
    assistant: Any = None,
) -> AnswersReport:
    if mode not in ("extractive", "llm"):
        raise MesochatError(f"unknown answer mode {mode!r}; use extractive or llm")
    items: list[EvalItem] = load_set(set_name)
    convs: list[Conversation] = load_conversations(conversations) if conversations else []
    assistant = assistant or _load_assistant(settings, mode)
    index, retriever = _index_and_retriever(assistant, settings)
    check = _CitationCheck(mode, index.doc_text)
    report = AnswersReport(set_path(set_name).stem, mode, len(items))

    tp = fp = 0  # positive = abstained; tp on an unanswerable question, fp on an answerable one
    nugget_scores: list[float] = []
    relevant_cited = answered = 0
    for item in items:
        ans = assistant.ask(item.question)
        unsupported = check.add(ans) if not ans.abstained else []
        problems: dict[str, Any] = {}
        if not item.answerable:
            tp += ans.abstained
            if not ans.abstained:
                problems["should_abstain"] = ans.text[:300]
        else:
            if ans.abstained:
                fp += 1
                problems["false_abstention"] = True
            else:
                answered += 1
                hit = any(span_relevant(item.relevant, c.doc_id, c.record_id, c.char_start, c.char_end,
                                        index.doc_text) for c in ans.citations)
                relevant_cited += hit
                if not hit:
                    problems["no_relevant_citation"] = [c.doc_id for c in ans.citations]
            if item.nuggets:
                found = [n for n in item.nuggets if not ans.abstained and nugget_found(ans.text, n)]
                nugget_scores.append(len(found) / len(item.nuggets))
                missed = [n for n in item.nuggets if n not in found]
                if missed:
                    problems["missed_nuggets"] = missed
        if unsupported:
            problems["unsupported"] = unsupported
        if problems:
            report.failures.append({"id": item.id, "question": item.question, **problems})
    n_unanswerable = sum(not i.answerable for i in items)
    n_answerable = len(items) - n_unanswerable
    fn = n_unanswerable - tp  # unanswerable but answered
    report.metrics = {
        "citation_precision": _safe_div(check.supported, check.pairs),
        "citation_integrity": _safe_div(check.intact, check.quotes),
        "nugget_recall": _safe_div(sum(nugget_scores), len(nugget_scores)),
        "abstention_precision": _safe_div(tp, tp + fp),
        "abstention_recall": _safe_div(tp, n_unanswerable),
        "answer_rate": _safe_div(answered, n_answerable),
        "relevant_citation_rate": _safe_div(relevant_cited, answered),
        "cited_pairs": check.pairs,
        "unanswerable_answered": fn,
    }
    if convs:
        report.follow_up = _follow_up(assistant, retriever, index, convs, report.failures)
        report.follow_up["set"] = set_path(conversations).stem
    return report


def _follow_up(assistant: Any, retriever: Any, index: Any, convs: list[Conversation],
               failures: list[dict[str, Any]]) -> dict[str, Any]:
    resolver = Resolver.for_index(index)
    rewrite_ok = retrieval_ok = both_ok = 0
    for conv in convs:
        chat = assistant.chat()
        chat.ask(conv.turns[0])
        second = chat.ask(conv.turns[1])
        rewritten = second.rewritten_query or conv.turns[1]
        has_entity = any(normalise(e) in normalise(rewritten) for e in conv.entity)
        relevant = set().union(*(resolver.resolve(j) for j in conv.relevant))
        hits = retriever.retrieve(rewritten, k=FOLLOW_UP_K, mode="hybrid")
        found = any(h.chunk.id in relevant for h in hits)
        rewrite_ok += has_entity
        retrieval_ok += found
        both_ok += has_entity and found
        if not (has_entity and found):
            failures.append({"id": conv.id, "turns": conv.turns, "rewritten_query": rewritten,
                             "entity_in_rewrite": has_entity, f"relevant_in_top{FOLLOW_UP_K}": found})
    n = len(convs)
    return {"n_conversations": n, "rewrite_contains_entity": _safe_div(rewrite_ok, n),
            f"turn2_relevant_in_top{FOLLOW_UP_K}": _safe_div(retrieval_ok, n), "success": _safe_div(both_ok, n)}
