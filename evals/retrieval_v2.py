"""The v2 retrieval sets (``retrieval-v2-dev``, ``retrieval-v2-test``): judged at record-and-field level.

A v1 judgement ``{"record_id": X}`` makes every chunk of record X equally relevant, so a retriever that
ranks X's "Names" passage first scores as well as one that ranks the chunk holding the asked figure first.
A v2 retrieval judgement names the field too: ``{"record_id": "trial:checkmate-743", "field": "n_randomised"}``
(a trial result adds its ``label``, e.g. ``"overall survival (3-year update)"``, since results are many).
Resolved at run time against the index (no chunk ids in the set):

- grade 2: the chunks holding the field (overlapping its span in the record's rendered text,
  ``indexing.render.render_fields``);
- grade 1: every other chunk of the record;
- review prose keeps v1's ``{"doc_id": "review", "span": ...}``, grade 2.

nDCG@10 is graded; ``hit_rate@k-l2`` / ``mrr@10-l2`` count only the field's chunk, ``hit_rate@5`` any chunk
of the record. Item ids start with ``r2-``. The questions are those of review-v2-{dev,test} that ask one
record for one attribute (or a definition, the review's prose, a reference), in the same split.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from evals.sets import MIN_OVERLAP_CHARS, SETS_DIR, Resolver, _read_jsonl, _Strict, span_occurrences
from kernel.errors import MesochatError

PREFIX = "r2-"
SET_NAMES = ("retrieval-v2-dev", "retrieval-v2-test")
CATEGORIES = ("attribute", "definition", "review-prose", "reference")
METRICS = ("ndcg@10", "hit_rate@1-l2", "hit_rate@5-l2", "mrr@10-l2", "hit_rate@5", "recall@100")


class FieldJudgement(_Strict):
    """A field of a record (``record_id`` + ``field`` [+ ``label``]) or a verbatim span of a document."""

    record_id: str | None = None
    field: str | None = None
    label: str | None = None
    doc_id: str | None = None
    span: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FieldJudgement:
        if self.record_id is not None:
            if not self.field or self.doc_id or self.span:
                raise ValueError("a field judgement is {record_id, field[, label]}")
        elif not (self.doc_id and self.span) or self.field or self.label:
            raise ValueError("a judgement needs record_id with field, or doc_id with span")
        return self


class RetrievalItemV2(_Strict):
    id: str
    question: str = Field(min_length=1)
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    attribute: str | None = None
    relevant: list[FieldJudgement] = Field(min_length=1)
    source: str | None = Field(default=None, alias="from")  # the review-v2 item the question comes from
    answerable: bool = True

    @model_validator(mode="after")
    def _versioned(self) -> RetrievalItemV2:
        if not self.id.startswith(PREFIX):
            raise ValueError(f"id {self.id!r} must start with {PREFIX!r}")
        return self


def is_retrieval_v2(name: str | Path) -> bool:
    return Path(str(name)).name.startswith("retrieval-v2")


def load(name: str | Path) -> list[RetrievalItemV2]:
    path = Path(name)
    if path.suffix != ".jsonl":
        path = SETS_DIR / f"{name}.jsonl"
    if not path.is_file():
        raise MesochatError(f"retrieval set {path} does not exist; use one of {', '.join(SET_NAMES)}")
    return _read_jsonl(path, RetrievalItemV2)  # the eval sets' reader: line errors, duplicate ids, empty file


class FieldResolver:
    """Graded chunk qrels of v2 retrieval items over one index (or any chunks + document texts)."""

    def __init__(self, chunks: Iterable[Any], doc_text, records: Iterable[Any] | None = None):
        from indexing.render import record_names, render_fields

        chunks = list(chunks)
        self._spans = Resolver(chunks, doc_text)
        self._by_doc: dict[str, list[Any]] = {}
        for c in chunks:
            self._by_doc.setdefault(c.doc_id, []).append(c)
        if records is None:
            from corpus import load_records

            records = load_records()
        records = list(records)
        names = record_names(records)
        self._doc_text = doc_text
        self._records = {r.id: r for r in records}
        self._render = lambda rid: render_fields(self._records[rid], names)
        self._fields: dict[str, list[tuple[str, str, int, int]]] = {}

    def fields(self, record_id: str) -> list[tuple[str, str, int, int]]:
        """(key, label, start, end) of each field of the record, in the indexed text's offsets."""
        if record_id not in self._fields:
            out = []
            if record_id in self._records and record_id in self._by_doc:
                rendered = self._render(record_id)
                indexed = self._doc_text(record_id)
                for f in rendered.fields:
                    start, end = f.start, f.end
                    if rendered.text != indexed:  # an index of other records: find the field's text
                        found = span_occurrences(indexed, rendered.text[f.start:f.end])
                        if not found:
                            continue
                        start, end = found[0]
                    out.append((f.key, f.label, start, end))
            self._fields[record_id] = out
        return self._fields[record_id]

    def field_chunks(self, j: FieldJudgement) -> set[str]:
        spans = [(s, e) for key, label, s, e in self.fields(j.record_id)
                 if key.split(":")[0] == j.field and (j.label is None or label == j.label)]
        found = set()
        for s, e in spans:
            need = min(MIN_OVERLAP_CHARS, e - s)
            found |= {c.id for c in self._by_doc.get(j.record_id, []) if min(e, c.char_end) - max(s, c.char_start) >= need}
        return found

    def qrels(self, items: Iterable[RetrievalItemV2]) -> tuple[dict[str, dict[str, int]], list[str]]:
        from evals.sets import Judgement

        qrels: dict[str, dict[str, int]] = {}
        unresolved = []
        for item in items:
            graded: dict[str, int] = {}
            for j in item.relevant:
                if j.record_id:
                    top = self.field_chunks(j)
                    if not top:
                        continue  # the field is gone: the record alone would reward the wrong chunk
                    for cid in self._spans.resolve(Judgement(record_id=j.record_id)):
                        graded[cid] = max(graded.get(cid, 0), 1)
                else:
                    top = self._spans.resolve(Judgement(doc_id=j.doc_id, span=j.span))
                for cid in top:
                    graded[cid] = 2
            if any(v == 2 for v in graded.values()):
                qrels[item.id] = graded
            else:
                unresolved.append(item.id)
        return qrels, unresolved


def check(items: Iterable[RetrievalItemV2], resolver: FieldResolver) -> list[str]:
    """Problems: a judged field that no chunk holds (renamed field, unknown record, wrong label)."""
    problems = []
    for item in items:
        for j in item.relevant:
            if j.record_id and not resolver.field_chunks(j):
                problems.append(f"{item.id}: no chunk holds {j.record_id} {j.field} {j.label or ''}".strip())
    return problems
