"""Index build and read side on real embedded Chroma, real MiniLM and bm25s."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from indexing import manifest as mf
from indexing.build import build_index
from indexing.chunker import chunk_document
from indexing.index import open_index
from indexing.store import ChromaStore
from kernel.errors import MesochatError
from tests.helpers import make_settings, synthetic_documents

pytestmark = pytest.mark.slow

CS = {"chunk_size": 40}


def expected_ids(docs, chunk_size=40, overlap=1) -> set[str]:
    return {c.id for d in docs for c in chunk_document(d, chunk_size, overlap)}


def chroma_ids(settings) -> set[str]:
    return ChromaStore(settings).all_ids()


def test_incremental_build_embeds_only_what_changed(tmp_path):
    s = make_settings(tmp_path, **CS)
    v0 = synthetic_documents(12)
    r = build_index(s, progress=False, documents=v0)
    ids0 = expected_ids(v0)
    assert (r.docs_added, r.docs_changed, r.docs_removed) == (12, 0, 0)
    assert r.chunks_embedded == r.chunks_total == len(ids0)
    assert chroma_ids(s) == ids0 == set(open_index(s).chunks)

    first_hash = open_index(s).manifest_hash
    r = build_index(s, progress=False, documents=synthetic_documents(12))
    assert r.up_to_date and r.chunks_embedded == 0 and r.docs_unchanged == 12
    assert r.summary() == f"Index up to date: 0 chunks embedded; {r.chunks_total} vectors, all reachable"
    assert open_index(s).manifest_hash == first_hash  # nothing rewritten

    # Version 1 rewrites syn:1, syn:6, syn:11; then syn:11 is dropped altogether.
    v1 = synthetic_documents(12, version=1)[:11]
    ids1 = expected_ids(v1)
    changed_new = expected_ids([d for d in v1 if d.doc_id in ("syn:1", "syn:6")])
    r = build_index(s, progress=False, documents=v1)
    assert (r.docs_added, r.docs_changed, r.docs_removed, r.docs_unchanged) == (0, 2, 1, 9)
    assert r.chunks_embedded == len(changed_new - ids0)
    assert r.chunks_deleted == len(ids0 - ids1)
    index = open_index(s)
    assert set(index.chunks) == ids1 == chroma_ids(s)
    assert index.manifest_hash != first_hash
    assert "syn:11" not in index.docs and index.docs["syn:1"].n_chunks == len(
        [c for c in index.chunks.values() if c.doc_id == "syn:1"]
    )
    # Only the committed generation is left on disk.
    gens = [p.name for p in s.index_dir.iterdir() if p.name.startswith(mf.GEN_PREFIX)]
    assert gens == [index.manifest["generation"]]


def test_review_index_locators_and_search(review_home):
    index = open_index(make_settings(review_home))
    m = index.manifest
    assert m["model"] == "sentence-transformers/all-MiniLM-L6-v2" and m["dimension"] == 384
    assert len(index.chunks) == m["n_chunks"] > 200
    assert "review" in index.docs and sum(d.n_chunks for d in index.docs.values()) == len(index.chunks)
    for chunk in index.chunks.values():
        assert index.doc_text(chunk.doc_id)[chunk.char_start : chunk.char_end] == chunk.text

    q = index.embed_query("resistance to immune checkpoint inhibitors in mesothelioma")
    assert q.shape == (384,) and abs(float(np.linalg.norm(q)) - 1) < 1e-5
    hits = index.dense_search("resistance to immune checkpoint inhibitors in mesothelioma", 10)
    assert len(hits) == 10 and len({h[0] for h in hits}) == 10
    scores = [h[1] for h in hits]
    assert scores == sorted(scores, reverse=True) and all(-1 <= x <= 1.0001 for x in scores)
    # The returned cosine is the dot product of the stored vector with the query vector.
    emb = index.chunk_embeddings([h[0] for h in hits])
    assert np.allclose(emb @ q, scores, atol=1e-3)

    trials = index.dense_search("randomised trial overall survival", 5, where={"record_type": "trial"})
    assert trials and all(index.chunks[c].record_type == "trial" for c, _ in trials)
    both = {"record_type": {"$in": ["agent", "biomarker"]}}
    assert {
        index.chunks[c].record_type for c, _ in index.dense_search("PD-L1 expression", 20, where=both)
    } <= {
        "agent",
        "biomarker",
    }
    assert index.dense_search("anything", 5, where={"doc_id": {"$in": []}}) == []
    only_review = index.bm25_search("mesothelioma immunotherapy resistance", 5, where={"doc_id": "review"})
    assert only_review and all(index.chunks[c].doc_id == "review" for c, _ in only_review)
    bm = index.bm25_search("nivolumab ipilimumab", 8)
    assert bm and all(s > 0 for _, s in bm)
    assert any("nivolumab" in index.chunks[c].text.lower() for c, _ in bm[:3])
    assert index.bm25_search("the of and", 5) == []  # stopwords only: no evidence
    with pytest.raises(MesochatError, match="Cannot filter on 'title'"):
        index.bm25_search("x", 3, where={"title": "x"})


def test_concurrent_queries_agree_with_sequential(review_home):
    index = open_index(make_settings(review_home))
    queries = [
        "BAP1 loss",
        "CheckMate 743 nivolumab plus ipilimumab",
        "tumour microenvironment",
        "mesothelin",
    ]
    expected = {q: (index.dense_search(q, 5), index.bm25_search(q, 5)) for q in queries}
    results, errors = [], []

    def worker(i):
        try:
            for j in range(4):
                q = queries[(i + j) % len(queries)]
                results.append((q, index.dense_search(q, 5), index.bm25_search(q, 5)))
        except Exception as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 24
    for q, dense, bm in results:
        assert [c for c, _ in dense] == [c for c, _ in expected[q][0]]
        assert np.allclose([s for _, s in dense], [s for _, s in expected[q][0]], atol=1e-5)
        assert bm == expected[q][1]


def test_orphans_are_hidden_then_removed_and_missing_vectors_repaired(tmp_path):
    s = make_settings(tmp_path, **CS)
    docs = synthetic_documents(6)
    build_index(s, progress=False, documents=docs)
    index = open_index(s)
    some = min(index.chunks)
    # An orphan vector (as left by a killed build) identical to the query: nearest, yet never shown.
    query = index.embed_query("orphan probe text")
    ChromaStore(s).collection.upsert(ids=["syn:zz#000000000000"], embeddings=[query.tolist()])
    index = open_index(s)
    hits = index.dense_search(query, 3)
    assert len(hits) == 3 and all(c in index.chunks for c, _ in hits)
    r = build_index(s, progress=False, documents=docs)
    assert r.chunks_deleted == 1 and r.chunks_embedded == 0 and not r.committed
    assert chroma_ids(s) == set(index.chunks)

    ChromaStore(s).collection.delete(ids=[some])
    with pytest.raises(MesochatError, match="run `mesochat index` to repair"):
        open_index(s)
    r = build_index(s, progress=False, documents=docs)
    assert r.chunks_embedded == 1 and r.chunks_deleted == 0
    assert chroma_ids(s) == set(open_index(s).chunks)


def test_settings_mismatch_and_rebuild(tmp_path):
    s = make_settings(tmp_path, **CS)
    docs = synthetic_documents(5)
    build_index(s, progress=False, documents=docs)
    other = make_settings(tmp_path, chunk_size=60)
    with pytest.raises(MesochatError) as err:
        build_index(other, progress=False, documents=docs)
    msg = str(err.value)
    assert "was built with chunk_size=40 (now 60)" in msg and "mesochat index --rebuild" in msg
    assert "\n" not in msg
    open_index(other)  # reading does not depend on the chunk size
    r = build_index(other, rebuild=True, progress=False, documents=docs)
    assert r.committed and r.docs_added == 5
    index = open_index(other)
    assert index.manifest["chunk_size"] == 60 and set(index.chunks) == expected_ids(docs, 60) == chroma_ids(
        other
    )

    manifest_path = other.index_dir / mf.MANIFEST
    m = json.loads(manifest_path.read_text())
    m["model"] = "some/other-model"
    manifest_path.write_text(json.dumps(m))
    with pytest.raises(MesochatError, match=r"was built with model='some/other-model'.*--rebuild"):
        open_index(other)


def test_damaged_files_missing_index_and_lock(tmp_path):
    s = make_settings(tmp_path / "a", **CS)
    with pytest.raises(MesochatError, match=r"No index in .*; run `mesochat index`"):
        open_index(s)
    docs = synthetic_documents(4)
    build_index(s, progress=False, documents=docs)
    index = open_index(s)
    bm25_file = next((index.generation_dir / mf.BM25_DIR).glob("*.npy"))
    good = bm25_file.read_bytes()
    bm25_file.write_bytes(b"garbage")
    with pytest.raises(MesochatError, match=r"bm25/.* is corrupt \(checksum\).*--rebuild"):
        open_index(s)
    bm25_file.write_bytes(good)
    chunks_file = index.generation_dir / mf.CHUNKS_FILE
    chunks_file.write_bytes(chunks_file.read_bytes()[:-50])
    with pytest.raises(MesochatError, match="corrupt.*--rebuild"):
        open_index(s)
    (s.index_dir / mf.MANIFEST).write_text("{not json")
    for call in (lambda: open_index(s), lambda: build_index(s, progress=False, documents=docs)):
        with pytest.raises(MesochatError, match=r"manifest .* is corrupt.*--rebuild"):
            call()
    r = build_index(s, rebuild=True, progress=False, documents=docs)
    assert set(open_index(s).chunks) == expected_ids(docs) == chroma_ids(s)
    assert r.chunks_embedded == len(expected_ids(docs))  # rebuild really starts from scratch

    with mf.BuildLock(s.index_dir), pytest.raises(MesochatError, match="Another `mesochat index`"):
        build_index(s, progress=False, documents=docs)
    # A lock file left by a killed builder (no flock held) is simply taken over.
    (s.index_dir / mf.LOCK).write_text("999999")
    assert build_index(s, progress=False, documents=docs).up_to_date


def test_added_user_files_are_remembered(tmp_path):
    s = make_settings(tmp_path / "home", **CS)
    docs = synthetic_documents(3)
    note = tmp_path / "note.md"
    note.write_text("# Pleural effusion\n\nTalc pleurodesis controlled effusions in 40 of 52 patients.\n")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 this is not really a pdf")
    r = build_index(s, extra_paths=[note, bad], progress=False, documents=docs)
    assert len(r.skipped) == 1 and "broken.pdf" in r.skipped[0] and "\n" not in r.skipped[0]
    index = open_index(s)
    user = [d for d in index.docs.values() if d.source_type == "user"]
    assert len(user) == 1 and user[0].path == str(note.resolve())
    assert any("pleurodesis" in c.text for c in index.chunks.values() if c.doc_id == user[0].doc_id)

    r = build_index(s, progress=False, documents=docs)  # not passed again: still indexed
    assert r.up_to_date and user[0].doc_id in open_index(s).docs

    note.write_text("# Pleural effusion\n\nIndwelling catheters were preferred by most patients.\n")
    r = build_index(s, progress=False, documents=docs)
    assert (r.docs_added, r.docs_removed) == (1, 1)  # user doc ids follow the content
    texts = [c.text for c in open_index(s).chunks.values() if c.source_type == "user"]
    assert texts and all("pleurodesis" not in t for t in texts) and any("catheters" in t for t in texts)

    note.unlink()
    r = build_index(s, progress=False, documents=docs)
    assert r.up_to_date and any("no longer exists" in n for n in r.notes)
    r = build_index(s, rebuild=True, progress=False, documents=docs)
    assert not [d for d in open_index(s).docs.values() if d.source_type == "user"]


def test_bm25_params_are_recorded_and_an_index_saved_with_others_is_reindexed(tmp_path):
    import bm25s

    from indexing.bm25 import BM25_PARAMS, BM25Index, bm25_text
    from kernel.text import analyze

    s = make_settings(tmp_path, **CS)
    docs = synthetic_documents(5)
    build_index(s, progress=False, documents=docs)
    index = open_index(s)
    assert index.manifest["bm25"] == BM25_PARAMS and not index.bm25.reindexed
    assert (index.bm25.retriever.k1, index.bm25.retriever.b) == (BM25_PARAMS["k1"], BM25_PARAMS["b"])
    query = next(iter(index.chunks.values())).text.split(".")[0]
    want = index.bm25_search(query, 10)

    # What an index built before the parameters were fitted holds: bm25s defaults, no "bm25" entry.
    chunks = [index.chunks[i] for i in index.bm25.ids]
    old = bm25s.BM25(k1=1.5, b=0.75)
    old.index(analyze([bm25_text(c) for c in chunks]), show_progress=False)
    old.save(str(index.generation_dir / mf.BM25_DIR), show_progress=False)
    manifest_path = s.index_dir / mf.MANIFEST
    m = json.loads(manifest_path.read_text())
    del m["bm25"]
    del m["bm25_files"]
    manifest_path.write_text(json.dumps(m))
    stale = BM25Index.load(index.generation_dir / mf.BM25_DIR, index.bm25.ids, index.chunks)
    assert stale.retriever.k1 == BM25_PARAMS["k1"] and stale.reindexed

    reopened = open_index(s)  # no MesochatError, no re-embedding: BM25 is re-indexed from the chunks
    assert reopened.bm25.reindexed and reopened.bm25_search(query, 10) == want
    r = build_index(s, progress=False, documents=docs)
    assert r.chunks_embedded == 0 and r.committed  # the next build saves BM25 with the current parameters
    assert not open_index(s).bm25.reindexed


def test_dense_scores_are_cosines_of_the_stored_vectors(tmp_path):
    s = make_settings(tmp_path, **CS)
    build_index(s, progress=False, documents=synthetic_documents(5))
    index = open_index(s)
    q = index.embed_query("a question about the synthetic documents")
    hits = index.dense_search(q, 6)
    cos = index.chunk_embeddings([c for c, _ in hits]) @ q
    assert len(hits) == 6 and np.allclose([sc for _, sc in hits], cos, atol=1e-4)
    assert [sc for _, sc in hits] == sorted((sc for _, sc in hits), reverse=True)
    some = hits[0][0]
    only = index.dense_search(q, 6, where={"doc_id": index.chunks[some].doc_id})
    assert only and all(index.chunks[c].doc_id == index.chunks[some].doc_id for c, _ in only)


def test_an_index_saved_with_another_text_analysis_gets_its_bm25_rebuilt(tmp_path):
    from kernel.text import ANALYZER_VERSION

    s = make_settings(tmp_path, **CS)
    docs = synthetic_documents(5)
    build_index(s, progress=False, documents=docs)
    assert open_index(s).manifest["bm25_analyzer"] == ANALYZER_VERSION
    # An index written before the text analysis changed (no "bm25_analyzer" entry).
    manifest_path = s.index_dir / mf.MANIFEST
    m = json.loads(manifest_path.read_text())
    del m["bm25_analyzer"]
    manifest_path.write_text(json.dumps(m))
    assert open_index(s).bm25.reindexed  # query-side and index-side tokens agree again, in memory
    r = build_index(s, progress=False, documents=docs)
    assert r.chunks_embedded == 0 and r.committed  # the next build saves BM25 with the current analysis
    reopened = open_index(s)
    assert reopened.manifest["bm25_analyzer"] == ANALYZER_VERSION and not reopened.bm25.reindexed
