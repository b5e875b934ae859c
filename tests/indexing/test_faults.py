"""Faults: the indexer killed at random moments, a full or read-only disk, damaged index files, and the
Chroma server dying mid-conversation. Each time the user gets one line saying what to do, the committed
index keeps answering, and the next run repairs.

Everything runs against the real parts: embedded Chroma on disk, `chroma run` servers, real MiniLM,
real SIGKILL, real tmpfs mounts (ENOSPC, read-only remount; an RLIMIT_FSIZE fallback where mounting
is not allowed).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from indexing.chunker import chunk_document
from kernel.errors import MesochatError
from tests.helpers import VENV_BIN, cli_env, copy_home, free_port, make_settings, synthetic_documents

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
OUTPUT = TESTS.parent / "test-output"
CHUNK_SIZE = 40


# --- helpers -----------------------------------------------------------------------------------------------


def one_line_error(stderr: str) -> str:
    """The CLI's error line; fails when a traceback or several error lines reached the user."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [ln for ln in stderr.splitlines() if ln.startswith("mesochat: error:")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def mesochat(*args: str, env: dict | None = None, timeout: float = 600, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "mesochat"), *args], check=False, capture_output=True, text=True,
                          env=env or cli_env(), timeout=timeout, preexec_fn=preexec)


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    """A small tmpfs at ``path`` (skips the test when this machine does not allow mounting)."""
    path.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=False, capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({p.stderr.strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fill_disk(directory: Path) -> Path:
    """Write zeros until the filesystem is full; returns the filler file."""
    filler = directory / "filler.bin"
    block = b"\0" * (1 << 20)
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(block)
                fh.flush()
        except OSError:
            pass
    with contextlib.suppress(OSError), open(filler, "ab") as fh:  # the last few KB too
        while True:
            fh.write(b"\0" * 512)
            fh.flush()
    return filler


def answers_like_before(home: Path, want_ids: set[str]) -> None:
    """The committed index opens and both searches return only its chunks."""
    from indexing.index import open_index

    index = open_index(make_settings(home))
    assert set(index.chunks) == want_ids
    dense = [c for c, _ in index.dense_search("nivolumab and ipilimumab in mesothelioma", 5)]
    bm25 = [c for c, _ in index.bm25_search("nivolumab ipilimumab", 5)]
    assert dense and bm25 and set(dense) | set(bm25) <= want_ids


# --- damaged index files ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_home(tmp_path_factory):
    """A committed index of 12 synthetic documents (embedded Chroma), to copy and damage."""
    from indexing.build import build_index

    home = tmp_path_factory.mktemp("faults") / "small"
    build_index(make_settings(home, chunk_size=CHUNK_SIZE), progress=False, documents=synthetic_documents(12))
    return home


def _gen(home: Path) -> Path:
    index_dir = home / "index" / "mesochat"
    return index_dir / json.loads((index_dir / "manifest.json").read_text())["generation"]


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    i = min(len(data) - 1, int(len(data) * at))
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "manifest_garbage": lambda h: (h / "index/mesochat/manifest.json").write_bytes(os.urandom(300)),
    "manifest_truncated": lambda h: (h / "index/mesochat/manifest.json").write_bytes(
        (h / "index/mesochat/manifest.json").read_bytes()[:100]),
    "manifest_not_a_dict": lambda h: (h / "index/mesochat/manifest.json").write_text("[1, 2, 3]"),
    "manifest_missing_key": lambda h: (h / "index/mesochat/manifest.json").write_text(json.dumps(
        {k: v for k, v in json.loads((h / "index/mesochat/manifest.json").read_text()).items() if k != "generation"})),
    "generation_missing": lambda h: shutil.rmtree(_gen(h)),
    "chunks_bitflip": lambda h: _flip(_gen(h) / "chunks.jsonl"),
    "docs_truncated": lambda h: (_gen(h) / "docs.jsonl").write_bytes((_gen(h) / "docs.jsonl").read_bytes()[:50]),
    "bm25_params_garbage": lambda h: (_gen(h) / "bm25/params.index.json").write_bytes(b"{not json"),
    "bm25_vocab_truncated": lambda h: (_gen(h) / "bm25/vocab.index.json").write_bytes(
        (_gen(h) / "bm25/vocab.index.json").read_bytes()[:20]),
    "bm25_data_garbage": lambda h: (_gen(h) / "bm25/data.csc.index.npy").write_bytes(os.urandom(64)),
    "bm25_indptr_missing": lambda h: (_gen(h) / "bm25/indptr.csc.index.npy").unlink(),
    "bm25_dir_missing": lambda h: shutil.rmtree(_gen(h) / "bm25"),
    "bm25_scores_bitflip": lambda h: _flip(_gen(h) / "bm25/data.csc.index.npy", 0.9),
}


@pytest.mark.parametrize("damage", sorted(CORRUPTIONS))
def test_damaged_index_is_detected_and_rebuild_repairs(small_home, tmp_path, damage):
    from indexing.build import build_index
    from indexing.index import open_index

    home = copy_home(small_home, tmp_path / "home")
    s = make_settings(home, chunk_size=CHUNK_SIZE)
    want = set(open_index(s).chunks)
    CORRUPTIONS[damage](home)
    with pytest.raises(MesochatError) as err:
        open_index(s)
    msg = str(err.value)
    assert "\n" not in msg and "mesochat index --rebuild" in msg, msg
    build_index(s, rebuild=True, progress=False, documents=synthetic_documents(12))
    assert set(open_index(s).chunks) == want


def test_damaged_manifest_via_cli_is_one_line(small_home, tmp_path):
    home = copy_home(small_home, tmp_path / "home")
    (home / "index/mesochat/manifest.json").write_bytes(b"\x00garbage")
    for args in (["index", "--stats"], ["index", "--quiet"]):
        p = mesochat(*args, "--home", str(home), "--chunk-size", str(CHUNK_SIZE))
        assert p.returncode == 2
        assert "mesochat index --rebuild" in one_line_error(p.stderr)


# --- full disk and read-only data directory --------------------------------------------------------------

NOTE = "Zebrafish QZX-17 marker note. The fictional QZX-17 marker was measured in 12 zebrafish cohorts.\n" * 40


def _indexed_ids(home: Path) -> set[str]:
    index_dir = home / "index" / "mesochat"
    manifest = json.loads((index_dir / "manifest.json").read_text())
    lines = (index_dir / manifest["generation"] / "chunks.jsonl").read_text().splitlines()
    return {json.loads(ln)["id"] for ln in lines if ln}


def test_full_disk_is_one_line_and_old_index_answers(review_home, tmp_path):
    mnt = tmp_path / "disk"
    with tmpfs(mnt, "48m"):
        home = copy_home(review_home, mnt / "home")
        before = _indexed_ids(home)
        note = tmp_path / "note.txt"
        note.write_text(NOTE)
        filler = fill_disk(mnt)
        p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet")
        assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
        line = one_line_error(p.stderr)
        assert "space" in line.lower() or "full" in line.lower(), line
        filler.unlink()  # the user frees space: the old index must still be whole
        answers_like_before(home, before)
        p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet")
        assert p.returncode == 0, p.stderr[-2000:]
        assert len(_indexed_ids(home)) > len(before)


def test_file_size_limit_is_one_line(small_home, tmp_path):
    """Fallback for machines without mount: RLIMIT_FSIZE makes every large write fail with EFBIG."""
    home = copy_home(small_home, tmp_path / "home")
    before = _indexed_ids(home)
    note = tmp_path / "note.txt"
    note.write_text(NOTE * 50)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet",
                 "--chunk-size", str(CHUNK_SIZE), preexec=limit)
    assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
    one_line_error(p.stderr)
    assert _indexed_ids(home) == before


