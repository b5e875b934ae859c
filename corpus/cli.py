"""`mesochat corpus validate` and `mesochat corpus stats`: check and count the records (fast, no ML imports)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from corpus.records import RECORDS_DIR, collect_records, validate_records
from corpus.review import load_review

app = typer.Typer(help="Check and summarise the review corpus and its records.", no_args_is_help=True)

RecordsDir = typer.Option(None, "--records-dir", help=f"Folder of *.yaml records (default: {RECORDS_DIR}).")

_TYPE_ORDER = ("trial", "agent", "biomarker", "mechanism", "term", "ref")


@app.command()
def validate(records_dir: Path | None = RecordsDir) -> None:
    """Check every record; print one line per problem (file: record-id: field: message)."""
    problems = validate_records(records_dir)
    if problems:
        for p in problems:
            typer.echo(str(p))
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    n = len(collect_records(records_dir)[0])
    typer.echo(f"OK: {n} records valid")


@app.command()
def stats(records_dir: Path | None = RecordsDir) -> None:
    """Count records by type and describe the review (invalid records are left out and flagged)."""
    review = load_review()
    records, problems = collect_records(records_dir, review=review)
    counts = Counter(r.type for r in records)
    with_text = sum(1 for r in review.references if r.captured)

    console = Console()
    console.print(f"{review.title}. {review.journal_abbrev} {review.year}. doi:{review.doi}",
                  highlight=False, soft_wrap=True)
    table = Table(title="records by type")
    table.add_column("type")
    table.add_column("records", justify="right")
    for t in _TYPE_ORDER:
        shown = f"{counts[t]} ({with_text} with text)" if t == "ref" else str(counts[t])
        table.add_row(t, shown)
    table.add_row("total", str(len(records)), style="bold")
    console.print(table)
    # Plain lines as well, for scripts and logs that do not render tables.
    console.print(" ".join(f"{t} {counts[t]}" for t in _TYPE_ORDER if t != "ref")
                  + f" ref {counts['ref']} ({with_text} with text)", highlight=False, soft_wrap=True)
    console.print(f"abstract: {len(review.abstract)} characters; keywords: {len(review.keywords)}; "
                  f"authors: {len(review.authors)}", highlight=False, soft_wrap=True)
    if problems:
        Console(stderr=True).print(f"warning: {len(problems)} problem(s) in the records; invalid ones are not "
                                   "counted (run 'mesochat corpus validate')", style="yellow", highlight=False)
