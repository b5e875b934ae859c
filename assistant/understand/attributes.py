"""The attributes a question can ask about a record, derived from the record schemas.

Each attribute names the record fields that hold it (``fields``: rendered field keys, see
indexing.render; ``measures``: TrialResult.measure values) and the words that ask for it. Attributes with
no field ("quality of life", "median age") are still recognised, so a question asking for them about a
named record gets "the record of X does not report Y" instead of another fact about X.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.understand.phrases import matcher, vocabulary


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str  # how an answer names it: "the objective response rate"
    pattern: re.Pattern[str]
    fields: tuple[str, ...] = ()  # rendered field keys that hold it, in order of preference
    measures: tuple[str, ...] = ()  # TrialResult.measure values that hold it
    types: tuple[str, ...] = ("trial", "agent", "biomarker", "mechanism", "term")
    hr_only: bool = False  # hazard ratio: results that report one
    extra: dict[str, str] = field(default_factory=dict)


_VOCABULARY = vocabulary("attribute_words")
_EVIDENCE = vocabulary("attribute_evidence")
_CUES = {name: matcher(words) for name, words in vocabulary("attribute_cues").items()}
_YEARS = r"(?:\d+|an?|one|two|three|four|five|six|twelve|eighteen|twenty-four|thirty-six)"
TIMEPOINT_RE = re.compile(rf"\b({_YEARS})[- ]?(year|month|yr|mo)s?\b", re.IGNORECASE)


def _words(key: str, *patterns: str, not_after: tuple[str, ...] = ()) -> re.Pattern[str]:
    """How questions ask for the attribute: its words and phrases (words/attribute_words.yaml), and the few
    patterns a phrase cannot say. ``not_after``: more words that must not precede a phrase that names some."""
    phrases = [{**p, "not_after": [*not_after, *p["not_after"]]} if isinstance(p, dict) and "not_after" in p else p
               for p in _VOCABULARY.get(key, ())]
    parts = [*patterns, matcher(phrases, {"years": _YEARS}).pattern]  # the patterns are the longer asks
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def _evidence(kind: str, key: str, *patterns: str) -> str:
    """The words (words/attribute_evidence.yaml), or figures (``patterns``), a record's text must hold."""
    return "|".join([*patterns, matcher(_EVIDENCE[kind][key]).pattern])


def _status(markers: tuple[str, ...]) -> Attribute:
    """A trial's status; not "BAP1 status" (``markers``: the biomarker names, see ``with_markers``)."""
    return Attribute("status", "status", _words("status", not_after=markers), fields=("status",), types=("trial",))


