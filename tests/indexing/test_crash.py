"""kill -9 the indexer at chosen and at random moments; readers never see a mix, reruns repair.

Every Chroma access happens in a subprocess (embedded Chroma is one process's database at a
time), on a copy of a committed version-1 index, while a build of version 2 is killed. Version 2
drops 5 documents, rewrites 9 and adds 10, so every kind of change is in flight.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexing.chunker import chunk_document
from tests.helpers import cli_env, synthetic_documents

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
WORKER = r"""
import json, sys
import indexing
from tests.helpers import make_settings, synthetic_documents
from indexing.build import build_index
from indexing.index import open_index
from indexing.store import ChromaStore

home, mode = sys.argv[2], sys.argv[3]
if len(sys.argv) > 4:  # the builder kills itself (SIGKILL) at this named point of indexing.build
    from tests.helpers import crash_at_checkpoint
    crash_at_checkpoint(sys.argv[4])
s = make_settings(home, chunk_size=40, embed_batch_size=4)  # groups of 16 chunks: several upserts


def state():
    index = open_index(s)
    probe = index.chunk_embeddings([sorted(index.chunks)[0]])[0]
    dense = [c for c, _ in index.dense_search(probe, 1000)]
    bm25 = [c for c, _ in index.bm25_search("cohort patients received measured week", 1000)]
    print(json.dumps({
        "manifest": sorted(index.chunks), "chroma": sorted(ChromaStore(s).all_ids()), "dense": dense,
        "bm25": bm25, "files": index.manifest["files"], "generation": index.manifest["generation"],
    }), flush=True)


if mode.startswith("check"):  # what a reader sees now (after a killed build)
    state()
if mode.endswith("v1") or mode.endswith("v2"):
    docs = synthetic_documents(40) if mode.endswith("v1") else synthetic_documents(50, version=1)[5:]
    r = build_index(s, progress=True, documents=docs)
    print(json.dumps({"embedded": r.chunks_embedded, "deleted": r.chunks_deleted}), flush=True)
    state()
"""


def ids_of(docs) -> list[str]:
    return sorted(c.id for d in docs for c in chunk_document(d, 40, 1))


V1 = ids_of(synthetic_documents(40))
V2 = ids_of(synthetic_documents(50, version=1)[5:])
NEW_IN_V2 = sorted(set(V2) - set(V1))


def run(script: Path, home: Path, mode: str, crash_at: str | None = None) -> list[dict]:
    env = cli_env()
    p = subprocess.run(
        [sys.executable, str(script), str(TESTS), str(home), mode, *([crash_at] if crash_at else [])],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if crash_at:
        assert p.returncode == -signal.SIGKILL, p.stderr[-3000:]
        return []
    assert p.returncode == 0, p.stderr[-3000:]
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def assert_consistent(state: dict) -> str:
    """The reader exposes exactly version 1 or exactly version 2; returns which."""
    committed = state["manifest"]
    assert committed in (V1, V2)
    assert set(state["chroma"]) >= set(committed)  # nothing committed is missing
    for hits in (state["dense"], state["bm25"]):
        assert len(hits) == len(set(hits)) and set(hits) <= set(committed)  # no orphans, no duplicates
    assert len(state["dense"]) == len(committed)
    return "v1" if committed == V1 else "v2"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    script = root / "worker.py"
    script.write_text(WORKER)
    v1_home = root / "v1"
    _, state = run(script, v1_home, "v1")
    assert state["manifest"] == V1 == state["chroma"]
    clean_home = root / "clean_v2"
    shutil.copytree(v1_home, clean_home)
    report, clean = run(script, clean_home, "v2")
    assert report["embedded"] == len(NEW_IN_V2) and clean["manifest"] == V2 == clean["chroma"]
    return script, v1_home, clean


def assert_final(home: Path, final: dict, clean: dict) -> None:
    assert final["manifest"] == final["chroma"] == V2  # exact ids: no orphans left, none missing
    assert final["files"] == clean["files"]  # same chunks.jsonl and docs.jsonl as a clean build
    gens = [p.name for p in (home / "index" / "mesochat").iterdir() if "gen-" in p.name]
    assert gens == [final["generation"]]  # half-written and superseded generations are gone


@pytest.mark.parametrize(
    "point, visible, rerun_embeds",
    [
        ("embedding", "v1", len(NEW_IN_V2) - 16),  # killed after the first group of 16 was upserted
        ("before_manifest", "v1", 0),  # everything embedded and written, not committed
        ("after_manifest", "v2", 0),  # committed, stale vectors not yet deleted
        ("deleting", "v2", 0),  # killed between delete batches
    ],
)
def test_kill_at_checkpoint_then_rerun(work, tmp_path, point, visible, rerun_embeds):
    script, v1_home, clean = work
    home = tmp_path / "home"
    shutil.copytree(v1_home, home)
    run(script, home, "v2", crash_at=point)
    state, report, final = run(script, home, "check+v2")
    assert assert_consistent(state) == visible
    if point != "embedding":
        assert set(state["chroma"]) >= set(V2)  # the killed build's vectors are there, only hidden
    assert report["embedded"] == rerun_embeds
    assert_final(home, final, clean)


def test_kill_at_random_moments(work, tmp_path):
    """SIGKILL from outside at several delays after the build began; each time a reader sees one
    whole version, and the last run leaves exactly what a clean build leaves."""
    script, v1_home, clean = work
    home = tmp_path / "home"
    shutil.copytree(v1_home, home)
    rng = random.Random(7)
    seen = []
    for delay in (rng.uniform(0.0, 0.4), rng.uniform(0.4, 1.2)):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(TESTS), str(home), "check+v2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
        )
        seen.append(assert_consistent(json.loads(proc.stdout.readline())))
        deadline = time.monotonic() + 300
        for line in proc.stderr:  # the build has begun
            if b"Reading documents" in line or time.monotonic() > deadline:
                break
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    state, _report, final = run(script, home, "check+v2")
    seen.append(assert_consistent(state))
    assert_final(home, final, clean)
    assert seen[0] == "v1"
