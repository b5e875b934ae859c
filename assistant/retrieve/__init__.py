"""Retrieve passages: dense + BM25 hybrid and fusion."""
