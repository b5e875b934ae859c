"""The same index against a real `chroma run` server (HttpClient)."""

from __future__ import annotations

import pytest

from indexing.build import build_index
from indexing.chunker import chunk_document
from indexing.index import open_index
from indexing.store import ChromaStore
from kernel.errors import MesochatError
from tests.helpers import free_port, make_settings, synthetic_documents

pytestmark = pytest.mark.slow


def test_server_build_query_and_incremental(chroma_server, tmp_path):
    s = make_settings(tmp_path, chroma_url=chroma_server, collection="test-index-server", chunk_size=40)
    docs = synthetic_documents(8)
    ids = {c.id for d in docs for c in chunk_document(d, 40, 1)}
    r = build_index(s, progress=False, documents=docs)
    assert r.chunks_embedded == len(ids) and r.committed
    assert not s.paths.chroma_dir.exists()  # vectors live on the server, not in the data directory
    assert ChromaStore(s).all_ids() == ids

    index = open_index(s)
    assert index.manifest["chroma"] == chroma_server
    hits = index.dense_search("pembrolizumab cohort", 5, where={"doc_id": {"$in": ["syn:2", "syn:3"]}})
    assert hits and {index.chunks[c].doc_id for c, _ in hits} <= {"syn:2", "syn:3"}
    top = index.dense_search("Synthetic study 2 of pembrolizumab", 3)
    assert "syn:2" in {index.chunks[c].doc_id for c, _ in top}
    assert index.bm25_search("pembrolizumab", 3)[0][0].startswith("syn:2#")

    again = build_index(s, progress=False, documents=docs)
    assert again.summary() == f"Index up to date: 0 chunks embedded; {len(ids)} vectors, all reachable"
    changed = synthetic_documents(8, version=2)  # rewrites syn:2 and syn:7
    r = build_index(s, progress=False, documents=changed)
    assert r.docs_changed == 2 and 0 < r.chunks_embedded < len(ids)
    new_ids = {c.id for d in changed for c in chunk_document(d, 40, 1)}
    assert ChromaStore(s).all_ids() == new_ids == set(open_index(s).chunks)


def test_unreachable_server_is_one_line_with_the_fix(tmp_path):
    port = free_port()  # nothing listens there
    s = make_settings(tmp_path, chroma_url=f"http://127.0.0.1:{port}", chunk_size=40)
    with pytest.raises(MesochatError) as err:
        build_index(s, progress=False, documents=synthetic_documents(2))
    msg = str(err.value)
    assert msg.startswith(f"Cannot reach the Chroma server at http://127.0.0.1:{port}")
    assert f"chroma run --path DIR --host 127.0.0.1 --port {port}" in msg and "drop --chroma-url" in msg
    assert not (s.index_dir / "manifest.json").exists()
