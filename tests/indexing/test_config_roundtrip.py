"""What shaped an index is read back from its manifest: after `index --rebuild --chunk-size 200`, a plain
`index` and `ask` use 200 (they used to refuse, or silently assume the default)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import VENV_BIN, cli_env

pytestmark = pytest.mark.slow


def mesochat(*args: str) -> subprocess.CompletedProcess:
    exe = VENV_BIN / "mesochat"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mesochat"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=900, env=cli_env(), check=False
    )


def test_rebuild_with_another_chunk_size_then_plain_index_and_ask(tmp_path):
    home = str(tmp_path / "home")
    built = mesochat("index", "--rebuild", "--chunk-size", "200", "--home", home, "-q")
    assert built.returncode == 0, built.stderr
    manifest = json.loads((tmp_path / "home" / "index" / "mesochat" / "manifest.json").read_text())
    assert manifest["chunk_size"] == 200 and manifest["config"]["chunking.size"] == 200

    plain = mesochat("index", "--home", home, "-q")
    assert plain.returncode == 0, plain.stderr
    assert "Index up to date" in plain.stdout  # same chunks: nothing re-embedded

    shown = json.loads(mesochat("config", "show", "--home", home, "--json").stdout)
    assert shown["chunking.size"] == {"value": 200, "source": "index manifest"}

    asked = mesochat("ask", "What is ADI-PEG 20?", "--home", home, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and answer["citations"]
    assert answer["provenance"]["index"]["manifest_hash"]

    # Asking for another size explicitly is a conflict with the index, said in one line.
    other = mesochat("index", "--chunk-size", "160", "--home", home, "-q")
    assert other.returncode == 2
    assert "chunk_size=200" in other.stderr and "--rebuild" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
