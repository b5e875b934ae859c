"""Typed, sourced records: the facts mesochat knows besides the review text.

A YAML file under ``corpus/records/`` is a list of records. Every record says where each fact comes
from (``sources``); summaries and statements are written in our own words. Unknown fields are errors,
so a typo (``sumary:``) is caught by ``mesochat corpus validate`` instead of being silently dropped.

Common fields (all types):
    id: "<type>:<slug>", slug lowercase [a-z0-9-]+     name: display name
    synonyms: [..] (optional)                          summary: one or two sentences, own words
    origin: review | cited_publication | both          sources: non-empty list of Source
    related: [record ids] (optional)                   notes: free text (optional)

origin: where the record's facts come from: ``review`` (stated in the review itself), ``cited_publication``
(taken from a publication the review cites, e.g. the trial paper of ref 36), ``both``.

Source: exactly one of ``review: abstract|keywords|title``, ``ref: 1..206`` (the review's reference
number), ``doi``, ``pmid``, ``pmcid``, ``url``; optional ``note`` (provenance, e.g. "abstract; Table 2"),
``evidence`` (primary | regulatory | registry | secondary) and ``copy`` (https address of the copy
actually read). Every source of a figure (a trial result or an approval) must say its ``evidence``.
``note`` and ``notes`` are curation metadata: never rendered into indexed or answer text.

Figures: a trial result has a ``measure`` (os, pfs, orr, dcr, os_rate, pfs_rate, safety, qol, other);
``os_rate``/``pfs_rate`` need a ``timepoint``; a ``ci`` needs its ``ci_level`` (95, 96.6, ...).
``analysis``, ``follow_up`` and ``subgroup`` label which analysis and which patients (absent = ITT).

Examples, one per type::

    # Trial example: the structure is real, the figures are placeholders (take yours from the source).
    - id: trial:example-meso
      type: trial
      name: EXAMPLE-Meso
      synonyms: [ETOP 00-00]
      summary: Randomised trial adding drug A to standard chemotherapy as first-line treatment
        for advanced pleural mesothelioma.
      origin: cited_publication
      sources: [{ref: 9}]
      related: [agent:atezolizumab]
      phase: "III"
      design: randomised, open-label
      setting: first line, advanced pleural mesothelioma
      line: first line              # first line | relapsed | maintenance | perioperative | other
      status: results published 2025
      publication: {authors: "Doe J, et al.", journal: Example J Oncol, year: 2025, doi: 10.1000/example}
      population: untreated advanced pleural mesothelioma
      n_randomised: 300
      arms:
        - {name: A+chemo, regimen: drug A + carboplatin-pemetrexed, n: 150}
        - {name: chemo, regimen: carboplatin-pemetrexed}
      primary_endpoint: overall survival
      registration: NCT00000000
      results:
        - endpoint: overall survival
          measure: os
          analysis: primary analysis
          follow_up: median 30 months
          statement: Adding drug A lengthened overall survival.
          arm_values: {A+chemo: "20.0 months", chemo: "18.0 months"}   # keys must be arm names
          hazard_ratio: 0.80
          ci: "0.65-0.99"
          ci_level: 95
          p_value: "0.04"
          sources:
            - {doi: 10.1000/example, evidence: primary, copy: "https://example.org/abstract", note: abstract}
        - endpoint: 2-year overall survival, epithelioid histology
          measure: os_rate
          timepoint: 2 years
          subgroup: epithelioid histology
          statement: More patients given drug A were alive at two years.
          arm_values: {A+chemo: "40%", chemo: "30%"}
          sources: [{ref: 9, evidence: primary, note: "Figure 2"}]
        - endpoint: grade 3-4 treatment-related adverse events
          measure: safety
          statement: Severe treatment-related side effects were somewhat more frequent with drug A.
          arm_values: {A+chemo: "30%", chemo: "25%"}
          sources: [{ref: 9, evidence: primary, note: "Table 3"}]

    - id: agent:pegargiminase
      type: agent
      name: Pegargiminase
      synonyms: [ADI-PEG 20]
      summary: Pegylated arginine deiminase that depletes arginine from the blood.
      origin: both
      sources: [{review: abstract}, {ref: 36}]
      agent_class: arginine-depleting enzyme
      targets: [arginine]
      mechanism: degrades circulating arginine, starving ASS1-deficient tumour cells
      modality: enzyme therapy
      code_names: [ADI-PEG 20]
      approvals: []   # none for this agent; an approval confirmed in a regulatory page looks like:
      # - {agency: FDA, date: "2020-10-02", indication: "first line, with ipilimumab",
      #    basis: trial:checkmate-743, sources: [{url: "https://www.fda.gov/...", evidence: regulatory}]}
      # agency: FDA | EMA | NICE | PMDA | NMPA | Health Canada | other; date: YYYY-MM-DD or YYYY-MM

    - id: biomarker:ass1
      type: biomarker
      name: ASS1 deficiency
      summary: Loss of argininosuccinate synthase 1 makes tumours depend on external arginine.
      origin: review
      sources: [{review: abstract}]
      kind: protein expression        # e.g. protein expression, gene mutation, signature, imaging
      relevance: predictive of benefit from arginine deprivation
      measurement: immunohistochemistry

    - id: mechanism:immunosuppressive-tme
      type: mechanism
      name: Immunosuppressive tumour microenvironment
      summary: Suppressive cells and signals in the tumour blunt T-cell attack.
      origin: review
      sources: [{review: abstract}]
      category: tumour microenvironment   # e.g. tumour microenvironment, signaling, metabolic
      description: Myeloid and regulatory cells plus inhibitory cytokines keep effector T cells out or inactive.
      examples: [regulatory T cells, tumour-associated macrophages]

    - id: term:ici
      type: term
      name: Immune checkpoint inhibitor
      summary: A drug that blocks an inhibitory immune checkpoint such as PD-1 or CTLA-4.
      origin: review
      sources: [{review: abstract}]
      abbreviation: ICI          # optional
      expansion: immune checkpoint inhibitor
      definition: Antibody that releases a brake on T cells.   # optional

Reference records (``ref:N``) are generated from the review's reference list; never write them in YAML.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

N_REFERENCES = 206  # the review's numbered reference list; load_review checks the capture has exactly this many
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RECORD_TYPES = ("trial", "agent", "biomarker", "mechanism", "term", "ref")

NonEmptyStr = Annotated[str, Field(min_length=1)]

Evidence = Literal["primary", "regulatory", "registry", "secondary"]
EVIDENCE_LEVELS: tuple[str, ...] = get_args(Evidence)  # best first: a figure counts under its best source
Measure = Literal["os", "pfs", "orr", "dcr", "os_rate", "pfs_rate", "safety", "qol", "other"]
Line = Literal["first line", "relapsed", "maintenance", "perioperative", "other"]
Agency = Literal["FDA", "EMA", "NICE", "PMDA", "NMPA", "Health Canada", "other"]


def asks(key: str, label: str, answers: str, *examples: str) -> dict[str, Any]:
    """A field's place in the attribute vocabulary: the attribute key it answers, how an answer names it
    (``label``), what it answers, and a few ways users ask for it (the record named as "the trial/drug")."""
    return {"asked": {"key": key, "label": label, "answers": answers, "examples": list(examples)}}


# Result measures answer attributes of their own (a trial's OS, its 2-year survival ...).
MEASURE_ASKS: dict[str, dict[str, Any]] = {
    "os": asks("os", "overall survival", "median overall survival by arm, with its hazard ratio",
               "what was the median overall survival?", "how long did patients live?", "did it improve survival?",
               "median os?", "how long were patients kept alive compared with control?", "did people live longer?",
               "what was the survival benefit?", "how many months of life did it add?")["asked"],
    "pfs": asks("pfs", "progression-free survival", "median progression-free survival by arm",
                "what was the progression-free survival?", "how long until the disease progressed?", "median pfs?",
                "did it delay progression?")["asked"],
    "orr": asks("orr", "objective response rate", "the share of patients whose tumours shrank (responses)",
                "what was the response rate?", "how many patients responded?", "did tumours shrink?", "orr?",
                "how did patients do in terms of tumour shrinkage?", "what share of tumours got smaller?")["asked"],
    "dcr": asks("dcr", "disease control rate", "the share of patients with response or stable disease",
                "what was the disease control rate?", "how many had their disease controlled?")["asked"],
    "os_rate": asks("os_rate", "survival at that time point", "the share of patients alive at a time point",
                    "what was the 2-year survival rate?", "how many were alive at one year?")["asked"],
    "pfs_rate": asks("pfs_rate", "progression-free survival at that time point",
                     "the share of patients alive without progression at a time point",
                     "what was the 6-month progression-free survival rate?")["asked"],
    "safety": asks("safety", "grade 3-4 treatment-related adverse events", "toxicity and side effects by arm",
                   "how toxic was it?", "what were the side effects?", "how many grade 3-4 adverse events?",
                   "was it safe?", "how well was it tolerated?", "how many had serious side effects?")["asked"],
    "qol": asks("qol", "quality-of-life results", "patient-reported quality of life",
                "did quality of life improve?", "what about patient-reported outcomes?")["asked"],
}
# The hazard ratio is a field of a result, not a measure: it is asked on its own.
HAZARD_RATIO_ASKS = asks("hr", "hazard ratio", "the hazard ratio of the experimental arm against control, with its CI",
                         "what was the hazard ratio?", "what was the HR for death?", "how much was the risk reduced?",
                         "hr and confidence interval?")["asked"]


@dataclass(frozen=True)
class AttributeSpec:
    """One attribute of the vocabulary: from a record field or a result measure."""

    key: str
    label: str
    answers: str
    examples: tuple[str, ...]
    record_types: tuple[str, ...]
    fields: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()


def attribute_vocabulary() -> list[AttributeSpec]:
    """Every attribute the record schemas declare, merged by key (a key may be answered by several fields)."""
    merged: dict[str, dict[str, Any]] = {}

    def add(spec: dict[str, Any], rtype: str, field: str = "", measure: str = "") -> None:
        entry = merged.setdefault(spec["key"], {**spec, "examples": [], "types": [], "fields": [], "measures": []})
        entry["examples"] += [e for e in spec["examples"] if e not in entry["examples"]]
        entry["types"] += [rtype] if rtype not in entry["types"] else []
        entry["fields"] += [field] if field else []
        entry["measures"] += [measure] if measure else []

    for rtype, cls in RECORD_CLASSES.items():
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if "asked" in extra:
                add(extra["asked"], rtype, field=name)
    for measure, spec in MEASURE_ASKS.items():
        add(spec, "trial", measure=measure)
    add(HAZARD_RATIO_ASKS, "trial", measure="os")
    return [AttributeSpec(k, v["label"], v["answers"], tuple(v["examples"]), tuple(v["types"]), tuple(v["fields"]),
                          tuple(v["measures"])) for k, v in merged.items()]


class _Strict(BaseModel):
    """Unknown keys are errors; whitespace is trimmed; a YAML number in a text field (p_value: 0.04) is kept as text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, coerce_numbers_to_str=True)


