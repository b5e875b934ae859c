"""What is in the index: documents, chunks by type, model, where the data lives and its size."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from indexing import manifest as mf
from kernel.config import Config
from kernel.errors import MesochatError


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass  # removed while walking
    return total


def index_stats(settings: Config) -> dict[str, Any]:
    """Figures from the committed manifest and its generation (no model or Chroma needed)."""
    manifest = mf.read_manifest(settings.index_dir)
    if manifest is None:
        raise MesochatError(f"No index in {settings.index_dir}; run `mesochat index`")
    chunks_path = settings.index_dir / manifest["generation"] / mf.CHUNKS_FILE
    by_type: Counter[str] = Counter()
    try:
        with open(chunks_path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    c = json.loads(line)
                    by_type[c.get("record_type") or c.get("source_type") or "?"] += 1
    except (OSError, ValueError) as exc:
        raise MesochatError(f"Cannot read {chunks_path} ({exc}); run `mesochat index --rebuild`") from exc
    docs_by_type = Counter(
        (doc_id.partition(":")[0] if e.get("source_type") == "record" else e.get("source_type", "?"))
        for doc_id, e in manifest["documents"].items()
    )
    index_bytes = dir_size(settings.index_dir)
    chroma_bytes = dir_size(settings.paths.chroma_dir) if not settings.chroma.url else None
    return {
        "documents": len(manifest["documents"]),
        "documents_by_type": dict(sorted(docs_by_type.items())),
        "chunks": int(manifest.get("n_chunks", sum(by_type.values()))),
        "chunks_by_type": dict(sorted(by_type.items())),
        "user_files": sorted(e["path"] for e in manifest["documents"].values() if e.get("path")),
        "model": manifest["model"],
        "dimension": manifest["dimension"],
        "chunk_size": manifest["chunk_size"],
        "chunk_overlap": manifest["chunk_overlap"],
        "data_directory": str(settings.paths.home),
        "chroma": settings.chroma.url or str(settings.paths.chroma_dir),
        "collection": settings.chroma.collection,
        "size_bytes": index_bytes + (chroma_bytes or 0),
        "index_bytes": index_bytes,
        "chroma_bytes": chroma_bytes,
        "built_at": manifest.get("built_at"),
        "build_seconds": manifest.get("build_seconds"),
        "manifest_hash": mf.manifest_hash(manifest),
    }


def human_bytes(n: int | None) -> str:
    if n is None:
        return "n/a (Chroma server)"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def stats_table(stats: dict[str, Any]):
    from rich.table import Table

    table = Table(title="mesochat index", show_header=False, title_justify="left")
    table.add_column("item", style="bold")
    table.add_column("value")
    table.add_row("Documents", f"{stats['documents']} ({_fmt(stats['documents_by_type'])})")
    table.add_row("Chunks", str(stats["chunks"]))
    for kind, n in stats["chunks_by_type"].items():
        table.add_row(f"  {kind}", str(n))
    if stats["user_files"]:
        table.add_row("Added files", "\n".join(stats["user_files"]))
    table.add_row("Model", f"{stats['model']} ({stats['dimension']}-d)")
    table.add_row("Chunking", f"{stats['chunk_size']} words, {stats['chunk_overlap']} sentence(s) overlap")
    table.add_row("Data directory", stats["data_directory"])
    table.add_row("Chroma", f"{stats['chroma']} (collection {stats['collection']})")
    size = human_bytes(stats["size_bytes"])
    if stats["chroma_bytes"] is None:
        size = f"{human_bytes(stats['index_bytes'])} + vectors on the Chroma server"
    table.add_row("Size on disk", size)
    built = stats["built_at"] or "?"
    if stats.get("build_seconds") is not None:
        built += f" (took {stats['build_seconds']:.1f} s)"
    table.add_row("Last build", built)
    return table


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())
