"""JATS / PMC article XML: title, abstract and body sections (nested <sec>/<title> -> section paths).

The reference list and table markup are skipped; figure and table captions are kept as paragraphs.
External entities and network access are disabled when parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from indexing.loaders.builder import DocumentBuilder, clean_inline
from kernel.errors import MesochatError

SKIP = frozenset(
    {"ref-list", "table", "alternatives", "graphic", "media", "supplementary-material", "object-id"}
)
CAPTIONED = frozenset({"fig", "table-wrap", "boxed-text"})


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _collect(el: Any, parts: list[str]) -> None:
    parts.append(el.text or "")
    for child in el:
        if _local(child) not in SKIP and _local(child) not in CAPTIONED:
            _collect(child, parts)
        parts.append(child.tail or "")


def _text(el: Any) -> str:
    """Text of an element without nested tables, figures or the markup-only parts in SKIP."""
    parts: list[str] = []
    _collect(el, parts)
    return clean_inline("".join(parts))


def _child(el: Any, name: str) -> Any:
    return next((c for c in el if _local(c) == name), None)


def _walk(el: Any, level: int, b: DocumentBuilder) -> None:
    for child in el:
        name = _local(child)
        if not name or name in SKIP or name in ("title", "label"):
            continue
        if name == "sec" or name == "app":
            title = _child(child, "title")
            if title is not None and _text(title):
                b.heading(level + 1, _text(title))
                _walk(child, level + 1, b)
            else:
                _walk(child, level, b)
        elif name in ("p", "disp-quote", "def-list", "speech", "statement", "verse-group"):
            b.paragraph(_text(child))
        elif name == "list":
            for item in child:
                if _local(item) == "list-item":
                    b.paragraph(_text(item))
        elif name in CAPTIONED:
            label = _child(child, "label")
            caption = _child(child, "caption")
            parts = [_text(x) for x in (label, caption) if x is not None]
            b.paragraph(" ".join(p for p in parts if p))
            if name == "boxed-text":
                _walk(child, level, b)
        else:
            _walk(child, level, b)


def load(path: Path, data: bytes) -> tuple[str, DocumentBuilder, dict[str, Any]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise MesochatError(f"{path}: not well-formed XML ({exc}); fix the file or export it again") from exc
    if _local(root) != "article":
        raise MesochatError(
            f"{path}: XML but not a JATS/PMC article (root element <{_local(root)}>); "
            "pass a PMC/JATS article XML, or convert the file to text"
        )
    title_el = next(root.iter("{*}article-title", "article-title"), None)
    title = _text(title_el) if title_el is not None else ""
    b = DocumentBuilder()
    if title:
        b.set_path("Title")
        b.paragraph(title)
    front = _child(root, "front")
    meta = _child(front, "article-meta") if front is not None else None
    abstracts = [a for a in meta if _local(a) == "abstract"] if meta is not None else []
    for abstract in abstracts:
        kind = abstract.get("abstract-type")
        b.set_path(f"Abstract ({kind})" if kind else "Abstract")
        _walk(abstract, 1, b)
    body = _child(root, "body")
    if body is not None:
        b.set_path("")
        _walk(body, 0, b)
    back = _child(root, "back")
    if back is not None:
        for part in back:
            if _local(part) in ("ack", "app-group", "sec", "notes", "glossary"):
                heading = _child(part, "title")
                b.set_path(_text(heading) if heading is not None else "Back matter")
                _walk(part, 1, b)
    return title, b, {}
