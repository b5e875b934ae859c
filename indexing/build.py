"""Incremental, crash-safe index build.

Order of work (each step is safe to be killed at; the next run repairs):
  1. chunk every document; embed only chunks whose vector is not already in Chroma; upsert them
     (new ids are invisible to readers, who only expose the committed manifest's ids);
  2. write a new generation directory (chunks.jsonl, docs.jsonl, bm25/) and fsync it;
  3. commit: atomically replace manifest.json to point at it;
  4. delete vectors no manifest names (stale or orphaned by a killed build) and old generations.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from indexing import manifest as mf
from indexing.bm25 import BM25Index
from indexing.chunker import chunk_document
from indexing.embedder import EMBED_DIM, MODEL_NAME, embed_texts, embedding_text
from indexing.store import ChromaStore, chroma_metadata, connect, drop_collection
from indexing.units import UNITS_FILE, corpus_units, embed_units, load_units, units_bytes
from indexing.verify import Reachability, check_reachable, repair
from kernel.chunk import Chunk
from kernel.config import Config
from kernel.documents import Document, Section
from kernel.errors import MesochatError

USER_SOURCE = "user"


@dataclass
class BuildReport:
    docs_added: int = 0
    docs_changed: int = 0
    docs_removed: int = 0
    docs_unchanged: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    chunks_deleted: int = 0  # vectors removed from Chroma: replaced chunks and orphans of killed builds
    seconds: float = 0.0
    embed_seconds: float = 0.0  # of which embedding + upserting vectors
    committed: bool = False  # a new manifest was written
    index_dir: str = ""
    skipped: list[str] = field(default_factory=list)  # files given to --add that could not be read
    notes: list[str] = field(default_factory=list)  # remembered user files that changed state
    # every committed chunk found by a dense query with its own vector (indexing.verify), after any repair
    reachability: Reachability | None = None

    @property
    def up_to_date(self) -> bool:
        repaired = self.reachability is not None and self.reachability.repaired
        return not self.committed and self.chunks_embedded == 0 and self.chunks_deleted == 0 and not repaired

    def summary(self) -> str:
        reach = f"; {self.reachability.summary()}" if self.reachability is not None else ""
        if self.up_to_date:
            return f"Index up to date: 0 chunks embedded{reach}"
        parts = (
            f"{self.docs_added} added, {self.docs_changed} changed, "
            f"{self.docs_removed} removed, {self.docs_unchanged} unchanged"
        )
        return (
            f"Indexed {self.docs_added + self.docs_changed + self.docs_unchanged} documents ({parts}): "
            f"{self.chunks_embedded} chunks embedded, {self.chunks_deleted} removed, "
            f"{self.chunks_total} in the index ({self.seconds:.1f} s){reach}"
        )


def _checkpoint(name: str) -> None:
    """A named point of the build where a crash must leave the committed index intact; does nothing.

    The crash-safety tests replace it (tests.helpers.crash_at_checkpoint) to SIGKILL the builder here."""


def embed_key(chunk: Chunk) -> str:
    """Identifies the vector a chunk needs: model, embedded text and the metadata stored with it."""
    meta = chroma_metadata(chunk, "")
    raw = "\x00".join((MODEL_NAME, embedding_text(chunk.title, chunk.text), json.dumps(meta, sort_keys=True)))
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]


def doc_record(doc: Document, path: str | None = None) -> dict:
    rec = {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "text": doc.text,
        "source_type": doc.source_type,
        "sections": [{"path": s.path, "start": s.start, "end": s.end, "page": s.page} for s in doc.sections],
        "metadata": doc.metadata,
        "hash": doc.content_hash,
    }
    if path:
        rec["path"] = path
    return rec


def doc_from_record(rec: dict) -> Document:
    return Document(
        doc_id=rec["doc_id"],
        title=rec["title"],
        text=rec["text"],
        source_type=rec["source_type"],
        sections=[Section(**s) for s in rec.get("sections", [])],
        metadata=dict(rec.get("metadata") or {}),
    )


def _jsonl(records: Iterable[dict]) -> bytes:
    return b"".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n" for r in records
    )


def _expand(paths: Sequence[str | Path]) -> Iterable[Path]:
    """Files as given; a folder stands for the supported files below it."""
    from indexing.loaders import SUFFIXES

    for p in paths:
        p = Path(p).expanduser()
        if p.is_dir():
            yield from sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in SUFFIXES
            )
        else:
            yield p


def _load_user_file(path: Path) -> Document:
    from indexing.loaders import load_path

    if not path.exists():
        raise MesochatError(f"Cannot add {path}: no such file; check the path")
    try:
        doc = load_path(path)
    except MesochatError:
        raise
    except Exception as exc:  # a loader bug or an exotic file must not end the build with a traceback
        raise MesochatError(f"Cannot read {path} ({type(exc).__name__}: {exc}); check the file") from exc
    return doc


def _one_line(err: Exception, path: Path) -> str:
    msg = str(err)
    return msg if (str(path) in msg or path.name in msg) else f"{path}: {msg}"


def _user_documents(
    old_manifest: dict | None,
    old_docs: dict[str, dict],
    extra_paths: Sequence[str | Path],
    keep_missing: bool,
    report: BuildReport,
) -> list[tuple[Document, str]]:
    """Remembered user documents (re-read when their file changed) plus the newly added files."""
    out: list[tuple[Document, str]] = []
    for doc_id, info in ((old_manifest or {}).get("documents") or {}).items():
        path = info.get("path")
        if not path:
            continue
        p = Path(path)
        if p.exists():
            try:
                out.append((_load_user_file(p), path))
                continue
            except MesochatError as err:
                problem = _one_line(err, p)
        else:
            problem = f"{p} no longer exists"
        if keep_missing and doc_id in old_docs:
            report.notes.append(f"{problem}; keeping the indexed copy (`mesochat index --rebuild` drops it)")
            out.append((doc_from_record(old_docs[doc_id]), path))
        else:
            report.notes.append(f"{problem}; dropped it from the index")
    for p in _expand(extra_paths):
        try:
            out.append((_load_user_file(p), str(p.resolve())))
        except MesochatError as err:
            report.skipped.append(_one_line(err, p))
    return out


def build_index(
    settings: Config,
    extra_paths: Sequence[str | Path] = (),
    rebuild: bool = False,
    progress: bool = True,
    documents: Iterable[Document] | None = None,
) -> BuildReport:
    """Bring the index in ``settings.index_dir`` up to date with the corpus (+ user files).

    A full disk or a read-only data directory is one line (MesochatError); the committed index is untouched
    because the manifest is only replaced after everything it names was written.
    """
    try:
        return _build_index(settings, extra_paths, rebuild, progress, documents)
    except OSError as exc:
        where = exc.filename or settings.paths.home
        raise MesochatError(
            f"Cannot write the index at {where} ({exc.strerror or exc}); free disk space or make the data "
            f"directory writable, then rerun `mesochat index{' --rebuild' if rebuild else ''}`"
            + ("" if rebuild else " (the previous index is unchanged)")
        ) from exc


def _build_index(
    settings: Config,
    extra_paths: Sequence[str | Path] = (),
    rebuild: bool = False,
    progress: bool = True,
    documents: Iterable[Document] | None = None,
) -> BuildReport:
    """Bring the index in ``settings.index_dir`` up to date with the corpus (+ user files).

    ``documents`` replaces the built-in corpus (benchmarks, BEIR evaluation); user files added
    with ``extra_paths`` are remembered in the manifest and kept by later runs.
    """
    t0 = time.perf_counter()
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport(index_dir=str(index_dir))

    def say(msg: str) -> None:
        if progress:
            print(msg, file=sys.stderr, flush=True)

    with mf.BuildLock(index_dir):
        if rebuild:
            try:
                old = mf.read_manifest(index_dir)  # only to remember the user's added files
            except MesochatError:
                old = None
            client = connect(settings)  # unreachable server: fail before anything is removed
            # Readers see "no index" (never a mix) until the rebuilt manifest is committed.
            mf.remove_manifest(index_dir)
            drop_collection(settings, client)
            _remove_generations(index_dir, keep=None)
            old_docs: dict[str, dict] = {}
        store = ChromaStore(settings, create=True)
        if not rebuild:
            old = mf.read_manifest(index_dir)
            old_docs = {}
            if old is not None:
                settings = mf.index_config(old, settings)  # what it was built with, unless chosen now
                mf.check_compatible(old, settings, index_dir, for_build=True)
                old_docs = {d["doc_id"]: d for d in mf.read_generation(index_dir, old)[1]}

        # 1. documents and chunks
        say("Reading documents ...")
        if documents is None:
            from indexing.sources import corpus_documents

            documents = corpus_documents()
        docs: dict[str, tuple[Document, str | None]] = {}
        for doc in documents:
            if doc.doc_id in docs:
                raise MesochatError(f"Two documents share the id {doc.doc_id!r}; fix the corpus")
            docs[doc.doc_id] = (doc, None)
        for doc, path in _user_documents(old, old_docs, extra_paths, not rebuild, report):
            docs.setdefault(doc.doc_id, (doc, path))  # the same file added twice is one document

        old_entries = (old or {}).get("documents", {}) if not rebuild else {}
        chunks: list[Chunk] = []
        doc_meta: dict[str, dict] = {}
        for doc_id, (doc, path) in docs.items():
            doc_chunks = chunk_document(doc, settings.chunking.size, settings.chunking.overlap)
            chunks.extend(doc_chunks)
            h = doc.content_hash
            prev = old_entries.get(doc_id)
            if prev is None:
                report.docs_added += 1
            elif prev.get("hash") != h:
                report.docs_changed += 1
            else:
                report.docs_unchanged += 1
            entry = {
                "hash": h,
                "title": doc.title,
                "source_type": doc.source_type,
                "n_chunks": len(doc_chunks),
            }
            if path:
                entry["path"] = path
            doc_meta[doc_id] = entry
        report.docs_removed = len(set(old_entries) - set(docs))
        ids = [c.id for c in chunks]
        if len(set(ids)) != len(ids):
            raise MesochatError("The chunker produced duplicate chunk ids; this is a bug in indexing.chunker")
        report.chunks_total = len(chunks)

        # 2. vectors: embed only what Chroma lacks (or holds for other text/metadata)
        keys = [embed_key(c) for c in chunks]
        present = _guard(partial(store.embed_keys, ids), settings)
        todo = [i for i, (cid, key) in enumerate(zip(ids, keys)) if present.get(cid) != key]
        if todo:
            say(f"Embedding {len(todo)} of {len(chunks)} chunks with {MODEL_NAME} ...")
            t_embed = time.perf_counter()
            _embed_and_upsert(store, settings, [chunks[i] for i in todo], [keys[i] for i in todo], progress)
            report.embed_seconds = time.perf_counter() - t_embed
        report.chunks_embedded = len(todo)

        # 2b. sentence vectors of the built-in corpus, so answering a question embeds only the question
        doc_texts = {d.doc_id: d.text for d, _ in docs.values()}
        units = corpus_units(chunks, doc_texts.__getitem__)
        reuse = load_units(index_dir / old["generation"] / UNITS_FILE) if old else {}
        if set(units) - set(reuse):
            say(f"Embedding {len(set(units) - set(reuse))} quotable sentences ...")
        unit_keys, unit_matrix = embed_units(
            units, partial(embed_texts, batch_size=settings.embedding.batch_size), reuse)
        units_blob = units_bytes(unit_keys, unit_matrix)

        # 3. new generation + atomic commit, unless it would be byte-identical to the committed one
        chunks_bytes = _jsonl(c.to_dict() for c in chunks)
        docs_bytes = _jsonl(doc_record(d, p) for d, p in docs.values())
        files = {mf.CHUNKS_FILE: mf.sha256_bytes(chunks_bytes), mf.DOCS_FILE: mf.sha256_bytes(docs_bytes),
                 # keyed by the units' texts: re-embedding the same text may differ in the last float bits
                 UNITS_FILE: mf.sha256_bytes("\n".join(unit_keys).encode())}
        same = (
            old is not None
            and old.get("files") == files
            and old.get("bm25") == mf.expected_settings(settings)["bm25"]
            and old.get("bm25_analyzer") == mf.ANALYZER_VERSION
            and (index_dir / old["generation"]).is_dir()
        )
        if not same:
            gen = _write_generation(index_dir, chunks, chunks_bytes, docs_bytes, units_blob,
                                    settings.retrieval.bm25_params)
            _checkpoint("before_manifest")
            manifest = {
                **mf.expected_settings(settings),
                "collection": settings.chroma.collection,
                "chroma": settings.chroma.url or "embedded",
                "generation": gen,
                "files": files,
                "bm25_files": mf.tree_hashes(index_dir / gen / mf.BM25_DIR, mf.BM25_DIR),
                "documents": doc_meta,
                "n_documents": len(doc_meta),
                "n_chunks": len(chunks),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": round(time.perf_counter() - t0, 3),
            }
            mf.write_manifest(index_dir, manifest)
            report.committed = True
            _checkpoint("after_manifest")
        committed_gen = gen if not same else old["generation"]

        # 4. cleanup: vectors and generations no manifest names any more
        stale = _guard(store.all_ids, settings) - set(ids)
        if stale:
            say(f"Removing {len(stale)} stale vectors ...")
            _guard(partial(store.delete, stale, after_first_batch=partial(_checkpoint, "deleting")), settings)
        report.chunks_deleted = len(stale)
        _remove_generations(index_dir, keep=committed_gen)

        # 5. every committed chunk must come back from a dense query with its own vector: get() finding it
        # is not enough (Chroma can keep the record and lose it from the HNSW segment); repair without re-embedding
        reach = _guard(partial(check_reachable, store, ids), settings)
        if not reach.ok:
            def embed_lost(lost: list[Chunk]):
                return embed_texts([embedding_text(c.title, c.text) for c in lost],
                                   batch_size=settings.embedding.batch_size)

            _checkpoint("repairing")
            reach = _guard(partial(repair, store, chunks, keys, embed_lost, reach, say), settings)
        report.reachability = reach
    report.seconds = time.perf_counter() - t0
    return report


def _guard(fn, settings: Config):
    """Chroma failures mid-build become one line; the committed index is untouched by then."""
    try:
        return fn()
    except MesochatError:
        raise
    except Exception as exc:
        where = settings.chroma.url or settings.paths.chroma_dir
        raise MesochatError(
            f"Chroma at {where} failed ({type(exc).__name__}: {exc}); rerun `mesochat index` "
            "(or `mesochat index --rebuild` if it persists)"
        ) from exc


def _embed_and_upsert(
    store: ChromaStore, settings: Config, chunks: list[Chunk], keys: list[str], progress: bool
) -> None:
    """Embed in groups and upsert each group at once, so a killed build keeps what it paid for."""
    from tqdm import tqdm

    group = max(settings.embedding.batch_size * 4, 1)
    with tqdm(
        total=len(chunks),
        desc="Embedding",
        unit="chunk",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        for b in range(0, len(chunks), group):
            part, part_keys = chunks[b : b + group], keys[b : b + group]
            vecs = embed_texts(
                [embedding_text(c.title, c.text) for c in part],
                batch_size=settings.embedding.batch_size,
                on_batch=bar.update,
            )
            if vecs.shape != (len(part), EMBED_DIM):
                raise MesochatError(
                    f"The embedding model returned shape {vecs.shape}; reinstall the model package"
                )
            _guard(partial(store.upsert, part, vecs, part_keys), settings)
            _checkpoint("embedding")


def _write_generation(index_dir: Path, chunks: list[Chunk], chunks_bytes: bytes, docs_bytes: bytes,
                      units_blob: bytes, bm25_params: dict) -> str:
    name = f"{mf.GEN_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{os.urandom(3).hex()}"
    tmp = index_dir / f".{name}.tmp"
    tmp.mkdir()
    mf.write_durable(tmp / mf.CHUNKS_FILE, chunks_bytes)
    mf.write_durable(tmp / mf.DOCS_FILE, docs_bytes)
    mf.write_durable(tmp / UNITS_FILE, units_blob)
    BM25Index.build(chunks, bm25_params).save(tmp / mf.BM25_DIR)
    mf.fsync_tree(tmp)
    os.rename(tmp, index_dir / name)  # a half-written generation never carries a gen- name
    mf.fsync_dir(index_dir)
    return name


def _remove_generations(index_dir: Path, keep: str | None) -> None:
    for p in index_dir.iterdir():
        if p.name == keep:
            continue
        if p.is_dir() and (p.name.startswith(mf.GEN_PREFIX) or p.name.startswith(f".{mf.GEN_PREFIX}")):
            shutil.rmtree(p, ignore_errors=True)
        elif p.is_file() and p.name.startswith(f".{mf.MANIFEST}.") and p.name.endswith(".tmp"):
            p.unlink(missing_ok=True)
