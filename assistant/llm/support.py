"""How well a passage supports a sentence: content-word overlap, number agreement and MiniLM similarity.

Used to verify generated sentences against the passages they cite, and by the evals for citation
precision. Deliberately strict on numbers: a sentence whose figures (18.1, 95%, 605) do not all appear
in the passage gets score 0, because a wrong figure with a citation is the worst failure in this domain.

score = 0.5 * lexical + 0.5 * semantic, where
  lexical  = share of the sentence's content-word stems found in the passage (+1 in the denominator),
  semantic = best cosine between the sentence and the passage (whole or any of its sentences), MiniLM.
Without the embedding model, score = lexical.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answer.markers import strip_markers
from kernel.config import LLMConfig
from kernel.errors import MesochatError
from kernel.text import REPORTING_WORDS, content_terms

Embed = Callable[[list[str]], np.ndarray]

_NEGATION_RE = re.compile(
    r"\b(?:not|no|never|neither|nor|without|cannot|fail(?:s|ed)? to|lack(?:s|ed)?|absence of)\b|n't\b",
    re.IGNORECASE,
)
# A free-standing number: not part of a name like PD-1, CTLA-4, IL6 or BAP1.
_NUMBER_RE = re.compile(r"(?<![\w\-./])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?![\w\-])")


@dataclass(frozen=True)
class SupportDetail:
    score: float
    lexical: float
    semantic: float | None
    missing_numbers: tuple[str, ...] = field(default_factory=tuple)
    negation_mismatch: bool = False


def content_stems(text: str) -> set[str]:
    return {t for t in content_terms(text, REPORTING_WORDS) if t[0].isalpha()}


def numbers(text: str) -> set[str]:
    """Normalised free-standing numbers: '1,000' -> '1000', '18.10' -> '18.1', '7.0' -> '7'."""
    out = set()
    for raw in _NUMBER_RE.findall(text):
        value = raw.replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        out.add(value.lstrip("0") or "0")
    return out


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content stems found in the passage, with one phantom miss: a two-word
    claim ("mesothelioma is cured") must not pass on its topic word alone."""
    stems = content_stems(sentence)
    return len(stems & content_stems(passage)) / (len(stems) + 1)


class _MiniLM:
    """The indexing embedder (all-MiniLM-L6-v2, one shared instance per process) with a small text cache."""

    def __init__(self) -> None:
        self._embed = None
        self._failed = False
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray | None:
        with self._lock:
            if self._embed is None and not self._failed:
                try:
                    from indexing.embedder import embed_texts

                    embed_texts(["warm-up"])  # loads the model now, so a missing model is detected here
                    self._embed = embed_texts
                except (ImportError, OSError, RuntimeError, ValueError, MesochatError):
                    self._failed = True  # no model on this install: lexical-only support
            if self._embed is None:
                return None
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if missing:
                if len(self._cache) > 4096:
                    self._cache.clear()
                self._cache.update(zip(missing, self._embed(missing), strict=True))
            return np.stack([self._cache[t] for t in texts])


default_embedder = _MiniLM()


def negation_mismatch(sentence: str, passages: Sequence[str]) -> bool:
    """True when the sentence and its closest passage sentence disagree on negation ("did not improve")."""
    candidates = [s for p in passages for s in (_passage_sentences(p) or [p])]
    if not candidates:
        return False
    stems = content_stems(sentence)
    closest = max(candidates, key=lambda c: len(stems & content_stems(c)))
    return bool(_NEGATION_RE.search(sentence)) != bool(_NEGATION_RE.search(closest))


def _passage_sentences(passage: str) -> list[str]:
    from assistant.answer.markers import _sentence_spans

    return [passage[a:b].strip() for a, b in _sentence_spans(passage) if passage[a:b].strip()]


def semantic_support(sentence: str, passage: str, embed: Embed | None = None) -> float | None:
    """Best cosine between the sentence and the passage or one of its sentences; None without a model."""
    embed = embed or default_embedder
    candidates = [passage] + [s for s in _passage_sentences(passage) if s != passage][:40]
    vectors = embed([sentence] + candidates)
    if vectors is None:
        return None
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return float(max(0.0, (vectors[1:] @ vectors[0]).max()))


def support_detail(
    sentence: str, passage: str | Sequence[str], embed: Embed | None = None, semantic: bool = True
) -> SupportDetail:
    """Support of ``sentence`` by ``passage`` (or by several passages read together)."""
    passages = [passage] if isinstance(passage, str) else list(passage)
    sentence = strip_markers(sentence)
    joined = "\n".join(passages)
    missing = tuple(sorted(numbers(sentence) - numbers(joined)))
    lexical = lexical_support(sentence, joined)
    sem = None
    if semantic and passages:
        scores = [semantic_support(sentence, p, embed) for p in passages]
        sem = None if any(s is None for s in scores) else max(scores)
    score = lexical if sem is None else 0.5 * lexical + 0.5 * sem
    flipped = negation_mismatch(sentence, passages)
    if flipped:  # same words, opposite claim: lexical and embedding similarity cannot see it
        score *= 0.5
    if missing:
        score = 0.0
    return SupportDetail(
        score=round(score, 4),
        lexical=round(lexical, 4),
        semantic=None if sem is None else round(sem, 4),
        missing_numbers=missing,
        negation_mismatch=flipped,
    )


def support_score(sentence: str, passage: str | Sequence[str], embed: Embed | None = None) -> float:
    """0..1; >= config.llm.support_threshold (0.5) means the passage states what the sentence says (as far as we
    can tell)."""
    return support_detail(sentence, passage, embed).score


def is_supported(
    sentence: str,
    passage: str | Sequence[str],
    threshold: float | None = None,
    embed: Embed | None = None,
) -> bool:
    """``threshold``: config.llm.support_threshold (its default when not given)."""
    threshold = LLMConfig().support_threshold if threshold is None else threshold
    return support_score(sentence, passage, embed) >= threshold
