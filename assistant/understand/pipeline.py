"""Understanding, stage by stage: message -> spelling -> rule plan -> described records -> learned attribute.

Each stage is its own module; this one only orders them and records what each did (``Understood``), which
travels into the answer's provenance. No index is needed except the query embedding for the learned layer,
computed only when the rule layer leaves the attribute open.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.understand.attributes import BY_KEY, find_attributes, timepoints
from assistant.understand.describe import DESCRIBED, DescriptionResolver, Resolution
from assistant.understand.dialogue import DialogueState
from assistant.understand.intent import Intent, IntentModel, mask
from assistant.understand.lay_terms import with_record_terms
from assistant.understand.list_filters import agents_in_trial, agents_of_class, filter_trials, is_chemotherapy
from assistant.understand.message import read_message, sentences
from assistant.understand.outcomes import answer_attribute, asked_outcome, trials_with, without_setting
from assistant.understand.phrases import matcher, vocabulary
from assistant.understand.plan import OTHER_DISEASES, PlanEntity, Planner, QuestionPlan, refers_back
from assistant.understand.query import QueryAnalyzer
from assistant.understand.spelling import SpellingFixer

ENTITY_TYPES = ("trial", "agent", "biomarker", "mechanism")
# "compare it with X", "how does that stack up against X": one record named, the other side is the focus
_COMPARE_IT = re.compile(r"\b(?:compar\w*|vs\.?|versus|against|differ\w*|stack up|side by side)\b", re.IGNORECASE)
# Forms whose attribute the learned layer may fill: a list or a comparison is shaped by its own words.
FILLABLE_FORMS = ("fact", "yes-no", "why-how")
# Attributes whose words also describe which record is meant ("the arms", "the phase 3", "the population"):
# when they are all the rules heard, the learned layer may overrule them at this confidence.
DESCRIBING = {"arms", "design", "phase", "setting", "population", "tested"}
# ... and the catch-all "main result", heard in any "did it ...?": the learned layer may overrule these too
OVERRULABLE = DESCRIBING | {"headline"}
ARM_WORDS = {"arms", "tested"}  # "the placebo arm", "nivolumab vs placebo": which arm, not what is asked
# held out per dev origin, where the rules heard only such words, the classifier overruling them at >= 0.5 was
# right 39 times in 45, the rules once (`mesochat eval train-intent --json`, "overrides_held_out")
OVERRIDE = 0.5
OVERVIEWED = ("trial", "agent")  # the records whose "headline" is an overview of them
_APPENDED_NAMES = re.compile(r"(?:\s*\([^()]*\))+\s*$")


def _names_a_target(question: str, entity: PlanEntity) -> bool:
    """"a PD-L1 antibody", "a VEGF inhibitor": the biomarker names what a drug acts on, describing the drug."""
    return entity.type == "biomarker" and bool(entity.surface) and bool(re.search(
        re.escape(entity.surface) + r"[\s-]*(?:antibod|inhibit|block|target|direct|drug|agent)", question, re.IGNORECASE))


def _description(text: str, names: list[str]) -> str:
    """What a message says of a record, without the names given and the figure asked ("median OS"): every trial
    of a drug reports a median OS, so neither singles one out."""
    for name in names:
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE) if name else text
    for a in find_attributes(text):
        text = text if a.key in DESCRIBING else a.pattern.sub(" ", text)  # "randomised", "second-line" describe
    return text


@dataclass(frozen=True)
class Understood:
    plan: QuestionPlan
    asked: str  # the text planned (the question found in the message, spelling fixed, names carried)
    fixes: list[tuple[str, str]] = field(default_factory=list)
    carried_names: list[str] = field(default_factory=list)  # from the message around the question
    described: Resolution | None = None
    intent: Intent | None = None

    def provenance(self, model: IntentModel | None) -> dict[str, Any]:
        out: dict[str, Any] = {"asked": self.asked}
        if self.fixes:
            out["spelling"] = [f"{a} -> {b}" for a, b in self.fixes]
        if self.carried_names:
            out["carried_from_message"] = self.carried_names
        if self.described is not None:
            out["described"] = {"kind": self.described.kind, "winner": self.described.winner,
                                "choices": self.described.choices, "scores": self.described.scores}
        if self.intent is not None:
            out["intent"] = self.intent.to_dict()
        if model is not None:
            out["intent_model"] = {"training_data": model.data_hash, "classes": len(model.classes)}
        return out


_STORY = vocabulary("story_words")
_DIALOGUE = vocabulary("dialogue_words")
_THE_TWO = matcher(_DIALOGUE["the_two"])
_KIND_NOUNS = {kind: matcher(words) for kind, words in _DIALOGUE["kinds"].items()}
_OF_A_COHORT = matcher(_DIALOGUE["of_a_cohort"])
_MECHANISM_ASKED = matcher(_DIALOGUE["mechanism_asked"])
_WITH_CHEMO = matcher(_STORY["with_chemo"])
_HISTORY = matcher(_STORY["history"])
_BACK = matcher(_STORY["back"])


def _in_history(text: str, at: int) -> bool:
    """The name at ``at`` follows words of treatment already had, within a few words."""
    return any(m.end() <= at <= m.end() + 30 for m in _HISTORY.finditer(text))


def _description_spent(plan: QuestionPlan) -> QuestionPlan:
    """A record found by its description: the words that described it ("the first-line trial that added X
    to Y") asked nothing of it when something else is asked, and one record is not compared with itself."""
    asked = [k for k in plan.attributes if k not in DESCRIBING]
    attributes = asked if asked else plan.attributes
    form = "fact" if plan.form == "comparison" and len(plan.entities) == 1 else plan.form
    return replace(plan, attributes=attributes, form=form) if (attributes, form) != (plan.attributes, plan.form) \
        else plan


def _joined(names: list[str], context: str) -> str:
    """The story's names for its question; two given together ("start nivolumab and ipilimumab") stay joined,
    so that a combination with a record of its own is read as that record."""
    out = names[0]
    for before, name in itertools.pairwise(names):
        together = re.search(rf"{re.escape(before)}\s*(?:and|with|plus|\+|/)\s*{re.escape(name)}", context, re.IGNORECASE)
        out += f" + {name}" if together else f", {name}"
    return out


def _history_dropped(plan: QuestionPlan) -> QuestionPlan:
    """Drugs the patients had before ("after progression on nivo-ipi, how did pembrolizumab with lenvatinib do?")
    say who was treated, not what is asked about, when the question names something else."""
    low = plan.question.lower()
    history = [e for e in plan.entities if e.type == "agent" and e.surface and not e.carried
               and (at := low.find(e.surface.lower())) >= 0 and _in_history(plan.question, at)]
    kept = [e for e in plan.entities if e not in history]
    if not history or not kept:
        return plan
    # the records left were counted with the history when the form was read ("had nivo and ipi" is no comparison)
    form = "fact" if plan.form == "comparison" and not _COMPARE_IT.search(plan.question) else plan.form
    return replace(plan, entities=kept, form=form)


def _at_timepoint(keys: list[str], plan: QuestionPlan) -> list[str]:
    """Survival asked at a time point ("two years on, how many were alive?") is the rate at that point."""
    if not (plan.timepoints or timepoints(plan.question)):
        return keys
    return list(dict.fromkeys(_RATE_AT.get(k, k) for k in keys))


_RATE_AT = {"os": "os_rate", "pfs": "pfs_rate"}


def vocabulary_texts() -> list[str]:
    """The attribute vocabulary's words (labels, what each answers, example askings) for spelling tolerance."""
    from corpus.models import attribute_vocabulary

    return [" ".join((a.label, a.answers, *a.examples)) for a in attribute_vocabulary()]


class Understanding:
    """``understand(question, previous, answered) -> Understood``; read-only after construction."""

    def __init__(self, analyzer: QueryAnalyzer, planner: Planner, vocabulary: Iterable[str],
                 embed: Callable[[str], np.ndarray], model: IntentModel | None = None) -> None:
        self.analyzer = analyzer
        self.planner = planner
        self.records = {r.id: r for r in analyzer.records}
        self.spelling = SpellingFixer(vocabulary)
        self.describer = DescriptionResolver(self.records)
        self.embed = embed
        self.model = model if model is not None else IntentModel.load()
        from corpus.models import attribute_vocabulary

        self._fields = {a.key: a.fields for a in attribute_vocabulary()}
        self._measures = {a.key: a.measures for a in attribute_vocabulary()}
        self._chemo_names = [n.lower() for r in self.records.values() if r.type == "agent" and is_chemotherapy(r)
                             for n in [r.name, *r.synonyms] if len(n) >= 4]
        self.spelling.correction("warmup")  # loads the English word list now, not on a user's first question

    def split(self, message: str) -> list[str]:
        """The questions a message asks, each with the names the message gives it (a story's records)."""
        return [asked for asked, _ in self.read(message)]

    def read(self, message: str) -> list[tuple[str, str]]:
        """(question, the message around it) per question the message asks; the context is empty for a plain
        question. The context describes what the question refers to ("a UK trial of nivolumab")."""
        read = read_message(message)
        if not read.focused:
            return [(message, "")]
        context = read.context
        asked = []
        for part in read.parts:
            names = self._context_names(context, part)
            asked.append((f"{part} ({_joined(names, context)})" if names else part, read.context))
            context = f"{context} {part}"
        return asked

    def understand(self, question: str, previous: QuestionPlan | None = None,
                   answered: list[str] = (), context: str = "", state: DialogueState | None = None) -> Understood:
        state = state if state is not None else DialogueState((previous,) if previous is not None else (), tuple(answered))
        previous, answered = state.previous, list(state.answered)
        fixed, fixes = self.spelling.fix(question)
        plan = self.planner.plan(fixed, previous, list(answered))
        plan = self._arm_drugs_qualify(plan)
        plan = self._the_two(plan, state)
        plan = _history_dropped(plan)
        plan = self._cohort_of_focus(plan, previous)
        plan = self._compared_with_focus(plan, previous)
        plan = self._combination_holds(plan)
        if (listed := self._outcome_list(fixed, plan)) is not None:
            return Understood(listed, fixed, fixes)
        described = None
        if self._may_describe(plan, previous):
            described, plan = self._described(fixed, plan, previous, answered, context)
        elif (picked := self._trial_of_drug(fixed, plan, context, previous)) is not None:
            described = picked
            name = self.analyzer.name_of(picked.winner)
            plan = self.planner.plan(f"{fixed} ({name})", previous, list(answered))
            plan = replace(plan, entities=[e for e in plan.entities if e.record_id == picked.winner] or plan.entities)
        intent = None
        if self.model is not None and self._attribute_open(plan):
            intent = self._intent(fixed, plan)
            if intent.keys:
                keys = intent.keys
                if len(keys) > 1 and len(plan.entities) == 1 and not self._holds(plan.entities[0].record_id, keys[0]):
                    keys = keys[:1]  # the likelier reading is a fact the record lacks: say so, do not answer the other
                plan = replace(plan, attributes=_at_timepoint(keys, plan), bare=False)
            elif intent.ranked and intent.ranked[0][0] == "headline" and len(plan.entities) == 1 and \
                    plan.entities[0].type in OVERVIEWED:
                # unsure, but leaning to "what did it show?": the record's overview is the answer that guesses least
                plan = replace(plan, attributes=["headline"], bare=False)
        elif self.model is not None and self._describing_only(plan):
            # the rules heard only words that also describe a trial ("how were people in the arms kept alive"):
            # a confident model that hears another attribute decides
            intent = self._intent(fixed, plan)
            if intent.key is not None and intent.confidence >= OVERRIDE and intent.key not in plan.attributes:
                plan = replace(plan, attributes=[intent.key], bare=False)
        return Understood(self._drug_of_trial(plan), fixed, fixes, [], described, intent)

    # -- stages -----------------------------------------------------------------------------------------
    def _combination_holds(self, plan: QuestionPlan) -> QuestionPlan:
        """"was nivolumab approved in Europe?": a drug whose own record lacks the asked field, but a combination
        containing it holds it (the approval is of nivolumab plus ipilimumab), is answered from the combination."""
        if not plan.attributes:
            return plan
        fields = [f for k in plan.attributes for f in self._fields.get(k, ())]
        entities = list(plan.entities)
        for i, e in enumerate(plan.entities):
            rec = self.records.get(e.record_id)
            if e.type != "agent" or not fields or any(getattr(rec, f, None) for f in fields):
                continue
            combos = [r for r in self.records.values() if r.type == "agent" and r.id != e.record_id
                      and e.record_id in r.related and rec.name.lower() in r.name.lower()
                      and any(getattr(r, f, None) for f in fields)]
            if combos:
                entities[i] = PlanEntity(combos[0].id, combos[0].name, "agent", e.surface, e.carried)
        return replace(plan, entities=entities) if entities != list(plan.entities) else plan

    def _names_chemo(self, text: str) -> bool:
        """An arm's name gives chemotherapy: the word, or a drug whose record is a chemotherapy."""
        low = text.lower()
        return "chemo" in low or "platin" in low or any(n in low for n in self._chemo_names)

    def _holds(self, record_id: str, key: str) -> bool:
        """The record has a field or a result for the attribute (False for one no schema field holds)."""
        rec = self.records.get(record_id)
        if rec is None:
            return False
        if any(getattr(rec, f, None) for f in self._fields.get(key, ())):
            return True
        measures = self._measures.get(key, ())
        return any(r.measure in measures for r in getattr(rec, "results", []) or [])

    def _the_two(self, plan: QuestionPlan, state: DialogueState) -> QuestionPlan:
        """"which of those two trials was placebo-controlled?": the two records of that kind the conversation was
        about, each answered."""
        said = _THE_TWO.search(plan.question)
        if said is None or not state.plans:
            return plan
        after = plan.question[said.end():]
        kinds = [k for k, words in _KIND_NOUNS.items() if words.match(after.lstrip())] or \
            sorted({e.type for e in state.previous.entities}) or ["trial", "agent"]
        # a marker named beside them ("limited by histology") qualifies the two; a record of their kind is a third
        if any(not e.carried and e.type in kinds for e in plan.entities):
            return plan
        two = state.in_focus(kinds)[:2]
        if len(two) < 2:
            return plan
        entities = [PlanEntity(r, self.analyzer.name_of(r), r.partition(":")[0], "", True) for r in reversed(two)]
        asked = [k for k in plan.attributes if k not in ARM_WORDS]  # "the gap between its arms": the figure asked
        return replace(plan, entities=entities, form="comparison", bare=False, list_type=None,
                       attributes=asked or list(state.previous.attributes) or ["headline"])

    def _drug_of_trial(self, plan: QuestionPlan) -> QuestionPlan:
        """"which receptors does the drug of LUME-Meso block?": what only a drug has, asked of a trial, is asked of
        the drug it tested."""
        own = [k for k in plan.attributes if k in BY_KEY and "trial" not in BY_KEY[k].types and k != "definition"]
        if len(plan.entities) != 1 or plan.entities[0].type != "trial" or not own or len(own) != len(plan.attributes):
            return plan
        drugs = agents_in_trial(self.records[plan.entities[0].record_id], self.records, plan.question)
        if not drugs:
            return plan
        return replace(plan, entities=[PlanEntity(drugs[0], self.analyzer.name_of(drugs[0]), "agent", "")])

    def _arm_drugs_qualify(self, plan: QuestionPlan) -> QuestionPlan:
        """"did ramucirumab with gemcitabine in RAMES keep people alive longer?": drugs given in a trial named
        beside them say which arm is meant; unless something only a drug has is asked (what it targets), the
        trial is the subject and the drugs are not asked about on their own."""
        trials = [e for e in plan.entities if e.type == "trial" and not e.carried]
        own = {k for k in plan.attributes if k in BY_KEY and "trial" not in BY_KEY[k].types}
        if not trials or own or plan.form == "list":
            return plan
        given = {r for t in trials for r in self.records[t.record_id].related}
        kept = [e for e in plan.entities if not (e.type == "agent" and e.record_id in given)]
        return replace(plan, entities=kept) if len(kept) < len(plan.entities) else plan

    def _cohort_of_focus(self, plan: QuestionPlan, previous: QuestionPlan | None) -> QuestionPlan:
        """"and in the cohort that had already had nivo-ipi?" after a turn on PEMMELA: drugs named inside a phrase
        about an arm or cohort say which patients of the trial in focus are meant, when that trial speaks of them."""
        focus = [e for e in previous.entities if e.type == "trial"] if previous is not None else []
        named = [e for e in plan.entities if not e.carried]
        if len(focus) != 1 or not named or any(e.type != "agent" for e in named) or not _OF_A_COHORT.search(plan.question):
            return plan
        trial = self.records[focus[0].record_id]
        said = " ".join([trial.population or "", trial.design or "", *(f"{a.name} {a.regimen}" for a in trial.arms)])
        spoken = {m.record_id for m in self.analyzer.find_records(said)} | set(trial.related)
        asked = [k for k in plan.attributes if k not in ARM_WORDS] or list(previous.attributes)
        if all(e.record_id in spoken for e in named):
            return replace(plan, entities=[PlanEntity(focus[0].record_id, focus[0].name, "trial", "", True)],
                           attributes=asked, bare=False, form="fact")
        # "and the abemaciclib arm?" after a turn on MiST1: the arm of another trial, the one that gave that drug
        given = [t for t, r in self.records.items() if r.type == "trial" and {e.record_id for e in named} <= set(r.related)]
        if len(given) == 1 and asked:
            return replace(plan, entities=[PlanEntity(given[0], self.analyzer.name_of(given[0]), "trial", "")],
                           attributes=asked, bare=False, form="fact")
        return plan

    @staticmethod
    def _compared_with_focus(plan: QuestionPlan, previous: QuestionPlan | None) -> QuestionPlan:
        """"compare it with CONFIRM" after a turn on DETERMINE: "it" is the record in focus, of the same kind."""
        if previous is None or not _COMPARE_IT.search(plan.question):
            return plan
        named = [e for e in plan.entities if not e.carried]
        kinds = {e.type for e in named}
        focus = [e for e in previous.entities if e.type in kinds and e.record_id not in {n.record_id for n in named}]
        if len(named) != 1 or not focus:
            return plan
        carried = [PlanEntity(e.record_id, e.name, e.type, "", True) for e in focus[:1]]
        # "how does that compare with the placebo arm of LUME-Meso?": the arm words say which arm, the figure
        # compared is the one just given
        asked = plan.attributes if not set(plan.attributes) <= ARM_WORDS else []
        return replace(plan, entities=carried + named, form="comparison",
                       attributes=asked or list(previous.attributes) or plan.attributes or ["headline"], bare=False)

    def _outcome_list(self, question: str, plan: QuestionPlan) -> QuestionPlan | None:
        """"Which phase 3 trials improved OS?": the trials whose typed results show it, each quoting that result."""
        outcome = asked_outcome(question)
        if outcome is None or plan.unknown_names or plan.other_disease or \
                any(e.type == "trial" and not e.carried for e in plan.entities):  # a trial named is no list
            return None
        trials = [rid for rid, r in self.records.items() if r.type == "trial"]
        # the drugs named, the markers that selected the patients ("the ASS1- or p16-selected trials"), or a
        # kind of drug ("trials adding an anti-angiogenic drug"): the trials that gave them
        named = [e.record_id for e in plan.entities if e.type in ("agent", "biomarker")] or \
            agents_of_class(without_setting(question), self.records)
        described = []
        if not named and "agent" in self.describer.describes(question):  # "trials of the arginine-depleting enzyme"
            # only the words of the description itself ("the new treatment" describes no drug)
            span = DESCRIBED["agent"].search(question).group(0)
            found = self.describer.resolve(with_record_terms(span), "agent", filters=span)
            described = [found.winner] if found is not None and found.winner else []
        # "which nivolumab trials improved OS?": the trials that gave the drug named. A drug described is tried
        # first, then every trial: when no trial of it qualifies, the words did not mean it ("the active drug").
        listed: list[str] = []
        for drugs in [named] if named else [described, []] if described else [[]]:
            pool = [t for t in trials if self._gave_or_selected(t, drugs)] if drugs else trials
            listed = trials_with(outcome, [self.records[t] for t in filter_trials(pool, self.records, question)[0]])
            if listed:
                break
        if not listed:
            return None
        entities = [PlanEntity(t, self.analyzer.name_of(t), "trial", "") for t in listed]
        return replace(plan, entities=entities, attributes=[answer_attribute(outcome)], form="list", list_type=None,
                       bare=False)

    def _gave_or_selected(self, trial: str, records: list[str]) -> bool:
        """The trial gave one of the drugs, or chose its patients by one of the markers (its population says so)."""
        rec = self.records[trial]
        markers = [r for r in records if r.startswith("biomarker:")]
        if markers:
            selected = {m.record_id for m in self.analyzer.find_records(rec.population or "")}
            if selected & set(markers):
                return True
        return bool(set(records) - set(markers) & set(rec.related))

    def _subject_part(self, context: str) -> str:
        """The story from its last sentence that speaks of a trial or a drug (named or not) on: what it says of
        the record asked about, without the patient's history before it ("had cisplatin last year")."""
        said = sentences(context)
        for i in reversed(range(len(said))):
            if self.describer.mentions(said[i]) or self.analyzer.find_records(said[i]):
                return " ".join(said[i:])
        return context

    def _context_names(self, context: str, part: str) -> list[str]:
        """Records (and another disease) the story names that the question itself does not: those of the last
        sentence that names one, as the question's subject. The patient's own details are not its subject: the
        chemotherapy they had beside another drug, and their tumour's markers unless a marker is what is asked."""
        found = self.analyzer.find_records(part)
        in_part = {m.record_id for m in found}
        # drugs the patient already had ("people who already had nivo and ipi") are who they are; when the question
        # points back at the story's treatment ("that combination"), the story still names its subject
        subjects = [m for m in found if m.record_id.partition(":")[0] in ENTITY_TYPES
                    and not (_BACK.search(part) and _in_history(part, m.start))]
        if subjects:
            return []
        asks_marker = any("biomarker" in a.types and "trial" not in a.types for a in find_attributes(part))
        names: list = []
        for sentence in reversed(sentences(context)):
            found = [m for m in self.analyzer.find_records(sentence) if m.record_id not in in_part
                     and m.record_id.partition(":")[0] in ENTITY_TYPES
                     and (asks_marker or not m.record_id.startswith("biomarker:"))]
            treatments = [m for m in found if not is_chemotherapy(self.records[m.record_id])]
            names = [m.surface for m in (treatments or found)]
            if names:
                break
        disease = OTHER_DISEASES.search(context)
        if disease and not OTHER_DISEASES.search(part):
            names.append(disease.group(0))
        return list(dict.fromkeys(names))

    @staticmethod
    def _may_describe(plan: QuestionPlan, previous: QuestionPlan | None) -> bool:
        # a marker named inside the description of a mechanism asked by name ("the mechanism where the tumour switches
        # on PD-L1 - what is it called?") is part of the description
        marker_in_mechanism = _MECHANISM_ASKED.search(plan.question) and all(e.type == "biomarker" for e in plan.entities)
        named = [e for e in plan.entities if e.type in ENTITY_TYPES and not _names_a_target(plan.question, e)
                 and not marker_in_mechanism]
        return not named and not plan.list_type and \
            plan.form not in ("list", "comparison") and not plan.ref_numbers and not plan.unknown_names \
            and not plan.other_disease

    def _described(self, question: str, plan: QuestionPlan, previous: QuestionPlan | None,
                   answered: list[str], context: str = "") -> tuple[Resolution | None, QuestionPlan]:
        said = _description(f"{self._subject_part(context)} {question}", [])
        # a resistance mechanism is described by what happens ("refractory from the start", "T cells make the tumour
        # switch on PD-L1"), seldom with a definite article
        kinds = self.describer.describes(question) or (self.describer.mentions(context) if context else []) or \
            (["mechanism"] if self._lay_names_mechanism(question) else [])
        if _MECHANISM_ASKED.search(question):  # "what is the resistance mechanism called where...?"
            kinds = ["mechanism", *(k for k in kinds if k != "mechanism")]
        for kind in kinds:
            found = self.describer.resolve(with_record_terms(said), kind, filters=f"{context} {question}")
            if found is None:
                continue
            if found.winner is not None:
                name = self.analyzer.name_of(found.winner)
                return found, _description_spent(self.planner.plan(f"{question} ({name})", previous, list(answered)))
            return found, plan
        return None, plan

    def _lay_names_mechanism(self, question: str) -> bool:
        """Lay words the records' terms name a resistance mechanism by ("refractory from the start")."""
        added = with_record_terms(question)[len(question):]
        return any(m.record_id.startswith("mechanism:") for m in self.analyzer.find_records(added))

    def _trial_of_drug(self, question: str, plan: QuestionPlan, context: str,
                       previous: QuestionPlan | None = None) -> Resolution | None:
        """"how long did people live on nivolumab compared with the dummy drug?": a trial figure asked of a drug
        tested in several trials; the trial the message describes, when one clearly fits."""
        drugs = [e.record_id for e in plan.entities if e.type == "agent"]
        asked = [BY_KEY[a].types for a in plan.attributes if a in BY_KEY]
        # a figure only trials hold, or anything a trial holds when the question speaks of a trial ("that study")
        speaks_of_trial = "trial" in self.describer.mentions(question)
        of_trial = all("trial" in t for t in asked) and (
            (bool(asked) and all(t == ("trial",) for t in asked)) or speaks_of_trial)
        # one drug "compared with chemo" compares the arms of its trial
        fillable = plan.form in FILLABLE_FORMS or (plan.form == "comparison" and len(drugs) == 1)
        if not drugs or len(plan.entities) != len(drugs) or not of_trial or not fillable or \
                plan.unknown_names:  # "the STELLAR trial of TTFields with pem/platinum"
            return None
        trials = [rid for rid, r in self.records.items() if r.type == "trial" and set(drugs) & set(r.related)]
        # drugs named together ("pembrolizumab with lenvatinib") were given together: the trials that gave them all;
        # a drug "plus chemotherapy": the trials with an arm giving it with chemotherapy
        together = [t for t in trials if set(drugs) <= set(self.records[t].related)]
        if _WITH_CHEMO.search(question):
            names = [n.lower() for d in drugs for n in [self.records[d].name, *self.records[d].synonyms] if len(n) >= 4]
            together = [t for t in together or trials if any(any(n in a.name.lower() for n in names)
                                                             and self._names_chemo(a.name) for a in self.records[t].arms)]
        narrowed = bool(together) and (len(drugs) > 1 or len(together) < len(trials))
        trials = together or trials
        if len(trials) == 1 and narrowed:
            return Resolution("trial", trials[0], [], {})
        if len(trials) < 2:
            return None
        focus = [e.record_id for e in previous.entities if e.record_id in trials] if previous is not None else []
        if focus:  # "what dose of durvalumab did that one use?" after a turn on one of its trials: that trial
            return Resolution("trial", focus[0], [], {})
        # the drug's own name singles out no trial of it: the rest of the message must
        message = f"{context} {question}" if context else question
        said = _description(f"{self._subject_part(context)} {question}", [e.surface for e in plan.entities])
        found = self.describer.resolve(with_record_terms(said), "trial", among=trials, filters=message)
        return found if found is not None and found.winner is not None else None

    @staticmethod
    def _describing_only(plan: QuestionPlan) -> bool:
        return len(plan.entities) == 1 and plan.form in FILLABLE_FORMS and not plan.list_type and \
            bool(plan.attributes) and set(plan.attributes) <= OVERRULABLE and not plan.carried_attributes

    def _attribute_open(self, plan: QuestionPlan) -> bool:
        # a follow-up that names nothing and refers back to nothing ("how do tumours switch off T cells?") is a
        # new question: its topic is not the record in focus, so no attribute of that record is guessed for it
        new_topic = all(e.carried for e in plan.entities) and not refers_back(plan.question)
        # one record "compared" is its arms compared ("on nivo-ipi versus chemo in CheckMate 743"): a fact of it
        fillable = plan.form in FILLABLE_FORMS or (plan.form == "comparison" and len(plan.entities) == 1)
        return bool(plan.entities) and not plan.attributes and not plan.bare and fillable \
            and not plan.list_type and not new_topic

    def _intent(self, question: str, plan: QuestionPlan) -> Intent:
        # the names the engine appended ("... (nivolumab) (CONFIRM)") are not words the user asked with
        question = _APPENDED_NAMES.sub("", question) or question
        spans = [(m.start, m.end, m.record_id.partition(":")[0]) for m in self.analyzer.find_records(question)]
        types = {e.type for e in plan.entities}

        def applies(key: str) -> bool:
            allowed = BY_KEY[key].types if key in BY_KEY else ()
            return bool(types & set(allowed)) or ("trial" in allowed and bool(types & {"agent", "biomarker"}))

        fired = [a.key for a in find_attributes(question)]
        return self.model.predict(self.embed(mask(question, spans)), applies, fired)
