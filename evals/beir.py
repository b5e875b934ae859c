"""BEIR benchmark runner: load a dataset in BEIR layout, index it with our pipeline, score each mode.

BEIR layout (Thakur et al. 2021): ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id  corpus-id  score`` with a header line).
The corpus goes into its own collection (``beir-<name>``) in the same data directory, built by
``indexing.build.build_index`` like the review corpus, so a second run only re-reads the manifest.
Documents are ranked by their best chunk (``Retriever.retrieve_docs``), as BEIR judges documents.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from kernel.documents import Document, Section
from kernel.errors import MesochatError

K = 100  # depth of every run: Recall@100 is the deepest metric reported
METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "recall@100", "mrr@10")

# Published SciFact test figures (see /work/shared/datasets/README.md for the sources).
PUBLISHED_SCIFACT: dict[str, dict[str, float]] = {
    "BM25 (BEIR paper)": {"ndcg@10": 0.665},
    "BM25 flat (Anserini)": {"ndcg@10": 0.679, "recall@100": 0.925},
    "BM25 + MiniLM-L6 cross-encoder": {"ndcg@10": 0.688},
    "all-MiniLM-L6-v2 (dense)": {"ndcg@10": 0.645, "recall@100": 0.925},
    "e5-small-v2": {"ndcg@10": 0.689},
    "bge-small-en-v1.5": {"ndcg@10": 0.713, "recall@100": 0.945},
}

Qrels = dict[str, dict[str, int]]


def _jsonl(path: Path, what: str) -> list[dict]:
    if not path.is_file():
        raise MesochatError(f"{path} is missing; a BEIR dataset directory needs corpus.jsonl, queries.jsonl and qrels/")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise MesochatError(f"{path} line {n} is not JSON; each line must be one {what} object") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise MesochatError(f"{path} line {n} has no \"_id\"; each {what} needs an \"_id\"")
            rows.append(row)
    if not rows:
        raise MesochatError(f"{path} is empty; it must hold one {what} per line")
    return rows


def _qrels(path: Path) -> Qrels:
    if not path.is_file():
        found = sorted(p.stem for p in path.parent.glob("*.tsv")) if path.parent.is_dir() else []
        hint = f"available splits: {', '.join(found)}" if found else "the dataset has no qrels/*.tsv"
        raise MesochatError(f"{path} is missing; {hint}")
    qrels: Qrels = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split("\t") if "\t" in line else line.split()
        if not line.strip() or (n == 1 and not parts[-1].strip().lstrip("-").isdigit()):
            continue  # blank line or the "query-id corpus-id score" header
        if len(parts) != 3 or not parts[2].strip().lstrip("-").isdigit():
            raise MesochatError(f"{path} line {n} is not 'query-id<TAB>corpus-id<TAB>score'")
        qid, did, score = (p.strip() for p in parts)
        if int(score) > 0:
            qrels.setdefault(qid, {})[did] = int(score)
    if not qrels:
        raise MesochatError(f"{path} has no positive judgements")
    return qrels


def beir_document(row: dict) -> Document:
    """A BEIR corpus entry as our Document: title, blank line, abstract; sections "Title"/"Abstract"."""
    title = " ".join(str(row.get("title") or "").split())
    body = str(row.get("text") or "").strip()
    text = f"{title}\n\n{body}" if title and body else title or body
    sections = []
    if title:
        sections.append(Section("Title", 0, len(title)))
    if body:
        sections.append(Section("Abstract", len(text) - len(body), len(text)))
    return Document(doc_id=str(row["_id"]), title=title, text=text, source_type="beir", sections=sections)


def load_beir(path: str | Path, split: str = "test") -> tuple[list[Document], dict[str, str], Qrels]:
    """(documents, {query id: text} for the split's judged queries, qrels) of a BEIR dataset."""
    path = Path(path)
    if not path.is_dir():
        raise MesochatError(f"{path} is not a directory; point --data at a BEIR dataset (corpus.jsonl, queries.jsonl, qrels/)")
    qrels = _qrels(path / "qrels" / f"{split}.tsv")
    documents = [beir_document(r) for r in _jsonl(path / "corpus.jsonl", "document")]
    documents = [d for d in documents if d.text]
    ids = [d.doc_id for d in documents]
    if len(set(ids)) != len(ids):
        raise MesochatError(f"{path / 'corpus.jsonl'} repeats a document \"_id\"; ids must be unique")
    all_queries = {str(r["_id"]): str(r.get("text") or "").strip() for r in _jsonl(path / "queries.jsonl", "query")}
    missing = [q for q in qrels if not all_queries.get(q)]
    if missing:
        raise MesochatError(
            f"{len(missing)} judged queries of split {split!r} (e.g. {missing[0]!r}) have no text in queries.jsonl; "
            "check that qrels and queries come from the same dataset"
        )
    queries = {q: all_queries[q] for q in qrels}
    return documents, queries, qrels


def collection_name(path: str | Path) -> str:
    """Chroma-safe collection name for a dataset directory (3-63 chars of [a-z0-9._-])."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", Path(path).resolve().name.lower()).strip("-._") or "dataset"
    return f"beir-{slug}"[:63]


def run_beir(
    data_path: str | Path,
    split: str = "test",
    modes: tuple[str, ...] | list[str] = ("bm25", "dense", "hybrid"),
    settings: Any = None,
    config: Any = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Index the dataset (cached), run every mode on the split, return metrics and ranx runs.

    Returns ``{"dataset", "split", "n_queries", "n_documents", "modes": {mode: {metric: value,
    "latency_ms_p50": ...}}, "runs": {mode: ranx.Run}}``."""
    from assistant.retrieve.retrieval import MODES, Retriever
    from evals.metrics import ranked_run
    from indexing import open_index
    from indexing.build import build_index
    from kernel.config import Config

    for mode in modes:
        if mode not in MODES:
            raise MesochatError(f"Unknown mode {mode!r}; use some of {', '.join(MODES)}")
    documents, queries, qrels = load_beir(data_path, split)
    settings = (settings or Config.load()).replace(collection=collection_name(data_path))
    build_index(settings, documents=documents, progress=progress)
    index = open_index(settings)
    retriever = Retriever(index, config)
    ranx = _ranx()
    qrels_obj = ranx.Qrels(qrels)
    out: dict[str, Any] = {
        "dataset": Path(data_path).name,
        "split": split,
        "n_queries": len(queries),
        "n_documents": len(documents),
        "modes": {},
        "runs": {},
    }
    for mode in modes:
        ranked, times = {}, []
        for qid, text in _progress(queries.items(), progress, f"{mode} queries"):
            t0 = time.perf_counter()
            ranked[qid] = [doc for doc, _ in retriever.retrieve_docs(text, k=K, mode=mode)]
            times.append(time.perf_counter() - t0)
        run = {q: r for q, r in ranked_run(ranked).items() if r}
        run_obj = ranx.Run(run, name=f"mesochat-{mode}").make_comparable(qrels_obj)  # no hit: scores 0
        scores = ranx.evaluate(qrels_obj, run_obj, list(METRICS), make_comparable=True)
        times.sort()
        out["modes"][mode] = {
            **{m: round(float(scores[m]), 4) for m in METRICS},
            "latency_ms_p50": round(1000 * times[len(times) // 2], 1),
        }
        out["runs"][mode] = run_obj
    return out


def _ranx():
    from evals.metrics import _ranx as quiet_ranx  # ranx with numba's harmless warnings silenced

    return quiet_ranx()


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(list(items), desc=desc, unit="q", file=sys.stderr)
