"""The `mesochat` command: one typer app; each package contributes its own commands.

Errors meant for users (MesochatError) become one line on stderr and exit status 2. A part that
cannot be imported is such an error too: a broken install must never look like a missing command.
"""

from __future__ import annotations

import importlib
import sys

import typer

from kernel.errors import MesochatError

# (module, attribute, kind, name): kind "group" adds a typer sub-app, "command" a single command.
PARTS = [
    ("mesochat.config_cli", "app", "group", "config"),
    ("corpus.cli", "app", "group", "corpus"),
    ("indexing.cli", "index_command", "command", "index"),
    ("assistant.commands", "ask_command", "command", "ask"),
    ("assistant.commands", "chat_command", "command", "chat"),
    ("ui.cli", "ui_command", "command", "ui"),
    ("evals.cli", "app", "group", "eval"),
    ("corpus.evidence_cli", "evidence_command", "command", "evidence"),
]


def build_app() -> typer.Typer:
    """The root app with every part registered; MesochatError naming the part that fails to import."""
    app = typer.Typer(
        name="mesochat",
        help="Citation-grounded assistant over the 2026 review of immunotherapy resistance in pleural "
        "mesothelioma.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for module, attr, kind, name in PARTS:
        try:
            part = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            detail = " ".join(str(exc).split())
            raise MesochatError(
                f"cannot load the `{name}` command from {module} ({type(exc).__name__}: {detail}); "
                "reinstall with `make install`"
            ) from exc
        if kind == "group":
            app.add_typer(part, name=name)
        else:
            app.command(name)(part)
    return app


def main() -> None:
    try:
        build_app()()
    except MesochatError as err:
        print(f"mesochat: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("mesochat: interrupted", file=sys.stderr)
        sys.exit(130)
