"""User files -> Documents. ``load_path`` picks a loader by suffix, checked against the file's content.

Every problem a user can cause (missing, empty, unsupported, encrypted, corrupt, undecodable file)
becomes a one-line MesochatError naming the file and the fix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from indexing.loaders import html, jats, markdown, pdf, text
from kernel.documents import Document
from kernel.errors import MesochatError

LOADERS = {
    "pdf": pdf.load,
    "html": html.load,
    "markdown": markdown.load,
    "text": text.load,
    "jats": jats.load,
}
SUFFIXES = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".xml": "jats",
    ".nxml": "jats",
}
MAX_BYTES = 256 * 1024 * 1024  # far above any article; stops a mistaken path to a disk image early
SUPPORTED = "PDF, HTML, Markdown (.md), plain text (.txt) or JATS/PMC XML (.xml, .nxml)"


def sniff_format(path: Path, data: bytes) -> str:
    """The loader name for ``data``: content signatures win over a misleading suffix."""
    head = data[:2048].lstrip()
    low = head.lower()
    if head.startswith(b"%PDF-"):
        return "pdf"
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    if low.startswith((b"<!doctype html", b"<html")) or b"<html" in low:
        return "html"
    if low.startswith(b"<?xml") and b"<article" in data[:65536]:
        return "jats"
    suffix = path.suffix or "(no suffix)"
    raise MesochatError(f"{path}: unsupported file type {suffix}; convert it to {SUPPORTED}")


def load_path(path: str | Path) -> Document:
    p = Path(path).expanduser()
    if not p.exists():
        raise MesochatError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise MesochatError(f"{p}: is a directory; pass the files inside it")
    size = p.stat().st_size
    if size == 0:
        raise MesochatError(f"{p}: the file is empty; add text to it or leave it out")
    if size > MAX_BYTES:
        raise MesochatError(
            f"{p}: {size // 2**20} MB is too large (limit {MAX_BYTES // 2**20} MB); split the file"
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise MesochatError(f"{p}: cannot be read ({exc.strerror}); check its permissions") from exc
    fmt = sniff_format(p, data)
    title, builder, extra = LOADERS[fmt](p, data)
    if builder.empty:
        raise MesochatError(f"{p}: no text found in this {fmt} file; check that it has readable content")
    digest = hashlib.sha256(data).hexdigest()
    metadata = {"path": str(p.resolve()), "filename": p.name, "format": fmt, **extra}
    return builder.build(f"user:{digest[:16]}", title or p.name, "user", metadata)


__all__ = ["SUFFIXES", "load_path", "sniff_format"]
