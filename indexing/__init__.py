"""Chunking, embedding and the Chroma + BM25 index."""

from indexing import offline

offline.apply()
