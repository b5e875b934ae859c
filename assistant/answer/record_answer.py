"""Answers from the typed records: the field a question asks for, quoted from the record's indexed text.

``RecordFacts`` knows, for every record whose indexed text is exactly what ``indexing.render`` makes of
it today, which span holds which field. ``parts(plan)`` turns a question plan into one ``Part`` per
record asked about: the spans to quote, or the precise statement that the record lacks the attribute
and what it does report. Nothing here reads another record's value into a part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.answer.model import and_list
from assistant.understand.attributes import BY_KEY, RECORD_ONLY
from assistant.understand.list_filters import (
    agents_of_class,
    filter_trials,
    gives_alone,
    is_chemotherapy,
    names_record,
    qualifiers,
    says_all,
    sponsor_of,
    tested_in,
)
from assistant.understand.phrases import matcher, vocabulary
from assistant.understand.plan import ALONE, QuestionPlan
from assistant.understand.query import compact
from indexing.render import MEASURE_LABELS, FieldSpan, publication_text, record_names, render_fields
from kernel.config import AnswerConfig
from kernel.text import stem

EVIDENCE_ORDER = {"primary": 0, "regulatory": 1, "registry": 2, "secondary": 3, None: 4}
_WORDS = vocabulary("record_answer_words")  # words/record_answer_words.yaml
MEASURE_WORDS = tuple((measure, matcher(words)) for measure, words in _WORDS["primary_measures"].items())
# Words that ask for a subgroup; RecordFacts adds the symbols of the biomarkers the trial records name ("PD-L1").
SUBGROUP_WORDS = (r"histolog|epithelioid|sarcomatoid|biphasic|subgroup", r"sex|women|men\b")
# Which field best shows why a record is on a list, when several say the words asked.
SAYING_ORDER = ("summary", "description", "setting", "population", "design", "arms", "relevance", "class")
TRIAL_MEASURES = {"os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "hr", "safety", "specific_ae"}
SELECTED_BY = matcher(_WORDS["selected_by"])
BLOCKS = matcher(_WORDS["blocks"])
ASKS_RATE = matcher(_WORDS["asks_rate"])
_ASKS_RESULTS = matcher(_WORDS["asks_results"])
_ASKS_MEDIAN = matcher(_WORDS["asks_median"])
_NEGATION = matcher(_WORDS["negation"])
ASKS_CI = re.compile(r"(?i:\bconfidence intervals?\b)|\bCIs?\b")  # "CI" in capitals: "cis/pem" is not one
# What a definition quotes, by record type: what the thing is, then what it does or how it is measured.
DEFINITION_FIELDS = {
    "term": ("expansion", "summary", "definition"),
    "mechanism": ("summary", "description", "examples"),
    "biomarker": ("intro", "summary", "measurement"),
    "agent": ("class", "summary", "mechanism"),
    "other": ("expansion", "definition", "class", "intro", "design", "summary", "description"),
}
_COMMON = {"trial", "trials", "study", "patients", "mesothelioma", "pleural", "malignant", "therapy", "treatment",
           "survival", "overall", "median", "response", "given", "tested", "cells", "after", "which", "what"}


@dataclass(frozen=True)
class Quote:
    record_id: str
    start: int
    end: int
    label: str  # the field, as a reader names it
    publication: str | None = None  # where the field's figures come from


@dataclass(frozen=True)
class Part:
    record_id: str
    name: str
    quotes: list[Quote] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # labels of asked attributes the record lacks
    reports: list[str] = field(default_factory=list)  # what the record does report (when something is missing)
    anchor: Quote | None = None  # the span a "does not report" statement cites


class RecordFacts:
    """Field spans of the indexed records. Read-only after construction."""

    def __init__(self, records: Iterable[Any], doc_text: Callable[[str], str | None],
                 config: AnswerConfig | None = None):
        self.max_quotes = (config or AnswerConfig()).max_quotes
        self.records: dict[str, Any] = {}
        self.fields: dict[str, list[FieldSpan]] = {}
        self._texts: dict[str, str] = {}
        records = list(records)
        self._derive(records)
        names = record_names(records)
        self._review = compact(doc_text("review") or "")
        for r in records:
            if r.type == "ref" and not getattr(r, "captured", False):
                continue
            text = doc_text(r.id)
            if text is None:
                continue
            rendered = render_fields(r, names)
            if rendered.text != text:  # index built from other records or rendering: spans unknown
                continue
            self.records[r.id] = r
            self.fields[r.id] = rendered.fields
            self._texts[r.id] = text

    def _derive(self, records: list[Any]) -> None:
        """What the answers need to know of the corpus, from the records: the chemotherapy drugs, the biomarkers
        the trials are split by, the groups that run trials."""
        chemo = [re.escape(r.name.lower()) for r in records if r.type == "agent" and is_chemotherapy(r)]
        self._with_chemo = matcher(_WORDS["with_chemo"], {"chemo": "|".join([matcher(_WORDS["chemo"]).pattern, *chemo])})
        self._chemo_words = re.compile("|".join([matcher(_WORDS["chemo_in_arm"]).pattern, *chemo]), re.IGNORECASE)
        trials = [r for r in records if r.type == "trial"]
        said = " ".join(f"{t.population or ''} {t.design or ''} " + " ".join(f"{x.subgroup or ''} {x.statement or ''}"
                                                                             for x in t.results) for t in trials).lower()
        symbols = [r.name.split()[0].lower() for r in records if r.type == "biomarker" and re.search(r"\d", r.name.split()[0])
                   and any(n.lower() in said for n in [r.name, *r.synonyms])]  # "PD-L1 expression" -> "pd-l1"
        self._subgroup_words = re.compile("|".join([SUBGROUP_WORDS[0], *(re.escape(m).replace(r"\-", "-?")
                                                                          for m in symbols), SUBGROUP_WORDS[1]]),
                                          re.IGNORECASE)
        sponsors = sorted({g for t in trials if (g := sponsor_of(t))})  # "run by PrECOG"
        self._requires = {"sponsor": "|".join([BY_KEY["sponsor"].extra["requires"], *map(re.escape, sponsors)])}

    def covers(self, record_id: str) -> bool:
        return record_id in self.fields

    # -- lists ----------------------------------------------------------------------------------------
    def of_type(self, rtype: str) -> list[str]:
        return [rid for rid, r in self.records.items() if r.type == rtype]

    def trials_testing(self, record_id: str) -> list[str]:
        """Trials that link to the record, or whose arms name it (by name, synonym or code name)."""
        rec = self.records.get(record_id)
        if rec is None:
            return []
        return [rid for rid, r in self.records.items() if r.type == "trial" and tested_in(rec, r)]

    # -- one record -------------------------------------------------------------------------------------
    def part(self, record_id: str, attributes: list[str], plan: QuestionPlan) -> Part:
        rec = self.records[record_id]
        own = [a for a in attributes if a not in BY_KEY or rec.type in BY_KEY[a].types or a in RECORD_ONLY]
        typed = [a for a in attributes if a in BY_KEY and rec.type in BY_KEY[a].types]
        if typed and len({e.type for e in plan.entities}) > 1 and len(plan.entities) > 1:
            own = typed  # "which anti-PD-L1 antibody was used in BEAT-meso?": the drug's class, the trial's arms
        attributes = own or attributes  # "did PD-L1 predict PFS in DREAM?": DREAM is not asked its "relevance"
        quotes: list[Quote] = []
        missing: list[str] = []
        for key in sorted(attributes or ["overview"], key=lambda k: k != "headline"):
            found = self._quotes_for(rec, key, plan)
            if key not in ("overview", "definition", "headline", "item", "list_item"):
                found = [q for q in found if not self._says_absent(q, plan.question)]
            if found:
                quotes.extend(q for q in found if q not in quotes)
            elif key not in ("overview", "item", "list_item"):
                missing.append(_asked_label(key, plan, self._subgroup_words))
        if missing and set(attributes) & RECORD_ONLY and all(k not in RECORD_ONLY for k in attributes
                                                              if _asked_label(k, plan, self._subgroup_words) not in missing):
            quotes = []  # the specific figure asked is missing: a generic fact about X is not its answer
        if "hr" in attributes and _asked_label("hr", plan, self._subgroup_words) in missing:
            quotes = []  # "the PFS hazard ratio": medians without one do not answer it
        part = Part(record_id, rec.name, quotes[:self.max_quotes], missing)
        if missing:
            part = Part(record_id, rec.name, part.quotes, missing, self.reports(rec), self._anchor(rec))
        return part

    def _says_absent(self, quote: Quote, question: str) -> bool:
        """The quote says the asked fact is missing ("grade 3-4 event rates were not available"): no answer."""
        text = self.text_of(quote.record_id)[quote.start:quote.end]
        asked = {w for w in stem(re.findall(r"[a-z0-9-]+", question.lower())) if len(w) >= 4 or re.search(r"\d", w)}
        for m in _ABSENT.finditer(text):
            before = stem(re.findall(r"[a-z0-9-]+", text[max(0, m.start() - 60):m.start()].lower()))
            if asked & set(before):
                return True
        return False

    def _span(self, rec: Any, key: str) -> FieldSpan | None:
        return next((f for f in self.fields[rec.id] if f.key == key), None)

    def _quote(self, rec: Any, f: FieldSpan, publication: str | None = None) -> Quote:
        return Quote(rec.id, f.start, f.end, f.label, publication or record_publication(rec))

    def _anchor(self, rec: Any) -> Quote | None:
        f = self.fields[rec.id][0] if self.fields[rec.id] else None
        return self._quote(rec, f) if f else None

    def _quotes_for(self, rec: Any, key: str, plan: QuestionPlan) -> list[Quote]:
        """The spans of ``rec`` that answer ``key``: an attribute, or what a list item, an overview or a
        definition quotes, or the headline result."""
        if key in ("item", "list_item"):
            return self._item_quotes(rec, key, plan)
        if key in ("overview", "definition"):
            keys = DEFINITION_FIELDS.get(rec.type, DEFINITION_FIELDS["other"])
            out = [self._quote(rec, f) for f in self.fields[rec.id] if f.key in keys][:3]
            if key == "overview" and rec.type == "trial":
                out += self._quotes_for(rec, "headline", plan)[:1]
            return out
        if key == "headline":
            if rec.type != "trial":
                if rec.type == "agent" and (plan.asks_trial or _ASKS_RESULTS.search(plan.question)) \
                        and not self.trials_testing(rec.id):
                    return []  # "any trial results with CAR-NK cells?": no trial record tested it
                return [self._quote(rec, f) for f in self.fields[rec.id] if f.key == "summary"]
            return self._results(rec, _primary_measures(rec), plan, primary=True)
        if key == "trials":
            return []  # answered as a list of trial parts, see parts()
        attr = BY_KEY[key]
        if attr.measures:
            return self._measure_quotes(rec, key, attr, plan)
        if key == "publication":
            return self._publication_quotes(rec, plan)
        if key == "approval":
            return self._approval_quotes(rec, plan)
        return self._field_quotes(rec, key, attr, plan)

    def _item_quotes(self, rec: Any, key: str, plan: QuestionPlan) -> list[Quote]:
        """One line per record in a list (``list_item``); what sets it apart in a comparison (``item``)."""
        if key == "list_item" and rec.type == "trial":  # "which trials are covered?": what each one was
            return [self._quote(rec, f) for f in self.fields[rec.id] if f.key == "summary"][:1] or \
                self._quotes_for(rec, "item", plan)
        if rec.type == "trial":
            return self._quotes_for(rec, "headline", plan)[:2]
        keys = ("class", "summary") if rec.type == "agent" else ("summary", "expansion")
        if key == "item" and rec.type == "agent":
            keys = ("class", "modality", "summary")
        return [self._quote(rec, f) for f in self.fields[rec.id] if f.key in keys][:1 if key == "list_item" else 3]

    def _measure_quotes(self, rec: Any, key: str, attr: Any, plan: QuestionPlan) -> list[Quote]:
        """A result measure (OS, PFS, ORR, HR, safety, ...): the results that report it, with the figure asked."""
        measures = attr.measures
        if key == "hr":
            asked = [k for k in plan.attributes if k in ("os", "pfs")]
            measures = tuple(asked) or measures
        found = self._results(rec, measures, plan, hr_only=attr.hr_only)
        text = self.text_of(rec.id)
        if not found and rec.type == "trial":  # "ORR 20%; DCR 77%" inside a result filed as "other"
            found = [self._quote(rec, f, result_publication(rec.results[int(f.key[7:])], rec))
                     for f in self.fields[rec.id] if f.key.startswith("result:")
                     and rec.results[int(f.key[7:])].measure == "other" and attr.pattern.search(text[f.start:f.end])]
        if attr.extra.get("result_words"):  # "later got a checkpoint inhibitor": a result about subsequent therapy
            found = [q for q in found if re.search(attr.extra["result_words"], text[q.start:q.end], re.IGNORECASE)]
        if attr.extra.get("requires_asked_word"):  # "hepatitis": only a result that names it
            word = attr.pattern.search(plan.question).group(0).lower()[:7]
            found = [q for q in found if word in text[q.start:q.end].lower()]
        if key in ("os", "pfs") and _ASKS_MEDIAN.search(plan.question):
            found = [q for q in found if re.search(r"\d\s*(?:months?|mo|days?|weeks?|years?)\b", text[q.start:q.end])]
        if key in ("safety", "os_rate", "pfs_rate", "orr", "dcr") and ASKS_RATE.search(plan.question):
            # "the exact percentage alive at 36 months", "the grade 3-4 AE rate": a figure, not a word
            found = [q for q in found if re.search(r"\d\s*%|\b\d+ (?:of|patients|events)\b", text[q.start:q.end])]
        if ASKS_CI.search(plan.question):  # "the CI of the hazard ratio": a figure without one does not answer
            found = [q for q in found if re.search(r"\bCI\b", text[q.start:q.end])]
        return found

    def _publication_quotes(self, rec: Any, plan: QuestionPlan) -> list[Quote]:
        """The record's publication field, then the review's own reference entry for it."""
        refs = [f"ref:{src.ref}" for src in rec.sources if getattr(src, "ref", None)]
        out = [self._quote(rec, f) for f in self.fields[rec.id] if f.key == "publication"]
        for rid in refs:  # only a reference entry that is this publication (a source may be a guideline)
            ref = self.records.get(rid)
            if ref is not None and _same_publication(getattr(rec, "publication", None), self.text_of(rid)):
                out += [self._quote(ref, f) for f in self.fields.get(rid, []) if f.key == "citation"]
        entries = [q for q in out if q.record_id.startswith("ref:")]
        if entries and ASKS_REFERENCE.search(plan.question):  # "which numbered reference is the ATOMIC-Meso paper?"
            return entries[:1]
        return out[:2]

    def _approval_quotes(self, rec: Any, plan: QuestionPlan) -> list[Quote]:
        """Regulatory decisions; "the EMA approval": only that agency's decisions answer it."""
        agencies = re.findall(r"\b(FDA|EMA|NICE|PMDA|NMPA|Health Canada|EU|EC|Europe\w*)\b", plan.question, re.IGNORECASE)
        agencies += ["FDA"] if _NAMES_US.search(plan.question) else []
        found = [self._quote(rec, f) for f in self.fields[rec.id] if f.key.startswith("approval:")]
        if agencies:  # "the EU approval" is the EMA's opinion and the Commission's decision
            wanted = {a.upper() for a in agencies} | ({"EMA", "EC"} if re.search(r"\b(?:EU|EC|Europe)", plan.question,
                                                                                 re.IGNORECASE) else set())
            wanted |= {"FDA"} if _NAMES_US.search(plan.question) else set()
            found = [q for q in found if q.label.split("(")[-1].rstrip(")").upper() in wanted]
        return found

    def _field_quotes(self, rec: Any, key: str, attr: Any, plan: QuestionPlan) -> list[Quote]:
        """The record fields that hold the attribute (the first that has it, or all of them), saying what it
        requires ("what dose?": an arms field that names no dose does not answer it)."""
        out: list[Quote] = []
        needs = self._requires.get(key, attr.extra.get("requires"))
        if key == "registration" and not _NEGATION.search(plan.question):  # "DENIM's NCT number?": not a EudraCT one
            named = sorted((m.start(), rx) for asked, rx in _REGISTRIES
                           if (m := re.search(asked, plan.question, re.IGNORECASE)))
            needs = named[0][1] if named else needs  # "ANZCTR rather than an NCT": the first one named
        text = self.text_of(rec.id)
        if key == "dose":  # "what pembrolizumab dose...?": a dose written next to that drug's name
            drugs = [self.records[e.record_id] for e in plan.entities if e.type == "agent" and e.record_id in self.records]
            drugs += [self.records[r] for d in drugs if "-plus-" in d.id for r in d.related  # "nivo + ipi": each drug's dose
                      if r.startswith("agent:") and r in self.records and r in d.id]
            names = [re.escape(n) for d in drugs for n in [d.name, *d.synonyms] if len(n) >= 4]
            names += [re.escape(w) for w in re.findall(r"[a-z]{3,}(?:citabine|bine|platin|trexed|taxel|mab|nib)\b",
                                                        plan.question.lower())]  # "the gemcitabine dose"
            if names:
                named = rf"(?:{'|'.join(names)})"
                if not any(_doses_drug(a, named, needs) for a in getattr(rec, "arms", []) or []):
                    return []  # "what pembrolizumab dose was given after the CAR T cells?": no figure for it
                needs = None
            arms = _arms_asked(rec, plan.question)
            if arms and not any(re.search(attr.extra["requires"], a.regimen or "") for a in arms):
                return []  # "what chemo doses did the control arm get?": that arm's regimen names no dose
        for fkey in attr.fields:
            out += [self._quote(rec, f) for f in self.fields[rec.id] if (f.key == fkey or f.key.startswith(fkey + ":"))
                    and (not needs or re.search(needs, text[f.start:f.end], re.IGNORECASE))]
            if out and not attr.extra.get("all_fields"):
                break
        return out

    def text_of(self, record_id: str) -> str:
        return self._texts[record_id]

    def _results(self, rec: Any, measures: tuple[str, ...], plan: QuestionPlan, hr_only: bool = False,
                 primary: bool = False) -> list[Quote]:
        results = getattr(rec, "results", []) or []
        asked_text = _AS_TARGET.sub(" ", plan.question)  # "a PD-L1 antibody" names a drug, not a PD-L1 subgroup
        marker_text = " ".join([asked_text, *(e.name for e in plan.entities if e.type == "biomarker")])
        if self._subgroup_words.search(marker_text) and any(r.measure in (*measures, "other") and _same_subgroup(marker_text, r, self._subgroup_words) and
                                                      self._subgroup_words.search(f"{r.subgroup or ''} {r.endpoint}")
                                                      for r in results):
            asked_text = marker_text  # "did it (PD-L1) predict PFS in DREAM?": DREAM reports PFS by PD-L1
        wants_subgroup = bool(self._subgroup_words.search(asked_text))
        if wants_subgroup and asked_text != marker_text and not _COMPARES_SUBGROUPS.search(plan.question) and \
                not any(r.subgroup and _same_subgroup(asked_text, r, self._subgroup_words) for r in results) and all(
                w.group(0).lower() in compact(getattr(rec, "population", "") or "") for w in self._subgroup_words.finditer(
                    compact(asked_text))):
            wants_subgroup = False  # "ADI-PEG 20 in nonepithelioid MPM: PFS?": ATOMIC-Meso enrolled only them
        picked = []
        asked = {w for w in plan.trial_words if w not in _COMMON}
        # a trial that reports a measure only for a subgroup ("18 patients who also received pembrolizumab")
        subgroups_only = not any(r.measure in measures and not r.subgroup for r in results)
        by_marker = asked_text == marker_text and marker_text != _AS_TARGET.sub(" ", plan.question)
        for i, res in enumerate(results):
            named = bool(asked & set(re.findall(r"[a-z][a-z0-9-]{3,}", f"{res.endpoint} {res.subgroup or ''}".lower())))
            named = named or (by_marker and res.measure == "other" and _same_subgroup(asked_text, res, self._subgroup_words))
            if (res.measure not in measures and not (res.measure == "other" and named)) or \
                    (hr_only and res.hazard_ratio is None):
                continue
            if res.measure == "safety" and _TREATMENT_RELATED.search(plan.question) and \
                    _ANY_CAUSE.search(f"{res.endpoint} {res.subgroup or ''}"):
                continue  # "the treatment-related grade 3-4 rate" is not the rate of events of any cause
            if res.subgroup and not (wants_subgroup or named or subgroups_only):
                continue
            if wants_subgroup and not subgroups_only and not _same_subgroup(asked_text, res, self._subgroup_words):
                continue  # "the epithelioid subgroup": only a result for that subgroup answers it
            if plan.timepoint and res.measure in ("os_rate", "pfs_rate") and \
                    not any(_same_time(t, res) for t in plan.timepoints or [plan.timepoint]):
                continue
            f = self._span(rec, f"result:{i}")
            if f is not None:
                picked.append(self._quote(rec, f, result_publication(res, rec)))
        phase = re.search(r"\bphase\s*(\d)\b", plan.question, re.IGNORECASE)
        if phase and len(picked) > 1:  # "the phase 3 part": not a result labelled with another phase's part
            other = re.compile(rf"\bphase\s*(?!{phase.group(1)}\b)\d\s+part\b(?! *\))", re.IGNORECASE)
            same = [q for q in picked if not other.search(re.sub(r"\(patients separate from[^)]*\)", "", q.label))]
            said = [q for q in same if re.search(rf"\bphase\s*{phase.group(1)}\b", q.label, re.IGNORECASE)]
            picked = said or same or picked
        if not picked and plan.timepoint and set(measures) & {"os_rate", "pfs_rate"}:
            # "6-month OS 70%" reported inside another result's figures
            n, unit = plan.timepoint.split()
            said = re.compile(rf"\b{n}[- ]{unit.rstrip('s')}", re.IGNORECASE)
            text = self.text_of(rec.id)
            picked = [self._quote(rec, f, result_publication(rec.results[int(f.key[7:])], rec))
                      for f in self.fields[rec.id] if f.key.startswith("result:") and said.search(text[f.start:f.end])]
        if primary and not picked:  # no result on the primary endpoint: its first ITT result
            for i, res in enumerate(rec.results):
                f = self._span(rec, f"result:{i}")
                if f is not None and not res.subgroup:
                    return [self._quote(rec, f, result_publication(res, rec))]
        return picked

    def _class_members(self, plan: QuestionPlan, rtype: str | None = None) -> list[str]:
        """"which anti-CTLA-4 antibodies...?": the members a class term links to, of the listed type."""
        out = []
        for tid in plan.terms:
            term = self.records.get(tid)
            if term is not None and not _names_the_disease(term):  # "biomarkers ... in MPM": every record is about it
                out += [r for r in term.related if r in self.records and self.records[r].type == (rtype or plan.list_type)]
        return list(dict.fromkeys(out))

    def _selects(self, trial_id: str, markers: list[str]) -> bool:
        """The trial's population or setting names the biomarker (ADAM: "found ASS1-deficient")."""
        text = compact(f"{self.records[trial_id].population or ''} {self.records[trial_id].setting or ''}")
        return any(compact(n) in text for m in markers for n in [*_name_parts_of(self.records[m].name),
                                                                   *self.records[m].synonyms] if len(compact(n)) >= 3)

    def _arm_gives(self, arm: Any, agents: list[str]) -> bool:
        return any(names_record(f"{arm.name} {arm.regimen or ''}", self.records[a]) for a in agents if a in self.records)

    def _in_review(self, record_id: str) -> bool:
        """The review's own text names the record (its name before any parenthesis, or a synonym)."""
        rec = self.records[record_id]
        return any(len(compact(n)) >= 5 and compact(n) in self._review for n in [_name_parts_of(rec.name)[0], *rec.synonyms])

    def _published_in(self, trials: list[str], question: str) -> list[str]:
        years = set(re.findall(r"\b(?:19|20)\d\d\b", question))
        return [t for t in trials if str(getattr(getattr(self.records[t], "publication", None), "year", "")) in years]

    def _given_with(self, trials: list[str], plan: QuestionPlan) -> list[str]:
        """"pembrolizumab + chemo": the trials with an arm giving the drug together with chemotherapy."""
        drugs = [self.records[e.record_id] for e in plan.entities if e.type == "agent" and e.record_id in self.records
                 and not is_chemotherapy(self.records[e.record_id])]
        if not self._with_chemo.search(plan.question) or not drugs:
            return []
        names = [compact(n) for d in drugs for n in [d.name, *d.synonyms] if len(compact(n)) >= 4]
        return [t for t in trials if any(any(n in compact(a.name) for n in names) and self._chemo_words.search(a.name)
                                         for a in self.records[t].arms)]

    def _alone(self, trial_id: str, drugs: list[Any]) -> bool:
        return any(gives_alone(self.records[trial_id], self.records[e.record_id]) for e in drugs if e.record_id in self.records)

    def _targets_entity(self, agent_id: str, record_id: str) -> bool:
        names = {compact(n) for n in [self.records[record_id].name, *self.records[record_id].synonyms]}
        return any(compact(t) in names for t in getattr(self.records[agent_id], "targets", []) or [])

    def _linked(self, record_id: str, rtype: str) -> list[str]:
        """Records of a type that link to the record or that it links to."""
        rec = self.records.get(record_id)
        if rec is None:
            return []
        out = [r for r in rec.related if r in self.records and self.records[r].type == rtype]
        out += [rid for rid, r in self.records.items() if r.type == rtype and record_id in r.related]
        return list(dict.fromkeys(out))

    def agents_for(self, record_id: str) -> list[str]:
        """Drugs a biomarker, mechanism or term links to (or that link to it)."""
        return self._linked(record_id, "agent")

    def _single_out(self, trials: list[str], plan: QuestionPlan) -> list[str]:
        """"the intrapleural trial of X": keep the trials whose name or summary shares the question's words."""
        def overlap(rid: str) -> int:
            r = self.records[rid]
            text = f"{r.name} {' '.join(r.synonyms)} {r.summary} {r.design} {r.setting or ''} {r.population}".lower()
            return sum(1 for w in plan.trial_words if w in text and w not in _COMMON)
        scores = {t: overlap(t) for t in trials}
        best = max(scores.values())
        return [t for t in trials if scores[t] == best] if best > 0 else trials

    def reports(self, rec: Any) -> list[str]:
        """What the record holds, as a reader names it ("overall survival", "the arms and doses")."""
        labels = []
        if rec.type == "trial":
            labels += [short_label(r) for r in rec.results]
            labels += [f.label for f in self.fields[rec.id]
                       if f.key in ("n_randomised", "arms", "primary_endpoint", "population", "registration")]
        else:
            labels += [f.label for f in self.fields[rec.id] if f.key not in ("names", "sources", "summary", "intro")]
        return list(dict.fromkeys(labels))

    def _list_parts(self, plan: QuestionPlan, attrs: list[str]) -> list[Part]:
        """"Which randomised trials tested checkpoint inhibitors in relapsed disease?", "list the biomarkers":
        the records of the listed type that have every property named, each quoting the field that shows it."""
        # the drugs of a class term the question names ("a PD-1 antibody") are more specific than class words
        # ("antibody", "after platinum chemotherapy"), which would take in every chemotherapy trial
        specific = [t for t in plan.terms if "(class)" in getattr(self.records.get(t), "name", "")]
        agents = self._class_members(replace(plan, terms=specific), "agent") if specific else []
        agents = agents or list(dict.fromkeys(self._class_members(plan, "agent") + agents_of_class(plan.question, self.records)))
        if plan.list_type == "trial":
            words = [] if agents else qualifiers(plan.question)
            members = list(dict.fromkeys(t for a in agents for t in self.trials_testing(a))) if agents \
                else self.of_type("trial")
            members, shown = filter_trials(members, self.records, plan.question)
            own = [a for a in attrs if a in BY_KEY and "trial" in BY_KEY[a].types and a not in ("drugs", "target")]
            if words:  # "which trials enrolled peritoneal mesothelioma?": the field that says so, per trial
                fields = [f for a in own for f in BY_KEY[a].fields]
                return self._saying(members, words, fields)
            keys = list(dict.fromkeys((["arms"] if agents else []) + shown + own))[:2] or ["list_item"]
            parts = [self.part(t, keys, plan) for t in members]
            return [p for p in parts if p.quotes] if own else parts  # "which trials reported a DCR?"
        members = self._class_members(plan) or [a for a in agents if self.records[a].type == plan.list_type]
        if not members:
            members = self.of_type(plan.list_type)
            named = [m for m in members if self._in_review(m)] if REVIEW_NAMES.search(plan.question) else []
            members = named if len(named) >= 2 else members  # "the three layers of resistance the review describes"
            words = qualifiers(plan.question, drug_classes=plan.list_type == "agent")
            if words:  # "which resistance mechanisms are metabolic?", "which biomarkers are measured by IHC?"
                return self._saying(members, words, [], prefer=[f for a in attrs if a in BY_KEY for f in BY_KEY[a].fields])
        item_attrs = [a for a in attrs if a in BY_KEY and plan.list_type in BY_KEY[a].types
                      and a not in ("drugs", "target", "setting", "markers")] or \
            (["item"] if plan.list_type == "agent" and "trials" in plan.attributes else ["list_item"])
        # ("which anti-CTLA-4 antibodies ..., and in which trials?": each drug's summary names its trials)
        return [self.part(rid, item_attrs, plan) for rid in members]

    def _saying(self, members: list[str], words: list[str], fields: list[str], prefer: list[str] = ()) -> list[Part]:
        """One part per record with a quotable field (of ``fields``, or any) that says every word; the fields
        of the attribute asked (``prefer``) first."""
        out = []
        for rid in members:
            rec, text = self.records[rid], self.text_of(rid)
            spans = [f for f in self.fields[rid] if f.key not in ("names", "sources")
                     and (not fields or f.key.split(":")[0] in fields) and says_all(text[f.start:f.end], words)]
            spans.sort(key=lambda f: (f.key not in prefer,
                                      SAYING_ORDER.index(f.key) if f.key in SAYING_ORDER else len(SAYING_ORDER)))
            if spans:
                out.append(Part(rid, rec.name, [self._quote(rec, spans[0])]))
        return out

    # -- a whole plan -------------------------------------------------------------------------------------
    def parts(self, plan: QuestionPlan) -> list[Part]:
        """One part per record the plan asks about (for "which trials tested X?", one per such trial)."""
        attrs = [a for a in plan.attributes if a != "trials"]
        found = self._marker_parts(plan) or self._drug_parts(plan)
        if found:
            return found
        if plan.entities and ("trials" in plan.attributes or plan.list_type == "trial"):
            return self._trial_parts(plan, attrs)
        if plan.list_type and not plan.entities:
            return self._list_parts(plan, attrs)
        targets, attrs = self._asked_records(plan, attrs)
        if plan.form == "comparison" and not attrs:
            attrs = ["item"]
        return self._record_parts(plan, targets, attrs)

    def _marker_parts(self, plan: QuestionPlan) -> list[Part]:
        """"which biomarker predicts benefit from pegargiminase?": the biomarkers linked to the drug."""
        if "markers" in plan.attributes and any(e.type == "agent" for e in plan.entities):
            markers = [b for e in plan.entities if e.type == "agent" for b in self._linked(e.record_id, "biomarker")]
            if markers:
                return [self.part(b, ["relevance", "measurement"], plan) for b in dict.fromkeys(markers)]
        return []

    def _drug_parts(self, plan: QuestionPlan) -> list[Part]:
        """"which drug exploits ASS1 deficiency?": the drugs acting on the records named, one part each."""
        acted_on = plan.list_type == "agent" and all(e.type in ("biomarker", "mechanism", "term") for e in plan.entities)
        if plan.entities and ("drugs" in plan.attributes or acted_on):
            agents = list(dict.fromkeys(a for e in plan.entities for a in self.agents_for(e.record_id)))
            if BLOCKS.search(plan.question):  # "which drugs block PD-L1?": the drugs whose target it is
                agents = [a for a in agents if any(self._targets_entity(a, e.record_id) for e in plan.entities)] or agents
            named = {w for e in plan.entities for w in qualifiers(self.records[e.record_id].name)}
            words = [w for w in qualifiers(plan.question) if len(w) >= 4 and w not in named and not BLOCKS.search(w)]
            if words:  # "which engineered T-cell therapies target mesothelin?": the ones described so
                agents = [a for a in agents if says_all(self.text_of(a), words)] or agents
            if agents:
                return [self.part(a, ["list_item"], plan) for a in agents]
        return []

    def _trial_parts(self, plan: QuestionPlan, attrs: list[str]) -> list[Part]:
        """"which trials tested X?": the trials that tested the drugs named, narrowed by what the question says of
        them (design, partner drug, selecting biomarker, alone, one trial), each with the trial attributes asked."""
        drugs = [e for e in plan.entities if e.type == "agent"] or plan.entities  # "...tested it, in which histology?"
        trials = list(dict.fromkeys(t for e in drugs for t in self.trials_testing(e.record_id)))
        trials = filter_trials(trials, self.records, plan.question)[0] or trials  # "which randomised trial..."
        trials = self._given_with(trials, plan) or trials
        if len(drugs) > 1 and TOGETHER.search(plan.question):  # "which trial combined it with durvalumab?"
            trials = [t for t in trials if all(tested_in(self.records[d.record_id], self.records[t]) for d in drugs
                                               if d.record_id in self.records)] or trials
        partners = [a for a in agents_of_class(plan.question, self.records) if a not in [d.record_id for d in drugs]]
        partners = [a for a in partners if not is_chemotherapy(self.records[a])] \
            or partners  # "added an ICI to platinum-pemetrexed": the ICI is the partner, platinum the backbone
        if partners:  # "which trial combined that drug with a checkpoint inhibitor?": one arm gives both
            together = [t for t in trials if any(self._arm_gives(arm, [d.record_id for d in drugs]) and
                                                 self._arm_gives(arm, partners) for arm in self.records[t].arms)]
            trials = together or [t for t in trials if any(tested_in(self.records[a], self.records[t])
                                                           for a in partners)] or trials
        markers = [e.record_id for e in plan.entities if e.type == "biomarker"]
        if markers and (SELECTED_BY.search(plan.question) or any(e.type == "agent" for e in plan.entities)):
            # "which trial selected patients by that biomarker?", "...tested it in nonepithelioid disease?"
            trials = [t for t in trials if self._selects(t, markers)] or trials
        if ALONE.search(plan.question) and len(trials) > 1:  # "which trial tested it on its own?"
            trials = [t for t in trials if self._alone(t, drugs)] or trials
        if _singular_trial(plan.question) and len(trials) > 1:
            trials = self._single_out(trials, plan)
        asked = [a for a in attrs if a in BY_KEY and "trial" in BY_KEY[a].types and a not in ("drugs", "setting")]
        return [self.part(t, asked or ["arms"], plan) for t in trials]  # "...and what was its primary endpoint?"

    def _asked_records(self, plan: QuestionPlan, attrs: list[str]) -> tuple[list[str], list[str]]:
        """The records that answer (a trial attribute asked of a drug: the trials that tested it) and the
        attributes asked of them."""
        targets = [e for e in _targets(plan) if self.covers(e)]
        trial_attrs = all("trial" in BY_KEY[a].types for a in attrs if a in BY_KEY)
        if plan.asks_trial and not trial_attrs and any(a in BY_KEY and BY_KEY[a].types == ("trial",) for a in attrs):
            # "ONCOS-102 dose, route and injection days in the mesothelioma trial": the trial's arms hold them all
            attrs = [a for a in attrs if a in BY_KEY and "trial" in BY_KEY[a].types] + \
                (["arms"] if "administration" in attrs and "arms" not in attrs and "dose" not in attrs else [])
            trial_attrs = True
        if plan.asks_trial and trial_attrs and targets and not any(self.records[t].type == "trial" for t in targets):
            # "the intrapleural mesothelin CAR-T trial": the trial of that therapy the question's words single out
            trials = list(dict.fromkeys(t for e in targets for t in self.trials_testing(e)))
            trials = self._single_out(trials, plan) if len(trials) > 1 else trials
            if len(trials) == 1:
                targets = trials
        trial_only = attrs and all(BY_KEY[a].types == ("trial",) for a in attrs if a in BY_KEY)
        if trial_only and targets and not any(self.records[t].type == "trial" for t in targets):
            # "what was the OS with pegargiminase?": the trials that tested it hold the figure (of the drug, not of
            # the chemotherapy backbone named beside it: "ONCOS-102 + pemetrexed/platinum")
            drugs = [t for t in targets if not is_chemotherapy(self.records[t])] or targets
            trials = list(dict.fromkeys(t for e in drugs for t in self.trials_testing(e)))
            trials = filter_trials(trials, self.records, plan.question)[0] or trials  # "the phase 3 with the same drug"
            trials = self._given_with(trials, plan) or trials  # "keytruda + chemo trial"
            trials = self._published_in(trials, plan.question) or trials  # "Szlosarek's 2017 trial of ADI-PEG20"
            in_context = [t for t in trials if t in plan.context]  # "bevacizumab dose?" after a turn on MAPS
            trials = in_context or (self._single_out(trials, plan) if len(trials) > 1 else trials)
            targets = trials or targets
        if "approval" in attrs:  # "when was pembrolizumab with pemetrexed-platinum approved?": pembrolizumab's
            own = [t for t in targets if not is_chemotherapy(self.records[t])]
            targets = own or targets
        return targets, attrs

    def _record_parts(self, plan: QuestionPlan, targets: list[str], attrs: list[str]) -> list[Part]:
        """One part per record asked about; another record named answers when it alone holds the whole answer."""
        parts = [self.part(e, attrs, plan) for e in targets]
        if parts and all(p.missing and not p.quotes for p in parts):
            # "what cut-off defined ASS1 deficiency in ADAM?": ADAM lacks it, the ASS1 record holds it
            others = [e.record_id for e in plan.entities if e.record_id not in targets and self.covers(e.record_id)]
            answered = [p for p in (self.part(o, attrs, plan) for o in others) if p.quotes and not p.missing
                        and all(self._quotes_name(p.quotes, t) for t in targets)]
            parts = answered or parts
        if len(parts) > 1 and plan.form not in ("comparison", "list", "definition") and \
                not any(p.record_id.startswith("term:") for p in parts):
            # "how is ASS1 tested, and what threshold did ADAM use?": the ASS1 record says both, naming ADAM
            whole = [p for p in parts if p.quotes and not p.missing and all(
                self._quotes_name(p.quotes, o.record_id) for o in parts if o is not p)]
            parts = whole[:1] or parts
        return parts

    def _quotes_name(self, quotes: list[Quote], record_id: str) -> bool:
        said = compact(" ".join(self.text_of(q.record_id)[q.start:q.end] for q in quotes))
        rec = self.records[record_id]
        return any(len(compact(n)) >= 3 and compact(n) in said for n in [*_name_parts_of(rec.name), *rec.synonyms])


