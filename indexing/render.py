"""Typed records -> readable, searchable text with sections and flat metadata.

The rendered text is what retrieval sees and what answers quote, so it is written as plain sentences
that repeat every name a user might type (synonyms, code names, abbreviations) and every figure with
its context (arm, endpoint, hazard ratio, confidence interval, p value).
"""

from __future__ import annotations

from typing import Any

from corpus.documents import Section
from indexing.loaders.builder import DocumentBuilder

TYPE_LABELS = {
    "trial": "Trial",
    "agent": "Agent",
    "biomarker": "Biomarker",
    "mechanism": "Mechanism",
    "term": "Glossary term",
    "ref": "Reference",
}
LIST_SEP = "; "


def _sentence(text: str | None) -> str:
    """Ensure a terminal full stop so the sentence splitter and readers see a complete sentence."""
    text = (text or "").strip()
    if not text:
        return ""
    return text if text[-1] in ".!?" else text + "."


def _join(items: list[str] | None, sep: str = ", ") -> str:
    return sep.join(str(x) for x in items or [] if str(x).strip())


def _source_phrase(src: Any) -> str:
    kind, value = src.kind, src.value
    phrase = {
        "review": f"the review's {value}",
        "ref": f"reference {value} of the review",
        "doi": f"DOI {value}",
        "pmid": f"PMID {value}",
        "pmcid": f"PMCID {value}",
        "url": f"{value}",
    }[kind]
    return f"{phrase} ({src.note})" if getattr(src, "note", None) else phrase


def _sources_sentence(sources: list[Any]) -> str:
    return _sentence("Sources: " + LIST_SEP.join(_source_phrase(s) for s in sources)) if sources else ""


def _names(record: Any, extra: list[str] | None = None) -> str:
    """'Name (also called X, Y)': every alias in one place so lexical search finds the record."""
    aliases = [a for a in [*record.synonyms, *(extra or [])] if a and a != record.name]
    aliases = list(dict.fromkeys(aliases))
    return f"{record.name} (also called {_join(aliases)})" if aliases else record.name


def _a(phrase: str) -> str:
    return f"an {phrase}" if phrase[:1].lower() in "aeiou" else f"a {phrase}"


def _ci_label(result: Any) -> str:
    """'95% CI' is the default; when the notes discuss the interval's level, do not assert 95%."""
    notes = (result.notes or "").lower()
    return "CI" if any(w in notes for w in ("confidence", "95", "ci ", "interval")) else "95% CI"


def _number(x: float) -> str:
    return f"{x:.2f}" if round(x, 2) == x else f"{x:g}"


def _hr_phrase(result: Any) -> str:
    bits = []
    if result.hazard_ratio is not None:
        hr = f"hazard ratio (HR) {_number(result.hazard_ratio)}"
        if result.ci:
            hr += f" ({_ci_label(result)} {result.ci})"
        bits.append(hr)
    elif result.ci:
        bits.append(f"{_ci_label(result)} {result.ci}")
    if result.p_value:
        p = str(result.p_value).strip()
        bits.append(f"p {p}" if p[:1] in "<>=≤≥" else f"p = {p}")
    return ", ".join(bits)


def _render_trial(b: DocumentBuilder, r: Any) -> None:
    label = TYPE_LABELS["trial"]
    b.set_path(label)
    intro = f"{_names(r)} is a phase {r.phase} clinical trial ({r.design})"
    lines = [_sentence(intro), _sentence(r.summary)]
    if r.setting:
        lines.append(_sentence(f"Setting: {r.setting}"))
    lines.append(_sentence(f"Population: {r.population}"))
    if r.n_randomised is not None:
        lines.append(_sentence(f"{r.n_randomised} patients were randomised"))
    if r.primary_endpoint:
        lines.append(_sentence(f"Primary endpoint: {r.primary_endpoint}"))
    if r.registration:
        lines.append(_sentence(f"Registration: {r.registration}"))
    b.paragraph(" ".join(lines))
    if r.arms:
        b.set_path(f"{label} > Arms")
        arms = []
        for a in r.arms:
            arm = f"{a.name}: {a.regimen}" if a.regimen != a.name else a.name
            if a.n is not None:
                arm += f" (n = {a.n})"
            if a.notes:
                arm += f", {a.notes}"
            arms.append(arm)
        b.paragraph(_sentence(f"{r.name} arms: " + LIST_SEP.join(arms)))
    if r.results:
        b.set_path(f"{label} > Results")
        for res in r.results:
            parts = [_sentence(f"{r.name}, {res.endpoint}: {res.statement.rstrip('.')}")]
            if res.arm_values:
                values = LIST_SEP.join(f"{arm}: {v}" for arm, v in res.arm_values.items())
                parts.append(_sentence(f"By arm: {values}"))
            hr = _hr_phrase(res)
            if hr:
                parts.append(_sentence(hr[0].upper() + hr[1:]))
            if res.notes:
                parts.append(_sentence(res.notes))
            parts.append(_sources_sentence(res.sources))
            b.paragraph(" ".join(p for p in parts if p))


