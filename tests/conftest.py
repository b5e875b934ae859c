"""Shared session fixtures: the review corpus indexed once, and a real `chroma run` server.

Fixtures
- ``review_home``: Path of a data directory with the built-in corpus indexed (embedded Chroma,
  default Config). Shared by the whole session: treat it as read-only (copy it with
  ``copy_home`` to change anything).
- ``chroma_server``: URL (http://127.0.0.1:PORT) of a Chroma server started for the session.
- ``make_settings``: the function of the same name in tests/helpers.py, as a fixture.
Plain helpers (cli_env, copy_home, free_port, synthetic_documents, ...) live in tests/helpers.py.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import indexing  # noqa: F401  (sets the offline environment first)
from tests import embed_cache
from tests.helpers import VENV_BIN, cli_env, copy_home, free_port, make_settings

# Real MiniLM vectors, computed once and shared by test sessions (tests/embed_cache.py), here and in every
# subprocess (tests/site/sitecustomize.py); tests that time or kill the embedding step set it empty.
os.environ.setdefault("MESOCHAT_EMBED_CACHE", "/tmp/mesochat-test-embed-cache")
if os.environ["MESOCHAT_EMBED_CACHE"]:
    embed_cache.install(os.environ["MESOCHAT_EMBED_CACHE"])

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


# Fast unit tests vs slow real-component tests: whatever needs a built index, a server, a model or a browser
# is `slow` (`make test-fast` leaves it out; `make test` runs everything).
HEAVY_FIXTURES = {"review_home", "review_home_copy", "chroma_server", "llama_server", "assistant"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        heavy = HEAVY_FIXTURES & set(getattr(item, "fixturenames", ()))
        if heavy or item.get_closest_marker("llm") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