def _name_parts_of(name: str) -> list[str]:
    """"ASS1 deficiency (argininosuccinate synthase 1 loss)" -> the name and its first word ("ASS1")."""
    head = re.split(r"\s*\(", name)[0]
    return [head, head.split()[0]] if head.split() else [head]


def _targets(plan: QuestionPlan) -> list[str]:
    """The records the attributes are about: the trials named when every attribute is a trial's (the "PD-L1
    cut-off in CheckMate 743" is CheckMate 743's), else the entities of the attributes' types, in order."""
    types = {t for a in plan.attributes if a in BY_KEY for t in BY_KEY[a].types} or None
    ents = [e for e in plan.entities if types is None or e.type in types] or plan.entities
    trial_attrs = plan.attributes and all("trial" in BY_KEY[a].types for a in plan.attributes if a in BY_KEY)
    if set(plan.attributes) & TRIAL_MEASURES and any(e.type == "trial" for e in ents):
        trial_attrs = True  # "in DREAM, did PD-L1 positivity predict longer PFS?": DREAM's PFS by PD-L1
    if trial_attrs and any(e.type == "trial" for e in ents):
        ents = [e for e in ents if e.type == "trial"]
    return [e.record_id for e in ents]


def _same_subgroup(question: str, res: Any, subgroup_words: re.Pattern[str]) -> bool:
    asked = {m.group(0).lower() for m in subgroup_words.finditer(question)}
    said = f"{res.subgroup or ''} {res.endpoint}".lower()
    return any(w in said for w in asked)


