"""Metric code paths on tiny runs whose values are worked out by hand here."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from evals import metrics as M
from evals.answers_eval import contains, nugget_found
from evals.plots import plot_recall_curves
from evals.sets import Judgement, Resolver, span_relevant
from kernel.errors import MesochatError

# q1: relevant a, b; retrieved a (1st), x, b (3rd).  q2: relevant c; retrieved y, c (2nd).  q3: nothing found.
QRELS = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {"z": 1}}
RANKED = {"q1": ["a", "x", "b"], "q2": ["y", "c"], "q3": []}


def test_ranked_run_keeps_the_retriever_order_with_distinct_scores():
    run = M.ranked_run({"q": ["b", "a", "b", "c"]})  # duplicate dropped
    assert list(run["q"]) == ["b", "a", "c"]
    assert run["q"]["b"] > run["q"]["a"] > run["q"]["c"]


def test_metrics_equal_hand_computed_values():
    got = M.evaluate(QRELS, M.ranked_run(RANKED))
    ndcg_q1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    ndcg_q2 = 1 / math.log2(3)
    expected = {
        "ndcg@10": (ndcg_q1 + ndcg_q2 + 0) / 3,
        "recall@1": (0.5 + 0 + 0) / 3,
        "recall@5": (1 + 1 + 0) / 3,
        "recall@10": 2 / 3,
        "recall@100": 2 / 3,
        "mrr@10": (1 + 0.5 + 0) / 3,
    }
    assert set(got) == set(M.METRICS)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-9), name


def test_per_query_and_recall_curve():
    run = M.ranked_run(RANKED)
    pq = M.per_query(QRELS, run)
    assert pq["q1"]["recall@1"] == pytest.approx(0.5)
    assert pq["q2"]["mrr@10"] == pytest.approx(0.5)
    assert pq["q3"]["ndcg@10"] == 0
    curve = M.recall_curve(QRELS, run, [1, 2, 3])
    assert curve == pytest.approx({1: 1 / 6, 2: (0.5 + 1) / 3, 3: (1 + 1) / 3})


def test_missing_query_counts_as_zero_and_empty_qrels_is_an_error():
    assert M.evaluate({"q1": {"a": 1}}, {})["recall@5"] == 0
    with pytest.raises(MesochatError, match="no question"):
        M.evaluate({}, {"q1": {"a": 1.0}})


def test_trec_run_file_round_trip(tmp_path):
    run = M.ranked_run(RANKED)
    path = M.write_trec_run(run, tmp_path / "x" / "run.trec", "mesochat-bm25")
    lines = path.read_text().splitlines()
    assert lines[0] == "q1 Q0 a 1 3.000000 mesochat-bm25"
    assert lines[2] == "q1 Q0 b 3 1.000000 mesochat-bm25"
    assert all(len(line.split()) == 6 for line in lines)
    assert M.read_trec_run(path) == {q: d for q, d in run.items() if d}


def _chunk(cid, doc, start, end, record=None):
    return SimpleNamespace(id=cid, doc_id=doc, char_start=start, char_end=end, record_id=record)


def test_resolver_by_record_and_by_span_overlap():
    text = "Alpha beta gamma. The median OS was 18.1 months with nivolumab. Delta epsilon zeta eta theta."
    start = text.index("The median")
    end = text.index("Delta")
    chunks = [
        _chunk("d#1", "doc", 0, start + 10),  # holds only 10 chars of the span: below the 20-char minimum
        _chunk("d#2", "doc", start, end),  # holds the whole span
        _chunk("d#3", "doc", end - 30, len(text)),  # overlaps the span's last 30 chars
        _chunk("r#1", "trial:x", 0, 50, record="trial:x"),
        _chunk("r#2", "trial:x", 50, 90, record="trial:x"),
    ]
    resolver = Resolver(chunks, {"doc": text}.__getitem__)
    span = Judgement(doc_id="doc", span="The median OS was 18.1 months with nivolumab.")
    assert resolver.resolve(span) == {"d#2", "d#3"}
    assert resolver.resolve(Judgement(record_id="trial:x")) == {"r#1", "r#2"}
    assert resolver.resolve(Judgement(doc_id="doc", span="not in the text at all")) == set()
    assert resolver.resolve(Judgement(doc_id="other", span="Alpha")) == set()
    qrels, unresolved = resolver.qrels([
        SimpleNamespace(id="q1", answerable=True, relevant=[span]),
        SimpleNamespace(id="q2", answerable=True, relevant=[Judgement(record_id="trial:missing")]),
        SimpleNamespace(id="q3", answerable=False, relevant=[]),
    ])
    assert qrels == {"q1": {"d#2": 1, "d#3": 1}} and unresolved == ["q2"]
    # A citation of chars inside the span is relevant; one elsewhere in the document is not.
    assert span_relevant([span], "doc", None, start, start + 40, {"doc": text}.__getitem__)
    assert not span_relevant([span], "doc", None, 0, 15, {"doc": text}.__getitem__)


def test_judgements_survive_rechunking():
    """The same span judgement resolves, with different chunk ids, under two chunk sizes."""
    import indexing  # noqa: F401
    from indexing.chunker import chunk_document
    from indexing.sources import corpus_documents

    doc = next(d for d in corpus_documents() if d.doc_id == "trial:checkmate-743")
    span = Judgement(doc_id=doc.doc_id, span="Hazard ratio (HR) 0.74")
    found = []
    for size in (60, 400):
        chunks = chunk_document(doc, chunk_size=size, overlap=0)
        ids = Resolver(chunks, {doc.doc_id: doc.text}.__getitem__).resolve(span)
        assert ids and all(span.span in next(c.text for c in chunks if c.id == i) for i in ids)
        found.append(ids)
    assert found[0] != found[1]


def test_nugget_matching_is_whole_token_and_normalised():
    assert nugget_found("Median OS was 18.1 months [1].", "18.1")
    assert not nugget_found("Median OS was 118.1 months.", "18.1")
    assert not nugget_found("HR 18.15", "18.1")
    assert nugget_found("HR 0·74 (95% CI 0.60–0.91)", "0.74")
    assert nugget_found("ORR was 27.8%.", "27.8%")
    assert nugget_found("Reference 57: its text was Not Captured.", "not captured")
    assert contains("The trial randomised 605 patients.  It used IV dosing.", "the trial randomised 605 patients.")
    assert not contains("The trial randomised 605 patients.", "The trial randomised 600 patients.")


def test_recall_plot_is_a_png(tmp_path):
    path = plot_recall_curves({"bm25": {1: 0.5, 5: 0.9}, "hybrid": {1: 0.6, 5: 1.0}}, tmp_path / "p" / "r.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