def test_read_only_data_dir_is_one_line_and_old_index_answers(review_home, tmp_path):
    mnt = tmp_path / "ro"
    with tmpfs(mnt, "64m"):
        home = copy_home(review_home, mnt / "home")
        before = _indexed_ids(home)
        note = tmp_path / "note.txt"
        note.write_text(NOTE)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        p = mesochat("index", "--home", str(home), "--add", str(note), "--quiet")
        assert p.returncode == 2, (p.returncode, p.stderr[-2000:])
        line = one_line_error(p.stderr)
        assert "read-only" in line.lower() or "permission" in line.lower(), line
        subprocess.run(["mount", "-o", "remount,rw", str(mnt)], check=True)
        answers_like_before(home, before)


# --- indexer killed at random moments --------------------------------------------------------------------

WORKER = r"""
import json, os, random, subprocess, sys, time
import indexing
import indexing.store
from tests.helpers import make_settings, synthetic_documents
from indexing.build import build_index
from indexing.index import open_index
from indexing.store import ChromaStore
from indexing.verify import check_reachable

home, target, nxt, n_docs, crash_at = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
sync_threshold = int(sys.argv[7])
if sync_threshold:  # Chroma persists its HNSW segment every `sync_threshold` records: inside many more writes
    indexing.store.HNSW_CONFIGURATION["sync_threshold"] = sync_threshold
s = make_settings(home, chunk_size=40, embed_batch_size=4)  # upserts of 16 chunks: many Chroma writes
VERSIONS = {"a": lambda: synthetic_documents(n_docs, words=120),
            "b": lambda: synthetic_documents(n_docs, version=1, words=150)}


def chroma_markers():
    # CHROMA-IN/OUT around every Chroma write, so the parent knows whether its kill landed inside one; with
    # "in:<op>:<n>:<delay>" a separate process SIGKILLs this one <delay> s after the n-th <op> began (a thread of
    # this process could not: the call runs in Chroma's Rust code, which may hold the GIL).
    from chromadb.api.models.Collection import Collection

    plan = crash_at.split(":") if crash_at.startswith("in:") else None
    calls = {}
    for op in ("upsert", "delete"):
        original = getattr(Collection, op)

        def wrapped(self, *a, __op=op, __original=original, **kw):
            calls[__op] = calls.get(__op, 0) + 1
            print(f"CHROMA-IN {__op}", flush=True)
            if plan and plan[1] == __op and int(plan[2]) == calls[__op]:
                subprocess.Popen(["sh", "-c", f"sleep {float(plan[3]):.4f}; kill -9 {os.getpid()}"])
            result = __original(self, *a, **kw)
            print(f"CHROMA-OUT {__op}", flush=True)
            return result

        setattr(Collection, op, wrapped)


def state():
    try:
        index = open_index(s)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    ids = sorted(index.chunks)
    reach = check_reachable(index.store, ids)
    alive = [i for i in ids if i not in set(reach.lost)]
    probe = index.chunk_embeddings(alive[:1])[0] if alive else None
    dense = [c for c, _ in index.dense_search(probe, len(ids) + 50)] if alive else []
    gens = sorted(p.name for p in s.index_dir.iterdir() if "gen-" in p.name)
    return {"manifest": ids, "chroma": sorted(ChromaStore(s).all_ids()), "dense": dense,
            "unreachable": reach.unreachable, "verify_seconds": reach.seconds,
            "bm25_n": int(index.bm25.retriever.scores["num_docs"]), "files": index.manifest["files"], "gens": gens}


out = {"before": state() if (s.index_dir / "manifest.json").exists() else None}
if target != "-":
    t = time.perf_counter()
    r = build_index(s, progress=False, documents=VERSIONS[target]())
    reach = r.reachability
    out.update(repair_seconds=time.perf_counter() - t, embedded=r.chunks_embedded, deleted=r.chunks_deleted,
               repaired=reach.repaired, reembedded=reach.reembedded, vector_repair_seconds=reach.repair_seconds,
               repair_method=reach.method, after=state())
print(json.dumps(out), flush=True)
if nxt != "-":
    print("BUILD-START", flush=True)
    chroma_markers()
    if crash_at not in ("-",) and not crash_at.startswith("in:"):  # SIGKILL at a named point of indexing.build
        from tests.helpers import crash_at_checkpoint
        crash_at_checkpoint(crash_at)
    t = time.perf_counter()
    build_index(s, progress=True, documents=VERSIONS[nxt]())
    print(json.dumps({"build_seconds": time.perf_counter() - t}), flush=True)
    print("BUILD-DONE", flush=True)
    if crash_at == "-":
        time.sleep(600)  # wait to be killed: the kill came too late to land inside the build
"""


