"""The query-vector cache of indexing.embedder: one model call per distinct text, callers get private copies."""

from __future__ import annotations

import numpy as np

from indexing import embedder


def test_repeated_query_text_is_embedded_once_and_returned_as_a_copy(monkeypatch):
    calls = []
    original = embedder._load

    def counting(batch_size):
        model = original(batch_size)
        calls.append(batch_size)
        return model

    monkeypatch.setattr(embedder, "_load", counting)
    embedder._query_cache.clear()
    text = "Which mechanisms make mesothelioma resistant to immunotherapy? (cache probe)"
    first = embedder.embed_query(text)
    first[:] = 0  # a caller changing its vector must not change the next caller's
    second = embedder.embed_query(text)
    assert len(calls) == 1
    assert second.shape == (embedder.EMBED_DIM,) and abs(float(np.linalg.norm(second)) - 1.0) < 1e-5
    other = embedder.embed_query(text + " again")
    assert len(calls) == 2 and not np.allclose(other, second)


def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(embedder, "QUERY_CACHE_SIZE", 3)
    embedder._query_cache.clear()
    for i in range(5):
        embedder.embed_query(f"bounded cache probe {i}")
    assert list(embedder._query_cache) == [f"bounded cache probe {i}" for i in (2, 3, 4)]