# Order matters: the first attributes are the more specific ones ("2-year survival" before "survival").
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("qol", "quality-of-life results", _words("qol"), measures=("qol",), types=("trial",)),
    Attribute("duration_of_response", "duration of response", _words("duration_of_response"), types=("trial",)),
    Attribute("time_to_response", "time to response", _words("time_to_response"), types=("trial",)),
    Attribute("pk", "pharmacokinetics (half-life, clearance)", _words("pk"), types=("agent", "trial")),
    Attribute("prescribing", "prescribing information (contraindications, interactions)", _words("prescribing"), types=("agent", "trial")),
    Attribute("manufacturing", "manufacturing (production time, vein-to-vein time)", _words("manufacturing"),
              types=("agent", "trial")),
    Attribute("infusion_time", "infusion time", _words("infusion_time", r"\bhow long (?:does|is|did|was) (?:the |an |each )?(?:[\w-]+ ){0,2}infusion"), fields=("arms",),
              types=("trial",), extra={"requires": r"\bover \d+\s*(?:minutes|min|hours?)\b"}),
    Attribute("germline", "germline (inherited) testing", _words("germline"), fields=("summary", "relevance", "measurement", "description"), types=("biomarker",),
              extra={"requires": _evidence("requires", "germline"), "all_fields": True}),
    Attribute("age", "age of the patients", _words("age"), types=("trial",)),
    Attribute("subgroup_size", "number of patients in that group", _words("subgroup_size"), types=("trial",)),
    Attribute("screened", "number of patients screened", _words("screened"),
              fields=("population", "design"), types=("trial",),
              extra={"requires": r"\b\d+\s+(?:\w+\s+){0,2}screened\b|\bscreened\s+\d+", "all_fields": True}),
    Attribute("accuracy", "diagnostic accuracy (sensitivity, specificity)", _words("accuracy"), types=("biomarker",)),
    Attribute("cutoff", "biomarker cut-off", _words("cutoff"),
              fields=("measurement", "relevance", "population", "result"), types=("trial", "biomarker"),
              extra={"requires": r"(?:>|≥|<|over|above|at least|under|below)\s*\d+(?:\.\d+)?\s*%|\bcut-?off\b",
                     "all_fields": True}),
    Attribute("follow_up", "median follow-up", _words("follow_up"), fields=("result",),
              types=("trial",), extra={"requires": _evidence("requires", "follow_up")}),
    Attribute("ttf", "time to treatment failure or next treatment", _words("ttf"), types=("trial",)),
    # "what share of CM743 patients had epithelioid histology?": who was enrolled, stated as a share
    Attribute("histology_mix", "share of patients by histology", _words("histology_mix", r"\b(?:share|proportion|percentage|fraction|how many) of (?:the )?(?:\w+ )?(?:patients|participants|pts) "
              r"(?:had|were|with) (?:an? )?(?:\w+ )?(?:histolog\w*|epithelioid|non-?epithelioid|sarcomatoid|biphasic)"),
              fields=("population", "design"), types=("trial",),
              extra={"requires": r"\d+\s*%[^;.]{0,40}epithelioid|epithelioid[^;.]{0,40}\d+\s*%"}),
    Attribute("demographics", "patients' sex or ethnicity", _words("demographics"),
              types=("trial",)),
    Attribute("sites", "number of centres or countries", _words("sites"),
              fields=("design",), types=("trial",),
              extra={"requires": r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:\w+\s+)?"
                                 r"(?:centres|centers|hospitals|sites|countries|institutions)"}),
    Attribute("location", "where it was run", _words("location"), fields=("design", "summary"), types=("trial",),
              extra={"requires": _evidence("requires", "location")}),
    Attribute("sponsor", "sponsor or funder", _words("sponsor"), fields=("design", "summary"), types=("trial",),
              extra={"requires": _evidence("requires", "sponsor")}),  # + the groups the trials name
    Attribute("cost", "cost", _words("cost"),
              types=("agent", "trial")),
    Attribute("crossover", "crossover or subsequent therapy", _words("crossover"), measures=("other",), types=("trial",),
              extra={"result_words": _evidence("result_words", "crossover")}),
    Attribute("specific_ae", "that adverse event", _words("specific_ae"),
        measures=("safety",), types=("trial",), extra={"requires_asked_word": "1"}),
    Attribute("os_rate", "survival at that time point", _words("os_rate"), measures=("os_rate",),
        types=("trial",)),
    Attribute("pfs_rate", "progression-free survival at that time point", _words("pfs_rate"), measures=("pfs_rate",),
        types=("trial",)),
    Attribute("hr", "hazard ratio", _words("hr"), measures=("os", "pfs"),
              types=("trial",), hr_only=True),
    Attribute("pfs", "progression-free survival", _words("pfs"),
              measures=("pfs",), types=("trial",)),
    Attribute("orr", "objective response rate", _words("orr"), measures=("orr",),
              types=("trial",)),
    Attribute("dcr", "disease control rate", _words("dcr"), measures=("dcr",),
              types=("trial",)),
    Attribute("safety", "grade 3-4 treatment-related adverse events", _words("safety"),
        measures=("safety",), types=("trial",)),
    Attribute("os", "overall survival", _words("os"), measures=("os",), types=("trial",)),
    Attribute("primary_endpoint", "primary endpoint", _words("primary_endpoint"), fields=("primary_endpoint",), types=("trial",)),
    Attribute("sample_size", "number of patients randomised", _words("sample_size", r"(?:^|\b(?:the|what|and|its)\s+)n\b(?=\s+(?:and|&|,)|\s*[?,]|\s*$)"),
        fields=("n_randomised", "arms", "design", "status"), types=("trial",),
        extra={"requires": r"\b\d{2,5}\s+(?:\w+\s+){0,2}(?:patients|participants|adults|people)\b|\bn\s*=\s*\d",
               "all_fields": True}),
    Attribute("registration", "registration number", _words("registration"),
              fields=("registration",), types=("trial",)),
    Attribute("dose", "dose", _words("dose"),
              fields=("arms",), types=("trial",), extra={"requires": r"\d\s*(?:mg|g/m|AUC|mcg|µg|IU|vp|pfu)|cells?/kg|\d\s*[x×]\s*10"}),
    Attribute("assay", "assay used", _words("assay"), fields=("population", "design", "result"), types=("trial",),
              extra={"requires": _evidence("requires", "assay"), "all_fields": True}),
    Attribute("arms", "arms and doses", _words("arms"),
              fields=("arms",), types=("trial",)),
    Attribute("tested", "what it tested", _words("tested"), fields=("summary", "arms"),
              types=("trial",), extra={"all_fields": True}),
    Attribute("administration", "route of administration", _words("administration"), fields=("modality", "summary", "mechanism"),
              types=("agent",), extra={"requires": _evidence("requires", "administration")}),
    Attribute("phase", "phase", _words("phase"),
              fields=("design",), types=("trial",)),
    Attribute("design", "design", _words("design"), fields=("design",), types=("trial",)),
    Attribute("setting", "setting", _words("setting"), fields=("setting",), types=("trial",)),
    Attribute("selection", "patient selection", _words("selection"),
              fields=("population",), types=("trial",)),
    Attribute("population", "population", _words("population"),
              fields=("population",), types=("trial",)),
    _status(()),
    Attribute("publication", "publication", _words("publication"),
              fields=("publication",), types=("trial",)),
    Attribute("approval", "regulatory approvals", _words("approval"),
              fields=("approval",), types=("agent",)),
    Attribute("trials", "trials that tested it", _words("trials", r"\b(?:which|what) (?:(?!(?:was|is|were|are|the|did|does|do|kind|type|sort)\b)[\w-]+ ){0,2}(?:trials?|stud(?:y|ies))\b"), types=("agent", "biomarker", "mechanism")),
    Attribute("drugs", "drugs that act on it", _words("drugs"), types=("biomarker", "mechanism", "term")),
    Attribute("markers", "biomarkers that select patients for it", _words("markers"), types=("agent",)),
    Attribute("code_names", "code names", _words("code_names"), fields=("code_names",), types=("agent",)),
    Attribute("target", "target", _words("target"),
              fields=("targets", "mechanism"), types=("agent",)),
    Attribute("mechanism", "mechanism of action", _words("mechanism"),
              fields=("mechanism", "targets", "modality"), types=("agent",),
              extra={"all_fields": True}),
    Attribute("class", "class", _words("class"),
              fields=("class", "modality"), types=("agent",)),
    Attribute("measurement", "how it is measured", _words("measurement"), fields=("measurement",), types=("biomarker",)),
    Attribute("relevance", "relevance", _words("relevance"),
              fields=("relevance",), types=("biomarker",)),
    Attribute("frequency", "how common it is", _words("frequency", r"\b(?:is|are) (?:it|they|[\w -]{2,40}) (?:high|low|common|frequent|rare)\b", r"\b(?:share|proportion|percentage|fraction) of (?:\w+ ){0,2}(?:patients|pts|people|tumou?rs)\b(?! (?:had|were randomi))"),
              fields=("summary", "relevance", "kind", "definition", "description"),
              types=("biomarker", "term", "mechanism"),
              extra={"requires": _evidence("requires", "frequency", r"\b\d+%"), "all_fields": True}),
    Attribute("examples", "examples", _words("examples"), fields=("examples", "description"), types=("mechanism",), extra={"all_fields": True}),
    Attribute("definition", "definition", _words("definition", r"^\s*what (?:is|are|was)\b(?!.*\b(?:the|its|their)\b)(?!.*\w's\b)"),
              fields=("expansion", "definition", "class", "intro", "design", "summary", "description")),
    Attribute("headline", "main result", _words("headline"),
              types=("trial", "agent")),
)
BY_KEY = {a.key: a for a in ATTRIBUTES}
# Attributes a record can lack; asking for one of these about a named record never falls back to prose.
RECORD_ONLY = {"histology_mix", "location", "screened", "assay", "time_to_response", "pk", "prescribing", "manufacturing", "infusion_time", "germline", "cutoff", "follow_up", "ttf", "demographics", "specific_ae", "subgroup_size", "accuracy", "dose", "qol", "duration_of_response", "age", "sponsor", "cost", "crossover", "os_rate", "pfs_rate", "hr",
               "pfs", "orr", "dcr", "safety", "os", "primary_endpoint", "sample_size", "registration", "arms",
               "phase", "approval", "status"}


