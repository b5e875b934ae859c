"""Abstention calibration: the threshold choice on known scores, and the file the answer engine reads."""

from __future__ import annotations

import json

import pytest

from assistant import calibration as ac
from evals import calibrate_abstention as cal
from kernel import config as kc


def row(score: float, answerable: bool, direct: bool = False) -> dict:
    return {"id": f"q{score}", "answerable": answerable, "score": score, "direct": direct, "question": "?"}


SEPARABLE = [row(s, True) for s in (0.62, 0.7, 0.81, 0.9, 1.1)] + [row(s, False) for s in (0.2, 0.31, 0.4)]


def test_separable_scores_give_the_middle_of_the_gap():
    threshold, how = cal.choose(SEPARABLE)
    assert how == "both goals met"
    assert threshold == round((0.4 + 0.62) / 2, 3)
    assert cal.rates(SEPARABLE, threshold) == (0.0, 1.0)


def test_direct_lookups_never_abstain():
    assert cal.rates([row(0.0, True, direct=True)], 0.5) == (0.0, 0.0)


def test_overlapping_scores_minimise_weighted_errors():
    # An unanswerable question outscores an answerable one: no threshold meets both goals.
    scored = [row(0.5, True), row(0.8, True), row(0.9, True), row(0.6, False), row(0.3, False)]
    threshold, how = cal.choose(scored)
    assert how.startswith("goals not both reachable")
    abstained_answerable, abstained_unanswerable = cal.rates(scored, threshold)
    # Missing one of three answerable (cost 0.5/3) is cheaper than answering an unanswerable one (0.5).
    assert 0.6 < threshold <= 0.8
    assert abstained_unanswerable == 1.0 and abstained_answerable == pytest.approx(1 / 3)


def test_main_writes_the_threshold_the_answer_engine_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(cal, "ensure_home", lambda home: tmp_path)
    monkeypatch.setattr(cal, "score_questions", lambda home, rows: SEPARABLE)
    calibration, details = tmp_path / "calibration.json", tmp_path / "details.json"
    assert cal.main(["--calibration", str(calibration), "--out", str(details), "--no-own"]) == 0
    written = json.loads(calibration.read_text())
    assert written["threshold"] == json.loads(details.read_text())["threshold"] == 0.51
    monkeypatch.setattr(ac, "CALIBRATION_FILE", calibration)
    config = ac.with_calibration(kc.Config.load(config_file=None, environment=False))
    assert config.answer.abstain_threshold == 0.51


def test_the_committed_calibration_matches_its_recorded_run():
    committed = json.loads(ac.CALIBRATION_FILE.read_text())
    details = json.loads((kc.REPO / committed["details"]).read_text())
    assert committed["threshold"] == details["threshold"]
    assert cal.choose(details["scores"])[0] == details["threshold"]
