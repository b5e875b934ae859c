"""`mesochat config show`: the effective configuration and where each value came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Show the effective configuration (defaults < config file < environment < options).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command("show")
def show_command(
    home: Annotated[Path | None, typer.Option("--home", help="Data directory.")] = None,
    chroma_url: Annotated[str | None, typer.Option("--chroma-url", help="Chroma server URL.")] = None,
    collection: Annotated[str | None, typer.Option("--collection", help="Index (Chroma collection).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {key: {value, source}} as JSON.")] = False,
) -> None:
    """Every setting with its value and source; an existing index contributes what it was built with."""
    from rich.console import Console
    from rich.table import Table

    from assistant.calibration import with_calibration
    from indexing import manifest as mf
    from kernel.config import Config, config_file_path

    config = Config.load(home=home, chroma_url=chroma_url, collection=collection)
    manifest = mf.read_manifest(config.index_dir)
    if manifest is not None:
        config = mf.index_config(manifest, config)
    config = with_calibration(config)  # the abstention threshold nobody set: the assistant's calibrated one
    rows = config.effective()
    if as_json:
        data = {key: {"value": value if isinstance(value, (int, float, bool, type(None))) else str(value),
                      "source": source} for key, value, source in rows}
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"mesochat configuration (config file: {config_file_path() or 'none'})")
    for column in ("setting", "value", "source"):
        table.add_column(column)
    for key, value, source in rows:
        table.add_row(key, "" if value is None else str(value), source)
    Console(width=160).print(table)
