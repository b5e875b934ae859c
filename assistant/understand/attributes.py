"""The attributes a question can ask about a record, derived from the record schemas.

Each attribute names the record fields that hold it (``fields``: rendered field keys, see
indexing.render; ``measures``: TrialResult.measure values) and the words that ask for it. Attributes with
no field ("quality of life", "median age") are still recognised, so a question asking for them about a
named record gets "the record of X does not report Y" instead of another fact about X.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


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


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(alternatives) + r")", re.IGNORECASE)


def _status(markers: tuple[str, ...]) -> Attribute:
    """A trial's status; not "BAP1 status" (``markers``: the biomarker names, see ``with_markers``)."""
    not_after = "".join(f"(?<!{re.escape(m)} )" for m in markers)
    return Attribute("status", "status", _rx(not_after + r"(?<!mutation )(?<!mutational )"
                     r"(?<!biomarker )(?<!performance )(?<!smoking )(?<!histology )(?<!receptor )\bstatus\b",
                     r"\bstill recruiting\b", r"\brecruiting\b", r"\bongoing\b",
                     r"\b(?:is|was|has)\b.{0,30}\bcompleted\b", r"\bcompleted\?"), fields=("status",), types=("trial",))


_YEARS = r"(?:\d+|one|two|three|four|five|six|twelve|eighteen|twenty-four|thirty-six)"
TIMEPOINT_RE = re.compile(rf"\b({_YEARS})[- ]?(year|month|yr|mo)s?\b", re.IGNORECASE)

