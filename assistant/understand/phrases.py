"""Word lists as matchers: the vocabulary files under ``words/`` hold words and phrases, not patterns.

A phrase matches as whole words in any case. Within it:
- a space matches spaces or hyphens, or nothing ("follow up" = "follow-up" = "followup");
- ``*`` at a word's end matches any ending ("improv*" = "improved"), at its start any beginning ("*n't");
- ``{a|b}`` is one word of several ("{is|was} it");
- ``[the]`` is a word that may be left out ("duration of [the] response");
- ``...`` stands for a few words between ("how long did ... respond*"), ``....`` for any number;
- ``*`` alone is any one word ("how many * centres" = "how many US centres"; ``[*]`` may be left out);
- ``^`` first / ``$`` last: the phrase starts / ends the text ("^ who is", "how many patients $");
- ``<name>`` is a closed-class token the code supplies (``slots``): a year, a time point, a number.

An entry may instead be a mapping: ``{phrase: arms, not_after: [by, per], not_before: [did better]}``: the
phrase, not when one of the words ``not_after`` comes just before it, nor one of the phrases ``not_before``
just after it ("the arms", not "by arms" nor "which arms did better").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

_GAP = "..."
_GAPS = {_GAP: r"\b.{0,40}?\b", "....": r"\b.*\b"}
_SEPARATOR = r"[\s-]*"


def _word(w: str, slots: Mapping[str, str] | None = None) -> str:
    if w == "*":
        return r"\b\w+(?:-\w+)*\b"
    if w.startswith("<") and w.endswith(">") and len(w) > 2:
        return f"(?:{(slots or {})[w[1:-1]]})"
    if w.startswith("{") and w.endswith("}"):
        return "(?:" + "|".join(_word(x, slots) for x in w[1:-1].split("|")) + ")"
    lead = w.startswith("*") and len(w) > 1
    core = w[1:] if lead else w
    star = core.endswith("*")
    core = core[:-1] if star else core
    return (r"\w*" if lead else "") + _SEPARATOR.join(re.escape(part) for part in core.split("-")) + \
        (r"\w*" if star else "")


def _phrase(text: Any, slots: Mapping[str, str] | None = None) -> str:
    if isinstance(text, Mapping):
        before = "".join(f"(?<!{_behind(w)})" for w in text.get("not_after", ()))
        after = "|".join(_phrase(p, slots) for p in text.get("not_before", ()))
        return before + _phrase(text["phrase"], slots) + (rf"(?!\s+(?:{after}))" if after else "")
    words = str(text).strip().split()
    start = words[0] == "^" and len(words) > 1
    end = words[-1] == "$" and len(words) > 1
    words = words[int(start):len(words) - int(end)]
    out = ""
    for i, w in enumerate(words):
        if w in _GAPS:
            out += _GAPS[w] if 0 < i < len(words) - 1 else ""
            continue
        optional = w.startswith("[") and w.endswith("]")
        piece = _word(w[1:-1] if optional else w, slots)
        joined = i > 0 and words[i - 1] not in _GAPS and out
        piece = (_SEPARATOR + piece if joined else piece)
        out += f"(?:{piece})?" if optional else piece
    first, last = words[0], words[-1]
    left = r"\b" if re.match(r"[\w{\[<]", first.lstrip("[")) and not first.startswith("*") else ""
    right = r"\b" if re.search(r"[\w*}\]>]$", last) else ""
    return (r"^\s*" if start else left) + out + (r"\s*$" if end else right)


def _behind(word: str) -> str:
    """A word that must not come just before (a fixed-width look-behind: the word and one space)."""
    return (r"\b" if re.match(r"\w", word) else "") + re.escape(str(word)) + " "


def matcher(phrases: Iterable[Any], slots: Mapping[str, str] | None = None) -> re.Pattern[str]:
    """One pattern for a list of phrases, tried in the order listed (a match's span is the first phrase's)."""
    parts = list(dict.fromkeys(_phrase(p, slots) for p in phrases if isinstance(p, Mapping) or str(p).strip()))
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


@cache
def vocabulary(name: str) -> Any:
    """A vocabulary file of ``assistant/understand/words`` (``name`` without ``.yaml``), parsed."""
    return yaml.safe_load(resources.files("assistant.understand").joinpath(f"words/{name}.yaml").read_text())
