"""Extractive answers: pick the evidence sentences that answer the question, quote them, cite them.

No text is generated. Every answer sentence is a verbatim sentence of an indexed document (or, for a
reference, its whole bibliographic entry) with a ``[n]`` marker; text inside documents that reads like
an instruction is only ever quoted. When the best evidence scores below the calibrated threshold the
assistant abstains and names the closest topics the index does cover.

Evidence score of a sentence (all parts in 0..1; the weights are config.answer's):
    cos_weight * cosine(MiniLM(question), MiniLM(sentence))
  + lex_weight * idf-weighted share of the question's concepts (content words outside the names it
                 mentions; "hr" also matches "hazard ratio") found in the sentence
  + named_bonus when the sentence belongs to a record the question names or looks up (named_term_bonus
    for a glossary term: "Why does MPM resist..." is not a question about the word MPM), mention_bonus
    when another document's sentence mentions a named record
  + biblio_bonus for a reference entry when the question asks who/where something was published
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.markers import MARKER_RE, render_sentence
from assistant.answer.model import ABSTAIN_TEXT, Citation
from assistant.understand.query import QueryPlan, compact, content_terms
from indexing.units import quotable_units, text_key
from kernel.chunk import Chunk
from kernel.config import AnswerConfig
from kernel.sentences import split_sentences

# The threshold is written by evals/calibrate_abstention.py to assistant/calibration.json
# (config.answer.abstain_threshold); the full record of the run: evals/results/abstention-calibration.json.
ABSTAIN_THRESHOLD_NOTE = "calibrated by evals/calibrate_abstention.py (assistant/calibration.json)"
# The scoring knobs live in kernel.config.AnswerConfig (config section "answer"); these are its defaults.
# lex_idf_power 2: squared idf, so an unmatched rare word ("fibulin", "sourdough") weighs heavily;
# vocabulary_penalty: a glossary definition when the question is about a named trial/agent/biomarker;
# min_mention_key 5: shorter aliases ("pd1", "mpm") are too ambiguous inside other words; front_penalty: the
# review's title and keyword list match many words but state nothing; intent_bonus: "which trial tested
# ADI-PEG 20?" is answered by trial records; relative_cutoff: keep sentences within this of the best one;
# redundant_cosine / redundant_overlap: two sentences this alike say the same thing.
DEFAULTS = AnswerConfig()
FRONT_SECTIONS = ("Front matter", "Keywords")
TYPE_INTENT = {
    "trial": re.compile(r"\b(?:trials?|stud(?:y|ies)|tested)\b", re.IGNORECASE),
    "agent": re.compile(r"\b(?:drugs?|agents?|antibod(?:y|ies))\b", re.IGNORECASE),
}

_BIBLIO_RE = re.compile(
    r"\b(journal|published|publish|publication|authors?|wrote|written|cite[sd]?|citation|doi|pmcid|pmid|"
    r"papers?|articles?|reference list)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Candidate:
    """A chunk considered for evidence, with why it is here."""

    chunk: Chunk
    retrieval_score: float
    rank: int
    named: bool = False  # belongs to a record the question names or looks up


@dataclass(frozen=True)
class Evidence:
    chunk: Chunk
    start: int  # absolute offsets in the document
    end: int
    text: str
    score: float
    cosine: float
    lexical: float
    named: bool
    mentions: bool = False  # another document's sentence that names a record the question names


class SentenceVectors:
    """Thread-safe LRU cache of sentence embeddings keyed by (doc_id, start, end)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], capacity: int = 50_000,
                 precomputed: dict[str, np.ndarray] | None = None):
        self._embed = embed
        self._precomputed = precomputed or {}  # text key -> vector, computed at index time
        self._cache: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, keys: Sequence[tuple[str, int, int]], texts: Sequence[str]) -> np.ndarray:
        out: list[np.ndarray | None] = [None] * len(keys)
        with self._lock:
            for i, key in enumerate(keys):
                vec = self._precomputed.get(text_key(texts[i])) if self._precomputed else None
                if vec is not None:
                    out[i] = vec
                    continue
                vec = self._cache.get(key)
                if vec is not None:
                    self._cache.move_to_end(key)
                    out[i] = vec
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            vecs = np.asarray(self._embed([texts[i] for i in missing]), dtype=np.float32)
            with self._lock:
                for i, vec in zip(missing, vecs):
                    out[i] = vec
                    self._cache[keys[i]] = vec
                while len(self._cache) > self._capacity:
                    self._cache.popitem(last=False)
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack(out)


class TermStats:
    """Inverse document frequency of stemmed words over all indexed chunks (rare words weigh more)."""

    def __init__(self, texts: Iterable[str]):
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            df.update(set(content_terms(text)))
        self.n = max(n, 1)
        self._df = df

    def df(self, term: str) -> int:
        """In how many indexed chunks the stemmed word occurs."""
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        return math.log(1 + (self.n + 1) / (self._df.get(term, 0) + 0.5))


