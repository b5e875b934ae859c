"""Forest plots of hazard ratios from the evidence rows (matplotlib, Agg, no pyplot state, no network).

One line per comparison (trial, endpoint, subgroup, analysis), grouped by treatment line; a square at
the HR, a horizontal line for its CI on a log axis, a dashed reference line at 1. Text columns give
the trial and its comparison, the HR with its CI level written out, the per-arm values, and the
source of the figure. A CI whose level is not 95% also carries its level next to the interval.

Every drawn artist has a gid ``hr|<record id>|<row label>`` / ``ci|...`` so tests (and anyone
checking a picture) can map each mark back to its record.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from corpus.evidence import (
    LINES,
    MEASURE_NAMES,
    EvidenceRow,
    evidence_rows,
    evidence_table_markdown,
    hazard_ratio_rows,
    normalise_endpoint,
)

__all__ = ["evidence_table_markdown", "forest_figure", "plot_for_records", "save_png"]

WIDTH_IN = 15.0
ROW_IN = 0.46  # height of one comparison (two text lines)
HEAD_IN = 1.25  # title and column headers
FOOT_IN = 1.05  # x axis, favours labels, footnote
POINT = "#1f4e79"
MUTED = "#555555"
GRID = "#d9d9d9"
# Columns in figure fractions: labels | plot | HR (CI), p | values by arm, follow-up | source
X_LABEL, X_PLOT, X_PLOT_END, X_HR, X_ARMS, X_SOURCE = 0.008, 0.30, 0.52, 0.535, 0.68, 0.805
TICKS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
LINE_TITLES = {"first line": "First line", "relapsed": "Relapsed", "maintenance": "Maintenance",
               "perioperative": "Perioperative", "other": "Other settings"}


def _clip(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(str(text).split()), width=width, placeholder="…") if text else ""


def _row_title(row: EvidenceRow, one_endpoint: bool) -> str:
    bits = [row.trial] + ([] if one_endpoint else [row.endpoint_label]) + [row.subgroup, row.analysis]
    return " · ".join(b for b in bits if b)


def _x_range(rows: Sequence[EvidenceRow]) -> tuple[float, float]:
    values = [1.0]
    for r in rows:
        values += [v for v in (r.hazard_ratio, r.ci_low, r.ci_high) if v is not None]
    return min(values) / 1.3, max(values) * 1.3


def _layout(rows: Sequence[EvidenceRow]) -> list[tuple[str, object]]:
    """[('group', line) | ('row', EvidenceRow)] top to bottom, groups in LINES order."""
    items: list[tuple[str, object]] = []
    order = {line: i for i, line in enumerate(LINES)}
    for line in sorted({r.line for r in rows}, key=lambda x: (order.get(x, len(LINES)), x)):
        items.append(("group", line))
        items += [("row", r) for r in rows if r.line == line]
    return items


def _title(rows: Sequence[EvidenceRow]) -> str:
    endpoints = {r.endpoint for r in rows}
    if len(endpoints) == 1:
        return f"Hazard ratios for {MEASURE_NAMES.get(next(iter(endpoints)), 'the endpoint')}"
    return "Hazard ratios by endpoint"


def forest_figure(rows: Iterable[EvidenceRow], title: str | None = None) -> Figure:
    """A forest plot of the rows that carry a hazard ratio (rows without one are not drawn)."""
    drawn = hazard_ratio_rows(rows)
    items = _layout(drawn)
    height = HEAD_IN + FOOT_IN + ROW_IN * max(len(items), 2)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=110, facecolor="white")
    FigureCanvasAgg(fig)
    bottom, top = FOOT_IN / height, 1 - HEAD_IN / height
    ax = fig.add_axes((X_PLOT, bottom, X_PLOT_END - X_PLOT, top - bottom))
    heading = title or (_title(drawn) if drawn else "Hazard ratios")
    fig.text(X_LABEL, 1 - 0.22 / height, heading,
             fontsize=14, fontweight="bold", va="top")
    if not drawn:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No hazard ratio is reported for this selection.", ha="center", va="center",
                fontsize=11, color=MUTED, transform=ax.transAxes)
        return fig

    one_endpoint = len({r.endpoint for r in drawn}) == 1
    low, high = _x_range(drawn)
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(-0.6, len(items) - 0.4)
    ax.axvline(1.0, color=MUTED, linestyle="--", linewidth=1, zorder=1)
    ax.xaxis.set_major_locator(FixedLocator([t for t in TICKS if low <= t <= high]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.yaxis.set_visible(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color=GRID, linewidth=0.6, zorder=0)
    ax.set_xlabel("Hazard ratio (log scale)", fontsize=9, labelpad=4)
    ax.tick_params(axis="x", labelsize=9)

    def text(x: float, y: float, s: str, dy: float = 0.0, **kw):
        kw.setdefault("fontsize", 9)
        kw.setdefault("va", "center")
        return ax.annotate(s, xy=(x, y), xycoords=("figure fraction", "data"), xytext=(0, dy),
                           textcoords="offset points", annotation_clip=False, **kw)

    headers = ((X_LABEL, "Trial · subgroup · analysis\nexperimental vs control"), (X_HR, "HR (CI)\np value"),
               (X_ARMS, "By arm (exp vs ctrl)\nfollow-up"), (X_SOURCE, "Source of the figure\nrecord"))
    for x, s in headers:
        ax.annotate(s, xy=(x, 1), xycoords=("figure fraction", "axes fraction"), xytext=(0, 8),
                    textcoords="offset points", fontsize=9, fontweight="bold", va="bottom",
                    annotation_clip=False)

    for i, (kind, item) in enumerate(items):
        y = len(items) - 1 - i
        if kind == "group":
            text(X_LABEL, y, LINE_TITLES.get(item, str(item).capitalize()), fontsize=10.5, fontweight="bold")
            ax.axhline(y - 0.5, color=GRID, linewidth=0.6, zorder=0)
            continue
        row: EvidenceRow = item
        key = f"{row.record_id}|{row.label}"
        text(X_LABEL, y, _clip(_row_title(row, one_endpoint), 52), dy=5, gid=f"label|{key}")
        text(X_LABEL, y, _clip(row.comparison, 58), dy=-6, fontsize=8, color=MUTED, gid=f"comparison|{key}")
        if row.ci_low is not None and row.ci_high is not None:
            ax.plot([row.ci_low, row.ci_high], [y, y], color=POINT, linewidth=1.6, solid_capstyle="butt",
                    gid=f"ci|{key}", zorder=2)
            if row.ci_level != 95:
                ax.annotate(row.ci_level_text, xy=(row.ci_high, y), xytext=(4, 0), textcoords="offset points",
                            fontsize=7.5, color=POINT, style="italic", va="center", gid=f"level|{key}")
        ax.plot([row.hazard_ratio], [y], marker="s", markersize=7, color=POINT, linestyle="none",
                gid=f"hr|{key}", zorder=3)
        text(X_HR, y, row.hr_text, dy=5, gid=f"hrtext|{key}")
        text(X_HR, y, f"p = {row.p_value}" if row.p_value and row.p_value[:1] not in "<>=≤≥"
             else (f"p {row.p_value}" if row.p_value else ""), dy=-6, fontsize=8, color=MUTED)
        text(X_ARMS, y, _clip(row.medians_text, 26), dy=5, gid=f"arms|{key}")
        text(X_ARMS, y, _clip(row.follow_up or "", 28), dy=-6, fontsize=8, color=MUTED, gid=f"follow|{key}")
        text(X_SOURCE, y, _clip(row.citation, 42), dy=5, gid=f"source|{key}")
        text(X_SOURCE, y, _clip(row.record_id, 38), dy=-6, fontsize=8, color=MUTED)

    for x, s, ha, arrow in ((1.0, "favours experimental", "right", "← "), (1.0, "favours control", "left", " →")):
        label = arrow + s if ha == "right" else s + arrow
        ax.annotate(label, xy=(x, 0), xycoords=("data", "axes fraction"), xytext=(-8 if ha == "right" else 8, -30),
                    textcoords="offset points", ha=ha, va="top", fontsize=9, fontweight="bold", color=MUTED,
                    annotation_clip=False)
    fig.text(X_LABEL, 0.12 / height,
             "Squares: hazard ratio (experimental vs control); lines: its confidence interval, 95% unless another "
             "level is written next to it. Values by arm are as reported (exp vs ctrl). Figures from the mesochat "
             "trial records; each row names the source of its figure.", fontsize=7.5, color=MUTED, va="bottom")
    return fig


def save_png(fig: Figure, path) -> None:
    fig.savefig(path, format="png", dpi=110, facecolor="white")


def plot_for_records(record_ids: Iterable[str], endpoint: str = "os", records: Iterable | None = None
                     ) -> Figure | None:
    """The forest plot of the named trials for one endpoint; None when none of them reports an HR."""
    wanted = set(record_ids)
    rows = [r for r in evidence_rows(records, endpoint=normalise_endpoint(endpoint)) if r.record_id in wanted]
    return forest_figure(rows) if hazard_ratio_rows(rows) else None
