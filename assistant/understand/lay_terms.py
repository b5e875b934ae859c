"""Lay words beside the records' terms ("a dummy drug" -> placebo), from ``words/lay_terms.yaml``.

Descriptions are matched against what the records say; a user's own words for the same thing are added to
the description before it is matched. The table is data: a new entry needs no code.
"""

from __future__ import annotations

import re
from functools import cache

from assistant.understand.phrases import matcher, vocabulary


@cache
def _table() -> list[tuple[re.Pattern[str], str]]:
    return [(matcher(sayings), str(term)) for term, sayings in vocabulary("lay_terms").items()]


def record_terms(text: str) -> list[str]:
    """The records' terms for lay words in ``text``, in table order, each once."""
    return [term for pattern, term in _table() if pattern.search(text) and term.lower() not in text.lower()]


def with_record_terms(text: str) -> str:
    terms = record_terms(text)
    return f"{text} ({', '.join(terms)})" if terms else text
