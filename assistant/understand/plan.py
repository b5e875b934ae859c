"""Question understanding as a typed plan: which records are asked about, what about them, in what form.

Pure code over the alias lexicon (assistant.understand.query.QueryAnalyzer) and the attribute vocabulary
(assistant.understand.attributes); no index, no model. The plan travels with the answer (``Answer.plan``) so the UI
and the evals can show why an answer took the shape it did.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.understand.attributes import BY_KEY, find_attributes, timepoints, with_markers
from assistant.understand.list_filters import (
    agents_in_trial,
    agents_of_class,
    filter_trials,
    gives_alone,
    run_by_same_group,
    tested_in,
)
from assistant.understand.phrases import matcher, vocabulary
from assistant.understand.query import QueryAnalyzer, compact

ENTITY_TYPES = ("trial", "agent", "biomarker", "mechanism")

_WORDS = vocabulary("plan_words")
_COMPARE = matcher(_WORDS["compare"])
_LIST_NOUNS = _WORDS["list_nouns"]


def _one_of(words: Any) -> str:
    """A vocabulary list as a pattern's alternatives: the words are data, the pattern's shape stays here."""
    return "|".join(re.escape(str(w)) for w in words)


_KINDS = _one_of(k for k in _LIST_NOUNS if k.endswith("s"))  # "trials", "drugs"
_KIND = _one_of(k for k in _LIST_NOUNS if not k.endswith("s"))  # "trial", "drug"
# "which trials tested it?", "list the phase 3 drugs": a kind of record up to four words after a list word
_LIST = re.compile(rf"\b(?:{_one_of(_WORDS['list_leads'])})\b(?!\s+(?:{_one_of(_WORDS['not_list_leads'])})\s+of\b)"
                   rf"(?:\s+[\w/-]+){{0,4}}?\s+(?P<noun>{_KINDS})\b", re.IGNORECASE)
# "list every placebo-controlled trial": a singular kind of record after every/each/all
_LIST_EVERY = re.compile(rf"\b(?:{_one_of(_WORDS['every'])})\s+(?:[\w/-]+\s+){{0,3}}?(?P<noun>{_KIND})s?\b", re.IGNORECASE)
# "anti-angiogenic drugs in the records?", "phase 3 trials covered?": a kind of record and nothing else
_LIST_BARE = re.compile(rf"^\s*(?:the\s+)?(?:[\w/-]+\s+){{0,3}}?(?P<noun>{_KINDS})\s*(?:(?:are|were)\s+)?"
                        rf"(?:(?:{_one_of(_WORDS['bare_list_end'])})?\s*\??\s*$|(?:{_one_of(_WORDS['bare_list_next'])})\b)",
                        re.IGNORECASE)
_KINDS_OF_RESISTANCE = matcher(_WORDS["kinds_of_resistance"])
_DEFINE = matcher(_WORDS["define"])
_NOT_DEFINE = matcher(_WORDS["not_define"])
# "what's AUC?", "what does ORR mean here?": the one word asked about, then the question's end or one of a few words
_WHATS = re.compile(rf"\bwhat(?:'s|s|\s+is|\s+does)\s+(?:an?\s+|the\s+)?(?P<x>[\w/+.-]+)(?:\s+(?:stand\s+for|mean))?\s*"
                    rf"(?:\?|$|\s+(?:{_one_of(_WORDS['whats_next'])})\b)", re.IGNORECASE)
_WHAT_IS_LEAD = re.compile(r"^\s*what(?:'s| is| are)\s+(?P<x>[\w/+.-]+)\s*,?\s+and\b", re.IGNORECASE)
_STANDS_FOR = matcher(_WORDS["_STANDS_FOR"])
_BARE_WHAT = re.compile(r"^\s*(?:what|who)(?:'s|s|\s+is|\s+are)\s+(?:an?\s+|the\s+)?[\w\s/+-]{1,40}\??\s*$", re.IGNORECASE)
_YES_NO = matcher(_WORDS["yes_no"])
_WHY_HOW = matcher(_WORDS["why_how"])
_BIBLIO = matcher(_WORDS["biblio"], slots={"number": r"\d+"})

# Diseases other than pleural mesothelioma: the sources do not report on them.
OTHER_DISEASES = matcher(_WORDS["other_diseases"])
# Names that look like a trial, a code name or a drug: when none of the indexed text holds them,
# the question is about something the sources do not cover.
# International nonproprietary name stems: a word ending so is a drug.
_INN = re.compile(rf"\b[a-z]{{3,}}(?:{'|'.join(_WORDS['drug_name_endings'])})\b", re.IGNORECASE)
# Trial families ("IMpower150", "the STELLAR trial") the sources do not hold; Planner adds the families of the
# indexed trials (the word before a trial name's number: "... 743" -> its family).
_OTHER_FAMILIES = tuple(_WORDS["other_families"])


def _code_like(families: list[str]) -> re.Pattern[str]:
    return re.compile(
        r"\b(?:[A-Z][A-Za-z]*[- ]?\d+[A-Za-z]*|[A-Za-z]*[a-z][A-Z]+[a-z]*\d*|NCT\d{8})\b|"
        r"\b(?i:" + "|".join(families) + r")[- ]?[A-Z0-9][A-Za-z0-9]*\b|" + _INN.pattern.replace("(?i)", ""))
# An acronym the sources never use names something they do not cover ("TIGIT", "MERIT", "MESO-PRIME"), unless it
# is one of the generic abbreviations clinicians write in questions.
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{2,}(?:-[A-Z0-9]+)*\b")
GENERIC_ACRONYMS = {"ANZ", "ANZCTR", "ACTRN", "USA", "ITT", "IHC", "NGS", "PCR", "FISH", "DNA", "RNA", "WES", "WGS", "CTCAE", "IRAE", "TRAE", "TEAE", "SAE", "MRI", "TKI", "ICI", "PRO", "RCT", "BID",
                    "QD", "Q2W", "Q3W", "Q4W", "Q6W", "AND", "THE", "WHAT", "WHICH", "HOW", "DID", "WAS", "FOR"}
_NOT_NAMES = {"phase", "grade", "stage", "type", "arm", "arms", "version", "day", "cycle", "figure", "table",
              "reference", "ref", "year", "years", "month", "months", "week", "weeks", "line", "cd", "covid",
              "level", "step", "part", "cohort", "group"}


@dataclass(frozen=True)
class PlanEntity:
    record_id: str
    name: str
    type: str
    surface: str  # the question's words that named it ("" when carried from the conversation)
    carried: bool = False


@dataclass(frozen=True)
class QuestionPlan:
    question: str
    entities: list[PlanEntity] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)  # attribute keys, see assistant.understand.attributes
    form: str = "fact"
    timepoint: str | None = None  # "2 years" for "2-year survival"
    timepoints: list[str] = field(default_factory=list)  # every one asked: "alive at 1 and 2 years"
    list_type: str | None = None  # "biomarker" for "list the biomarkers"
    other_disease: str | None = None
    unknown_names: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # glossary records named (vocabulary, not subjects)
    ref_numbers: list[int] = field(default_factory=list)
    carried_attributes: bool = False
    bare: bool = False  # nothing asked beyond the names: "What is X?", "Tell me about X", "X?"
    trial_words: list[str] = field(default_factory=list)  # words that may single out one trial of a drug
    asks_trial: bool = False  # "the intrapleural CAR-T trial": a trial is meant even when a drug is named
    context: list[str] = field(default_factory=list)  # the previous turn's records (a follow-up's setting)

    @property
    def entity_ids(self) -> list[str]:
        return [e.record_id for e in self.entities]

    @property
    def attribute(self) -> str | None:
        return self.attributes[0] if self.attributes else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["entities"] = [e.record_id for e in self.entities]
        d["entity_names"] = [e.name for e in self.entities]
        d["attribute"] = self.attribute
        return d


@dataclass
class _Draft:
    """The plan while the passes of ``Planner.plan`` refine it (one per call: no shared state)."""

    question: str
    previous: QuestionPlan | None
    previous_answer_entities: list[str]
    matches: list
    entities: list[PlanEntity]
    terms: list[str]
    keys: list[str]  # attribute keys
    refs: list[int]
    list_type: str | None
    carried_attrs: bool = False
    switched: bool = False  # the carry pass moved to a linked record of the kind asked


def is_acronym(name: str) -> bool:
    return bool(_ACRONYM.fullmatch(name))


def is_drug_name(name: str) -> bool:
    """A drug's international name, or a name holding one ("anetumab ravtansine")."""
    return any(_INN.fullmatch(w) for w in name.split())


