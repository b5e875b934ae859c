"""Helpers shared by the tests (and the benchmarks that reuse them): import as ``tests.helpers``.

- ``make_settings(home, **kw)``: a Config for a test data directory (flat option names, no env, no file).
- ``copy_home(src, dst)``: a private, writable copy of a data directory.
- ``cli_env(**extra)``: the environment for running `mesochat` in a subprocess.
- ``free_port()``, ``VENV_BIN``, ``REPO``; ``synthetic_documents(n, version)``: deterministic Documents.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

from benchmarks.crash_campaign import CpuLoad, crash_at_checkpoint, synthetic_documents  # noqa: F401  (re-exported)
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


def make_unreachable(home: str | Path, ids: list[str]) -> None:
    """Leave ``ids`` in embedded Chroma's metadata segment (``get()`` returns them) but not in its vector segment
    (``query()`` never does): the state chroma-core/chroma#7758 and #7090 describe, and a process killed between
    Chroma's two writes can leave.

    Embedded Chroma 1.5.9 keeps every write in its write-ahead log (``embeddings_queue`` in chroma.sqlite3) and
    rebuilds the HNSW segment from that log when the segment directory is gone. Removing the ids' log entries and
    the segment directory therefore makes the next process rebuild an HNSW index without them, while the metadata
    segment (table ``embeddings``) still holds them. Call it with no process holding the database open."""
    import sqlite3

    chroma = Path(home) / "chroma"
    con = sqlite3.connect(chroma / "chroma.sqlite3")
    try:
        vector_segments = [r[0] for r in con.execute("SELECT id FROM segments WHERE scope = 'VECTOR'")]
        with con:
            con.executemany("DELETE FROM embeddings_queue WHERE id = ?", [(i,) for i in ids])
            # the vector segment's own log position, when it has one: replay the (remaining) log from the start
            con.executemany("DELETE FROM max_seq_id WHERE segment_id = ?", [(s,) for s in vector_segments])
    finally:
        con.close()
    for segment in vector_segments:
        shutil.rmtree(chroma / segment, ignore_errors=True)
