"""Understand a question: entities, attribute, form, dialogue state (no index needed)."""
