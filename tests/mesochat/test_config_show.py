"""`mesochat config show`: the abstention threshold nobody set reads as the assistant's calibrated one."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from assistant import calibration as ac
from mesochat.config_cli import app


def test_config_show_gives_the_calibrated_threshold_and_its_source(tmp_path):
    result = CliRunner().invoke(app, ["--json", "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)["answer.abstain_threshold"]
    assert row == {"value": ac.calibrated_threshold(), "source": ac.SOURCE}
