"""Gradio chat with a source panel and a records browser."""

from indexing import offline

offline.apply()
