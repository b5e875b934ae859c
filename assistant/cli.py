"""The `mesochat` command: one typer app; each package contributes its own commands.

Errors meant for users (MesochatError) become one line on stderr and exit status 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from kernel.errors import MesochatError

app = typer.Typer(
    name="mesochat",
    help="Citation-grounded assistant over the 2026 review of immunotherapy resistance in pleural mesothelioma.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, attribute, kind, name): kind "group" adds a typer sub-app, "command" a single command.
_PARTS = [
    ("corpus.cli", "app", "group", "corpus"),
    ("indexing.cli", "index_command", "command", "index"),
    ("assistant.commands", "ask_command", "command", "ask"),
    ("assistant.commands", "chat_command", "command", "chat"),
    ("ui.cli", "ui_command", "command", "ui"),
    ("evals.cli", "app", "group", "eval"),
]


def _register() -> None:
    for module, attr, kind, name in _PARTS:
        try:
            part = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue  # a part still under construction must not break the others
        if kind == "group":
            app.add_typer(part, name=name)
        else:
            app.command(name)(part)


_register()


def main() -> None:
    try:
        app()
    except MesochatError as err:
        print(f"mesochat: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("mesochat: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