def _same_publication(pub: Any, ref_text: str) -> bool:
    """The review's reference entry is the record's publication: same DOI, or same first author and year."""
    if pub is None:
        return False
    if pub.doi and pub.doi.lower() in ref_text.lower():
        return True
    first = (pub.authors or "").split(",")[0].split()[:1]
    return bool(first) and first[0] in ref_text and str(pub.year) in ref_text


ASKS_REFERENCE = matcher(_WORDS["asks_reference"])
REVIEW_NAMES = matcher(_WORDS["names_review"])
# "+ chemo", "with platinum": RecordFacts adds the chemotherapy agents' names (records whose class says chemotherapy).
_TREATMENT_RELATED = matcher(_WORDS["treatment_related"])
_ANY_CAUSE = matcher(_WORDS["any_cause"])
# a marker named as what a drug blocks ("anti-PD-L1", "a PD-L1 antibody") is the drug's target, no subgroup
_AS_TARGET = re.compile(r"\banti-?[\w-]+|\b[\w-]+[\s-]+(?:antibod\w*|inhibit\w*|block\w*|target\w*)", re.IGNORECASE)
_COMPARES_SUBGROUPS = matcher(_WORDS["compares_subgroups"])
TOGETHER = matcher(_WORDS["together"])
_ABSENT = matcher(_WORDS["absent"])
_NAMES_US = re.compile(r"\b(?:US|USA|U\.S\.?|United States|[Aa]merica\w*)\b")
_REGISTRIES = ((r"\bNCT\b|clinicaltrials", r"NCT\d{8}"), (r"\beudract\b", r"(?i:eudract)"), (r"\bisrctn\b", r"ISRCTN"),
               (r"\bjrct\b|\bjapic\b", r"jRCT|JapicCTI"), (r"\banzctr\b|\bactrn\b|\banz\b", r"ACTRN"))


