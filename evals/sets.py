"""Evaluation sets: loading, validation, and resolving judgements to chunk ids at run time.

Judgements never name chunk ids (those change whenever chunking changes). A judgement names either a
record (``{"record_id": "trial:checkmate-743"}``: every chunk of that record is relevant) or a quoted
span of a document (``{"doc_id": "review", "span": "exact words"}``: every chunk whose character range
overlaps an occurrence of the span is relevant). Both survive re-chunking and re-embedding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kernel.errors import MesochatError

SET_VERSION = "v1"
# v2.1 (records v3, issue 19): full copies of the v2 sets whose labels records v3 made wrong (evals/sets/README.md).
V2_1_SET_NAMES = ("review-v2.1-dev", "review-v2.1-test", "review-v2.1-probe-dev", "review-v2.1-probe3-dev",
                  "review-v2.1-probe4-dev", "review-v2.1-probe5-dev", "review-v2.1-probe6-dev", "review-v2.1-probe7-dev",
                  "review-v2.1-probe9-dev", "review-v2.1-probe11-dev", "review-v2.1-probe15-dev", "review-v2.1-probe16-dev",
                  "conversations-v2.1-probe2-dev", "conversations-v2.1-probe3-dev", "conversations-v2.1-probe5-dev",
                  "conversations-v2.1-probe6-dev", "conversations-v2.1-probe8-dev", "conversations-v2.1-probe9-dev",
                  "conversations-v2.1-probe12-dev", "conversations-v2.1-probe14-dev", "conversations-v2.1-probe15-dev",
                  "conversations-v2.1-probe16-dev")
# v2.2 (records v3, issue 19, the new trials, drugs and BRCA1): full copies of the newest version of each v2 set
# whose labels the new records made wrong (evals/sets/README.md, "Version 2.2"); no conversation set needed one.
V2_2_SET_NAMES = ("review-v2.2-dev", "review-v2.2-test", "review-v2.2-probe-dev", "review-v2.2-probe2-dev",
                  "review-v2.2-probe3-dev", "review-v2.2-probe4-dev", "review-v2.2-probe5-dev",
                  "review-v2.2-probe6-dev", "review-v2.2-probe7-dev", "review-v2.2-probe8-dev",
                  "review-v2.2-probe9-dev", "review-v2.2-probe10-dev", "review-v2.2-probe11-dev",
                  "review-v2.2-probe12-dev", "review-v2.2-probe13-dev", "review-v2.2-probe14-dev",
                  "review-v2.2-probe15-dev", "review-v2.2-probe16-dev")
SETS_DIR = Path(__file__).resolve().parent / "sets"
SET_NAMES = ("review-dev", "review-test", "conversations-dev", "conversations-test",
             "review-v2-dev", "review-v2-test", "conversations-v2-dev", "conversations-v2-test",
             "review-v2-probe-dev", "conversations-v2-probe-dev", "review-v2-probe2-dev", "conversations-v2-probe2-dev",
             "review-v2-probe3-dev", "conversations-v2-probe3-dev", "review-v2-probe4-dev", "conversations-v2-probe4-dev",
             "review-v2-probe5-dev", "conversations-v2-probe5-dev", "review-v2-probe6-dev", "conversations-v2-probe6-dev",
             "review-v2-probe7-dev", "conversations-v2-probe7-dev",
             "review-v2-probe8-dev", "conversations-v2-probe8-dev",
             "review-v2-probe9-dev", "conversations-v2-probe9-dev", "review-v2-probe10-dev", "conversations-v2-probe10-dev",
             "review-v2-probe11-dev", "conversations-v2-probe11-dev", "review-v2-probe12-dev", "conversations-v2-probe12-dev",
             "review-v2-probe13-dev", "conversations-v2-probe13-dev", "review-v2-probe14-dev", "conversations-v2-probe14-dev",
             "review-v2-probe15-dev", "conversations-v2-probe15-dev", "review-v2-probe16-dev", "conversations-v2-probe16-dev",
             "review-v3-test", "conversations-v3-test", "review-v4-test", "conversations-v4-test",
             "review-v5-test", "conversations-v5-test", "review-v2-records3-dev", *V2_1_SET_NAMES,
             *V2_2_SET_NAMES)

ANSWERABLE_CATEGORIES = ("abstract", "trial", "agent", "biomarker", "mechanism", "reference", "abbreviation")
UNANSWERABLE_CATEGORIES = ("off-topic", "on-topic-uncovered")
CATEGORIES = ANSWERABLE_CATEGORIES + UNANSWERABLE_CATEGORIES

# A span straddling two chunks makes both relevant only if each holds a real piece of it, not one word.
MIN_OVERLAP_CHARS = 20

# v1 is frozen. Records v2 (issue 10) corrected facts these v1 judgements quote, so their spans no longer
# occur in the index; they stay as written (never edited to fit) and every report lists them as unresolved.
V1_STALE_JUDGEMENTS = {
    "v1-trial-002": "CheckMate 743's interim OS interval is now stated as 96.6% (audit item 5), not a bare CI",
    "v1-trial-006": "the CheckMate 743 medians by histology came from a press-release repost (audit M1) and were removed",
    "v1-trial-031": "the ONCOS-102 summary was rewritten when its setting was corrected (audit M2)",
}


# v2 is frozen too. Records v3 (issue 19) removed a fact these v2 nuggets name; the items stay as written, their
# nuggets are checked against the records only for the facts still held, and v2.1 relabels them.
V2_STALE_NUGGETS = {
    "v2-attr-148": "MAPS registration NCT00651456 moved to the record's notes (it rested only on a GitHub mirror of "
                   "NCI PDQ; 2026-12 records audit); v2.1-attr-148 asks it as uncovered",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Judgement(_Strict):
    """One relevant source: a whole record, or a verbatim span of one document."""

    record_id: str | None = None
    doc_id: str | None = None
    span: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Judgement:
        if self.record_id is not None and (self.doc_id is not None or self.span is not None):
            raise ValueError("a judgement is either {record_id} or {doc_id, span}, not both")
        if self.record_id is None and not (self.doc_id and self.span):
            raise ValueError("a judgement needs record_id, or doc_id together with span")
        return self

    @property
    def key(self) -> str:
        return self.record_id or f"{self.doc_id}:{self.span}"


class EvalItem(_Strict):
    id: str
    question: str = Field(min_length=1)
    answerable: bool
    relevant: list[Judgement] = []
    nuggets: list[str] = []
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    notes: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EvalItem:
        if not self.id.startswith(f"{SET_VERSION}-"):
            raise ValueError(f"id {self.id!r} must start with the set version '{SET_VERSION}-'")
        if self.answerable != (self.category in ANSWERABLE_CATEGORIES):
            raise ValueError(f"category {self.category!r} does not match answerable={self.answerable}")
        if self.answerable and not self.relevant:
            raise ValueError("an answerable question needs at least one relevant judgement")
        if not self.answerable and (self.relevant or self.nuggets):
            raise ValueError("an unanswerable question has no relevant judgements or nuggets")
        return self


class Conversation(_Strict):
    """Two turns; turn 2 is a follow-up that only makes sense with turn 1 (\"what about its PFS?\")."""

    id: str
    turns: list[str] = Field(min_length=2, max_length=2)
    # The entity of turn 1 that the rewritten turn-2 query must name (any of these surface forms).
    entity: list[str] = Field(min_length=1)
    relevant: list[Judgement] = Field(min_length=1)  # for turn 2
    nuggets: list[str] = []
    category: Literal[ANSWERABLE_CATEGORIES]  # type: ignore[valid-type]
    notes: str | None = None

    @field_validator("entity", mode="before")
    @classmethod
    def _entity_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _versioned(self) -> Conversation:
        if not self.id.startswith(f"{SET_VERSION}-"):
            raise ValueError(f"id {self.id!r} must start with the set version '{SET_VERSION}-'")
        return self


def set_path(name: str | Path) -> Path:
    """A set name (``review-test``) or a path to a .jsonl file."""
    path = Path(name)
    if path.suffix == ".jsonl" or path.exists():
        if not path.is_file():
            raise MesochatError(f"eval set file {path} does not exist; pass a .jsonl file or one of {', '.join(SET_NAMES)}")
        return path
    candidate = SETS_DIR / f"{name}.jsonl"
    if not candidate.is_file():
        raise MesochatError(f"unknown eval set {str(name)!r}; use one of {', '.join(SET_NAMES)} or a path to a .jsonl file")
    return candidate


def _read_jsonl(path: Path, model: type[BaseModel]) -> list[Any]:
    items, seen = [], set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = model.model_validate(json.loads(line))
        except json.JSONDecodeError as err:
            raise MesochatError(f"{path.name} line {lineno}: not valid JSON ({err.msg}); fix the line") from None
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "item"
            raise MesochatError(f"{path.name} line {lineno}: {where}: {first['msg']}; fix the line") from None
        if item.id in seen:
            raise MesochatError(f"{path.name} line {lineno}: duplicate id {item.id!r}; ids must be unique")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise MesochatError(f"eval set {path} is empty; add at least one JSON line")
    return items


def is_conversation_set(path: Path) -> bool:
    return path.name.startswith("conversations")


def load_set(name: str | Path) -> list[Any]:
    """The questions of a set: v1 ``EvalItem``s, or ``EvalItemV2``s for a v2 set (name or file with '-v2')."""
    from evals.sets_v2 import EvalItemV2, is_v2
    from evals.sets_v3 import EvalItemV3, is_v3

    path = set_path(name)
    if is_conversation_set(path):
        raise MesochatError(f"{path.name} is a conversation set; use it with `mesochat eval answers --conversations`")
    model = EvalItemV3 if is_v3(path.name) else EvalItemV2 if is_v2(path.name) else EvalItem
    return _read_jsonl(path, model)


def load_conversations(name: str | Path) -> list[Any]:
    from evals.sets_v2 import ConversationV2, is_v2
    from evals.sets_v3 import ConversationV3, is_v3

    path = set_path(name)
    model = ConversationV3 if is_v3(path.name) else ConversationV2 if is_v2(path.name) else Conversation
    return _read_jsonl(path, model)


# --- resolution ------------------------------------------------------------------------------------------


def _ws_pattern(span: str) -> re.Pattern:
    """The span with any run of whitespace matching any run (rendered text may wrap differently)."""
    return re.compile(r"\s+".join(re.escape(w) for w in span.split()))


def span_occurrences(text: str, span: str) -> list[tuple[int, int]]:
    """Character ranges where ``span`` occurs in ``text`` (verbatim, whitespace-tolerant)."""
    return [(m.start(), m.end()) for m in _ws_pattern(span).finditer(text)]


class Resolver:
    """Maps judgements to the chunk ids of one index (or of any list of chunks)."""

    def __init__(self, chunks: Iterable[Any], doc_text: Callable[[str], str]):
        self._by_doc: dict[str, list[Any]] = {}
        self._by_record: dict[str, list[str]] = {}
        for c in chunks:
            self._by_doc.setdefault(c.doc_id, []).append(c)
            if c.record_id:
                self._by_record.setdefault(c.record_id, []).append(c.id)
        self._doc_text = doc_text
        self._text_cache: dict[str, str | None] = {}

    @classmethod
    def for_index(cls, index: Any) -> Resolver:
        return cls(index.chunks.values(), index.doc_text)

    def _text(self, doc_id: str) -> str | None:
        if doc_id not in self._text_cache:
            try:
                self._text_cache[doc_id] = self._doc_text(doc_id)
            except (KeyError, MesochatError):
                self._text_cache[doc_id] = None
        return self._text_cache[doc_id]

    def resolve(self, judgement: Judgement) -> set[str]:
        if judgement.record_id:
            return set(self._by_record.get(judgement.record_id, ()))
        chunks = self._by_doc.get(judgement.doc_id, [])
        text = self._text(judgement.doc_id)
        if not chunks or text is None:
            return set()
        found: set[str] = set()
        for start, end in span_occurrences(text, judgement.span):
            need = min(MIN_OVERLAP_CHARS, end - start)
            for c in chunks:
                if min(end, c.char_end) - max(start, c.char_start) >= need:
                    found.add(c.id)
        return found

    def qrels(self, items: Iterable[EvalItem | Conversation]) -> tuple[dict[str, dict[str, int]], list[str]]:
        """({question id: {chunk id: 1}}, ids of answerable items none of whose judgements resolved)."""
        qrels: dict[str, dict[str, int]] = {}
        unresolved: list[str] = []
        for item in items:
            if not getattr(item, "answerable", True):
                continue
            ids: set[str] = set()
            for j in item.relevant:
                ids |= self.resolve(j)
            if ids:
                qrels[item.id] = {cid: 1 for cid in sorted(ids)}
            else:
                unresolved.append(item.id)
        return qrels, unresolved

    def is_relevant(self, judgements: Iterable[Judgement], chunk: Any) -> bool:
        return any(chunk.id in self.resolve(j) for j in judgements)


def span_relevant(judgements: Iterable[Judgement], doc_id: str, record_id: str | None, start: int, end: int,
                  doc_text: Callable[[str], str]) -> bool:
    """Is a cited range ``doc_id[start:end]`` inside something a judgement calls relevant?"""
    for j in judgements:
        if j.record_id and (j.record_id == record_id or j.record_id == doc_id):
            return True
        if j.doc_id == doc_id and j.span:
            for s, e in span_occurrences(doc_text(doc_id), j.span):
                if min(e, end) - max(s, start) >= min(MIN_OVERLAP_CHARS, e - s):
                    return True
    return False


def check_against_documents(items: Iterable[EvalItem | Conversation], record_ids: set[str],
                            doc_texts: Mapping[str, str]) -> list[str]:
    """Problems with a set's judgements (unknown record ids, spans not verbatim in their document)."""
    from evals.sets_v2 import judgements

    problems = []
    for item in items:
        for j in (item.relevant if isinstance(item, (EvalItem, Conversation)) else judgements(item)):
            if j.record_id and j.record_id not in record_ids:
                problems.append(f"{item.id}: unknown record id {j.record_id!r}")
            elif j.doc_id:
                text = doc_texts.get(j.doc_id)
                if text is None:
                    problems.append(f"{item.id}: unknown doc_id {j.doc_id!r}")
                elif not span_occurrences(text, j.span):
                    problems.append(f"{item.id}: span not found verbatim in {j.doc_id!r}: {j.span!r}")
    return problems
