"""PDF via pypdf: one Section per page ("Page N", page=N) so every chunk and citation keeps its page."""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path
from typing import Any

from indexing.loaders.builder import DocumentBuilder, clean_inline
from kernel.errors import MesochatError

_HYPHEN_BREAK = re.compile(r"(?<=[A-Za-z])-\n(?=[a-z])")  # "immuno-\ntherapy" -> "immuno-therapy"
_BLANK_LINES = re.compile(r"\n\s*\n")
log = logging.getLogger("mesochat.indexing")


def _reason(exc: Exception) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return msg if len(msg) <= 120 else msg[:117] + "..."


def _is_heading_line(line: str, next_line: str) -> bool:
    """A short line without end punctuation followed by a capitalised line: a heading, not a wrap."""
    words = line.split()
    return (
        0 < len(words) <= 6
        and line.rstrip()[-1] not in ".,;:-"
        and (line.lstrip()[0].isupper() or line.lstrip()[0].isdigit())
        and next_line.lstrip()[:1].isupper()
    )


def _page_paragraphs(raw: str) -> list[str]:
    """Wrapped lines are joined into paragraphs; blank lines and heading-like lines start new ones."""
    raw = _HYPHEN_BREAK.sub("-", raw.replace("\x00", "").replace("\r", "\n"))
    paragraphs: list[str] = []
    for block in _BLANK_LINES.split(raw):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        current: list[str] = []
        for i, line in enumerate(lines):
            current.append(line)
            if i + 1 < len(lines) and _is_heading_line(line, lines[i + 1]):
                paragraphs.append(clean_inline(" ".join(current)))
                current = []
        if current:
            paragraphs.append(clean_inline(" ".join(current)))
    return [p for p in paragraphs if p]


@contextlib.contextmanager
def _quiet_pypdf():
    """pypdf logs repair warnings for damaged files; the user gets one MesochatError line instead."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def load(path: Path, data: bytes) -> tuple[str, DocumentBuilder, dict[str, Any]]:
    with _quiet_pypdf():
        return _load(path, data)


def _load(path: Path, data: bytes) -> tuple[str, DocumentBuilder, dict[str, Any]]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise MesochatError(
            f"{path}: not a readable PDF ({_reason(exc)}); re-export or repair the file"
        ) from exc
    if encrypted:
        try:
            opened = reader.decrypt("")  # permission-only encryption opens with the empty password
        except Exception:  # noqa: BLE001 - e.g. AES without a crypto library: still "encrypted"
            opened = 0
        if not opened:
            raise MesochatError(
                f"{path}: encrypted PDF; decrypt it first (e.g. qpdf --decrypt IN.pdf OUT.pdf)"
            )
    try:
        pages = list(reader.pages)
    except Exception as exc:
        raise MesochatError(
            f"{path}: not a readable PDF ({_reason(exc)}); re-export or repair the file"
        ) from exc
    b = DocumentBuilder()
    for number, page in enumerate(pages, start=1):
        try:
            raw = page.extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - one damaged page should not lose the others
            log.warning(
                "%s: page %d skipped, its text could not be extracted (%s)", path, number, _reason(exc)
            )
            continue
        b.set_path(f"Page {number}")
        for para in _page_paragraphs(raw):
            b.paragraph(para, page=number)
    if b.empty:
        raise MesochatError(f"{path}: no text could be extracted (scanned PDF?); run OCR on it first")
    title = ""
    try:
        if reader.metadata and reader.metadata.title:
            title = clean_inline(str(reader.metadata.title))
    except Exception:  # noqa: BLE001 - a broken info dictionary only costs the title
        title = ""
    return title or path.name, b, {"pages": len(pages)}
