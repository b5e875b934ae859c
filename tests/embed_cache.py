"""A vector cache for the test suite: real MiniLM vectors, computed once and shared by test sessions.

Installed by tests/conftest.py in the test process and by tests/site/sitecustomize.py in the subprocesses
it starts (``MESOCHAT_EMBED_CACHE=DIR``; tests that time or kill the embedding step set it empty). It wraps
``indexing.embedder._load``: the model is asked only for texts it has not embedded before. Every vector in
the cache was computed by the same model, so nothing but time changes.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexing import embedder


class VectorCache:
    """sqlite file keyed by model and text; safe across processes."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "embeddings.sqlite"

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(f"{embedder.MODEL_NAME}\x00{text}".encode()).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60)
        con.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
        return con

    def get(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._connect() as con:
            for b in range(0, len(keys), 500):
                part = keys[b : b + 500]
                marks = ",".join("?" * len(part))
                rows = con.execute(f"SELECT key, data FROM vec WHERE key IN ({marks})", part)
                for key, data in rows:
                    vec = np.frombuffer(data, dtype=np.float32)
                    if vec.shape == (embedder.EMBED_DIM,):
                        found[key] = vec
        return [found.get(k) for k in keys]

    def put(self, texts: Sequence[str], vecs: Sequence[Sequence[float]]) -> None:
        rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vecs)]
        with self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO vec (key, data) VALUES (?, ?)", rows)


class CachingModel:
    """Stands in for the llama-index embedding model inside indexing.embedder."""

    def __init__(self, model, cache: VectorCache):
        self.model, self.cache = model, cache

    def get_text_embedding_batch(self, texts: list[str]) -> list[list[float]]:
        found = self.cache.get(texts)
        missing = [i for i, vec in enumerate(found) if vec is None]
        if missing:
            computed = self.model.get_text_embedding_batch([texts[i] for i in missing])
            self.cache.put([texts[i] for i in missing], computed)
            for i, vec in zip(missing, computed):
                found[i] = np.asarray(vec, dtype=np.float32)
        return [np.asarray(vec, dtype=np.float32).tolist() for vec in found]


def install(directory: str | Path) -> None:
    """Route this process's embeddings through the cache in ``directory`` (idempotent)."""
    if getattr(embedder._load, "cached", False):
        return
    real_load, cache = embedder._load, VectorCache(Path(directory))

    def load(batch_size: int):
        return CachingModel(real_load(batch_size), cache)

    load.cached = True
    embedder._load = load
