"""Rule-based sentence and paragraph splitting tuned for biomedical prose.

Why not NLTK/spaCy: they need model or data downloads, and generic splitters break clinical text at
"et al.", "vs.", "Fig. 2" or initials. The rule here is small and linear in the text length:

1. a candidate boundary is terminal punctuation (``.``, ``!``, ``?``), optionally followed by closing
   quotes, brackets or a citation like ``[12]``, then whitespace;
2. the candidate is rejected when the word before it is a known abbreviation, an initial, a
   list marker, or when the next word starts in lower case (``e.g. chimeric``, ``E. coli``);
3. a blank line always ends a sentence (paragraph break).

Decimals ("HR 0.74", "p = 0.002") are never candidates because no whitespace follows their dot.
All spans are absolute offsets into the text with surrounding whitespace trimmed.
"""

from __future__ import annotations

import re


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Lower-cased words (without the final dot) after which a dot never ends a sentence.
ABBREVIATIONS = _words(
    "al vs e.g i.e cf viz fig figs tab ref refs eq eqs suppl approx ca dr drs st mr mrs ms prof "
    "sp spp subsp ssp var cv nov gen jr sr pp vol vols ed eds dept univ incl resp esp"
)
# Abbreviations that only protect the dot when a number follows ("No. 5", "Jan. 2020", "p. 12").
NUMERIC_ABBREVIATIONS = _words("no nos nr jan feb mar apr jun jul aug sep sept oct nov dec p ch sect")
# Lower-case words that may precede a person's initial ("by J. Smith").
_NAME_LEADS = _words("and by of from with to & et")

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# Terminal punctuation, then closing quotes/brackets or citation brackets, then whitespace.
_CANDIDATE = re.compile(r"[.!?\u2026]+(?:[\"'\u201d\u2019)\]]|\[\d[\d,;\s\u2013-]{0,40}\])*(?=\s)")
_ROMAN_OR_LETTER = re.compile(r"^(?:[ivxlc]{1,5}|[IVXLC]{1,5}|[A-Za-z])$")
_DOTTED_ABBREV = re.compile(r"^(?:[A-Za-z]\.){1,4}[A-Za-z]$")  # e.g, i.e, U.S, a.m
_MIXED_START = re.compile(r"^[a-z]{1,4}[A-Z0-9]")  # p53, mTOR, mRNA, iNOS, miR-21 start sentences too
_OPENERS = "([{\"'\u201c\u2018"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    # Any Unicode whitespace (U+3000, U+2028, ...): a span of only such characters would become a wordless chunk.
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_paragraphs(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of blank-line-separated paragraphs in ``text[start:end]`` (absolute, trimmed, non-empty)."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _PARAGRAPH_BREAK.finditer(text, start, end):
        s, e = _trim(text, pos, m.start())
        if s < e:
            spans.append((s, e))
        pos = m.end()
    s, e = _trim(text, pos, end)
    if s < e:
        spans.append((s, e))
    return spans


def _word_before(text: str, punct_start: int, lo: int) -> tuple[str, int]:
    """The whitespace-delimited token that ends at ``punct_start`` and its start offset."""
    i = punct_start
    while i > lo and not text[i - 1].isspace() and punct_start - i < 64:
        i -= 1
    return text[i:punct_start], i


def _previous_word(text: str, before: int, lo: int) -> str:
    j = before
    while j > lo and text[j - 1].isspace():
        j -= 1
    word, _ = _word_before(text, j, lo)
    return word


def _is_boundary(text: str, m: re.Match, sent_start: int, end: int) -> bool:
    nxt = m.end()
    while nxt < end and text[nxt].isspace():
        nxt += 1
    if nxt >= end:
        return True
    following = text[nxt]
    punct = text[m.start()]
    if following in ",;:%" or (following.islower() and not _MIXED_START.match(text[nxt : nxt + 6])):
        return False
    if punct != "." or m.group().rstrip(".") != "":
        return True  # "?", "!", or a dot followed by a closing quote/bracket/citation
    word, word_start = _word_before(text, m.start(), sent_start)
    bare = word.lstrip(_OPENERS)
    key = bare.lower()
    if not bare:
        return True
    acronym = len(bare) > 1 and bare.isupper()  # "MS.", "ST.", "CA." are diseases/genes, not abbreviations
    if (key in ABBREVIATIONS and not acronym) or _DOTTED_ABBREV.match(bare):
        return False
    if key in NUMERIC_ABBREVIATIONS and not acronym and following.isdigit():
        return False
    if word_start == sent_start and (bare.isdigit() and len(bare) <= 3 or _ROMAN_OR_LETTER.match(bare)):
        return False  # a list marker: "1. Introduction", "ii. Methods", "A. Background"
    if len(bare) == 1 and bare.isupper():
        # An initial ("Xia W. Zhang", "J. Smith") unless it closes a phrase like "vitamin D." or "arm B."
        prev = _previous_word(text, word_start, sent_start)
        return bool(prev) and prev.isalpha() and prev.islower() and prev not in _NAME_LEADS
    return True


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans in ``text[start:end]``: absolute offsets, whitespace trimmed, in order."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for p_start, p_end in split_paragraphs(text, start, end):
        sent_start = p_start
        for m in _CANDIDATE.finditer(text, p_start, p_end):
            if m.end() <= sent_start or not _is_boundary(text, m, sent_start, p_end):
                continue
            s, e = _trim(text, sent_start, m.end())
            if s < e:
                spans.append((s, e))
            sent_start = m.end()
            while sent_start < p_end and text[sent_start].isspace():
                sent_start += 1
        s, e = _trim(text, sent_start, p_end)
        if s < e:
            spans.append((s, e))
    return spans
