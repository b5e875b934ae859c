"""Retrieval experiments without Chroma: an in-memory index over cached MiniLM vectors.

The ablations of issue 20 (records v2, per-result chunking, the stopword list) and the weight grids of
RetrievalConfig need many indexes that differ in one thing each. Building each through Chroma would embed
every variant again, so this module keeps vectors in a file cache keyed by model and embedded text
(``--cache``, default /tmp/mesochat-retrieval-vectors) and searches them exactly in numpy. ``MemoryIndex``
offers what ``assistant.retrieve.retrieval.Retriever`` uses of ``indexing.index.Index``, so the retriever
under test is the product's; only the dense search is exact instead of HNSW (which moves dense figures by
about 0.01 between processes, see RESULTS.md).

    python -m evals.ablation review [--sets review-dev,review-test] [--out FILE]
    python -m evals.ablation scifact --data /work/shared/datasets/scifact [--split train] [--out FILE]

Every figure in evals/RESULTS.md under "Ablation" comes from these two commands (their JSON, by default
``<home>/evals/ablation-{review,scifact}.json``, is read by ``mesochat eval results``). The ablation runs the
retriever of the regression (``V1_RETRIEVER``: name-blind, no passage penalty) so only the corpus changes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from kernel.chunk import Chunk
from kernel.config import RetrievalConfig
from kernel.documents import Document, Section
from kernel.filters import matches, matches_nothing

DEFAULT_CACHE = Path("/tmp/mesochat-retrieval-vectors")

# The nine trial records added by records v2 (issue 10); "records v2 off" leaves them out.
RECORDS_V2_TRIALS = ("trial:confirm", "trial:promise-meso", "trial:nibit-meso-1", "trial:mars2",
                     "trial:ind227-keynote-483", "trial:dream", "trial:pre0505", "trial:dream3r", "trial:maps")


class VectorCache:
    """sqlite file of MiniLM vectors keyed by model and text; embeds only texts it has not seen."""

    def __init__(self, directory: Path = DEFAULT_CACHE):
        from indexing.embedder import MODEL_NAME

        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "vectors.sqlite"
        self.model = MODEL_NAME
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, data BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.model}\x00{text}".encode()).hexdigest()

    def vectors(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        from indexing.embedder import EMBED_DIM, embed_texts

        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._connect() as con:
            unique = list(dict.fromkeys(keys))
            for b in range(0, len(unique), 500):
                part = unique[b : b + 500]
                rows = con.execute(f"SELECT key, data FROM vec WHERE key IN ({','.join('?' * len(part))})", part)
                found.update((k, np.frombuffer(d, dtype=np.float32)) for k, d in rows)
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in found))
        for b in range(0, len(todo), 1024):  # saved as it goes: an interrupted run keeps what it paid for
            part = todo[b : b + 1024]
            vecs = embed_texts(part, progress=progress, desc=f"Embedding {b}/{len(todo)}")
            rows = [(self._key(t), v.astype(np.float32).tobytes()) for t, v in zip(part, vecs)]
            with self._connect() as con:
                con.executemany("INSERT OR REPLACE INTO vec (key, data) VALUES (?, ?)", rows)
            found.update((k, np.frombuffer(d, dtype=np.float32)) for k, d in rows)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, EMBED_DIM), np.float32)


class MemoryIndex:
    """What Retriever needs of indexing.index.Index, over chunks and their vectors held in memory."""

    def __init__(self, chunks: Sequence[Chunk], doc_texts: dict[str, str], cache: VectorCache,
                 config: RetrievalConfig | None = None, embed_text: Callable[[Chunk], str] | None = None,
                 bm25_text: Callable[[Chunk], str] | None = None, progress: bool = False):
        from indexing import bm25 as bm25_module
        from indexing.embedder import embedding_text

        self.config = config or RetrievalConfig()
        self.chunks = {c.id: c for c in chunks}
        self._ids = [c.id for c in chunks]
        self._pos = {cid: i for i, cid in enumerate(self._ids)}
        self._doc_texts = doc_texts
        self.cache = cache
        texts = [(embed_text or (lambda c: embedding_text(c.title, c.text)))(c) for c in chunks]
        self.vectors = cache.vectors(texts, progress=progress)
        with _bm25_text(bm25_module, bm25_text):
            self.bm25 = bm25_module.BM25Index.build(list(chunks), self.config.bm25_params)
        self.settings = None
        self._queries: dict[str, np.ndarray] = {}

    def doc_text(self, doc_id: str) -> str:
        return self._doc_texts[doc_id]

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.cache.vectors([text])[0]
        return self._queries[text]

    def embed_queries(self, texts: Iterable[str]) -> None:
        """Embed many queries at once (batched), so a run never embeds one by one."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._queries]
        for t, v in zip(todo, self.cache.vectors(todo)):
            self._queries[t] = v

    def chunk_embeddings(self, ids: Sequence[str]) -> np.ndarray:
        return self.vectors[[self._pos[i] for i in ids]]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.vectors(list(texts))

    def dense_search(self, query: str | np.ndarray, k: int, where: dict[str, Any] | None = None):
        if k <= 0 or matches_nothing(where):
            return []
        vec = self.embed_query(query) if isinstance(query, str) else np.asarray(query, dtype=np.float32)
        scores = self.vectors @ vec
        if where:
            keep = np.array([matches(self.chunks[i], where) for i in self._ids])
            scores = np.where(keep, scores, -np.inf)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.isfinite(scores[top])]
        top = top[np.lexsort((top, -scores[top]))]
        return [(self._ids[i], float(scores[i])) for i in top]

    def bm25_search(self, query: str, k: int, where: dict[str, Any] | None = None):
        if matches_nothing(where):
            return []
        return self.bm25.search(query, k, where)