def with_markers(markers: tuple[str, ...]) -> tuple[Attribute, ...]:
    """The vocabulary knowing the biomarkers' names: "BAP1 status" asks no trial's status."""
    return tuple(_status(markers) if a.key == "status" else a for a in ATTRIBUTES)


_POINTING = {"that", "this", "those", "these", "same", "each"}
_REFERRING = {"arms", "design", "setting", "population", "phase", "tested"}


def _only_referred_to(text: str, attr: Attribute, found: list[Attribute]) -> bool:
    """"how long does each infusion take in that regimen?": a word that also names a field ("regimen"), each time
    after a pointing word, refers to what is asked about; beside another ask it asks nothing itself."""
    if attr.key not in _REFERRING or len(found) < 2:
        return False
    spans = list(attr.pattern.finditer(text))
    return bool(spans) and all(text[: m.start()].split()[-1:] and text[: m.start()].split()[-1].lower() in _POINTING
                               for m in spans)


def _asked_apart(text: str, key: str, rate: str, found: list[Attribute]) -> bool:
    """``key`` is asked somewhere the ``rate`` ask does not cover ("median OS and 3-year survival")."""
    by_key = {a.key: a for a in found}
    if key not in by_key or rate not in by_key:
        return False
    covered = [m.span() for m in by_key[rate].pattern.finditer(text)]
    return any(not any(s <= m.start() < e for s, e in covered) for m in by_key[key].pattern.finditer(text))


