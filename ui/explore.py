"""Data for the Explore tab: the review's abstract, its reference list and the typed records as tables.

Tables are plain strings (the Dataframe shows them as text, never as HTML). The first column of
every table is what "ask about this" puts in the chat question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from ui.render import esc

NOT_CAPTURED = "text not captured (the captured page lists this reference without its text)"


@dataclass(frozen=True)
class Table:
    key: str
    label: str
    frame: pd.DataFrame

    def filtered(self, query: str | None) -> pd.DataFrame:
        """Rows where every word of ``query`` occurs in some cell (case-insensitive)."""
        words = (query or "").lower().split()
        if not words or self.frame.empty:
            return self.frame
        haystack = self.frame.astype(str).agg(" ".join, axis=1).str.lower()
        mask = pd.Series(True, index=self.frame.index)
        for word in words:
            mask &= haystack.str.contains(word, regex=False)
        return self.frame[mask]


def _join(items: Iterable | None, sep: str = ", ") -> str:
    return sep.join(str(x) for x in (items or []) if x not in (None, ""))


def _arms(trial) -> str:
    return _join((f"{a.name}: {a.regimen}" + (f" (n={a.n})" if a.n is not None else "") for a in trial.arms), "; ")


def _outcomes(trial) -> str:
    parts = []
    for r in trial.results:
        figures = []
        if r.hazard_ratio is not None:
            figures.append(f"HR {r.hazard_ratio:g}" + (f" (95% CI {r.ci})" if r.ci else ""))
        if r.p_value:
            figures.append(f"p={r.p_value}")
        if r.arm_values:
            figures.append(_join((f"{k} {v}" for k, v in r.arm_values.items()), " vs "))
        parts.append(f"{r.endpoint}: {r.statement}" + (f" [{'; '.join(figures)}]" if figures else ""))
    return " | ".join(parts)


def _sources(record) -> str:
    return _join(f"{s.kind} {s.value}" for s in record.sources)


def records_tables(records: Iterable) -> list[Table]:
    by_type: dict[str, list] = {}
    for r in records:
        by_type.setdefault(r.type, []).append(r)
    rows = {
        "trial": [{"Name": t.name, "Phase": t.phase, "Design": t.design, "Setting": t.setting or "",
                   "Arms": _arms(t), "Primary endpoint": t.primary_endpoint or "", "Outcomes": _outcomes(t),
                   "Sources": _sources(t), "Record": t.id} for t in by_type.get("trial", [])],
        "agent": [{"Name": a.name, "Class": a.agent_class, "Targets": _join(a.targets), "Mechanism": a.mechanism,
                   "Modality": a.modality, "Code names": _join(a.code_names), "Sources": _sources(a),
                   "Record": a.id} for a in by_type.get("agent", [])],
        "biomarker": [{"Name": b.name, "Kind": b.kind, "Relevance": b.relevance, "Measurement": b.measurement or "",
                       "Summary": b.summary, "Sources": _sources(b), "Record": b.id}
                      for b in by_type.get("biomarker", [])],
        "mechanism": [{"Name": m.name, "Category": m.category, "Description": m.description,
                       "Examples": _join(m.examples), "Sources": _sources(m), "Record": m.id}
                      for m in by_type.get("mechanism", [])],
        "term": [{"Name": t.abbreviation or t.name, "Expansion": t.expansion,
                  "Definition": t.definition or t.summary, "Record": t.id} for t in by_type.get("term", [])],
    }
    labels = {"trial": "Trials", "agent": "Agents", "biomarker": "Biomarkers", "mechanism": "Mechanisms",
              "term": "Glossary"}
    return [Table(key, labels[key], pd.DataFrame(rows[key]).astype(str) if rows[key] else pd.DataFrame())
            for key in labels]


def references_table(review) -> Table:
    rows = [{"Name": f"Reference {r.n}", "Status": "captured" if r.captured else "text not captured",
             "Text": r.text if r.captured and r.text else NOT_CAPTURED, "Year": "" if r.year is None else str(r.year),
             "Journal": r.journal or ""} for r in review.references]
    return Table("ref", "References", pd.DataFrame(rows))


def review_html(review) -> str:
    n_refs = len(review.references)
    n_captured = sum(r.captured for r in review.references)
    meta = _join([review.journal, review.year, f"doi {review.doi}" if review.doi else None], " · ")
    keywords = _join(review.keywords)
    return (
        f'<div class="mc-review"><h2>{esc(review.title)}</h2>'
        f'<p class="mc-authors">{esc(_join(review.authors))}</p><p class="mc-meta">{esc(meta)}'
        + (f" · {esc(review.license)}" if getattr(review, "license", None) else "")
        + f"</p><h3>Abstract</h3><p>{esc(review.abstract)}</p>"
        + (f"<p><b>Keywords:</b> {esc(keywords)}</p>" if keywords else "")
        + f'<p class="mc-note">The reference list has {n_refs} entries; the captured pages give the text of '
        f"{n_captured} of them. The others are listed as “text not captured”.</p></div>"
    )


def ask_prompt(name: str) -> str:
    name = " ".join(str(name or "").split())
    if name.startswith("Reference ") and name[10:].isdigit():
        return f"What is reference {name[10:]}?"
    return f"Tell me about {name}" if name else ""