def is_code_name(name: str) -> bool:
    """"LMB-100", "CRS-207", "KEYNOTE-028", "S0905": letters and a number of two or more digits."""
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z-]*[- ]?\d{2,}[A-Za-z]?", name))


class Planner:
    """``plan(question, previous=None) -> QuestionPlan``; read-only after construction (thread-safe)."""

    def __init__(self, analyzer: QueryAnalyzer, known_text: str = "") -> None:
        self.analyzer = analyzer
        self._known = _vocabulary(known_text)
        self._records = {r.id: r for r in getattr(analyzer, "records", [])}
        self._derive(list(self._records.values()))

    def _derive(self, records: list) -> None:
        """What the passes need to know of the corpus, from the records: the biomarkers' names ("BAP1 status" is
        no trial's status), the histologic subtype's record, the trial families ("KEYNOTE" of "KEYNOTE-483")."""
        markers = [n for r in records if r.type == "biomarker" for name in [r.name, *r.synonyms]
                   for n in dict.fromkeys([name, *name.split("/")])]
        self._attributes = with_markers(tuple(dict.fromkeys(markers)))
        self._subtype = next((r.id for r in records if r.type == "biomarker"
                              and "histopatholog" in (getattr(r, "kind", "") or "")), None)
        families = [m.group(1) for r in records if r.type == "trial" for name in [r.name, *r.synonyms]
                    if (m := re.match(r"([A-Za-z]{3,})[- ]?\d", name))]
        self._code_like = _code_like(list(dict.fromkeys(families + [re.escape(f) for f in _OTHER_FAMILIES])))

    @property
    def known(self) -> set[str]:
        """Compact forms of the indexed text's words and word pairs."""
        return self._known

    def plan(self, question: str, previous: QuestionPlan | None = None, previous_answer_entities: list[str] = ()
             ) -> QuestionPlan:
        """The named passes in order: entities, conversation carry (each follow-up pattern), definition, class
        in a trial, attribute filter, then the form. Each pass reads and refines the draft."""
        p = self._draft(_PREAMBLE.sub("", question), previous, previous_answer_entities)  # "surgeon here - ..."
        for step in (self._that_drug, self._drugs_of_class_term, self._it_with_qualifier, self._it_with_named_drug,
                     self._trial_of_it, self._ordinal, self._both, self._same_group, self._marker_in_it,
                     self._marker_ellipsis, self._marker_carried, self._subtype_in_trial, self._carry,
                     self._other_trial_of_drug, self._histology_benefit, self._definition, self._class_in_trial,
                     self._filter_attributes):
            step(p)
        return self._finish(p)

    def _draft(self, question: str, previous: QuestionPlan | None, previous_answer_entities: list[str]) -> _Draft:
        """Entities pass: the records the question names (joined drugs as their combination's record; a biomarker
        named as a drug's target is not asked about), its attributes, reference numbers and list type."""
        matches = self.analyzer.find_records(question)
        entities: list[PlanEntity] = []
        terms: list[str] = []
        for m in matches:
            rtype = m.record_id.partition(":")[0]
            if rtype in ENTITY_TYPES and m.record_id not in [e.record_id for e in entities]:
                entities.append(PlanEntity(m.record_id, m.name, rtype, m.surface))
            elif rtype == "term" and m.record_id not in terms:
                terms.append(m.record_id)
        entities = self._combined(entities, question)
        if any(e.type == "agent" for e in entities):
            as_target = [e for e in entities if e.type == "biomarker" and e.surface and
                         matcher(_WORDS["as_target"], slots={"surface": re.escape(e.surface)}).search(question)]
            entities = [e for e in entities if e not in as_target]
        keys = [a.key for a in find_attributes(question, self._attributes)]
        list_match = _LIST.search(question) or _LIST_BARE.match(question) or _LIST_EVERY.search(question)
        list_type = _LIST_NOUNS[list_match.group("noun").lower()] if list_match else None
        if not list_type and not entities and _KINDS_OF_RESISTANCE.search(question):
            list_type = "mechanism"  # "what are the three layers of resistance the review describes?"
        return _Draft(question, previous, previous_answer_entities, matches, entities, terms, keys,
                      self.analyzer.find_ref_numbers(question), list_type)


    def _that_drug(self, p: _Draft) -> None:
        """"that drug" in a follow-up: the drug of the records just discussed (a trial's, or the drug itself)."""
        if p.previous is not None and _THAT_DRUG.search(p.question):
            # "which later trial combined that drug with a checkpoint inhibitor?" after a turn on MAPS: bevacizumab
            drugs = []
            for rid in list(p.previous_answer_entities) + p.previous.entity_ids:
                rec = self._records.get(rid)
                if rec is not None and rec.type == "trial":
                    drugs += agents_in_trial(rec, self._records)
                elif rec is not None and rec.type == "agent":
                    drugs.append(rid)
            drugs = [d for d in dict.fromkeys(drugs) if d not in [e.record_id for e in p.entities]][:1]
            if drugs:
                p.entities = [self._entity(drugs[0])] + [e for e in p.entities if e.type != "agent"]
                asks_for_trial = _ASKS_FOR_TRIAL.search(p.question)
                if _TRIAL_OR_ONE.search(p.question) and "trials" not in p.keys and \
                        (asks_for_trial or not any("trial" in BY_KEY[k].types and "agent" not in BY_KEY[k].types for k in p.keys)):
                    p.keys = p.keys + ["trials"]

    def _drugs_of_class_term(self, p: _Draft) -> None:
        """A trial field asked of a class term alone: the class's drugs (their trials hold the field)."""
        if not p.entities and p.terms and _TRIAL.search(p.question) and \
                all(BY_KEY[k].types == ("trial",) for k in p.keys):
            # "NCT for the intrapleural CAR T study": the drugs of the class named; their trials hold the field
            agents = [r for t in p.terms for r in getattr(self.analyzer.entries.get(t), "related", ()) if r.startswith("agent:")]
            p.entities = [self._entity(a, carried=False) for a in dict.fromkeys(agents)]

    def _it_with_qualifier(self, p: _Draft) -> None:
        """"it" beside a qualifier record in a trial question: the previous records come first."""
        if p.previous is not None and not p.refs and p.previous.entities and _ANAPHOR.search(p.question) and p.entities and \
                not any(e.type in ("trial", "agent") for e in p.entities) and (p.list_type == "trial" or "trials" in p.keys):
            # "which trial tested it, and in which histology?": "it" is the previous drug, histology a qualifier
            p.entities = [self._entity(rid) for rid in p.previous.entity_ids] + p.entities

    def _it_with_named_drug(self, p: _Draft) -> None:
        """"it" given with a named drug: the previous drug joins the one named."""
        if p.previous is not None and _WITH_IT.search(p.question) and p.entities and all(e.type == "agent" for e in p.entities):
            # "which trial combined it with durvalumab?": "it" is the previous drug, given with the one named
            named = [e.record_id for e in p.entities]
            p.entities = [self._entity(rid) for rid in p.previous.entity_ids if rid.startswith("agent:") and rid not in named] + \
                p.entities

    def _trial_of_it(self, p: _Draft) -> None:
        """"the trial that gave it": a drug of the conversation, asked for its trials."""
        if p.previous is not None and _TRIAL_OF_IT.search(p.question) and not p.entities:
            # "and the trial that gave it alone - its OS HR?": "it" is a drug of the conversation, the one such a trial gave
            drugs = [r for r in p.previous.entity_ids + p.previous.context if r.startswith("agent:") and r in self._records]
            if ALONE.search(p.question):
                drugs = [d for d in drugs if any(gives_alone(t, self._records[d]) for t in self._records.values()
                                                 if t.type == "trial")] or drugs
            if drugs:
                p.entities = [self._entity(drugs[0])]
                p.keys = p.keys + ["trials"] if "trials" not in p.keys else p.keys

    def _ordinal(self, p: _Draft) -> None:
        """"the second drug": the conversation's records of that kind, in the order named."""
        if p.previous is not None and not p.entities and (ordinal := _ORDINAL.search(p.question)):
            # "what does the second drug target?"
            kind = _kind_named(ordinal.group(0), None)
            pool = [r for r in dict.fromkeys(p.previous.entity_ids + list(p.previous_answer_entities))
                    if r in self._records and (kind is None or r.startswith(kind + ":"))]
            at = next(at for nth, at in _ORDINAL_AT.items() if nth in ordinal.group(0).lower())
            if pool and (at < len(pool) or at == -1):
                p.entities = [self._entity(pool[at])]

    def _both(self, p: _Draft) -> None:
        """"they both": the last two records of a kind (or the drug two trials share)."""
        if p.previous is not None and not p.entities and _BOTH.search(p.question):
            # "what's the drug they both tested?" after turns on ATOMIC-Meso and ADAM: the last two records of a kind
            seen = [r for r in dict.fromkeys(p.previous.entity_ids + p.previous.context) if r in self._records]
            kind = seen[0].partition(":")[0] if seen else ""
            two = [r for r in seen if r.startswith(kind + ":")][:2]
            if len(two) == 2:
                p.entities = [self._entity(r) for r in two]
                if kind == "trial" and _ASKS_DRUG.search(p.question) and not set(p.keys) - {"arms", "tested", "drugs", "headline"}:
                    common = [a for a in agents_in_trial(self._records[two[0]], self._records, p.question)
                              if a in agents_in_trial(self._records[two[1]], self._records, p.question)]
                    if common:
                        p.entities = [self._entity(a) for a in common]
                        p.keys = ["definition"] if not p.keys or set(p.keys) <= {"tested", "arms", "drugs"} else p.keys

    def _same_group(self, p: _Draft) -> None:
        """"that group": the other trials run by the previous trial's sponsor."""
        if p.previous is not None and _SAME_GROUP.search(p.question) and not p.entities and \
                (ran := [r for r in p.previous.entity_ids if r.startswith("trial:") and r in self._records]):
            # "did that group run any other trial?" after "who sponsored BEAT-meso?": the group's other trials
            others = run_by_same_group(self._records[ran[0]], self._records)
            if others:
                p.entities = [self._entity(r, carried=False) for r in others]
                p.keys = ["sponsor"]

    def _marker_in_it(self, p: _Draft) -> None:
        """"did PD-L1 predict benefit in it?": the previous trial joins the biomarker named."""
        if p.previous is not None and p.entities and all(e.type == "biomarker" for e in p.entities) and \
                _IN_IT.search(p.question) and any(e.type == "trial" for e in p.previous.entities):
            # "did PD-L1 predict benefit in it?" after a turn on IND.227: IND.227's results by PD-L1
            p.entities = [PlanEntity(e.record_id, e.name, e.type, "", True) for e in p.previous.entities
                          if e.type == "trial"] + p.entities

    def _marker_ellipsis(self, p: _Draft) -> None:
        """An elliptical biomarker after a trial question about a drug: the drug and its attributes carry."""
        if p.previous is not None and p.entities and all(e.type == "biomarker" for e in p.entities) and _elliptical(p.question) \
                and "trials" in p.previous.attributes and any(e.type == "agent" for e in p.previous.entities):
            # "and in non-epithelioid disease?" after "which trial tested it in ASS1-deficient patients?"
            p.entities = [PlanEntity(e.record_id, e.name, e.type, "", True) for e in p.previous.entities
                          if e.type == "agent"] + p.entities
            p.keys = list(dict.fromkeys(p.previous.attributes + p.keys))

    def _marker_carried(self, p: _Draft) -> None:
        """A follow-up about a trial after a turn on a biomarker: the biomarker carries."""
        if p.previous is not None and p.entities and \
                (_ANAPHOR.search(p.question) or (_elliptical(p.question) and all(e.type == "trial" for e in p.entities))) and \
                not any(e.type == "biomarker" for e in p.entities) and any(e.type == "biomarker" for e in p.previous.entities):
            # "did it predict PFS in DREAM?" after a turn on PD-L1: DREAM's PFS by PD-L1
            p.entities = p.entities + [PlanEntity(e.record_id, e.name, e.type, "", True) for e in p.previous.entities
                                       if e.type == "biomarker"]

    def _subtype_in_trial(self, p: _Draft) -> None:
        """The histologic subtype alone after a turn on a trial: that trial, by histology."""
        if p.previous is not None and p.entities and all(e.record_id == self._subtype for e in p.entities) and \
                any(e.type == "trial" for e in p.previous.entities):
            # "which histology seemed to benefit more?": the trial of the conversation, by histology
            p.entities = [PlanEntity(e.record_id, e.name, e.type, "", True) for e in p.previous.entities if e.type == "trial"] + p.entities

    def _carry(self, p: _Draft) -> None:
        """Conversation-carry pass: a follow-up naming no record of its own asks about the previous turn's
        ("which trials tested it?" lists, but "it" is the previous topic); an elliptical one ("and for CONFIRM?")
        asks the previous question again."""
        if p.previous is None or p.refs or (p.terms and _defines(p.question)):
            return
        anaphor = not p.list_type or _ANAPHOR.search(p.question)
        if not p.entities and anaphor and p.previous.entities and not _stands_alone(p.question, p.keys):
            p.entities = [self._entity(rid) for rid in self._of_kind_asked(p, self._carried(p))]
        describing = _DESCRIBING | ({"arms"} if _AN_ARM.search(p.question) else set())  # "and in the placebo arm?"
        if p.entities and p.previous.attributes and _elliptical(p.question) and not p.switched and \
                (not p.keys or (set(p.keys) <= describing and not set(p.keys) & set(p.previous.attributes))):
            # "and for the other relapsed trial, CONFIRM?": "relapsed" describes the trial; the question is the last one
            p.keys, p.carried_attrs = list(p.previous.attributes), True
            if timepoints(p.question):  # "and at one year?" after overall survival: survival at that time
                p.keys = [{"os": "os_rate", "pfs": "pfs_rate"}.get(k, k) for k in p.keys]

    def _carried(self, p: _Draft) -> list[str]:
        """The previous turn's records that "it" / "that biomarker" / "the phase 3 one" means."""
        named_trial = bool(WHICH_TRIAL.search(p.previous.question)) and \
            any("trial" in BY_KEY[k].types for k in p.keys)  # "on the basis of which trial?" -> "how many did it enrol?"
        pool = [rid for rid in p.previous_answer_entities if rid in self.analyzer.entries] \
            if p.previous.list_type or "trials" in p.previous.attributes or named_trial else []
        if len(pool) > 1:  # "the phase 3 one", "the one in relapsed disease": the listed trials with it
            trials = [r for r in pool if r.startswith("trial:")]
            kept, shown = filter_trials(trials, self._records, p.question)
            pool = kept if shown and kept else pool
        # a glossary term named beside its record ("What are CAR-NK cells?") is not what "they" refers to
        carried = pool[:1] if pool else ([r for r in p.previous.entity_ids if not r.startswith("term:")]
                                         or p.previous.entity_ids)
        if (typed := _TYPED_ANAPHOR.search(p.question)) is not None:
            # "how is that biomarker measured?" after a turn on ADAM's selection: the biomarker, not ADAM
            kind = _kind_named(typed.group(0), "biomarker")
            of_kind = [r for r in dict.fromkeys(p.previous.entity_ids + list(p.previous_answer_entities) + p.previous.context)
                       if r.startswith(kind + ":")]
            linked = self._linked(p.previous.entity_ids, kind)
            carried = of_kind[:1] or (linked if len(linked) == 1 else []) or carried
        asked_of_drug = [k for k in p.keys if k not in _DESCRIBING]
        if asked_of_drug and all(rid.startswith("trial:") for rid in carried) and \
                all("trial" not in BY_KEY[k].types and "agent" in BY_KEY[k].types for k in asked_of_drug):
            # "what does it target?" after a turn on LUME-Meso: the drug the trial tested
            carried = [a for rid in carried for a in agents_in_trial(self._records[rid], self._records, p.question)
                       ] or carried
        return carried

    def _of_kind_asked(self, p: _Draft, carried: list[str]) -> list[str]:
        """A kind of record asked of the carried ones ("and what's the underlying mechanism called?"): the record
        of that kind they link to; the question then asks what that record is (``p.switched``)."""
        kind = _KIND_ASKED.search(p.question)
        kind = _kind_named(kind.group(0), None) if kind else None
        asked_of_marker = [k for k in p.keys if k not in _DESCRIBING and k in BY_KEY
                           and "biomarker" in BY_KEY[k].types and "trial" not in BY_KEY[k].types]
        if kind is None and asked_of_marker and all(rid.startswith("trial:") for rid in carried):
            kind = "biomarker"  # "how is it measured?" after "what biomarker selected patients for ADAM?"
        if kind and not all(rid.startswith(kind + ":") for rid in carried):
            linked = self._linked(carried, kind)
            if len(linked) > 1:  # ASS1 deficiency -> "Arginine auxotrophy (ASS1 loss)", the one naming it
                heads = [compact(self.analyzer.name_of(c).split()[0]) for c in carried]
                linked = [r for r in linked if any(h in compact(self.analyzer.name_of(r)) for h in heads)]
            if len(linked) == 1:
                own = [k for k in p.keys if k in BY_KEY and kind in BY_KEY[k].types]
                carried, p.keys, p.switched = linked, own or ["definition"], True
        return carried

    def _other_trial_of_drug(self, p: _Draft) -> None:
        """"the other ... trial" after a trial: the trial of the same drug that the words single out."""
        if p.previous is not None and _OTHER_TRIAL_OF_DRUG.search(p.question) and \
                all(e.carried for e in p.entities) and (ran := [r for r in p.previous.entity_ids if r.startswith("trial:")]):
            # "same in the first-line chemo trial?" after a turn on ADAM: pegargiminase's other trial that fits
            drugs = [a for r in ran for a in agents_in_trial(self._records[r], self._records)]
            others = [t for t, rec in self._records.items() if rec.type == "trial" and t not in ran and
                      any(tested_in(self._records[d], rec) for d in drugs)]
            kept, shown = filter_trials(others, self._records, p.question)
            if shown and len(kept) == 1:
                p.entities = [self._entity(kept[0])]
                if p.previous.attributes and not set(p.keys) - _DESCRIBING:
                    p.keys, p.carried_attrs = list(p.previous.attributes), True

    def _histology_benefit(self, p: _Draft) -> None:
        """"which histology benefits most?": the histologic subtype's relevance."""
        if _HISTOLOGY_BENEFIT.search(p.question) and not any(e.type == "trial" for e in p.entities) and \
                self._subtype is not None:
            # "which histology gets the most out of nivo ipi?": the histologic subtype's record says who gains most
            p.entities = [PlanEntity(self._subtype, self.analyzer.name_of(self._subtype), "biomarker", "")] + \
                [e for e in p.entities if e.record_id != self._subtype]
            p.keys = ["relevance"]

    def _definition(self, p: _Draft) -> None:
        """Definition pass: the glossary term asked about ("what's AUC?", "what does X stand for?")."""
        asked = _WHATS.search(p.question)
        named = [m.record_id for m in p.matches if asked and m.start <= asked.start("x") and asked.end("x") <= m.end]
        if named and any(m.record_id.startswith("trial:") for m in p.matches) and \
                any("trial" in a.types for a in find_attributes(asked.group("x"))):
            named = []  # "what is the OS in MiST2?": a trial's figure, not what OS means
        if not named and (quoted := _MEANS.search(p.question)):
            # "what does 'AUC 5' mean for carboplatin?": the glossary term inside the quoted words
            named = [m.record_id for m in p.matches if m.record_id in p.terms and quoted.start("x") <= m.start < quoted.end("x")]
        if named and any(m.record_id not in named for m in p.matches):  # "carboplatin AUC 5 - what's AUC?"
            p.entities = [e for e in p.entities if e.record_id in named]
            p.terms = [t for t in p.terms if t in named]
            p.keys = ["definition"]
        if _defines(p.question) or (not p.entities and p.terms and (_BARE_WHAT.match(p.question) or _bare(p.question, p.matches))):
            p.keys = ["definition"]
        if not p.entities and p.terms and p.keys == ["definition"]:
            p.entities = [PlanEntity(t, self.analyzer.name_of(t), "term", "") for t in p.terms[:2]]
            p.keys = ["definition"]
        elif p.terms and "definition" in p.keys and (lead := _WHAT_IS_LEAD.match(p.question)):
            # "what is PheraLys, and how does it relate to MesoPher?": the glossary term asked about comes first
            first = [m.record_id for m in p.matches if m.record_id in p.terms and m.start >= lead.start("x")
                     and m.start < lead.end("x") + 1]
            p.entities = [PlanEntity(t, self.analyzer.name_of(t), "term", "") for t in first] + p.entities
        elif p.entities and p.terms and (p.keys == ["definition"] or (not p.keys and _bare(p.question, p.matches))):
            # "What is ASS1?": the glossary expansion first, then the biomarker named by the same words
            spans = {(m.start, m.end) for m in p.matches if m.record_id in [e.record_id for e in p.entities]}
            same = [m.record_id for m in p.matches if m.record_id in p.terms and (m.start, m.end) in spans]
            p.entities = [PlanEntity(t, self.analyzer.name_of(t), "term", "") for t in dict.fromkeys(same)] + p.entities
        if p.keys == ["definition"] and _STANDS_FOR.search(p.question) and \
                (spelled := [e for e in p.entities if e.type == "term"]):
            p.entities = spelled  # "what does CDKN2A stand for?": the expansion, not the biomarker's record

    def _class_in_trial(self, p: _Draft) -> None:
        """"which anti-PD-L1 antibody was used in <trial>?": the trial's drug of that class, with its arms."""
        trials_named = [e for e in p.entities if e.type == "trial"]
        if len(trials_named) == 1 and len(p.entities) == 1 and _CLASS_IN_TRIAL.search(p.question):
            # "which anti-PD-L1 antibody was used in BEAT-meso?": the trial's drug of that class, with the trial's arms
            named = [r for t in p.terms if t in self._records for r in self._records[t].related if r.startswith("agent:")]
            of_class = set(named or agents_of_class(p.question, self._records))  # "anti-PD-L1": the term's drugs
            used = [a for a in agents_in_trial(self._records[trials_named[0].record_id], self._records) if a in of_class]
            if used:
                p.entities = [self._entity(a, carried=False) for a in used] + p.entities
                p.keys = ["class", "arms"]

    def _filter_attributes(self, p: _Draft) -> None:
        """Attribute-filter pass: drop attributes the records named cannot answer or the words do not ask."""
        if "selection" in p.keys and p.entities and all(e.type == "biomarker" for e in p.entities) and \
                not _CHOOSES.search(p.question):
            p.keys.remove("selection")  # "what is the ASS1 biomarker?": "biomarker" names it, it does not ask who was selected
            p.keys = p.keys or (["definition"] if _BARE_WHAT.match(p.question) else [])
        if p.entities and not p.keys and all(e.type == "mechanism" for e in p.entities) and _WHY_HOW.match(p.question):
            p.keys = ["definition"]  # "how does the immunosuppressive TME make MPM resistant?": what the record says it is
        if p.list_type and not p.entities:
            p.keys = [k for k in p.keys if k not in ("definition", "headline")]
        p.keys = [k for k in p.keys if _applies(k, p.entities)] or ([] if p.entities else p.keys)
        if "administration" in p.keys and {"arms", "dose"} & set(p.keys):  # "how is it given?": a trial's arms, or a drug's route
            if any(e.type == "trial" for e in p.entities) or _TRIAL.search(p.question):
                p.keys.remove("administration")  # "...dose and route in the mesothelioma trial": the trial's arms
            else:
                p.keys = [k for k in p.keys if k not in ("arms", "dose")]
        if any(e.type == "trial" for e in p.entities) and any(e.type == "biomarker" for e in p.entities) and \
                not set(p.keys) & _OUTCOMES and not _ASKS_SELECTION.search(p.question) and \
                (_PREDICTS.search(p.question) or (p.carried_attrs and p.previous is not None and _PREDICTS.search(p.previous.question))):
            # "did PD-L1 predict benefit in IND.227?": the trial's survival by that biomarker, or that it reports none
            p.keys = ["os", "pfs"]

    def _finish(self, p: _Draft) -> QuestionPlan:
        """Form pass: the answer's form, and the plan as the answer carries it."""
        rates = {"os_rate", "pfs_rate"} & set(p.keys)
        return QuestionPlan(
            question=p.question,
            entities=p.entities,
            attributes=p.keys,
            form=_form(p.question, p.entities, p.keys, p.list_type, p.refs),
            timepoint=(timepoints(p.question) or [None])[0] if rates else None,
            timepoints=timepoints(p.question) if rates else [],
            list_type=p.list_type,
            other_disease=_other_disease(p.question, p.matches),
            unknown_names=self._unknown_names(p.question, p.matches),
            terms=p.terms,
            ref_numbers=p.refs,
            carried_attributes=p.carried_attrs,
            bare=_bare(p.question, p.matches),
            trial_words=[w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9-]{3,}", p.question)],
            asks_trial=bool(_TRIAL.search(p.question)),
            # the records of the conversation so far, latest first ("and 2-year OS?" after a detour to the drug)
            context=[rid for rid in dict.fromkeys(p.previous.entity_ids + p.previous.context if p.previous is not None else [])
                     if rid not in [e.record_id for e in p.entities]][:6],
        )

    def _entity(self, rid: str, carried: bool = True) -> PlanEntity:
        """A record the plan takes from the conversation (or, ``carried=False``, from what the question implies)."""
        return PlanEntity(rid, self.analyzer.name_of(rid), rid.partition(":")[0], "", carried)

    def _linked(self, rids: list[str], kind: str) -> list[str]:
        """Records of a kind that the given records link to, in order."""
        return list(dict.fromkeys(r for c in rids if c in self._records
                                  for r in getattr(self._records[c], "related", []) if r.startswith(kind + ":")))

    def _combined(self, entities: list[PlanEntity], question: str) -> list[PlanEntity]:
        """"opdivo + yervoy": two drugs joined by "+", "plus" or "/" are their combination's record when there is one."""
        ids = [e.record_id for e in entities if e.type == "agent"]
        if len(ids) < 2 or not (_JOINED_SIGN.search(question) or _JOINED.search(question)):
            return entities
        for rid, rec in self._records.items():
            parts = [r for r in getattr(rec, "related", []) if r.startswith("agent:")
                     and r.partition(":")[2] in rid.partition(":")[2].split("-plus-")]
            if "-plus-" in rid and len(parts) >= 2 and set(parts) <= set(ids):
                first = min(i for i, e in enumerate(entities) if e.record_id in parts)
                kept = [e for e in entities if e.record_id not in parts]
                return kept[:first] + [PlanEntity(rid, rec.name, "agent", "")] + kept[first:]
        return entities

    def _unknown_names(self, question: str, matches: list) -> list[str]:
        covered = [(m.start, m.end) for m in matches]
        found: list[tuple[int, int]] = []
        for m in self._code_like.finditer(question):
            if any(s <= m.start() < e or s < m.end() <= e for s, e in covered):
                continue
            name = m.group(0)
            first = name.replace("-", " ").split(" ")[0].lower()
            if first in _NOT_NAMES or compact(name) in self._known or compact(name).isdigit():
                continue
            if all(compact(w) in self._known for w in re.findall(r"[A-Za-z]+|\d+", name)) and \
                    not any(c.isdecimal() for c in name) and not name.islower():
                continue  # "PD-L" parts or an ordinary capitalised word seen in the sources
            found.append(m.span())
        if sum(c.isupper() for c in question) < 0.5 * sum(c.isalpha() for c in question):  # not typed in capitals
            for m in _ACRONYM.finditer(question):
                name = m.group(0)
                if any(s <= m.start() < e for s, e in covered) or name in GENERIC_ACRONYMS or find_attributes(name, self._attributes) or \
                        compact(name) in self._known or any(s <= m.start() < e for s, e in found):
                    continue
                found.append(m.span())
        return list(dict.fromkeys(question[s:e] for s, e in _adjacent_joined(question, found)))


