"""Citation markers in generated text: find them, drop the ones that point nowhere, split sentences.

A marker is ``[n]``; models also write ``[1, 2]``, ``[1-3]`` or ``[1][2]``. Only numbers 1..k (the sources
actually shown to the model) are trusted: anything else, including numbers a document quoted in its own
text, is removed so it can never become a citation.
"""

from __future__ import annotations

import re

# One bracket group of source numbers: [3], [1, 2], [1;2], [1-3], [1–3].
MARKER_RE = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;\-–]\s*\d{1,3})*)\s*\]")
_RUN_RE = re.compile(r"(?:\s*" + MARKER_RE.pattern + r")+")
# A bullet and the bold label of a list or comparison part ("- **CONFIRM**: "): structure, not a claim.
_BULLET_RE = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+(?:\*\*[^*\n]{1,120}\*\*:\s+)?")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+([.,;:!?])")
_DOUBLE_SPACE_RE = re.compile(r"[ \t]{2,}")
_ABBREVIATIONS = ("et al.", "e.g.", "i.e.", "vs.", "cf.", "Fig.", "Figs.", "Ref.", "Refs.", "approx.", "No.")


def _expand(group: str) -> list[int]:
    """'1, 3-5' -> [1, 3, 4, 5]; ranges longer than 10 are treated as two numbers (likely garbage)."""
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group.strip()):
        bounds = re.split(r"\s*[\-–]\s*", part)
        if len(bounds) == 2 and 0 <= int(bounds[1]) - int(bounds[0]) <= 10:
            numbers.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            numbers.extend(int(b) for b in bounds)
    return numbers


def parse_markers(text: str) -> list[int]:
    """All source numbers cited in ``text``, in order of first appearance, without duplicates."""
    seen: list[int] = []
    for match in MARKER_RE.finditer(text):
        for n in _expand(match.group(1)):
            if n not in seen:
                seen.append(n)
    return seen


def format_markers(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def clean_markers(text: str, k: int) -> tuple[str, list[int]]:
    """Keep markers 1..k (rewritten one number per bracket), remove the rest.

    Returns the cleaned text and the removed numbers (in order, duplicates kept for the record).
    """
    removed: list[int] = []

    def keep_valid(match: re.Match) -> str:
        numbers = _expand(match.group(1))
        valid = [n for n in numbers if 1 <= n <= k]
        removed.extend(n for n in numbers if not 1 <= n <= k)
        return format_markers(list(dict.fromkeys(valid)))

    return _tidy(MARKER_RE.sub(keep_valid, text)), removed


def strip_markers(text: str) -> str:
    """The text with every marker removed (used for history turns and support checks)."""
    return _tidy(MARKER_RE.sub("", text))


def _tidy(text: str) -> str:
    """The spaces a removed marker leaves: "word [9]." -> "word ." -> "word."."""
    return _DOUBLE_SPACE_RE.sub(" ", _SPACE_BEFORE_PUNCT_RE.sub(r"\1", text)).strip()


def _fallback_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans when kernel.sentences is unavailable: split after . ! ? before a capital/digit/quote."""
    protected = text
    for abbr in _ABBREVIATIONS:  # hide abbreviation dots so they do not end sentences
        protected = protected.replace(abbr, abbr.replace(".", "\x00"))
    spans, start = [], 0
    for match in re.finditer(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\u201c])", protected):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    try:
        from kernel.sentences import split_sentences
    except ImportError:
        return _fallback_spans(text)
    return split_sentences(text) or _fallback_spans(text)


def split_cited(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into (sentence without markers, its markers) pairs.

    Markers written after the full stop ("... 18.1 months. [2]") belong to the sentence before them, so
    they are moved in front of the punctuation first. A sentence's markers are every marker inside it.
    Lines (bullets, paragraphs) are split separately; bullet prefixes are dropped.
    """
    moved = re.sub(r"([.!?])(" + _RUN_RE.pattern + r")", r"\2\1", text)
    out: list[tuple[str, list[int]]] = []
    for line in moved.splitlines():
        line = _BULLET_RE.sub("", line).strip()
        if not line:
            continue
        for start, end in _sentence_spans(line):
            piece = line[start:end].strip()
            markers = parse_markers(piece)
            sentence = strip_markers(piece)
            if re.search(r"\w", sentence):
                out.append((sentence, markers))
            elif markers and out:  # a lone marker run: attach to the previous sentence
                prev, prev_markers = out[-1]
                out[-1] = (prev, prev_markers + [n for n in markers if n not in prev_markers])
    return out


def render_sentence(sentence: str, markers: list[int]) -> str:
    """'Sentence.' + [1, 2] -> 'Sentence [1][2].' (markers before the closing punctuation)."""
    if not markers:
        return sentence
    match = re.search(r"([.!?]+[\"'\u201d)]*)$", sentence)
    if match:
        return f"{sentence[: match.start()].rstrip()} {format_markers(markers)}{match.group(1)}"
    return f"{sentence} {format_markers(markers)}"