NAMES_REVIEW = re.compile(r"\b(?:the|this|xia(?:\s+et\s+al\.?)?(?:'s)?)\s+review\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow many\s+([a-z]+)", re.IGNORECASE)


def lacks_asked_count(question: str, text: str) -> bool:
    """True when the question asks "how many <things>" and the sentence states no count of them.

    A sentence that only names the trial ("a randomised phase III trial") does not answer
    "how many patients were randomised?"; quoting it would look like an answer that isn't one.
    """
    m = _HOW_MANY.search(question)
    if not m:
        return False
    stem = m.group(1).lower()[:6]  # patients -> "patien", participants -> "partic"
    count = rf"\d[\d,]*\s+(?:[\w-]+\s+){{0,3}}{stem}"
    return not (re.search(count, text, re.IGNORECASE) or re.search(r"\bn\s*=\s*\d", text, re.IGNORECASE))


def is_bibliographic(question: str) -> bool:
    return bool(_BIBLIO_RE.search(question))


def _units(chunk: Chunk, doc_text: str) -> list[tuple[int, int]]:
    return quotable_units(chunk, doc_text)


def gather_units(
    candidates: Sequence[Candidate], doc_text: Callable[[str], str], cfg: AnswerConfig = DEFAULTS
) -> list[tuple[Candidate, int, int, str]]:
    """All distinct quotable spans of the candidate chunks (a span in two overlapping chunks counts once)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for cand in candidates:
        text = doc_text(cand.chunk.doc_id)
        for start, end in _units(cand.chunk, text):
            key = (cand.chunk.doc_id, start, end)
            if key in seen or end - start < cfg.min_unit_chars:
                continue
            seen.add(key)
            out.append((cand, start, end, text[start:end]))
    return out


def score_units(
    plan: QueryPlan,
    units: list[tuple[Candidate, int, int, str]],
    question_vec: np.ndarray,
    vectors: SentenceVectors,
    stats: TermStats,
    cfg: AnswerConfig = DEFAULTS,
) -> tuple[list[Evidence], np.ndarray]:
    if not units:
        return [], np.zeros((0, len(question_vec)), dtype=np.float32)
    vecs = vectors.get([(u[0].chunk.doc_id, u[1], u[2]) for u in units], [u[3] for u in units])
    cosines = vecs @ question_vec
    weights = [stats.idf(c.stem) ** cfg.lex_idf_power for c in plan.concepts]
    denom = sum(weights)
    biblio = is_bibliographic(plan.question)
    names_review = bool(NAMES_REVIEW.search(plan.question))
    about_entity = bool(plan.entity_ids or plan.ref_numbers)
    keys = [k for aliases in plan.aliases.values() for k in aliases if len(k) >= cfg.min_mention_key]
    out = []
    for (cand, start, end, text), cos in zip(units, cosines):
        terms = set(content_terms(text))
        lexical = sum(w for c, w in zip(plan.concepts, weights) if c.matched_by(terms)) / denom if denom else 0.0
        score = cfg.cos_weight * float(cos) + cfg.lex_weight * lexical
        mention = bool(keys) and not cand.named and _mentions(text, keys)
        if cand.chunk.record_type == "term" and about_entity:
            score -= cfg.vocabulary_penalty
        elif cand.named:
            score += cfg.named_term_bonus if cand.chunk.record_type == "term" else cfg.named_bonus
        elif mention:
            score += cfg.mention_bonus
        if names_review and cand.chunk.source_type == "review":  # "the review" names the review document
            score += cfg.named_bonus
        if not cand.named and any(cand.chunk.record_type == t and rx.search(plan.question)
                                  for t, rx in TYPE_INTENT.items()):
            score += cfg.intent_bonus
        if biblio and cand.chunk.record_type == "ref":
            score += cfg.biblio_bonus
        if cand.chunk.source_type == "review" and cand.chunk.section in FRONT_SECTIONS and not biblio:
            score -= cfg.front_penalty
        out.append(Evidence(cand.chunk, start, end, text, score, float(cos), lexical, cand.named, mention))
    return out, vecs


def _mentions(text: str, keys: list[str]) -> bool:
    squeezed = compact(text)
    return any(k in squeezed for k in keys)


def select(evidence: list[Evidence], vecs: np.ndarray, cfg: AnswerConfig = DEFAULTS) -> list[Evidence]:
    """Greedy pick by score: close to the best, not redundant with what is already picked."""
    order = sorted(range(len(evidence)), key=lambda i: (-evidence[i].score, evidence[i].chunk.doc_id, evidence[i].start))
    if not order:
        return []
    best = evidence[order[0]].score
    picked: list[int] = []
    per_doc: Counter[str] = Counter()
    for i in order:
        ev = evidence[i]
        if len(picked) >= cfg.max_sentences or ev.score < best - cfg.relative_cutoff:
            break
        if per_doc[ev.chunk.doc_id] >= cfg.max_per_doc:
            continue
        words = set(content_terms(ev.text))
        redundant = any(
            float(vecs[i] @ vecs[j]) >= cfg.redundant_cosine
            or (words and len(words & set(content_terms(evidence[j].text))) / len(words) >= cfg.redundant_overlap)
            for j in picked
        )
        if not redundant:
            picked.append(i)
            per_doc[ev.chunk.doc_id] += 1
    return [evidence[i] for i in picked]


def order_for_reading(picked: list[Evidence]) -> list[Evidence]:
    """Sources in order of their best sentence; a source's sentences in document order."""
    doc_order: list[str] = []
    for ev in picked:
        if ev.chunk.doc_id not in doc_order:
            doc_order.append(ev.chunk.doc_id)
    return sorted(picked, key=lambda e: (doc_order.index(e.chunk.doc_id), e.start))


