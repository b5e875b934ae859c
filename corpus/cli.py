"""`mesochat corpus validate` and `mesochat corpus stats`: check and count the records (fast, no ML imports)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from corpus.figures import FIGURE_RECORD_TYPES, HOST_CLASSES, HOSTS_FILE, WEAK_CLASSES, evidence_counts
from corpus.models import EVIDENCE_LEVELS
from corpus.records import RECORDS_DIR, check_records, collect_records
from corpus.review import load_review

app = typer.Typer(help="Check and summarise the review corpus and its records.", no_args_is_help=True)

RecordsDir = typer.Option(None, "--records-dir", help=f"Folder of *.yaml records (default: {RECORDS_DIR}).")

_TYPE_ORDER = ("trial", "agent", "biomarker", "mechanism", "term", "ref")


@app.command()
def validate(records_dir: Path | None = RecordsDir) -> None:
    """Check every record; print one line per problem (file: record-id: field: message).

    Fails on a schema problem, a figure without a source, a figure source without `evidence` or a figure
    resting only on weak hosts; warns (exit 0) on a figure whose only sources are secondary.
    """
    records, problems, warnings = check_records(records_dir)
    for w in warnings:
        typer.echo(f"warning: {w}")
    if problems:
        for p in problems:
            typer.echo(str(p))
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    tail = f" ({len(warnings)} warning(s))" if warnings else ""
    typer.echo(f"OK: {len(records)} records valid{tail}")


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
    _print_evidence(console, records)
    if problems:
        Console(stderr=True).print(f"warning: {len(problems)} problem(s) in the records; invalid ones are not "
                                   "counted (run 'mesochat corpus validate')", style="yellow", highlight=False)


def _print_evidence(console: Console, records: list) -> None:
    """Figures per record type by their best source, plus those resting only on weak hosts."""
    counts = evidence_counts(records)
    table = Table(title="figures by best source")
    table.add_column("type")
    for level in EVIDENCE_LEVELS:
        table.add_column(level, justify="right")
    table.add_column("total", justify="right")
    table.add_column("weak hosts only", justify="right")
    for t in FIGURE_RECORD_TYPES:
        table.add_row(t, *(str(counts.by_level[(t, lvl)]) for lvl in EVIDENCE_LEVELS),
                      str(counts.total[t]), str(counts.weak_only[t]))
    console.print(table)
    for t in FIGURE_RECORD_TYPES:
        levels = " ".join(f"{lvl} {counts.by_level[(t, lvl)]}" for lvl in EVIDENCE_LEVELS)
        console.print(f"figures {t}: {levels} total {counts.total[t]} weak-hosts-only {counts.weak_only[t]}",
                      highlight=False, soft_wrap=True)
    _print_host_classes(console, counts)


def _print_host_classes(console: Console, counts) -> None:
    """Figure sources by the class of the host their copy was read on, and the figures resting on weak ones."""
    shown = [c for c in (*HOST_CLASSES, "locator") if counts.by_host_class[c]]
    console.print("figure sources by host of the copy read: "
                  + " ".join(f"{c} {counts.by_host_class[c]}" for c in shown)
                  + f" (weak classes: {', '.join(WEAK_CLASSES)}; lists: {HOSTS_FILE.name})",
                  highlight=False, soft_wrap=True)
    agg = counts.aggregator_only
    console.print(f"figures resting only on aggregator copies (kept, secondary; each names the original it "
                  f"copies): {len(agg)}", highlight=False, soft_wrap=True)
    for f in agg:
        hosts = ", ".join(sorted({_host_of(s) for s in f.sources}))
        console.print(f"  {f.record.id} {f.field} ({f.label}): {hosts}", highlight=False, soft_wrap=True,
                      markup=False)
    staging = counts.staging_sources
    console.print(f"figure sources on staging/GitHub copies: {len(staging)} "
                  f"(without a written copy_reason: {len(counts.staging_unexplained)})",
                  highlight=False, soft_wrap=True)
    for f, s in staging:
        only = " (only source)" if f.weak_only else ""
        reason = "reason given" if s.copy_reason else "NO REASON"
        console.print(f"  {f.record.id} {f.field} ({f.label}): {_host_of(s)}{only}; {reason}",
                      highlight=False, soft_wrap=True, markup=False)
    if counts.unlisted_hosts:
        console.print("hosts in no list (classify them in " + HOSTS_FILE.name + "): "
                      + ", ".join(f"{h} ({n})" for h, n in sorted(counts.unlisted_hosts.items())),
                      highlight=False, soft_wrap=True)


def _host_of(source) -> str:
    from corpus.figures import _host, source_address, source_class

    return f"{_host(source_address(source)) or source.kind} [{source_class(source)}]"