_ALNUM = re.compile(r"[A-Za-z0-9]+")
_TITLE_WORDS = re.compile(r"(?:[ ]+[A-Z][a-z]+\b)+")


def _adjacent_joined(question: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Unknown words next to each other are one name ("anetumab ravtansine", "SWOG S0905"), and so are the
    capitalised words that follow one ("JAVELIN Solid Tumor")."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if (title := _TITLE_WORDS.match(question, e)) is not None:
            e = title.end()
        if out and not question[out[-1][1]:s].strip():
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def _vocabulary(text: str) -> set[str]:
    """Compact forms of every word and adjacent word pair in the indexed text ("keynote189", "pd1")."""
    words = _ALNUM.findall(text)
    known = {w.lower() for w in words}
    known.update((a + b).lower() for a, b in itertools.pairwise(words))
    return known


def _applies(key: str, entities: list[PlanEntity]) -> bool:
    """An attribute applies to a plan naming a record of its type; trial attributes also to a drug or a
    biomarker (the trials that tested it hold the figure)."""
    if not entities:
        return True
    types = BY_KEY[key].types
    return any(e.type in types or ("trial" in types and e.type in ("agent", "biomarker", "term")) for e in entities)


def _stands_alone(question: str, keys: list[str]) -> bool:
    """A question that needs no topic: "list the biomarkers", "what is the review about?"."""
    return bool(_THE_REVIEW.search(question))


_DESCRIBING = {"setting", "design", "phase", "population"}  # words that also describe which record is meant
_AN_ARM = re.compile(r"\b(?:in|for|on|with|of) the (?:[\w-]+ ){1,2}(?:arm|group)\b", re.IGNORECASE)  # not "single-arm"


def refers_back(question: str) -> bool:
    """"its ORR?", "and DREAM?", "what about the other arm": the question leans on the conversation."""
    return _elliptical(question) or bool(_ANAPHOR.search(question)) or bool(_AN_ARM.search(question))


def _elliptical(question: str) -> bool:
    """"and ATOMIC-Meso?", "what about DENIM?", "same for MAPS2": the previous question's attribute holds."""
    # ("and was peritoneal disease allowed?" is a whole question of its own, not an ellipsis)
    return bool(_ELLIPTICAL.match(question)) or \
        len(re.findall(r"\w+", question)) <= 3


_ANAPHOR = matcher(_WORDS["anaphor"])
# "on the basis of which trial?": the trial the answer names is what the next "it" means
WHICH_TRIAL = re.compile(r"\b(?:which|what) (?:\w+ )?(?:trial|study)\b", re.IGNORECASE)  # not "which first-line trial"
_SAME_GROUP = matcher(_WORDS["same_group"])
_IN_IT = matcher(_WORDS["in_it"])
_OUTCOMES = {"os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "hr", "safety", "qol", "duration_of_response"}
_PREDICTS = matcher(_WORDS["predicts"])
_ASKS_SELECTION = matcher(_WORDS["asks_selection"])
_ORDINAL = matcher(_WORDS["ordinal"])
_ORDINAL_KINDS = _WORDS["ordinal_kinds"]
_ORDINAL_AT = _WORDS["ordinal_at"]
_TYPED_ANAPHOR = matcher(_WORDS["typed_anaphor"])
_KIND_ASKED = matcher(_WORDS["kind_asked"])
_OTHER_TRIAL_OF_DRUG = matcher(_WORDS["other_trial_of_drug"])
_HISTOLOGY_BENEFIT = matcher(_WORDS["histology_benefit"])
_CLASS_IN_TRIAL = matcher(_WORDS["class_in_trial"])
# "surgeon here - ...", "quick q: ...": who asks, before the question
_PREAMBLE = re.compile(rf"^\s*(?:(?:{_one_of(_WORDS['preamble_lead'])})\s+(?:q|question)|[\w-]+(?:\s+[\w-]+)?\s+"
                       rf"(?:{_one_of(_WORDS['preamble_end'])}))\s*[-:,–—]+\s*", re.IGNORECASE)
_MEANS = re.compile(r"\bwhat does ['\"‘“](?P<x>[^'\"’”?]{1,30})['\"’”] (?:mean|stand for)\b", re.IGNORECASE)
_BOTH = matcher(_WORDS["both"])
_ASKS_DRUG = matcher(_WORDS["_ASKS_DRUG"])
_THAT_DRUG = matcher(_WORDS["that_drug"])
_JOINED_SIGN = re.compile(r"\w\s*(?:\+|/)\s*\w")  # "opdivo + yervoy", "nivo/ipi"
_JOINED = matcher(_WORDS["joined"])
_WITH_IT = matcher(_WORDS["with_it"])
_TRIAL_OF_IT = matcher(_WORDS["trial_of_it"])
ALONE = matcher(_WORDS["alone"])
_THE_REVIEW = matcher(_WORDS["the_review"])
_TRIAL = matcher(_WORDS["trial"])
_TRIAL_OR_ONE = matcher(_WORDS["trial_or_one"])
_CHOOSES = matcher(_WORDS["chooses"])
_ASKS_FOR_TRIAL = matcher(_WORDS["asks_for_trial"])
_ELLIPTICAL = matcher(_WORDS["elliptical"])
_OVERVIEW = matcher(_WORDS["_OVERVIEW"])
_FILLER = matcher(_WORDS["_FILLER"])


def _kind_named(words: str, default: str | None) -> str | None:
    """The kind of record the last word of "the second drug" / "that biomarker" / "which mechanisms" means."""
    last = words.lower().removesuffix("s")
    return next((kind for word, kind in _ORDINAL_KINDS.items() if last.endswith(word)), default)


def _defines(question: str) -> bool:
    """"what does AUC mean?", "define ORR" (not "what does it mean for me?")."""
    return bool(_DEFINE.search(_NOT_DEFINE.sub(" ", question)))


def _bare(question: str, matches: list) -> bool:
    if _OVERVIEW.search(question):
        return True
    rest = list(question)
    for m in matches:
        rest[m.start:m.end] = " " * (m.end - m.start)
    words = _ALNUM.findall(_FILLER.sub(" ", "".join(rest)))
    return len(words) == 0


def _other_disease(question: str, matches: list) -> str | None:
    for m in OTHER_DISEASES.finditer(question):
        if not any(r.start <= m.start() < r.end for r in matches):
            return m.group(0)
    return None


def _form(question: str, entities: list[PlanEntity], keys: list[str], list_type: str | None, refs: list[int]) -> str:
    same_type = {}
    for e in entities:
        same_type.setdefault(e.type, []).append(e)
    multi = any(len(v) >= 2 for t, v in same_type.items() if t != "term")
    if multi and (_COMPARE.search(question) or (keys and "trials" not in keys)):
        return "comparison"
    if list_type or "trials" in keys:
        return "list"
    if refs or (_BIBLIO.search(question) and "publication" in keys) or "publication" in keys:
        return "bibliographic"
    if _YES_NO.match(question):
        return "yes-no"
    if _WHY_HOW.match(question):
        return "why-how"
    if keys == ["definition"]:
        return "definition"
    return "fact"
