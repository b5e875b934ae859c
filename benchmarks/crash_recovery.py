"""Crash recovery under load: SIGKILL the indexer at random moments while both cores are busy; every repair must
end with a clean index whose every vector a query with its own vector reaches.

Each run builds one of two corpus versions in a subprocess (real MiniLM embedding, embedded Chroma on disk) and
kills it: every 4th run at a named point around the manifest swap (before_manifest, after_manifest, deleting),
every 4th (offset 1) inside a Chroma write (upsert or delete; a separate process SIGKILLs the builder a random
0-30 ms after the call began), the others after a random delay within the measured build time. The next run
repairs: the index must hold exactly the ids of a clean build (Chroma ids == manifest ids, BM25 count == manifest
count, no duplicates, same chunks.jsonl/docs.jsonl, one generation) and every id must be returned by a dense query
with its own stored vector (indexing.verify.check_reachable), not only counted.

    .venv/bin/python -m benchmarks.crash_recovery --runs 50 [--seed 0] [--sync-threshold 10] [--no-load] [--json out.json]

Load: `stress-ng --cpu 2` (Debian's stress-ng; a Python spinner per core when it is missing) for the whole
campaign, bounded by --max-seconds. --sync-threshold N creates the campaign's collection with Chroma's HNSW
sync_threshold N (default: Chroma's 1000), so Chroma persists its vector segment inside many more of the writes
the kills land in (Chroma's own property tests turn it down the same way).

Prints each kill: where it landed, the repair run's time, unreachable vectors found and the time to repair them;
then the totals. The same campaign (20 kills, Chroma's defaults, no load of its own) runs in
tests/indexing/test_faults.py::test_indexer_killed_at_random_points_always_repairs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50, help="killed builds (default 50)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--docs", type=int, default=16, help="documents per corpus version (about 5 chunks each)")
    ap.add_argument("--sync-threshold", type=int, default=0,
                    help="Chroma HNSW sync_threshold of the campaign's collection (0: Chroma's default)")
    ap.add_argument("--no-load", action="store_true", help="do not keep both cores busy")
    ap.add_argument("--load-workers", type=int, default=2)
    ap.add_argument("--max-seconds", type=float, default=5400, help="bound on the load generator's lifetime")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not 1 <= args.runs <= 500:
        ap.error("--runs must be 1..500")
    if not 0 <= args.sync_threshold <= 100000 or (0 < args.sync_threshold < 2):
        ap.error("--sync-threshold must be 0 (Chroma's default) or 2..100000")
    from benchmarks.crash_campaign import (  # shared with tests/indexing/test_faults.py
        CpuLoad,
        run_crash_campaign,
    )

    load = nullcontext() if args.no_load else CpuLoad(workers=args.load_workers, seconds=args.max_seconds)
    t0 = time.perf_counter()
    with load as running, tempfile.TemporaryDirectory(prefix="mesochat-crash-") as tmp:
        tool = "none" if running is None else f"{running.tool} x{args.load_workers}"
        print(f"CPU load: {tool}; Chroma HNSW sync_threshold {args.sync_threshold or 'default (1000)'}", flush=True)
        result = run_crash_campaign(Path(tmp), args.runs, seed=args.seed, n_docs=args.docs,
                                    log=lambda m: print(m, flush=True), sync_threshold=args.sync_threshold)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["load"] = tool
    repairs = result["repairs"]
    times = [r["repair_seconds"] for r in repairs]
    fixed = [r for r in repairs if r["vectors_repaired"]]
    print(f"\nkills: {result['tried']}; repaired to a clean, fully reachable index: {result['survived']}/"
          f"{result['tried']}; incomplete indexes after repair: {result['incomplete_after_repair']}  "
          f"({result['seconds']} s, load {tool})")
    detail = ", ".join(f"run {r['run']}: {r['vectors_repaired']} in {r['vector_repair_seconds']} s" for r in fixed)
    print(f"indexes left with unreachable vectors by the kill (before repair): {result['incomplete_after_kill']}; "
          f"repairs that re-added vectors: {len(fixed)}" + (f" ({detail})" if fixed else ""))
    if times:
        print(f"repair run time: total {sum(times):.1f} s, median {statistics.median(times):.1f} s, "
              f"max {max(times):.1f} s; reachability check median "
              f"{statistics.median(r['verify_seconds'] for r in repairs):.3f} s")
    print(f"kills landed: {result['kill_phases']}")
    for f in result["failures"]:
        print(f"FAILED run {f['run']}: {'; '.join(f['problems'])}")
    print("FIGURES " + json.dumps({"crash_recovery": {k: v for k, v in result.items() if k != "repairs"}}))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    sys.exit(0 if result["survived"] == result["tried"] else 1)


if __name__ == "__main__":
    main()
