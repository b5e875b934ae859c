"""Chunking, embedding and the Chroma + BM25 index."""

from kernel import offline

offline.apply()

# Public API, imported lazily: chromadb, torch and llama-index take seconds to import and most
# users of `indexing.sources` or `indexing.chunker` never need them.
_EXPORTS = {
    "build_index": "indexing.build",
    "BuildReport": "indexing.build",
    "open_index": "indexing.index",
    "Index": "indexing.index",
    "DocInfo": "indexing.index",
    "index_stats": "indexing.stats",
}

__all__ = ["BuildReport", "DocInfo", "Index", "build_index", "index_stats", "open_index"]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'indexing' has no attribute {name!r}")
