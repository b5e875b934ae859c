"""Warm latency of answering: mesochat retrieval alone and the full extractive answer, beside a plain
llama-index dense retriever over the same chunks with the same MiniLM vectors, measured in one run.

The baseline is a ``VectorStoreIndex`` (in-memory SimpleVectorStore) built from mesochat's own chunks as
TextNodes carrying the vectors already stored in Chroma, queried with ``as_retriever(similarity_top_k=k)``;
its query embedding uses the same model loaded by path. So the comparison isolates what mesochat adds on
top of "embed the question, nearest chunks": BM25, fusion, MMR, query understanding, and for the full
answer, sentence scoring, selection and composition.

"Warm" means every question was asked once before timing (model loaded, sentence vectors cached).

    python -m benchmarks.bench_ask [--home DIR] [--set review-dev] [--repeats 3] [--k 8]

Without --home the built-in corpus is indexed once into /tmp/mesochat-bench-home (reused afterwards).
The last line printed is ``FIGURES {json}`` for benchmarks/run_all.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import indexing  # noqa: F401  (offline environment before any model import)

DEFAULT_HOME = Path("/tmp/mesochat-bench-home")


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 2), "p95_ms": round(p95, 2), "n": len(ordered)}


def timed(fn, questions: list[str], repeats: int) -> list[float]:
    for q in questions:  # warm-up pass, not timed
        fn(q)
    from indexing import embedder

    ms = []
    for _ in range(repeats):
        for q in questions:
            # "warm" means the model is loaded, not that this question's vector is remembered: the baseline embeds
            # every question, so mesochat's recent-query cache is emptied before each timed one
            embedder._query_cache.clear()
            t0 = time.perf_counter()
            fn(q)
            ms.append((time.perf_counter() - t0) * 1000)
    return ms


def ensure_index(home: Path | None):
    from indexing.build import build_index
    from kernel.config import Config

    settings = Config.load(home=home or DEFAULT_HOME)
    if not (settings.index_dir / "manifest.json").exists():
        print(f"indexing the built-in corpus into {settings.paths.home} (once)...", flush=True)
        build_index(settings, progress=False)
    return settings


def load_questions(set_name: str) -> list[str]:
    path = Path(set_name)
    if not path.exists():
        path = REPO / "evals" / "sets" / f"{set_name}.jsonl"
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def llama_index_baseline(index, k: int):
    """A plain VectorStoreIndex over mesochat's chunks (same text, same vectors, same model for queries)."""
    from llama_index.core import Settings as LISettings
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from indexing.embedder import local_model_path

    LISettings.llm = None
    ids = list(index.chunks)
    vectors = index.chunk_embeddings(ids)
    nodes = [TextNode(id_=cid, text=index.chunks[cid].text, embedding=vec.tolist()) for cid, vec in zip(ids, vectors)]
    embed = HuggingFaceEmbedding(model_name=local_model_path(), device="cpu", normalize=True)
    return VectorStoreIndex(nodes, embed_model=embed).as_retriever(similarity_top_k=k)


def run(home: Path | None, set_name: str, repeats: int, k: int) -> dict:
    from assistant import Assistant

    settings = ensure_index(home)
    questions = load_questions(set_name)
    t0 = time.perf_counter()
    assistant = Assistant.load(home=settings.paths.home, k=k)
    load_s = time.perf_counter() - t0
    baseline = llama_index_baseline(assistant.index, k)

    figures: dict = {"set": set_name, "questions": len(questions), "repeats": repeats, "k": k,
                     "assistant_load_s": round(load_s, 2), "chunks": len(assistant.index.chunks)}
    figures["baseline_dense"] = percentiles(timed(lambda q: baseline.retrieve(q), questions, repeats))
    figures["mesochat_retrieval"] = percentiles(
        timed(lambda q: assistant.retriever.retrieve(q, k=k, mode="hybrid"), questions, repeats))
    figures["mesochat_answer"] = percentiles(timed(lambda q: assistant.ask(q), questions, repeats))
    base = figures["baseline_dense"]
    figures["ratios_vs_baseline"] = {
        name: {"p50": round(figures[name]["p50_ms"] / base["p50_ms"], 2),
               "p95": round(figures[name]["p95_ms"] / base["p95_ms"], 2)}
        for name in ("mesochat_retrieval", "mesochat_answer")
    }
    return figures


def report(f: dict) -> None:
    print(f"{f['questions']} questions from {f['set']} x {f['repeats']} repeats, k={f['k']}, {f['chunks']} chunks; "
          f"warm (each question asked once before timing); assistant load {f['assistant_load_s']} s")
    print(f"{'system':<44}{'p50 ms':>10}{'p95 ms':>10}{'x base p50':>12}{'x base p95':>12}")
    rows = [("llama-index VectorStoreIndex dense (baseline)", "baseline_dense"),
            ("mesochat retrieval (hybrid + MMR)", "mesochat_retrieval"),
            ("mesochat full extractive answer", "mesochat_answer")]
    for label, key in rows:
        r = f["ratios_vs_baseline"].get(key, {"p50": 1.0, "p95": 1.0})
        print(f"{label:<44}{f[key]['p50_ms']:>10.1f}{f[key]['p95_ms']:>10.1f}{r['p50']:>12.2f}{r['p95']:>12.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=None)
    ap.add_argument("--set", default="review-dev", help="evals/sets/<name>.jsonl or a path")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--k", type=int, default=8)
    args = ap.parse_args(argv)
    figures = run(args.home, args.set, args.repeats, args.k)
    report(figures)
    print("FIGURES " + json.dumps({"bench_ask": figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
