"""`mesochat index`: build or update the index, add user files, show what is indexed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kernel.config import ChunkingConfig
from kernel.errors import MesochatError


def index_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="[PATH]...", help="Files or folders for --add.", show_default=False),
    ] = None,
    add: Annotated[
        bool,
        typer.Option(
            "--add",
            help="Also index these files (PDF, HTML, Markdown, text, JATS XML); later runs keep them.",
        ),
    ] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and build it again from scratch.")
    ] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Show what is indexed instead of building.")] = False,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Only check that vector search finds every indexed chunk (exit 2 if not)."),
    ] = False,
    home: Annotated[
        Path | None, typer.Option("--home", help="Data directory (default $MESOCHAT_HOME or ./data).")
    ] = None,
    chroma_url: Annotated[
        str | None,
        typer.Option(
            "--chroma-url", help="Chroma server, e.g. http://127.0.0.1:8000 (default: embedded Chroma)."
        ),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            "--chunk-size", min=1,
            help=f"Words per chunk (default: what the index was built with, else {ChunkingConfig().size}).",
        ),
    ] = None,
    chunk_overlap: Annotated[
        int | None,
        typer.Option(
            "--chunk-overlap", min=0,
            help=f"Sentences repeated between chunks (default: the index's, else {ChunkingConfig().overlap}).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Build or update the search index (incremental: only new or changed text is embedded)."""
    from rich.console import Console

    from kernel.config import Config

    if paths and not add:
        raise MesochatError(
            f"Unexpected argument {paths[0]}; to index your own files use `mesochat index --add PATH`"
        )
    if add and not paths:
        raise MesochatError("--add needs at least one file or folder, e.g. `mesochat index --add paper.pdf`")
    kw = {}
    if chunk_size is not None:
        kw["chunk_size"] = chunk_size
    if chunk_overlap is not None:
        kw["chunk_overlap"] = chunk_overlap
    settings = Config.load(home=home, chroma_url=chroma_url, **kw)
    console = Console()

    if verify:
        if rebuild or add or stats:
            raise MesochatError("--verify only checks; run it without --rebuild, --add or --stats")
        from indexing.verify import verify_index

        reach = verify_index(settings)
        where = settings.chroma.url or settings.paths.chroma_dir
        if not reach.ok:
            raise MesochatError(f"Index incomplete: {reach.summary()} in Chroma at {where}; run `mesochat index` "
                                "to repair")
        console.print(f"Index verified: {reach.summary()} ({reach.seconds:.1f} s)", highlight=False, soft_wrap=True)
        return

    if stats:
        if rebuild or add:
            raise MesochatError("--stats only reports; run it without --rebuild or --add")
        from indexing.stats import index_stats, stats_table

        console.print(stats_table(index_stats(settings)))
        return

    from indexing.build import build_index

    report = build_index(settings, extra_paths=paths or (), rebuild=rebuild, progress=not quiet)
    for note in report.notes:
        print(f"mesochat: note: {note}", file=sys.stderr)
    for line in report.skipped:
        print(f"mesochat: error: {line}", file=sys.stderr)
    console.print(report.summary(), highlight=False, soft_wrap=True)
    if report.skipped:
        raise typer.Exit(2)  # the rest was indexed; the status still tells scripts something failed
