"""MiniLM sentence embeddings through llama-index, loaded from the local model directory.

One model instance per process: loading costs seconds and ~100 MB, and the Assistant embeds from
many threads (Gradio workers), so every call goes through one lock (torch already uses all cores).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence

import numpy as np

from indexing.config import EMBED_DIM, MODEL_NAME, local_model_path

_lock = threading.Lock()
_model = None  # llama_index HuggingFaceEmbedding, created on first use


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
    if not texts:
        return out
    # Length-sorted batches pad less; results are written back in input order.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(texts), desc=desc, unit="chunk", file=sys.stderr, dynamic_ncols=True)
    try:
        with _lock:
            model = _load(batch_size)
            for b in range(0, len(order), batch_size):
                idx = order[b : b + batch_size]
                vecs = model.get_text_embedding_batch([texts[i] for i in idx])
                out[idx] = np.asarray(vecs, dtype=np.float32)
                if bar is not None:
                    bar.update(len(idx))
                if on_batch is not None:
                    on_batch(len(idx))
    finally:
        if bar is not None:
            bar.close()
    return _normalise(out)


def embed_query(text: str) -> np.ndarray:
    """One query vector (384,), L2-normalised; MiniLM uses no query instruction."""
    with _lock:
        vec = _load(_model.embed_batch_size if _model is not None else 64).get_query_embedding(text)
    return _normalise(np.asarray([vec], dtype=np.float32))[0]


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def model_name() -> str:
    return MODEL_NAME
