"""Citation-grounded answers over the mesochat index: ``from assistant import Assistant``."""

from __future__ import annotations

from assistant.answer.model import Answer, Citation

__all__ = ["Answer", "Assistant", "Chat", "Citation"]


def __getattr__(name: str):
    # The API pulls in the index (chromadb, torch); importing assistant.answer.markers or assistant.answer.model
    # alone should stay cheap, so Assistant and Chat load on first use.
    if name in ("Assistant", "Chat"):
        from assistant import api

        return getattr(api, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
