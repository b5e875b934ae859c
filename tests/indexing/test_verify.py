"""Reachability: `mesochat index --verify` and the check every build ends with (indexing/verify.py).

A vector is reachable when a dense query with its own stored vector returns it. The broken index here is a real
one: ``tests.helpers.make_unreachable`` leaves chunks in embedded Chroma's metadata segment (``get()`` returns
them) but out of its HNSW segment (``query()`` never does), and the test checks that this is so before
asserting anything about mesochat. Against a `chroma run` server, the server is SIGKILLed mid-build, restarted,
and `mesochat index` must end with every id reachable.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli_env, copy_home, free_port, make_unreachable

pytestmark = pytest.mark.slow

MESOCHAT = str(Path(sys.executable).parent / "mesochat")
TESTS = Path(__file__).resolve().parent


def mesochat(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MESOCHAT, "index", *args], capture_output=True, text=True, env=cli_env(COLUMNS="250"),
                          timeout=900, check=False)


def one_error_line(p: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("mesochat: error:")]
    assert len(lines) == 1, p.stderr[-3000:]
    return lines[0]


def committed_ids(home: Path) -> list[str]:
    index_dir = home / "index" / "mesochat"
    gen = json.loads((index_dir / "manifest.json").read_text())["generation"]
    return [json.loads(ln)["id"] for ln in (index_dir / gen / "chunks.jsonl").read_text().splitlines() if ln]


WITNESS = r"""
import json, sys
import numpy as np, chromadb
from chromadb.config import Settings
col = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False)).get_collection("mesochat")
ids = json.loads(sys.argv[2])
got = col.get(ids=ids, include=[])["ids"]
n = col.count()
found = set()
for seed in range(3):  # every record the HNSW segment holds, from three directions
    q = np.random.default_rng(seed).normal(size=(1, 384)).astype(np.float32)
    found.update(col.query(query_embeddings=q, n_results=n, include=[])["ids"][0])
print(json.dumps({"get": sorted(got), "query": sorted(found & set(ids)), "count": n, "found": len(found)}))
"""


def chroma_sees(home: Path, ids: list[str], tmp_path: Path) -> dict:
    """What Chroma itself says of ``ids`` in a fresh process: which get() returns, which a full query returns."""
    script = tmp_path / "witness.py"
    script.write_text(WITNESS)
    p = subprocess.run([sys.executable, str(script), str(home / "chroma"), json.dumps(ids)], capture_output=True,
                       text=True, env=cli_env(), timeout=300, check=False)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout)


def test_verify_passes_on_a_fresh_index_fails_on_an_unreachable_vector_and_index_repairs(review_home, tmp_path):
    home = copy_home(review_home, tmp_path / "home")
    ids = committed_ids(home)
    p = mesochat("--home", str(home), "--verify")
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip().startswith(f"Index verified: {len(ids)} vectors, all reachable"), p.stdout

    broken = [ids[3], ids[len(ids) // 2], ids[-1]]
    make_unreachable(home, broken)
    seen = chroma_sees(home, broken, tmp_path)
    assert seen["get"] == sorted(broken), seen  # Chroma's get() still returns them ...
    assert seen["query"] == [] and seen["found"] == len(ids) - len(broken), seen  # ... its query() never does

    p = mesochat("--home", str(home), "--verify")
    assert p.returncode == 2, (p.stdout, p.stderr[-3000:])
    line = one_error_line(p)
    assert f"3 of {len(ids)} vectors unreachable" in line and "mesochat index" in line, line
    assert any(i in line for i in broken), line

    p = mesochat("--home", str(home), "--quiet")  # the build's own check finds and repairs them
    assert p.returncode == 0, p.stderr[-3000:]
    assert f"{len(ids)} vectors, all reachable (repaired 3" in p.stdout, p.stdout
    p = mesochat("--home", str(home), "--verify")
    assert p.returncode == 0 and "all reachable" in p.stdout, (p.stdout, p.stderr[-3000:])
    assert chroma_sees(home, broken, tmp_path)["query"] == sorted(broken)


def test_verify_without_an_index_is_one_line(tmp_path):
    p = mesochat("--home", str(tmp_path / "empty"), "--verify")
    assert p.returncode == 2
    assert "run `mesochat index`" in one_error_line(p)
    p = mesochat("--home", str(tmp_path / "empty"), "--verify", "--rebuild")
    assert p.returncode == 2 and "--verify only checks" in one_error_line(p)


# --- Chroma server killed mid-build ----------------------------------------------------------------------------

KILL_SERVER_WORKER = r"""
import os, signal, sys
import indexing
import indexing.build
from tests.helpers import make_settings
from kernel.errors import MesochatError

home, url, server_pid = sys.argv[2], sys.argv[3], int(sys.argv[4])
s = make_settings(home, chroma_url=url, embed_batch_size=16)  # upserts of 64 chunks: several before the kill
upserts = []


def checkpoint(point):
    if point == "embedding":
        upserts.append(point)
        if len(upserts) == 2:  # two groups written: the server dies in the middle of the build
            os.kill(server_pid, signal.SIGKILL)
            print("SERVER-KILLED", flush=True)


indexing.build._checkpoint = checkpoint
try:
    indexing.build.build_index(s, progress=False)
except MesochatError as err:
    print("ERROR", err, flush=True)
    sys.exit(2)
print("FINISHED", flush=True)
"""


def test_chroma_server_killed_mid_build_then_index_repairs_every_id(tmp_path):
    from tests.indexing.test_faults import start_chroma

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data, log = tmp_path / "chroma-data", tmp_path / "chroma.log"
    home = tmp_path / "home"
    server = start_chroma(data, port, log)
    try:
        script = tmp_path / "worker.py"
        script.write_text(KILL_SERVER_WORKER)
        p = subprocess.run([sys.executable, str(script), str(TESTS), str(home), url, str(server.pid)],
                           capture_output=True, text=True, env=cli_env(), timeout=900, check=False)
        assert "SERVER-KILLED" in p.stdout, (p.stdout, p.stderr[-3000:])
        assert p.returncode == 2 and "ERROR" in p.stdout and "Traceback" not in p.stderr, (p.stdout, p.stderr[-3000:])
        assert "\n" not in p.stdout.split("ERROR", 1)[1].strip()  # one line naming the server and the fix
        assert url in p.stdout
        server.wait()
        assert not (home / "index" / "mesochat" / "manifest.json").exists()  # nothing was committed

        server = start_chroma(data, port, log)  # same path, same port
        p = mesochat("--home", str(home), "--chroma-url", url, "--quiet")
        assert p.returncode == 0, p.stderr[-3000:]
        n = len(committed_ids(home))
        assert f"{n} in the index" in p.stdout and f"{n} vectors, all reachable" in p.stdout, p.stdout
        p = mesochat("--home", str(home), "--chroma-url", url, "--verify")
        assert p.returncode == 0 and f"Index verified: {n} vectors, all reachable" in p.stdout, (p.stdout, p.stderr)

        # and once more after a restart of the server with the index committed (chroma-core/chroma#7090)
        server.send_signal(signal.SIGKILL)
        server.wait()
        server = start_chroma(data, port, log)
        p = mesochat("--home", str(home), "--chroma-url", url, "--verify")
        assert p.returncode == 0 and f"{n} vectors, all reachable" in p.stdout, (p.stdout, p.stderr)
    finally:
        server.kill()
        server.wait()
