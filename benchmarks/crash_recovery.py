"""Crash recovery: SIGKILL the indexer at random moments, then check that the next run repairs the index.

Each run builds one of two corpus versions in a subprocess (real MiniLM embedding, embedded Chroma on
disk), kills it with SIGKILL after a random delay inside the measured build time (every 4th run instead
kills itself at a named point around the manifest swap: before_manifest, after_manifest, deleting), and
then runs the build again: the repaired index must hold exactly the ids of a clean build (Chroma ids == manifest
ids, BM25 count == manifest count, no duplicates, same chunks.jsonl/docs.jsonl, one generation).

    .venv/bin/python -m benchmarks.crash_recovery --runs 20 [--seed 0] [--json out.json]

Prints runs survived / tried and where the kills landed. The same campaign runs in
tests/indexing/test_faults.py::test_indexer_killed_at_random_points_always_repairs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="killed builds (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--docs", type=int, default=16, help="documents per corpus version (about 5 chunks each)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not 1 <= args.runs <= 500:
        ap.error("--runs must be 1..500")
    from benchmarks.crash_campaign import run_crash_campaign  # shared with tests/indexing/test_faults.py

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mesochat-crash-") as tmp:
        result = run_crash_campaign(Path(tmp), args.runs, seed=args.seed, n_docs=args.docs, log=lambda m: print(m, flush=True))
    result["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"\nruns survived / tried: {result['survived']}/{result['tried']}  ({result['seconds']} s)")
    print(f"kills landed: {result['kill_phases']}")
    for f in result["failures"]:
        print(f"FAILED run {f['run']}: {'; '.join(f['problems'])}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    sys.exit(0 if result["survived"] == result["tried"] else 1)


if __name__ == "__main__":
    main()
