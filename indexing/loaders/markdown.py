"""Markdown: ATX (#) and setext headings become section paths; inline markup is reduced to its text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from indexing.loaders.builder import DocumentBuilder, clean_inline
from indexing.loaders.text import decode_text

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_QUOTE = re.compile(r"^ {0,3}>\s?")


def _inline(line: str) -> str:
    line = _IMAGE.sub(r"\1", line)
    line = _LINK.sub(r"\1", line)
    line = _REF_LINK.sub(r"\1", line)
    line = _TAG.sub("", line)
    line = line.replace("`", "")
    return _EMPHASIS.sub(r"\2", line)


def load(path: Path, data: bytes) -> tuple[str, DocumentBuilder, dict[str, Any]]:
    lines = decode_text(path, data).split("\n")
    b = DocumentBuilder()
    title = ""
    para: list[str] = []

    def flush() -> None:
        if para:
            b.paragraph("\n".join(para))
            para.clear()

    i = 0
    if lines and lines[0].strip() == "---":  # YAML front matter: take its title, skip the rest
        for j in range(1, min(len(lines), 200)):
            if lines[j].strip() in ("---", "..."):
                for meta in lines[1:j]:
                    if meta.lower().startswith("title:"):
                        title = meta.split(":", 1)[1].strip().strip("\"'")
                i = j + 1
                break
    fence = ""
    for line in lines[i:]:
        m = _FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = ""
                flush()
            else:
                para.append(line.rstrip())
            continue
        if m:
            flush()
            fence = m.group(1)
            continue
        if not line.strip():
            flush()
            continue
        atx = _ATX.match(line)
        if atx:
            flush()
            heading = clean_inline(_inline(atx.group(2) or ""))
            b.heading(len(atx.group(1)), heading)
            if len(atx.group(1)) == 1 and not title:
                title = heading
            continue
        setext = _SETEXT.match(line)
        if setext and len(para) == 1:
            heading = clean_inline(_inline(para.pop()))
            level = 1 if setext.group(1)[0] == "=" else 2
            b.heading(level, heading)
            if level == 1 and not title:
                title = heading
            continue
        if (_RULE.match(line) and not para) or _TABLE_RULE.match(line):
            continue
        text = _inline(_QUOTE.sub("", line)).strip()
        if text:
            para.append(text)
    flush()
    return title or path.name, b, {}
