"""Helpers shared by the tests: import as ``tests.helpers`` (benchmarks never import tests/).

- ``make_settings(home, **kw)``: a Config for a test data directory (flat option names, no env, no file).
- ``copy_home(src, dst)``: a private, writable copy of a data directory.
- ``cli_env(**extra)``: the environment for running `mesochat` in a subprocess.
- ``free_port()``, ``VENV_BIN``, ``REPO``; ``synthetic_documents(n, version)``: deterministic Documents and
  ``crash_at_checkpoint(name)``, both from benchmarks/crash_campaign.py (the crash campaign builds them too).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

from benchmarks.crash_campaign import crash_at_checkpoint, synthetic_documents  # noqa: F401  (re-exported)
from kernel.config import Config

REPO = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO / "test-output"  # screenshots and pictures tests leave for people to look at
# Debian's chromium, never a downloaded browser; the flags keep it off this machine's closed network.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VENV_BIN = Path(sys.executable).parent


def make_settings(home: str | Path, **kw) -> Config:
    """Config for a test data directory (flat option names, e.g. chunk_size=200); never reads a config
    file or the environment ($MESOCHAT_HOME, $MESOCHAT_CHROMA_URL, ...)."""
    return Config.load(config_file=None, environment=False, home=Path(home), **kw)


def copy_home(src: Path, dst: Path) -> Path:
    """A private, writable copy of a data directory (embedded Chroma included)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build.lock"))
    return dst


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for running `mesochat` in a subprocess: offline, no inherited data directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("MESOCHAT_HOME", "MESOCHAT_CHROMA_URL")}
    env.update(
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1",
        # tests/site/sitecustomize.py installs the test vector cache; worker scripts import tests.helpers
        PYTHONPATH=os.pathsep.join((str(REPO / "tests" / "site"), str(REPO))),
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
