"""Query understanding: find the named things in a question and expand its vocabulary.

Built once from ``corpus.load_records()``: every record name, synonym, code name, abbreviation and
expansion becomes an alias of its record. A question is matched against the aliases on its word
n-grams in a compact form (lower case, letters and digits only), so "CheckMate 743", "checkmate743"
and "Checkmate-743" are the same key; longer keys also match approximately ("pegargimenase").

The result (``QueryPlan``) tells the assistant which records the question names (their chunks go to
the top of the candidate list), which references it looks up ("reference 36", "[36]"), and the extra
words to search for (ADI-PEG 20 -> pegargiminase, nivo/ipi -> nivolumab ipilimumab).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from assistant.understand.phrases import matcher, vocabulary
from kernel import text as kernel_text
from kernel.config import AnswerConfig
from kernel.text import QUESTION_WORDS

# Clinical shorthand for drugs (facts of usage, not of the review): each expands to the name of the one drug
# record whose one-word name it begins ("nivo" -> the record named Nivolumab), see drug_shorthand.
DRUG_SHORTHAND = ("nivo", "ipi", "pembro", "atezo", "durva", "treme", "bev")
# Clinical shorthand that is not a record of its own (facts of usage, not of the review).
SHORTHAND: dict[str, list[str]] = {
    "chemo": ["chemotherapy"],
    "io": ["immunotherapy"],
    "os": ["overall survival"],
    "pfs": ["progression-free survival"],
    "orr": ["objective response rate"],
    "dcr": ["disease control rate"],
    "hr": ["hazard ratio"],
    "ci": ["confidence interval"],
    "tme": ["tumour microenvironment", "tumor microenvironment"],
    "mpm": ["malignant pleural mesothelioma"],
    "tumour": ["tumor"],
    "tumor": ["tumour"],
    # "what is resistance mainly due to?": the abstract says "attributed to"
    "due": ["attributed"],
    "because": ["attributed"],
    "caused": ["attributed"],
    "cause": ["attributed"],
    "causes": ["attributed"],
    "reason": ["attributed"],
    "reasons": ["attributed"],
    "explains": ["attributed"],
    "blame": ["attributed"],
    "blames": ["attributed"],
    # "which drugs does the review suggest pairing with ICIs?": the abstract says "integrating"
    "pairing": ["integrating"],
    "pair": ["integrating"],
    "paired": ["integrating"],
    "combining": ["integrating"],
    "combine": ["integrating"],
    "partners": ["integrating"],
    "strategies": ["integrating"],
    "checkpoint": ["icis"],
    "overcome": ["dismantle"],
}

STOPWORDS = kernel_text.STOPWORDS | QUESTION_WORDS
_WORD_RE = kernel_text.WORD_RE
_REF_RE = re.compile(
    r"\b(?:references?|refs?\.?|citations?|cited\s+work)\s*(?:no\.?|number|#)?\s*"
    r"(\d{1,3}(?:\s*(?:,|and|&|/)\s*\d{1,3})*)\b",
    re.IGNORECASE,
)
_BRACKET_REF_RE = re.compile(r"\[\s*(\d{1,3})\s*\]")
# The question names the review document itself: "the review", "this mesothelioma review", "the Xia review"; up
# to two describing words between, but not another kind of review ("blinded independent central review").
REVIEW_MENTION = re.compile(
    r"\b(?:the|this|xia)\s+(?:(?!(?:central|independent|blinded|radiolog\w*|regulatory|priority|peer|systematic)\b)"
    r"[a-z0-9-]+\s+){0,2}?review\b", re.IGNORECASE)
# Types whose names are aliases; references are looked up by number, their titles are left to search.
ALIAS_TYPES = ("trial", "agent", "biomarker", "mechanism", "term")
ENTITY_ALIAS_TYPES = ("trial", "agent", "biomarker", "mechanism")
# Records that name ideas rather than things: their words stay part of what is asked ("overall survival",
# "tumour microenvironment"), and they do not restrict an answer to their own record.
VOCABULARY_TYPES = ("term", "mechanism")
MAX_NGRAM = 6


def drug_shorthand(records: Iterable) -> dict[str, list[str]]:
    """{"nivo": ["nivolumab"], ...}: DRUG_SHORTHAND expanded to the drug records' names."""
    names = [r.name.lower() for r in records if r.type == "agent" and len(r.name.split()) == 1]
    return {s: found for s in DRUG_SHORTHAND if len(found := [n for n in names if n.startswith(s)]) == 1}