_ARM_WORDS = matcher(_WORDS["arm_words"])
_SINGULAR_TRIAL = matcher(_WORDS["singular_trial"])


def _doses_drug(arm: Any, named: str, dose: str) -> bool:
    """The arm gives a dose of the drug: written next to the drug in the regimen, or the regimen's own dose when
    the drug is named only in the arm's name ("MesoPher + best supportive care: ... 25 x 10^6 cells")."""
    regimen = arm.regimen or ""
    if re.search(named, regimen, re.IGNORECASE):
        return bool(re.search(rf"{named}[^;]{{0,40}}?(?:{dose})", regimen, re.IGNORECASE))
    return bool(re.search(named, arm.name or "", re.IGNORECASE) and re.search(dose, regimen, re.IGNORECASE))


def _arms_asked(trial: Any, question: str) -> list[Any]:
    """The arms a question singles out ("the control arm", "the chemo arm"); [] when it names none."""
    m = _ARM_WORDS.search(question)
    arms = list(getattr(trial, "arms", []) or [])
    if not m or len(arms) < 2:
        return []
    which = m.group(0).lower()  # "control arm": the arm's word comes first
    if which.startswith(("experimental", "investigational")):
        return arms[:1]
    if which.startswith(("chemo", "placebo")):
        word = "chemo" if which.startswith("chemo") else "placebo"
        named = [a for a in arms[1:] if word in f"{a.name} {a.regimen}".lower()]
        return named or arms[1:]
    return arms[1:]


