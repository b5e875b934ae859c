"""Retrieval speed and memory: mesochat (bm25, dense, hybrid) beside a plain llama-index baseline.

The baseline is what one gets from the llama-index quick start on the same corpus: the same documents
(`indexing.sources.corpus_documents()`), the default SentenceSplitter, a VectorStoreIndex in memory and
the same MiniLM model (loaded by path), queried with `as_retriever(similarity_top_k=k)`. Both run in
this process on the same questions (the review eval set). Reported: query latency p50/p95 per mode,
resident memory added by each system, Recall@5 / MRR@10 of each (chunk-level, judgements resolved on
each system's own chunks), and ratios mesochat / baseline.

    python -m benchmarks.bench_retrieval [--home DIR] [--set review-test] [--repeats 3] [--json]

Without --home the built-in corpus is indexed once into /tmp/mesochat-bench-home (reused afterwards).
The last line printed is ``FIGURES {json}`` for benchmarks/run_all.py.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]

import indexing  # noqa: F401  (offline environment before any model import)

DEFAULT_HOME = Path("/tmp/mesochat-bench-home")
MODES = ("bm25", "dense", "hybrid", "hybrid-named")  # hybrid-named: the query analyser's named ids passed (timed too)


def rss_mb() -> float:
    """Resident set size of this process (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2)}


def timed(fn, questions: list[str], repeats: int) -> tuple[list[float], dict[str, list[str]]]:
    fn(questions[0])  # warm-up: first call loads lazy parts
    ms, ranked = [], {}
    for _ in range(repeats):
        for i, q in enumerate(questions):
            t0 = time.perf_counter()
            ids = fn(q)
            ms.append((time.perf_counter() - t0) * 1000)
            ranked[str(i)] = ids
    return ms, ranked


def quality(items, ranked_by_pos: dict[str, list[str]], resolver) -> dict[str, float]:
    from evals.metrics import evaluate, ranked_run

    qrels, _ = resolver.qrels(items)
    run = ranked_run({items[int(pos)].id: ids for pos, ids in ranked_by_pos.items()})
    scores = evaluate(qrels, run, ["recall@5", "mrr@10"])
    return {k: round(v, 4) for k, v in scores.items()}


def ensure_index(home: Path | None):
    from indexing.build import build_index
    from kernel.config import Config

    settings = Config.load(home=home or DEFAULT_HOME)
    if not (settings.index_dir / "manifest.json").exists():
        print(f"indexing the built-in corpus into {settings.paths.home} (once)...", flush=True)
        build_index(settings, progress=False)
    return settings


