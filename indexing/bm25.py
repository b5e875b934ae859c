"""Lexical search: bm25s over the same chunk ids as Chroma, saved inside the generation directory.

All text analysis is ``kernel.text.analyze`` so the tokenisation used at index and at query time can
never drift apart, and tuning it (stemming, stopwords, token pattern) is a one-place change.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from kernel.chunk import Chunk
from kernel.config import RetrievalConfig
from kernel.errors import MesochatError
from kernel.filters import FILTER_KEYS
from kernel.filters import mask as filter_mask
from kernel.text import ANALYZER_VERSION, analyze

# BM25 saturation and length normalisation (config.retrieval.bm25_*), fitted on SciFact *train* (809 queries,
# doc level, grid k1 0.6-1.5 x b 0.3-0.75): k1=0.9, b=0.4 lifts hybrid nDCG@10 0.7237 -> 0.7302 over bm25s'
# defaults (k1=1.5, b=0.75); BM25 alone 0.6906 on train. Short chunks make a weaker length penalty
# (small b) pay off. Recorded in the manifest; a changed value re-indexes BM25 only, never embeddings.
# title_weight / field_weight (field-aware BM25, issue 20) shape the indexed text, not bm25s: see bm25_text.
BM25_PARAMS: dict[str, Any] = RetrievalConfig().bm25_params
BM25S_KEYS = ("method", "k1", "b")  # what bm25s itself takes; the rest of the parameters shape the text
TEXT_DEFAULTS = {"title_weight": 1, "field_weight": 0}  # what indexes saved before these existed hold
TEXT_PARAMS_FILE = "mesochat_text.json"


def field_label(chunk: Chunk) -> str:
    """The field a chunk holds, as a reader names it: the last part of its section path ("overall survival
    (3-year update)", "Arms", "Abstract"); "" for a document's main section named by its type alone."""
    parts = [p.strip() for p in (chunk.section or "").split(" > ") if p.strip()]
    if len(parts) > 1:
        return parts[-1]
    return parts[0] if parts and chunk.source_type != "record" else ""


def bm25_text(chunk: Chunk, title_weight: int = 1, field_weight: int = 0) -> str:
    """What BM25 indexes for a chunk: the document title (as BEIR does), section path and text, with the
    title counted ``title_weight`` times (the text's own leading name included) and the field label
    repeated ``field_weight`` more times: a title-boosted field in one bm25s text."""
    title = (chunk.title or "").strip()
    starts = bool(title) and chunk.text.lstrip().startswith(title)
    titles = [title] * max(int(title_weight) - (1 if starts else 0), 0) if title else []
    label = field_label(chunk)
    labels = [label] * max(int(field_weight), 0) if label else []
    return "\n".join(part for part in (*titles, *labels, chunk.section, chunk.text) if part)


def _split(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(bm25s parameters, text parameters with defaults filled in)."""
    return ({k: v for k, v in params.items() if k in BM25S_KEYS},
            {**TEXT_DEFAULTS, **{k: v for k, v in params.items() if k in TEXT_DEFAULTS}})


class BM25Index:
    """bm25s scores plus, per filter key, the chunk values aligned with bm25s document numbers."""

    def __init__(self, retriever: bm25s.BM25, ids: list[str], chunks: dict[str, Chunk],
                 text_params: dict[str, Any] | None = None):
        self.retriever = retriever
        self.terms: dict[str, Counter] | None = None  # per id: its analysed terms (build(keep_terms=True))
        self.text_params = {**TEXT_DEFAULTS, **(text_params or {})}
        self.ids = ids
        self.reindexed = False  # True when load() rebuilt it in memory for changed parameters
        self._fields = {
            key: np.array(
                ["" if getattr(chunks[i], key) is None else str(getattr(chunks[i], key)) for i in ids]
            )
            for key in FILTER_KEYS
        }

    @classmethod
    def build(cls, chunks: Sequence[Chunk], params: dict[str, Any] = BM25_PARAMS, keep_terms: bool = False
              ) -> BM25Index:
        """``keep_terms``: remember each text's analysed terms, which ``feedback_terms`` needs (RM3)."""
        engine, text = _split(params)
        retriever = bm25s.BM25(**engine)
        tokens = analyze([bm25_text(c, **text) for c in chunks]) if chunks else []
        if chunks:
            retriever.index(tokens, show_progress=False)
        out = cls(retriever, [c.id for c in chunks], {c.id: c for c in chunks}, text)
        if keep_terms:
            out.terms = {c.id: Counter(t) for c, t in zip(chunks, tokens)}
        return out

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self.retriever.save(str(directory), show_progress=False)
            (directory / TEXT_PARAMS_FILE).write_text(json.dumps(self.text_params, sort_keys=True), encoding="utf-8")

    @classmethod
    def load(
        cls, directory: Path, ids: list[str], chunks: dict[str, Chunk], params: dict[str, Any] = BM25_PARAMS,
        analyzer: int | None = ANALYZER_VERSION,
    ) -> BM25Index:
        """The saved index; one built in memory from ``chunks`` when it was saved with other parameters or
        another text analysis (seconds even for SciFact's 5k documents, and no vectors are involved)."""
        engine, text = _split(params)
        if not ids:
            return cls(bm25s.BM25(**engine), [], chunks, text)
        try:
            retriever = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
            n = int(retriever.scores["num_docs"])
            text_file = directory / TEXT_PARAMS_FILE
            saved_text = {**TEXT_DEFAULTS, **(json.loads(text_file.read_text(encoding="utf-8"))
                                              if text_file.exists() else {})}
        except Exception as exc:
            raise MesochatError(
                f"The BM25 index in {directory} is unreadable ({type(exc).__name__}); run `mesochat index --rebuild`"
            ) from exc
        saved = {key: getattr(retriever, key) for key in engine}
        if saved != engine or saved_text != text or analyzer != ANALYZER_VERSION:  # re-index the same chunks
            fresh = cls.build([chunks[i] for i in ids], params)
            fresh.reindexed = True
            return fresh
        if n != len(ids):
            raise MesochatError(
                f"The BM25 index in {directory} has {n} chunks, the manifest {len(ids)}; "
                "run `mesochat index --rebuild`"
            )
        return cls(retriever, ids, chunks, text)

    def mask(self, where: dict[str, Any] | None) -> np.ndarray | None:
        """1.0 for chunks matching every condition, else 0.0 (None: no filter)."""
        keep = filter_mask(self._fields, where)
        return None if keep is None else keep.astype(np.float32)

    def search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25 score; chunks sharing no term with the query are never returned."""
        mask = self.mask(where)  # first, so a bad filter is reported whatever the query
        if not self.ids or k <= 0:
            return []
        ids = self.retriever.get_tokens_ids(analyze([query])[0])
        if not ids:
            return []
        scores = np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32)
        return self._top(scores, mask, k)

    def search_weighted(self, weights: Mapping[str, float], k: int, where: dict[str, Any] | None = None
                        ) -> list[tuple[str, float]]:
        """Top-k ids for a weighted query of analysed terms (``analyze`` output): the sum of each term's BM25
        score times its weight, as Lucene scores a boosted query (RM3 expansion: ``rm3_query``)."""
        mask = self.mask(where)
        if not self.ids or k <= 0:
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for term, weight in weights.items():
            ids = self.retriever.get_tokens_ids([term])
            if ids and weight > 0:
                scores += np.float32(weight) * np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32)
        return self._top(scores, mask, k)

    def feedback_terms(self, hits: Sequence[tuple[str, float]], n_terms: int) -> dict[str, float]:
        """The relevance model of RM3 (Lavrenko and Croft 2001; Anserini's RM3): each term's share of the
        feedback texts, weighted by a softmax of their scores; the ``n_terms`` largest, summing to 1."""
        if self.terms is None:
            raise MesochatError("This BM25 index keeps no terms; build it with keep_terms=True for feedback")
        hits = [(i, s) for i, s in hits if i in self.terms]
        if not hits or n_terms <= 0:
            return {}
        scores = np.array([s for _, s in hits], dtype=np.float64)
        w = np.exp(scores - scores.max())
        w /= w.sum()
        model: Counter = Counter()
        for (i, _), wi in zip(hits, w):
            terms = self.terms[i]
            total = sum(terms.values()) or 1
            for term, count in terms.items():
                model[term] += wi * count / total
        top = model.most_common(n_terms)
        norm = sum(v for _, v in top) or 1.0
        return {t: v / norm for t, v in top}

    def _top(self, scores: np.ndarray, mask: np.ndarray | None, k: int) -> list[tuple[str, float]]:
        if mask is not None:
            scores = scores * mask
        positive = np.flatnonzero(scores > 0)
        if len(positive) > k:
            positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        order = positive[np.lexsort((positive, -scores[positive]))]  # score desc, ties by position
        return [(self.ids[i], float(scores[i])) for i in order]


def rm3_query(query: str, expansion: Mapping[str, float], original_weight: float) -> dict[str, float]:
    """RM3's interpolation: the query's own terms share ``original_weight`` (each 1/n of it), the feedback terms
    (``BM25Index.feedback_terms``) share the rest."""
    terms = analyze([query])[0]
    out: dict[str, float] = {}
    for t in terms:
        out[t] = out.get(t, 0.0) + original_weight / len(terms)
    for t, v in expansion.items():
        out[t] = out.get(t, 0.0) + (1.0 - original_weight) * v
    return out
