"""Thumbs up/down on an answer, appended as one JSON line to ``config.paths.feedback_file``.

A line holds what is needed to review the answer later (question, answer, citations, provenance)
and nothing secret: provenance comes from ``Answer.to_dict()``, whose LLM part is the public config.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.errors import MesochatError

MAX_COMMENT_CHARS = 2000
_SECRET_KEYS = {"api_key", "llm_api_key", "authorization", "password", "token"}
_lock = threading.Lock()  # one writer at a time so concurrent lines never interleave


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if str(k).lower() in _SECRET_KEYS else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def feedback_entry(answer: Any, rating: str, comment: str = "") -> dict[str, Any]:
    if rating not in ("up", "down"):
        raise MesochatError(f"Feedback rating must be 'up' or 'down', not {rating!r}")
    data = answer.to_dict() if hasattr(answer, "to_dict") else dict(answer)
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": rating,
        "comment": (comment or "").strip()[:MAX_COMMENT_CHARS],
        "question": data.get("question"),
        "rewritten_query": data.get("rewritten_query"),
        "answer": data.get("answer"),
        "abstained": data.get("abstained"),
        "mode": data.get("mode"),
        "citations": data.get("citations", []),
        "provenance": _scrub(data.get("provenance", {})),
    }


def record_feedback(path: Path, answer: Any, rating: str, comment: str = "") -> dict[str, Any]:
    """Append one feedback line; returns the entry written."""
    entry = feedback_entry(answer, rating, comment)
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError as exc:
        raise MesochatError(f"Cannot write feedback to {path} ({exc.strerror}); check the data directory") from exc
    return entry