def run(home: Path | None, set_name: str, repeats: int, k: int) -> dict:
    from assistant.retrieve.retrieval import Retriever
    from evals.sets import Resolver, load_set
    from indexing.embedder import local_model_path
    from indexing.index import open_index
    from indexing.sources import corpus_documents

    settings = ensure_index(home)
    # Import the shared heavy libraries first, so each memory delta is the system itself, not torch.
    import chromadb  # noqa: F401
    import llama_index.embeddings.huggingface  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    items = [i for i in load_set(set_name) if i.answerable]
    questions = [i.question for i in items]
    figures: dict = {"set": set_name, "questions": len(questions), "repeats": repeats, "k": k}

    gc.collect()
    base_rss = rss_mb()
    t0 = time.perf_counter()
    index = open_index(settings)
    retriever = Retriever(index)
    retriever.retrieve(questions[0], k=k, mode="hybrid")  # loads the model, Chroma and BM25
    figures["mesochat_load_s"] = round(time.perf_counter() - t0, 2)
    ours_resolver = Resolver.for_index(index)
    from assistant.retrieve.retrieval import named_records
    from assistant.understand.query import QueryAnalyzer

    analyzer = QueryAnalyzer.from_corpus()

    def search(q: str, mode: str) -> list[str]:
        if mode == "hybrid-named":
            return [h.chunk.id for h in retriever.retrieve(q, k=k, mode="hybrid", named=named_records(analyzer.analyze(q)))]
        return [h.chunk.id for h in retriever.retrieve(q, k=k, mode=mode)]

    ours: dict = {}
    for mode in MODES:
        ms, ranked = timed(lambda q, m=mode: search(q, m), questions, repeats)
        ours[mode] = {**percentiles(ms), **quality(items, ranked, ours_resolver)}
    figures["mesochat_rss_mb"] = round(rss_mb() - base_rss, 1)
    figures["mesochat"] = ours

    # Baseline: llama-index defaults on the same documents and model.
    from llama_index.core import Document as LIDocument
    from llama_index.core import Settings as LISettings
    from llama_index.core import VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    gc.collect()
    base_rss = rss_mb()
    t0 = time.perf_counter()
    docs = corpus_documents()
    texts = {d.doc_id: d.text for d in docs}
    embed = HuggingFaceEmbedding(model_name=local_model_path(), device="cpu", normalize=True)
    LISettings.llm = None
    vindex = VectorStoreIndex.from_documents(
        [LIDocument(text=d.text, id_=d.doc_id, metadata={"doc_id": d.doc_id}) for d in docs], embed_model=embed
    )
    li_retriever = vindex.as_retriever(similarity_top_k=k)
    figures["baseline_build_s"] = round(time.perf_counter() - t0, 2)
    nodes = list(vindex.docstore.docs.values())
    pseudo = [SimpleNamespace(id=n.node_id, doc_id=n.ref_doc_id, record_id=n.ref_doc_id if ":" in (n.ref_doc_id or "") else None,
                              char_start=n.start_char_idx or 0, char_end=n.end_char_idx or 0) for n in nodes]
    ms, ranked = timed(lambda q: [n.node.node_id for n in li_retriever.retrieve(q)], questions, repeats)
    figures["baseline"] = {**percentiles(ms), **quality(items, ranked, Resolver(pseudo, texts.__getitem__))}
    figures["baseline_rss_mb"] = round(rss_mb() - base_rss, 1)
    figures["baseline_chunks"] = len(nodes)
    figures["mesochat_chunks"] = len(index.chunks)

    base = figures["baseline"]
    figures["ratios_vs_baseline"] = {
        mode: {"p50": round(v["p50_ms"] / base["p50_ms"], 4), "p95": round(v["p95_ms"] / base["p95_ms"], 4),
               "recall@5": round(v["recall@5"] / base["recall@5"], 3) if base["recall@5"] else None}
        for mode, v in ours.items()
    }
    figures["ratios_vs_baseline"]["memory"] = (
        round(figures["mesochat_rss_mb"] / figures["baseline_rss_mb"], 2) if figures["baseline_rss_mb"] > 0 else None
    )
    return figures


def print_report(f: dict) -> None:
    print(f"\nRetrieval benchmark on {f['set']}: {f['questions']} questions x {f['repeats']} repeats, k={f['k']}")
    print(f"{'system':<18}{'p50 ms':>9}{'p95 ms':>9}{'R@5':>8}{'MRR@10':>8}{'p50 x':>8}{'p95 x':>8}")
    base = f["baseline"]
    for mode, v in f["mesochat"].items():
        r = f["ratios_vs_baseline"][mode]
        print(f"{'mesochat ' + mode:<18}{v['p50_ms']:>9.1f}{v['p95_ms']:>9.1f}{v['recall@5']:>8.3f}{v['mrr@10']:>8.3f}"
              f"{r['p50']:>8.3g}{r['p95']:>8.3g}")
    print(f"{'llama-index base':<18}{base['p50_ms']:>9.1f}{base['p95_ms']:>9.1f}{base['recall@5']:>8.3f}{base['mrr@10']:>8.3f}"
          f"{1.0:>8.2f}{1.0:>8.2f}")
    print(f"memory added: mesochat {f['mesochat_rss_mb']} MB (index open + model + BM25), "
          f"baseline {f['baseline_rss_mb']} MB (its own model copy + in-memory vectors); "
          f"ratio {f['ratios_vs_baseline']['memory']}")
    print(f"chunks: mesochat {f['mesochat_chunks']}, baseline {f['baseline_chunks']}; "
          f"load: mesochat {f['mesochat_load_s']} s, baseline build {f['baseline_build_s']} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", type=Path, default=None, help="data directory with a built index")
    p.add_argument("--set", default="review-test", help="eval set whose answerable questions are the queries")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--json", action="store_true", help="print only the JSON figures")
    args = p.parse_args(argv)
    figures = run(args.home, args.set, args.repeats, args.k)
    if not args.json:
        print_report(figures)
    print("FIGURES " + json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
