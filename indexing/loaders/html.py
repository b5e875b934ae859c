"""HTML: the main text only (no scripts, styles, navigation, page chrome or forms); headings -> sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from indexing.loaders.builder import DocumentBuilder, clean_inline
from kernel.errors import MesochatError


def _tags(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


DROP = _tags(
    "script style noscript template nav aside form button select option input textarea label "
    "iframe svg canvas head title object embed menu dialog"
)
CHROME = frozenset({"header", "footer"})  # page chrome, unless inside the article itself
CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
HEADINGS = {f"h{i}": i for i in range(1, 7)}
BLOCKS = _tags(
    "p div section article main li ul ol dl dt dd table thead tbody tfoot tr pre blockquote "
    "figure figcaption caption address hr body center details summary fieldset"
)
CELLS = frozenset({"td", "th"})
_SKIP_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)


def _dropped(tag: Tag) -> bool:
    if tag.name in DROP:
        return True
    attrs = tag.attrs or {}
    if attrs.get("role") in CHROME_ROLES or "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    return tag.name in CHROME and tag.find_parent(["article", "main"]) is None


def _main_root(soup: BeautifulSoup) -> Tag:
    main = soup.find("main")
    if main is not None:
        return main
    articles = soup.find_all("article")
    if len(articles) == 1:
        return articles[0]
    return soup.body or soup


def _walk(root: Tag, b: DocumentBuilder) -> str:
    """Emit paragraphs and headings in document order; iterative so deep nesting cannot overflow."""
    first_h1 = ""
    buf: list[str] = []

    def flush() -> None:
        text = clean_inline("".join(buf))
        buf.clear()
        if text:
            b.paragraph(text)

    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # end-of-block marker
            flush()
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIP_STRINGS):
                buf.append(str(node))
            continue
        if not isinstance(node, Tag) or _dropped(node):
            continue
        if node.name in HEADINGS:
            flush()
            heading = clean_inline(node.get_text(" "))
            b.heading(HEADINGS[node.name], heading)
            if node.name == "h1" and not first_h1:
                first_h1 = heading
            continue
        if node.name == "br":
            buf.append(" ")
            continue
        if node.name in CELLS:
            buf.append(" ")
        elif node.name in BLOCKS:
            flush()
            stack.append(None)
        stack.extend(reversed(node.contents))
    flush()
    return first_h1


def load(path: Path, data: bytes) -> tuple[str, DocumentBuilder, dict[str, Any]]:
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as exc:
        raise MesochatError(f"{path}: not readable as HTML ({exc}); save the page again as HTML") from exc
    page_title = clean_inline(soup.title.get_text(" ")) if soup.title else ""
    b = DocumentBuilder()
    first_h1 = _walk(_main_root(soup), b)
    return page_title or first_h1 or path.name, b, {}