def _names_the_disease(term: Any) -> bool:
    return any("mesothelioma" in n.lower() for n in [term.name, *term.synonyms, getattr(term, "expansion", "") or ""])


def _singular_trial(question: str) -> bool:
    return bool(_SINGULAR_TRIAL.search(question))


def short_label(res: Any) -> str:
    """'overall survival (3-year update)', '2-year overall survival rate': names a result in a list."""
    base = MEASURE_LABELS.get(res.measure) or res.endpoint
    if res.measure in ("os_rate", "pfs_rate") and res.timepoint:
        base = f"{base.replace(' rate', '')} at {res.timepoint}"
    return f"{base} ({res.subgroup})" if res.subgroup else base


def _primary_measures(rec: Any) -> tuple[str, ...]:
    """The measure of the primary endpoint: the one the endpoint text names first ("overall survival (ITT);
    progression-free survival secondary" is overall survival)."""
    text = (rec.primary_endpoint or "").lower()
    named = sorted((m.start(), measure) for measure, rx in MEASURE_WORDS if (m := rx.search(text)))
    if not named:
        return ("os", "pfs", "orr")
    measure = named[0][1]
    timed = measure in ("os", "pfs") and re.search(r"\bat \d+\s*(?:months?|weeks?|years?)|\b\d+-(?:month|year)", text)
    return (f"{measure}_rate", measure) if timed else (measure,)  # DREAM: "PFS at 6 months"


