"""HTML for the chat: answers with clickable [n] markers, their sources, and the source panel.

Every piece of text that comes from a question, an answer or a document goes through
``html.escape`` before any markup is added around it, so a document holding ``<script>`` or
``<img onerror=...>`` shows those characters as text. A marker is ``<span class="mc-cite
mc-cite-<answer>-<n>">``; a small page script (``ui.app.CLICK_JS``) turns a click on one into a
source-panel request.

Chat messages are single HTML blocks without blank lines: the chatbot's Markdown renderer passes
such a block through untouched, so escaped text is never re-read as Markdown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

MARKER_RE = re.compile(r"\[(\d{1,3})\]")
CONTEXT_CHARS = 600  # document text shown on each side of a quoted span


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _lines(text: str) -> str:
    """Escaped text with line breaks kept (and no blank line that would end the HTML block)."""
    return "<br>".join(esc(line) for line in str(text).splitlines()) if text else ""


def marker_html(answer_index: int, n: int, title: str = "") -> str:
    label = f"Show source {n}" + (f": {title}" if title else "")
    # The chatbot's sanitizer drops data-* attributes but keeps classes: the class carries the target.
    return (f'<span class="mc-cite mc-cite-{answer_index}-{n}" role="button" tabindex="0" '
            f'title="{esc(label)}">[{n}]</span>')


def link_markers(escaped_text: str, answer_index: int | None, known: set[int], titles: dict[int, str]) -> str:
    """Turn [n] in already-escaped text into clickable markers (only numbers the answer cites)."""
    if answer_index is None:
        return escaped_text

    def repl(m: re.Match) -> str:
        n = int(m.group(1))
        return marker_html(answer_index, n, titles.get(n, "")) if n in known else m.group(0)

    return MARKER_RE.sub(repl, escaped_text)


def source_lines(citations: Sequence[Any]) -> list[tuple[int, str, str]]:
    """(n, title, locators) once per marker number, in marker order."""
    out: dict[int, tuple[str, list[str]]] = {}
    for c in citations:
        _, locs = out.setdefault(c.n, (c.title, []))
        if c.locator not in locs:
            locs.append(c.locator)
    return [(n, title, "; ".join(locs)) for n, (title, locs) in sorted(out.items())]


def parts_table(parts: Sequence[dict], answer_index: int | None, known: set[int], titles: dict[int, str]) -> str:
    """A comparison or list answer side by side: one row per record, every cell with its [n] marker."""
    rows = "".join(
        f'<tr><th scope="row">{esc(p.get("name", ""))}</th>'
        f'<td>{link_markers(_lines(_unbold(p.get("text", ""), p.get("name", ""))), answer_index, known, titles)}</td></tr>'
        for p in parts)
    return (f'<table class="mc-parts"><thead><tr><th scope="col">Record</th><th scope="col">What its record says'
            f'</th></tr></thead><tbody>{rows}</tbody></table>')


def _unbold(text: str, name: str) -> str:
    return text.removeprefix(f"**{name}**: ")


def answer_html(text: str, citations: Sequence[Any] = (), answer_index: int | None = None, *,
                question: str | None = None, rewritten: str | None = None, abstained: bool = False,
                flagged: Sequence[str] = (), pending: bool = False, parts: Sequence[dict] = ()) -> str:
    """One assistant message: the answer (a table when it has one part per record), a discreet
    rewritten-question note, the numbered sources."""
    sources = source_lines(citations)
    titles = {n: t for n, t, _ in sources}
    if len(parts) > 1 and not pending:
        body = parts_table(parts, answer_index, set(titles), titles)
    else:
        body = link_markers(_lines(text), answer_index, set(titles), titles)
    classes = "mc-answer" + (" mc-abstained" if abstained else "") + (" mc-pending" if pending else "")
    parts = [f'<div class="{classes}">']
    if rewritten and question and rewritten.strip() != question.strip():
        parts.append(f'<div class="mc-rewritten">Searched as: {esc(rewritten)}</div>')
    parts.append(f'<div class="mc-text">{body}{" …" if pending else ""}</div>')
    if flagged:
        items = "".join(f"<li>{esc(f)}</li>" for f in flagged)
        parts.append(f'<details class="mc-flagged"><summary>Removed as unsupported ({len(flagged)})</summary>'
                     f"<ul>{items}</ul></details>")
    if sources and answer_index is not None:
        items = "".join(
            f'<li>{marker_html(answer_index, n, title)} {esc(title)} <span class="mc-loc">— {esc(loc)}</span></li>'
            for n, title, loc in sources)
        parts.append(f'<div class="mc-sources"><div class="mc-sources-head">Sources</div><ul>{items}</ul></div>')
    parts.append("</div>")
    return "".join(parts)


def user_html(question: str) -> str:
    return f'<div class="mc-question">{_lines(question)}</div>'


def error_html(message: str) -> str:
    return f'<div class="mc-error">⚠ {esc(message)}</div>'


def reference_number(record_id: str | None) -> int | None:
    if record_id and record_id.startswith("ref:") and record_id[4:].isdigit():
        return int(record_id[4:])
    return None


def _window(doc_text: str, start: int, end: int, context: int) -> tuple[int, int]:
    """Context bounds around [start, end), widened to whole words."""
    lo, hi = max(0, start - context), min(len(doc_text), end + context)
    if lo > 0:
        space = doc_text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(doc_text):
        space = doc_text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return lo, hi


def _clusters(spans: list[tuple[int, int]], context: int) -> list[list[tuple[int, int]]]:
    """Spans close enough to share one context window (far-apart quotes get their own)."""
    groups: list[list[tuple[int, int]]] = []
    for span in spans:
        if groups and span[0] - max(e for _, e in groups[-1]) <= 2 * context:
            groups[-1].append(span)
        else:
            groups.append([span])
    return groups


def highlighted_context(doc_text: str, spans: Sequence[tuple[int, int]], context: int = CONTEXT_CHARS) -> str:
    """The document around the spans, escaped, with each span in <mark>; far-apart spans in separate snippets."""
    snippets = []
    for group in _clusters(sorted(set(spans)), context):
        lo, hi = _window(doc_text, group[0][0], max(e for _, e in group), context)
        out, pos = [], lo
        for start, end in group:
            start = max(start, pos)
            if end <= start:
                continue
            out.append(_lines(doc_text[pos:start]))
            out.append(f'<mark class="mc-quote">{_lines(doc_text[start:end])}</mark>')
            pos = end
        out.append(_lines(doc_text[pos:hi]))
        snippets.append(("… " if lo > 0 else "") + "".join(out) + (" …" if hi < len(doc_text) else ""))
    return "".join(f'<p class="mc-snippet">{s}</p>' for s in snippets)


def source_html(citations: Sequence[Any], doc_text: str | None, n: int, notes: str | None = None) -> str:
    """The source panel for marker [n]: where the passage is (document, field, publication first, offsets
    last), the quote inside its document text, and the record's curation notes as provenance."""
    c = citations[0]
    fields = "; ".join(dict.fromkeys(x.field for x in citations if getattr(x, "field", None)))
    pubs = "; ".join(dict.fromkeys(x.publication for x in citations if getattr(x, "publication", None)))
    offsets = "; ".join(f"{x.char_start}-{x.char_end}" for x in citations)
    rows = [("Document", f"{c.title} ({c.doc_id})"), ("Field", fields), ("Publication", pubs),
            ("Section", c.section), ("Page", c.page), ("Record", c.record_id),
            ("Reference", reference_number(c.record_id)), ("Source type", c.source_type),
            ("Characters", offsets), ("Curation notes", notes)]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    spans = [(x.char_start, x.char_end) for x in citations]
    exact = doc_text is not None and all(doc_text[s:e] == x.text for x, (s, e) in zip(citations, spans, strict=True))
    if exact:
        context = highlighted_context(doc_text, spans)
        note = ""
    else:  # the index changed since the answer: never highlight the wrong text
        context = "".join(f'<mark class="mc-quote">{_lines(x.text)}</mark> ' for x in citations)
        note = '<p class="mc-note">The document is no longer in the index as it was; showing the quote only.</p>'
    return (f'<div class="mc-source" data-source="{n}"><h3>[{n}] {esc(c.title)}</h3>'
            f'<table class="mc-locator">{table}</table>{note}<div class="mc-context">{context}</div></div>')


def placeholder_html(message: str = "Click a [n] marker in an answer to see the quoted passage here.") -> str:
    return f'<div class="mc-source-empty">{esc(message)}</div>'
