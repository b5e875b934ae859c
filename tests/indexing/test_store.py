"""The Chroma collection as llama-index sees it: what the store writes is readable by a plain
``ChromaVectorStore`` (the reason writes go through llama-index's node metadata)."""

from __future__ import annotations

import pytest
from llama_index.core.vector_stores.types import VectorStoreQuery
from llama_index.vector_stores.chroma import ChromaVectorStore

from indexing.index import open_index
from indexing.store import ChromaStore
from tests.helpers import make_settings

pytestmark = pytest.mark.slow


def test_plain_chroma_vector_store_reads_our_chunks(review_home):
    settings = make_settings(review_home)
    index = open_index(settings)
    store = ChromaVectorStore(chroma_collection=ChromaStore(settings, create=False).collection)
    question = "What is pegargiminase?"
    ours = index.dense_search(question, k=5)
    result = store.query(VectorStoreQuery(query_embedding=index.embed_query(question).tolist(), similarity_top_k=5))
    assert [n.node_id for n in result.nodes] == [cid for cid, _ in ours]
    for node in result.nodes:
        chunk = index.chunks[node.node_id]
        assert node.get_content() == chunk.text
        assert node.ref_doc_id == chunk.doc_id
        assert node.metadata["record_id"] == (chunk.record_id or "")
