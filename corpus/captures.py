"""Parse the two web captures of the review into plain parts, dropping what is not the review.

The aggregator page carries the title, a Chinese title, a view counter, the abstract and the
aggregator's legal notice (特别声明). The journal page carries the title, authors, abstract, keywords and
a reference table drawn with ``|`` where each row ``| [n] |`` is followed by the entry's text line
(``|`` alone when the capture has no text). Anything else (counters, notices, table residue) is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kernel.errors import MesochatError

AGGREGATOR_FILE = "aggregator_page.txt"
JOURNAL_FILE = "journal_page.txt"

_CJK = re.compile(r"[\u4e00-\u9fff]")
_VIEW_COUNTER = re.compile(r"^阅读\s*[:：]\s*\d+$")
_LEGAL_NOTICE = "特别声明"
_ROW = re.compile(r"^\|\s*\[(\d+)\]\s*\|$")
_RESIDUE = re.compile(r"^[|/〈〉\s]*$")  # table-drawing leftovers: "|", "/", "| 〈 |", "〉 |"


@dataclass
class AggregatorPage:
    title: str
    title_zh: str | None
    abstract: str


@dataclass
class JournalPage:
    title: str
    authors: list[str]
    abstract: str
    keywords: list[str]
    references: dict[int, str | None] = field(default_factory=dict)  # n -> text, None when not captured


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MesochatError(f"{path}: capture file is missing; restore it from git") from None
    except UnicodeDecodeError:
        raise MesochatError(f"{path}: capture is not UTF-8 text; restore it from git") from None
    return [" ".join(line.split()) for line in text.splitlines()]


def _broken(path: Path, what: str) -> MesochatError:
    return MesochatError(f"{path}: malformed capture: {what}; restore the file from git")


def parse_aggregator(path: Path) -> AggregatorPage:
    lines = [ln for ln in _lines(path) if ln]
    if not lines or _CJK.search(lines[0]) or lines[0].lower() == "abstract":
        raise _broken(path, "no English title on the first line")
    title = lines[0]
    try:
        start = next(i for i, ln in enumerate(lines) if ln.lower() == "abstract")
    except StopIteration:
        raise _broken(path, "no 'Abstract' heading") from None
    head = lines[1:start]
    title_zh = next((ln for ln in head if _CJK.search(ln) and not _VIEW_COUNTER.match(ln)), None)
    body = []
    for ln in lines[start + 1 :]:
        if ln.startswith(_LEGAL_NOTICE):
            break  # the aggregator's own notice, not the review
        if _VIEW_COUNTER.match(ln) or _RESIDUE.match(ln):
            continue
        body.append(ln)
    abstract = " ".join(body)
    if len(abstract) < 200:
        raise _broken(path, "no abstract text after the 'Abstract' heading")
    return AggregatorPage(title=title, title_zh=title_zh, abstract=abstract)


def _split_authors(line: str) -> list[str]:
    return [a.strip() for a in line.split(",") if a.strip()]


def parse_journal(path: Path, expected_references: int) -> JournalPage:
    lines = _lines(path)
    try:
        table = next(i for i, ln in enumerate(lines) if _ROW.match(ln))
    except StopIteration:
        raise _broken(path, "no reference table (rows like '| [1] |')") from None

    front = [ln for ln in lines[:table] if ln and not _RESIDUE.match(ln)]
    if not front or len(front[0]) > 300 or front[0].count(",") > 3:
        raise _broken(path, "no title on the first line")
    title = front[0]
    rest = front[1:]
    # Keywords: one short line of " / "-separated terms; abstract: the long paragraph(s); authors: a name list.
    keywords_line = next((ln for ln in rest if " / " in ln and len(ln) < 400), None)
    abstract_lines = [ln for ln in rest if len(ln) >= 400]
    authors_line = next(
        (ln for ln in rest if ln is not keywords_line and len(ln) < 400 and ln.count(",") >= 1 and "." not in ln),
        None,
    )
    if not abstract_lines:
        raise _broken(path, "no abstract paragraph before the reference table")
    if authors_line is None:
        raise _broken(path, "no author line after the title")
    if keywords_line is None:
        raise _broken(path, "no keyword line (terms separated by ' / ')")

    references: dict[int, str | None] = {}
    i = table
    while i < len(lines):
        m = _ROW.match(lines[i])
        if not m:
            i += 1  # residue between or after rows
            continue
        n = int(m.group(1))
        if n in references:
            raise _broken(path, f"reference [{n}] appears twice")
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _ROW.match(nxt):
            references[n] = None
            i += 1
            continue
        text = nxt.removesuffix("|").strip()
        references[n] = text if text and not _RESIDUE.match(text) else None
        i += 2

    numbers = sorted(references)
    if numbers != list(range(1, expected_references + 1)):
        missing = sorted(set(range(1, expected_references + 1)) - set(numbers))
        extra = [n for n in numbers if n > expected_references]
        detail = f"found {len(numbers)} reference rows, expected {expected_references} numbered 1..{expected_references}"
        if missing:
            detail += f" (missing {', '.join(map(str, missing[:5]))}{'...' if len(missing) > 5 else ''})"
        if extra:
            detail += f" (unexpected {', '.join(map(str, extra[:5]))})"
        raise _broken(path, detail)

    return JournalPage(
        title=title,
        authors=_split_authors(authors_line),
        abstract=" ".join(abstract_lines),
        keywords=[k.strip() for k in keywords_line.split(" / ") if k.strip()],
        references=references,
    )


# --- citation strings ---------------------------------------------------------------------------

_PMCID = re.compile(r"\s*PMCID:\s*(PMC\d+)")
_EMAIL_NOTE = re.compile(r"\s*Electronic address:\s*\S+@\S+?\.(?=\s|$)")
_WEB = re.compile(r"^(?P<head>.*?)\s*Available from:\s*(?P<url>\S+?)\.?\s*(?:\[Last accessed on (?P<acc>[^\]]+)\])?$")
# The capture glues title and journal: "...trial.Ann Oncol2025;36:548-60". The journal is the text after
# the last "." before a 4-digit year; then ";volume:pages".
_JOURNAL_TAIL = re.compile(
    r"^(?P<head>.*)\.\s*(?P<journal>[^.]+?)\s*(?P<year>(?:19|20)\d{2})\s*;\s*(?P<volume>[^:;]+?)"
    r"(?:\s*:\s*(?P<pages>[\w-]+))?$"
)
_PERSON = re.compile(r"^[A-Z][\w'’-]*(?: [A-Z][\w'’-]*)* [A-Z]{1,3}$")  # "Szlosarek PW", "Faivre-Finn C"


def _split_author_block(head: str) -> tuple[list[str], bool, str | None, str]:
    """Split "A B, C D, et al.; Group. Title" into (people, et_al, group, title)."""
    et_al = False
    group = None
    m = re.match(r"^(?P<people>.*?),?\s*et al\.(?P<semi>;)?\s*(?P<rest>.*)$", head)
    if m:
        et_al = True
        people = m.group("people")
        rest = m.group("rest")
        if m.group("semi") and ". " in rest:
            # "et al.; ATOMIC-Meso Study Group. Title...": a group author sits between the names and the title.
            maybe_group, after = rest.split(". ", 1)
            if len(maybe_group) < 120:
                group, rest = maybe_group.strip(), after
        title = rest
    else:
        people, _, title = head.partition(". ")
    names = [p.strip() for p in people.split(",") if p.strip()]
    if names and not all(_PERSON.match(n) for n in names):
        # Not a list of personal names: an organisation is the author ("National Institute for ...").
        return [people.strip()], et_al, group, title.strip()
    return names, et_al, group, title.strip()


def parse_citation(text: str) -> dict:
    """Split one reference string into fields; missing parts are None. Never raises."""
    out: dict = {"authors": [], "et_al": False, "group": None, "title": None, "journal": None, "year": None,
                 "volume": None, "pages": None, "pmcid": None, "url": None, "accessed": None}
    s = text.strip()
    if m := _PMCID.search(s):
        out["pmcid"] = m.group(1)
        s = (s[: m.start()] + s[m.end():]).strip()
    s = _EMAIL_NOTE.sub("", s).strip()

    if m := _WEB.match(s):
        out["url"] = m.group("url").rstrip(".")
        out["accessed"] = m.group("acc")
        s = m.group("head").strip()
        people, et_al, group, title = _split_author_block(s)
        out.update(authors=people, et_al=et_al, group=group, title=title.rstrip(".").strip() or None)
        return out

    if m := _JOURNAL_TAIL.match(s):
        out["journal"] = m.group("journal").strip()
        out["year"] = int(m.group("year"))
        out["volume"] = m.group("volume").strip()
        out["pages"] = m.group("pages")
        s = m.group("head").strip()
    people, et_al, group, title = _split_author_block(s)
    out.update(authors=people, et_al=et_al, group=group, title=title.rstrip(".").strip() or None)
    return out
