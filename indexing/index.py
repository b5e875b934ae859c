"""Read side of the index: the committed manifest's chunks, dense search in Chroma, BM25.

Only chunk ids named by the committed manifest are ever returned, so vectors a running (or
killed) build has added to Chroma stay invisible. Safe to share between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexing import manifest as mf
from indexing.bm25 import BM25Index
from indexing.build import doc_from_record
from indexing.embedder import EMBED_DIM, embed_query, embed_texts
from indexing.store import ChromaStore
from indexing.units import UNITS_FILE, load_units
from kernel.chunk import Chunk
from kernel.config import Config
from kernel.documents import Document
from kernel.errors import MesochatError
from kernel.filters import matches, matches_nothing


@dataclass(frozen=True)
class DocInfo:
    doc_id: str
    title: str
    source_type: str
    n_chunks: int
    hash: str
    path: str | None = None  # for documents added with `mesochat index --add`
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Index:
    def __init__(self, settings: Config, manifest: dict, chunk_dicts: list[dict], doc_dicts: list[dict]):
        self.settings = settings
        self.manifest = manifest
        self.manifest_hash = mf.manifest_hash(manifest)
        self.generation_dir: Path = settings.index_dir / manifest["generation"]
        try:
            self.chunks: dict[str, Chunk] = {d["id"]: Chunk.from_dict(d) for d in chunk_dicts}
            self._docs = {d["doc_id"]: d for d in doc_dicts}
        except (KeyError, TypeError) as exc:
            raise MesochatError(
                f"The index at {settings.index_dir} has an outdated layout ({exc}); run `mesochat index --rebuild`"
            ) from exc
        entries = manifest["documents"]
        self.docs: dict[str, DocInfo] = {
            doc_id: DocInfo(
                doc_id=doc_id,
                title=e.get("title", ""),
                source_type=e.get("source_type", ""),
                n_chunks=int(e.get("n_chunks", 0)),
                hash=e.get("hash", ""),
                path=e.get("path"),
                metadata=dict(self._docs.get(doc_id, {}).get("metadata") or {}),
            )
            for doc_id, e in entries.items()
        }
        if len(self.chunks) != manifest.get("n_chunks", len(self.chunks)) or set(self._docs) != set(entries):
            raise MesochatError(
                f"The index at {settings.index_dir} does not match its manifest; run `mesochat index --rebuild`"
            )
        mf.check_tree(self.generation_dir / mf.BM25_DIR, mf.BM25_DIR, manifest)
        try:  # sentence vectors of the built-in corpus (indexing.units); absent in older generations
            self.unit_vectors = load_units(self.generation_dir / UNITS_FILE)
        except (OSError, ValueError, KeyError) as exc:
            raise MesochatError(
                f"The index file {self.generation_dir / UNITS_FILE} is corrupt ({exc}); run `mesochat index --rebuild`"
            ) from exc
        self.bm25 = BM25Index.load(
            self.generation_dir / mf.BM25_DIR, [d["id"] for d in chunk_dicts], self.chunks,
            settings.retrieval.bm25_params, manifest.get("bm25_analyzer"),
        )
        self.store = ChromaStore(settings, create=False)
        n_vectors = self.store.count()
        if n_vectors < len(self.chunks):
            raise MesochatError(
                f"Chroma at {settings.chroma.url or settings.paths.chroma_dir} holds {n_vectors} vectors for "
                f"{len(self.chunks)} indexed chunks; run `mesochat index` to repair"
            )
        # Vectors a killed build left behind: over-fetch by that many so k committed hits remain.
        self._extra = n_vectors - len(self.chunks)
        self._emb_cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    # --- documents -------------------------------------------------------------------------
    def doc_text(self, doc_id: str) -> str:
        try:
            return self._docs[doc_id]["text"]
        except KeyError:
            raise MesochatError(
                f"No document {doc_id!r} in the index; run `mesochat index --stats`"
            ) from None

    def document(self, doc_id: str) -> Document:
        if doc_id not in self._docs:
            raise MesochatError(f"No document {doc_id!r} in the index; run `mesochat index --stats`")
        return doc_from_record(self._docs[doc_id])

    # --- embeddings ------------------------------------------------------------------------
    def embed_query(self, text: str) -> np.ndarray:
        return embed_query(text)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return embed_texts(list(texts), batch_size=self.settings.embedding.batch_size)

    def chunk_embeddings(self, ids: Sequence[str]) -> np.ndarray:
        """Stored vectors of committed chunks, shape (len(ids), 384), in the order given."""
        unknown = [i for i in ids if i not in self.chunks]
        if unknown:
            raise MesochatError(
                f"Chunk {unknown[0]!r} is not in the index; reopen the index after rebuilding"
            )
        with self._cache_lock:
            missing = [i for i in dict.fromkeys(ids) if i not in self._emb_cache]
        if missing:
            found = self.store.embeddings(missing)
            if len(found) < len(missing):
                lost = next(i for i in missing if i not in found)
                raise MesochatError(
                    f"Chroma has no vector for chunk {lost!r}; run `mesochat index` to repair"
                )
            with self._cache_lock:
                self._emb_cache.update(found)
        with self._cache_lock:
            return (
                np.stack([self._emb_cache[i] for i in ids]) if ids else np.zeros((0, EMBED_DIM), np.float32)
            )

    # --- search ----------------------------------------------------------------------------
    def dense_search(
        self, query: str | np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Top-k committed chunks by cosine similarity (Chroma HNSW, filtered by `where`)."""
        if k <= 0 or matches_nothing(where):
            return []
        vec = self.embed_query(query) if isinstance(query, str) else np.asarray(query, dtype=np.float32)
        n = k + self._extra
        while True:
            found = self.store.query(vec, n, where)
            hits = [
                (cid, s) for cid, s in found if cid in self.chunks and matches(self.chunks[cid], where)
            ]
            # A concurrent build may have added vectors since we opened: fetch more until k are committed.
            if len(hits) >= k or len(found) < n:
                return hits[:k]
            n *= 2

    def bm25_search(self, query: str, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        if matches_nothing(where):
            return []
        return self.bm25.search(query, k, where)


def open_index(settings: Config) -> Index:
    """The committed index of ``settings``; MesochatError with the command to run when unusable."""
    index_dir = settings.index_dir
    manifest = mf.read_manifest(index_dir)
    if manifest is None:
        raise MesochatError(f"No index in {index_dir}; run `mesochat index`")
    settings = mf.index_config(manifest, settings)  # read back what shaped the index
    mf.check_compatible(manifest, settings, index_dir, for_build=False)
    chunk_dicts, doc_dicts = mf.read_generation(index_dir, manifest)
    return Index(settings, manifest, chunk_dicts, doc_dicts)
