"""Index build speed: cold and unchanged builds of the review corpus, and SciFact's 5,183 abstracts.

    python -m benchmarks.bench_index [SCIFACT_DIR] [--limit N] [--no-scifact]

Every build runs in a fresh process on a fresh temporary data directory, with the test suite's
embedding cache switched off, so the cold figures include imports, model loading and every
embedding. SCIFACT_DIR (BEIR layout, corpus.jsonl) defaults to ../shared/datasets/scifact
relative to the repository. Prints a table and a final ``FIGURES {json}`` line (benchmarks/run_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MESOCHAT_EMBED_CACHE", "MESOCHAT_HOME")}
    env.pop("MESOCHAT_CHROMA_URL", None)
    return env


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), cwd=REPO, check=False)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench_index: {' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return wall, p


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def beir_documents(path: Path, limit: int | None):
    try:
        from evals.beir import beir_document  # the same documents the BEIR evaluation indexes
    except ImportError:
        beir_document = None
    from kernel.documents import Document, Section

    docs = []
    with open(path / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(docs) >= limit:
                break
            row = json.loads(line)
            if beir_document is not None:
                docs.append(beir_document(row))
            else:
                text = row.get("text", "")
                docs.append(
                    Document(
                        str(row["_id"]),
                        row.get("title", ""),
                        text,
                        "beir",
                        [Section("Abstract", 0, len(text))],
                    )
                )
    return docs


def phase_scifact(data: Path, home: Path, limit: int | None) -> None:
    """Runs in its own process: read corpus, chunk, embed, store; prints one JSON line."""
    t0 = time.perf_counter()
    import indexing  # noqa: F401
    from indexing.build import build_index
    from kernel.config import Config

    docs = beir_documents(data, limit)
    r = build_index(Config.load(home=home), documents=docs, progress=True)
    print(
        json.dumps(
            {
                "documents": len(docs),
                "chunks": r.chunks_total,
                "embedded": r.chunks_embedded,
                "embed_seconds": r.embed_seconds,
                "build_seconds": r.seconds,
                "process_seconds": time.perf_counter() - t0,
                "up_to_date": r.up_to_date,
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scifact", nargs="?", default=str(REPO.parent / "shared" / "datasets" / "scifact"))
    ap.add_argument("--limit", type=int, default=None, help="index only the first N SciFact abstracts")
    ap.add_argument("--no-scifact", action="store_true")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--home", help=argparse.SUPPRESS)
    args, _unknown = ap.parse_known_args(argv)  # run_all.py may pass options meant for other scripts

    if args.phase == "scifact":
        phase_scifact(Path(args.scifact), Path(args.home), args.limit)
        return 0

    figures: dict[str, float | int | str] = {}
    tmp = Path(tempfile.mkdtemp(prefix="mesochat-bench-index-"))
    mesochat = str(Path(sys.executable).parent / "mesochat")
    try:
        home = tmp / "review"
        wall, _ = timed([mesochat, "index", "--home", str(home), "--quiet"])
        manifest = json.loads((home / "index" / "mesochat" / "manifest.json").read_text())
        figures["review_chunks"] = manifest["n_chunks"]
        figures["review_cold_build_s"] = round(wall, 2)
        figures["review_cold_build_in_process_s"] = manifest["build_seconds"]
        wall, p = timed([mesochat, "index", "--home", str(home), "--quiet"])
        assert "Index up to date: 0 chunks embedded" in p.stdout, p.stdout
        figures["review_unchanged_rerun_s"] = round(wall, 2)
        figures["review_size_mb"] = round(dir_size(home) / 2**20, 2)

        data = Path(args.scifact)
        if not args.no_scifact:
            if not (data / "corpus.jsonl").exists():
                sys.exit(
                    f"bench_index: no corpus.jsonl in {data}; pass the SciFact directory or --no-scifact"
                )
            home = tmp / "scifact"
            cmd = [sys.executable, __file__, str(data), "--phase", "scifact", "--home", str(home)]
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            wall, p = timed(cmd)
            cold = json.loads(p.stdout.strip().splitlines()[-1])
            figures["scifact_documents"] = cold["documents"]
            figures["scifact_chunks"] = cold["chunks"]
            figures["scifact_end_to_end_s"] = round(wall, 1)
            figures["scifact_embed_s"] = round(cold["embed_seconds"], 1)
            figures["embedding_chunks_per_s"] = round(cold["embedded"] / max(cold["embed_seconds"], 1e-9), 1)
            figures["scifact_size_mb"] = round(dir_size(home) / 2**20, 1)
            wall, p = timed(cmd)
            again = json.loads(p.stdout.strip().splitlines()[-1])
            assert again["up_to_date"] and again["embedded"] == 0, again
            figures["scifact_unchanged_rerun_s"] = round(wall, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    width = max(len(k) for k in figures)
    print(f"Index build ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end)")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    print("FIGURES " + json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