@contextlib.contextmanager
def _bm25_text(module: Any, fn: Callable[[Chunk], str] | None) -> Iterator[None]:
    if fn is None:
        yield
        return
    saved = module.bm25_text
    module.bm25_text = fn
    try:
        yield
    finally:
        module.bm25_text = saved


@contextlib.contextmanager
def stopwords(kind: str) -> Iterator[None]:
    """BM25 text analysis with the stopword list of v1 ("bm25s": bm25s' English list) or today's ("kernel")."""
    import kernel.text as kt

    if kind == "kernel":
        yield
        return
    from bm25s.stopwords import STOPWORDS_EN

    saved = kt.STOPWORDS
    kt.STOPWORDS = frozenset(STOPWORDS_EN)
    try:
        yield
    finally:
        kt.STOPWORDS = saved


# --- the review corpus and its variants -------------------------------------------------------------


def merge_result_sections(doc: Document) -> Document:
    """One "Trial > Results" section instead of one per result: the chunker then packs results together
    (whole-record chunking of records v1) instead of giving each result its own chunk."""
    out: list[Section] = []
    for s in doc.sections:
        head, sep, _ = s.path.partition(" > Results > ")
        path = f"{head} > Results" if sep else s.path
        if sep and out and out[-1].path == path:
            out[-1] = Section(path, out[-1].start, s.end, out[-1].page)
        else:
            out.append(Section(path, s.start, s.end, s.page))
    return replace(doc, sections=out)


def review_documents(records_v2: bool = True, result_chunks: bool = True) -> list[Document]:
    from indexing.sources import corpus_documents

    docs = corpus_documents()
    if not records_v2:
        docs = [d for d in docs if d.doc_id not in RECORDS_V2_TRIALS]
    if not result_chunks:
        docs = [merge_result_sections(d) if d.source_type == "record" else d for d in docs]
    return docs


def chunk_all(docs: Sequence[Document]) -> list[Chunk]:
    from indexing.chunker import chunk_document
    from kernel.config import ChunkingConfig

    cfg = ChunkingConfig()
    return [c for d in docs for c in chunk_document(d, cfg.size, cfg.overlap)]


@dataclass
class ReviewBench:
    """One review index variant and the sets to score it on."""

    index: MemoryIndex
    items: dict[str, list[Any]]  # set name -> answerable items
    qrels: dict[str, dict[str, dict[str, int]]]

    @classmethod
    def build(cls, sets: Sequence[str], cache: VectorCache, records_v2: bool = True, result_chunks: bool = True,
              stop: str = "kernel", config: RetrievalConfig | None = None, **index_kw: Any) -> ReviewBench:
        from evals import retrieval_v2
        from evals.sets import Resolver, load_set

        docs = review_documents(records_v2, result_chunks)
        chunks = chunk_all(docs)
        with stopwords(stop):
            index = MemoryIndex(chunks, {d.doc_id: d.text for d in docs}, cache, config, **index_kw)
        resolver = Resolver(chunks, index.doc_text)
        items, qrels = {}, {}
        for name in sets:
            if retrieval_v2.is_retrieval_v2(name):
                answerable = retrieval_v2.load(name)
                q, _ = retrieval_v2.FieldResolver(chunks, index.doc_text).qrels(answerable)
            else:
                answerable = [i for i in load_set(name) if i.answerable]
                q, _ = resolver.qrels(answerable)
            items[name] = [i for i in answerable if i.id in q]
            qrels[name] = q
        index.embed_queries(i.question for its in items.values() for i in its)
        return cls(index, items, qrels)

    def score(self, config: RetrievalConfig, modes: Sequence[str] = ("bm25", "dense", "hybrid"),
              named: Callable[[str], Sequence[str]] | None = None, stop: str = "kernel",
              k: int = 100) -> dict[str, dict[str, dict[str, float]]]:
        """{set: {mode: metrics}}; ``named(question)`` gives the named record ids (name-aware mode)."""
        from assistant.retrieve.retrieval import Retriever
        from evals import metrics as M
        from evals import retrieval_v2

        retriever = Retriever(self.index, config)
        out: dict[str, dict[str, dict[str, float]]] = {}
        with stopwords(stop):
            for name, items in self.items.items():
                out[name] = {}
                for mode in modes:
                    ranked = {i.id: [h.chunk.id for h in retriever.retrieve(
                        i.question, k=k, mode=mode, named=named(i.question) if named else ())] for i in items}
                    metrics = retrieval_v2.METRICS if retrieval_v2.is_retrieval_v2(name) else M.METRICS
                    out[name][mode] = M.evaluate(self.qrels[name], M.ranked_run(ranked), metrics)
        return out


