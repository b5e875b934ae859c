"""Typed records -> readable, searchable text with sections, field spans and flat metadata.

The rendered text is what retrieval sees and what answers quote, so every field is written as a plain
sentence that carries its own context (arm, endpoint, hazard ratio, interval and its level, p value).
Names a user might type (synonyms, code names) are indexed in a separate "Names" passage that search
finds but answers never quote; curation notes and source notes are provenance, kept in metadata and
never rendered. ``render_fields`` also says which span of the text holds which field, so an answer
to "what was the ORR in X?" can quote exactly the field that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from indexing.loaders.builder import DocumentBuilder
from kernel.documents import Section

TYPE_LABELS = {
    "trial": "Trial",
    "agent": "Agent",
    "biomarker": "Biomarker",
    "mechanism": "Mechanism",
    "term": "Glossary term",
    "ref": "Reference",
}
LIST_SEP = "; "
# Passages that help search but are never quoted as an answer sentence.
UNQUOTABLE_SECTIONS = ("Names", "Sources")
MEASURE_LABELS = {
    "os": "overall survival",
    "pfs": "progression-free survival",
    "orr": "objective response rate",
    "dcr": "disease control rate",
    "os_rate": "overall survival rate",
    "pfs_rate": "progression-free survival rate",
    "safety": "grade 3-4 treatment-related adverse events",
    "qol": "quality of life",
}


@dataclass(frozen=True)
class FieldSpan:
    """Where one field of a record sits in its rendered text. ``key`` is "n_randomised", "arms",
    "result:3", "approval:0", ...; ``label`` is how a reader names it."""

    key: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class RenderedRecord:
    text: str
    sections: list[Section]
    metadata: dict[str, Any]
    fields: list[FieldSpan]


def _sentence(text: str | None) -> str:
    """Ensure a terminal full stop so the sentence splitter and readers see a complete sentence."""
    text = (text or "").strip()
    if not text:
        return ""
    return text if text[-1] in ".!?" else text + "."


def _join(items: list[str] | None, sep: str = ", ") -> str:
    return sep.join(str(x) for x in items or [] if str(x).strip())


def _a(phrase: str) -> str:
    return f"an {phrase}" if phrase[:1].lower() in "aeiou" else f"a {phrase}"


def _number(x: float) -> str:
    return f"{x:.2f}" if round(x, 2) == x else f"{x:g}"


class _Writer:
    """A DocumentBuilder that also records the span of every field sentence it writes."""

    def __init__(self) -> None:
        self.b = DocumentBuilder()
        self.fields: list[FieldSpan] = []

    def section(self, path: str) -> None:
        self.b.set_path(path)

    def paragraph(self, parts: list[tuple[str, str, str]]) -> None:
        """Write (key, label, sentence) parts as one paragraph; empty sentences are skipped."""
        parts = [(k, lab, s) for k, lab, s in parts if s]
        if not parts:
            return
        start = self.b.paragraph(" ".join(s for _, _, s in parts))
        pos = start
        for key, label, text in parts:
            if key:
                self.fields.append(FieldSpan(key, label, pos, pos + len(text)))
            pos += len(text) + 1


def _source_phrase(src: Any) -> str:
    kind, value = src.kind, src.value
    return {
        "review": f"the review's {value}",
        "ref": f"reference {value} of the review",
        "doi": f"DOI {value}",
        "pmid": f"PMID {value}",
        "pmcid": f"PMCID {value}",
        "url": f"{value}",
    }[kind]


def _names_paragraph(w: _Writer, label: str, record: Any, extra: list[str] | None = None) -> None:
    aliases = [a for a in [*record.synonyms, *(extra or [])] if a and a != record.name]
    aliases = list(dict.fromkeys(aliases))
    if aliases:
        w.section(f"{label} > Names")
        w.paragraph([("names", "other names", _sentence(f"Other names for {record.name}: {_join(aliases)}"))])


def _ci_text(result: Any) -> str:
    level = getattr(result, "ci_level", None)
    return f"{float(level):g}% CI" if level is not None else "95% CI"


def _hr_phrase(result: Any) -> str:
    bits = []
    if result.hazard_ratio is not None:
        hr = f"hazard ratio (HR) {_number(result.hazard_ratio)}"
        if result.ci:
            hr += f" ({_ci_text(result)} {result.ci})"
        bits.append(hr)
    elif result.ci:
        bits.append(f"{_ci_text(result)} {result.ci}")
    if result.p_value:
        p = str(result.p_value).strip()
        bits.append(f"p {p}" if p[:1] in "<>=≤≥" else f"p = {p}")
    return ", ".join(bits)


def result_label(result: Any) -> str:
    """'overall survival (3-year update)': the endpoint as reported plus what tells results apart."""
    qualifiers = [q for q in (getattr(result, "subgroup", None), getattr(result, "timepoint", None),
                              getattr(result, "analysis", None)) if q]
    endpoint = result.endpoint.lower()
    qualifiers = [q for q in qualifiers if q.lower() not in endpoint and not (q[:1].isdigit() and q.split()[0] in endpoint)]
    return f"{result.endpoint} ({'; '.join(qualifiers)})" if qualifiers else result.endpoint


def _result_paragraph(r: Any, res: Any) -> str:
    head = result_label(res)
    follow = getattr(res, "follow_up", None)
    if follow:
        head += f", follow-up {follow}"
    parts = [_sentence(f"{r.name}, {head}: {res.statement.rstrip('.')}")]
    if res.arm_values:
        parts.append(_sentence("By arm: " + LIST_SEP.join(f"{arm}: {v}" for arm, v in res.arm_values.items())))
    hr = _hr_phrase(res)
    if hr:
        parts.append(_sentence(hr[0].upper() + hr[1:]))
    return " ".join(p for p in parts if p)


def _render_trial(w: _Writer, r: Any, names: dict[str, str]) -> None:
    label = TYPE_LABELS["trial"]
    w.section(label)
    w.paragraph([
        ("design", "phase and design", _sentence(f"{r.name} is a phase {r.phase} clinical trial ({r.design})")),
        ("summary", "summary", _sentence(r.summary)),
        ("setting", "setting", _sentence(f"Setting: {r.setting}") if r.setting else ""),
        ("population", "population", _sentence(f"Population: {r.population}")),
        ("n_randomised", "number of patients randomised",
         _sentence(f"{r.n_randomised} patients were randomised") if r.n_randomised is not None else ""),
        ("primary_endpoint", "primary endpoint",
         _sentence(f"Primary endpoint: {r.primary_endpoint}") if r.primary_endpoint else ""),
        ("registration", "registration", _sentence(f"Registration: {r.registration}") if r.registration else ""),
        ("status", "status", _sentence(f"Status: {r.status}") if getattr(r, "status", None) else ""),
    ])
    pub = getattr(r, "publication", None)
    if pub is not None:
        w.paragraph([("publication", "publication", _sentence(f"{r.name} was published: {publication_text(pub)}"))])
    if r.arms:
        w.section(f"{label} > Arms")
        arms = []
        for a in r.arms:
            arm = f"{a.name}: {a.regimen}" if a.regimen != a.name else a.name
            if a.n is not None:
                arm += f" (n = {a.n})"
            arms.append(arm)
        w.paragraph([("arms", "arms and doses", _sentence(f"{r.name} arms: " + LIST_SEP.join(arms)))])
    for i, res in enumerate(r.results):
        w.section(f"{label} > Results > {result_label(res)}")
        w.paragraph([(f"result:{i}", result_label(res), _result_paragraph(r, res))])
    _names_paragraph(w, label, r)


def publication_text(pub: Any) -> str:
    """'Baas P, et al. Lancet 2021' from a Publication (any of its fields may be missing)."""
    bits = [getattr(pub, "authors", None), getattr(pub, "journal", None), getattr(pub, "year", None)]
    text = " ".join(str(b) for b in bits if b)
    doi = getattr(pub, "doi", None)
    return f"{text}, doi {doi}" if doi else text


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


def _readable_date(date: str) -> str:
    """'2024-09-17' -> 'on 17 September 2024', '2021-06' -> 'in June 2021' (dates are YYYY-MM[-DD])."""
    parts = date.split("-")
    if len(parts) >= 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12:
        month = _MONTHS[int(parts[1]) - 1]
        return f"on {int(parts[2])} {month} {parts[0]}" if len(parts) == 3 else f"in {month} {parts[0]}"
    return f"on {date}"


def _render_agent(w: _Writer, r: Any, names: dict[str, str]) -> None:
    label = TYPE_LABELS["agent"]
    w.section(label)
    w.paragraph([
        ("class", "class", _sentence(f"{r.name} is {_a(r.agent_class)}")),
        ("summary", "summary", _sentence(r.summary)),
        ("modality", "modality", _sentence(f"Modality: {r.modality}")),
        ("code_names", "code names", _sentence(f"Code names: {_join(r.code_names)}") if r.code_names else ""),
        ("targets", "targets", _sentence(f"Targets: {_join(r.targets)}") if r.targets else ""),
        ("mechanism", "mechanism of action", _sentence(f"Mechanism of action: {r.mechanism}")),
    ])
    approvals = getattr(r, "approvals", None) or []
    if approvals:
        w.section(f"{label} > Approvals")
        parts = []
        for i, ap in enumerate(approvals):
            indication = ap.indication.rstrip(".")
            lead = "" if indication.split(" ", 1)[0].lower() in ("with", "in", "as", "for") else "for "
            text = f"{ap.agency} {ap.decision} {r.name} {_readable_date(ap.date)} {lead}{indication}"
            if ap.basis:
                text += f", on the basis of {names.get(ap.basis, ap.basis)}"
            parts.append((f"approval:{i}", f"approval ({ap.agency})", _sentence(text)))
        w.paragraph(parts)
    _names_paragraph(w, label, r, r.code_names)


def _render_biomarker(w: _Writer, r: Any, names: dict[str, str]) -> None:
    label = TYPE_LABELS["biomarker"]
    w.section(label)
    w.paragraph([
        ("intro", "what it is", _sentence(f"{r.name} is a biomarker")),
        ("kind", "kind", _sentence(f"Kind: {r.kind}")),
        ("summary", "summary", _sentence(r.summary)),
        ("relevance", "relevance", _sentence(f"Relevance: {r.relevance}")),
        ("measurement", "measurement", _sentence(f"Measurement: {r.measurement}") if r.measurement else ""),
    ])
    _names_paragraph(w, label, r)


def _render_mechanism(w: _Writer, r: Any, names: dict[str, str]) -> None:
    label = TYPE_LABELS["mechanism"]
    w.section(label)
    w.paragraph([
        ("intro", "what it is", _sentence(f"{r.name} is a mechanism of resistance to immunotherapy")),
        ("category", "category", _sentence(f"Category: {r.category}")),
        ("summary", "summary", _sentence(r.summary)),
        ("description", "description", _sentence(r.description)),
        ("examples", "examples", _sentence(f"Examples: {_join(r.examples)}") if r.examples else ""),
    ])
    _names_paragraph(w, label, r)


def _render_term(w: _Writer, r: Any, names: dict[str, str]) -> None:
    label = TYPE_LABELS["term"]
    w.section(label)
    if r.abbreviation:
        first = f"{r.abbreviation} stands for {r.expansion}"
        if r.name.lower() not in (r.abbreviation.lower(), r.expansion.lower()):
            first += f" ({r.name})"
    else:
        first = f"{r.name}: {r.expansion}" if r.expansion.lower() != r.name.lower() else r.name
    w.paragraph([
        ("expansion", "expansion", _sentence(first)),
        ("summary", "summary", _sentence(r.summary)),
        ("definition", "definition", _sentence(f"Definition: {r.definition}") if r.definition else ""),
    ])
    known = {x.lower() for x in (r.name, r.abbreviation or "", r.expansion)}
    others = [s for s in r.synonyms if s.lower() not in known]
    if others:
        w.section(f"{label} > Names")
        w.paragraph([("names", "other names", _sentence(f"Other names for {r.name}: {_join(others)}"))])


def _citation(r: Any) -> str:
    """A readable citation built from the parsed fields (the raw capture glues fields together)."""
    authors = _join(r.authors)
    if r.et_al:
        authors = f"{authors}, et al." if authors else "et al."
    if r.group:
        authors = f"{authors}; {r.group}" if authors else r.group
    parts = [_sentence(authors), _sentence(r.title)]
    where = " ".join(str(x) for x in (r.journal, r.year) if x)
    if r.volume:
        where += f";{r.volume}"
    if r.pages:
        where += f":{r.pages}"
    parts.append(_sentence(where))
    if r.pmcid:
        parts.append(_sentence(f"PMCID: {r.pmcid}"))
    if r.url:
        parts.append(f"Available from: {r.url}")
    if r.accessed:
        parts.append(_sentence(f"Last accessed on {r.accessed}"))
    return " ".join(p for p in parts if p)


def _render_ref(w: _Writer, r: Any, names: dict[str, str]) -> None:
    w.section(TYPE_LABELS["ref"])
    if not r.captured:
        text = (f"Reference {r.n} of the review. The text of this reference was not captured in the available "
                "source, so its authors, title and journal are unknown here.")
    else:
        citation = _citation(r) if (r.title or r.authors) else (r.text or "").strip()
        text = f"Reference {r.n} of the review: {citation}"
    w.paragraph([("citation", "reference entry", text)])


_RENDERERS = {
    "trial": _render_trial,
    "agent": _render_agent,
    "biomarker": _render_biomarker,
    "mechanism": _render_mechanism,
    "term": _render_term,
    "ref": _render_ref,
}

_META_FIELDS = ["phase", "design", "line", "setting", "population", "n_randomised", "primary_endpoint", "registration", "status", "agent_class", "targets", "modality", "code_names", "kind", "relevance", "measurement", "category", "examples", "abbreviation", "expansion", "n", "captured", "authors", "group", "title", "journal", "year", "volume", "pages", "pmcid", "url", "notes"]


def record_metadata(record: Any) -> dict[str, str | int | float | bool]:
    """Flat metadata (scalars only; lists joined with '; '), always with record_id and record_type.

    Curation notes live here (shown in the source panel and the Explore tab), never in the text.
    """
    meta: dict[str, str | int | float | bool] = {
        "record_id": record.id,
        "record_type": record.type,
        "name": record.name,
        "origin": record.origin,
    }
    if record.synonyms:
        meta["synonyms"] = LIST_SEP.join(record.synonyms)
    if record.related:
        meta["related"] = LIST_SEP.join(record.related)
    meta["sources"] = LIST_SEP.join(f"{s.kind}:{s.value}" for s in record.sources)
    for name in _META_FIELDS:
        value = getattr(record, name, None)
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, (list, tuple)):
            value = LIST_SEP.join(str(v) for v in value)
        if isinstance(value, (str, int, float, bool)):
            meta[f"ref_{name}" if name in ("title", "n") else name] = value
    return meta


def record_names(records: Any) -> dict[str, str]:
    """Record id -> display name: a field that links to another record (an approval's trial) names it."""
    return {r.id: r.name for r in records}


def render_fields(record: Any, names: dict[str, str] | None = None) -> RenderedRecord:
    """Readable text, sections (e.g. "Trial > Results > overall survival"), metadata and field spans.
    ``names`` (record_names of the whole corpus) names linked records; the index and the answer engine
    must pass the same, so the spans match the indexed text."""
    renderer = _RENDERERS.get(record.type)
    if renderer is None:  # pragma: no cover - the pydantic models only allow the types above
        raise ValueError(f"no renderer for record type {record.type!r}")
    w = _Writer()
    renderer(w, record, names or {})
    if record.type != "ref" and record.sources:
        w.section(f"{TYPE_LABELS[record.type]} > Sources")
        phrases = LIST_SEP.join(dict.fromkeys(_source_phrase(s) for s in record.sources))
        w.paragraph([("sources", "sources", _sentence(f"Sources: {phrases}"))])
    doc = w.b.build(record.id, record.name, "record")
    return RenderedRecord(doc.text, doc.sections, record_metadata(record), w.fields)


def render_record(record: Any, names: dict[str, str] | None = None) -> tuple[str, list[Section], dict[str, Any]]:
    """Readable text, sections and flat metadata of one record (what the index stores)."""
    rendered = render_fields(record, names)
    return rendered.text, rendered.sections, rendered.metadata


def is_quotable_section(section: str) -> bool:
    return section.rsplit(" > ", 1)[-1] not in UNQUOTABLE_SECTIONS
