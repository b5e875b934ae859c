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
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

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


class CpuLoad:
    """Keep ``workers`` cores busy for at most ``seconds`` (a context manager): Debian's `stress-ng --cpu` when it is
    installed, else Python processes spinning until their deadline. Always bounded in time; stopped on exit.

        with CpuLoad(workers=2, seconds=1800) as load:
            ...
        load.tool  # "stress-ng" or "python"
    """

    def __init__(self, workers: int = 2, seconds: float = 1800):
        self.workers, self.seconds = workers, seconds
        self.procs: list = []
        self.tool = ""

    def __enter__(self) -> Self:
        stress = shutil.which("stress-ng")
        if stress:
            self.tool = "stress-ng"
            self.procs.append(subprocess.Popen(
                [stress, "--cpu", str(self.workers), "--timeout", f"{int(self.seconds)}s", "--quiet"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        else:
            self.tool = "python"
            spin = f"import time\nend = time.monotonic() + {self.seconds}\nwhile time.monotonic() < end:\n    pass\n"
            self.procs += [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(self.workers)]
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                proc.kill()


WORKER = r"""
import json, os, random, subprocess, sys, time
import indexing
import indexing.store
from benchmarks.crash_campaign import synthetic_documents
from kernel.config import Config
from indexing.build import build_index
from indexing.index import open_index
from indexing.store import ChromaStore
from indexing.verify import check_reachable

home, target, nxt, n_docs, crash_at = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
sync_threshold = int(sys.argv[7])
if sync_threshold:  # Chroma persists its HNSW segment every `sync_threshold` records: inside many more writes
    indexing.store.HNSW_CONFIGURATION["sync_threshold"] = sync_threshold
s = Config.load(config_file=None, environment=False, home=home, chunk_size=40, embed_batch_size=4)  # upserts of 16 chunks: many Chroma writes
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
