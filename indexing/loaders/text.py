"""Plain text: decoded strictly (UTF-8 or a BOM-marked UTF-16), split into blank-line paragraphs."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from indexing.loaders.builder import DocumentBuilder
from kernel.errors import MesochatError
from kernel.sentences import split_paragraphs


def decode_text(path: Path, data: bytes) -> str:
    """Decode user text or fail with a fix; guessing a legacy code page would silently garble text."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
        if b"\x00" in data[:8192]:
            raise MesochatError(f"{path}: looks like a binary file, not text; convert it to plain UTF-8 text")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise MesochatError(
            f"{path}: not valid {encoding.upper()} text (bad byte at offset {exc.start}); re-save it as UTF-8"
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def load(path: Path, data: bytes) -> tuple[str, DocumentBuilder, dict[str, Any]]:
    text = decode_text(path, data)
    b = DocumentBuilder()
    for start, end in split_paragraphs(text):
        b.paragraph(text[start:end])
    return path.name, b, {}
