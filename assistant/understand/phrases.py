"""Word lists as matchers: the vocabulary files under ``data/`` hold words and phrases, not patterns.

A phrase matches as whole words in any case; a space matches any run of spaces or hyphens ("progression
free" = "progression-free"), a trailing ``*`` any word ending ("improv*" = "improved", "improving"), a leading one any beginning
("*n't" = "didn't").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml


def _phrase(text: str) -> str:
    words = str(text).strip().split()
    out = []
    for w in words:
        lead = w.startswith("*") and len(w) > 1
        stem, star = (w[1 if lead else 0:-1], True) if w.endswith("*") else (w[1 if lead else 0:], False)
        out.append((r"\w*" if lead else "") + re.escape(stem) + (r"\w*" if star else ""))
    body = r"[\s-]+".join(out)
    left = r"\b" if words and re.match(r"\w", words[0]) else ""
    right = r"\b" if words and (words[-1].endswith("*") or re.search(r"\w$", words[-1])) else ""
    return left + body + right


def matcher(phrases: Iterable[str]) -> re.Pattern[str]:
    """One pattern for a list of phrases, longest first (so "no difference" wins over "no")."""
    parts = sorted({_phrase(p) for p in phrases if str(p).strip()}, key=len, reverse=True)
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


@cache
def vocabulary(name: str) -> Any:
    """A vocabulary file of ``assistant/understand/data`` (``name`` without ``.yaml``), parsed."""
    return yaml.safe_load(resources.files("assistant.understand").joinpath(f"data/{name}.yaml").read_text())