_WORDS = vocabulary("query_words")  # words/query_words.yaml
_NAME_QUALIFIER = (matcher(_WORDS["name_qualifier_first"]), matcher(_WORDS["name_qualifier_last"]))
_NAMED_AS_TRIAL = re.compile(r"\s+(?:one|trial|study|arm|cohort)\b", re.IGNORECASE)


def compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _is_vocabulary(record_id: str) -> bool:
    return record_id.partition(":")[0] in VOCABULARY_TYPES


_GENERIC_TAILS = {"disease", "cells", "cell", "therapy", "treatment", "trial", "study", "tumour", "tumor"}


def _unaccent(text: str) -> str:
    """"Calabrò" -> "Calabro": how a name is typed on an English keyboard."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _spellings(key: str) -> set[str]:
    """British and American spellings of a compact alias (tumour/tumor, signalling/signaling)."""
    out = {key}
    for uk, us in (("tumour", "tumor"), ("signalling", "signaling"), ("randomis", "randomiz"), ("haem", "hem")):
        out |= {k.replace(uk, us) for k in out} | {k.replace(us, uk) for k in out}
    return out


def content_terms(text: str) -> list[str]:
    """Stemmed content words (stopwords removed), in order, without duplicates."""
    return kernel_text.content_terms(text, QUESTION_WORDS)


def _name_parts(name: str) -> list[str]:
    """"Mesothelin (MSLN)" is also "Mesothelin" and "MSLN": users rarely type the parenthesis."""
    m = re.fullmatch(r"\s*(.+?)\s*\((.+)\)\s*", name)
    if not m:  # "Primary resistance to immune checkpoint inhibitors" is also "primary resistance"
        head = re.match(r"((?:\w+ ){1,2}(?:resistance|reprogramming|auxotrophy))\s+to\b", name, re.IGNORECASE)
        return [head.group(1)] if head else []
    # "(with pembrolizumab)", "(class)", "(mesothelioma cohort)" qualify the name; they are not another name for it
    qualifier = any(words.search(m.group(2)) for words in _NAME_QUALIFIER)
    return [p for p in (m.group(1), None if qualifier else m.group(2)) if p and len(p) >= 4]


@dataclass(frozen=True)
class RecordMatch:
    record_id: str
    name: str  # the record's display name
    surface: str  # the words of the question that named it
    start: int  # offsets of ``surface`` in the question
    end: int
    exact: bool


@dataclass(frozen=True)
class Concept:
    """A content word of the question that is not part of a name: matched by its stem or by all the
    stems of one of its expansions ("hr" or "hazard ratio")."""

    stem: str
    alternatives: tuple[tuple[str, ...], ...]

    def matched_by(self, terms: set[str]) -> bool:
        return any(alt and all(t in terms for t in alt) for alt in self.alternatives)


@dataclass(frozen=True)
class QueryPlan:
    question: str
    search_text: str  # question plus expansions, for BM25 and dense search
    embed_text: str  # question plus the canonical names of what it names (for sentence similarity)
    terms: list[str]  # stemmed content words of question + expansions (lexical evidence scoring)
    question_terms: list[str]  # stemmed content words of the question alone
    records: list[RecordMatch] = field(default_factory=list)
    ref_numbers: list[int] = field(default_factory=list)
    expansions: list[str] = field(default_factory=list)
    linked_refs: list[str] = field(default_factory=list)  # ref:N record ids the named records cite
    concepts: list[Concept] = field(default_factory=list)  # what is asked about the named things
    aliases: dict[str, list[str]] = field(default_factory=dict)  # named record id -> compact aliases
    related: list[str] = field(default_factory=list)  # records the named (non-glossary) records relate to

    @property
    def is_lookup(self) -> bool:
        """"What is ADI-PEG 20?", "Tell me about BEAT-meso": a name and nothing else to match."""
        return bool(self.records) and not self.concepts

    @property
    def names_review(self) -> bool:
        """The question is about the review document itself ("what does the review propose?")."""
        return bool(REVIEW_MENTION.search(self.question))

    @property
    def entity_ids(self) -> list[str]:
        """Named records that are things (trials, agents, biomarkers, mechanisms), not vocabulary."""
        return [rid for rid in self.record_ids if not _is_vocabulary(rid)]

    @property
    def record_ids(self) -> list[str]:
        return list(dict.fromkeys(m.record_id for m in self.records))


@dataclass(frozen=True)
class _Entry:
    record_id: str
    name: str
    record_type: str
    aliases: tuple[str, ...]
    expansions: tuple[str, ...]
    refs: tuple[int, ...]
    related: tuple[str, ...] = ()


class QueryAnalyzer:
    """Alias lexicon over the typed records; ``analyze(question) -> QueryPlan``. Read-only after init."""

    def __init__(self, records: Iterable, config: AnswerConfig | None = None) -> None:
        config = config or AnswerConfig()
        self.fuzzy_cutoff, self.fuzzy_min_chars = config.fuzzy_cutoff, config.fuzzy_min_chars
        records = list(records)
        self.records = records  # kept for the record-answer path (field spans)
        self.shorthand = drug_shorthand(records) | SHORTHAND
        self.entries: dict[str, _Entry] = {}
        self.alias_index: dict[str, set[str]] = {}
        self.name_index: dict[str, set[str]] = {}  # keys that are a record's own name (not a synonym)
        self.ref_ids: set[str] = set()
        exact_only = self._acronym_keys = set()
        for r in records:
            if r.type == "ref":
                self.ref_ids.add(r.id)
                continue
            if r.type not in ALIAS_TYPES:
                continue
            # the record id's slug is a name too ("aberrant-signalling", "histologic-subtype")
            slug = r.id.partition(":")[2].replace("-", " ")
            aliases = [r.name, *_name_parts(r.name), *r.synonyms, *getattr(r, "code_names", []), slug]
            for attr in ("abbreviation", "expansion"):
                value = getattr(r, attr, None)
                if value:
                    aliases.append(value)
            aliases = [a for a in dict.fromkeys(a.strip() for a in aliases) if len(compact(a)) >= 2]
            refs = tuple(s.ref for s in r.sources if getattr(s, "ref", None))
            for res in getattr(r, "results", []) or []:
                refs += tuple(s.ref for s in res.sources if getattr(s, "ref", None))
            self.entries[r.id] = _Entry(r.id, r.name, r.type, tuple(aliases), tuple(aliases), tuple(dict.fromkeys(refs)),
                                   tuple(r.related))
            for a in aliases:
                for key in _spellings(compact(a)):
                    self.alias_index.setdefault(key, set()).add(r.id)
                    if re.fullmatch(r"[A-Z][A-Z0-9 .-]*", a):  # "CONFIRM" must not match "confirmed"
                        exact_only.add(key)
            for a in [r.name, *_name_parts(r.name)[:1], getattr(r, "abbreviation", None), getattr(r, "expansion", None)]:
                for key in _spellings(compact(a)) if a else ():
                    self.name_index.setdefault(key, set()).add(r.id)
        # "primary refractory to ICIs": an alias that ends in a generic noun ("primary refractory disease") also
        # names the record without it, when that is nobody else's alias
        for r in records:
            for a in getattr(r, "synonyms", []) if r.type in ALIAS_TYPES else []:
                head, _, last = a.strip().rpartition(" ")
                if last.lower() in _GENERIC_TAILS and " " in head.strip() and len(compact(head)) >= 8 \
                        and compact(head) not in self.alias_index:
                    self.alias_index[compact(head)] = {r.id}
        # "median PFS with CIs": short lower-case aliases ("cis" for cisplatin) do not match words typed in capitals
        self._lower_only = {compact(a) for r in records if r.type in ALIAS_TYPES for a in getattr(r, "synonyms", [])
                            if a.islower() and len(compact(a)) <= 4}
        # "the Adusumilli phase 1": a trial's first author names it, when no other trial shares the name
        by_author: dict[str, set[str]] = {}
        for r in records:
            authors = getattr(getattr(r, "publication", None), "authors", None) if r.type == "trial" else None
            if authors and (m := re.match(r"\s*([^\W\d_][^\W\d_'-]{3,})\s", _unaccent(authors))):
                by_author.setdefault(compact(m.group(1)), set()).add(r.id)
        for key, ids in by_author.items():
            if len(ids) == 1 and key not in self.alias_index:
                self.alias_index[key] = set(ids)
                exact_only.add(key)
        # "the ATOMIC one": a trial named by the head of its name, when the rest holds no number ("ATOMIC-Meso",
        # not "CheckMate 743") and no other record shares the head; matched only as a name is written (below)
        heads: dict[str, set[str]] = {}
        for r in records:
            parts = re.split(r"[- ]", r.name.strip(), maxsplit=1) if r.type == "trial" else []
            if len(parts) == 2 and len(parts[0]) >= 4 and not re.search(r"\d", r.name):
                heads.setdefault(compact(parts[0]), set()).add(r.id)
        self._heads = {k: ids for k, ids in heads.items() if len(ids) == 1 and k not in self.alias_index}
        # Fuzzy candidates bucketed by first letter so a lookup compares against a few dozen keys.
        self._fuzzy: dict[str, list[str]] = {}
        for key, ids in self.alias_index.items():
            if ids and len(key) >= self.fuzzy_min_chars:
                self._fuzzy.setdefault(key[0], []).append(key)

    @classmethod
    def from_corpus(cls, config: AnswerConfig | None = None) -> QueryAnalyzer:
        from corpus import load_records

        return cls(load_records(), config)

    def name_of(self, record_id: str) -> str:
        entry = self.entries.get(record_id)
        return entry.name if entry else record_id

    # -- matching -------------------------------------------------------------------------------
    def find_records(self, text: str) -> list[RecordMatch]:
        """Records named in ``text``: longest non-overlapping n-gram matches, exact before fuzzy."""
        words = [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(text)]
        found: list[RecordMatch] = []
        taken = [False] * len(words)
        for fuzzy in (False, True):
            for n in range(min(MAX_NGRAM, len(words)), 0, -1):
                for i in range(len(words) - n + 1):
                    if any(taken[i : i + n]):
                        continue
                    gram = words[i : i + n]
                    key = compact("".join(w for w, _, _ in gram))
                    if len(key) < 2 or (n == 1 and gram[0][0].lower() in STOPWORDS):
                        continue
                    if fuzzy and (gram[0][0].lower() in STOPWORDS or gram[-1][0].lower() in STOPWORDS):
                        continue  # "and a trial" is not a misspelt name

                    matched, ids = self._lookup(key, fuzzy)
                    if ids and matched in self._lower_only and sum(ch.isupper() for ch in "".join(w for w, _, _ in gram)) >= 2:
                        continue
                    if not ids:
                        continue
                    ids = self._prefer_names(matched, ids)
                    start, end = gram[0][1], gram[-1][2]
                    for rid in sorted(ids):
                        found.append(RecordMatch(rid, self.entries[rid].name, text[start:end], start, end, not fuzzy))
                    for j in range(i, i + n):
                        taken[j] = True
        for i, (word, start, end) in enumerate(words):
            ids = self._heads.get(compact(word), set()) if not taken[i] else set()
            if ids and (word.isupper() or _NAMED_AS_TRIAL.match(text[end:])):
                rid = next(iter(ids))
                found.append(RecordMatch(rid, self.entries[rid].name, word, start, end, False))
        found.sort(key=lambda m: m.start)
        return found

    def _lookup(self, key: str, fuzzy: bool) -> tuple[str, set[str]]:
        """(the alias key matched, the records it names)."""
        if not fuzzy:
            return key, self.alias_index.get(key, set())
        if len(key) < self.fuzzy_min_chars or key.isdigit():
            return key, set()
        pool = [k for k in self._fuzzy.get(key[0], []) if abs(len(k) - len(key)) <= 2]
        hit = process.extractOne(key, pool, scorer=fuzz.ratio, score_cutoff=100 * self.fuzzy_cutoff)
        # a name's number is its identity: KEYNOTE-189 is not a misspelt KEYNOTE-158
        best = [hit[0]] if hit and re.sub(r"\D", "", hit[0]) == re.sub(r"\D", "", key) else []
        if best and best[0] in self._acronym_keys and key.startswith(best[0]):
            return key, set()  # "confirmed" is the word, not a misspelt CONFIRM
        return (best[0], self.alias_index[best[0]]) if best else (key, set())

    def _prefer_names(self, key: str, ids: set[str]) -> set[str]:
        """"Arginine auxotrophy" is the mechanism's name and a synonym of the ASS1 biomarker: among entity
        records sharing an alias, the ones it names outright win (glossary terms are kept either way)."""
        entities = {i for i in ids if self.entries[i].record_type in ENTITY_ALIAS_TYPES}
        named = entities & self.name_index.get(key, set())
        return ids - (entities - named) if named and len(entities) > 1 else ids

    @staticmethod
    def find_ref_numbers(text: str) -> list[int]:
        numbers: list[int] = []
        for m in _REF_RE.finditer(text):
            numbers.extend(int(x) for x in re.findall(r"\d{1,3}", m.group(1)))
        numbers.extend(int(m.group(1)) for m in _BRACKET_REF_RE.finditer(text))
        return list(dict.fromkeys(n for n in numbers if n > 0))

    # -- the plan -------------------------------------------------------------------------------
    def analyze(self, question: str) -> QueryPlan:
        matches = [m for m in self.find_records(question) if m.record_id in self.entries]
        refs = self.find_ref_numbers(question)
        expansions: list[str] = []
        lowered = question.lower()
        for w in _WORD_RE.findall(lowered):
            expansions.extend(self.shorthand.get(w, []))
        linked: list[str] = []
        for m in matches:
            entry = self.entries[m.record_id]
            expansions.extend(a for a in entry.expansions if compact(a) != compact(m.surface))
            linked.extend(f"ref:{n}" for n in entry.refs if f"ref:{n}" in self.ref_ids)
        expansions = [e for e in dict.fromkeys(expansions) if e.lower() not in lowered]
        concepts = self._concepts(question, matches, self._term_expansions(matches))
        aliases = {m.record_id: [compact(a) for a in self.entries[m.record_id].aliases]
                   for m in matches if not _is_vocabulary(m.record_id)}
        search_text = question if not expansions else f"{question} ({'; '.join(expansions)})"
        # Sentence similarity uses the question with canonical names only: the full alias list would make
        # a record's "X (also called ...)" sentence look like the best answer to every question about X.
        names = [n for n in dict.fromkeys(m.name for m in matches) if n.lower() not in lowered]
        names += [e for w in _WORD_RE.findall(lowered) for e in self.shorthand.get(w, [])]
        embed_text = question if not names else f"{question} ({'; '.join(dict.fromkeys(names))})"
        return QueryPlan(
            question=question,
            search_text=search_text,
            embed_text=embed_text,
            terms=content_terms(search_text),
            question_terms=content_terms(question),
            records=matches,
            ref_numbers=refs,
            expansions=expansions,
            linked_refs=list(dict.fromkeys(linked)),
            concepts=concepts,
            aliases=aliases,
            related=list(dict.fromkeys(
                rel for m in matches if not _is_vocabulary(m.record_id)
                for rel in self.entries[m.record_id].related if rel in self.entries
            )),
        )

    def _term_expansions(self, matches: list[RecordMatch]) -> dict[str, list[str]]:
        """Glossary words named in the question -> their other spellings ("os" -> "overall survival")."""
        out: dict[str, list[str]] = {}
        for m in matches:
            if m.record_id.startswith("term:") and len(_WORD_RE.findall(m.surface)) == 1:
                out[m.surface.lower()] = [a for a in self.entries[m.record_id].aliases if compact(a) != compact(m.surface)]
        return out

    def _concepts(self, question: str, matches: list[RecordMatch], extra: dict[str, list[str]]) -> list[Concept]:
        """Content words outside the names and reference lookups, with their shorthand expansions."""
        masked = list(question)
        for m in matches:
            if not _is_vocabulary(m.record_id):  # a glossary word ("overall survival") is what is asked
                masked[m.start : m.end] = " " * (m.end - m.start)
        for rx in (_REF_RE, _BRACKET_REF_RE):
            for r in rx.finditer(question):
                masked[r.start() : r.end()] = " " * (r.end() - r.start())
        out: dict[str, Concept] = {}
        for word in _WORD_RE.findall("".join(masked).lower()):
            if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
                continue
            stem = kernel_text.stem([word])[0]
            alts = [(stem,)] + [tuple(content_terms(e)) for e in self.shorthand.get(word, []) + extra.get(word, [])]
            out.setdefault(stem, Concept(stem, tuple(alts)))
        return list(out.values())
