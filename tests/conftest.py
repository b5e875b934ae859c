"""Shared session fixtures: the review corpus indexed once, and a real `chroma run` server.

Fixtures
- ``review_home``: Path of a data directory with the built-in corpus indexed (embedded Chroma,
  default Config). Shared by the whole session: treat it as read-only (copy it with
  ``copy_home`` to change anything).
- ``chroma_server``: URL (http://127.0.0.1:PORT) of a Chroma server started for the session.
- ``make_settings(home, **kw)``: a Config for a test data directory (also a plain function).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import indexing  # noqa: F401  (sets the offline environment first)
from kernel.config import Config

# Real MiniLM vectors, computed once and shared by test sessions (see indexing/embedder.py);
# tests that time or kill the embedding step unset it for their subprocess.
os.environ.setdefault("MESOCHAT_EMBED_CACHE", "/tmp/mesochat-test-embed-cache")

REPO = Path(__file__).resolve().parents[1]
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
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1"
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session", name="make_settings")
def make_settings_fixture():
    return make_settings


@pytest.fixture(scope="session")
def review_home(tmp_path_factory) -> Path:
    """The built-in corpus indexed once per session (embedded Chroma). Read-only for tests."""
    from indexing.build import build_index

    home = tmp_path_factory.mktemp("review_home")
    build_index(make_settings(home), progress=False)
    return home


@pytest.fixture
def review_home_copy(review_home, tmp_path) -> Path:
    """A writable copy of ``review_home`` for tests that add or change documents."""
    return copy_home(review_home, tmp_path / "home")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """`chroma run` on a free local port for the session; yields its URL."""
    root = tmp_path_factory.mktemp("chroma_server")
    port = free_port()
    log_path = root / "server.log"
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(VENV_BIN / "chroma"),
                "run",
                "--path",
                str(root / "data"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=cli_env(),
            cwd=root,
        )
        try:
            _wait_for_heartbeat(proc, url, log_path)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_heartbeat(proc: subprocess.Popen, url: str, log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"chroma run exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(
                f"chroma run did not answer on {url} within {timeout:.0f} s: {log_path.read_text()[-2000:]}"
            )
        time.sleep(0.3)


_TOPICS = [
    "nivolumab",
    "ipilimumab",
    "pembrolizumab",
    "BAP1",
    "mesothelin",
    "CTLA-4",
    "PD-L1",
    "VISTA",
    "macrophages",
    "regulatory T cells",
    "chemotherapy",
    "pemetrexed",
    "bevacizumab",
    "CDKN2A",
    "interferon",
    "dendritic cells",
    "LAG-3",
    "TIM-3",
    "ferroptosis",
    "hypoxia",
]


def synthetic_documents(n: int, version: int = 0, words: int = 120):
    """Deterministic Documents (doc ids syn:0..n-1) with distinct topics per document.

    ``version`` k>0 rewrites every 5th document (by index offset k) so tests can see changes."""
    import random

    from kernel.documents import Document, Section

    docs = []
    for i in range(n):
        changed = version > 0 and i % 5 == version % 5
        rng = random.Random(i * 1000 + (version if changed else 0))
        topic = _TOPICS[i % len(_TOPICS)]
        sentences, count = [], 0
        while count < words:
            other = rng.choice(_TOPICS)
            s = (
                f"Cohort {i} received {topic} and {rng.randint(2, 90)} patients had {other} "
                f"measured at week {rng.randint(1, 52)}."
            )
            sentences.append(s)
            count += len(s.split())
        text = " ".join(sentences)
        docs.append(
            Document(
                doc_id=f"syn:{i}",
                title=f"Synthetic study {i} of {topic}",
                text=text,
                source_type="beir",
                sections=[Section("Abstract", 0, len(text))],
                metadata={"topic": topic},
            )
        )
    return docs
