"""The index directory on disk: manifest.json, generation directories, the builder lock.

``index/<collection>/manifest.json`` is the single commit point. It names one generation
directory (chunks.jsonl, docs.jsonl, bm25/) and is replaced atomically with ``os.replace`` after
every file it points at has been fsynced. Readers trust only what the manifest names.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Self

from kernel.config import Config
from kernel.errors import MesochatError
from kernel.text import ANALYZER_VERSION

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LOCK = "build.lock"
GEN_PREFIX = "gen-"
CHUNKS_FILE = "chunks.jsonl"
DOCS_FILE = "docs.jsonl"
BM25_DIR = "bm25"


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def manifest_hash(manifest: dict) -> str:
    return hashlib.sha256(canonical_json(manifest)).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_tree(path: Path) -> None:
    """fsync every file below path, then the directories (bm25s writes its own files)."""
    for root, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def read_manifest(index_dir: Path) -> dict | None:
    """The committed manifest, None when there is no index; MesochatError when it is damaged."""
    path = index_dir / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        manifest = json.loads(raw)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("documents"), dict):
            raise TypeError("not a manifest")
        for key in ("format_version", "generation", "model", "dimension", "chunk_size", "chunk_overlap"):
            manifest[key]
    except (ValueError, KeyError, TypeError) as exc:
        raise MesochatError(
            f"The index manifest {path} is corrupt ({exc}); run `mesochat index --rebuild`"
        ) from exc
    return manifest


def write_manifest(index_dir: Path, manifest: dict) -> None:
    """Atomic commit: temp file, fsync, os.replace, fsync of the directory."""
    tmp = index_dir / f".{MANIFEST}.{os.getpid()}.tmp"
    write_durable(tmp, json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    os.replace(tmp, index_dir / MANIFEST)
    fsync_dir(index_dir)


def remove_manifest(index_dir: Path) -> None:
    try:
        os.remove(index_dir / MANIFEST)
    except FileNotFoundError:
        return
    fsync_dir(index_dir)


def expected_settings(settings: Config) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "model": settings.embedding.model,
        "dimension": settings.embedding.dimension,
        "chunk_size": settings.chunking.size,
        "chunk_overlap": settings.chunking.overlap,
        "bm25": settings.retrieval.bm25_params,  # other values re-index BM25 only (see BM25Index.load)
        "bm25_analyzer": ANALYZER_VERSION,  # likewise: the tokens BM25 was built from (kernel.text)
        "config": settings.index_shape(),  # read back by index_config() when the index is opened
    }


def index_config(manifest: dict, config: Config) -> Config:
    """``config`` with the shape the index was built with wherever nothing was chosen explicitly.

    Manifests written before "config" was recorded still name chunk size, overlap, model and BM25."""
    shape = dict(manifest.get("config") or {})
    legacy = {
        "chunking.size": manifest.get("chunk_size"),
        "chunking.overlap": manifest.get("chunk_overlap"),
        "embedding.model": manifest.get("model"),
        "embedding.dimension": manifest.get("dimension"),
        **{f"retrieval.bm25_{k}": v for k, v in (manifest.get("bm25") or {}).items()},
    }
    for key, value in legacy.items():
        if value is not None:
            shape.setdefault(key, value)
    shape.pop("chroma.collection", None)  # the index directory already is the collection's
    return config.with_index(shape)


# Settings that shape the chunks or vectors: a difference needs `mesochat index --rebuild`.
REBUILD_KEYS = ("format_version", "model", "dimension", "chunk_size", "chunk_overlap")


def check_compatible(manifest: dict, settings: Config, index_dir: Path, for_build: bool) -> None:
    """A build must match every setting; a reader only needs the same format and embedding model."""
    want = expected_settings(settings)
    keys = REBUILD_KEYS if for_build else ("format_version", "model", "dimension")
    diffs = [f"{k}={manifest.get(k)!r} (now {want[k]!r})" for k in keys if manifest.get(k) != want[k]]
    if diffs:
        raise MesochatError(
            f"The index at {index_dir} was built with {', '.join(diffs)}; run `mesochat index --rebuild`"
        )


class BuildLock:
    """One builder per index directory. flock is released by the kernel when its holder dies,
    so a lock left by a killed builder is simply taken over."""

    def __init__(self, index_dir: Path):
        self.path = index_dir / LOCK
        self.fd: int | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise MesochatError(
                    f"Another `mesochat index` (pid {holder}) is building the index in {self.path.parent}; "
                    "wait for it to finish"
                ) from exc
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self.fd = fd
        return self

    def __exit__(self, *exc_info) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def tree_hashes(directory: Path, prefix: str) -> dict[str, str]:
    """sha256 of every file below directory, keyed "prefix/relative/path" (manifest["bm25_files"]).

    Kept apart from manifest["files"]: bm25s's byte layout varies between builds of the same chunks
    (vocabulary order follows the hash seed), so these detect damage, not content changes."""
    return {
        f"{prefix}/{p.relative_to(directory).as_posix()}": sha256_bytes(p.read_bytes())
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def check_tree(directory: Path, prefix: str, manifest: dict) -> None:
    """MesochatError when a file the manifest hashed under prefix/ is missing or changed (bit rot, edits)."""
    want = {k: v for k, v in (manifest.get(f"{prefix}_files") or {}).items() if k.startswith(f"{prefix}/")}
    if not want:
        return  # written before file hashes were recorded
    have = tree_hashes(directory, prefix) if directory.is_dir() else {}
    for name, digest in want.items():
        if have.get(name) != digest:
            state = "missing" if name not in have else "corrupt (checksum)"
            raise MesochatError(
                f"The index file {directory.parent / name} is {state}; run `mesochat index --rebuild`"
            )


def read_generation(index_dir: Path, manifest: dict) -> tuple[list[dict], list[dict]]:
    """(chunk dicts, document dicts) of the generation the manifest names, checked against its hashes."""
    gen = index_dir / str(manifest["generation"])
    out = []
    for name in (CHUNKS_FILE, DOCS_FILE):
        path = gen / name
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise MesochatError(
                f"The index file {path} is missing ({exc.strerror}); run `mesochat index --rebuild`"
            ) from exc
        want = (manifest.get("files") or {}).get(name)
        if want and sha256_bytes(raw) != want:
            raise MesochatError(
                f"The index file {path} is corrupt (checksum); run `mesochat index --rebuild`"
            )
        try:
            out.append([json.loads(line) for line in raw.decode("utf-8").splitlines() if line])
        except ValueError as exc:
            raise MesochatError(
                f"The index file {path} is corrupt ({exc}); run `mesochat index --rebuild`"
            ) from exc
    return out[0], out[1]
