"""What a list question asks for beyond the record type: a drug class, a trial phase, design or treatment line.

"Which randomised trials tested checkpoint inhibitors in relapsed disease?" keeps the trials whose arms
name a drug of that class (read from the drugs' own class field, so a new record joins without code
changes), whose design says randomised, and whose line is relapsed. Each filter also names the field that
shows the reader why a record is on the list (the setting for a line, the design for a phase).
"""

from __future__ import annotations

import re
from typing import Any

from assistant.understand.phrases import matcher, vocabulary
from assistant.understand.query import compact
from kernel.text import stem

_WORDS = vocabulary("list_filters_words")


def _pieces(texts: list[str]) -> re.Pattern[str]:
    """Any of the pieces of text, in any case, wherever they occur (a record's class text: "angiogen")."""
    return re.compile("|".join(map(re.escape, texts)), re.IGNORECASE)


# Words a question uses for a kind of drug -> what the drugs' class or modality text says: words/list_filters_words.yaml
CLASS_WORDS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (matcher(c["asks"]), _pieces(c["says"])) for c in _WORDS["drug_classes"])

PHASE = re.compile(r"\bphase[- ]?(?P<n>[123]|i{1,3}|iv)(?:[ab]\b)?(?:\s*/\s*(?:[123]|i{1,3}|iv)[ab]?)?\b", re.IGNORECASE)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
# A design -> (the question's words for it, the design text's words for it, words those must not be part of)
DESIGN_WORDS = {name: (matcher(d["asks"]), matcher(d["says"]), matcher(d.get("unless", [])))
                for name, d in _WORDS["designs"].items()}
# The line of treatment, as the records' `line` values: words/lines.yaml
LINE_WORDS = {line: matcher(words) for line, words in vocabulary("lines").items()}


def class_pattern(question: str) -> re.Pattern[str] | None:
    """The class text the question's drug-kind words stand for (None when it names no kind of drug)."""
    found = [c.pattern for q, c in CLASS_WORDS if q.search(question)]
    return re.compile("|".join(found), re.IGNORECASE) if found else None


def agents_of_class(question: str, records: dict[str, Any]) -> list[str]:
    """The drug records whose class or modality matches the kind of drug the question names."""
    pattern = class_pattern(question)
    if pattern is None:
        return []
    return [rid for rid, r in records.items() if r.type == "agent"
            and pattern.search(f"{getattr(r, 'agent_class', '') or ''} {getattr(r, 'modality', '') or ''}")]


def asked_phase(question: str) -> str | None:
    """The first phase named ("2" for "phase 2/3 trials")."""
    return min(asked_phases(question), default=None)


def asked_phases(question: str) -> set[str]:
    """{"3"} for "phase 3 trials", {"2", "3"} for "phase 2/3 trials" (the first phase named)."""
    m = PHASE.search(question)
    if m is None:
        return set()
    return {_ROMAN.get(p.lower(), p) for p in re.findall(r"iv|i{1,3}|\d", re.sub(r"(?i)^phase[- ]?", "", m.group(0)).lower())}


def _phases(rec: Any) -> set[str]:
    """{"2", "3"} for "2/3", {"1", "2"} for "Ib/II", {"2"} for "2b"."""
    return {_ROMAN.get(p.lower(), p) for p in re.findall(r"iv|i{1,3}|\d", str(rec.phase or "").lower())}


def asked_line(question: str) -> str | None:
    """The line whose words come first ("after first-line chemo" is relapsed disease, not first line)."""
    found = [(m.start(), -len(m.group(0)), line) for line, words in LINE_WORDS.items()
             if (m := words.search(question)) is not None]
    return min(found)[2] if found else None


def asked_designs(question: str) -> list[str]:
    return [name for name, (q, _, _) in DESIGN_WORDS.items() if q.search(question)]


def _says_design(name: str, design: str) -> bool:
    """The design text says the design ("randomised", not as part of "non-randomised")."""
    _, said, unless = DESIGN_WORDS[name]
    excluded = [m.span() for m in unless.finditer(design)]
    return any(not any(s <= m.start() < e for s, e in excluded) for m in said.finditer(design))


def filter_trials(trials: list[str], records: dict[str, Any], question: str) -> tuple[list[str], list[str]]:
    """(the trials that have every property the question names, the fields that show those properties)."""
    shown: list[str] = []
    line = asked_line(question)
    if line:
        trials = [t for t in trials if getattr(records[t], "line", None) == line]
        shown.append("setting")
    phases = asked_phases(question)
    if phases:  # "phase 3" includes 2/3 trials; "phase 2/3" means exactly those
        trials = [t for t in trials if phases <= _phases(records[t]) and (len(phases) == 1 or phases == _phases(records[t]))]
        shown.append("phase")
    for name in asked_designs(question):
        trials = [t for t in trials if _says_design(name, records[t].design or "")]
        shown.append("design")
    return trials, list(dict.fromkeys(shown))