def find_attributes(text: str, attributes: tuple[Attribute, ...] = ATTRIBUTES) -> list[Attribute]:
    """Attributes asked in ``text``, most specific first; "survival" is dropped when "2-year survival" matched."""
    text = _PLURAL_ACRONYM.sub(r"\1", text)  # "ORRs", "HRs", "AEs": the vocabulary holds the singular
    found: list[Attribute] = []
    for attr in attributes:
        if attr.pattern.search(text):
            found.append(attr)
    found = [a for a in found if not _only_referred_to(text, a, found)]
    keys = {a.key for a in found}
    drop = _nested(text, found)
    if keys & {"os_rate", "pfs_rate"}:
        drop |= {"os", "pfs"} - ({"pfs"} if "pfs_rate" not in keys and "os_rate" in keys else set())
        # "median overall survival and 3-year survival": survival asked again outside the rate asks both
        drop -= {k for k in ("os", "pfs") if k in keys and _asked_apart(text, k, f"{k}_rate", found)}
    if "hr" in keys:
        drop.add("headline")
    if keys & {"os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "safety", "qol", "duration_of_response"}:
        drop |= {"headline", "population"} - ({"population"} if _CUES["benefit_who"].search(text) else set())
    if "dose" in keys:
        drop.add("arms")
    if "selection" in keys:  # "which biomarker predicts benefit?" asks who was selected, not the main result
        drop.add("headline")
    if keys & _MEASURES and not _CUES["asks_arms"].search(text):  # "ORR, tremelimumab vs placebo", "OS in the atezolizumab arm"
        drop.add("arms")
    if "primary_endpoint" in keys and _CUES["meets"].search(text):
        found += [a for a in attributes if a.key == "headline" and a not in found]  # "...and did it meet it?": its result
    if "measurement" in keys and _CUES["starts_how"].search(text):
        drop.add("trials")  # "how is CDKN2A deletion tested in pathology?" asks how it is measured
    if "sites" in keys and len(_CUES["how_many"].findall(text)) <= 1 and \
            not _CUES["patients_and"].search(text):
        drop.add("sample_size")  # "how many centres took part in the randomised phase II?"
        drop.discard("sites")  # (not nested in "how many US centres enrolled ...")
    if "assay" in keys:  # "which PD-L1 assay was used in CheckMate 743?" asks the trial, not the biomarker
        drop |= {"measurement", "relevance"}
    if "sample_size" in keys and not _CUES["design"].search(text):
        drop |= {"design"}
    if keys & {"ttf", "follow_up", "cutoff", "crossover", "demographics"}:
        drop |= {"headline", "sample_size", "population"}  # "time to treatment failure" is not the main result
    if "duration_of_response" in keys:
        drop.add("orr")  # "how long did responses last?" is not asking the response rate
    if "specific_ae" in keys:
        drop |= {"safety"}
    if "approval" in keys:
        drop |= {"headline", "trials", "status"}  # an approval names the trial it rests on; "approval status" is not a trial's
    if "trials" in keys:  # ("which trial showed it helps?" asks the result)
        drop |= {"definition", "design"} | (set() if _CUES["showed"].search(text) else {"headline"})
    keys = {a.key for a in found}
    if len(keys - {"definition"}) > 0 and "definition" in keys and not _CUES["what_is_and"].search(text):
        drop.add("definition")  # (kept in "what is tecentriq and what does it bind?")
    return [a for a in found if a.key not in drop]


_PLURAL_ACRONYM = re.compile(r"\b([A-Z]{2,5})s\b")
_MEASURES = {"os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "hr", "safety", "specific_ae", "qol", "duration_of_response"}


def _nested(text: str, found: list[Attribute]) -> set[str]:
    """Attributes matched only inside another's short phrase: "survival" in "progression-free survival"."""
    spans = {a.key: [m.span() for m in a.pattern.finditer(text)] for a in found}
    short = [(s, e) for k, v in spans.items() for s, e in v if e - s <= 30]
    return {k for k, v in spans.items() if v and all(any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for s2, e2 in short)
                                                      for s, e in v)}


def timepoints(text: str) -> list[str]:
    """Every time point asked: "alive at 1 and 2 yrs" -> ["1 year", "2 years"]."""
    out = []
    for m in re.finditer(rf"\b({_YEARS})((?:\s*(?:,|and|&|or)\s*(?:at\s+)?{_YEARS})+)\s*[- ]?(year|month|yr|mo)s?\b", text,
                         re.IGNORECASE):
        for n in [m.group(1), *re.findall(_YEARS, m.group(2))]:
            out.append(timepoint(f"{n} {m.group(3)}"))
    out += [timepoint(m.group(0)) for m in TIMEPOINT_RE.finditer(text)]
    return list(dict.fromkeys(t for t in out if t))


def timepoint(text: str) -> str | None:
    """'2 years', '36 months' from "2-year survival", "survival at 36 months" (None when absent)."""
    m = TIMEPOINT_RE.search(text)
    if not m:
        return None
    words = {"a": "1", "an": "1", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "twelve": "12",
             "eighteen": "18", "twenty-four": "24", "thirty-six": "36"}
    n = words.get(m.group(1).lower(), m.group(1))
    unit = "year" if m.group(2).lower().startswith("y") else "month"
    return f"{n} {unit}{'' if n == '1' else 's'}"
