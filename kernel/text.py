"""The one text analysis: word tokens, stopwords and Snowball English stems.

BM25 (index and query side), query understanding and evidence scoring all use this module, so a
word is the same word everywhere. PyStemmer objects are not thread-safe and Gradio answers from
worker threads, hence one stemmer behind a lock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence

import Stemmer


def _word_list(text: str) -> frozenset[str]:
    return frozenset(text.split())


# English function words: dropped by BM25, query analysis and evidence scoring alike.
STOPWORDS = _word_list(
    """
    a an the and or but nor if then else of in on at to for from by with without within into onto over under
    than as about after before during between through among against via per up down out off
    is are was were be been being am do does did done doing has have had having
    can could should would may might must shall will
    what which who whom whose when where why how whats there here this that these those
    it its it's they them their theirs he she his her we our you your i me my mine us
    so such no not yes only own same too very just also any all both each few more most less least
    other another some either neither every one ones however thus therefore hence whereas while respectively
    """
)

# Words that phrase a question rather than say what it is about ("tell me", "what does X stand for").
QUESTION_WORDS = _word_list(
    """
    tell give show explain describe list please know known say said mean means meaning stand stands
    define definition review reviews
    """
)

# Words that describe where a statement comes from rather than what it states.
REPORTING_WORDS = _word_list(
    """
    according based include includes including passage report reported reports show shown shows
    source sources study studies use used using
    """
)

# Words of letters and digits (accented Latin letters included): "PD-L1" -> "pd", "l1".
WORD_RE = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+")
# BM25 tokens: words of 2+ characters as in bm25s/scikit-learn, plus lone digits so "PD-1" keeps its "1".
TOKEN_PATTERN = r"(?u)\b\w\w+\b|\b\d\b"
_TOKEN_RE = re.compile(TOKEN_PATTERN)

# Bumped whenever analyze() would tokenise the same text differently: an index saved with another version
# gets its BM25 part rebuilt (indexing.bm25), since index-side and query-side tokens must agree.
ANALYZER_VERSION = 2  # 2: one stopword list for BM25, query analysis and evidence scoring

_stem_lock = threading.Lock()
_stemmer = Stemmer.Stemmer("english")


def stem(words: Sequence[str]) -> list[str]:
    """Snowball English stems of lower-case words, thread-safe."""
    with _stem_lock:
        return _stemmer.stemWords(list(words))


def words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return [w.lower() for w in WORD_RE.findall(text)]


def content_terms(text: str, extra_stopwords: Iterable[str] = ()) -> list[str]:
    """Stems of the content words (no stopwords, no single letters), in order, without duplicates."""
    stop = STOPWORDS | frozenset(extra_stopwords) if extra_stopwords else STOPWORDS
    kept = [w for w in words(text) if w not in stop and (len(w) > 1 or w.isdigit())]
    return list(dict.fromkeys(stem(kept)))


def analyze(texts: Sequence[str]) -> list[list[str]]:
    """BM25 analysis: one token list per text (lower case, stopwords out, stems)."""
    out = []
    for text in texts:
        kept = [t for t in _TOKEN_RE.findall(text.lower()) if t not in STOPWORDS]
        out.append(stem(kept))
    return out
