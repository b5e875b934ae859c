"""Fusion and MMR on hand-checked rankings; modes, filters and MMR on the real review index."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.retrieve import fusion
from assistant.retrieve.retrieval import (
    Hit,
    Retriever,
    _and_where,
    asked_fields,
    asks_list_of,
    chunk_fields,
    named_records,
)
from indexing.bm25 import BM25Index, bm25_text, field_label, rm3_query
from kernel.chunk import Chunk
from kernel.config import Config, RetrievalConfig
from kernel.errors import MesochatError

A = [("a", 3.0), ("b", 2.0), ("c", 1.0)]
B = [("b", 10.0), ("d", 6.0)]


# --- fusion: values computed by hand -------------------------------------------------------


def test_rrf_sums_reciprocal_ranks():
    got = fusion.rrf([A, B], k=60)
    assert got == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62})
    weighted = fusion.rrf([A, B], weights=[2.0, 0.5], k=1)
    assert weighted == pytest.approx({"a": 2 / 2, "b": 2 / 3 + 0.5 / 2, "c": 2 / 4, "d": 0.5 / 3})


def test_minmax_weighted_sum_missing_is_zero():
    # A -> a 1, b 0.5, c 0; B -> b 1, d 0.
    got = fusion.minmax([A, B], weights=[0.3, 0.7])
    assert got == pytest.approx({"a": 0.3, "b": 0.3 * 0.5 + 0.7, "c": 0.0, "d": 0.0})


def test_zscore_missing_gets_the_lists_worst_z():
    # A: mean 2, sd sqrt(2/3) -> z(a) = sqrt(1.5), z(c) = -sqrt(1.5); B: mean 8, sd 2 -> z(b) 1, z(d) -1.
    z = math.sqrt(1.5)
    got = fusion.zscore([A, B])
    assert got == pytest.approx({"a": z - 1, "b": 0 + 1, "c": -z - 1, "d": -z - 1})
    assert fusion.ranked(got)[:2] == [("b", pytest.approx(1.0)), ("a", pytest.approx(z - 1))]


def test_dbsf_bounds_are_mean_plus_minus_three_sd():
    sd_a = math.sqrt(2 / 3)
    lo, span = 2 - 3 * sd_a, 6 * sd_a
    got = fusion.dbsf([A, B])
    assert got == pytest.approx(
        {"a": (3 - lo) / span, "b": (2 - lo) / span + (10 - 2) / 12, "c": (1 - lo) / span, "d": (6 - 2) / 12}
    )


def test_fusion_edge_cases():
    assert fusion.zscore([[], []]) == {}
    assert fusion.minmax([[("x", 5.0)], []]) == {"x": 1.0}  # a single hit is the list's best
    assert fusion.zscore([[("x", 2.0), ("y", 2.0)]]) == {"x": 0.0, "y": 0.0}  # no spread: no preference
    assert fusion.ranked({"b": 1.0, "a": 1.0, "c": 2.0}) == [("c", 2.0), ("a", 1.0), ("b", 1.0)]
    with pytest.raises(ValueError):
        fusion.rrf([A, B], weights=[1.0])
    with pytest.raises(ValueError):
        fusion.fuse("borda", [A, B])


def test_max_pool_keeps_each_groups_best_chunk():
    chunks = [("d1#a", 0.9), ("d2#a", 0.8), ("d1#b", 0.95), ("d3#a", 0.1)]
    assert fusion.max_pool(chunks, lambda c: c.split("#")[0]) == [("d1", 0.95), ("d2", 0.8), ("d3", 0.1)]


def test_boost_adds_the_weight_to_chosen_ids_and_a_filter_keeps_only_them():
    fused = {"a": 1.0, "b": 0.5, "c": -1.0}
    assert fusion.boost(fused, lambda k: k == "c", 3.0) == {"a": 1.0, "b": 0.5, "c": 2.0}
    assert fusion.boost(fused, lambda k: k in "bc", -2.0) == {"a": 1.0, "b": -1.5, "c": -3.0}
    assert fusion.boost(fused, lambda k: k == "c", 3.0, only=True) == {"c": 2.0}
    assert fusion.boost(fused, lambda k: False, 3.0, only=True) == fused  # a filter never empties the list


def test_named_records_are_the_things_and_references_a_plan_names():
    plan = SimpleNamespace(entity_ids=["trial:checkmate-743", "agent:nivolumab"], ref_numbers=[36, 36])
    assert named_records(plan) == ("trial:checkmate-743", "agent:nivolumab", "ref:36")
    assert named_records(SimpleNamespace(entity_ids=[], ref_numbers=[])) == ()


@pytest.mark.parametrize("question, cited", [
    ("Which paper in the reference list reported ATOMIC-Meso?", True),
    ("Which reference is the NICE appraisal of nivolumab with ipilimumab?", True),
    ("who published CheckMate 743 and where?", True),
    ("What was the median overall survival in ATOMIC-Meso?", False),
])
def test_a_bibliographic_question_names_the_references_its_records_cite(question, cited):
    plan = SimpleNamespace(question=question, entity_ids=["trial:atomic-meso"], ref_numbers=[], linked_refs=["ref:36"])
    assert ("ref:36" in named_records(plan)) is cited
    off = RetrievalConfig(named_cited_refs=False)
    assert named_records(plan, off) == ("trial:atomic-meso",)


def test_a_list_question_names_the_related_records_of_the_kind_it_asks():
    plan = SimpleNamespace(question="which trials tested pembrolizumab?", entity_ids=["agent:pembrolizumab"],
                           ref_numbers=[], related=["trial:promise-meso", "term:pd-1", "agent:nivolumab"])
    assert named_records(plan) == ("agent:pembrolizumab", "trial:promise-meso")
    assert named_records(plan, RetrievalConfig(named_related_kind=False)) == ("agent:pembrolizumab",)
    plan.question = "what was the ORR with pembrolizumab?"
    assert named_records(plan) == ("agent:pembrolizumab",)
    assert asks_list_of("Which anti-CTLA-4 antibodies were tested?") == "agent"


@pytest.mark.parametrize("question, names", [
    ("Which partners does the review propose combining with ICIs?", True),
    ("Under which licence is this mesothelioma review published?", True),
    ("what does the Xia review say about BAP1?", True),
    ("ORR by blinded independent central review in the trial?", False),
    ("Was the response assessed by independent review?", False),
    ("reviewed by the FDA under priority review", False),
])
def test_a_question_naming_the_review_names_the_review_document(question, names):
    from assistant.understand.query import QueryPlan

    plan = QueryPlan(question=question, search_text=question, embed_text=question, terms=[], question_terms=[])
    assert plan.names_review is names
    assert ("review" in named_records(plan)) is names


def test_named_review_off_drops_the_review_document():
    index = _TinyIndex()
    index.chunks = {**index.chunks, "review#0": Chunk(
        id="review#0", doc_id="review", title="", text="asbestos", section="Abstract", char_start=0, char_end=8,
        page=None, source_type="review")}
    index.bm25 = BM25Index.build(list(index.chunks.values()))
    on = Retriever(index, Config().retrieval.model_copy(update={"named_review": True}))
    off = Retriever(index, Config().retrieval.model_copy(update={"named_review": False}))
    q = "asbestos exposure"
    assert on.retrieve(q, k=1, named=("review",))[0].chunk.id == "review#0"  # the review's chunk is boosted
    assert off.retrieve(q, k=4, named=("review",)) == off.retrieve(q, k=4)  # name-blind for the review


def test_named_candidates_respect_the_callers_filter():
    named = {"record_id": {"$in": ["trial:a", "agent:b"]}}
    assert _and_where(None, named) == named
    assert _and_where({"record_type": "trial"}, named) == {"record_type": "trial", **named}
    both = _and_where({"record_id": {"$in": ["trial:a", "trial:z"]}}, named)
    assert both == {"record_id": {"$in": ["trial:a"]}}
    assert _and_where({"record_id": "agent:b"}, named) == {"record_id": {"$in": ["agent:b"]}}


def _chunk(text: str, title: str, section: str, source_type: str = "record") -> Chunk:
    return Chunk(id="d#1", doc_id="d", title=title, text=text, section=section, char_start=0, char_end=len(text),
                 page=None, source_type=source_type, record_id="d" if source_type == "record" else None,
                 record_type="trial" if source_type == "record" else None, metadata={})


def test_bm25_text_weights_the_title_and_the_field_label():
    result = _chunk("CheckMate 743, overall survival: 18.1 months.", "CheckMate 743",
                    "Trial > Results > overall survival")
    assert field_label(result) == "overall survival"
    assert bm25_text(result) == "Trial > Results > overall survival\nCheckMate 743, overall survival: 18.1 months."
    # the title counted twice in all (the text names it once), the label once more than the section does
    assert bm25_text(result, title_weight=2, field_weight=1).split("\n")[:2] == ["CheckMate 743", "overall survival"]
    names = _chunk("Other names for X: Y.", "CheckMate 743", "Trial > Names")
    assert bm25_text(names, title_weight=3).split("\n")[:3] == ["CheckMate 743"] * 3
    assert bm25_text(names, title_weight=0) == "Trial > Names\nOther names for X: Y."
    main = _chunk("CheckMate 743 is a phase 3 trial.", "CheckMate 743", "Trial")
    assert field_label(main) == ""  # a record's main section is named by its type alone
    assert field_label(_chunk("text", "A title", "Abstract", source_type="beir")) == "Abstract"


def _doc(doc_id: str, text: str) -> Chunk:
    return Chunk(id=doc_id, doc_id=doc_id, title="", text=text, section="", char_start=0, char_end=len(text),
                 page=None, source_type="beir", record_id=None, record_type=None, metadata={})


def test_weighted_bm25_query_sums_each_terms_score_times_its_weight():
    index = BM25Index.build([_doc("a", "asbestos exposure causes mesothelioma"), _doc("b", "asbestos in old buildings"),
                             _doc("c", "pemetrexed and cisplatin chemotherapy")], keep_terms=True)
    plain = dict(index.search("asbestos mesothelioma", 10))
    # weight 1 on each analysed term is the plain query
    assert dict(index.search_weighted({"asbesto": 1.0, "mesothelioma": 1.0}, 10)) == pytest.approx(plain)
    one = dict(index.search_weighted({"mesothelioma": 1.0}, 10))
    assert dict(index.search_weighted({"mesothelioma": 0.5}, 10)) == pytest.approx({k: v / 2 for k, v in one.items()})
    assert index.search_weighted({"unknownterm": 1.0}, 10) == []
    assert [d for d, _ in index.search_weighted({"cisplatin": 1.0}, 10, where={"doc_id": "a"})] == []


def test_rm3_feedback_model_and_interpolation():
    index = BM25Index.build([_doc("a", "asbestos asbestos fibre"), _doc("b", "fibre glass")], keep_terms=True)
    # equal scores: each text weighs 1/2; a: asbesto 2/3, fibr 1/3; b: fibr 1/2, glass 1/2
    model = index.feedback_terms([("a", 1.0), ("b", 1.0)], n_terms=10)
    assert model == pytest.approx({"asbesto": 1 / 3, "fibr": 5 / 12, "glass": 1 / 4})
    top = index.feedback_terms([("a", 1.0), ("b", 1.0)], n_terms=2)  # the two largest, renormalised
    assert top == pytest.approx({"fibr": 5 / 9, "asbesto": 4 / 9})
    assert index.feedback_terms([("zzz", 1.0)], 5) == {}
    query = rm3_query("asbestos glass", {"fibr": 1.0}, original_weight=0.7)
    assert query == pytest.approx({"asbesto": 0.35, "glass": 0.35, "fibr": 0.3})
    assert rm3_query("asbestos", {"asbesto": 1.0}, 0.5) == pytest.approx({"asbesto": 1.0})
    with pytest.raises(MesochatError):
        BM25Index.build([_doc("a", "fibre glass")]).feedback_terms([("a", 1.0)], 5)  # built without its terms


class _TinyIndex:
    """What Retriever uses of an index, over three two-chunk documents with fixed dense vectors."""

    def __init__(self):
        texts = {"d1": ("asbestos exposure", "mesothelioma of the pleura"),
                 "d2": ("asbestos mesothelioma pleura", "unrelated words here"),
                 "d3": ("cisplatin", "pemetrexed")}
        self.chunks, self._docs = {}, {}
        for d, parts in texts.items():
            self._docs[d] = " ".join(parts)
            for i, t in enumerate(parts):
                start = 0 if i == 0 else len(parts[0]) + 1
                c = Chunk(id=f"{d}#{i}", doc_id=d, title="", text=t, section="", char_start=start,
                          char_end=start + len(t), page=None, source_type="beir", record_id=None, record_type=None)
                self.chunks[c.id] = c
        self.bm25 = BM25Index.build(list(self.chunks.values()))

    def doc_text(self, doc_id):
        return self._docs[doc_id]

    def embed_query(self, text):
        return np.array([1.0, 0.0])

    def embed_texts(self, texts):  # sentence vectors: only d1's second sentence points the query's way
        self.embedded = getattr(self, "embedded", 0) + len(texts)
        table = {"mesothelioma of the pleura": [1.0, 0.0], "asbestos mesothelioma pleura": [0.6, 0.8]}
        return np.array([table.get(t, [0.0, 1.0]) for t in texts], dtype=np.float32)

    def dense_search(self, vec, k, where=None):
        return [("d3#0", 0.3), ("d1#0", 0.2), ("d2#0", 0.1)][:k]

    def bm25_search(self, query, k, where=None):
        return self.bm25.search(query, k, where)


def test_document_bm25_scores_whole_documents_and_is_built_once():
    index = _TinyIndex()
    q = "asbestos mesothelioma pleura"
    by_chunk = Retriever(index, Config().retrieval.model_copy(update={"doc_bm25_unit": "chunk"}))
    by_doc = Retriever(index, Config().retrieval.model_copy(update={"doc_bm25_unit": "document", "doc_rm3_docs": 0}))
    # best chunk: d2's first chunk holds all three terms, d1's are split over two chunks
    assert [d for d, _ in by_chunk.retrieve_docs(q, k=3, mode="bm25")][:1] == ["d2"]
    whole = by_doc.retrieve_docs(q, k=3, mode="bm25")
    assert {d for d, _ in whole} == {"d1", "d2"}  # d1's whole text now matches every term
    built = index._document_bm25[1]
    assert dict(whole) == pytest.approx(dict(built.search(q, 3)))
    by_doc.retrieve_docs("cisplatin", k=3, mode="bm25")
    assert index._document_bm25[1] is built  # kept on the index for the same parameters
    rm3 = Retriever(index, Config().retrieval.model_copy(update={"doc_bm25_unit": "document", "doc_rm3_docs": 2}))
    assert len(rm3.retrieve_docs(q, k=3, mode="hybrid")) == 3
    assert by_doc.retrieve_docs(q, k=3, mode="dense") == by_chunk.retrieve_docs(q, k=3, mode="dense")


def test_document_dense_score_adds_the_best_sentence():
    index = _TinyIndex()
    on = Retriever(index, RetrievalConfig(doc_sentence_weight=1.0))
    off = Retriever(index, RetrievalConfig(doc_sentence_weight=0.0))
    assert [d for d, _ in off.retrieve_docs("q", k=3, mode="dense")] == ["d3", "d1", "d2"]  # best chunk only
    # d1 0.2 + 1.0; d3 (no sentence of 12+ characters) 0.3 + the lowest sentence score 0.6; d2 0.1 + 0.6
    ranked = on.retrieve_docs("q", k=3, mode="dense")
    assert [d for d, _ in ranked] == ["d1", "d3", "d2"]
    assert [s for _, s in ranked] == pytest.approx([1.2, 0.9, 0.7])
    assert index.embedded == 4  # each sentence embedded once, on first use
    on.retrieve_docs("q", k=3, mode="hybrid")
    assert index.embedded == 4
    # a filtered search keeps the best-chunk scores (the sentence search knows no filters)
    where = {"doc_id": {"$in": ["d1", "d3"]}}
    assert on.retrieve_docs("q", k=3, mode="dense", where=where) == off.retrieve_docs("q", k=3, mode="dense", where=where)


# --- MMR -----------------------------------------------------------------------------------


def test_mmr_skips_a_near_duplicate_and_lambda_one_keeps_order():
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    cands = [("x", 1.0), ("x-copy", 0.9), ("y", 0.5)]
    vecs = np.stack([e1, e1, e2])
    # relevance rescaled to 1, 0.8, 0; step 2 gains: x-copy 0.5*0.8 - 0.5*1 = -0.1, y 0.5*0 - 0 = 0.
    assert fusion.mmr(cands, vecs, k=3, lambda_=0.5) == [0, 2, 1]
    assert fusion.mmr(cands, vecs, k=3, lambda_=1.0) == [0, 1, 2]
    # with lambda 0.9 the duplicate still wins: 0.9*0.8 - 0.1*1 = 0.62 > 0.
    assert fusion.mmr(cands, vecs, k=2, lambda_=0.9) == [0, 1]
    assert fusion.mmr(cands, vecs, k=0) == []
    assert fusion.mmr([], np.zeros((0, 2)), k=3) == []


def test_cap_per_group_keeps_order_and_at_most_cap_per_group():
    items = [("a#1", 5.0), ("a#2", 4.0), ("b#1", 3.0), ("a#3", 2.0), ("b#2", 1.0)]
    doc = lambda cid: cid.split("#")[0]
    assert fusion.cap_per_group(items, doc, 1) == [("a#1", 5.0), ("b#1", 3.0)]
    assert fusion.cap_per_group(items, doc, 2) == [("a#1", 5.0), ("a#2", 4.0), ("b#1", 3.0), ("b#2", 1.0)]


# --- the real review index -----------------------------------------------------------------


@pytest.fixture(scope="module")
def retriever(review_home):
    from indexing import open_index

    return Retriever(open_index(Config.load(home=review_home)))


def _pairwise_mean_cosine(retriever, hits):
    v = retriever.index.chunk_embeddings([h.chunk.id for h in hits])
    s = v @ v.T
    n = len(hits)
    return (s.sum() - n) / (n * (n - 1))


def test_modes_report_where_each_hit_came_from(retriever):
    q = "nivolumab plus ipilimumab first-line overall survival CheckMate 743"
    dense = retriever.retrieve(q, k=6, mode="dense", mmr_lambda=1.0)
    bm25 = retriever.retrieve(q, k=6, mode="bm25", mmr_lambda=1.0)
    hybrid = retriever.retrieve(q, k=6, mode="hybrid", mmr_lambda=1.0)
    assert len(dense) == len(bm25) == len(hybrid) == 6
    assert all(isinstance(h, Hit) for h in hybrid)
    assert all(h.dense_rank and h.bm25_rank is None and -1 <= h.dense_score <= 1 for h in dense)
    assert all(h.bm25_rank and h.dense_rank is None and h.bm25_score > 0 for h in bm25)
    assert [h.dense_rank for h in dense] == [1, 2, 3, 4, 5, 6]
    assert all(h.dense_rank or h.bm25_rank for h in hybrid)
    scores = [h.score for h in hybrid]
    assert scores == sorted(scores, reverse=True)
    # hybrid draws on both lists: its top chunks include the best of each retriever
    top_ids = {h.chunk.id for h in hybrid}
    assert dense[0].chunk.id in top_ids or bm25[0].chunk.id in top_ids
    assert any("743" in h.chunk.text for h in bm25[:3])


def test_exact_term_is_found_by_bm25_and_hybrid(retriever):
    for mode in ("bm25", "hybrid"):
        hits = retriever.retrieve("argininosuccinate synthetase ASS1 deficiency", k=5, mode=mode)
        assert any("ASS1" in h.chunk.text or h.chunk.record_id == "biomarker:ass1" for h in hits), mode


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_filters_reach_both_retrievers(retriever, mode):
    hits = retriever.retrieve("PD-L1 expression and response", k=8, mode=mode, where={"record_type": "trial"})
    assert hits and all(h.chunk.record_type == "trial" for h in hits)
    only = retriever.retrieve(
        "immunotherapy resistance", k=5, mode=mode, where={"doc_id": {"$in": ["review"]}}
    )
    assert only and {h.chunk.doc_id for h in only} == {"review"}
    assert retriever.retrieve("immunotherapy", k=5, mode=mode, where={"doc_id": {"$in": []}}) == []


def test_mmr_diversifies_the_hybrid_list(retriever):
    q = "mechanisms of resistance to immune checkpoint inhibitors in mesothelioma"
    plain = retriever.retrieve(q, k=6, mmr_lambda=1.0)
    diverse = retriever.retrieve(q, k=6, mmr_lambda=0.3)
    assert len(diverse) == 6 and len({h.chunk.id for h in diverse}) == 6
    assert diverse[0].chunk.id == plain[0].chunk.id  # MMR always starts with the most relevant hit
    assert _pairwise_mean_cosine(retriever, diverse) < _pairwise_mean_cosine(retriever, plain)


@pytest.mark.parametrize("lam", [1.0, 0.5])
def test_top_hits_do_not_depend_on_k(retriever, lam):
    """The candidate pool and the MMR pool are fixed, so a deeper list only adds hits after the first ones."""
    for q in ("nivolumab plus ipilimumab overall survival", "what limits CAR-T cells in the pleura?"):
        ten = [h.chunk.id for h in retriever.retrieve(q, k=10, mmr_lambda=lam)]
        hundred = [h.chunk.id for h in retriever.retrieve(q, k=100, mmr_lambda=lam)]
        assert len(ten) == 10 and len(hundred) > 50 and hundred[:10] == ten


def test_max_per_doc_caps_chunks_of_one_document(retriever):
    q = "immunotherapy resistance mechanisms in mesothelioma"
    plain = retriever.retrieve(q, k=20)
    assert max(sum(h.chunk.doc_id == d for h in plain) for d in {h.chunk.doc_id for h in plain}) > 1
    capped = retriever.with_config(max_per_doc=1).retrieve(q, k=20)
    docs = [h.chunk.doc_id for h in capped]
    assert len(capped) == 20 and len(set(docs)) == len(docs)
    assert capped[0].chunk.id == plain[0].chunk.id


def test_retrieve_docs_pools_chunks_to_unique_documents(retriever):
    docs = retriever.retrieve_docs("pleural mesothelioma chemotherapy pemetrexed cisplatin", k=10)
    ids = [d for d, _ in docs]
    assert 0 < len(ids) <= 10 and len(set(ids)) == len(ids)
    assert all(d in retriever.index.docs for d in ids)
    assert [s for _, s in docs] == sorted((s for _, s in docs), reverse=True)


def test_named_records_chunks_come_first_and_name_blind_is_unchanged(retriever):
    q = "how many patients were randomised?"  # names nothing: the record comes only from the caller
    blind = retriever.retrieve(q, k=10)
    assert retriever.retrieve(q, k=10, named=()) == blind
    named = retriever.retrieve(q, k=10, named=("trial:atomic-meso",))
    assert named[0].chunk.record_id == "trial:atomic-meso"
    assert "randomised" in named[0].chunk.text  # the named record's chunk that matches the question
    assert retriever.with_config(named_weight=0).retrieve(q, k=10, named=("trial:atomic-meso",))[:3] != named[:3]
    # dense and bm25 modes are name-blind by design (the measured baselines)
    assert retriever.retrieve(q, k=5, mode="bm25", named=("trial:atomic-meso",)) == retriever.retrieve(q, k=5, mode="bm25")
    only = retriever.with_config(named_filter=True).retrieve(q, k=10, named=("trial:atomic-meso",))
    assert only and {h.chunk.record_id for h in only} == {"trial:atomic-meso"}
    # a named id outside the caller's filter adds nothing
    filtered = retriever.retrieve(q, k=5, where={"record_type": "agent"}, named=("trial:atomic-meso",))
    assert filtered and all(h.chunk.record_type == "agent" for h in filtered)


def test_names_and_sources_passages_yield_to_the_chunk_holding_the_field(retriever):
    q = "CheckMate 743 nivolumab ipilimumab arms dose"
    plain = retriever.with_config(aux_penalty=0).retrieve(q, k=5, named=("trial:checkmate-743",))
    kept = retriever.retrieve(q, k=5, named=("trial:checkmate-743",))
    def unquotable(hits):
        return [h.chunk.section for h in hits if h.chunk.section.endswith((" > Names", " > Sources"))]
    assert len(unquotable(kept)) <= len(unquotable(plain))
    assert not kept[0].chunk.section.endswith((" > Names", " > Sources"))


def test_asked_fields_read_the_attribute_vocabulary():
    assert "population" in asked_fields("Who was eligible for CheckMate 743?")
    assert "registration" in asked_fields("NCT of ATOMIC-Meso")
    assert "measure:orr" in asked_fields("MAPS-2 ORR by arm")
    assert asked_fields("CheckMate 743") == ()


def test_chunk_fields_follow_the_rendered_field_spans(retriever):
    held = chunk_fields(retriever.index.chunks.values(), retriever.index.doc_text)
    cm = [c for c in retriever.index.chunks.values() if c.doc_id == "trial:checkmate-743"]
    arms = next(c for c in cm if c.section == "Trial > Arms")
    assert "arms" in held[arms.id]
    results = [c for c in cm if " > Results > " in c.section]
    assert results and all("result" in held[c.id] for c in results)
    assert any("measure:os" in held[c.id] for c in results)
    assert not any(c.record_type == "ref" for c in retriever.index.chunks.values() if c.id in held)


def test_the_named_records_chunk_holding_the_asked_field_comes_first(retriever):
    q = "Who was eligible for CheckMate 743?"
    on = retriever.retrieve(q, k=5, named=("trial:checkmate-743",))
    assert "population" in retriever._chunk_fields()[on[0].chunk.id]
    off = retriever.with_config(field_weight=0).retrieve(q, k=5, named=("trial:checkmate-743",))
    assert retriever.retrieve(q, k=5, named=("trial:checkmate-743",), fields=()) == off
    assert retriever.retrieve(q, k=5) == retriever.with_config(field_weight=0).retrieve(q, k=5)  # name-blind


def test_a_bibliographic_question_with_names_lifts_reference_entries(retriever):
    q = "Which reference is the NICE appraisal of nivolumab with ipilimumab?"
    named = ("agent:nivolumab", "agent:ipilimumab")
    def first_ref(hits):
        return next(i for i, h in enumerate(hits) if h.chunk.record_type == "ref")
    on = retriever.retrieve(q, k=20, named=named)
    off = retriever.with_config(biblio_ref_weight=0).retrieve(q, k=20, named=named)
    assert first_ref(on) <= first_ref(off)
    assert retriever.retrieve(q, k=10) == retriever.with_config(biblio_ref_weight=0).retrieve(q, k=10)  # name-blind


def test_bad_input_is_a_one_line_error(retriever):
    with pytest.raises(MesochatError, match="mode"):
        retriever.retrieve("x", mode="sparse")
    with pytest.raises(MesochatError, match="empty"):
        retriever.retrieve("   ")
    with pytest.raises(MesochatError, match="filter"):
        retriever.retrieve("nivolumab", where={"colour": "red"})
    assert retriever.retrieve("nivolumab", k=0) == []
    with pytest.raises(MesochatError, match="retrieval.fusion"):
        Config.load(config_file=None, environment=False, retrieval_fusion="borda")