CONTENT_FILES = ("chunks.jsonl", "docs.jsonl")  # deterministic; the manifest also lists the BM25 files
CHECKPOINTS = ["before_manifest", "after_manifest", "deleting"]  # named SIGKILL points in indexing/build.py


def _version_ids(n_docs: int) -> dict[str, list[str]]:
    docs = {"a": synthetic_documents(n_docs, words=120), "b": synthetic_documents(n_docs, version=1, words=150)}
    return {v: sorted(c.id for d in ds for c in chunk_document(d, CHUNK_SIZE, 1)) for v, ds in docs.items()}


def _check_repaired(state: dict, want: list[str], files: dict | None) -> list[str]:
    problems = []
    if "error" in state:
        return [f"index unusable after the repair run: {state['error']}"]
    if state["manifest"] != want:
        problems.append("manifest ids differ from a clean build")
    if state["chroma"] != want:
        problems.append(f"chroma ids != manifest ids ({len(state['chroma'])} vs {len(want)})")
    if state["unreachable"]:
        problems.append(f"{len(state['unreachable'])} of {len(want)} vectors unreachable by a query with their own "
                        f"vector (e.g. {state['unreachable'][0]})")
    if state["bm25_n"] != len(want):
        problems.append(f"bm25 holds {state['bm25_n']} chunks, manifest {len(want)}")
    if len(state["dense"]) != len(set(state["dense"])) or set(state["dense"]) != set(want):
        problems.append("dense search returns duplicates or ids outside the manifest, or misses some")
    if len(state["gens"]) != 1:
        problems.append(f"{len(state['gens'])} generation directories left")
    if files is not None and {k: state["files"].get(k) for k in CONTENT_FILES} != {k: files.get(k) for k in CONTENT_FILES}:
        problems.append("chunks.jsonl/docs.jsonl differ from a clean build")
    return problems


