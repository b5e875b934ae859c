"""Gradio chat with a source panel and a records browser."""

from kernel import offline

offline.apply()

# Public API, imported lazily: gradio takes seconds to import.
__all__ = ["build_app", "launch"]


def __getattr__(name: str):
    if name in __all__:
        from ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