def _same_time(asked: str, res: Any) -> bool:
    said = f"{res.timepoint or ''} {res.endpoint}".lower()
    n, unit = asked.split()
    months = int(n) * 12 if unit.startswith("year") else int(n)
    candidates = {f"{n} {unit.rstrip('s')}", f"{n}-{unit.rstrip('s')}", f"{months} month", f"{months}-month"}
    if months % 12 == 0:
        y = months // 12
        candidates |= {f"{y} year", f"{y}-year"}
    return any(c in said for c in candidates)


def _asked_label(key: str, plan: QuestionPlan, subgroup_words: re.Pattern[str]) -> str:
    label = BY_KEY[key].label if key in BY_KEY else key
    if key in BY_KEY and BY_KEY[key].measures and ASKS_CI.search(plan.question):
        return f"confidence interval for the {label}"
    if key == "specific_ae":
        return f"how often {BY_KEY[key].pattern.search(plan.question).group(0).lower()} occurred"
    agencies = re.findall(r"\b(FDA|EMA|NICE|PMDA|NMPA)\b", plan.question, re.IGNORECASE)
    if key == "approval" and agencies:
        return f"an {and_list([a.upper() for a in agencies], 'or')} decision"
    if key == "registration" and re.search(r"\bNCT\b|clinicaltrials", plan.question, re.IGNORECASE) and \
            not _NEGATION.search(plan.question):
        return "a ClinicalTrials.gov (NCT) number"
    markers = [e.name for e in plan.entities if e.type == "biomarker"]
    if key in ("os", "pfs", "orr", "dcr") and markers:
        return f"{label} by {and_list(markers)}"
    if key in ("os", "pfs", "orr", "dcr", "safety") and subgroup_words.search(plan.question):
        return f"{label} for the subgroup asked about"
    if key in ("os_rate", "pfs_rate") and plan.timepoint:
        what = "overall survival" if key == "os_rate" else "progression-free survival"
        return f"{what} at {and_list(plan.timepoints or [plan.timepoint])}"
    return label


def record_publication(rec: Any) -> str | None:
    pub = getattr(rec, "publication", None)
    if pub is not None:
        return publication_text(pub)
    return source_text(rec.sources)


def result_publication(res: Any, rec: Any) -> str | None:
    """The best source of a result: primary before regulatory, registry and secondary."""
    best = min(res.sources, key=lambda s: EVIDENCE_ORDER.get(getattr(s, "evidence", None), 4))
    pub = getattr(rec, "publication", None)
    if getattr(best, "evidence", None) == "primary" and pub is not None:
        return f"{publication_text(pub)} (primary publication)"
    return source_text([best])


def source_text(sources: list[Any]) -> str | None:
    if not sources:
        return None
    s = min(sources, key=lambda s: EVIDENCE_ORDER.get(getattr(s, "evidence", None), 4))
    what = {"review": f"the review's {s.value}", "ref": f"reference {s.value} of the review", "doi": f"doi {s.value}",
            "pmid": f"PMID {s.value}", "pmcid": f"{s.value}", "url": s.value}[s.kind]
    evidence = getattr(s, "evidence", None)
    return f"{what} ({evidence})" if evidence else what