def _check_doi(v: str | None) -> str | None:
    if v is not None and not re.match(r"^10\.\d{4,9}/\S+$", v):
        raise ValueError(f"doi {v!r} should look like 10.1234/abc (no https://doi.org/ prefix)")
    return v


def _check_pmid(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(r"\d{1,9}", v):
        raise ValueError(f"pmid {v!r} should be digits only")
    return v


def _check_pmcid(v: str | None) -> str | None:
    if v is not None and not re.fullmatch(r"PMC\d+", v):
        raise ValueError(f"pmcid {v!r} should look like PMC1234567")
    return v


_ID_CHECKS = {"doi": _check_doi, "pmid": _check_pmid, "pmcid": _check_pmcid}

# The schema's field name `copy` shadows pydantic's deprecated BaseModel.copy(); instances still return the
# field value (instance attributes win over the method), so the import-time warning is only noise.
warnings.filterwarnings("ignore", message='Field name "copy" in "Source" shadows', category=UserWarning)


class Source(_Strict):
    review: Literal["abstract", "keywords", "title"] | None = None
    ref: int | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    note: str | None = None  # provenance metadata ("abstract; Table 2"); never rendered into indexed text
    evidence: Evidence | None = None  # required on every source of a figure (see _figure_sources)
    copy: str | None = None  # https address of the copy actually read (PMC page, FDA page, ...)
    # Why a copy on a staging or GitHub host is still cited (no proper copy of the figure was found, and what
    # was searched). corpus/source_hosts.yaml classes hosts; the shipped-records test fails on a staging or
    # GitHub copy of a figure without it. Provenance only, never rendered into indexed text.
    copy_reason: str | None = None

    @field_validator("ref")
    @classmethod
    def _ref_in_list(cls, v: int | None) -> int | None:
        if v is not None and not 1 <= v <= N_REFERENCES:
            raise ValueError(f"ref {v} is outside 1..{N_REFERENCES} (the review's reference numbers)")
        return v

    @field_validator("doi", "pmid", "pmcid")
    @classmethod
    def _ids(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _ID_CHECKS[info.field_name](v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://\S+$", v):
            raise ValueError(f"url {v!r} should start with http:// or https://")
        return v

    @field_validator("copy")
    @classmethod
    def _copy(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://\S+$", v):
            raise ValueError(f"copy {v!r} should be the https:// address of the copy read")
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        given = [k for k in ("review", "ref", "doi", "pmid", "pmcid", "url") if getattr(self, k) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(
                f"a source needs exactly one of review, ref, doi, pmid, pmcid, url (found: {found}); "
                "split it into several sources"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("review", "ref", "doi", "pmid", "pmcid", "url") if getattr(self, k) is not None)

    @property
    def value(self) -> str | int:
        return getattr(self, self.kind)


Sources = Annotated[list[Source], Field(min_length=1)]


def _figure_sources(sources: list[Source]) -> None:
    """A figure must say how strong each of its sources is; a missing level is an error, not a default."""
    missing = [str(i) for i, s in enumerate(sources) if s.evidence is None]
    if missing:
        raise ValueError(
            f"source(s) {', '.join(missing)} of a figure lack 'evidence'; "
            "add evidence: primary | regulatory | registry | secondary"
        )


class Publication(_Strict):
    """The trial's primary publication."""

    authors: str | None = None  # "Baas P, et al."
    journal: NonEmptyStr
    year: int = Field(ge=1950, le=2100)
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None

    @field_validator("doi", "pmid", "pmcid")
    @classmethod
    def _ids(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _ID_CHECKS[info.field_name](v)


class Record(_Strict):
    id: str
    type: str
    name: NonEmptyStr
    synonyms: list[NonEmptyStr] = []
    summary: NonEmptyStr
    origin: Literal["review", "cited_publication", "both"]
    sources: Sources
    related: list[str] = []
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _id_matches_type(cls, v: str) -> str:
        # Checked on the field (not after the whole model) so a bad id is reported even when other fields fail.
        expected = get_args(cls.model_fields["type"].annotation)
        prefix, sep, slug = v.partition(":")
        if expected and prefix != expected[0]:
            raise ValueError(f"id {v!r} must start with '{expected[0]}:' (its type)")
        if not sep or prefix not in RECORD_TYPES:
            raise ValueError(f"id {v!r} must look like '<type>:<slug>', type one of {', '.join(RECORD_TYPES)}")
        if not SLUG_RE.match(slug):
            raise ValueError(f"id {v!r}: the part after ':' must be lowercase letters, digits and '-'")
        return v

    @field_validator("related")
    @classmethod
    def _related_are_ids(cls, v: list[str]) -> list[str]:
        for rid in v:
            prefix, sep, slug = rid.partition(":")
            if not sep or prefix not in RECORD_TYPES or not SLUG_RE.match(slug):
                raise ValueError(f"related id {rid!r} is not a record id like 'agent:nivolumab'")
        return v

    @property
    def slug(self) -> str:
        return self.id.partition(":")[2]


class Arm(_Strict):
    name: NonEmptyStr
    regimen: NonEmptyStr
    n: int | None = Field(default=None, ge=0)
    notes: str | None = None


class TrialResult(_Strict):
    endpoint: NonEmptyStr
    measure: Measure
    statement: NonEmptyStr  # own words, one claim
    timepoint: str | None = None  # for os_rate / pfs_rate: "2 years", "36 months"
    analysis: str | None = None  # "primary analysis", "interim analysis", "3-year update"
    follow_up: str | None = None  # "median 29.7 months"
    subgroup: str | None = None  # "epithelioid histology"; absent = all randomised
    arm_values: dict[str, str] | None = None  # arm name -> figure as reported, e.g. "18.1 months"
    hazard_ratio: float | None = Field(default=None, gt=0)
    ci: str | None = None  # interval of the hazard ratio (or of the figure), e.g. "0.69-1.03"
    ci_level: float | None = Field(default=None, gt=50, lt=100)  # 95, 96.6; required with ci
    p_value: str | None = None  # a string: "0.002", "<0.001"
    sources: Sources
    notes: str | None = None  # curator metadata, never rendered into indexed text

    @model_validator(mode="after")
    def _figure_rules(self) -> TrialResult:
        if self.ci is not None and self.ci_level is None:
            raise ValueError("ci is given without ci_level; state the interval's level (e.g. ci_level: 95)")
        if self.measure in ("os_rate", "pfs_rate") and not self.timepoint:
            raise ValueError(f"measure {self.measure} needs a timepoint (e.g. timepoint: 2 years)")
        _figure_sources(self.sources)
        return self


class TrialRecord(Record):
    type: Literal["trial"]
    phase: NonEmptyStr = Field(json_schema_extra=asks(  # "III", "II", "I/II", "2/3"
        "phase", "phase", "the trial's phase of clinical development",
        "what phase was the trial?", "was it a phase 3 or a phase 2 study?", "what stage of development was this study?"))
    design: NonEmptyStr = Field(json_schema_extra=asks(
        "design", "design", "how the trial was built: randomisation, blinding, comparator, allocation",
        "how was the trial designed?", "was it randomised and blinded?", "was it placebo-controlled?",
        "what was the study design?", "open label or double blind?"))
    setting: str | None = Field(default=None, json_schema_extra=asks(
        "setting", "setting", "the clinical setting: line of therapy and disease stage",
        "in which setting was it tested?", "was this first line or after chemo?", "which line of treatment?",
        "was it for relapsed disease?"))
    population: NonEmptyStr = Field(json_schema_extra=asks(
        "population", "population", "who was enrolled: eligibility, histology, prior treatment",
        "who was eligible for the trial?", "which patients were enrolled?", "what were the inclusion criteria?",
        "did they include sarcomatoid patients?"))
    n_randomised: int | None = Field(default=None, ge=0, json_schema_extra=asks(
        "sample_size", "number of patients randomised", "how many patients were randomised or enrolled",
        "how many patients were in the trial?", "how big was the study?", "what was the sample size?",
        "n?", "how many people took part?", "how many were enrolled?", "what size was the trial?"))
    arms: list[Arm] = Field(default=[], json_schema_extra=asks(
        "arms", "arms and doses", "the treatment arms, their regimens, doses and schedules",
        "what were the arms?", "what did each group receive?", "what was the comparator?",
        "what regimen was given in the experimental arm?", "what doses were used?"))
    primary_endpoint: str | None = Field(default=None, json_schema_extra=asks(
        "primary_endpoint", "primary endpoint", "the endpoint the trial was powered on",
        "what was the primary endpoint?", "what was the main outcome measure?", "what was the study powered for?"))
    results: list[TrialResult] = Field(default=[], json_schema_extra=asks(
        "headline", "main result", "what the trial found: its headline result",
        "what did the trial show?", "what were the results?", "did it work?", "was the trial positive?",
        "what did the drug achieve in this study?", "what was the outcome?", "what came out of the trial?",
        "did adding the drug help?", "was it a success or a failure?", "what did the study accomplish?",
        "how did the experimental arm do?", "what was the bottom line of the trial?"))
    registration: str | None = Field(default=None, json_schema_extra=asks(  # e.g. NCT02899299
        "registration", "registration number", "the trial's registry identifier (NCT, EudraCT, ISRCTN)",
        "what is the NCT number?", "where was it registered?", "what's the clinicaltrials.gov id?"))
    line: Line  # treatment line, used to group trials (forest plots); `setting` keeps the detail
    status: str | None = Field(default=None, json_schema_extra=asks(  # "recruiting", "results published 2025"
        "status", "status", "whether the trial is recruiting, completed or reported",
        "is the trial still recruiting?", "has it reported yet?", "what is the status of the trial?"))
    publication: Publication | None = Field(default=None, json_schema_extra=asks(
        "publication", "publication", "where and when the results were published, and by whom",
        "where was it published?", "who was the first author?", "which journal reported it?",
        "when were the results published?"))

    @field_validator("registration")
    @classmethod
    def _nct(cls, v: str | None) -> str | None:
        if v is not None and v.upper().startswith("NCT") and not re.fullmatch(r"NCT\d{8}", v):
            raise ValueError(f"registration {v!r} looks like a ClinicalTrials.gov id but is not NCT + 8 digits")
        return v

    @model_validator(mode="after")
    def _arm_values_name_arms(self) -> TrialRecord:
        names = {a.name for a in self.arms}
        for r in self.results:
            unknown = sorted(set(r.arm_values or {}) - names) if names else []
            if unknown:
                raise ValueError(f"result {r.endpoint!r}: arm_values name unknown arms {unknown} (arms: {sorted(names)})")
        return self


class Approval(_Strict):
    """A regulatory decision (approval or recommendation) confirmed in a retrieved document."""

    agency: Agency
    # what the agency decided: an approval (a licence) or a recommendation (a CHMP opinion, a NICE appraisal)
    decision: Literal["approved", "recommended"] = "approved"
    date: str  # "YYYY-MM-DD" or "YYYY-MM"
    indication: NonEmptyStr
    basis: str | None = None  # trial record id, e.g. trial:checkmate-743
    sources: Sources
    notes: str | None = None

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        if not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?", v):
            raise ValueError(f"date {v!r} should be YYYY-MM-DD or YYYY-MM")
        return v

    @field_validator("basis")
    @classmethod
    def _basis(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("trial:") and SLUG_RE.match(v.partition(":")[2])):
            raise ValueError(f"basis {v!r} should be a trial record id like 'trial:checkmate-743'")
        return v

    @model_validator(mode="after")
    def _sourced(self) -> Approval:
        _figure_sources(self.sources)
        return self


class AgentRecord(Record):
    type: Literal["agent"]
    agent_class: NonEmptyStr = Field(json_schema_extra=asks(  # e.g. anti-PD-1 antibody
        "class", "class", "the drug class the agent belongs to",
        "what kind of drug is it?", "what class of agent is this?", "is it a checkpoint inhibitor?"))
    targets: list[NonEmptyStr] = Field(default=[], json_schema_extra=asks(
        "target", "target", "the molecule or cell the agent acts on",
        "what does it target?", "what does the drug bind to?", "which receptor does it block?"))
    mechanism: NonEmptyStr = Field(json_schema_extra=asks(
        "mechanism", "mechanism of action", "how the agent works",
        "how does it work?", "what is its mechanism of action?", "how does the drug kill tumour cells?"))
    modality: NonEmptyStr = Field(json_schema_extra=asks(  # e.g. monoclonal antibody, cell therapy, small molecule
        "class", "class", "the kind of product: antibody, cell therapy, small molecule, virus",
        "is it an antibody or a small molecule?", "what type of product is it?"))
    code_names: list[NonEmptyStr] = Field(default=[], json_schema_extra=asks(
        "code_names", "code names", "the developer's code names for the agent",
        "what was its code name?", "what was it called in development?"))
    approvals: list[Approval] = Field(default=[], json_schema_extra=asks(
        "approval", "regulatory approvals", "which agencies approved the agent, when and for whom",
        "is it approved?", "when did the FDA approve it?", "is it licensed in Europe?",
        "what is its regulatory status?"))


class BiomarkerRecord(Record):
    type: Literal["biomarker"]
    kind: NonEmptyStr
    relevance: NonEmptyStr = Field(json_schema_extra=asks(
        "relevance", "relevance", "what the biomarker means for prognosis or for choosing treatment",
        "is it predictive of benefit?", "why does this biomarker matter?", "does it predict response to immunotherapy?"))
    measurement: str | None = Field(default=None, json_schema_extra=asks(
        "measurement", "how it is measured", "the assay or method used to measure the biomarker",
        "how is it measured?", "how do you test for it?", "which assay detects it?"))


class MechanismRecord(Record):
    type: Literal["mechanism"]
    category: NonEmptyStr
    description: NonEmptyStr = Field(json_schema_extra=asks(
        "definition", "definition", "what the resistance mechanism is and how it works",
        "what is this mechanism?", "how does it cause resistance?", "explain this resistance mechanism"))
    examples: list[NonEmptyStr] = Field(default=[], json_schema_extra=asks(
        "examples", "examples", "concrete examples of the mechanism",
        "can you give examples?", "what are examples of it?"))


class TermRecord(Record):
    type: Literal["term"]
    abbreviation: str | None = None
    expansion: NonEmptyStr = Field(json_schema_extra=asks(
        "definition", "definition", "what an abbreviation stands for",
        "what does it stand for?", "what is the abbreviation short for?"))
    definition: str | None = Field(default=None, json_schema_extra=asks(
        "definition", "definition", "what a term means",
        "what does this term mean?", "define it", "what is it?"))


class ReferenceRecord(Record):
    """One entry of the review's reference list; generated by corpus.references, never written by hand."""

    type: Literal["ref"]
    n: int = Field(ge=1, le=N_REFERENCES)
    captured: bool
    text: str | None = None
    authors: list[str] = []
    et_al: bool = False
    group: str | None = None  # group author, e.g. "ATOMIC-Meso Study Group"
    title: str | None = None
    journal: str | None = None
    year: int | None = None
    volume: str | None = None
    pages: str | None = None
    pmcid: str | None = None
    url: str | None = None
    accessed: str | None = None  # web pages: "Last accessed" date as printed


AnyRecord = Annotated[
    TrialRecord | AgentRecord | BiomarkerRecord | MechanismRecord | TermRecord | ReferenceRecord,
    Field(discriminator="type"),
]

RECORD_CLASSES: dict[str, type[Record]] = {
    "trial": TrialRecord,
    "agent": AgentRecord,
    "biomarker": BiomarkerRecord,
    "mechanism": MechanismRecord,
    "term": TermRecord,
    "ref": ReferenceRecord,
}