# --- SciFact --------------------------------------------------------------------------------------------


@dataclass
class BeirBench:
    index: MemoryIndex
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    @classmethod
    def build(cls, data: Path, split: str, cache: VectorCache, stop: str = "kernel",
              config: RetrievalConfig | None = None, progress: bool = True, **index_kw: Any) -> BeirBench:
        from evals.beir import load_beir

        docs, queries, qrels = load_beir(data, split)
        chunks = chunk_all(docs)
        with stopwords(stop):
            index = MemoryIndex(chunks, {d.doc_id: d.text for d in docs}, cache, config, progress=progress, **index_kw)
        index.embed_queries(queries.values())
        return cls(index, queries, qrels)

    def score(self, config: RetrievalConfig, modes: Sequence[str] = ("bm25", "dense", "hybrid"),
              stop: str = "kernel") -> dict[str, dict[str, float]]:
        from assistant.retrieve.retrieval import Retriever
        from evals import metrics as M
        from evals.beir import METRICS, K

        retriever = Retriever(self.index, config)
        out = {}
        with stopwords(stop):
            for mode in modes:
                ranked = {q: [d for d, _ in retriever.retrieve_docs(t, k=K, mode=mode)] for q, t in self.queries.items()}
                out[mode] = M.evaluate(self.qrels, M.ranked_run(ranked), METRICS)
        return out


# --- command line ----------------------------------------------------------------------------------------


def _named_fn() -> Callable[[str], Sequence[str]]:
    from assistant.retrieve.retrieval import named_records
    from assistant.understand.query import QueryAnalyzer

    analyzer = QueryAnalyzer.from_corpus()
    return lambda q: named_records(analyzer.analyze(q))


# The retriever of the regression (before issue 20): no passage penalty, name-blind.
V1_RETRIEVER = {"aux_penalty": 0.0, "named_weight": 0.0}


def review_ablation(sets: Sequence[str], cache: VectorCache, config: RetrievalConfig | None = None
                    ) -> list[dict[str, Any]]:
    """Every combination of the three candidates, scored per set and mode (name-blind, the v1 retriever)."""
    config = config or RetrievalConfig(**V1_RETRIEVER)
    rows = []
    for records_v2 in (False, True):
        for result_chunks in (False, True):
            for stop in ("bm25s", "kernel"):
                bench = ReviewBench.build(sets, cache, records_v2, result_chunks, stop, config)
                scores = bench.score(config, stop=stop)
                rows.append({"records_v2": records_v2, "result_chunks": result_chunks, "stopwords": stop,
                             "chunks": len(bench.index.chunks), "scores": scores})
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("review", "scifact"))
    p.add_argument("--sets", default="review-dev,review-test")
    p.add_argument("--data", type=Path, default=Path("/work/shared/datasets/scifact"))
    p.add_argument("--split", default="train")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--out", type=Path, default=None,
                   help="JSON file for `mesochat eval results` (default: <home>/evals/ablation-<what>.json)")
    args = p.parse_args(argv)
    import indexing  # noqa: F401  (offline environment before the model loads)
    from kernel.config import Config

    cache = VectorCache(args.cache)
    if args.what == "review":
        rows = review_ablation(args.sets.split(","), cache)
    else:
        rows = []
        for stop in ("bm25s", "kernel"):
            bench = BeirBench.build(args.data, args.split, cache, stop)
            rows.append({"stopwords": stop, "scores": {f"scifact-{args.split}": bench.score(
                RetrievalConfig(**V1_RETRIEVER), stop=stop)}})
            print(json.dumps(rows[-1]), flush=True)
    out = args.out or Path(Config.load().paths.home) / "evals" / f"ablation-{args.what}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"what": args.what, "rows": rows}, indent=1), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