def locator(chunk: Chunk, start: int, end: int, field: str | None = None, publication: str | None = None) -> str:
    """Where a quote sits, for people: document, section, field and publication first, offsets last."""
    chars = f"chars {start}-{end}"
    if chunk.source_type == "review":
        section = f" › {chunk.section}" if chunk.section else ""
        return f"The review{section} ({chars})"
    if chunk.source_type == "record" and chunk.record_id:
        kind = {"ref": "reference", "term": "glossary"}.get(chunk.record_type or "", chunk.record_type or "")
        where = f"{chunk.title} ({kind} record)" if chunk.record_type != "ref" else chunk.title
        tail = field or (chunk.section.split(" > ", 1)[1] if " > " in chunk.section else "")
        head = f"{where} › {tail}" if tail else where
        if publication:
            head += f" · from {publication}"
        return f"{head} ({chars})"
    parts = [chunk.title or chunk.doc_id]
    if chunk.section:
        parts.append(chunk.section)
    where = " › ".join(parts)
    page = f", p. {chunk.page}" if chunk.page else ""
    return f"{where}{page} ({chars})"


def readable_locator(chunk: Chunk, start: int, end: int, quote=None) -> str:
    return locator(chunk, start, end, getattr(quote, "label", None), getattr(quote, "publication", None))


def citation_for(n: int, chunk: Chunk, start: int, end: int, text: str, score: float) -> Citation:
    return Citation(
        n=n,
        source_id=chunk.id,
        title=chunk.title,
        locator=locator(chunk, start, end),
        text=text,
        score=round(float(score), 4),
        doc_id=chunk.doc_id,
        char_start=start,
        char_end=end,
        section=chunk.section,
        page=chunk.page,
        record_id=chunk.record_id,
        source_type=chunk.source_type,
    )


def display_quote(text: str) -> str:
    """A quote as shown in the answer: one line, and the document's own "[12]" reference markers
    rewritten as "(ref. 12)" so they can never be mistaken for our citation markers."""
    one_line = " ".join(text.split())
    return MARKER_RE.sub(lambda m: f"(ref. {m.group(1)})", one_line)


def compose(picked: list[Evidence]) -> tuple[list[str], list[Citation]]:
    """One answer piece per quote (each of its sentences ending with the marker) and the citations;
    n numbers sources by first use."""
    numbers: dict[str, int] = {}
    sentences: list[str] = []
    citations: list[Citation] = []
    for ev in order_for_reading(picked):
        n = numbers.setdefault(ev.chunk.doc_id, len(numbers) + 1)
        quote = display_quote(ev.text)
        # A quoted unit may hold several sentences (a trial result, a reference entry): each gets the marker.
        parts = [quote[a:b] for a, b in split_sentences(quote)] or [quote]
        sentences.append(" ".join(close_sentence(render_sentence(p, [n])) for p in parts))
        citations.append(citation_for(n, ev.chunk, ev.start, ev.end, ev.text, ev.score))
    return sentences, citations


def close_sentence(rendered: str) -> str:
    """End with a full stop when the quote has none ("... 548-60 [1].") so sentences stay apart."""
    return rendered if re.search(r"[.!?][\"'\u201d)]*$", rendered) else rendered + "."


def closest_topics(candidates: Sequence[Candidate], limit: int = 3) -> list[str]:
    names: list[str] = []
    for cand in candidates:
        c = cand.chunk
        if c.source_type == "review":
            name = f"the review's {c.section.split(' > ')[-1].lower()}" if c.section else "the review"
        else:
            name = c.title or c.doc_id
        if name not in names:
            names.append(name)
        if len(names) >= limit:
            break
    return names


def abstention_text(candidates: Sequence[Candidate]) -> str:
    topics = closest_topics(candidates)
    if not topics:
        return ABSTAIN_TEXT
    return f"{ABSTAIN_TEXT} Closest topics they do cover: {'; '.join(topics)}."