# Order matters: the first attributes are the more specific ones ("2-year survival" before "survival").
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("qol", "quality-of-life results", _rx(r"\bquality[- ]of[- ]life\b", r"\bqol\b", r"\bhrqol\b",
              r"patient-reported"), measures=("qol",), types=("trial",)),
    Attribute("duration_of_response", "duration of response", _rx(r"\bduration of (?:the )?response", r"\bdor\b",
              r"how long did (?:the )?responses? last", r"\bhow long (?:did|do|were|was) .{0,40}respon\w*",
              r"\bdurab\w* respon", r"\brespon\w* (?:last|were durable)"), types=("trial",)),
    Attribute("time_to_response", "time to response", _rx(r"\btime to (?:first |objective )?response\b",
              r"\bhow (?:quickly|fast|soon) did .{0,40}respon"), types=("trial",)),
    Attribute("pk", "pharmacokinetics (half-life, clearance)", _rx(r"\bhalf[- ]?life\b", r"\bpharmacokinetic",
              r"\bclearance\b", r"\bbioavailab", r"\bvolume of distribution\b", r"\bcmax\b"), types=("agent", "trial")),
    Attribute("prescribing", "prescribing information (contraindications, interactions)", _rx(
              r"\bcontraindicat", r"\bdrug interactions?\b", r"\binteract with\b", r"\bpregnan", r"\bbreast-?feeding\b",
              r"\b(?:renal|hepatic|kidney|liver) impairment\b"), types=("agent", "trial")),
    Attribute("manufacturing", "manufacturing (production time, vein-to-vein time)", _rx(r"\bmanufactur",
              r"\bwho (?:made|makes|produces|produced|markets|developed|develops)\b", r"\bwhich company\b",
              r"\bvein-to-vein\b", r"\bproduction time\b", r"\bhow long does it take to (?:make|produce)\b"),
              types=("agent", "trial")),
    Attribute("infusion_time", "infusion time", _rx(r"\binfusion (?:time|duration)\b",
              r"\bhow long (?:does|is|did|was) (?:the |an |each )?(?:[\w-]+ ){0,2}infusion", r"\binfused over\b",
              r"\binfusion\b.{0,30}\bhow long\b"), fields=("arms",),
              types=("trial",), extra={"requires": r"\bover \d+\s*(?:minutes|min|hours?)\b"}),
    Attribute("germline", "germline (inherited) testing", _rx(r"\bgermline\b", r"\binherited\b", r"\bhereditary\b",
              r"\bfamilial\b"), fields=("summary", "relevance", "measurement", "description"), types=("biomarker",),
              extra={"requires": r"germline|inherited|hereditary|familial", "all_fields": True}),
    Attribute("age", "age of the patients", _rx(r"\bmedian age\b", r"\bhow old\b", r"\bage of (?:the )?patients\b",
              r"\bmean age\b"), types=("trial",)),
    Attribute("subgroup_size", "number of patients in that group", _rx(
        r"\bhow many (?:patients|participants|people|pts)\s+(?:had|have|with|died|experienced|showed|developed)\b",
        r"\bhow many (?:patients|participants|people|pts) got (?:grade|an?\s|any\s|serious|severe|side|adverse|toxic)",
        r"\bhow many (?:had|were) (?:sarcomatoid|biphasic|epithelioid)",
        r"\b(?:proportion|percent(?:age)?|share|fraction) (?:of (?:the )?(?:patients |participants )?)?(?:with |had |were )?"
        r"(?:non-?epithelioid|epithelioid|sarcomatoid|biphasic)"), types=("trial",)),
    Attribute("screened", "number of patients screened", _rx(r"\bscreened\b", r"\bscreening\b"),
              fields=("population", "design"), types=("trial",),
              extra={"requires": r"\b\d+\s+(?:\w+\s+){0,2}screened\b|\bscreened\s+\d+", "all_fields": True}),
    Attribute("accuracy", "diagnostic accuracy (sensitivity, specificity)", _rx(r"\bsensitivity\b", r"\bspecificity\b",
              r"\bdiagnostic accuracy\b", r"\bauc\b", r"\bpositive predictive\b"), types=("biomarker",)),
    Attribute("cutoff", "biomarker cut-off", _rx(r"\bcut-?offs?\b", r"\bthresholds?\b", r"\bpositivity (?:level|criterion)\b"),
              fields=("measurement", "relevance", "population", "result"), types=("trial", "biomarker"),
              extra={"requires": r"(?:>|≥|<|over|above|at least|under|below)\s*\d+(?:\.\d+)?\s*%|\bcut-?off\b",
                     "all_fields": True}),
    Attribute("follow_up", "median follow-up", _rx(r"\bfollow[- ]?up\b", r"\bfollowed up\b"), fields=("result",),
              types=("trial",), extra={"requires": r"follow-up"}),
    Attribute("ttf", "time to treatment failure or next treatment", _rx(r"\btime to (?:treatment failure|next treatment)\b",
              r"\bttf\b", r"\bttnt\b"), types=("trial",)),
    # "what share of CM743 patients had epithelioid histology?": who was enrolled, stated as a share
    Attribute("histology_mix", "share of patients by histology", _rx(
              r"\b(?:share|proportion|percentage|fraction|how many) of (?:the )?(?:\w+ )?(?:patients|participants|pts) "
              r"(?:had|were|with) (?:an? )?(?:\w+ )?(?:histolog\w*|epithelioid|non-?epithelioid|sarcomatoid|biphasic)",
              r"\bwhat (?:%|percent\w*) (?:of (?:the )?(?:\w+ )?(?:patients|pts) )?(?:had|were) (?:\w+ )?(?:epithelioid|non-?epithelioid|"
              r"sarcomatoid|biphasic)"),
              fields=("population", "design"), types=("trial",),
              extra={"requires": r"\d+\s*%[^;.]{0,40}epithelioid|epithelioid[^;.]{0,40}\d+\s*%"}),
    Attribute("demographics", "patients' sex or ethnicity", _rx(r"\b(?:women|men|female|male|sex|gender|ethnic\w*|race)\b"),
              types=("trial",)),
    Attribute("sites", "number of centres or countries", _rx(r"\bhow many (?:[A-Z]{2,3} |\w+ )?(?:centres|centers|sites|countries|"
              r"hospitals)\b",
              r"\bnumber of (?:centres|centers|sites|countries|hospitals)\b"),
              fields=("design",), types=("trial",),
              extra={"requires": r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:\w+\s+)?"
                                 r"(?:centres|centers|hospitals|sites|countries|institutions)"}),
    Attribute("location", "where it was run", _rx(r"\bwhere (?:was|were|is|did)\b.*\b(?:run|conducted|done|held|based|take place)\b",
              r"\b(?:which|what) countr(?:y|ies)\b", r"\bin which countr"), fields=("design", "summary"), types=("trial",),
              extra={"requires": r"\b(?:hospitals?|centres?|centers?|universit\w*|countries)\b|\b(?:UK|USA|United|Australia|"
                                 r"France|Italy|Spain|Canada|Japan|Europe|European|Belgium|Netherlands|Switzerland|"
                                 r"New Zealand|Australian|Canadian|Italian|French|Dutch|British)\b"}),
    Attribute("sponsor", "sponsor or funder", _rx(r"\bsponsor", r"\bfund(?:ed|ing|er)\b", r"\bwho paid\b",
              r"\b(?:which|what) (?:cooperative |co-operative |trials? |research |academic )?group\b", r"\bwho ran\b",
              r"\brun by\b", r"\bwho (?:led|conducted|organi[sz]ed)\b"), fields=("design", "summary"), types=("trial",),
              extra={"requires": r"\brun by\b|\bsponsor|\bled by\b|\bGroup\b|Platform"}),  # + the groups the trials name
    Attribute("cost", "cost", _rx(r"\bcosts?\b", r"\bprice\b", r"\bcost-effective", r"\bhow much does\b"),
              types=("agent", "trial")),
    Attribute("crossover", "crossover or subsequent therapy", _rx(r"\bcross(?:ed)?[- ]?over\b",
              r"\bsubsequent (?:therapy|therapies|treatment|immunotherapy)\b", r"\blater (?:got|received|had|given)\b",
              r"\bafter progression\b"), measures=("other",), types=("trial",),
              extra={"result_words": r"subsequent|cross(?:ed)?[- ]?over|later"}),
    Attribute("specific_ae", "that adverse event", _rx(
        r"\b(?:hepatitis|colitis|pneumonitis|thyroiditis|hypothyroidism|hyperthyroidism|rash|diarrh\w*|nephritis|"
        r"myocarditis|hypophysitis|neuropathy|fatigue|nausea|neutropenia|an(?:a)?emia|thrombocytopenia|hypertension|"
        r"cytokine release|infusion reaction|pruritus|adrenal insufficiency|diabetes)\b"),
        measures=("safety",), types=("trial",), extra={"requires_asked_word": "1"}),
    Attribute("os_rate", "survival at that time point", _rx(
        rf"\b{_YEARS}[- ]?(?:year|yr|month|mo)s?\s+(?:overall\s+)?surviv", rf"\b{_YEARS}[- ]?(?:year|yr|month|mo)s?\s+os\b",
        rf"\bsurviv\w*\s+(?:rate\s+)?at\s+{_YEARS}\s+(?:years?|months?)", r"\blandmark\b",
        rf"\balive at {_YEARS}", rf"\b(?:os|overall survival) at {_YEARS}\s*(?:months?|years?)"), measures=("os_rate",),
        types=("trial",)),
    Attribute("pfs_rate", "progression-free survival at that time point", _rx(
        rf"\b{_YEARS}[- ]?(?:year|yr|month|mo)s?\s+(?:pfs|progression[- ]free)",
        rf"\b(?:alive and )?(?:progression[- ]free|pfs) at {_YEARS}\s*(?:months?|years?)"), measures=("pfs_rate",),
        types=("trial",)),
    Attribute("hr", "hazard ratio", _rx(r"\bhazard ratios?\b", r"\bhrs?\b"), measures=("os", "pfs"),
              types=("trial",), hr_only=True),
    Attribute("pfs", "progression-free survival", _rx(r"\bprogression[- ]free(?: survival)?\b", r"\bpfs\b", r"\bprogression\b"),
              measures=("pfs",), types=("trial",)),
    Attribute("orr", "objective response rate", _rx(r"\bresponse rates?\b", r"\b(?:ir-?)?orr\b", r"\bobjective responses?\b",
              r"\bresponded\b", r"\bhow many (?:patients )?responded\b", r"\bresponses\b"), measures=("orr",),
              types=("trial",)),
    Attribute("dcr", "disease control rate", _rx(r"\bdisease control\b", r"\bdcr\b"), measures=("dcr",),
              types=("trial",)),
    Attribute("safety", "grade 3-4 treatment-related adverse events", _rx(
        r"\bsafety\b", r"\badverse (?:events?|effects?|reactions?)\b", r"\btoxicit", r"\bside[- ]effects?\b",
        r"\btraes?\b", r"\baes?\b", r"\bgrade\s*(?:3|≥\s*3|iii)", r"\btolerab", r"\bsafe\b", r"\btolerated\b",
        r"\bcomplications?\b"),
        measures=("safety",), types=("trial",)),
    Attribute("os", "overall survival", _rx(r"\boverall survival\b", r"\bos\b", r"\bsurviv", r"\blive longer\b",
              r"\bhow long did (?:the )?(?:patients|people|they|participants) (?:live|survive)\b", r"\blived\b",
              r"\bprolong\w* life\b"), measures=("os",), types=("trial",)),
    Attribute("primary_endpoint", "primary endpoint", _rx(r"\bprimary (?:end ?p\w{2,4}t|outcome|objective)s?\b",
              r"\bmain endpoint\b"), fields=("primary_endpoint",), types=("trial",)),
    Attribute("sample_size", "number of patients randomised", _rx(
        r"\bhow many (?:patients|participants|people|subjects|adults|persons|pts)\b(?:\s+(?:were|was|did|have been))?"
        r"\s*(?:randomi[sz]ed|enrol+ed|included|treated|recruited|accrued|studied|took part|participated|evaluable|"
        r"analy[sz]ed|in\b|did\b|planned|needed|required|targeted|expected|and\b|,|\?|$)",
        r"\bn\s*\?\s*$", r"\b(?:which|what) (?:one |trial |study )?(?:was|is|were) (?:bigger|larger|smaller)\b",
        r"\b(?:bigger|larger|smaller) (?:trial|study)\b",
        r"\bsample size\b", r"(?:^|\b(?:the|what|and|its)\s+)n\b(?=\s+(?:and|&|,)|\s*[?,]|\s*$)", r"\bhow many (?:patients |participants |people |pts )?(?:got|received|were given|were treated with)\b"
        r"(?!\s+(?:grade|an?\s|any\s|serious|severe|side|adverse|toxic))",
        r"\bnumber of (?:patients|participants|people|subjects|pts)\b", r"\bhow many were (?:randomi[sz]ed|enrolled)\b",
        r"\bnumbers? (?:of patients )?(?:randomi[sz]ed|enrolled|included|treated)\b",
        r"\bhow (?:many|large|big)\b.*\b(?:enrol|randomi[sz]|accru)", r"\bhow many (?:were|was)\b"),
        fields=("n_randomised", "arms", "design", "status"), types=("trial",),
        extra={"requires": r"\b\d{2,5}\s+(?:\w+\s+){0,2}(?:patients|participants|adults|people)\b|\bn\s*=\s*\d",
               "all_fields": True}),
    Attribute("registration", "registration number", _rx(r"\bregist(?:ration|ered|ry)\b", r"\bnct\b", r"\beudract\b",
              r"\bisrctn\b",
              r"\bnct (?:number|id)\b", r"\btrial (?:number|id(?:entifier)?)\b", r"clinicaltrials\.gov"),
              fields=("registration",), types=("trial",)),
    Attribute("dose", "dose", _rx(r"\bdos(?:e|es|ing|age)\b", r"\bmg/kg\b", r"\bhow much\b.*\bgiven\b"),
              fields=("arms",), types=("trial",), extra={"requires": r"\d\s*(?:mg|g/m|AUC|mcg|µg|IU|vp|pfu)|cells?/kg|\d\s*[x×]\s*10"}),
    Attribute("assay", "assay used", _rx(r"\bassays?\b", r"\bantibody clone\b", r"\b(?:22C3|28-8|SP263|SP142)\b",
              r"\bwhich (?:test|antibody) was used\b"), fields=("population", "design", "result"), types=("trial",),
              extra={"requires": r"22C3|28-8|SP263|SP142|\bassay", "all_fields": True}),
    Attribute("arms", "arms and doses", _rx(r"(?<!\bby )(?<!\bper )(?<!\beach )(?<!\bboth )\barms\b(?!\s+(?:did|was|performed|fared|had) better)",
              r"\b(?:what|which) (?:was|were|is) the (?:\w+ )?arms?\b", r"\b(?:control|comparator|experimental) arm\b",
              r"\bwhat (?:was|were) compared\b", r"\bfor how long was\b", r"\bhow long was .{1,30} given\b",
              r"\bduration of (?:treatment|therapy)\b",
              r"\bdos(?:e|es|ing|age)\b", r"\bregimens?\b", r"\bwhich drugs? did\b", r"\bagainst what\b",
              r"\b(?:tested|compared) against\b",
              r"\b(?:which|what) (?:[\w-]+ )?(?:drugs?|agents?|treatments?|therap(?:y|ies)|antibod(?:y|ies)|inhibitors?) (?:was|were|did) "
              r".{0,30}\b(?:tested|given|used|"
              r"evaluated|test)\b",
              r"\bschedule\b", r"\bmg/kg\b", r"\bhow (?:was|were|is|are) .* (?:given|administered|dosed)\b",
              r"\bcompar(?:ator|ed against|ed with)\b", r"\bcontrol (?:arm|group)\b", r"\bplacebo\b",
              r"\bwhat (?:treatments?|drugs?) did\b", r"\bwhat did (?:patients|participants) receive\b",
              r"\bwhat (?:operation|surgery|procedure|treatment|regimen|drugs?) did (?:the )?[\w-]+ (?:arm|group)\b",
              r"\bwhat (?:operation|surgery|surgical procedure)\b",
              r"\bwhich (?:treatments|drugs) (?:were|was) (?:compared|given)\b"),
              fields=("arms",), types=("trial",)),
    Attribute("tested", "what it tested", _rx(r"\bwhat did .{1,40} (?:test|compare|evaluate|investigate|study|add)\b",
              r"\bwhat (?:was|is) .{1,40} (?:testing|comparing|evaluating|investigating)\b",
              r"\bwhat (?:was|is|were|are) (?:being )?(?:tested|compared|evaluated|studied|investigated)\b",
              r"\b(?:what|which) (?:drugs?|agents?|treatments?|therap(?:y|ies)) (?:was|is|were|are) .{1,40} "
              r"(?:testing|evaluating|studying|investigating)\b"), fields=("summary", "arms"),
              types=("trial",), extra={"all_fields": True}),
    Attribute("administration", "route of administration", _rx(
              r"\bhow (?:is|are|was|were) .{0,30}(?:given|administered|delivered|dosed)\b", r"\broute of administration\b",
              r"\broute\b", r"\bhow (?:do you|to) (?:give|administer)\b"), fields=("modality", "summary", "mechanism"),
              types=("agent",), extra={"requires": r"intramuscular|intravenous|\bIV\b|\boral|subcutaneous|intrapleural|"
                                                   r"intratumou?ral|infusion|injection|intradermal"}),
    Attribute("phase", "phase", _rx(r"\b(?:what|which)\s+phase\b", r"\bphase\s*\?", r"\bphase (?:of|was|is|did)\b"),
              fields=("design",), types=("trial",)),
    Attribute("design", "design", _rx(r"\bdesign(?:ed)?\b", r"\bamend\w*",
              r"\b(?:arm|design|protocol|eligibility)\b.{0,30}\b(?:changed|modified|switched)\b", r"(?<!hazard )(?<!odds )\bratio\b(?!s)", r"\ballocat", r"\bopen[- ]label\b", r"\bblind(?:ed)?\b",
              r"\bdouble-blind\b", r"\brandomi[sz]ed\b", r"\bmulticent"), fields=("design",), types=("trial",)),
    Attribute("setting", "setting", _rx(r"\bsetting\b", r"\bline of (?:therapy|treatment)\b", r"\bfirst[- ]line\b", r"\b[123]L\b",
              r"\bsecond[- ]line\b", r"\brelapsed\b", r"\bmaintenance\b", r"\b(?:treatment|therapy) line\b",
              r"\b(?:which|what) line\b"), fields=("setting",), types=("trial",)),
    Attribute("selection", "patient selection", _rx(r"\bselect", r"\bbiomarker\b", r"\benrich",
              r"\b(?:pick|choose|chose|chosen|picked)\b.{0,20}\bpatients\b"),
              fields=("population",), types=("trial",)),
    Attribute("population", "population", _rx(r"\bpopulation\b", r"\beligib", r"\binclusion\b",
              r"\bwhich patients (?:were|are) (?:enrolled|included|eligible|studied)\b",
              r"\bwho (?:was|were) (?:enrolled|eligible|included|studied)\b", r"\bwhich patients benefit",
              r"\bwho benefits?\b", r"\bin whom\b", r"\bwhat patients\b", r"\bdid .{1,40} (?:include|enrol|enroll|admit)\b",
              r"\b(?:which|what) patients (?:could|can|were able to) (?:enter|join|enrol|be enrolled)\b",
              r"\bwho (?:could|can) (?:enter|join|enrol)\b", r"\bentry criteria\b", r"\b(?:which|what) histolog",
              r"\bage (?:limits?|range|criteri\w+|restrictions?)\b", r"\benrol+ment criteri", r"\ballowed\b"),
              fields=("population",), types=("trial",)),
    _status(()),
    Attribute("publication", "publication", _rx(r"\bpublish", r"\bpublication\b", r"\bjournal\b", r"\bauthors?\b", r"\bwho (?:wrote|led)\b",
              r"\bpapers?\b", r"\bcitation\b", r"\bdoi\b", r"\bpmid\b", r"\bwhat year\b", r"\bwhich year\b"),
              fields=("publication",), types=("trial",)),
    Attribute("approval", "regulatory approvals", _rx(r"\bapprov", r"\bfda\b", r"\bema\b", r"\blicen[cs]ed\b",
              r"\bon the basis of which\b", r"\bbased on which\b",
              r"\bauthori[sz]ed\b", r"\bnice\b", r"\bpmda\b", r"\breimburs", r"\brecommendation\b"),
              fields=("approval",), types=("agent",)),
    Attribute("trials", "trials that tested it", _rx(r"\b(?:which|what) (?:(?!(?:was|is|were|are|the|did|does|do)\b)[\w-]+ ){0,2}(?:trials?|stud(?:y|ies))\b",
              r"\btrials? (?:tested|studied|evaluated|used)\b", r"\btested in\b", r"\bstudied in\b",
              r"\b(?:any|a) (?:trials?|stud(?:y|ies)) (?:of|with|testing|on)\b",
              r"\bevaluated in\b"), types=("agent", "biomarker", "mechanism")),
    Attribute("drugs", "drugs that act on it", _rx(r"\b(?:which|what) (?:drugs?|agents?|therap(?:y|ies)|treatments?)\b"
              r"(?! (?:did|were|was) (?:patients|participants))"), types=("biomarker", "mechanism", "term")),
    Attribute("markers", "biomarkers that select patients for it", _rx(r"\b(?:which|what) (?:bio)?markers?\b",
              r"\bpredicts? (?:benefit|response)\b"), types=("agent",)),
    Attribute("code_names", "code names", _rx(r"\bcode ?names?\b", r"\bother names?\b", r"\balso (?:known|called)\b",
              r"\bbrand\b"), fields=("code_names",), types=("agent",)),
    Attribute("target", "target", _rx(r"\btarget(?:s|ed)?\b", r"\bbinds?\b", r"\bblocks?\b", r"\binhibits?\b",
              r"\bwhich (?:kinases|receptors|pathways) does\b", r"\bhit\b"),
              fields=("targets", "mechanism"), types=("agent",)),
    Attribute("mechanism", "mechanism of action", _rx(r"\bmechanism\b", r"\bhow does .* work\b", r"\bmode of action\b",
              r"\bhow (?:does|do) .{1,40} (?:kill|act|attack|destroy|starve)\b",
              r"\bmoa\b", r"\bhow do .* work\b", r"\bwork\b", r"\bvector\b",
              r"\b(?:what|which) (?:gene|transgene|payload|cytokine)s? does\b", r"\bfused\b", r"\bbinders?\b", r"\b(?:carry|carries|encode|encodes|express|expresses)\b"),
              fields=("mechanism", "targets", "modality"), types=("agent",),
              extra={"all_fields": True}),
    Attribute("class", "class", _rx(r"\b(?:kind|class|type|sort) of\b", r"\bclass\b", r"\bmodality\b"),
              fields=("class", "modality"), types=("agent",)),
    Attribute("measurement", "how it is measured", _rx(r"\bmeasur", r"\bassay\b", r"\btest(?:ed|ing|s)? for\b",
              r"\bhow do .{1,30} test\b",
              r"\bhow (?:is|are) .* (?:tested|detected|assessed|determined)\b", r"\bimmunohistochem",
              r"\bihc\b", r"\bdetect"), fields=("measurement",), types=("biomarker",)),
    Attribute("relevance", "relevance", _rx(r"\bpredict", r"\bprognos", r"\brelevan", r"\bselect", r"\brole\b",
              r"\blinked (?:to|with)\b", r"\bassociated with\b", r"\btied to\b",
              r"\bany use\b", r"\buseful", r"\bvalue\b", r"\bas a (?:bio)?marker\b",
              r"\bwhy does .* matter\b", r"\bclinical (?:use|value)\b", r"\bbiomarker for\b",
              r"\buses? (?:in|of|for)\b", r"\bused (?:in|for|to)\b"),
              fields=("relevance",), types=("biomarker",)),
    Attribute("frequency", "how common it is", _rx(r"\b(?:is|are) (?:it|they|[\w -]{2,40}) (?:high|low|common|frequent|rare)\b",
              r"\bhow (?:common|frequent|often)\b", r"\bprevalen",
              r"\b(?:share|proportion|percentage|fraction) of (?:\w+ ){0,2}(?:patients|pts|people|tumou?rs)\b(?! (?:had|were randomi))"),
              fields=("summary", "relevance", "kind", "definition", "description"),
              types=("biomarker", "term", "mechanism"),
              extra={"requires": r"\b(?:high|low|common|frequent|rare|few|most|often|\d+%)", "all_fields": True}),
    Attribute("examples", "examples", _rx(r"\bexamples?\b", r"\bsuch as\b", r"\binvolve", r"\b(?:which|what) (?:\w+ )?(?:pathways|genes|cells|components|players|mediators|molecules)\b",
              r"\b(?:which|what) (?:cell|immune cell) types\b", r"\btypes of (?:immune )?cells\b",
              r"\bwhich (?:pathways|genes|cells|"
              r"factors|alterations)\b"), fields=("examples", "description"), types=("mechanism",), extra={"all_fields": True}),
    Attribute("definition", "definition", _rx(r"^\s*what (?:is|are|was)\b(?!.*\b(?:the|its|their)\b)(?!.*\w's\b)",
              r"\bstands? for\b", r"\bdefin", r"\bmean(?:s|ing)?\b", r"\bexpan(?:d|sion)\b", r"^\s*who is\b",
              r"\bexplain\b", r"\btell me about\b", r"\bdescribe\b", r"\b(?:which|what) (?:drug|agent|trial|antibody|medicine|product) is (?:that|this|it)\b",
              r"\bwhat (?:kind|type|sort) of (?:drug|agent|product|therapy|treatment|antibody|medicine)\b"),
              fields=("expansion", "definition", "class", "intro", "design", "summary", "description")),
    Attribute("headline", "main result", _rx(r"\bwhat did .* (?:show|find|report|demonstrate)\b", r"\bresults?\b",
              r"\boutcomes?\b", r"\befficacy\b", r"\beffective\b", r"\bbenefit", r"\bwork(?:ed)?\b",
              r"\bsucce(?:ed|ssful)\b", r"\bpositive\b", r"\bnegative\b", r"\bfail", r"\bimprov",
              r"\bmeet its\b", r"\bmet its\b", r"\bfindings?\b", r"\bshow(?:ed|n)?\b", r"\bhelp",
              r"\b(?:did|performed|fared|do|does) better\b", r"\bdid (?:it|the trial|they) (?:hit|meet|reach|achieve)\b",
              r"\bhow did .{1,40} do\b",
              r"\b(?:was|were) (?:it|they|the (?:primary )?end ?points?) met\b", r"\bmet\s*\?",
              r"\b(?:reach(?:ed)?|achiev(?:e|ed)|met|hit) (?:it|that|this)\b",
              r"\b(?:hit|meet|met|reach(?:ed)?|achieve[ds]?) (?:it|its|the) (?:primary )?(?:end ?point|goal|target)\b"),
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
    words = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "twelve": "12",
             "eighteen": "18", "twenty-four": "24", "thirty-six": "36"}
    n = words.get(m.group(1).lower(), m.group(1))
    unit = "year" if m.group(2).lower().startswith("y") else "month"
    return f"{n} {unit}{'' if n == '1' else 's'}"