def _render_agent(b: DocumentBuilder, r: Any) -> None:
    b.set_path(TYPE_LABELS["agent"])
    lines = [
        _sentence(f"{_names(r, r.code_names)} is {_a(r.agent_class)}"),
        _sentence(r.summary),
        _sentence(f"Modality: {r.modality}"),
    ]
    if r.code_names:
        lines.append(_sentence(f"Code names: {_join(r.code_names)}"))
    if r.targets:
        lines.append(_sentence(f"Targets: {_join(r.targets)}"))
    lines.append(_sentence(f"Mechanism of action: {r.mechanism}"))
    b.paragraph(" ".join(lines))


def _render_biomarker(b: DocumentBuilder, r: Any) -> None:
    b.set_path(TYPE_LABELS["biomarker"])
    lines = [_sentence(f"{_names(r)} is a biomarker"), _sentence(f"Kind: {r.kind}"), _sentence(r.summary)]
    lines.append(_sentence(f"Relevance: {r.relevance}"))
    if r.measurement:
        lines.append(_sentence(f"Measurement: {r.measurement}"))
    b.paragraph(" ".join(lines))


def _render_mechanism(b: DocumentBuilder, r: Any) -> None:
    b.set_path(TYPE_LABELS["mechanism"])
    lines = [
        _sentence(f"{_names(r)} is a mechanism of resistance to immunotherapy"),
        _sentence(f"Category: {r.category}"),
        _sentence(r.summary),
        _sentence(r.description),
    ]
    if r.examples:
        lines.append(_sentence(f"Examples: {_join(r.examples)}"))
    b.paragraph(" ".join(lines))


def _render_term(b: DocumentBuilder, r: Any) -> None:
    b.set_path(TYPE_LABELS["term"])
    if r.abbreviation:
        first = f"{r.abbreviation} stands for {r.expansion}"
        if r.name.lower() not in (r.abbreviation.lower(), r.expansion.lower()):
            first += f" ({r.name})"
    else:
        first = f"{r.name}: {r.expansion}" if r.expansion.lower() != r.name.lower() else r.name
    lines = [_sentence(first)]
    known = {x.lower() for x in (r.name, r.abbreviation or "", r.expansion)}
    others = [s for s in r.synonyms if s.lower() not in known]
    if others:
        lines.append(_sentence(f"Also called {_join(others)}"))
    lines.append(_sentence(r.summary))
    if r.definition:
        lines.append(_sentence(f"Definition: {r.definition}"))
    b.paragraph(" ".join(lines))


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


def _render_ref(b: DocumentBuilder, r: Any) -> None:
    b.set_path(TYPE_LABELS["ref"])
    if not r.captured:
        b.paragraph(
            f"Reference {r.n} of the review. The text of this reference was not captured in the available "
            "source, so its authors, title and journal are unknown here."
        )
        return
    citation = _citation(r) if (r.title or r.authors) else (r.text or "").strip()
    b.paragraph(f"Reference {r.n} of the review: {citation}")


_RENDERERS = {
    "trial": _render_trial,
    "agent": _render_agent,
    "biomarker": _render_biomarker,
    "mechanism": _render_mechanism,
    "term": _render_term,
    "ref": _render_ref,
}


def _fields(spaced: str) -> list[str]:
    return spaced.split()


_META_FIELDS = _fields(
    "phase design setting population n_randomised primary_endpoint registration agent_class "
    "targets modality code_names kind relevance measurement category examples abbreviation "
    "expansion n captured authors group title journal year volume pages pmcid url"
)


def record_metadata(record: Any) -> dict[str, str | int | float | bool]:
    """Flat metadata (scalars only; lists joined with '; '), always with record_id and record_type."""
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


def render_record(record: Any) -> tuple[str, list[Section], dict[str, Any]]:
    """Readable text, sections (e.g. "Trial > Results") and flat metadata of one record."""
    renderer = _RENDERERS.get(record.type)
    if renderer is None:  # pragma: no cover - the pydantic models only allow the types above
        raise ValueError(f"no renderer for record type {record.type!r}")
    b = DocumentBuilder()
    renderer(b, record)
    if record.type != "ref":
        sources = _sources_sentence(record.sources)
        if sources:
            b.set_path(f"{TYPE_LABELS[record.type]} > Sources")
            b.paragraph(sources)
    doc = b.build(record.id, record.name, "record")
    return doc.text, doc.sections, record_metadata(record)
