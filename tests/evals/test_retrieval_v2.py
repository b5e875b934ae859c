"""The v2 retrieval sets (record-and-field judgements), the hybrid-named eval mode and the ablation helpers."""

from __future__ import annotations

import json

import pytest

from evals import retrieval_v2
from evals.ablation import RECORDS_V2_TRIALS, chunk_all, merge_result_sections, review_documents
from evals.sets import load_set
from kernel.errors import MesochatError


@pytest.fixture(scope="module")
def corpus():
    docs = review_documents()
    chunks = chunk_all(docs)
    texts = {d.doc_id: d.text for d in docs}
    return docs, chunks, texts


@pytest.fixture(scope="module")
def resolver(corpus):
    _, chunks, texts = corpus
    return retrieval_v2.FieldResolver(chunks, texts.__getitem__)


def test_sets_are_versioned_split_like_their_sources_and_v1_is_untouched():
    dev, test = retrieval_v2.load("retrieval-v2-dev"), retrieval_v2.load("retrieval-v2-test")
    assert len(dev) >= 60 and len(test) >= 100
    assert all(i.id.startswith("r2-") for i in dev + test)
    # each question comes from the review-v2 item of the same split, worded as there
    for items, source in ((dev, "review-v2-dev"), (test, "review-v2-test")):
        by_id = {i.id: i for i in load_set(source)}
        assert all(i.source in by_id and by_id[i.source].question == i.question for i in items)
    assert {i.category for i in test} == set(retrieval_v2.CATEGORIES)
    assert all(i.id.startswith("v1-") for i in load_set("review-test"))


def test_every_field_judgement_resolves_to_the_chunk_holding_it(resolver, corpus):
    _, chunks, _ = corpus
    by_id = {c.id: c for c in chunks}
    for name in retrieval_v2.SET_NAMES:
        items = retrieval_v2.load(name)
        assert retrieval_v2.check(items, resolver) == []
        qrels, unresolved = resolver.qrels(items)
        assert unresolved == [] and set(qrels) == {i.id for i in items}
        for item in items:
            graded = qrels[item.id]
            best = {c for c, g in graded.items() if g == 2}
            assert best
            records = {j.record_id for j in item.relevant if j.record_id}
            # grade 1: the rest of the judged records, never another document
            assert all(by_id[c].doc_id in records for c, g in graded.items() if g == 1)
    # a trial result: only the chunk of that result, not the record's other results
    item = next(i for i in retrieval_v2.load("retrieval-v2-test") if i.attribute == "os")
    j = next(j for j in item.relevant if j.field == "result")
    held = resolver.field_chunks(j)
    assert held and all(j.label.split(" (")[0] in by_id[c].section for c in held)


def test_bad_lines_are_one_line_errors(tmp_path):
    path = tmp_path / "retrieval-v2-bad.jsonl"
    good = {"id": "r2-x-1", "question": "q?", "category": "attribute", "relevant": [{"record_id": "trial:a", "field": "arms"}]}
    for bad in ({**good, "id": "v2-x-1"}, {**good, "relevant": [{"record_id": "trial:a"}]}, {**good, "relevant": []}):
        path.write_text(json.dumps(bad) + "\n")
        with pytest.raises(MesochatError, match="line 1"):
            retrieval_v2.load(path)


def test_ablation_merges_result_sections_and_drops_the_new_trials(corpus):
    docs, _, _ = corpus
    trial = next(d for d in docs if d.doc_id == "trial:checkmate-743")
    assert sum(" > Results > " in s.path for s in trial.sections) > 1
    merged = merge_result_sections(trial)
    results = [s for s in merged.sections if s.path.endswith("Results")]
    assert len(results) == 1 and merged.text == trial.text
    assert not [s for s in merged.sections if " > Results > " in s.path]
    v1 = {d.doc_id for d in review_documents(records_v2=False)}
    assert not v1 & set(RECORDS_V2_TRIALS) and len(v1) == len(docs) - len(RECORDS_V2_TRIALS)


@pytest.mark.slow
def test_hybrid_named_and_field_metrics_on_the_review_index(review_home):
    from evals.retrieval_eval import evaluate_retrieval
    from kernel.config import Config

    settings = Config.load(home=review_home)
    report = evaluate_retrieval(settings, "retrieval-v2-dev", ["hybrid", "hybrid-named"], k=20, plot_path=False)
    d = report.to_dict()
    assert d["version"] == "r2" and d["metrics"] == list(retrieval_v2.METRICS)
    assert report.n_questions == len(retrieval_v2.load("retrieval-v2-dev")) and not report.unresolved
    blind, named = (report.modes[m].metrics for m in ("hybrid", "hybrid-named"))
    assert set(named) == set(retrieval_v2.METRICS)
    assert named["hit_rate@5-l2"] >= blind["hit_rate@5-l2"] and named["ndcg@10"] > blind["ndcg@10"]
    for miss in report.modes["hybrid-named"].misses:  # a miss: the field's chunk is not in the top 5
        assert not set(miss.missing) & set(miss.top)
    v1 = evaluate_retrieval(settings, "review-dev", ["hybrid-named"], k=20, plot_path=False)
    assert v1.to_dict()["version"] == "v1" and v1.modes["hybrid-named"].metrics["recall@5"] >= 0.85
