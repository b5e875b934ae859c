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


def _words(key: str, *patterns: str) -> re.Pattern[str]:
    """How questions ask for the attribute: its words and phrases (words/attribute_words.yaml), and the few
    patterns a phrase cannot say (a word that must not precede, a figure)."""
    parts = [*patterns, matcher(_VOCABULARY.get(key, ())).pattern]  # the patterns are the longer asks
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


def _status(markers: tuple[str, ...]) -> Attribute:
    """A trial's status; not "BAP1 status" (``markers``: the biomarker names, see ``with_markers``)."""
    not_after = "".join(f"(?<!{re.escape(m)} )" for m in markers)
    return Attribute("status", "status", _words("status", not_after + r"(?<!mutation )(?<!mutational )"
                     r"(?<!biomarker )(?<!performance )(?<!smoking )(?<!histology )(?<!receptor )\bstatus\b", r"\bcompleted\?"), fields=("status",), types=("trial",))


_YEARS = r"(?:\d+|an?|one|two|three|four|five|six|twelve|eighteen|twenty-four|thirty-six)"
TIMEPOINT_RE = re.compile(rf"\b({_YEARS})[- ]?(year|month|yr|mo)s?\b", re.IGNORECASE)

# Order matters: the first attributes are the more specific ones ("2-year survival" before "survival").
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("qol", "quality-of-life results", _words("qol"), measures=("qol",), types=("trial",)),
    Attribute("duration_of_response", "duration of response", _words("duration_of_response", r"\bhow long (?:did|do|were|was) .{0,40}respon\w*", r"\brespon\w* (?:last|were durable)"), types=("trial",)),
    Attribute("time_to_response", "time to response", _words("time_to_response", r"\btime to (?:first |objective )?response\b", r"\bhow (?:quickly|fast|soon) did .{0,40}respon"), types=("trial",)),
    Attribute("pk", "pharmacokinetics (half-life, clearance)", _words("pk"), types=("agent", "trial")),
    Attribute("prescribing", "prescribing information (contraindications, interactions)", _words("prescribing"), types=("agent", "trial")),
    Attribute("manufacturing", "manufacturing (production time, vein-to-vein time)", _words("manufacturing", r"\bvein-to-vein\b"),
              types=("agent", "trial")),
    Attribute("infusion_time", "infusion time", _words("infusion_time", r"\bhow long (?:does|is|did|was) (?:the |an |each )?(?:[\w-]+ ){0,2}infusion"), fields=("arms",),
              types=("trial",), extra={"requires": r"\bover \d+\s*(?:minutes|min|hours?)\b"}),
    Attribute("germline", "germline (inherited) testing", _words("germline"), fields=("summary", "relevance", "measurement", "description"), types=("biomarker",),
              extra={"requires": r"germline|inherited|hereditary|familial", "all_fields": True}),
    Attribute("age", "age of the patients", _words("age"), types=("trial",)),
    Attribute("subgroup_size", "number of patients in that group", _words("subgroup_size", r"\bhow many (?:patients|participants|people|pts) got (?:grade|an?\s|any\s|serious|severe|side|adverse|toxic)", r"\b(?:proportion|percent(?:age)?|share|fraction) (?:of (?:the )?(?:patients |participants )?)?(?:with |had |were )?"
        r"(?:non-?epithelioid|epithelioid|sarcomatoid|biphasic)"), types=("trial",)),
    Attribute("screened", "number of patients screened", _words("screened"),
              fields=("population", "design"), types=("trial",),
              extra={"requires": r"\b\d+\s+(?:\w+\s+){0,2}screened\b|\bscreened\s+\d+", "all_fields": True}),
    Attribute("accuracy", "diagnostic accuracy (sensitivity, specificity)", _words("accuracy"), types=("biomarker",)),
    Attribute("cutoff", "biomarker cut-off", _words("cutoff", r"\bcut-?offs?\b"),
              fields=("measurement", "relevance", "population", "result"), types=("trial", "biomarker"),
              extra={"requires": r"(?:>|≥|<|over|above|at least|under|below)\s*\d+(?:\.\d+)?\s*%|\bcut-?off\b",
                     "all_fields": True}),
    Attribute("follow_up", "median follow-up", _words("follow_up"), fields=("result",),
              types=("trial",), extra={"requires": r"follow-up"}),
    Attribute("ttf", "time to treatment failure or next treatment", _words("ttf", r"\btime to (?:treatment failure|next treatment)\b"), types=("trial",)),
    # "what share of CM743 patients had epithelioid histology?": who was enrolled, stated as a share
    Attribute("histology_mix", "share of patients by histology", _words("histology_mix", r"\b(?:share|proportion|percentage|fraction|how many) of (?:the )?(?:\w+ )?(?:patients|participants|pts) "
              r"(?:had|were|with) (?:an? )?(?:\w+ )?(?:histolog\w*|epithelioid|non-?epithelioid|sarcomatoid|biphasic)", r"\bwhat (?:%|percent\w*) (?:of (?:the )?(?:\w+ )?(?:patients|pts) )?(?:had|were) (?:\w+ )?(?:epithelioid|non-?epithelioid|"
              r"sarcomatoid|biphasic)"),
              fields=("population", "design"), types=("trial",),
              extra={"requires": r"\d+\s*%[^;.]{0,40}epithelioid|epithelioid[^;.]{0,40}\d+\s*%"}),
    Attribute("demographics", "patients' sex or ethnicity", _words("demographics"),
              types=("trial",)),
    Attribute("sites", "number of centres or countries", _words("sites", r"\bhow many (?:[A-Z]{2,3} |\w+ )?(?:centres|centers|sites|countries|"
              r"hospitals)\b"),
              fields=("design",), types=("trial",),
              extra={"requires": r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:\w+\s+)?"
                                 r"(?:centres|centers|hospitals|sites|countries|institutions)"}),
    Attribute("location", "where it was run", _words("location", r"\bwhere (?:was|were|is|did)\b.*\b(?:run|conducted|done|held|based|take place)\b"), fields=("design", "summary"), types=("trial",),
              extra={"requires": r"\b(?:hospitals?|centres?|centers?|universit\w*|countries)\b|\b(?:UK|USA|United|Australia|"
                                 r"France|Italy|Spain|Canada|Japan|Europe|European|Belgium|Netherlands|Switzerland|"
                                 r"New Zealand|Australian|Canadian|Italian|French|Dutch|British)\b"}),
    Attribute("sponsor", "sponsor or funder", _words("sponsor", r"\b(?:which|what) (?:cooperative |co-operative |trials? |research |academic )?group\b", r"\bwho (?:led|conducted|organi[sz]ed)\b"), fields=("design", "summary"), types=("trial",),
              extra={"requires": r"\brun by\b|\bsponsor|\bled by\b|\bGroup\b|Platform"}),  # + the groups the trials name
    Attribute("cost", "cost", _words("cost"),
              types=("agent", "trial")),
    Attribute("crossover", "crossover or subsequent therapy", _words("crossover"), measures=("other",), types=("trial",),
              extra={"result_words": r"subsequent|cross(?:ed)?[- ]?over|later"}),
    Attribute("specific_ae", "that adverse event", _words("specific_ae", r"\b(?:hepatitis|colitis|pneumonitis|thyroiditis|hypothyroidism|hyperthyroidism|rash|diarrh\w*|nephritis|"
        r"myocarditis|hypophysitis|neuropathy|fatigue|nausea|neutropenia|an(?:a)?emia|thrombocytopenia|hypertension|"
        r"cytokine release|infusion reaction|pruritus|adrenal insufficiency|diabetes)\b"),
        measures=("safety",), types=("trial",), extra={"requires_asked_word": "1"}),
    Attribute("os_rate", "survival at that time point", _words("os_rate", rf"\b{_YEARS}[- ]?(?:year|yr|month|mo)s?\s+(?:overall\s+)?surviv", rf"\b{_YEARS}[- ]?(?:year|yr|month|mo)s?\s+os\b", rf"\bsurviv\w*\s+(?:rate\s+)?at\s+{_YEARS}\s+(?:years?|months?)", rf"\balive at {_YEARS}", rf"\b(?:os|overall survival) at {_YEARS}\s*(?:months?|years?)"), measures=("os_rate",),
        types=("trial",)),
    Attribute("pfs_rate", "progression-free survival at that time point", _words("pfs_rate", rf"\b{_YEARS}[- ]?(?:year|yr|month|mo)s?\s+(?:pfs|progression[- ]free)", rf"\b(?:alive and )?(?:progression[- ]free|pfs) at {_YEARS}\s*(?:months?|years?)"), measures=("pfs_rate",),
        types=("trial",)),
    Attribute("hr", "hazard ratio", _words("hr"), measures=("os", "pfs"),
              types=("trial",), hr_only=True),
    Attribute("pfs", "progression-free survival", _words("pfs", r"\bprogression[- ]free(?: survival)?\b"),
              measures=("pfs",), types=("trial",)),
    Attribute("orr", "objective response rate", _words("orr", r"\b(?:ir-?)?orr\b"), measures=("orr",),
              types=("trial",)),
    Attribute("dcr", "disease control rate", _words("dcr"), measures=("dcr",),
              types=("trial",)),
    Attribute("safety", "grade 3-4 treatment-related adverse events", _words("safety", r"\badverse (?:events?|effects?|reactions?)\b", r"\bgrade\s*(?:3|≥\s*3|iii)"),
        measures=("safety",), types=("trial",)),
    Attribute("os", "overall survival", _words("os"), measures=("os",), types=("trial",)),
    Attribute("primary_endpoint", "primary endpoint", _words("primary_endpoint", r"\bprimary (?:end ?p\w{2,4}t|outcome|objective)s?\b"), fields=("primary_endpoint",), types=("trial",)),
    Attribute("sample_size", "number of patients randomised", _words("sample_size", r"\bhow many (?:patients|participants|people|subjects|adults|persons|pts)\b(?:\s+(?:were|was|did|have been))?"
        r"\s*(?:randomi[sz]ed|enrol+ed|included|treated|recruited|accrued|studied|took part|participated|evaluable|"
        r"analy[sz]ed|in\b|did\b|planned|needed|required|targeted|expected|and\b|,|\?|$)", r"\bn\s*\?\s*$", r"\b(?:which|what) (?:one |trial |study )?(?:was|is|were) (?:bigger|larger|smaller)\b", r"(?:^|\b(?:the|what|and|its)\s+)n\b(?=\s+(?:and|&|,)|\s*[?,]|\s*$)", r"\bhow many (?:patients |participants |people |pts )?(?:got|received|were given|were treated with)\b"
        r"(?!\s+(?:grade|an?\s|any\s|serious|severe|side|adverse|toxic))", r"\bhow many were (?:randomi[sz]ed|enrolled)\b", r"\bnumbers? (?:of patients )?(?:randomi[sz]ed|enrolled|included|treated)\b", r"\bhow (?:many|large|big)\b.*\b(?:enrol|randomi[sz]|accru)"),
        fields=("n_randomised", "arms", "design", "status"), types=("trial",),
        extra={"requires": r"\b\d{2,5}\s+(?:\w+\s+){0,2}(?:patients|participants|adults|people)\b|\bn\s*=\s*\d",
               "all_fields": True}),
    Attribute("registration", "registration number", _words("registration", r"\btrial (?:number|id(?:entifier)?)\b", r"clinicaltrials\.gov"),
              fields=("registration",), types=("trial",)),
    Attribute("dose", "dose", _words("dose"),
              fields=("arms",), types=("trial",), extra={"requires": r"\d\s*(?:mg|g/m|AUC|mcg|µg|IU|vp|pfu)|cells?/kg|\d\s*[x×]\s*10"}),
    Attribute("assay", "assay used", _words("assay"), fields=("population", "design", "result"), types=("trial",),
              extra={"requires": r"22C3|28-8|SP263|SP142|\bassay", "all_fields": True}),
    Attribute("arms", "arms and doses", _words("arms", r"(?<!\bby )(?<!\bper )(?<!\beach )(?<!\bboth )\barms\b(?!\s+(?:did|was|performed|fared|had) better)", r"\b(?:what|which) (?:was|were|is) the (?:\w+ )?arms?\b", r"\b(?:which|what) (?:[\w-]+ )?(?:drugs?|agents?|treatments?|therap(?:y|ies)|antibod(?:y|ies)|inhibitors?) (?:was|were|did) "
              r".{0,30}\b(?:tested|given|used|"
              r"evaluated|test)\b", r"\bcompar(?:ator|ed against|ed with)\b", r"\bwhat (?:treatments?|drugs?) did\b", r"\bwhat (?:operation|surgery|procedure|treatment|regimen|drugs?) did (?:the )?[\w-]+ (?:arm|group)\b", r"\bwhat (?:operation|surgery|surgical procedure)\b"),
              fields=("arms",), types=("trial",)),
    Attribute("tested", "what it tested", _words("tested", r"\b(?:what|which) (?:drugs?|agents?|treatments?|therap(?:y|ies)) (?:was|is|were|are) .{1,40} "
              r"(?:testing|evaluating|studying|investigating)\b"), fields=("summary", "arms"),
              types=("trial",), extra={"all_fields": True}),
    Attribute("administration", "route of administration", _words("administration", r"\bhow (?:do you|to) (?:give|administer)\b"), fields=("modality", "summary", "mechanism"),
              types=("agent",), extra={"requires": r"intramuscular|intravenous|\bIV\b|\boral|subcutaneous|intrapleural|"
                                                   r"intratumou?ral|infusion|injection|intradermal"}),
    Attribute("phase", "phase", _words("phase", r"\bphase\s*\?"),
              fields=("design",), types=("trial",)),
    Attribute("design", "design", _words("design", r"\b(?:arm|design|protocol|eligibility)\b.{0,30}\b(?:changed|modified|switched)\b", r"(?<!hazard )(?<!odds )\bratio\b(?!s)", r"\bdouble-blind\b"), fields=("design",), types=("trial",)),
    Attribute("setting", "setting", _words("setting", r"\b[123]L\b"), fields=("setting",), types=("trial",)),
    Attribute("selection", "patient selection", _words("selection"),
              fields=("population",), types=("trial",)),
    Attribute("population", "population", _words("population", r"\b(?:which|what) patients (?:could|can|were able to) (?:enter|join|enrol|be enrolled)\b", r"\bage (?:limits?|range|criteri\w+|restrictions?)\b", r"\benrol+ment criteri"),
              fields=("population",), types=("trial",)),
    _status(()),
    Attribute("publication", "publication", _words("publication"),
              fields=("publication",), types=("trial",)),
    Attribute("approval", "regulatory approvals", _words("approval"),
              fields=("approval",), types=("agent",)),
    Attribute("trials", "trials that tested it", _words("trials", r"\b(?:which|what) (?:(?!(?:was|is|were|are|the|did|does|do)\b)[\w-]+ ){0,2}(?:trials?|stud(?:y|ies))\b", r"\b(?:any|a) (?:trials?|stud(?:y|ies)) (?:of|with|testing|on)\b"), types=("agent", "biomarker", "mechanism")),
    Attribute("drugs", "drugs that act on it", _words("drugs", r"\b(?:which|what) (?:drugs?|agents?|therap(?:y|ies)|treatments?)\b"
              r"(?! (?:did|were|was) (?:patients|participants))"), types=("biomarker", "mechanism", "term")),
    Attribute("markers", "biomarkers that select patients for it", _words("markers", r"\b(?:which|what) (?:bio)?markers?\b"), types=("agent",)),
    Attribute("code_names", "code names", _words("code_names", r"\bcode ?names?\b"), fields=("code_names",), types=("agent",)),
    Attribute("target", "target", _words("target"),
              fields=("targets", "mechanism"), types=("agent",)),
    Attribute("mechanism", "mechanism of action", _words("mechanism", r"\b(?:what|which) (?:gene|transgene|payload|cytokine)s? does\b"),
              fields=("mechanism", "targets", "modality"), types=("agent",),
              extra={"all_fields": True}),
    Attribute("class", "class", _words("class"),
              fields=("class", "modality"), types=("agent",)),
    Attribute("measurement", "how it is measured", _words("measurement"), fields=("measurement",), types=("biomarker",)),
    Attribute("relevance", "relevance", _words("relevance", r"\bas a (?:bio)?marker\b"),
              fields=("relevance",), types=("biomarker",)),
    Attribute("frequency", "how common it is", _words("frequency", r"\b(?:is|are) (?:it|they|[\w -]{2,40}) (?:high|low|common|frequent|rare)\b", r"\b(?:share|proportion|percentage|fraction) of (?:\w+ ){0,2}(?:patients|pts|people|tumou?rs)\b(?! (?:had|were randomi))"),
              fields=("summary", "relevance", "kind", "definition", "description"),
              types=("biomarker", "term", "mechanism"),
              extra={"requires": r"\b(?:high|low|common|frequent|rare|few|most|often|\d+%)", "all_fields": True}),
    Attribute("examples", "examples", _words("examples", r"\b(?:which|what) (?:\w+ )?(?:pathways|genes|cells|components|players|mediators|molecules)\b", r"\b(?:which|what) (?:cell|immune cell) types\b"), fields=("examples", "description"), types=("mechanism",), extra={"all_fields": True}),
    Attribute("definition", "definition", _words("definition", r"^\s*what (?:is|are|was)\b(?!.*\b(?:the|its|their)\b)(?!.*\w's\b)", r"^\s*who is\b"),
              fields=("expansion", "definition", "class", "intro", "design", "summary", "description")),
    Attribute("headline", "main result", _words("headline", r"\bwhat did .* (?:show|find|report|demonstrate)\b", r"\b(?:did|performed|fared|do|does) better\b", r"\bdid (?:it|the trial|they) (?:hit|meet|reach|achieve)\b", r"\b(?:was|were) (?:it|they|the (?:primary )?end ?points?) met\b", r"\bmet\s*\?", r"\b(?:reach(?:ed)?|achiev(?:e|ed)|met|hit) (?:it|that|this)\b"),
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


def find_attributes(text: str, attributes: tuple[Attribute, ...] = ATTRIBUTES) -> list[Attribute]:
    """Attributes asked in ``text``, most specific first; "survival" is dropped when "2-year survival" matched."""
    text = _PLURAL_ACRONYM.sub(r"\1", text)  # "ORRs", "HRs", "AEs": the vocabulary holds the singular
    found: list[Attribute] = []
    for attr in attributes:
        if attr.pattern.search(text):
            found.append(attr)
    keys = {a.key for a in found}
    drop = _nested(text, found)
    if keys & {"os_rate", "pfs_rate"}:
        drop |= {"os", "pfs"} - ({"pfs"} if "pfs_rate" not in keys and "os_rate" in keys else set())
    if "hr" in keys:
        drop.add("headline")
    if keys & {"os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "safety", "qol", "duration_of_response"}:
        drop |= {"headline", "population"} - ({"population"} if re.search(r"which patients benefit|who benefits?", text,
                                                                          re.IGNORECASE) else set())
    if "dose" in keys:
        drop.add("arms")
    if "selection" in keys:  # "which biomarker predicts benefit?" asks who was selected, not the main result
        drop.add("headline")
    if keys & _MEASURES and not _ASKS_ARMS.search(text):  # "ORR, tremelimumab vs placebo", "OS in the atezolizumab arm"
        drop.add("arms")
    if "primary_endpoint" in keys and re.search(r"\b(?:meet|met|achiev\w*|reach\w*|hit)\b", text, re.IGNORECASE):
        found += [a for a in attributes if a.key == "headline" and a not in found]  # "...and did it meet it?": its result
    if "measurement" in keys and re.match(r"\s*how\b", text, re.IGNORECASE):
        drop.add("trials")  # "how is CDKN2A deletion tested in pathology?" asks how it is measured
    if "sites" in keys and len(re.findall(r"\bhow many\b", text, re.IGNORECASE)) <= 1 and \
            not re.search(r"\b(?:patients|participants|people|pts|subjects)\s+(?:and|,)|\brandomi[sz]ed\s*(?:,|and\b|$)", text,
                          re.IGNORECASE):
        drop.add("sample_size")  # "how many centres took part in the randomised phase II?"
        drop.discard("sites")  # (not nested in "how many US centres enrolled ...")
    if "assay" in keys:  # "which PD-L1 assay was used in CheckMate 743?" asks the trial, not the biomarker
        drop |= {"measurement", "relevance"}
    if "sample_size" in keys and not re.search(r"\bdesign|\bratio\b|\ballocat|\bcompar", text, re.IGNORECASE):
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
        drop |= {"definition", "design"} | (set() if _SHOWED.search(text) else {"headline"})
    keys = {a.key for a in found}
    if len(keys - {"definition"}) > 0 and "definition" in keys and not _WHAT_IS_AND.search(text):
        drop.add("definition")  # (kept in "what is tecentriq and what does it bind?")
    return [a for a in found if a.key not in drop]


_PLURAL_ACRONYM = re.compile(r"\b([A-Z]{2,5})s\b")
_WHAT_IS_AND = re.compile(r"^\s*what(?:'s| is| are)\s+[\w-]+(?:\s+[\w-]+){0,5}?\s*(?:,\s*)?and\b|"
                          r"\b(?:which|what) (?:drug|agent|trial|antibody|medicine|product) is (?:that|this|it)\b|"
                          r"\bwhat (?:kind|type|sort) of (?:drug|agent|product|therapy|treatment|antibody|medicine)\b", re.IGNORECASE)
_SHOWED = re.compile(r"\b(?:show(?:ed|n|s)?|found|demonstrat\w*|helps?|helped|benefit\w*|improv\w*|work|worked)\b",
                     re.IGNORECASE)
_MEASURES = {"os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "hr", "safety", "specific_ae", "qol", "duration_of_response"}
_ASKS_ARMS = re.compile(r"\b(?:dos(?:e|es|ing|age)|regimens?|schedule|mg/kg)\b|\b(?:what|which) (?:were|are|was) the arms\b|"
                        r"\barms and\b|\band (?:the )?arms\b", re.IGNORECASE)


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
