"""The crash-recovery campaign: SIGKILL the indexer at random moments, then check that the next run repairs.

Run by benchmarks/crash_recovery.py (figures) and by tests/indexing/test_faults.py (the assertion). It lives
here, not in tests/, because benchmarks import no test code; the tests import it from here. Also here: the
synthetic documents it builds and ``crash_at_checkpoint`` (a builder that SIGKILLs itself at a named point of
indexing.build), which tests.helpers re-exports for the other crash-safety tests.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from indexing.chunker import chunk_document

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"  # the worker's first argument (positional; the worker does not read it)
CHUNK_SIZE = 40


def cli_env(**extra: str) -> dict[str, str]:
    """Environment of a worker: offline, no inherited data directory, the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("MESOCHAT_HOME", "MESOCHAT_CHROMA_URL")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def crash_at_checkpoint(name: str) -> None:
    """Make the builder of this process SIGKILL itself when it reaches the named point of indexing.build
    (``_checkpoint("before_manifest")`` ...): a real crash at an exact moment, for crash-safety tests."""
    import indexing.build

    def checkpoint(point: str) -> None:
        if point == name:
            os.kill(os.getpid(), signal.SIGKILL)

    indexing.build._checkpoint = checkpoint


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


WORKER = r"""
import json, sys, time
import indexing
from benchmarks.crash_campaign import synthetic_documents
from indexing.build import build_index
from indexing.index import open_index
from indexing.store import ChromaStore
from kernel.config import Config

home, target, nxt, n_docs, crash_at = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
s = Config.load(config_file=None, environment=False, home=home, chunk_size=40, embed_batch_size=4)  # upserts of 16 chunks: many Chroma writes
VERSIONS = {"a": lambda: synthetic_documents(n_docs, words=120),
            "b": lambda: synthetic_documents(n_docs, version=1, words=150)}


def state():
    try:
        index = open_index(s)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    ids = sorted(index.chunks)
    probe = index.chunk_embeddings([ids[0]])[0]
    dense = [c for c, _ in index.dense_search(probe, len(ids) + 50)]
    gens = sorted(p.name for p in s.index_dir.iterdir() if "gen-" in p.name)
    return {"manifest": ids, "chroma": sorted(ChromaStore(s).all_ids()), "dense": dense,
            "bm25_n": int(index.bm25.retriever.scores["num_docs"]), "files": index.manifest["files"], "gens": gens}


out = {"before": state() if (s.index_dir / "manifest.json").exists() else None}
if target != "-":
    t = time.perf_counter()
    r = build_index(s, progress=False, documents=VERSIONS[target]())
    out.update(repair_seconds=time.perf_counter() - t, embedded=r.chunks_embedded, deleted=r.chunks_deleted,
               after=state())
print(json.dumps(out), flush=True)
if nxt != "-":
    print("BUILD-START", flush=True)
    if crash_at != "-":  # the builder's own SIGKILL at a named point of indexing.build
        from benchmarks.crash_campaign import crash_at_checkpoint
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
    if state["bm25_n"] != len(want):
        problems.append(f"bm25 holds {state['bm25_n']} chunks, manifest {len(want)}")
    if len(state["dense"]) != len(set(state["dense"])) or set(state["dense"]) != set(want):
        problems.append("dense search returns duplicates or ids outside the manifest")
    if len(state["gens"]) != 1:
        problems.append(f"{len(state['gens'])} generation directories left")
    if files is not None and {k: state["files"].get(k) for k in CONTENT_FILES} != {k: files.get(k) for k in CONTENT_FILES}:
        problems.append("chunks.jsonl/docs.jsonl differ from a clean build")
    return problems


def _check_reader(state: dict | None, ids: dict[str, list[str]]) -> list[str]:
    """What a reader sees right after the kill: one whole committed version, never a mix."""
    if state is None:
        return []
    if "error" in state:
        return [f"reader after kill: {state['error']}"]
    if state["manifest"] not in ids.values():
        return ["reader after kill sees a mix of versions"]
    if not set(state["chroma"]) >= set(state["manifest"]) or not set(state["dense"]) <= set(state["manifest"]):
        return ["reader after kill: committed vectors missing or uncommitted ids exposed"]
    return []


def run_crash_campaign(root: Path, runs: int, seed: int = 0, n_docs: int = 16, log=print) -> dict:
    """``runs`` builds killed with SIGKILL at random delays; each followed by a repair run that is checked.

    Two versions of ``n_docs`` synthetic documents (about 5 chunks each) alternate, so every build embeds,
    upserts, commits and deletes stale vectors. Also used by benchmarks/crash_recovery.py."""
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
                                 crash_at],
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

    survived, failures, phases = 0, [], {}
    current, killed = "a", None  # killed: (version, stdout, stderr) of the last killed build

    def landed(report: dict) -> str:
        """Where the last kill landed, judged by what its repair run found."""
        version, out, err = killed
        before = report["before"] or {}
        point = re.search(r"CHECKPOINT (\w+)", out)
        if point:
            return f"at checkpoint {point.group(1)}" + (" (not reached)" if "BUILD-DONE" in out else "")
        if "BUILD-DONE" in out:
            return "after the build had finished"
        if before.get("manifest") == ids[version]:
            return "after the manifest swap (stale-vector cleanup)"
        if report["embedded"]:
            return "embedding / Chroma upserts" if "Embedding" in err else "reading and chunking"
        return "after the upserts, before the manifest swap (generation write)"

    for run in range(runs + 1):
        last = run == runs
        nxt = "-" if last else ("b" if current == "a" else "a")
        # Repair to `current` (the version the killed build was writing), then build `nxt` and get killed:
        # every 4th build kills itself at a named point around the manifest swap, the others at random delays.
        crash_at = CHECKPOINTS[(run // 4) % len(CHECKPOINTS)] if run % 4 == 3 and not last else "-"
        proc = start(current if run else "-", nxt, crash_at)
        report = json.loads(proc.stdout.readline())
        if run:
            problems = _check_reader(report["before"], ids) + _check_repaired(report["after"], ids[current],
                                                                              files[current])
            phase = landed(report)
            phases[phase] = phases.get(phase, 0) + 1
            survived += not problems
            if problems:
                failures.append({"run": run, "problems": problems})
            log(f"kill {run:2d} ({phase}): repair embedded {report['embedded']}, deleted {report['deleted']}: "
                f"{'OK' if not problems else problems}")
        if last:
            proc.communicate(timeout=900)
            break
        for line in proc.stdout:
            if line.startswith("BUILD-START"):
                break
        if crash_at != "-":
            try:
                out, err = proc.communicate(timeout=900)
            except subprocess.TimeoutExpired:  # the checkpoint was never reached: the build finished
                os.kill(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            out += f"\nCHECKPOINT {crash_at}\n"
        else:
            time.sleep(rng.uniform(0, window))
            os.kill(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        killed = (nxt, out, err)
        current = nxt
        if "BUILD-DONE" in out:  # the machine got faster: aim the next kills earlier
            window *= 0.75
    result = {"tried": runs, "survived": survived, "kill_phases": phases, "failures": failures,
              "clean_build_seconds": build_seconds}
    log(f"crash recovery: {survived}/{runs} killed builds repaired to a clean index; kills landed: {phases}")
    return result

