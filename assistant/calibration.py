"""The calibrated abstention threshold: ``assistant/calibration.json``, written by evals/calibrate_abstention.py.

kernel.config leaves ``answer.abstain_threshold`` unset (None) unless a config file, the environment or an option
sets it; the assistant fills it from this file (``with_calibration``), and ``mesochat config show`` shows the
value with this file as its source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kernel.errors import MesochatError

CALIBRATION_FILE = Path(__file__).resolve().parent / "calibration.json"
SOURCE = "calibration assistant/calibration.json"


def calibrated_threshold() -> float:
    """The abstention threshold written by evals/calibrate_abstention.py (assistant/calibration.json)."""
    try:
        return float(json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MesochatError(
            f"The calibration file {CALIBRATION_FILE} is missing or unreadable ({type(exc).__name__}); "
            "run `python evals/calibrate_abstention.py`"
        ) from exc


def with_calibration(config: Any) -> Any:
    """``config`` (a kernel.config.Config) with ``answer.abstain_threshold`` set: the calibrated value when
    nothing chose one (its source then reads ``calibration assistant/calibration.json``)."""
    if config.answer.abstain_threshold is not None:
        return config
    answer = config.answer.model_copy(update={"abstain_threshold": calibrated_threshold()})
    sources = dict(config.sources) | {"answer.abstain_threshold": SOURCE}
    return config.model_copy(update={"answer": answer, "sources": sources})