def _check_reader(state: dict | None, ids: dict[str, list[str]]) -> list[str]:
    """What a reader sees right after the kill: one whole committed version, never a mix (vectors Chroma lost are
    counted apart: the repair run is there to bring them back)."""
    if state is None:
        return []
    if "error" in state:
        return [f"reader after kill: {state['error']}"]
    if state["manifest"] not in ids.values():
        return ["reader after kill sees a mix of versions"]
    if not set(state["chroma"]) >= set(state["manifest"]) or not set(state["dense"]) <= set(state["manifest"]):
        return ["reader after kill: committed vectors missing or uncommitted ids exposed"]
    return []


def _last_chroma_call(out: str) -> str | None:
    """The Chroma write a killed build was inside when it died (CHROMA-IN without its CHROMA-OUT), if any."""
    inside = None
    for line in out.splitlines():
        if line.startswith("CHROMA-IN "):
            inside = line.split()[1]
        elif line.startswith("CHROMA-OUT "):
            inside = None
    return inside


def run_crash_campaign(root: Path, runs: int, seed: int = 0, n_docs: int = 16, log=print,
                       sync_threshold: int = 0) -> dict:
    """``runs`` builds killed with SIGKILL; each followed by a repair run whose index is checked, reachability too.

    Two versions of ``n_docs`` synthetic documents (about 5 chunks each) alternate, so every build embeds,
    upserts, commits and deletes stale vectors. Kills: every 4th run at a named point around the manifest swap;
    every 4th (offset 1) inside a Chroma write (upsert or delete, SIGKILLed by a separate process a random few ms
    after the call began); the others after a random delay within the build. ``sync_threshold`` (Chroma's HNSW
    setting; 0 = Chroma's default of 1000) makes Chroma persist its vector segment inside more of those writes.
    Also used by benchmarks/crash_recovery.py."""
    ids = _version_ids(n_docs)
    script = root / "crash_worker.py"
    script.write_text(WORKER)
    # Real embedding (no test cache): kills must be able to land inside it. One torch thread per worker:
    # the machine is shared, and oversubscribed threads only slow every build down.
    env = cli_env(MESOCHAT_EMBED_CACHE="", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    home = root / "home"
    rng = random.Random(seed)

    def start(target: str, nxt: str, crash_at: str = "-") -> subprocess.Popen:
        return subprocess.Popen([sys.executable, str(script), str(TESTS), str(home), target, nxt, str(n_docs),
                                 crash_at, str(sync_threshold)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    # Calibrate: one whole clean build of each version gives the reference files and the build time.
    files, build_seconds = {}, []
    for target, nxt in (("-", "a"), ("b", "-"), ("a", "-")):
        proc = start(target, nxt)
        if nxt != "-":
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("BUILD-DONE"):
                    break
            proc.kill()
            proc.wait()
            build_seconds.append(json.loads(lines[-2])["build_seconds"])
        else:
            out, err = proc.communicate(timeout=900)
            assert proc.returncode == 0, err[-3000:]
            state = json.loads(out.splitlines()[0])
            files[target] = state["after"]["files"]
            build_seconds.append(state["repair_seconds"])
            assert not _check_repaired(state["after"], ids[target], None)
    # The fastest clean build bounds the delays: on a loaded machine slower builds only move kills earlier.
    window = min(build_seconds) * 1.1
    log(f"clean builds took {', '.join(f'{s:.1f}' for s in build_seconds)} s; killing within {window:.1f} s")

    survived, failures, phases, repairs = 0, [], {}, []
    incomplete_before = 0  # kills after which the committed index had vectors a query could not reach
    current, killed = "a", None  # killed: (version, stdout, stderr) of the last killed build

    def landed(report: dict) -> str:
        """Where the last kill landed, judged by what the killed build printed and its repair run found."""
        version, out, err = killed
        before = report["before"] or {}
        point = re.search(r"CHECKPOINT (\w+)", out)
        if point:
            return f"at checkpoint {point.group(1)}" + (" (not reached)" if "BUILD-DONE" in out else "")
        if "BUILD-DONE" in out:
            return "after the build had finished"
        inside = _last_chroma_call(out)
        if inside:
            return f"inside Chroma {inside}"
        if before.get("manifest") == ids[version]:
            return "after the manifest swap (stale-vector cleanup)"
        if report["embedded"]:
            return "embedding / Chroma upserts" if "Embedding" in err else "reading and chunking"
        return "after the upserts, before the manifest swap (generation write)"

    for run in range(runs + 1):
        last = run == runs
        nxt = "-" if last else ("b" if current == "a" else "a")
        # Repair to `current` (the version the killed build was writing), then build `nxt` and get killed.
        crash_at = "-"
        if not last and run % 4 == 3:
            crash_at = CHECKPOINTS[(run // 4) % len(CHECKPOINTS)]
        elif not last and run % 4 == 1:
            op = "upsert" if rng.random() < 0.7 else "delete"
            crash_at = f"in:{op}:1:{rng.uniform(0.0, 0.03):.4f}"
        proc = start(current if run else "-", nxt, crash_at)
        report = json.loads(proc.stdout.readline())
        if run:
            problems = _check_reader(report["before"], ids) + _check_repaired(report["after"], ids[current],
                                                                              files[current])
            phase = landed(report)
            phases[phase] = phases.get(phase, 0) + 1
            lost_before = len((report["before"] or {}).get("unreachable") or [])
            incomplete_before += bool(lost_before)
            survived += not problems
            repairs.append({"run": run, "landed": phase, "repair_seconds": round(report["repair_seconds"], 2),
                            "unreachable_before": lost_before, "vectors_repaired": report["repaired"],
                            "vector_repair_seconds": round(report["vector_repair_seconds"], 2),
                            "verify_seconds": round(report["after"].get("verify_seconds", 0.0), 3),
                            "ok": not problems})
            if problems:
                failures.append({"run": run, "problems": problems})
            fixed = (f", {report['repaired']} vectors unreachable -> {report['repair_method']} in "
                     f"{report['vector_repair_seconds']:.2f} s" if report["repaired"] else "")
            log(f"kill {run:2d} ({phase}): repair run {report['repair_seconds']:.1f} s, embedded "
                f"{report['embedded']}, deleted {report['deleted']}{fixed}; "
                f"{len(report['after'].get('manifest', []))} vectors, "
                f"{'all reachable' if not report['after'].get('unreachable') else 'UNREACHABLE ' + str(len(report['after']['unreachable']))}"
                f": {'OK' if not problems else problems}")
        if last:
            proc.communicate(timeout=900)
            break
        for line in proc.stdout:
            if line.startswith("BUILD-START"):
                break
        if crash_at != "-":
            try:
                out, err = proc.communicate(timeout=900)
            except subprocess.TimeoutExpired:  # the kill point was never reached: the build finished
                os.kill(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            if not crash_at.startswith("in:"):
                out += f"\nCHECKPOINT {crash_at}\n"
        else:
            time.sleep(rng.uniform(0, window))
            os.kill(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        killed = (nxt, out, err)
        current = nxt
        if "BUILD-DONE" in out and crash_at == "-":  # the machine got faster: aim the next kills earlier
            window *= 0.75
    times = [r["repair_seconds"] for r in repairs]
    result = {"tried": runs, "survived": survived, "kill_phases": phases, "failures": failures,
              "incomplete_after_kill": incomplete_before,
              "incomplete_after_repair": sum(1 for r in repairs if not r["ok"]),
              "repairs": repairs, "clean_build_seconds": build_seconds,
              "repair_seconds_total": round(sum(times), 1),
              "repair_seconds_max": max(times) if times else None, "sync_threshold": sync_threshold or 1000}
    log(f"crash recovery: {survived}/{runs} killed builds repaired to a clean, fully reachable index; "
        f"{incomplete_before} left unreachable vectors before their repair; kills landed: {phases}")
    return result


@pytest.mark.timeout(3600)  # ~5 min on two idle cores; a shared, loaded machine takes several times that
def test_indexer_killed_at_random_points_always_repairs(tmp_path):
    runs = int(os.environ.get("MESOCHAT_CRASH_RUNS", "20"))
    result = run_crash_campaign(tmp_path, runs, seed=int(os.environ.get("MESOCHAT_CRASH_SEED", "0")))
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "hardening-crash.json").write_text(json.dumps(result, indent=1))
    assert result["survived"] == result["tried"] >= 20 or runs < 20, result["failures"]
    assert not result["failures"]


# --- Chroma server killed mid-conversation ---------------------------------------------------------------


def start_chroma(path: Path, port: int, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([str(VENV_BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=cli_env())
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chroma run exited: {log_path.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat",
                                                                  timeout=2):
            return proc
        time.sleep(0.3)
    proc.kill()
    pytest.fail("chroma run did not start")


def test_chroma_server_killed_mid_conversation(review_home, tmp_path):
    from assistant.api import Assistant
    from indexing.build import build_index

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp_path / "chroma-data"
    server = start_chroma(data, port, tmp_path / "chroma.log")
    try:
        home = tmp_path / "home"
        build_index(make_settings(home, chroma_url=url), progress=False)
        assistant = Assistant.load(home=home, chroma_url=url)
        chat = assistant.chat()
        first = chat.ask("What did CheckMate 743 show?")
        assert not first.abstained and first.citations

        server.send_signal(signal.SIGKILL)
        server.wait()
        # a question answered from a named record's fields needs no vector search: it still works
        assert not chat.ask("What was its hazard ratio?").abstained
        # free-text questions need the vector index ("what does the review blame for resistance?" no longer does: the
        # abstract's stated cause answers it from the review's own lines)
        for question in ("Why does the tumour microenvironment blunt T cells according to the review?",
                         "How do tumours switch off attacking T cells?"):
            with pytest.raises(MesochatError) as err:
                chat.ask(question)
            msg = str(err.value)
            assert "\n" not in msg and "Chroma" in msg and url in msg, msg

        server = start_chroma(data, port, tmp_path / "chroma.log")  # same path, same port
        again = chat.ask("What did CheckMate 743 show?")  # the same Assistant and Chat objects
        assert not again.abstained and again.citations
        assert [c.source_id for c in again.citations] == [c.source_id for c in first.citations]
    finally:
        server.kill()
        server.wait()
