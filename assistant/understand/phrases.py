"""Word lists as matchers: the vocabulary files under ``words/`` hold words and phrases, not patterns.

A phrase matches as whole words in any case. Within it:
- a space matches spaces or hyphens, or nothing ("follow up" = "follow-up" = "followup");
- ``*`` at a word's end matches any ending ("improv*" = "improved"), at its start any beginning ("*n't");
- ``{a|b}`` is one word of several ("{is|was} it");
- ``[the]`` is a word that may be left out ("duration of [the] response");
- ``...`` stands for a few words between ("how long did ... respond*").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml

_GAP = "..."
_SEPARATOR = r"[\s-]*"


def _word(w: str) -> str:
    if w.startswith("{") and w.endswith("}"):
        return "(?:" + "|".join(_word(x) for x in w[1:-1].split("|")) + ")"
    lead = w.startswith("*") and len(w) > 1
    core = w[1:] if lead else w
    star = core.endswith("*")
    core = core[:-1] if star else core
    return (r"\w*" if lead else "") + _SEPARATOR.join(re.escape(part) for part in core.split("-")) + \
        (r"\w*" if star else "")


def _phrase(text: str) -> str:
    words = str(text).strip().split()
    out = ""
    for i, w in enumerate(words):
        if w == _GAP:
            out += r"\b.{0,40}?\b" if 0 < i < len(words) - 1 else ""
            continue
        optional = w.startswith("[") and w.endswith("]")
        piece = _word(w[1:-1] if optional else w)
        joined = i > 0 and words[i - 1] != _GAP and out
        piece = (_SEPARATOR + piece if joined else piece)
        out += f"(?:{piece})?" if optional else piece
    first, last = words[0], words[-1]
    left = r"\b" if re.match(r"[\w{\[]", first.lstrip("[")) and not first.startswith("*") else ""
    right = r"\b" if re.search(r"[\w*}\]]$", last) else ""
    return left + out + right


def matcher(phrases: Iterable[str]) -> re.Pattern[str]:
    """One pattern for a list of phrases, tried in the order listed (a match's span is the first phrase's)."""
    parts = list(dict.fromkeys(_phrase(p) for p in phrases if str(p).strip()))
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


@cache
def vocabulary(name: str) -> Any:
    """A vocabulary file of ``assistant/understand/words`` (``name`` without ``.yaml``), parsed."""
    return yaml.safe_load(resources.files("assistant.understand").joinpath(f"words/{name}.yaml").read_text())
