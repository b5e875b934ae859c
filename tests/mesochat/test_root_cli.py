"""The root `mesochat` command: every part registered, and a part that cannot load is a one-line error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kernel.errors import MesochatError
from mesochat import cli

COMMANDS = ("corpus", "index", "ask", "chat", "ui", "eval")


def test_every_part_is_registered():
    app = cli.build_app()
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert set(COMMANDS) <= names


def test_a_part_that_fails_to_import_is_an_error(monkeypatch):
    monkeypatch.setattr(cli, "PARTS", [*cli.PARTS, ("mesochat.no_such_module", "app", "group", "broken")])
    with pytest.raises(MesochatError, match="cannot load the `broken` command from mesochat.no_such_module"):
        cli.build_app()


def test_a_missing_attribute_is_an_error(monkeypatch):
    monkeypatch.setattr(cli, "PARTS", [("indexing.cli", "no_such_command", "command", "index")])
    with pytest.raises(MesochatError, match="no_such_command"):
        cli.build_app()


def test_broken_part_exits_2_with_one_line(tmp_path):
    # A real process whose `corpus.cli` cannot be imported: the whole command must fail loudly.
    script = (
        "import sys; sys.modules['corpus.cli'] = None\n"
        "from mesochat.cli import main\n"
        "sys.argv = ['mesochat', '--help']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mesochat: error: cannot load the `corpus` command")


def test_help_lists_every_command():
    proc = subprocess.run(
        [sys.executable, "-m", "mesochat", "--help"], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    for name in COMMANDS:
        assert name in proc.stdout
