"""Spelling tolerance: a misspelt word becomes the vocabulary word it is closest to.

The vocabulary is what the engine can match: the words of the indexed text and of the attribute vocabulary
(the schemas' labels and example askings). A word is left alone when it is in that vocabulary or is an
ordinary English word (pyspellchecker's frequency list), so "things" stays "things" and "hazzard" becomes
"hazard". Matching uses rapidfuzz; names with digits and words in capitals (acronyms) are never touched, so an
uncovered "CheckMate 9LA" is not turned into a covered trial.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, process

# a whole word: letters glued to others or to digits ("IMpower150") are a name, never respelt
_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][a-z]+(?:-[a-z]+)*(?![A-Za-z0-9])")
# vocabulary words in any case: a name written in capitals ("RAMES") is known when typed in lower case
_ANY_CASE = re.compile(r"[A-Za-z]{2,}(?:-[A-Za-z]+)*")
MIN_LENGTH = 5  # shorter words have too many close neighbours to correct safely


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    from spellchecker import SpellChecker

    return frozenset(SpellChecker().word_frequency.dictionary)


class SpellingFixer:
    """``fix(text) -> (text, [(wrong, right), ...])``; read-only after construction (thread-safe)."""

    def __init__(self, vocabulary: Iterable[str], cutoff: float = 85.0) -> None:
        words = {w.lower() for text in vocabulary for w in _ANY_CASE.findall(text) if len(w) >= MIN_LENGTH - 1}
        self._known = words
        self._by_length: dict[int, list[str]] = {}
        for w in words:
            self._by_length.setdefault(len(w), []).append(w)
        self.cutoff = cutoff

    def correction(self, word: str) -> str | None:
        """The vocabulary word a misspelt ``word`` stands for, or None (known, English, or nothing close)."""
        low = word.lower()
        if len(low) < MIN_LENGTH or low in self._known or low in _english() or word.isupper():
            return None
        pool = [w for n in range(len(low) - 2, len(low) + 3) for w in self._by_length.get(n, ())]
        best = process.extract(low, pool, scorer=fuzz.ratio, score_cutoff=self.cutoff, limit=2)
        if not best or (len(best) == 2 and best[1][1] == best[0][1] and best[1][0][:1] != best[0][0][:1]):
            return None  # nothing close, or two different words equally close
        return best[0][0]

    def fix(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        fixes: list[tuple[str, str]] = []

        def repl(m: re.Match[str]) -> str:
            word = m.group(0)
            if "-" in word:
                return word
            right = self.correction(word)
            if right is None:
                return word
            fixes.append((word, right))
            return right.capitalize() if word[0].isupper() else right

        return _WORD.sub(repl, text), fixes
