"""Shared settings of the hardening tests (fuzz, faults, security, huge inputs).

Imported by those test modules (not a pytest conftest, which the indexing helper owns):

- hypothesis profiles: ``ci`` (the default here) keeps every property test bounded so the suite stays
  fast on two shared cores; ``HYPOTHESIS_PROFILE=deep`` runs ten times more examples when hunting bugs.
- ``FuzzCounter``: counts the examples each property test really ran and writes the totals to
  ``test-output/hardening-fuzz.json`` (the "fuzz cases run" figure of the hardening report).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "test-output"

# Bounded and deterministic: derandomize makes a CI failure reproducible from the log alone.
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "deep",
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """A test's own example budget, scaled like the profile (x10 under ``deep``)."""
    return n * 10 if PROFILE == "deep" else n


class FuzzCounter:
    """Examples run per property test; ``dump()`` merges them into test-output/hardening-fuzz.json."""

    def __init__(self, name: str):
        self.name = name
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def hit(self, test: str) -> None:
        with self._lock:
            self.counts[test] += 1

    def dump(self) -> dict[str, int]:
        OUTPUT.mkdir(exist_ok=True)
        path = OUTPUT / "hardening-fuzz.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        data[self.name] = dict(self.counts)
        data["total"] = sum(sum(v.values()) for k, v in data.items() if isinstance(v, dict))
        path.write_text(json.dumps(data, indent=1, sort_keys=True))
        print(f"\nfuzz cases run ({self.name}): {sum(self.counts.values())} {dict(self.counts)}")
        return dict(self.counts)
