"""The abstention threshold nobody set comes from assistant/calibration.json (the kernel does not read it)."""

from __future__ import annotations

import json

import pytest

from assistant import calibration as ac
from kernel.config import Config
from kernel.errors import MesochatError


def test_abstention_threshold_comes_from_the_calibration_file(tmp_path, monkeypatch):
    recorded = json.loads(ac.CALIBRATION_FILE.read_text(encoding="utf-8"))["threshold"]
    plain = Config.load(config_file=None, environment=False)
    filled = ac.with_calibration(plain)
    assert filled.answer.abstain_threshold == recorded
    assert filled.source("answer.abstain_threshold") == ac.SOURCE
    other = tmp_path / "calibration.json"
    other.write_text(json.dumps({"threshold": 0.123}), encoding="utf-8")
    monkeypatch.setattr(ac, "CALIBRATION_FILE", other)
    assert ac.with_calibration(plain).answer.abstain_threshold == 0.123
    chosen = Config.load(config_file=None, environment=False, threshold=0.3)
    assert ac.with_calibration(chosen).answer.abstain_threshold == 0.3  # a chosen value wins
    assert ac.with_calibration(chosen).source("answer.abstain_threshold") == "option --threshold"
    monkeypatch.setattr(ac, "CALIBRATION_FILE", tmp_path / "missing.json")
    with pytest.raises(MesochatError, match="calibrate_abstention"):
        ac.with_calibration(plain)
