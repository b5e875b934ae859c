"""Lexical search: bm25s over the same chunk ids as Chroma, saved inside the generation directory.

All text analysis is ``kernel.text.analyze`` so the tokenisation used at index and at query time can
never drift apart, and tuning it (stemming, stopwords, token pattern) is a one-place change.
"""

from __future__ import annotations

from collections.abc import Sequence
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
BM25_PARAMS: dict[str, Any] = RetrievalConfig().bm25_params

def bm25_text(chunk: Chunk) -> str:
    """What BM25 indexes for a chunk: document title (as BEIR does), section path and text."""
    title = (
        chunk.title.strip() if chunk.title and not chunk.text.lstrip().startswith(chunk.title.strip()) else ""
    )
    return "\n".join(part for part in (title, chunk.section, chunk.text) if part)


class BM25Index:
    """bm25s scores plus, per filter key, the chunk values aligned with bm25s document numbers."""

    def __init__(self, retriever: bm25s.BM25, ids: list[str], chunks: dict[str, Chunk]):
        self.retriever = retriever
        self.ids = ids
        self.reindexed = False  # True when load() rebuilt it in memory for changed parameters
        self._fields = {
            key: np.array(
                ["" if getattr(chunks[i], key) is None else str(getattr(chunks[i], key)) for i in ids]
            )
            for key in FILTER_KEYS
        }

    @classmethod
    def build(cls, chunks: Sequence[Chunk], params: dict[str, Any] = BM25_PARAMS) -> BM25Index:
        retriever = bm25s.BM25(**params)
        if chunks:
            retriever.index(analyze([bm25_text(c) for c in chunks]), show_progress=False)
        return cls(retriever, [c.id for c in chunks], {c.id: c for c in chunks})

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self.retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(
        cls, directory: Path, ids: list[str], chunks: dict[str, Chunk], params: dict[str, Any] = BM25_PARAMS,
        analyzer: int | None = ANALYZER_VERSION,
    ) -> BM25Index:
        """The saved index; one built in memory from ``chunks`` when it was saved with other parameters or
        another text analysis (seconds even for SciFact's 5k documents, and no vectors are involved)."""
        if not ids:
            return cls(bm25s.BM25(**params), [], chunks)
        try:
            retriever = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
            n = int(retriever.scores["num_docs"])
        except Exception as exc:
            raise MesochatError(
                f"The BM25 index in {directory} is unreadable ({type(exc).__name__}); run `mesochat index --rebuild`"
            ) from exc
        saved = {key: getattr(retriever, key) for key in params}
        if saved != params or analyzer != ANALYZER_VERSION:  # saved otherwise: re-index the same chunks
            fresh = cls.build([chunks[i] for i in ids], params)
            fresh.reindexed = True
            return fresh
        if n != len(ids):
            raise MesochatError(
                f"The BM25 index in {directory} has {n} chunks, the manifest {len(ids)}; "
                "run `mesochat index --rebuild`"
            )
        return cls(retriever, ids, chunks)

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
        if mask is not None:
            scores = scores * mask
        positive = np.flatnonzero(scores > 0)
        if len(positive) > k:
            positive = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        order = positive[np.lexsort((positive, -scores[positive]))]  # score desc, ties by position
        return [(self.ids[i], float(scores[i])) for i in order]
