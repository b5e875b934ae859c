"""`mesochat evidence`: the trial evidence table from the records, optionally as a forest plot PNG and a CSV."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from corpus.evidence import TABLE_COLUMNS, evidence_rows, hazard_ratio_rows, normalise_endpoint, table_cells
from kernel.errors import MesochatError


def _writable(path: Path, option: str) -> Path:
    """A file path the option can write to: not a folder, in an existing folder."""
    path = path.expanduser()
    if path.is_dir():
        raise MesochatError(f"{option} {path} is a folder; give a file name, e.g. {path / ('evidence.' + option[2:])}")
    if not path.parent.is_dir():
        raise MesochatError(f"{option} {path}: folder {path.parent} does not exist; create it or pick another path")
    return path


def evidence_command(
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", help="OS, PFS, ORR, DCR, OS_RATE, PFS_RATE, SAFETY, QOL or OTHER (default: all).")] = None,
    setting: Annotated[str | None, typer.Option(
        "--setting", help="first line, relapsed, maintenance, perioperative, other, or words of a trial's setting.")]
    = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write the forest plot of the hazard ratios here.")]
    = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the rows as CSV here.")] = None,
) -> None:
    """Trial results from the records: arms, medians, HRs with their CIs, and the sources, as a table or a plot."""
    measure = normalise_endpoint(endpoint)
    png = _writable(png, "--png") if png else None
    csv_path = _writable(csv_path, "--csv") if csv_path else None
    rows = evidence_rows(endpoint=measure, setting=setting)
    if not rows:
        raise MesochatError(f"no trial result in the records matches endpoint {endpoint or 'any'} and setting "
                            f"{setting or 'any'}; try without --setting, or another --endpoint")

    console = Console(width=None if sys.stdout.isatty() else 220)
    table = Table(title=f"Trial evidence ({len(rows)} rows)", show_lines=True)
    for column in TABLE_COLUMNS:  # trial names stay whole so they can be searched in the output
        table.add_column(column, overflow="fold", no_wrap=column == "Trial")
    for row in rows:
        table.add_row(*(Text(cell) for cell in table_cells(row)))  # text, never rich markup
    console.print(table)

    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0].as_dict()))
            writer.writeheader()
            writer.writerows(r.as_dict() for r in rows)
        console.print(f"CSV: {len(rows)} rows written to {csv_path}", highlight=False, soft_wrap=True, markup=False)
    if png:
        from corpus.forest import forest_figure, save_png  # matplotlib only when a picture is asked for

        drawn = hazard_ratio_rows(rows)
        save_png(forest_figure(rows), png)
        console.print(f"PNG: forest plot of {len(drawn)} hazard ratio(s) written to {png}", highlight=False,
                      soft_wrap=True, markup=False)
        for row in drawn:
            console.print(f"  drew {row.label}: HR {row.hr_text} [{row.record_id}]", highlight=False,
                          soft_wrap=True, markup=False)
        if not drawn:
            console.print("  (no row of this selection reports a hazard ratio; the picture says so)",
                          highlight=False)
