"""The Explore tab's Evidence view: forest plot + table of trial results, filtered by endpoint and setting.

The plot (``corpus.forest``) and the table show the same rows; the table is its text equivalent (a real
HTML table for screen readers, plus a copyable Markdown version). Clicking a row opens that trial's
record with its sources in the panel below, and puts the trial in Explore's "Selected row" box so
"Ask about this" works as in the other tables.

``plot_for_records(record_ids, endpoint)`` is the call for a chat answer that compares trials.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import gradio as gr
import pandas as pd

from corpus.evidence import (
    LINES,
    MEASURE_LABELS,
    MEASURE_NAMES,
    MEASURES,
    TABLE_COLUMNS,
    EvidenceRow,
    evidence_rows,
    evidence_table_markdown,
    hazard_ratio_rows,
    source_label,
    table_cells,
)
from corpus.forest import forest_figure, plot_for_records
from corpus.models import Source, TrialRecord
from kernel.errors import MesochatError
from ui.explore import ask_prompt
from ui.render import esc

__all__ = ["EvidenceView", "build_evidence_view", "plot_for_records", "record_html"]

log = logging.getLogger("mesochat.ui")

ALL = "all"
RECORD_COLUMN = "Record"
# Line, Trial, Comparison, Endpoint, Patients / analysis, By arm, HR (CI), p, Follow-up, Source, Record
COLUMN_WIDTHS = ["90px", "150px", "190px", "90px", "170px", "220px", "180px", "70px", "150px", "170px", "150px"]
PLACEHOLDER = "Click a row of the table to open that trial's record and its sources here."


def source_link(source: Source) -> str:
    """A source as HTML: a link for doi/pmid/pmcid/url, plain text otherwise; evidence level and note after it."""
    kind, value = source.kind, str(source.value)
    href = {"doi": f"https://doi.org/{value}", "pmid": f"https://pubmed.ncbi.nlm.nih.gov/{value}/",
            "pmcid": f"https://pmc.ncbi.nlm.nih.gov/articles/{value}/", "url": value}.get(kind)
    label = {"review": f"the review's {value}", "ref": f"reference {value} of the review", "doi": f"doi:{value}",
             "pmid": f"PMID {value}", "pmcid": value, "url": source_label(source)}[kind]
    html = (f'<a href="{esc(href)}" title="{esc(href)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'
            if href else esc(label))
    if source.evidence:
        html += f' <span class="mc-evidence-level">({esc(source.evidence)})</span>'
    if source.copy:
        html += f' · <a href="{esc(source.copy)}" target="_blank" rel="noopener noreferrer">copy read</a>'
    return html


def _result_figures(result) -> str:
    bits = []
    if result.arm_values:
        bits.append("; ".join(f"{esc(arm)}: {esc(v)}" for arm, v in result.arm_values.items()))
    if result.hazard_ratio is not None:
        hr = f"HR {result.hazard_ratio:g}"
        if result.ci:
            level = f"{result.ci_level:g}% CI" if result.ci_level is not None else "CI"
            hr += f" ({level} {esc(result.ci)})"
        bits.append(hr)
    if result.p_value:
        bits.append(f"p {esc(result.p_value)}" if result.p_value[:1] in "<>=≤≥" else f"p = {esc(result.p_value)}")
    labels = [x for x in (result.subgroup, result.analysis, result.follow_up, result.timepoint) if x]
    if labels:
        bits.append(esc(", ".join(labels)))
    return " · ".join(bits)


def record_html(record: TrialRecord) -> str:
    """The trial record with every result and source (all text escaped)."""
    facts = [("Record", record.id), ("Phase", record.phase), ("Design", record.design), ("Line", record.line),
             ("Setting", record.setting), ("Status", record.status), ("Registration", record.registration),
             ("Randomised", record.n_randomised), ("Primary endpoint", record.primary_endpoint)]
    if record.publication is not None:
        p = record.publication
        facts.append(("Publication", " ".join(str(x) for x in (p.authors, p.journal, p.year) if x)))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts if v not in (None, ""))
    arms = "".join(f"<li><b>{esc(a.name)}</b>: {esc(a.regimen)}" + (f" (n = {a.n})" if a.n is not None else "")
                   + "</li>" for a in record.arms)
    results = []
    for r in record.results:
        figures = _result_figures(r)
        sources = "; ".join(source_link(s) for s in r.sources)
        results.append(f"<li><b>{esc(r.endpoint)}</b>: {esc(r.statement)}"
                       + (f'<div class="mc-figures">{figures}</div>' if figures else "")
                       + f'<div class="mc-result-sources">Sources: {sources}</div></li>')
    record_sources = "".join(f"<li>{source_link(s)}</li>" for s in record.sources)
    return (f'<div class="mc-record" data-record="{esc(record.id)}" style="max-height: 46em; overflow-y: auto">'
            f"<h3>{esc(record.name)}</h3>"
            f"<p>{esc(record.summary)}</p><table class=\"mc-locator\">{rows}</table>"
            + (f"<h4>Arms</h4><ul>{arms}</ul>" if arms else "")
            + (f"<h4>Results</h4><ul>{''.join(results)}</ul>" if results else "")
            + f'<h4>Sources of the record</h4><ul class="mc-record-sources">{record_sources}</ul></div>')


def readable_table(markdown: str) -> str:
    """The Markdown table for gr.Markdown: '<' and '>' (p <0.001) as entities so nothing reads as HTML."""
    return markdown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def placeholder_html(message: str = PLACEHOLDER) -> str:
    return f'<div class="mc-source-empty">{esc(message)}</div>'


class EvidenceView:
    """The rows, filters and outputs of the Evidence view, over a fixed list of records."""

    def __init__(self, records: Iterable):
        self.trials = {r.id: r for r in records if isinstance(r, TrialRecord)}
        self.rows = evidence_rows(self.trials.values())

    @property
    def endpoint_choices(self) -> list[tuple[str, str]]:
        present = {r.endpoint for r in self.rows}
        return [(f"{MEASURE_NAMES[m].capitalize()} ({MEASURE_LABELS[m]})", m) for m in MEASURES if m in present]

    @property
    def setting_choices(self) -> list[tuple[str, str]]:
        present = {r.line for r in self.rows}
        return [("All settings", ALL)] + [(line.capitalize(), line) for line in LINES if line in present]

    def select(self, endpoint: str | None, setting: str | None) -> list[EvidenceRow]:
        return [r for r in self.rows if (not endpoint or r.endpoint == endpoint)
                and (not setting or setting == ALL or r.line == setting)]

    @staticmethod
    def frame(rows: Sequence[EvidenceRow]) -> pd.DataFrame:
        data = [[*table_cells(r), r.record_id] for r in rows]
        return pd.DataFrame(data, columns=[*TABLE_COLUMNS, RECORD_COLUMN]).astype(str)

    @staticmethod
    def summary(rows: Sequence[EvidenceRow]) -> str:
        drawn = hazard_ratio_rows(rows)
        if not rows:
            return "No trial result in the records matches these filters."
        return (f"{len(rows)} result(s) from {len({r.record_id for r in rows})} trial(s); the plot draws the "
                f"{len(drawn)} with a hazard ratio. The table below holds the same figures as text.")

    def update(self, endpoint: str | None, setting: str | None):
        """Outputs for the filters: plot, summary, table, the table as HTML text, the table as Markdown."""
        rows = self.select(endpoint, setting)
        text = evidence_table_markdown(rows)
        return forest_figure(rows), self.summary(rows), self.frame(rows), readable_table(text), text

    def open_record(self, record_id: str | None) -> tuple[str, str]:
        """(record panel HTML, Explore prompt) for a record id from the table."""
        record = self.trials.get(str(record_id or "").strip())
        if record is None:
            return placeholder_html("That row has no trial record; pick another row."), ""
        return record_html(record), ask_prompt(record.name)

    def on_select(self, evt: gr.SelectData) -> tuple[str, str]:
        row = list(evt.row_value or [])
        return self.open_record(row[-1] if row else None)

    def on_select_panel(self, evt: gr.SelectData) -> str:
        return self.on_select(evt)[0]


def build_evidence_view(records: Iterable | None = None, prompt: gr.Textbox | None = None) -> EvidenceView | None:
    """Lay out the view inside the current Gradio context (a Tab); None when the records cannot be read."""
    if records is None:
        import corpus

        try:
            records = corpus.load_records()
        except MesochatError as err:
            log.warning("Evidence view without records: %s", err)
            gr.Markdown(f"The trial records could not be read: {err}")
            return None
    view = EvidenceView(records)
    endpoint0 = "os" if any(r.endpoint == "os" for r in view.rows) else None
    figure, summary, frame, _, text = view.update(endpoint0, ALL)
    with gr.Row():
        endpoint = gr.Dropdown(view.endpoint_choices, value=endpoint0, label="Endpoint", elem_id="mc-evidence-endpoint")
        setting = gr.Dropdown(view.setting_choices, value=ALL, label="Setting", elem_id="mc-evidence-setting")
    note = gr.Markdown(summary, elem_id="mc-evidence-summary")
    plot = gr.Plot(figure, format="png", show_label=False, elem_id="mc-evidence-plot")
    gr.Markdown("**Table**: the plot's figures as text. Click a row to open the trial's record and sources.")
    with gr.Row():
        table = gr.Dataframe(frame, interactive=False, wrap=True, max_height=640, elem_id="mc-evidence-table",
                             column_widths=COLUMN_WIDTHS, scale=3)
        panel = gr.HTML(placeholder_html(), elem_id="mc-evidence-record", scale=2)
    with gr.Accordion("The table as text (every row; for screen readers and copying)", open=False):
        readable = gr.Markdown(readable_table(text), elem_id="mc-evidence-readable")
        copy = gr.Textbox(text, label="Markdown, to copy", lines=8, interactive=False, buttons=["copy"],
                          elem_id="mc-evidence-text")

    outputs = [plot, note, table, readable, copy]
    endpoint.change(view.update, [endpoint, setting], outputs, api_visibility="undocumented")
    setting.change(view.update, [endpoint, setting], outputs, api_visibility="undocumented")
    picked = [panel, prompt] if prompt is not None else [panel]
    table.select(view.on_select if prompt is not None else view.on_select_panel, None, picked,
                 api_visibility="undocumented", queue=False)
    return view

