"""Query-embedding latency with 1 and 2 torch threads, measured in one run (quote the ratio, not the times).

    python benchmarks/bench_query_threads.py [--n 40]

The answer engine embeds one short question per ask; indexing.embedder.embed_query pins that call to
QUERY_THREADS torch threads. This prints p50/p95 for each setting and the ratio, interleaved so machine
load affects both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import indexing  # noqa: F401  (offline environment before the model import)
from indexing import embedder


def timed(n: int, threads: int) -> float:
    embedder.QUERY_THREADS = threads
    embedder._query_cache.clear()  # time the model, not the cache of recent queries
    t0 = time.perf_counter()
    embedder.embed_query(f"what was the overall survival in trial {n} with nivolumab plus ipilimumab?")
    return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    args = ap.parse_args(argv)
    embedder.embed_query("warm up")
    ms: dict[int, list[float]] = {1: [], 2: []}
    for i in range(args.n):
        for threads in (1, 2) if i % 2 else (2, 1):
            ms[threads].append(timed(i, threads))
    fig = {t: {"p50_ms": round(statistics.median(v), 1), "p95_ms": round(sorted(v)[int(0.95 * (len(v) - 1))], 1)}
           for t, v in ms.items()}
    fig["ratio_p50_1_vs_2"] = round(fig[1]["p50_ms"] / fig[2]["p50_ms"], 2)
    print(f"{'threads':>8}{'p50 ms':>10}{'p95 ms':>10}")
    for t in (1, 2):
        print(f"{t:>8}{fig[t]['p50_ms']:>10.1f}{fig[t]['p95_ms']:>10.1f}")
    print(f"1-thread p50 / 2-thread p50 = {fig['ratio_p50_1_vs_2']}")
    print("FIGURES " + json.dumps({"bench_query_threads": fig}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