_LIST_FILLER = matcher(_WORDS["list_filler"])
_LINE_FILLER = matcher(_WORDS["line_filler"])


def qualifiers(question: str, drug_classes: bool = True) -> list[str]:
    """The words of a list question beyond its kind of record, filters and (for trials and drugs) drug class,
    as stems: "which trials enrolled peritoneal mesothelioma?" -> ["periton"]."""
    rest = PHASE.sub(" ", question)
    for q, _ in CLASS_WORDS if drug_classes else ():
        rest = q.sub(" ", rest)  # the whole word: "immunotherapies"
    for q, _, _ in DESIGN_WORDS.values():
        rest = q.sub(" ", rest)
    for words in LINE_WORDS.values():
        rest = words.sub(" ", rest)
    rest = _LINE_FILLER.sub(" ", rest)
    return stem([w.lower() for w in re.findall(r"[A-Za-z0-9]+", _LIST_FILLER.sub(" ", rest)) if not w.isdigit()])


# Words a record may spell out: "UK" is also "the United Kingdom".
_SPELLED = {"uk": ("united kingdom", "britain", "british"), "usa": ("united states",), "us": ("united states", "usa")}


def says_all(text: str, stems: list[str]) -> bool:
    """Every stem occurs in the text ("oncolog" also matches the abbreviation "Oncol")."""
    lowered = text.lower()
    stems = [w for w in stems if not any(v in lowered for v in _SPELLED.get(w, ()))]
    said = set(stem(re.findall(r"[a-z0-9]+", lowered)))
    return all(any(t == w or (min(len(t), len(w)) >= 5 and min(len(t), len(w)) >= 0.6 * max(len(t), len(w))
                              and (t.startswith(w) or w.startswith(t))) for t in said)
               for w in stems)


def is_chemotherapy(record: Any) -> bool:
    """A chemotherapy backbone (cisplatin, pemetrexed...): named beside a drug, it is not what is asked about."""
    return "chemotherapy" in (getattr(record, "agent_class", "") or "")


def names_record(text: str, record: Any) -> bool:
    """The text names the record: its name, a synonym or a code name (four characters or more)."""
    said = compact(text)
    return any(len(compact(k)) >= 4 and compact(k) in said
               for k in [record.name, *record.synonyms, *getattr(record, "code_names", [])])


def _in_arms(record: Any, trial: Any) -> bool:
    return names_record(" ".join(f"{a.name} {a.regimen}" for a in getattr(trial, "arms", []) or []), record)


def tested_in(record: Any, trial: Any) -> bool:
    """The trial tested the record: it links to it, or its arms name it (by name, synonym or code name)."""
    return record.id in getattr(trial, "related", []) or _in_arms(record, trial)


def gives_alone(trial: Any, record: Any) -> bool:
    """The trial has an arm of the drug alone (the arm's name is the drug's name or a synonym)."""
    names = {compact(n) for n in [record.name, *record.synonyms]}
    return any(compact(a.name) in names for a in getattr(trial, "arms", []) or [])


_COMBINATION = matcher(_WORDS["_COMBINATION"])


def agents_in_trial(trial: Any, records: dict[str, Any], question: str = "") -> list[str]:
    """The drugs a trial tested, chemotherapy backbones only when alone: "what does it target?" after a turn on
    LUME-Meso means nintedanib; "when was the combination approved?" after CheckMate 743 means nivo plus ipi."""
    found = [rid for rid, r in records.items() if r.type == "agent" and tested_in(r, trial)]
    found.sort(key=lambda rid: not _in_arms(records[rid], trial))  # ONCOS-102 before "oncolytic virotherapy"
    tested = [a for a in found if not is_chemotherapy(records[a])] or found
    combined = [a for a in tested if "-plus-" in a]
    return combined if combined and _COMBINATION.search(question) else tested


_RUN_BY = re.compile(r"\b(?:run|led|sponsored|conducted|coordinated) by (?:the )?(?P<group>[A-Z][\w-]*(?: (?:of |for )?[A-Z][\w-]*)*)")


def sponsor_of(trial: Any) -> str | None:
    """The group that ran a trial, as its design or summary names it ("run by the European Thoracic Oncology Platform")."""
    for text in (getattr(trial, "design", None), getattr(trial, "summary", None)):
        if text and (m := _RUN_BY.search(text)):
            return m.group("group")
    return None


def run_by_same_group(trial: Any, records: dict[str, Any]) -> list[str]:
    """The other trials run by the group that ran this one: "did that group run any other trial?"."""
    group = sponsor_of(trial)
    return [rid for rid, r in records.items() if r.type == "trial" and rid != trial.id and group
            and group.lower() in f"{r.design or ''} {r.summary or ''}".lower()] if group else []
